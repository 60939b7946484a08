"""The window's status line: every source's state in words, the worst one's colour, the retry
countdowns, how long ago a socket last delivered something, and a Settings… button when a key is
the problem."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State
from ccdesk.core.formatting import next_age_change
from ccdesk.core.pairs import Source
from ccdesk.wording import ACTIVITY_RECENT_S, activity_text, connections_text

LIVE_COLOR = "#1a9e55"
BUSY_COLOR = "#d08b00"
STALE_COLOR = "#8a8f98"
ERROR_COLOR = "#d0342c"

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
        self.state = QLabel("Starting…")
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.activity = QLabel("")
        self.activity.setStyleSheet(f"color: {STALE_COLOR}")
        # A fixed width keeps the text changing from relayouting the whole window.
        self.activity.setFixedWidth(
            self.activity.fontMetrics().horizontalAdvance("last message under a minute ago") + 8
        )
        self.activity.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.button = QPushButton("Settings…")
        self.button.setVisible(False)
        self.button.clicked.connect(self.settings_requested)
        self.leave_demo_button = QPushButton("Leave the demo")
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
        self._last_data_at: float | None = None

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

    def set_last_data(self, at: float | None) -> None:
        """The monotonic time the socket last delivered something."""
        self._last_data_at = at

    def refresh(self, now: float) -> float | None:
        """Update the countdown and the activity text for monotonic ``now``; returns when they
        next change (None: not until something new arrives)."""
        wake: float | None = None
        last = self._last_data_at
        age = None if last is None else max(0.0, now - last)
        text = activity_text(age)
        if self.activity.text() != text:
            self.activity.setText(text)
        if last is not None and age is not None:
            wake = last + ACTIVITY_RECENT_S if age < ACTIVITY_RECENT_S else last + next_age_change(age)
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
        self.dot.setStyleSheet(f"color: {color}")
        self.state.setText(text)
        self.button.setVisible(offer_settings)
