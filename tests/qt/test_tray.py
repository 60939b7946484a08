"""The tray: looks, tooltip and menu offscreen (no tray host), and a real tray host under Xvfb."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QMenu, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.tray import (
    DIRECTION_HOLD_S,
    PAUSE_HOUR_S,
    CalmDirection,
    PairEntry,
    Tray,
    TrayMenuState,
    build_tray_menu,
    tray_look,
)
from ccdesk.qt.tray_icon import IconFace, Scheme, TrayLook
from ccdesk.wording import KEY_PROBLEM_WORDS, MAX_TOOLTIP_PAIRS, paused_words, quote_line, tooltip_text
from tests.pairs import BTC, BTC_TRADES, ETH_COINBASE, SOL

NOW = 1000.0
STALE_S = 60.0
FRESH = Freshness.everywhere(0.0, STALE_S)  # connected since long before NOW
LIVE = Status(State.CONNECTED, Reason.WELCOMED)


def cc(status: Status) -> Connections:
    """CryptoCompare (the source of the test pairs) in this state."""
    return Connections({Source.CRYPTOCOMPARE: status})


CONN_LIVE = cc(LIVE)


def quote(sub, price=91_230.12, direction=PriceDirection.UP, open_24h=89_317.0, received_at=NOW - 1.0):
    return Quote(sub=sub, price=price, direction=direction, open_24h=open_24h, received_at=received_at)


@pytest.fixture
def tray(qapp) -> Iterator[Tray]:
    t = Tray()
    yield t
    t.hide()
    t.deleteLater()


# --- pure helpers ---------------------------------------------------------------------------------


def test_calm_direction_holds_a_direction_before_it_turns_again() -> None:
    calm = CalmDirection(hold_s=10.0)
    assert calm.look(BTC, TrayLook.UP, 0.0) is TrayLook.UP
    # Hovering around 0.00 %: flat, up, flat within seconds: the icon stays up ...
    assert calm.look(BTC, TrayLook.FLAT, 3.0) is TrayLook.UP
    assert calm.pending_at() == 10.0
    assert calm.look(BTC, TrayLook.UP, 4.0) is TrayLook.UP
    assert calm.pending_at() is None
    assert calm.look(BTC, TrayLook.FLAT, 9.9) is TrayLook.UP
    # ... until the hold is over; then the next turn waits again.
    assert calm.look(BTC, TrayLook.FLAT, 10.0) is TrayLook.FLAT
    assert calm.look(BTC, TrayLook.DOWN, 12.0) is TrayLook.FLAT
    assert calm.look(BTC, TrayLook.DOWN, 20.0) is TrayLook.DOWN
    # Other looks are never held back, and another pair shows its own direction at once.
    assert calm.look(BTC, TrayLook.STALE, 21.0) is TrayLook.STALE
    assert calm.look(BTC, TrayLook.UP, 22.0) is TrayLook.UP
    assert calm.look(SOL, TrayLook.DOWN, 23.0) is TrayLook.DOWN


def test_the_icon_turns_at_most_once_per_hold_while_the_day_hovers_at_zero(tray: Tray) -> None:
    tray.set_connections(CONN_LIVE)
    turns, last = 0, None
    for i in range(600):  # a minute at 10 updates a second, the 24 h change wobbling around 0.00 %
        now = NOW + i / 10
        price = 100.0 * (1 + (0.0001 if i % 3 else -0.0001))
        tray.set_quotes([quote(BTC, price=price, open_24h=100.0, received_at=now)], BTC, now, FRESH)
        if tray.look() is not last:
            turns, last = turns + 1, tray.look()
    assert turns <= 1 + 60 / DIRECTION_HOLD_S


def test_quote_line_shows_price_arrow_and_24h_change() -> None:
    assert quote_line(quote(BTC), NOW, FRESH) == "BTC/USD · CCCAGG 91,230.12 ▲ +2.14%"
    down = quote(ETH_COINBASE, price=3098.62, open_24h=3137.5)
    assert quote_line(down, NOW, FRESH) == "ETH/USD · Coinbase 3,098.62 ▼ -1.24%"
    flat = quote(SOL, price=150.0, open_24h=150.0)
    assert quote_line(flat, NOW, FRESH) == "SOL/USD · CCCAGG 150.00 0.00%"
    trade = quote(BTC_TRADES, price=91_021.74, open_24h=None)
    assert quote_line(trade, NOW, FRESH) == "BTC/USDT · Binance trades 91,021.74"
    assert quote_line(quote(BTC, price=None), NOW, FRESH) == "BTC/USD · CCCAGG: waiting for a price"
    old = quote(BTC, received_at=NOW - STALE_S - 1)
    assert quote_line(old, NOW, FRESH) == "BTC/USD · CCCAGG 91,230.12 ▲ +2.14% (stale)"


@pytest.mark.parametrize(
    ("pinned", "status", "key_problem", "expected"),
    [
        (None, None, False, TrayLook.IDLE),
        (quote(BTC, price=None), LIVE, False, TrayLook.IDLE),
        (quote(BTC), Status(State.CONNECTING, Reason.STARTING), False, TrayLook.UP),
        (quote(BTC), LIVE, False, TrayLook.UP),
        # The 24 h change leads, not the last trade's direction (issue 10).
        (quote(BTC, direction=PriceDirection.UP, open_24h=97_000.0), LIVE, False, TrayLook.DOWN),
        (quote(BTC, direction=PriceDirection.DOWN), LIVE, False, TrayLook.UP),
        (quote(BTC, direction=None, open_24h=91_230.12), LIVE, False, TrayLook.FLAT),
        (quote(BTC, direction=PriceDirection.DOWN, open_24h=91_234.0), LIVE, False, TrayLook.FLAT),
        (quote(BTC, direction=PriceDirection.UP, open_24h=None), LIVE, False, TrayLook.IDLE),
        (quote(BTC, received_at=NOW - 61), LIVE, False, TrayLook.STALE),
        (quote(BTC), Status(State.STALE, Reason.SILENCE), False, TrayLook.STALE),
        (quote(BTC), Status(State.RECONNECTING, Reason.CONNECTION_LOST), False, TrayLook.DISCONNECTED),
        (quote(BTC), Status(State.RATE_LIMITED, Reason.TOO_MANY_SOCKETS), False, TrayLook.DISCONNECTED),
        (quote(BTC), Status(State.STOPPED, Reason.STOP_REQUESTED), False, TrayLook.DISCONNECTED),
        (quote(BTC), Status(State.AUTH_FAILED, Reason.UNAUTHORIZED), False, TrayLook.KEY_PROBLEM),
        (None, Status(State.RECONNECTING, Reason.CONNECT_FAILED), True, TrayLook.KEY_PROBLEM),
    ],
)
def test_tray_look_precedence(pinned, status, key_problem, expected) -> None:
    assert tray_look(pinned, status, NOW, FRESH, key_problem=key_problem) is expected


def test_prices_from_before_the_session_are_stale_in_the_icon_tooltip_and_menu(qtbot) -> None:
    # After a suspend or a reconnect, a price that looks seconds old (monotonic time stopped while
    # asleep) but arrived before the current session began is not live anywhere: one rule for all.
    resumed = Freshness.everywhere(NOW - 0.5, STALE_S)
    before = quote(BTC, received_at=NOW - 1.0)
    assert tray_look(before, LIVE, NOW, resumed) is TrayLook.STALE
    assert quote_line(before, NOW, resumed).endswith("(stale)")
    tray = Tray()
    tray.set_quotes([before], BTC, NOW, resumed)
    assert tray.look() is TrayLook.STALE
    assert "(stale)" in tray.tooltip()
    assert tray.menu().pinned.text().endswith("(stale)")
    fresh = quote(BTC, received_at=NOW - 0.1)
    tray.set_quotes([fresh], BTC, NOW, resumed)
    assert tray.look() is TrayLook.UP
    assert "(stale)" not in tray.tooltip()


def test_paused_words() -> None:
    assert paused_words(None) is None
    assert paused_words(math.inf) == "paused until resumed"
    assert paused_words(0.0).startswith("paused until ")
    assert len(paused_words(0.0).removeprefix("paused until ")) == 5  # HH:MM


def test_tooltip_lists_every_pair_with_price_and_change() -> None:
    text = tooltip_text(
        [quote(BTC), quote(ETH_COINBASE, price=3098.62, open_24h=3137.5)],
        CONN_LIVE,
        NOW,
        FRESH,
        paused_until=math.inf,
    )
    assert text.splitlines() == [
        "ccdesk: CryptoCompare live",
        "BTC/USD · CCCAGG 91,230.12 ▲ +2.14%",
        "ETH/USD · Coinbase 3,098.62 ▼ -1.24%",
        "Alerts paused until resumed",
    ]
    assert tooltip_text([], Connections(), NOW, FRESH).splitlines() == ["ccdesk", "No prices yet"]
    assert tooltip_text([], CONN_LIVE, NOW, FRESH, key_problem="API key rejected").splitlines()[:2] == [
        "ccdesk: CryptoCompare live",
        "API key rejected",
    ]


def test_tooltip_is_cut_after_many_pairs() -> None:
    subs = [parse_pair(f"C{i}-USD") for i in range(MAX_TOOLTIP_PAIRS + 5)]
    lines = tooltip_text([quote(s) for s in subs], CONN_LIVE, NOW, FRESH).splitlines()
    assert len(lines) == 1 + MAX_TOOLTIP_PAIRS + 1
    assert lines[-1] == "… and 5 more"


def test_menu_builds_without_a_tray(qapp) -> None:
    menu = QMenu()
    actions = build_tray_menu(menu)
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == [
        "Waiting for prices…",
        "Copy price",
        "Show window",
        "Show mini panel",
        "Pause alerts",
        "Resume alerts",
        "Settings…",
        "Quit",
    ]
    assert [a.text() for a in actions.pause_menu.actions()] == ["For 1 hour", "Until I resume"]
    assert not actions.copy_price.isEnabled()
    assert actions.pinned is None
    assert not actions.resume.isVisible()
    assert actions.mini_panel.isCheckable()
    assert not actions.mini_panel.isChecked()

    entries = (
        PairEntry(BTC, "BTC/USD · CCCAGG  91,230.12 ▲ +2.14%", 91_230.12),
        PairEntry(SOL, "SOL/USD · CCCAGG  waiting for a price", None),
    )
    actions.apply(
        TrayMenuState(entries, BTC, window_visible=True, paused_until=math.inf, mini_panel_visible=True)
    )
    texts = [a.text() for a in menu.actions() if a.isVisible() and not a.isSeparator()]
    assert texts[:3] == [entries[0].text, entries[1].text, "Copy BTC/USD price (91230.12)"]
    assert actions.pinned is actions.pair_actions[BTC]
    assert actions.pinned.isChecked()
    assert not actions.pair_actions[SOL].isChecked()
    assert actions.copy_price.isEnabled()
    assert actions.window.text() == "Hide window"
    assert actions.mini_panel.isChecked()
    assert not actions.pause_menu.menuAction().isVisible()
    assert actions.resume.isVisible()
    assert actions.resume.text() == "Resume alerts (paused until resumed)"

    actions.apply(TrayMenuState(entries, SOL))  # SOL pinned: it has no price to copy
    assert actions.pair_actions[SOL].isChecked()
    assert not actions.pair_actions[BTC].isChecked()
    assert not actions.copy_price.isEnabled()
    assert actions.window.text() == "Show window"
    assert actions.pause_menu.menuAction().isVisible()
    assert not actions.resume.isVisible()

    actions.apply(TrayMenuState())
    assert [a.text() for a in menu.actions() if a.isVisible() and not a.isSeparator()][:2] == [
        "Waiting for prices…",
        "Copy price",
    ]


def test_the_menu_makes_its_pair_actions_again_only_when_the_pairs_change(qapp) -> None:
    actions = build_tray_menu(QMenu())
    for i in range(20):
        entries = (PairEntry(BTC, f"BTC {i}", 1.0 + i), PairEntry(SOL, f"SOL {i}", 2.0))
        actions.apply(TrayMenuState(entries, BTC))
    assert actions.rebuilds == 1
    assert actions.pair_actions[BTC].text() == "BTC 19"
    actions.apply(TrayMenuState((PairEntry(SOL, "SOL", 2.0),), SOL))
    assert actions.rebuilds == 2
    assert list(actions.pair_actions) == [SOL]


# --- the Tray object, offscreen (never a tray here) ------------------------------------------------


def test_offscreen_there_is_no_tray_and_nothing_is_shown(tray: Tray) -> None:
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    assert not tray.available()
    assert tray.show() is False
    assert not tray.is_shown()
    assert tray.show_message("BTC/USD up 1.3 % in 5 min", "91,000.00 → 92,183.00") is False
    tray.hide()  # harmless without a tray
    assert tray.look() is TrayLook.IDLE
    assert tray.tooltip() == "ccdesk\nNo prices yet"


def open_menu(tray: Tray) -> None:
    """What the tray does as its menu opens (offscreen there is no menu to pop up)."""
    tray._menu.aboutToShow.emit()


def test_set_quotes_updates_tooltip_menu_and_look(tray: Tray) -> None:
    quotes = [quote(BTC), quote(ETH_COINBASE, price=3098.62, open_24h=3137.5, direction=PriceDirection.UP)]
    tray.set_connections(CONN_LIVE)
    tray.set_quotes(quotes, ETH_COINBASE, NOW, FRESH)
    assert tray.look() is TrayLook.DOWN  # down 1.24 % on the day, whatever the last trade did
    assert tray.tooltip().splitlines()[1:] == [
        "BTC/USD · CCCAGG 91,230.12 ▲ +2.14%",
        "ETH/USD · Coinbase 3,098.62 ▼ -1.24%",
    ]
    assert tray._icon.toolTip() == tray.tooltip()
    open_menu(tray)
    assert tray.menu().pinned.text() == "ETH/USD · Coinbase  3,098.62 ▼ -1.24%"
    assert tray.pinned_line() == tray.menu().pinned.text()
    assert [a.text() for a in tray.menu().pair_actions.values()] == [
        "BTC/USD · CCCAGG  91,230.12 ▲ +2.14%",
        "ETH/USD · Coinbase  3,098.62 ▼ -1.24%",
    ]

    tray.set_quotes(quotes, None, NOW, FRESH)  # no pinned pair: the first one leads
    assert tray.look() is TrayLook.UP
    assert tray.menu().pinned.text() == "BTC/USD · CCCAGG  91,230.12 ▲ +2.14%"

    tray.set_quotes(quotes, BTC, NOW + 120, FRESH)
    assert tray.look() is TrayLook.STALE
    assert tray.menu().pinned.text().endswith("(stale)")

    tray.set_quotes([*quotes, Quote(SOL, None, None)], SOL, NOW, FRESH)  # pinned pair without data yet
    assert tray.look() is TrayLook.IDLE
    assert tray.menu().pinned.text() == "SOL/USD · CCCAGG  waiting for a price"
    assert not tray.menu().copy_price.isEnabled()


def test_a_closed_menu_is_not_rewritten_per_tick_but_is_current_when_opened(tray: Tray) -> None:
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    action = tray.menu().pair_actions[BTC]
    first = action.text()
    tray.set_quotes([quote(BTC, price=92_000.0)], BTC, NOW + 1, FRESH)
    assert action.text() == first  # closed: nobody sees it, nothing is formatted
    open_menu(tray)
    assert "92,000.00" in action.text()
    tray.set_quotes([quote(BTC, price=93_000.0)], BTC, NOW + 2, FRESH)
    assert "93,000.00" in action.text()  # open: it follows the prices
    tray._menu.aboutToHide.emit()
    tray.set_quotes([quote(BTC, price=94_000.0), quote(SOL)], BTC, NOW + 3, FRESH)
    assert list(tray.menu().pair_actions) == [BTC, SOL]  # a new pair is listed at once
    assert tray.menu().rebuilds == 2


def test_choosing_a_pair_pins_it_and_copy_puts_the_plain_price_on_the_clipboard(
    tray: Tray, qtbot: QtBot
) -> None:
    tray.set_quotes([quote(BTC), quote(SOL, price=152.3, open_24h=150.0)], BTC, NOW, FRESH)
    open_menu(tray)
    a = tray.menu()
    with qtbot.waitSignal(tray.pin_requested, timeout=1000) as pinned:
        a.pair_actions[SOL].trigger()
    assert pinned.args == [SOL]
    # Until the controller pins it, BTC stays checked; after, SOL is.
    tray.set_quotes([quote(BTC), quote(SOL, price=152.3, open_24h=150.0)], BTC, NOW, FRESH)
    assert a.pair_actions[BTC].isChecked()
    assert not a.pair_actions[SOL].isChecked()
    tray.set_quotes([quote(BTC), quote(SOL, price=152.3, open_24h=150.0)], SOL, NOW, FRESH)
    assert a.pair_actions[SOL].isChecked()
    assert not a.pair_actions[BTC].isChecked()
    assert a.copy_price.text() == "Copy SOL/USD price (152.30)"
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("something else")
    a.copy_price.trigger()
    assert clipboard.text() == "152.30"
    tray.set_quotes([quote(BTC), quote(SOL, price=152.3, open_24h=150.0)], BTC, NOW, FRESH)
    a.copy_price.trigger()
    assert clipboard.text() == "91230.12"  # plain: no grouping comma


def test_the_icon_follows_the_24h_change_not_each_trade(tray: Tray) -> None:
    # The report: down 6 % on the day, the arrow flipped 9 times in 16 s with the trades.
    tray.set_connections(CONN_LIVE)
    looks = []
    keys = set()
    for i in range(32):
        direction = PriceDirection.UP if i % 2 else PriceDirection.DOWN
        q = quote(BTC, price=85_000.0 + (i % 3), direction=direction, open_24h=90_500.0, received_at=NOW + i)
        tray.set_quotes([q], BTC, NOW + i, FRESH)
        looks.append(tray.look())
        keys.add(tray.icon().cacheKey())
    assert set(looks) == {TrayLook.DOWN}
    assert len(keys) == 1  # the same icon all along: "85.0k" and down
    # It changes when the day's change does, and only then.
    tray.set_quotes([quote(BTC, price=90_600.0, open_24h=90_500.0)], BTC, NOW + 40, FRESH)
    assert tray.look() is TrayLook.UP


def test_the_price_in_the_icon(tray: Tray) -> None:
    tray.set_connections(CONN_LIVE)
    tray.set_price_in_icon(True)
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    assert tray.face() == IconFace(TrayLook.UP, "91.2k", scheme=tray.scheme())
    key = tray.icon().cacheKey()
    tray.set_quotes([quote(BTC, price=91_240.0)], BTC, NOW + 1, FRESH)
    assert tray.icon().cacheKey() == key  # still "91.2k" and up: not set again
    tray.set_quotes([quote(BTC, price=91_260.0)], BTC, NOW + 2, FRESH)
    assert tray.face().text == "91.3k"
    assert tray.icon().cacheKey() != key
    tray.set_quotes([quote(BTC)], BTC, NOW + 120, FRESH)
    assert tray.face() == IconFace(TrayLook.STALE, "91.2k", scheme=tray.scheme())  # grey, with a clock
    tray.set_paused(math.inf)
    assert tray.face().paused
    tray.set_connections(cc(Status(State.RECONNECTING, Reason.CONNECTION_LOST)))
    assert tray.face().look is TrayLook.DISCONNECTED
    assert not tray.face().shows_text  # no price that cannot be trusted
    tray.set_price_in_icon(False)
    tray.set_connections(CONN_LIVE)
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    assert tray.face() == IconFace(TrayLook.UP, None, paused=True, scheme=tray.scheme())


def test_paused_alerts_show_on_the_icon(tray: Tray) -> None:
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    key = tray.icon().cacheKey()
    tray.set_paused(math.inf)
    assert tray.face().paused
    assert tray.icon().cacheKey() != key
    tray.set_paused(None)
    assert not tray.face().paused
    assert tray.icon().cacheKey() == key  # the cached icon again


def test_the_icon_cycles_through_the_pairs(tray: Tray, qtbot: QtBot) -> None:
    quotes = [quote(BTC), quote(SOL, price=152.3, open_24h=160.0)]
    tray.set_connections(CONN_LIVE)
    tray.set_price_in_icon(True)
    tray.set_cycle(0.05)
    tray.set_quotes(quotes, BTC, NOW, FRESH)
    seen = set()
    qtbot.waitUntil(
        lambda: seen.add((tray.face().label, tray.face().text, tray.face().look)) or len(seen) >= 2
    )
    assert seen >= {("BTC", "91.2k", TrayLook.UP), ("SOL", "152.3", TrayLook.DOWN)}
    tray.set_cycle(0)
    assert tray.face().label is None
    assert tray.face().text == "91.2k"


def test_the_icon_follows_the_colour_scheme(tray: Tray) -> None:
    tray.set_price_in_icon(True)
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    tray.set_scheme(Scheme.DARK)
    dark = tray.icon().cacheKey()
    tray.set_scheme(Scheme.LIGHT)
    assert tray.face().scheme is Scheme.LIGHT
    assert tray.icon().cacheKey() != dark


def test_the_icon_changes_only_when_the_look_does(tray: Tray) -> None:
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    key = tray._icon.icon().cacheKey()
    tray.set_quotes([quote(BTC, price=91_300.0)], BTC, NOW + 1, FRESH)
    assert tray._icon.icon().cacheKey() == key
    tray.set_quotes([quote(BTC, open_24h=95_000.0)], BTC, NOW + 12, FRESH)
    assert tray._icon.icon().cacheKey() != key


def test_connection_and_key_problems_change_the_look(tray: Tray) -> None:
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    tray.set_connections(cc(Status(State.RECONNECTING, Reason.CONNECTION_LOST)))
    assert tray.look() is TrayLook.DISCONNECTED
    assert tray.tooltip().startswith("ccdesk: CryptoCompare: Reconnecting — connection lost\n")
    tray.set_connections(cc(Status(State.AUTH_FAILED, Reason.UNAUTHORIZED)))
    assert tray.look() is TrayLook.KEY_PROBLEM
    tray.set_connections(CONN_LIVE)
    assert tray.look() is TrayLook.UP
    # Another source's key problem: the live pinned price keeps the icon; the tooltip says it.
    tray.set_key_problem(True)
    assert tray.look() is TrayLook.UP
    assert tray.tooltip().splitlines()[1] == KEY_PROBLEM_WORDS
    tray.set_key_problem("No API key yet")
    assert tray.tooltip().splitlines()[1] == "No API key yet"
    # With no live price to show, the key problem takes the icon.
    tray.set_quotes([quote(BTC, received_at=NOW - 3600)], BTC, NOW, FRESH)
    assert tray.look() is TrayLook.KEY_PROBLEM
    tray.set_key_problem(False)
    assert tray.look() is TrayLook.STALE


def test_paused_alerts_offer_resume_with_the_time(tray: Tray) -> None:
    tray.set_paused(0.0)
    resume = tray.menu().resume
    assert resume.isVisible()
    assert resume.text() == f"Resume alerts ({paused_words(0.0)})"
    assert tray.tooltip().endswith(f"Alerts {paused_words(0.0)}")
    tray.set_paused(None)
    assert not resume.isVisible()
    assert "Alerts paused" not in tray.tooltip()


def test_window_entry_follows_the_window(tray: Tray) -> None:
    tray.set_window_visible(True)
    assert tray.menu().window.text() == "Hide window"
    tray.set_window_visible(False)
    assert tray.menu().window.text() == "Show window"


def test_menu_entries_emit_requests(tray: Tray, qtbot: QtBot) -> None:
    a = tray.menu()
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    with qtbot.waitSignal(tray.mini_panel_toggled, timeout=1000) as panel:
        a.mini_panel.trigger()
    assert panel.args == [True]
    with qtbot.waitSignal(tray.toggle_window_requested, timeout=1000):
        a.window.trigger()
    with qtbot.waitSignal(tray.pause_requested, timeout=1000) as hour:
        a.pause_hour.trigger()
    assert hour.args == [PAUSE_HOUR_S]
    with qtbot.waitSignal(tray.pause_requested, timeout=1000) as forever:
        a.pause_forever.trigger()
    assert forever.args == [math.inf]
    tray.set_paused(math.inf)
    with qtbot.waitSignal(tray.resume_requested, timeout=1000):
        a.resume.trigger()
    with qtbot.waitSignal(tray.settings_requested, timeout=1000):
        a.settings.trigger()
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        a.quit.trigger()


def test_left_click_toggles_the_window_and_nothing_else_does(tray: Tray, qtbot: QtBot) -> None:
    with qtbot.waitSignal(tray.toggle_window_requested, timeout=1000):
        tray._icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    with qtbot.assertNotEmitted(tray.toggle_window_requested):
        tray._icon.activated.emit(QSystemTrayIcon.ActivationReason.Context)
        tray._icon.activated.emit(QSystemTrayIcon.ActivationReason.MiddleClick)


# --- a real tray host: Xvfb + trayer (XEmbed) ---------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtWidgets import QApplication
    from ccdesk.qt.tray import Tray
    app = QApplication(sys.argv)
    tray = Tray()
    deadline = time.monotonic() + 15
    while not tray.available() and time.monotonic() < deadline:  # trayer takes a moment to start
        app.processEvents()
        time.sleep(0.05)
    print("available", tray.available())
    print("shown", tray.show(), tray.is_shown())
    app.processEvents()
    print("message", tray.show_message("BTC/USD up 1.3 % in 5 min", "91,000.00 -> 92,183.00"))
    tray.hide()
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("xvfb-run") and shutil.which("trayer")), reason="needs xvfb-run and trayer"
)
def test_with_a_real_tray_host_the_icon_shows_and_messages_work(tmp_path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    inner = (
        "trayer --edge top --align right --widthtype pixel --width 200 --height 32 --transparent false "
        ">/dev/null 2>&1 & T=$!; "
        f"{sys.executable} {script}; rc=$?; kill $T; wait $T 2>/dev/null; exit $rc"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # XEmbed via trayer, not a D-Bus tray
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24 -nolisten tcp", "bash", "-c", inner],
        capture_output=True,
        text=True,
        timeout=50,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["available True", "shown True True", "message True"], result.stderr


def test_the_icon_follows_a_change_of_the_desktops_colour_scheme(tray: Tray, qapp) -> None:
    # Offscreen the platform reports no scheme (Unknown): the palette's window colour decides.
    tray.set_price_in_icon(True)
    tray.set_quotes([quote(BTC)], BTC, NOW, FRESH)
    before = qapp.palette()
    try:
        for window, expected in (("#202124", Scheme.DARK), ("#f5f5f5", Scheme.LIGHT)):
            palette = QPalette(before)
            palette.setColor(QPalette.ColorRole.Window, QColor(window))
            qapp.setPalette(palette)
            QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Unknown)
            assert tray.scheme() is expected
            assert tray.face().scheme is expected
    finally:
        qapp.setPalette(before)


def test_cycling_needs_the_price_in_the_icon(tray: Tray) -> None:
    tray.set_quotes([quote(BTC), quote(SOL)], BTC, NOW, FRESH)
    tray.set_cycle(5.0)
    assert not tray._cycle_timer.isActive()  # the price is not in the icon: nothing to cycle
    tray.set_price_in_icon(True)
    assert tray._cycle_timer.isActive()
    assert tray._cycle_timer.interval() == 5000
    tray.set_price_in_icon(False)
    assert not tray._cycle_timer.isActive()
    assert tray.face().label is None


class FakeSource:
    def __init__(self, quotes: list[Quote]) -> None:
        self.list = quotes
        self.freshness = FRESH

    def quotes(self) -> list[Quote]:
        return self.list

    def pinned_quote(self) -> Quote | None:
        return self.list[0] if self.list else None


def test_refresh_wakes_the_view_clock_when_a_held_direction_is_due(tray: Tray) -> None:
    source = FakeSource([quote(BTC, open_24h=90_000.0, received_at=NOW)])
    tray.follow(source)
    tray.set_connections(CONN_LIVE)
    assert tray.refresh(NOW) == pytest.approx(NOW + STALE_S, abs=0.01)  # up; next: when it turns stale
    source.list = [quote(BTC, open_24h=92_000.0, received_at=NOW + 2)]
    assert tray.refresh(NOW + 2) == NOW + DIRECTION_HOLD_S  # down, held back until then
    assert tray.look() is TrayLook.UP
    tray.refresh(NOW + DIRECTION_HOLD_S)
    assert tray.look() is TrayLook.DOWN


def test_the_menu_reads_the_latest_prices_as_it_opens(tray: Tray) -> None:
    source = FakeSource([quote(BTC)])
    tray.follow(source)
    tray.refresh(NOW)
    source.list = [quote(BTC), quote(SOL, price=152.3, open_24h=150.0)]  # no refresh since
    open_menu(tray)
    assert list(tray.menu().pair_actions) == [BTC, SOL]
