"""The main window's own behaviour: close to tray or quit, banner, history, always on top, About."""

import math

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QFontMetrics, QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

from ccdesk import __version__
from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.price_table import TEXT_MARGIN_PX, ColumnSpec, fit_columns, sparkline_paths
from ccdesk.qt.price_window import PriceWindow, about_text
from ccdesk.qt.quote_model import DARK_COLORS, LIGHT_COLORS, QuoteTableModel
from tests.window_scene import NOW, WATCHLIST, dark_palette, filled_window


@pytest.fixture
def window(qtbot):
    w = PriceWindow(QuoteTableModel(), AlertHistoryModel())
    qtbot.addWidget(w)
    w.show()
    return w


def test_close_hides_to_the_tray_when_there_is_one(qtbot, window):
    window.close_to_tray = True
    with qtbot.waitSignal(window.hidden, timeout=1000):
        window.close()
    assert not window.isVisible()


def test_close_quits_when_there_is_no_tray(qtbot, window):
    window.close_to_tray = False
    with qtbot.waitSignal(window.quit_requested, timeout=1000):
        window.close()


def test_banner_history_and_always_on_top(qtbot, window):
    window.show_banner("No system tray was found")
    assert window.banner.isVisible()
    assert window.banner.label.text() == "No system tray was found"
    rule = MoveRule(pct=2.0)
    for base, at in (("BTC", 1_700_000_000.0), ("ETH", 1_700_000_060.0)):
        alert = Alert(
            parse_pair(f"{base}-USD"), rule, MoveDirection.UP, 2.1, 100.0, 102.1, 300.0, at, elapsed_s=40
        )
        window.history_model.add(alert, paused=False)
    first = window.history.model().index(0, 0)
    assert "ETH/USD · CCCAGG up 2.1 % in 40 s" in first.data()
    assert first.data().endswith("delivering…")
    assert window.tabs.tabText(1) == "Alerts (2)"
    with qtbot.waitSignal(window.always_on_top_changed, timeout=1000) as blocker:
        window.on_top_action.trigger()
    assert blocker.args == [True]
    window.set_always_on_top(True)
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint


def test_about_text_shows_the_package_version():
    assert f"ccdesk {__version__}" in about_text()
    assert __version__ != "0+unknown"


# --- issue 10: widths, keyboard, sorting, columns, row actions, pause, gaps, light and dark -------

M = QuoteTableModel
SPECS = {
    M.PAIR: ColumnSpec(120, 60),
    M.PRICE: ColumnSpec(90, 80),
    M.CHANGE: ColumnSpec(75, 75),
    M.TREND: ColumnSpec(90, 48),
    M.AGE: ColumnSpec(110, 60),
}


def test_fit_columns_gives_spare_width_to_the_sparkline():
    assert fit_columns(600, SPECS) == {M.PAIR: 120, M.PRICE: 90, M.CHANGE: 75, M.TREND: 205, M.AGE: 110}


def test_fit_columns_gives_way_sparkline_first_then_pair_venue_then_change_then_age():
    assert fit_columns(460, SPECS) == {M.PAIR: 120, M.PRICE: 90, M.CHANGE: 75, M.TREND: 65, M.AGE: 110}
    w = fit_columns(420, SPECS)  # the sparkline went; the pair keeps its full width
    assert M.TREND not in w
    assert w[M.PRICE] == 90
    assert w[M.AGE] == 110
    assert sum(w.values()) == 420
    w = fit_columns(300, SPECS)  # the change went too: pair, price and age fill the width
    assert list(w) == [M.PAIR, M.PRICE, M.AGE]
    assert sum(w.values()) == 300
    assert w[M.PRICE] == 90
    w = fit_columns(230, SPECS)  # the pair is down to its short form; the age shrinks towards its own
    assert w == {M.PAIR: 60, M.PRICE: 90, M.AGE: 80}
    w = fit_columns(150, SPECS)  # only now does the age go
    assert w == {M.PAIR: 60, M.PRICE: 90}
    assert fit_columns(60, SPECS) == {M.PRICE: 90}  # the price never shrinks: the view scrolls


def test_fit_columns_respects_hidden_columns():
    specs = {c: s for c, s in SPECS.items() if c != M.TREND}
    assert fit_columns(600, specs)[M.PAIR] == 600 - 90 - 75 - 110  # spare goes to the pair


@pytest.fixture
def filled(qtbot):
    w = filled_window()
    qtbot.addWidget(w)
    w.show()
    return w


def shown(window):
    header = window.table.horizontalHeader()
    return {
        c: header.sectionSize(c) for c in range(window.model.columnCount()) if not header.isSectionHidden(c)
    }


def resize_and_refresh(qtbot, window, width):
    window.resize(width, 330)
    qtbot.waitUntil(lambda: window.width() == width, timeout=1000)
    QApplication.processEvents()
    window.refresh(NOW)


@pytest.mark.parametrize(
    ("width", "columns"),
    [
        (250, [M.PAIR, M.PRICE, M.AGE]),
        (420, [M.PAIR, M.PRICE, M.CHANGE, M.AGE]),
        (700, [M.PAIR, M.PRICE, M.CHANGE, M.TREND, M.AGE]),
    ],
)
def test_price_and_age_are_the_last_to_go_and_never_cut(qtbot, filled, width, columns):
    resize_and_refresh(qtbot, filled, width)
    widths = shown(filled)
    assert list(widths) == columns
    assert sum(widths.values()) <= filled.table.viewport().width()
    assert not filled.table.horizontalScrollBar().isVisible()
    bold = filled.table.font()
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    for row in range(filled.model.rowCount()):
        price = filled.model.data(filled.model.index(row, M.PRICE))
        assert metrics.horizontalAdvance(price) + 2 * TEXT_MARGIN_PX <= widths[M.PRICE], price
        age = filled.model.data(filled.model.index(row, M.AGE)).removesuffix(" ago")
        assert filled.table.fontMetrics().horizontalAdvance(age) + 2 * TEXT_MARGIN_PX <= widths[M.AGE], age


def test_a_price_that_grows_a_digit_widens_its_column(qtbot, filled):
    resize_and_refresh(qtbot, filled, 420)
    before = shown(filled)[M.PRICE]
    q = Quote(WATCHLIST[0], 1_234_567.89, PriceDirection.UP, open_24h=1e6, received_at=NOW)
    filled.model.update_quotes([q])
    filled.refresh(NOW)
    assert shown(filled)[M.PRICE] > before
    assert sum(shown(filled).values()) <= filled.table.viewport().width()


def test_escape_hides_to_the_tray_or_minimises_without_one(qtbot, filled):
    filled.activateWindow()
    filled.table.setFocus()
    with qtbot.waitSignal(filled.hidden, timeout=1000):
        qtbot.keyClick(filled.table, Qt.Key.Key_Escape)
    assert not filled.isVisible()
    filled.close_to_tray = False
    filled.show()
    with qtbot.assertNotEmitted(filled.quit_requested):
        qtbot.keyClick(filled.table, Qt.Key.Key_Escape)
    assert filled.windowState() & Qt.WindowState.WindowMinimized


def test_the_table_takes_focus_and_arrows_move_between_rows(qtbot, filled):
    filled.activateWindow()
    qtbot.waitUntil(filled.isActiveWindow, timeout=1000)
    assert filled.table.focusPolicy() & Qt.FocusPolicy.TabFocus
    filled.tabs.tabBar().setFocus()
    qtbot.keyClick(filled.tabs.tabBar(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is filled.table
    filled.table.setCurrentIndex(filled.proxy.index(0, M.PRICE))
    qtbot.keyClick(filled.table, Qt.Key.Key_Down)
    qtbot.keyClick(filled.table, Qt.Key.Key_Down)
    assert filled.current_pair() == WATCHLIST[2]


def test_row_actions_from_the_keyboard_emit_the_pair_and_copy_the_plain_price(qtbot, filled):
    filled.activateWindow()
    filled.table.setFocus()
    filled.select_pair(WATCHLIST[0])
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(filled.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "91230.12"
    with qtbot.waitSignal(filled.pin_requested, timeout=1000) as pinned:
        qtbot.keyClick(filled.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert pinned.args == [WATCHLIST[0]]
    with qtbot.waitSignal(filled.alert_at_price_requested, timeout=1000) as alert:
        qtbot.keyClick(filled.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert alert.args == [WATCHLIST[0]]
    asked: list[Pair] = []
    filled.confirm_remove = lambda pair: asked.append(pair) or False  # the user says Cancel
    with qtbot.assertNotEmitted(filled.remove_requested):
        qtbot.keyClick(filled.table, Qt.Key.Key_Delete)
    filled.confirm_remove = lambda pair: asked.append(pair) or True
    with qtbot.waitSignal(filled.remove_requested, timeout=1000) as removed:
        qtbot.keyClick(filled.table, Qt.Key.Key_Delete)
    assert removed.args == [WATCHLIST[0]]
    assert asked == [WATCHLIST[0], WATCHLIST[0]]


def test_settings_shortcut_is_ctrl_comma(qtbot, filled):
    filled.activateWindow()
    filled.table.setFocus()
    with qtbot.waitSignal(filled.settings_requested, timeout=1000):
        qtbot.keyClick(filled.table, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)


# The offscreen platform cannot raise a popup or grab the keyboard for it: harmless here.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_the_row_menu_acts_on_the_row_it_was_opened_on(qtbot, filled):
    opened: list[list[str]] = []

    def choose_pin():
        menu = QApplication.activePopupWidget()
        opened.append([a.text() for a in menu.actions() if not a.isSeparator()])
        menu.actions()[0].trigger()  # "Pin to tray"
        menu.close()

    resize_and_refresh(qtbot, filled, 600)
    rect = filled.table.visualRect(filled.proxy.index(3, M.PRICE))
    QTimer.singleShot(50, choose_pin)
    with qtbot.waitSignal(filled.pin_requested, timeout=2000) as pinned:
        pos = rect.center()
        global_pos = filled.table.viewport().mapToGlobal(pos)
        filled.table.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, global_pos))
    assert pinned.args == [WATCHLIST[3]]
    assert opened == [
        ["&Pin to tray", "&Copy price", "&Alert at this price…", "Char&t…", "&Holding…", "&Remove…"]
    ]


def test_sorting_by_price_keeps_working_while_prices_change(qtbot, filled):
    filled.set_sort(M.PRICE, Qt.SortOrder.DescendingOrder)

    def order():
        rows = range(filled.proxy.rowCount())
        return [filled.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 4).base for r in rows]

    assert order() == ["BTC", "BTC", "ETH", "SOL", "DOGE"]
    sol = Quote(WATCHLIST[2], 5000.0, PriceDirection.UP, open_24h=150.0, received_at=NOW + 1)
    filled.model.update_quotes([sol])
    assert order() == ["BTC", "BTC", "SOL", "ETH", "DOGE"]
    filled.model.set_watchlist([*WATCHLIST, Pair(Source.KRAKEN, "ADA", "USD")])  # no price yet: last
    assert order()[-1] == "ADA"
    assert order()[0] == "BTC"
    filled.set_sort(M.PRICE, Qt.SortOrder.AscendingOrder)
    assert order()[0] == "DOGE"
    assert order()[-1] == "ADA"
    filled.set_sort(-1)
    assert order() == ["BTC", "ETH", "SOL", "BTC", "DOGE", "ADA"]  # the watchlist order again


def test_clicking_a_header_sorts_and_says_so(qtbot, filled):
    with qtbot.waitSignal(filled.view_state_changed, timeout=1000):
        filled.table.horizontalHeader().sectionClicked.emit(M.CHANGE)
        filled.table.horizontalHeader().setSortIndicator(M.CHANGE, Qt.SortOrder.AscendingOrder)
    assert filled.view_state()["sort"] == "change:asc"
    assert filled.sort_actions[M.CHANGE].isChecked()
    first = filled.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 4)
    assert first == WATCHLIST[1]  # ETH, -1.51 %


def test_hidden_columns_and_sort_round_trip_through_the_view_state(qtbot, filled):
    with qtbot.waitSignal(filled.view_state_changed, timeout=1000):
        filled.column_actions[M.TREND].trigger()  # View > Columns > Trend (unchecks it)
    filled.set_column_hidden(M.CHANGE, True)
    filled.set_column_hidden(M.PRICE, True)  # the price cannot be hidden
    filled.set_sort(M.PAIR, Qt.SortOrder.DescendingOrder)
    state = filled.view_state()
    assert state == {"sort": "pair:desc", "hidden_columns": "change,trend"}
    resize_and_refresh(qtbot, filled, 700)
    assert list(shown(filled)) == [M.PAIR, M.PRICE, M.AGE]
    other = filled_window()
    qtbot.addWidget(other)
    other.restore_view_state(state)
    assert other.view_state() == state
    assert other.hidden_columns() == {M.CHANGE, M.TREND}
    assert not other.column_actions[M.TREND].isChecked()
    other.restore_view_state({"sort": "bogus:sideways", "hidden_columns": "price,nonsense"})
    assert other.view_state() == {"sort": "", "hidden_columns": ""}


def test_the_paused_line_says_until_when_and_offers_resume(qtbot, filled):
    import datetime

    assert not filled.paused_line.isVisible()
    until = 1_900_000_000.0
    filled.set_paused(until)
    hhmm = datetime.datetime.fromtimestamp(until).strftime("%H:%M")
    assert filled.paused_line.isVisible()
    assert filled.paused_line.label.text() == f"Alerts paused until {hhmm}"
    filled.set_paused(math.inf)
    assert filled.paused_line.label.text() == "Alerts paused until resumed"
    with qtbot.waitSignal(filled.resume_requested, timeout=1000):
        filled.paused_line.resume_button.click()
    filled.set_paused(None)
    assert not filled.paused_line.isVisible()


def test_sparkline_paths_draw_a_gap_as_two_separate_segments():
    segments = [[(0.0, 1.0), (10.0, 2.0)], [(50.0, 2.0), (60.0, 3.0)]]
    paths = sparkline_paths(segments, 0.0, 0.0, 120.0, 20.0)
    assert len(paths) == 2
    first, second = (p.boundingRect() for p in paths)
    assert first.left() == 0.0
    assert first.right() == pytest.approx(20.0)
    assert second.left() == pytest.approx(100.0)
    assert second.right() == pytest.approx(120.0)
    assert [p.elementCount() for p in paths] == [2, 2]  # a move and a line each: no line across the gap
    lone = sparkline_paths([[(0.0, 1.0), (5.0, 1.5)], [(9.0, 1.2)]], 0.0, 0.0, 90.0, 20.0)
    assert len(lone) == 2
    (quiet,) = sparkline_paths([[(0.0, 1.0), (50.0, 2.0)]], 0.0, 0.0, 100.0, 20.0, now=100.0)
    assert quiet.boundingRect().right() == pytest.approx(50.0)  # stopped halfway: the line ends there
    assert lone[1].boundingRect().width() > 0


def test_the_status_line_says_when_the_newest_price_came_and_never_live_in_an_outage(qtbot, filled):
    filled.refresh(NOW)
    assert filled.status_line.state.text() == "Kraken live · Binance live"
    assert filled.status_line.activity.text() == "updated just now"  # the newest is 0.4 s old
    wake = filled.refresh(NOW + 3.2)
    assert filled.status_line.activity.text() == "updated 3 s ago"
    assert wake is not None
    assert wake <= NOW + 4.0
    outage = Status(State.RECONNECTING, Reason.CONNECTION_LOST, retry_in_s=5.0, retry_at=NOW + 130)
    filled.status_line.show_connections(Connections({Source.KRAKEN: outage, Source.BINANCE: outage}))
    filled.model.set_live_since({})
    filled.refresh(NOW + 125.0)
    assert "live" not in filled.status_line.state.text()
    assert "retrying in" in filled.status_line.state.text()
    assert filled.status_line.activity.text() == "last price 2 min ago"


def test_the_window_follows_a_dark_palette_and_back(qtbot, filled):
    app = QApplication.instance()
    light = app.palette()
    assert not filled.is_dark()
    assert filled.model.colors == LIGHT_COLORS
    try:
        app.setPalette(dark_palette())
        qtbot.waitUntil(filled.is_dark, timeout=1000)
        assert filled.model.colors == DARK_COLORS
        base = filled.palette().color(QPalette.ColorRole.Base)
        for color in (DARK_COLORS.up, DARK_COLORS.down, DARK_COLORS.stale):
            assert abs(color.lightness() - base.lightness()) > 90  # reads on the dark background
    finally:
        app.setPalette(light)
    qtbot.waitUntil(lambda: not filled.is_dark(), timeout=1000)
    assert filled.model.colors == LIGHT_COLORS


def test_every_control_has_an_accessible_name(filled):
    missing = []
    for widget in filled.findChildren(QAbstractButton) + filled.findChildren(QLabel):
        if widget.parent() is not None and not (widget.accessibleName() or widget.text().strip("&")):
            missing.append(widget)
    assert missing == []
    for view in (filled.table, filled.history, filled.tabs):
        assert view.accessibleName()
    assert filled.table.accessibleDescription()


def test_the_menus_have_mnemonics_and_every_row_action_a_shortcut(filled):
    titles = [a.text() for a in filled.menuBar().actions()]
    assert titles == ["&ccdesk", "&Pair", "&View"]
    for action in filled.row_actions:
        assert "&" in action.text()
        assert not action.shortcut().isEmpty()


def test_row_shortcuts_do_nothing_while_the_alerts_tab_is_shown(qtbot, filled):
    filled.activateWindow()
    filled.select_pair(WATCHLIST[0])
    assert filled.copy_action.isEnabled()
    filled.tabs.setCurrentWidget(filled.history)
    assert not any(a.isEnabled() for a in filled.row_actions)
    filled.confirm_remove = lambda pair: True
    with qtbot.assertNotEmitted(filled.remove_requested):
        qtbot.keyClick(filled.history, Qt.Key.Key_Delete)
    filled.tabs.setCurrentWidget(filled.prices)
    assert filled.remove_action.isEnabled()


def test_clicking_the_trend_header_goes_back_to_the_watchlist_order(qtbot, filled):
    filled.set_sort(M.PRICE, Qt.SortOrder.AscendingOrder)
    filled.table.horizontalHeader().setSortIndicator(M.TREND, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: filled.sort_column() == -1, timeout=1000)
    assert filled.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 4) == WATCHLIST[0]
    assert filled.sort_actions[-1].isChecked()


def test_the_status_line_wakes_when_the_newest_price_turns_stale(filled):
    filled.refresh(NOW + 50.0)  # the newest price (NOW - 0.4) is 50 s old; stale after 60 s
    assert filled.status_line.activity.text() == "updated 50 s ago"
    wake = filled.status_line.refresh(NOW + 58.0)
    assert wake == pytest.approx(NOW - 0.4 + 60.0, abs=0.01)
    filled.refresh(NOW + 61.0)
    assert filled.status_line.activity.text() == "last price 1 min ago"
