"""The mini panel (offscreen): what it shows (live, stale, waiting), that it repaints only when that
changes, opacity, its menu, Escape, light and dark, where it goes (a vanished screen, off-screen
places) and the controller's show/hide/save wiring with the real stream."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import load_settings
from ccdesk.qt.controller import MINI_PANEL_PLACE_KEY
from ccdesk.qt.mini_panel import (
    DARK,
    LIGHT,
    MAX_PANEL_PAIRS,
    MiniPanel,
    PanelPlace,
    ScreenArea,
    detail_lines,
    panel_entries,
    place_panel,
    short_labels,
)
from ccdesk.qt.quote_model import QuoteTableModel
from tests.pairs import BTC, ETH, ETH_COINBASE, SOL

# Qt's offscreen platform cannot raise a stays-on-top window nor set a window's opacity (xcb, Windows
# and macOS can); it says so, and the tests check what the widget asked for.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support setting window opacity"
)

NOW = 1000.0
FRESH = Freshness.everywhere(0.0, 60.0)


def quote(sub, price, open_24h, received_at=NOW - 1.0) -> Quote:
    return Quote(
        sub=sub, price=price, direction=PriceDirection.UP, open_24h=open_24h, received_at=received_at
    )


BTC_Q = quote(BTC, 91_230.12, 89_317.0)  # +2.14 %
ETH_Q = quote(ETH, 3098.62, 3137.5)  # -1.24 %


@pytest.fixture
def model() -> QuoteTableModel:
    m = QuoteTableModel(60.0)
    m.set_watchlist([BTC, ETH, SOL])
    m.set_live_since(dict.fromkeys(Source, 0.0))
    return m


@pytest.fixture
def panel(qtbot: QtBot, model: QuoteTableModel) -> MiniPanel:
    p = MiniPanel(model)
    qtbot.addWidget(p)
    p.apply_settings(Settings(watchlist=(BTC, ETH, SOL), rules=()))
    p.show()
    qtbot.waitExposed(p)
    return p


# --- what it shows ------------------------------------------------------------------------------


def test_short_labels_tell_the_pairs_apart() -> None:
    assert short_labels([BTC, ETH, SOL]) == ["BTC", "ETH", "SOL"]
    btc_eur = parse_pair("BTC-EUR")
    assert short_labels([BTC, btc_eur, ETH]) == ["BTC/USD", "BTC/EUR", "ETH"]
    assert short_labels([ETH, ETH_COINBASE]) == ["ETH/USD CCCAGG", "ETH/USD Coinbase"]


def test_entries_show_compact_price_and_change_and_never_a_stale_price_as_live() -> None:
    flat = quote(SOL, 150.0, 150.0)
    entries = panel_entries([BTC, ETH, SOL], {BTC: BTC_Q, ETH: ETH_Q, SOL: flat}, NOW, FRESH)
    assert [(e.label, e.price, e.change, e.sign, e.live) for e in entries] == [
        ("BTC", "91.2k", "▲2.1%", 1, True),
        ("ETH", "3,099", "▼1.2%", -1, True),
        ("SOL", "150.0", "■0.0%", 0, True),
    ]
    # +0.03 % rounds to 0.0 %: flat by shape and colour, never "▲0.0%".
    tiny = panel_entries([SOL], {SOL: quote(SOL, 150.045, 150.0)}, NOW, FRESH)[0]
    assert (tiny.change, tiny.sign) == ("■0.0%", 0)
    # 61 s later every price is stale: greyed, marked, its change not shown as if live.
    later = panel_entries([BTC, ETH], {BTC: BTC_Q, ETH: ETH_Q}, NOW + 61, FRESH)
    assert [(e.price, e.change, e.sign, e.live) for e in later] == [
        ("91.2k", "stale", None, False),
        ("3,099", "stale", None, False),
    ]
    assert detail_lines([BTC, SOL], {BTC: BTC_Q}, NOW + 61, FRESH) == [
        "BTC/USD: 91,230.12, 24 h +2.14% (stale)",
        "SOL/USD: waiting for data",
    ]
    # Connected again but the data is from before the new session: stale as well.
    reconnected = Freshness.everywhere(NOW - 0.5, 60.0)
    assert not panel_entries([BTC], {BTC: BTC_Q}, NOW, reconnected)[0].live
    waiting = panel_entries([SOL], {}, NOW, FRESH)[0]
    assert (waiting.price, waiting.change, waiting.live) == ("…", "", False)


def test_panel_shows_the_models_prices(panel: MiniPanel, model: QuoteTableModel) -> None:
    model.update_quotes([BTC_Q, ETH_Q])
    assert panel.refresh(NOW) == pytest.approx(BTC_Q.received_at + 60.0, abs=0.01)
    assert panel.text() == "BTC 91.2k ▲2.1%  ETH 3,099 ▼1.2%  SOL …"
    assert "BTC/USD: 91,230.12, 24 h +2.14%\nETH/USD: 3,098.62, 24 h -1.24%" in panel.tooltip_text()
    assert panel.accessibleName() == "ccdesk mini panel"
    assert panel.accessibleDescription() == panel.text()
    assert panel.refresh(NOW + 61) is None  # all stale: nothing to wake for until new data
    assert panel.text() == "BTC 91.2k stale  ETH 3,099 stale  SOL …"
    assert "BTC/USD: 91,230.12, 24 h +2.14% (stale)" in panel.tooltip_text()


def test_repaints_only_when_the_text_changes(panel: MiniPanel, model: QuoteTableModel) -> None:
    model.update_quotes([BTC_Q, ETH_Q])
    panel.refresh(NOW)
    before = panel.repaints_requested
    # A new trade that shows the same (91.2k, +2.1 %): nothing to repaint.
    model.update_quotes([replace(BTC_Q, price=91_231.0, received_at=NOW)])
    panel.refresh(NOW + 0.1)
    panel.refresh(NOW + 0.2)
    assert panel.repaints_requested == before
    model.update_quotes([replace(BTC_Q, price=91_300.0, received_at=NOW)])  # 91.3k
    panel.refresh(NOW + 0.3)
    assert panel.repaints_requested == before + 1
    assert panel.text().startswith("BTC 91.3k")


def test_width_only_grows_for_the_same_pairs(panel: MiniPanel, model: QuoteTableModel) -> None:
    model.update_quotes([replace(BTC_Q, open_24h=80_000.0), ETH_Q])  # ▲14.0%
    panel.refresh(NOW)
    wide = panel.width()
    model.update_quotes([BTC_Q])  # ▲2.1%: shorter text, same window
    panel.refresh(NOW)
    assert panel.text().startswith("BTC 91.2k ▲2.1%")
    assert panel.width() == wide
    panel.apply_settings(Settings(watchlist=(BTC, ETH, SOL), rules=(), mini_panel_pairs=(BTC,)))
    panel.refresh(NOW)
    assert panel.width() < wide  # other pairs: fitted afresh


def test_hidden_panel_does_no_work(panel: MiniPanel, model: QuoteTableModel) -> None:
    panel.hide()
    model.update_quotes([BTC_Q])
    before = panel.repaints_requested
    assert panel.refresh(NOW) is None
    assert panel.repaints_requested == before


def test_chosen_pairs_and_the_cap(qtbot: QtBot, model: QuoteTableModel) -> None:
    p = MiniPanel(model)
    qtbot.addWidget(p)
    p.show()
    model.update_quotes([BTC_Q, ETH_Q])
    p.apply_settings(Settings(watchlist=(BTC, ETH, SOL), rules=(), mini_panel_pairs=(ETH,)))
    p.refresh(NOW)
    assert p.text() == "ETH 3,099 ▼1.2%"
    many = tuple(parse_pair(f"KRAKEN:C{i}-USD") for i in range(MAX_PANEL_PAIRS + 3))
    p.apply_settings(Settings(watchlist=many, rules=()))
    p.refresh(NOW)
    assert p.text().endswith("  +3")
    assert len(p.entries()) == MAX_PANEL_PAIRS


# --- opacity, menu, keys, theme ---------------------------------------------------------------------


def menu_actions(menu: QMenu) -> dict[str, QAction]:
    found: dict[str, QAction] = {}
    for action in menu.actions():
        if action.menu() is not None:
            found.update({f"{action.text()}/{k}": v for k, v in menu_actions(action.menu()).items()})
        elif action.text():
            found[action.text()] = action
    return found


def test_opacity_follows_the_setting_and_the_menu_offers_presets(qtbot: QtBot, panel: MiniPanel) -> None:
    assert panel.windowOpacity() == pytest.approx(0.9, abs=0.01)
    panel.apply_settings(Settings(watchlist=(BTC, ETH, SOL), rules=(), mini_panel_opacity_pct=55))
    assert panel.windowOpacity() == pytest.approx(0.55, abs=0.01)
    actions = menu_actions(panel.build_menu())
    assert actions["Opacity/55 %"].isChecked()  # the custom value is listed, and ticked
    assert not actions["Opacity/100 %"].isChecked()
    with qtbot.waitSignal(panel.opacity_chosen, timeout=1000) as blocker:
        actions["Opacity/30 %"].trigger()
    assert blocker.args == [30]


def test_menu_pairs_open_and_hide(qtbot: QtBot, panel: MiniPanel) -> None:
    actions = menu_actions(panel.build_menu())
    assert actions["Pairs/Follow the watchlist"].isChecked()
    assert [actions[f"Pairs/{p.pair} · {p.venue}"].isChecked() for p in (BTC, ETH, SOL)] == [True] * 3
    with qtbot.waitSignal(panel.pairs_chosen, timeout=1000) as blocker:
        actions["Pairs/ETH/USD · CCCAGG"].trigger()  # unticked: the others stay
    assert blocker.args == [(BTC, SOL)]
    panel.apply_settings(Settings(watchlist=(BTC, ETH, SOL), rules=(), mini_panel_pairs=(SOL,)))
    actions = menu_actions(panel.build_menu())
    assert not actions["Pairs/Follow the watchlist"].isChecked()
    with qtbot.waitSignal(panel.pairs_chosen, timeout=1000) as blocker:
        actions["Pairs/BTC/USD · CCCAGG"].trigger()
    assert blocker.args == [(BTC, SOL)]
    with qtbot.waitSignal(panel.pairs_chosen, timeout=1000) as blocker:
        actions["Pairs/Follow the watchlist"].trigger()
    assert blocker.args == [()]
    with qtbot.waitSignal(panel.open_window_requested, timeout=1000):
        actions["Open ccdesk"].trigger()
    with qtbot.waitSignal(panel.hide_requested, timeout=1000):
        actions["Hide panel"].trigger()


def test_double_click_opens_the_window(qtbot: QtBot, panel: MiniPanel) -> None:
    with qtbot.waitSignal(panel.open_window_requested, timeout=1000):
        qtbot.mouseDClick(panel, Qt.MouseButton.LeftButton)


def test_escape_and_close_request_hiding(qtbot: QtBot, panel: MiniPanel) -> None:
    with qtbot.waitSignal(panel.hide_requested, timeout=1000):
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
    with qtbot.waitSignal(panel.hide_requested, timeout=1000):
        assert panel.close()  # accepted: a refusal would cancel QApplication.quit() in Qt 6


def test_a_bigger_font_relays_it_out(panel: MiniPanel, model: QuoteTableModel) -> None:
    model.update_quotes([BTC_Q, ETH_Q])
    panel.refresh(NOW)
    width, height = panel.width(), panel.height()
    font = panel.font()
    font.setPointSizeF(font.pointSizeF() * 2)
    panel.setFont(font)
    assert panel.width() > width * 1.5
    assert panel.height() > height * 1.5


def test_light_and_dark(panel: MiniPanel, model: QuoteTableModel, tmp_path) -> None:
    model.update_quotes([BTC_Q, ETH_Q])
    panel.refresh(NOW)
    for dark, colors in ((False, LIGHT), (True, DARK)):
        panel.set_dark(dark)
        image = panel.grab().toImage()
        assert image.pixelColor(3, image.height() // 2) == colors.background
        assert image.save(str(tmp_path / f"panel-{'dark' if dark else 'light'}.png"))
    flags = panel.windowFlags()
    for flag in (Qt.WindowType.FramelessWindowHint, Qt.WindowType.Tool, Qt.WindowType.WindowStaysOnTopHint):
        assert flags & flag


# --- where it goes ------------------------------------------------------------------------------------

LEFT = ScreenArea("DP-1", QRect(0, 0, 1920, 1080), QRect(0, 32, 1920, 1048))
RIGHT = ScreenArea("HDMI-1", QRect(1920, 0, 1280, 1024), QRect(1920, 0, 1280, 1024))
SIZE = QSize(300, 24)


def test_place_text_round_trip_and_bad_texts() -> None:
    place = PanelPlace("HDMI-1", 40, -3)
    assert PanelPlace.from_text(place.to_text()) == place
    for bad in (
        None,
        "",
        "nonsense",
        "[1, 2]",
        '{"screen": 1, "x": 0, "y": 0}',
        '{"screen": "a", "x": true, "y": 0}',
    ):
        assert PanelPlace.from_text(bad) is None


def test_place_on_its_screen_else_the_primary_never_off_screen() -> None:
    assert place_panel(PanelPlace("HDMI-1", 100, 200), SIZE, [LEFT, RIGHT]) == QPoint(2020, 200)
    # The screen is gone: the same offset on the primary screen.
    assert place_panel(PanelPlace("HDMI-1", 100, 200), SIZE, [LEFT]) == QPoint(100, 200)
    # Far off (a bigger screen before): pulled into the primary's free area (below its top bar).
    assert place_panel(PanelPlace("HDMI-1", 5000, -400), SIZE, [LEFT]) == QPoint(1620, 32)
    assert place_panel(PanelPlace("DP-1", -50, 2000), SIZE, [LEFT, RIGHT]) == QPoint(0, 1056)
    # No place yet: near the primary's top-right corner.
    assert place_panel(None, SIZE, [LEFT, RIGHT]) == QPoint(1920 - 300 - 16, 32 + 16)


def test_restore_on_the_real_screen_and_a_vanished_one(panel: MiniPanel) -> None:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    origin = screen.geometry().topLeft()
    panel.restore_place(PanelPlace(screen.name(), 120, 60))
    assert panel.pos() == origin + QPoint(120, 60)
    assert panel.place() == PanelPlace(screen.name(), 120, 60)
    panel.restore_place(PanelPlace("a-screen-that-is-gone", 100_000, -500))
    avail = screen.availableGeometry()
    assert avail.contains(panel.frameGeometry())
    assert panel.place() is not None
    assert panel.place().screen == screen.name()


# --- the controller ---------------------------------------------------------------------------------


@pytest.fixture
def harness(qtbot, tmp_path, make_sim):
    from tests.qt.test_controller import Harness

    sim = make_sim(rate=50.0, seed=5)
    made: list[Harness] = []

    def make(**kw):
        settings = Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=(), **kw)
        h = Harness(qtbot, tmp_path, sim=sim, settings=settings)
        made.append(h)
        return h

    yield make
    for h in made:
        h.controller.mini_panel.deleteLater()
        h.close()


def test_controller_shows_it_with_live_prices_and_saves_setting_and_place(qtbot, harness) -> None:
    h = harness(mini_panel=True)
    c = h.controller
    shown: list[bool] = []
    c.mini_panel_shown_changed.connect(shown.append)
    c.start()
    panel = c.mini_panel
    assert panel.isVisible()
    assert shown == [True]
    qtbot.waitUntil(lambda: [e.live for e in panel.entries()] == [True, True], timeout=5000)
    assert panel.text().startswith("BTC ")

    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    panel.move(screen.geometry().topLeft() + QPoint(200, 150))
    # Saved after a pause in the moves: wait for this place (a move on the way could be saved first).
    place = PanelPlace(screen.name(), 200, 150)
    qtbot.waitUntil(lambda: PanelPlace.from_text(h.store.get(MINI_PANEL_PLACE_KEY)) == place, timeout=5000)

    # Keys go to the active window (the price window's own Escape would hide the window instead).
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=3000)
    qtbot.keyClick(panel, Qt.Key.Key_Escape)  # hides it, and the setting says so
    assert not panel.isVisible()
    assert shown == [True, False]
    assert load_settings(h.store)[0].mini_panel is False

    c.set_mini_panel_shown(True)  # the tray's entry: back where it was
    assert panel.isVisible()
    assert panel.pos() == screen.geometry().topLeft() + QPoint(200, 150)
    assert load_settings(h.store)[0].mini_panel is True
    c.set_mini_panel_opacity(40)
    assert panel.windowOpacity() == pytest.approx(0.4, abs=0.01)
    c.set_mini_panel_pairs((ETH,))
    assert [e.label for e in panel.entries()] == ["ETH"]
    saved = load_settings(h.store)[0]
    assert (saved.mini_panel_opacity_pct, saved.mini_panel_pairs) == (40, (ETH,))
    c.apply_settings(replace(c.settings, watchlist=(BTC,)))  # ETH gone: the panel follows the watchlist
    assert [e.label for e in panel.entries()] == ["BTC"]


def test_controller_restores_a_saved_place_and_starts_hidden_by_default(qtbot, harness) -> None:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    h = harness()
    h.store.set(MINI_PANEL_PLACE_KEY, PanelPlace(screen.name(), 33, 44).to_text())
    h.controller.start()
    assert not h.controller.mini_panel.isVisible()
    assert not h.controller.mini_panel_shown()
    h.controller.apply_settings(replace(h.controller.settings, mini_panel=True))  # the General tab
    assert h.controller.mini_panel.pos() == screen.geometry().topLeft() + QPoint(33, 44)


def test_general_tab_shows_and_sets_the_panel_options(qtbot: QtBot) -> None:
    from ccdesk.qt.settings_dialog.general_tab import GeneralTab

    before = Settings(watchlist=(BTC, ETH), rules=(), mini_panel_opacity_pct=40, mini_panel_pairs=(ETH,))
    tab = GeneralTab(before)
    qtbot.addWidget(tab)
    assert not tab.mini_panel_check.isChecked()
    assert tab.mini_panel_opacity_box.value() == 40
    assert (tab.mini_panel_opacity_box.minimum(), tab.mini_panel_opacity_box.maximum()) == (30, 100)
    tab.mini_panel_check.setChecked(True)
    tab.mini_panel_opacity_box.setValue(75)
    after = tab.apply_to(before)
    assert (after.mini_panel, after.mini_panel_opacity_pct, after.mini_panel_pairs) == (True, 75, (ETH,))


def test_a_screen_change_pulls_it_back_on_screen(qtbot: QtBot, panel: MiniPanel) -> None:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    panel.restore_place(PanelPlace(screen.name(), 10, 10))
    panel.move(QPoint(50_000, 50_000))  # where a removed monitor was
    available = QRect(screen.availableGeometry())
    panel._on_screens_changed(screen)  # what screenRemoved / primaryScreenChanged call
    qtbot.waitUntil(lambda: available.contains(panel.frameGeometry()), timeout=2000)
