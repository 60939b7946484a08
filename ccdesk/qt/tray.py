"""The system tray entry: icon look, tooltip, context menu, balloon messages. Main thread only.

The tray is optional. Without a tray host (some desktops, Qt's offscreen platform) ``available()``
is False, nothing is shown, and every method still works, so the app runs window-only. Some hosts
(GNOME with AppIndicator, most StatusNotifierItem hosts) never send a left click and show only
the menu, so everything a click does is in the menu as well.

The icon shows the pinned pair (or each pair in turn) as an ``IconFace``: its look (the 24 h
direction, held calm by ``CalmDirection``; stale; disconnected; key problem), optionally its
compact price, a pause sign while alerts are paused, drawn for the desktop's light or dark scheme.
Qt's tray has no text label on any platform, so the price is drawn into the icon itself. The icon
is set only when its face changes; the menu's pair lines are formatted only while it is open.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ccdesk.core.connections import Connections
from ccdesk.core.events import State, Status
from ccdesk.core.formatting import change_sign, compact_price, plain_price
from ccdesk.core.freshness import Freshness
from ccdesk.core.holdings import Total
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import Quote
from ccdesk.qt.tray_icon import IconFace, Scheme, TrayIconCache, TrayLook, scheme_for
from ccdesk.wording import (
    COPY_PRICE_WORDS,
    KEY_PROBLEM_WORDS,
    MINI_PANEL_WORDS,
    WAITING_WORDS,
    copy_price_words,
    pair_label,
    paused_words,
    portfolio_lines,
    tooltip_text,
    tray_menu_line,
)

log = logging.getLogger(__name__)

PAUSE_HOUR_S = 3600.0
MESSAGE_TIMEOUT_MS = 10_000


_DISCONNECTED_STATES = frozenset({State.RECONNECTING, State.RATE_LIMITED, State.BLOCKED, State.STOPPED})


# --- pure helpers (no tray needed; tested offscreen) ---------------------------------------------


def tray_look(
    quote: Quote | None,
    status: Status | None,
    now: float,
    freshness: Freshness,
    *,
    key_problem: bool = False,
) -> TrayLook:
    """The icon look: key problems first, then the connection, then the pinned pair's 24 h change.
    A key problem elsewhere (another source's key) does not hide a pinned price that is live: the
    tooltip and the menu still say it; the key look takes the icon when the shown pair has no live
    price or its own source refused the key.

    The direction is the sign of the 24 h change as ``format_pct`` shows it, so the icon agrees
    with the window's arrow and changes only when that sign does; a pair whose 24 h change is
    unknown (no open price yet, a trades feed) shows IDLE: no direction rather than a made-up one.

    Args:
        quote: The pinned pair's quote, or None if it has none yet.
        status: The last connection status, or None before the stream started.
        now: Monotonic now, for staleness.
        freshness: The one freshness rule (connection, session, threshold).
        key_problem: True when the app knows the key is missing or unusable.
    """
    live = quote is not None and quote.price is not None and freshness.is_fresh(quote, now)
    if (key_problem and not live) or (status is not None and status.state is State.AUTH_FAILED):
        return TrayLook.KEY_PROBLEM
    if status is not None:
        if status.state in _DISCONNECTED_STATES:
            return TrayLook.DISCONNECTED
        if status.state is State.STALE:
            return TrayLook.STALE
    if quote is None or quote.price is None:
        return TrayLook.IDLE
    if not freshness.is_fresh(quote, now):
        return TrayLook.STALE
    # The 24 h change, as the window's 24 h column shows it (change_sign: the same rounding), never
    # the last trade's tick: that flips several times a second while the day's move stays put.
    sign = change_sign(quote.change_pct_24h)
    if sign is None:
        return TrayLook.IDLE
    return TrayLook.UP if sign > 0 else TrayLook.DOWN if sign < 0 else TrayLook.FLAT


DIRECTION_HOLD_S = 10.0
"""A direction the icon shows stays at least this long before it may turn again (only a 24 h change
hovering around 0.00 % ever turns faster)."""

_DIRECTION_LOOKS = frozenset({TrayLook.UP, TrayLook.DOWN, TrayLook.FLAT})


class CalmDirection:
    """Keeps the icon's direction from flickering: a new direction (UP, DOWN, FLAT) shows at once
    unless the one before it was shown less than ``hold_s`` ago; then it shows when that time is up.

    Any other look (stale, disconnected...) passes straight through, and so does the first direction
    of another pair. Pure: time is the monotonic ``now`` given with each call.
    """

    def __init__(self, hold_s: float = DIRECTION_HOLD_S) -> None:
        self._hold_s = hold_s
        self._pair: Pair | None = None
        self._shown: TrayLook | None = None
        self._since = -math.inf
        self._pending_at: float | None = None

    def look(self, pair: Pair | None, look: TrayLook, now: float) -> TrayLook:
        """The look to show for ``pair`` whose own look is ``look`` at ``now``."""
        self._pending_at = None
        if look not in _DIRECTION_LOOKS:
            self._shown = None
            return look
        if pair != self._pair or self._shown is None:
            self._pair, self._shown, self._since = pair, look, now
            return look
        if look is not self._shown:
            if now - self._since >= self._hold_s:
                self._shown, self._since = look, now
            else:
                self._pending_at = self._since + self._hold_s
        return self._shown

    def pending_at(self) -> float | None:
        """When a held-back direction may show (monotonic), or None when none is held back."""
        return self._pending_at


@dataclass(frozen=True, slots=True)
class PairEntry:
    """One pair in the menu.

    Attributes:
        sub: The pair.
        text: Its line: ``BTC/USD · Kraken  91,230.12 ▲ +2.14%``.
        price: Its price for "Copy price", or None while it has none.
    """

    sub: Pair
    text: str
    price: float | None = None


@dataclass(frozen=True, slots=True)
class TrayMenuState:
    """What the context menu shows.

    Attributes:
        pairs: Every pair, in the watchlist's order (empty: "Waiting for prices…").
        pinned: The pair the icon follows (checked in the list), or None.
        window_visible: The window is shown (the menu offers "Hide window").
        paused_until: Alerts are paused until this wall time (``math.inf``: until resumed),
            or None when they are not paused.
        mini_panel_visible: The mini panel is shown (its entry is checked).
    """

    pairs: tuple[PairEntry, ...] = ()
    pinned: Pair | None = None
    window_visible: bool = False
    paused_until: float | None = None
    mini_panel_visible: bool = False

    @property
    def pinned_entry(self) -> PairEntry | None:
        return next((e for e in self.pairs if e.sub == self.pinned), None)


class TrayMenu:
    """The context menu's actions, built into a given QMenu; ``apply`` updates them.

    The pairs are one checkable action each (choosing one pins it; the pinned one is checked),
    then "Copy price" for the pinned pair. The pair actions are made again only when the pairs
    themselves change, and a text is set only when it differs: prices tick ten times a second.
    Kept apart from the tray icon so that it can be built and tested without a tray host.
    """

    def __init__(self, menu: QMenu) -> None:
        self.menu = menu
        self.waiting = QAction(WAITING_WORDS, menu)
        self.waiting.setEnabled(False)
        self.pair_group = QActionGroup(menu)
        self.pair_group.setExclusive(True)
        self.pair_actions: dict[Pair, QAction] = {}
        self.copy_price = QAction(COPY_PRICE_WORDS, menu)
        self.copy_price.setEnabled(False)
        self.window = QAction("Show window", menu)
        self.mini_panel = QAction(MINI_PANEL_WORDS, menu)
        self.mini_panel.setCheckable(True)
        self.pause_menu = QMenu("Pause alerts", menu)
        self.pause_hour = QAction("For 1 hour", menu)
        self.pause_forever = QAction("Until I resume", menu)
        self.pause_menu.addAction(self.pause_hour)
        self.pause_menu.addAction(self.pause_forever)
        self.resume = QAction("Resume alerts", menu)
        self.resume.setVisible(False)
        self.settings = QAction("Settings…", menu)
        self.quit = QAction("Quit", menu)
        menu.addAction(self.waiting)
        menu.addAction(self.copy_price)
        menu.addSeparator()
        menu.addAction(self.window)
        menu.addAction(self.mini_panel)
        menu.addMenu(self.pause_menu)
        menu.addAction(self.resume)
        menu.addAction(self.settings)
        menu.addSeparator()
        menu.addAction(self.quit)
        self.state: TrayMenuState | None = None
        self._subs: tuple[Pair, ...] = ()
        self.rebuilds = 0
        """How many times the pair actions were made (for the tests: not per tick)."""

    @property
    def pinned(self) -> QAction | None:
        """The pinned pair's action, or None."""
        state = self.state
        return None if state is None or state.pinned is None else self.pair_actions.get(state.pinned)

    def apply(self, state: TrayMenuState) -> None:
        """Show ``state``; does nothing when it is what the menu already shows."""
        if state == self.state:
            return
        self.state = state
        subs = tuple(e.sub for e in state.pairs)
        if subs != self._subs:
            self._rebuild_pairs(subs)
        for entry in state.pairs:
            action = self.pair_actions[entry.sub]
            text = entry.text.replace("&", "&&")  # a label is not a mnemonic
            if action.text() != text:
                action.setText(text)
        self.check_pinned()
        pinned = state.pinned_entry
        if pinned is None or pinned.price is None:
            self.copy_price.setText(COPY_PRICE_WORDS)
            self.copy_price.setEnabled(False)
        else:
            self.copy_price.setText(copy_price_words(pinned.sub, plain_price(pinned.price)))
            self.copy_price.setEnabled(True)
        self.window.setText("Hide window" if state.window_visible else "Show window")
        self.mini_panel.setChecked(state.mini_panel_visible)
        paused = paused_words(state.paused_until)
        self.pause_menu.menuAction().setVisible(paused is None)
        self.resume.setVisible(paused is not None)
        if paused is not None:
            self.resume.setText(f"Resume alerts ({paused})")

    def pinned_price(self) -> float | None:
        """The price "Copy price" puts on the clipboard, or None when there is none."""
        entry = None if self.state is None else self.state.pinned_entry
        return None if entry is None else entry.price

    def check_pinned(self) -> None:
        # Also after a click that the controller refused: the check goes back to the real pin.
        pinned = self.pinned
        if pinned is not None:
            pinned.setChecked(True)
        else:
            checked = self.pair_group.checkedAction()
            if checked is not None:
                self.pair_group.setExclusive(False)  # an exclusive group never unchecks its last one
                checked.setChecked(False)
                self.pair_group.setExclusive(True)

    def _rebuild_pairs(self, subs: tuple[Pair, ...]) -> None:
        for action in self.pair_actions.values():
            self.pair_group.removeAction(action)
            self.menu.removeAction(action)
            action.deleteLater()
        self.pair_actions = {}
        for sub in subs:
            action = QAction(pair_label(sub), self.menu)
            action.setCheckable(True)
            action.setData(sub)
            self.pair_group.addAction(action)
            self.menu.insertAction(self.copy_price, action)
            self.pair_actions[sub] = action
        self.waiting.setVisible(not subs)
        self._subs = subs
        self.rebuilds += 1


def build_tray_menu(menu: QMenu) -> TrayMenu:
    """Fill ``menu`` with the tray's entries; returns the holder of its actions."""
    return TrayMenu(menu)


# --- the tray ------------------------------------------------------------------------------------


class QuoteSource(Protocol):
    """Where the tray reads prices: the GUI's one quote store (the price table's model)."""

    @property
    def freshness(self) -> Freshness: ...

    def quotes(self) -> Sequence[Quote]: ...

    def pinned_quote(self) -> Quote | None: ...


class Tray(QObject):
    """The tray icon, its tooltip and menu. Lives on the main thread; every method is a slot.

    Signals:
        toggle_window_requested(): left click on the icon, or "Show/Hide window".
        show_window_requested(): kept for callers that show the window from the tray.
        pin_requested(object): a pair (``Pair``) was chosen in the menu: pin it.
        mini_panel_toggled(bool): "Show mini panel" was checked or unchecked.
        settings_requested(): "Settings…".
        quit_requested(): "Quit".
        pause_requested(object): pause alerts for this many seconds (a float; ``math.inf``
            means until resumed).
        resume_requested(): "Resume alerts".
    """

    toggle_window_requested = Signal()
    show_window_requested = Signal()
    pin_requested = Signal(object)
    mini_panel_toggled = Signal(bool)
    settings_requested = Signal()
    quit_requested = Signal()
    pause_requested = Signal(object)
    resume_requested = Signal()

    def __init__(self, parent: QObject | None = None, *, icons: TrayIconCache | None = None) -> None:
        super().__init__(parent)
        self._icons = icons if icons is not None else TrayIconCache()
        self._menu = QMenu()
        self._actions = build_tray_menu(self._menu)
        self._icon = QSystemTrayIcon(self)
        self._icon.setContextMenu(self._menu)
        self._icon.activated.connect(self._on_icon_activated)
        a = self._actions
        a.pair_group.triggered.connect(self._on_pair_group_triggered)
        a.copy_price.triggered.connect(self._on_copy_price_triggered)
        a.window.triggered.connect(self._on_window_triggered)
        a.mini_panel.triggered.connect(self._on_mini_panel_triggered)
        a.pause_hour.triggered.connect(self._on_pause_hour_triggered)
        a.pause_forever.triggered.connect(self._on_pause_forever_triggered)
        a.resume.triggered.connect(self._on_resume_triggered)
        a.settings.triggered.connect(self._on_settings_triggered)
        a.quit.triggered.connect(self._on_quit_triggered)
        self._menu.aboutToShow.connect(self._on_menu_about_to_show)
        self._menu.aboutToHide.connect(self._on_menu_about_to_hide)

        self._source: QuoteSource | None = None
        self._portfolio: Callable[[float], Sequence[Total]] | None = None
        self._quotes: tuple[Quote, ...] = ()
        self._pinned: Quote | None = None
        self._now = 0.0
        self._freshness = Freshness()
        self._connections = Connections()
        self._demo = False
        self._key_problem: str | None = None
        self._paused_until: float | None = None
        self._window_visible = False
        self._mini_panel_visible = False
        self._menu_open = False
        self._look: TrayLook | None = None
        self._face: IconFace | None = None
        self._tooltip = ""
        self._price_in_icon = False
        self._scheme_override: Scheme | None = None
        self._scheme = self._platform_scheme()
        self._calm = CalmDirection()
        self._cycle_s = 0.0
        self._cycle_index = 0
        self._cycle_timer = QTimer(self)
        self._cycle_timer.timeout.connect(self._on_cycle_timer_timeout)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt >= 6.5
            hints.colorSchemeChanged.connect(self._on_style_hints_color_scheme_changed)
        self._refresh()

    # --- queries ---

    @staticmethod
    def available() -> bool:
        """True if the desktop has a system tray to show the icon in."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    def is_shown(self) -> bool:
        """True while the icon is in the tray."""
        return self._icon.isVisible()

    def look(self) -> TrayLook:
        """The icon look currently shown (or that would be, without a tray): ``tray_look`` of the
        shown pair, with a direction held for ``DIRECTION_HOLD_S`` before it turns again."""
        assert self._look is not None
        return self._look

    def face(self) -> IconFace:
        """Everything the icon currently shows: look, price text, pause sign, scheme."""
        assert self._face is not None
        return self._face

    def icon(self) -> QIcon:
        """The icon currently set."""
        return self._icon.icon()

    def tooltip(self) -> str:
        """The tooltip text currently set."""
        return self._tooltip

    def menu(self) -> TrayMenu:
        """The context menu's actions."""
        return self._actions

    def pinned_line(self) -> str | None:
        """The pinned pair's line as the menu shows it when opened, or None while it has no price."""
        pinned = self._pinned
        if pinned is None or pinned.price is None:
            return None
        return tray_menu_line(pinned, self._now, self._freshness)

    def scheme(self) -> Scheme:
        """The colour scheme the icon is drawn for."""
        return self._scheme

    # --- commands ---

    @Slot(result=bool)
    def show(self) -> bool:
        """Put the icon in the tray. Returns False, and shows nothing, when there is no tray."""
        if not self.available():
            log.info("no system tray available; running window-only")
            return False
        self._icon.show()
        return True

    @Slot()
    def hide(self) -> None:
        """Take the icon out of the tray (before quitting)."""
        if self._icon.isVisible():
            self._icon.hide()

    def set_portfolio_source(self, totals: Callable[[float], Sequence[Total]] | None) -> None:
        """Where the tooltip reads the portfolio's totals per quote currency at a monotonic time
        (None: no totals)."""
        self._portfolio = totals

    def follow(self, source: QuoteSource) -> None:
        """Read prices from ``source`` on every ``refresh``."""
        self._source = source

    def refresh(self, now: float) -> float | None:
        """Show the source's latest prices for monotonic ``now``; returns when one of them next
        turns stale (None: not before new data)."""
        source = self._source
        if source is None:
            return None
        freshness = source.freshness
        self._quotes = tuple(source.quotes())
        self._pinned = source.pinned_quote()
        self._now = now
        self._freshness = freshness
        self._refresh()
        upcoming = [at for at in (freshness.stale_at(q, now) for q in self._quotes) if at is not None]
        held = self._calm.pending_at()
        if held is not None:
            upcoming.append(held)
        return min(upcoming) if upcoming else None

    @Slot(object, object, float, object)
    def set_quotes(
        self, quotes: Sequence[Quote], pinned: Pair | None, now: float, freshness: Freshness
    ) -> None:
        """Show the latest prices.

        Args:
            quotes: Every pair's latest quote, in display order.
            pinned: The pair the icon and the menu's first entry follow; None follows the first.
            now: Monotonic now, for staleness.
            freshness: The one freshness rule: a price it does not call fresh is shown as stale.
        """
        self._quotes = tuple(quotes)
        if pinned is None:
            self._pinned = self._quotes[0] if self._quotes else None
        else:
            self._pinned = next((q for q in self._quotes if q.sub == pinned), None)
        self._now = now
        self._freshness = freshness
        self._refresh()

    def set_connections(self, connections: Connections, *, demo: bool = False) -> None:
        """Show every source's state (the tooltip lists them; the pinned pair's source's state, when
        disconnected, stale or refused, changes the icon). ``demo``: the prices are simulated."""
        self._connections = connections
        self._demo = demo
        self._refresh()

    @Slot(object)
    def set_key_problem(self, problem: bool | str | None) -> None:
        """Show a key problem (missing, rejected): its words, or True for a generic one.

        False, None or an empty string clear it once it is solved.
        """
        if problem is True:
            self._key_problem = KEY_PROBLEM_WORDS
        elif isinstance(problem, str) and problem.strip():
            self._key_problem = problem.strip()
        else:
            self._key_problem = None
        self._refresh()

    @Slot(object)
    def set_paused(self, until: float | None) -> None:
        """Show that alerts are paused until wall time ``until`` (``math.inf``: until resumed):
        a pause sign on the icon, "Resume alerts" in the menu."""
        self._paused_until = until
        self._refresh()

    @Slot(bool)
    def set_window_visible(self, visible: bool) -> None:
        """Offer "Hide window" while the window is shown, "Show window" otherwise."""
        self._window_visible = visible
        self._refresh()

    @Slot(bool)
    def set_mini_panel_visible(self, visible: bool) -> None:
        """Check "Show mini panel" while the mini panel is shown."""
        self._mini_panel_visible = visible
        self._refresh()

    @Slot(bool)
    def set_price_in_icon(self, on: bool) -> None:
        """Draw the pinned pair's price into the icon (True) or show the state shape alone."""
        self._price_in_icon = on
        self._update_cycle_timer()
        self._refresh()

    @Slot(float)
    def set_cycle(self, seconds: float) -> None:
        """With the price in the icon, show each pair in turn for ``seconds`` (0: the pinned one only)."""
        self._cycle_s = max(0.0, seconds)
        self._cycle_index = 0
        self._update_cycle_timer()
        self._refresh()

    def set_scheme(self, scheme: Scheme | None) -> None:
        """Draw for ``scheme`` whatever the platform says; None follows the platform again."""
        self._scheme_override = scheme
        self._scheme = self._platform_scheme()
        self._refresh()

    @Slot(str, str, result=bool)
    def show_message(self, title: str, body: str) -> bool:
        """Show a balloon from the tray icon. Returns False when there is no tray icon to show it."""
        if not self._icon.isVisible() or not QSystemTrayIcon.supportsMessages():
            return False
        self._icon.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, MESSAGE_TIMEOUT_MS)
        return True

    # --- internals ---

    def _platform_scheme(self) -> Scheme:
        if self._scheme_override is not None:
            return self._scheme_override
        hints = QGuiApplication.styleHints()
        color_scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
        return scheme_for(color_scheme, QGuiApplication.palette().window().color().lightness())

    def _update_cycle_timer(self) -> None:
        if self._price_in_icon and self._cycle_s > 0:
            interval = round(self._cycle_s * 1000)
            if not self._cycle_timer.isActive() or self._cycle_timer.interval() != interval:
                self._cycle_timer.start(interval)
        else:
            self._cycle_timer.stop()

    def _shown_quote(self) -> Quote | None:
        """The quote the icon shows: the pinned one, or the watchlist in turn while cycling."""
        if self._cycle_timer.isActive() and len(self._quotes) > 1:
            return self._quotes[self._cycle_index % len(self._quotes)]
        return self._pinned

    def _refresh(self) -> None:
        # Prices arrive up to ~10 times a second: touch the tray only when something shows differently
        # (a new icon or tooltip makes the host repaint, and over D-Bus it is a signal each time).
        shown = self._shown_quote()
        look = tray_look(
            shown,
            self._connections.for_pair(None if shown is None else shown.sub),
            self._now,
            self._freshness,
            key_problem=self._key_problem is not None,
        )
        look = self._calm.look(None if shown is None else shown.sub, look, self._now)
        self._look = look
        cycling = self._cycle_timer.isActive() and len(self._quotes) > 1
        face = IconFace(
            look,
            text=(
                compact_price(shown.price)
                if self._price_in_icon and shown is not None and shown.price is not None
                else None
            ),
            paused=self._paused_until is not None,
            scheme=self._scheme,
            label=shown.sub.base if cycling and shown is not None else None,
        )
        if face != self._face:
            self._face = face
            self._icon.setIcon(self._icons.icon(face))
        tooltip = tooltip_text(
            self._quotes,
            self._connections,
            self._now,
            self._freshness,
            paused_until=self._paused_until,
            key_problem=self._key_problem,
            demo=self._demo,
            portfolio=portfolio_lines(self._portfolio(self._now)) if self._portfolio is not None else (),
        )
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            self._icon.setToolTip(tooltip)
        self._apply_menu()

    def _apply_menu(self) -> None:
        # The pair lines are formatted only while the menu is open (it is refreshed as prices
        # tick) or when what it lists changes; a closed menu is brought up to date as it opens.
        subs = tuple(q.sub for q in self._quotes)
        pinned = None if self._pinned is None else self._pinned.sub
        state = self._actions.state
        if (
            not self._menu_open
            and state is not None
            and (
                subs == tuple(e.sub for e in state.pairs)
                and pinned == state.pinned
                and (state.window_visible, state.paused_until, state.mini_panel_visible)
                == (self._window_visible, self._paused_until, self._mini_panel_visible)
            )
        ):
            return
        self._actions.apply(
            TrayMenuState(
                pairs=tuple(
                    PairEntry(q.sub, tray_menu_line(q, self._now, self._freshness), q.price)
                    for q in self._quotes
                ),
                pinned=pinned,
                window_visible=self._window_visible,
                paused_until=self._paused_until,
                mini_panel_visible=self._mini_panel_visible,
            )
        )

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self._menu_open = True
        source = self._source
        if source is not None:  # the latest prices, not those of the last scheduled refresh
            self._quotes = tuple(source.quotes())
            self._pinned = source.pinned_quote()
        self._apply_menu()

    @Slot()
    def _on_menu_about_to_hide(self) -> None:
        self._menu_open = False

    @Slot()
    def _on_cycle_timer_timeout(self) -> None:
        self._cycle_index = (self._cycle_index + 1) % max(1, len(self._quotes))
        self._refresh()

    @Slot(Qt.ColorScheme)
    def _on_style_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        scheme = self._platform_scheme()
        if scheme is not self._scheme:
            log.info("the desktop's colour scheme is now %s; repainting the tray icon", scheme.value)
            self._scheme = scheme
            self._refresh()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window_requested.emit()

    @Slot(QAction)
    def _on_pair_group_triggered(self, action: QAction) -> None:
        sub = action.data()
        if isinstance(sub, Pair):
            self.pin_requested.emit(sub)
        # The check shows the pin in force: the chosen pair's once the controller has pinned it
        # (the next refresh), the old one's if it did not.
        self._actions.check_pinned()

    @Slot()
    def _on_copy_price_triggered(self) -> None:
        price = self._actions.pinned_price()
        if price is not None:
            QGuiApplication.clipboard().setText(plain_price(price))

    @Slot()
    def _on_window_triggered(self) -> None:
        self.toggle_window_requested.emit()

    @Slot(bool)
    def _on_mini_panel_triggered(self, checked: bool) -> None:
        self.mini_panel_toggled.emit(checked)

    @Slot()
    def _on_pause_hour_triggered(self) -> None:
        self.pause_requested.emit(PAUSE_HOUR_S)

    @Slot()
    def _on_pause_forever_triggered(self) -> None:
        self.pause_requested.emit(math.inf)

    @Slot()
    def _on_resume_triggered(self) -> None:
        self.resume_requested.emit()

    @Slot()
    def _on_settings_triggered(self) -> None:
        self.settings_requested.emit()

    @Slot()
    def _on_quit_triggered(self) -> None:
        self.quit_requested.emit()
