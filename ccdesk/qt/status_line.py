"""The window's status line: every source's state in words, the worst one's colour, the retry
countdowns, how old the newest price is, a Settings… button when a key is the problem; and the line
that says alerts are paused, with a Resume button."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State
from ccdesk.core.formatting import next_age_change
from ccdesk.core.pairs import Source
from ccdesk.wording import activity_text, connections_text, paused_line_text

LIVE_COLOR = "#1a9e55"
BUSY_COLOR = "#d08b00"
STALE_COLOR = "#8a8f98"
ERROR_COLOR = "#d0342c"
# The same meanings, lighter, for a dark window background.
_DARK = {LIVE_COLOR: "#4cd787", BUSY_COLOR: "#f0b43c", STALE_COLOR: "#9aa0aa", ERROR_COLOR: "#ff7a70"}

_STATE_COLORS = {
    State.CONNECTED: LIVE_COLOR,
    State.CONNECTING: BUSY_COLOR,
    State.RECONNECTING: BUSY_COLOR,
    State.STALE: STALE_COLOR,
    State.RATE_LIMITED: ERROR_COLOR,
    State.BLOCKED: ERROR_COLOR,
    State.AUTH_FAILED: ERROR_COLOR,
    State.STOPPED: STALE_COLOR,
}
_COUNTDOWN_STATES = frozenset({State.RECONNECTING, State.RATE_LIMITED, State.BLOCKED})


class StatusLine(QFrame):
    """Shows what it is given and refreshes its own time-dependent parts (``refresh``).

    Signals:
        settings_requested(): the user wants to fix the key.
        leave_demo_requested(): the user wants real prices instead of the demo's.
    """

    settings_requested = Signal()
    leave_demo_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.dot = QLabel("●")
        self.dot.setAccessibleName("Connection state colour")
        self.state = QLabel("Starting…")
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state.setAccessibleName("Connection state")
        self.state.setWordWrap(True)  # a narrow window wraps the state instead of widening itself
        self.activity = QLabel("")
        self.activity.setAccessibleName("Newest price")
        # A fixed width keeps the text changing ("4 s ago", "5 s ago") from relayouting the window.
        self.activity.setFixedWidth(
            self.activity.fontMetrics().horizontalAdvance("last price 59 min ago") + 8
        )
        self.activity.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.button = QPushButton("&Settings…")
        self.button.setAccessibleName("Open the settings to fix the API key")
        self.button.setVisible(False)
        self.button.clicked.connect(self.settings_requested)
        self.leave_demo_button = QPushButton("&Leave the demo")
        self.leave_demo_button.setAccessibleName("Leave the demo")
        self.leave_demo_button.setToolTip("Stop the simulated prices and stream real ones")
        self.leave_demo_button.setVisible(False)
        self.leave_demo_button.clicked.connect(self.leave_demo_requested)
        layout.addWidget(self.dot)
        layout.addWidget(self.state, 1)
        layout.addWidget(self.activity)
        layout.addWidget(self.leave_demo_button)
        layout.addWidget(self.button)
        self._connections = Connections()
        self._demo = False
        self._problem = False
        self._notices: dict[Source, str] = {}
        self._last_price_at: float | None = None
        self._stale_after_s = 60.0
        self._dark = False
        self._color = STALE_COLOR
        self._apply_colors()

    def set_demo(self, demo: bool) -> None:
        """Simulated prices: the line says so first, and offers to leave the demo."""
        self._demo = demo
        self.leave_demo_button.setVisible(demo)
        if not self._problem:
            self.state.setText(self._text(None))

    def show_connections(self, connections: Connections) -> None:
        """Every source's state (it replaces a problem shown before; a source's notice stays while
        the session that got it is up)."""
        self._connections = connections
        self._problem = False
        for source in list(self._notices):
            status = connections.statuses.get(source)
            if status is None or status.state is not State.CONNECTED:
                del self._notices[source]  # a new session starts afresh
        worst = connections.worst()
        offer = any(st.state is State.AUTH_FAILED or st.reason is Reason.NO_KEY for _, st in connections)
        color = STALE_COLOR if worst is None else _STATE_COLORS[worst.state]
        if worst is not None and worst.reason is Reason.NO_KEY and len(connections) > 1:
            color = BUSY_COLOR  # the others stream: a missing key for one is not all red
        self._show(self._text(None), color, offer)

    def show_notice(self, source: Source, text: str) -> None:
        """A source's notice, in words, after the states (``Live · The server refused some pairs...``)."""
        self._notices[source] = text
        if not self._problem:
            self.state.setText(self._text(None))

    def show_problem(self, text: str, *, offer_settings: bool) -> None:
        """A problem the user must solve (a keyring failure), until the next state."""
        self._problem = True
        self._show(text, ERROR_COLOR, offer_settings)

    def _text(self, now: float | None) -> str:
        text = connections_text(self._connections, now, demo=self._demo)
        for notice in self._notices.values():
            text += f" · {notice}"
        return text

    def set_last_price(self, at: float | None, stale_after_s: float) -> None:
        """The monotonic time the newest price arrived (any pair), and the threshold past which the
        table shows prices as stale (the line then stops saying "updated")."""
        self._last_price_at = at
        self._stale_after_s = stale_after_s

    def connected(self) -> bool:
        """True while at least one source's connection is up."""
        return any(st.state is State.CONNECTED for _, st in self._connections)

    def set_dark(self, dark: bool) -> None:
        """Use the colours that read on a dark background (or a light one)."""
        if dark != self._dark:
            self._dark = dark
            self._apply_colors()

    def _apply_colors(self) -> None:
        def tone(color: str) -> str:
            return _DARK.get(color, color) if self._dark else color

        self.dot.setStyleSheet(f"color: {tone(self._color)}")
        self.activity.setStyleSheet(f"color: {tone(STALE_COLOR)}")

    def refresh(self, now: float) -> float | None:
        """Update the countdown and the newest price's age for monotonic ``now``; returns when they
        next change (None: not until something new arrives)."""
        wake: float | None = None
        last = self._last_price_at
        age = None if last is None else max(0.0, now - last)
        text = activity_text(age, connected=self.connected(), stale_after_s=self._stale_after_s)
        if self.activity.text() != text:
            self.activity.setText(text)
        if last is not None and age is not None:
            wake = last + next_age_change(age)
            if age <= self._stale_after_s:
                wake = min(wake, last + self._stale_after_s + 1e-3)
        counting = any(
            st.retry_at is not None and st.state in _COUNTDOWN_STATES for _, st in self._connections
        )
        if not self._problem and counting:
            text = self._text(now)
            if self.state.text() != text:
                self.state.setText(text)
            wake = now + 1.0 if wake is None else min(wake, now + 1.0)
        return wake

    def _show(self, text: str, color: str, offer_settings: bool) -> None:
        self._color = color
        self._apply_colors()
        self.state.setText(text)
        self.button.setVisible(offer_settings)


class PausedLine(QFrame):
    """``Alerts paused until 14:30`` with a Resume button, shown only while alerts are paused.

    Signals:
        resume_requested(): the user wants alerts again.
    """

    resume_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("pausedLine")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        self.icon = QLabel("●")  # the status line's mark, in its "busy" amber: not an emoji, which
        self.icon.setStyleSheet(f"color: {BUSY_COLOR}")  # many Linux desktops draw as a box
        self.icon.setAccessibleName("Alerts paused")
        self.label = QLabel()
        self.label.setAccessibleName("Alert pause")
        self.resume_button = QPushButton("&Resume alerts")
        self.resume_button.setAccessibleName("Resume alerts")
        self.resume_button.setAccessibleDescription("Show alerts again from now on")
        self.resume_button.clicked.connect(self.resume_requested)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.resume_button)
        self._until: float | None = None
        self.hide()

    def set_paused(self, until: float | None) -> None:
        """Alerts are paused until wall time ``until`` (``math.inf``: until resumed); None: not paused."""
        self._until = until
        if until is None or (math.isfinite(until) and until < 0):
            self.hide()
            return
        self.label.setText(paused_line_text(until))
        self.show()

    def paused_until(self) -> float | None:
        return self._until
