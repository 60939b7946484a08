"""The window's status line: the connection state in words and colour, the retry countdown, how long
ago the socket last delivered something, and a Settings… button when the key is the problem."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from ccdesk.core.events import State, Status
from ccdesk.core.formatting import next_age_change
from ccdesk.wording import ACTIVITY_RECENT_S, activity_text, status_line_text

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
    """

    settings_requested = Signal()

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
        layout.addWidget(self.dot)
        layout.addWidget(self.state, 1)
        layout.addWidget(self.activity)
        layout.addWidget(self.button)
        self._status: Status | None = None
        self._problem = False
        self._notice: str | None = None
        self._last_data_at: float | None = None

    def show_status(self, status: Status) -> None:
        """The connection's state (it replaces a problem shown before; a notice stays while the
        session that got it is up)."""
        self._status = status
        self._problem = False
        if status.state is not State.CONNECTED:
            self._notice = None  # a new session starts afresh
        self._show(status_line_text(status), _STATE_COLORS[status.state], status.state is State.AUTH_FAILED)

    def show_notice(self, text: str) -> None:
        """A server notice, in words, after the state (``Live · The server refused some pairs...``)."""
        self._notice = text
        status = self._status
        if status is not None and not self._problem:
            self.show_status_text(status_line_text(status))

    def show_status_text(self, text: str) -> None:
        self.state.setText(text if self._notice is None else f"{text} · {self._notice}")

    def show_problem(self, text: str, *, offer_settings: bool) -> None:
        """A problem the user must solve (no key, a keyring failure), until the next state."""
        self._problem = True
        self._show(text, ERROR_COLOR, offer_settings)

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
        status = self._status
        if (
            not self._problem
            and status is not None
            and status.retry_at is not None
            and status.state in _COUNTDOWN_STATES
        ):
            text = status_line_text(status, max(0.0, status.retry_at - now))
            if self.state.text() != text:
                self.show_status_text(text)
            wake = now + 1.0 if wake is None else min(wake, now + 1.0)
        return wake

    def _show(self, text: str, color: str, offer_settings: bool) -> None:
        self.dot.setStyleSheet(f"color: {color}")
        self.show_status_text(text)
        self.button.setVisible(offer_settings)
