"""The system tray entry: icon look, tooltip, context menu, balloon messages. Main thread only.

The tray is optional. Without a tray host (some desktops, Qt's offscreen platform) ``available()``
is False, nothing is shown, and every method still works, so the app runs window-only. Some hosts
(GNOME with AppIndicator, most StatusNotifierItem hosts) never send a left click and show only
the menu, so everything a click does is in the menu as well.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ccdesk.core.connections import Connections
from ccdesk.core.events import State, Status
from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.tray_icon import TrayIconCache, TrayLook
from ccdesk.wording import KEY_PROBLEM_WORDS, paused_words, quote_line, tooltip_text

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
    """The icon look: key problems first, then the connection, then the pinned pair's last change.

    Args:
        quote: The pinned pair's quote, or None if it has none yet.
        status: The last connection status, or None before the stream started.
        now: Monotonic now, for staleness.
        freshness: The one freshness rule (connection, session, threshold).
        key_problem: True when the app knows the key is missing or unusable.
    """
    if key_problem or (status is not None and status.state is State.AUTH_FAILED):
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
    if quote.direction is PriceDirection.UP:
        return TrayLook.UP
    if quote.direction is PriceDirection.DOWN:
        return TrayLook.DOWN
    return TrayLook.FLAT


@dataclass(frozen=True, slots=True)
class TrayMenuState:
    """What the context menu shows.

    Attributes:
        pinned_text: The pinned pair's line, or None when there is no price to show yet.
        window_visible: The window is shown (the menu offers "Hide window").
        paused_until: Alerts are paused until this wall time (``math.inf``: until resumed),
            or None when they are not paused.
    """

    pinned_text: str | None = None
    window_visible: bool = False
    paused_until: float | None = None


class TrayMenu:
    """The context menu's actions, built into a given QMenu; ``apply`` updates their texts.

    Kept apart from the tray icon so that it can be built and tested without a tray host.
    """

    def __init__(self, menu: QMenu) -> None:
        self.menu = menu
        self.pinned = QAction("Waiting for prices…", menu)
        self.pinned.setEnabled(False)
        self.window = QAction("Show window", menu)
        self.pause_menu = QMenu("Pause alerts", menu)
        self.pause_hour = QAction("For 1 hour", menu)
        self.pause_forever = QAction("Until I resume", menu)
        self.pause_menu.addAction(self.pause_hour)
        self.pause_menu.addAction(self.pause_forever)
        self.resume = QAction("Resume alerts", menu)
        self.resume.setVisible(False)
        self.settings = QAction("Settings…", menu)
        self.quit = QAction("Quit", menu)
        menu.addAction(self.pinned)
        menu.addSeparator()
        menu.addAction(self.window)
        menu.addMenu(self.pause_menu)
        menu.addAction(self.resume)
        menu.addAction(self.settings)
        menu.addSeparator()
        menu.addAction(self.quit)
        self._state: TrayMenuState | None = None

    def apply(self, state: TrayMenuState) -> None:
        """Show ``state``; does nothing when it is what the menu already shows."""
        if state == self._state:
            return
        self._state = state
        if state.pinned_text is None:
            self.pinned.setText("Waiting for prices…")
            self.pinned.setEnabled(False)
        else:
            self.pinned.setText(state.pinned_text)
            self.pinned.setEnabled(True)
        self.window.setText("Hide window" if state.window_visible else "Show window")
        paused = paused_words(state.paused_until)
        self.pause_menu.menuAction().setVisible(paused is None)
        self.resume.setVisible(paused is not None)
        if paused is not None:
            self.resume.setText(f"Resume alerts ({paused})")


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
        toggle_window_requested(): left click on the icon.
        show_window_requested(): the pinned price in the menu was chosen.
        settings_requested(): "Settings…".
        quit_requested(): "Quit".
        pause_requested(object): pause alerts for this many seconds (a float; ``math.inf``
            means until resumed).
        resume_requested(): "Resume alerts".
    """

    toggle_window_requested = Signal()
    show_window_requested = Signal()
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
        a.pinned.triggered.connect(self._on_pinned_triggered)
        a.window.triggered.connect(self._on_window_triggered)
        a.pause_hour.triggered.connect(self._on_pause_hour_triggered)
        a.pause_forever.triggered.connect(self._on_pause_forever_triggered)
        a.resume.triggered.connect(self._on_resume_triggered)
        a.settings.triggered.connect(self._on_settings_triggered)
        a.quit.triggered.connect(self._on_quit_triggered)

        self._source: QuoteSource | None = None
        self._quotes: tuple[Quote, ...] = ()
        self._pinned: Quote | None = None
        self._now = 0.0
        self._freshness = Freshness()
        self._connections = Connections()
        self._demo = False
        self._key_problem: str | None = None
        self._paused_until: float | None = None
        self._window_visible = False
        self._look: TrayLook | None = None
        self._tooltip = ""
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
        """The icon look currently shown (or that would be, without a tray)."""
        assert self._look is not None
        return self._look

    def tooltip(self) -> str:
        """The tooltip text currently set."""
        return self._tooltip

    def menu(self) -> TrayMenu:
        """The context menu's actions."""
        return self._actions

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
        """Show that alerts are paused until wall time ``until`` (``math.inf``: until resumed)."""
        self._paused_until = until
        self._refresh()

    @Slot(bool)
    def set_window_visible(self, visible: bool) -> None:
        """Offer "Hide window" while the window is shown, "Show window" otherwise."""
        self._window_visible = visible
        self._refresh()

    @Slot(str, str, result=bool)
    def show_message(self, title: str, body: str) -> bool:
        """Show a balloon from the tray icon. Returns False when there is no tray icon to show it."""
        if not self._icon.isVisible() or not QSystemTrayIcon.supportsMessages():
            return False
        self._icon.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, MESSAGE_TIMEOUT_MS)
        return True

    # --- internals ---

    def _refresh(self) -> None:
        # Prices arrive up to ~10 times a second: touch the tray only when something shows differently
        # (a new icon or tooltip makes the host repaint, and over D-Bus it is a signal each time).
        pinned = self._pinned
        look = tray_look(
            pinned,
            self._connections.for_pair(None if pinned is None else pinned.sub),
            self._now,
            self._freshness,
            key_problem=self._key_problem is not None,
        )
        if look is not self._look:
            self._look = look
            self._icon.setIcon(self._icons.icon(look))
        tooltip = tooltip_text(
            self._quotes,
            self._connections,
            self._now,
            self._freshness,
            paused_until=self._paused_until,
            key_problem=self._key_problem,
            demo=self._demo,
        )
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            self._icon.setToolTip(tooltip)
        self._actions.apply(
            TrayMenuState(
                pinned_text=None
                if pinned is None or pinned.price is None
                else quote_line(pinned, self._now, self._freshness),
                window_visible=self._window_visible,
                paused_until=self._paused_until,
            )
        )

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window_requested.emit()

    @Slot()
    def _on_pinned_triggered(self) -> None:
        self.show_window_requested.emit()

    @Slot()
    def _on_window_triggered(self) -> None:
        self.toggle_window_requested.emit()

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
