"""The window's banner: dismissible messages across the top (alerts when there is no notifier and
no tray, and one-time notices such as a settings file that could not be read)."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton


class Banner(QFrame):
    """Dismissible messages across the top of the window (alerts when there is no notifier and
    no tray, and one-time notices). Messages stack, newest last, until dismissed: a second
    notice never hides the first. At most ``MAX_MESSAGES`` are kept."""

    MAX_MESSAGES = 4

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.set_dark(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Message")
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss the messages")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._messages: list[str] = []
        self.hide()

    def set_dark(self, dark: bool) -> None:
        """A dark amber strip with light text on a dark window; the light yellow one otherwise."""
        if dark:
            self.setStyleSheet(
                "#banner { background: #3d3416; border-bottom: 1px solid #6b5a22; }"
                " QLabel { color: #f5e6b8; }"
            )
        else:
            self.setStyleSheet(
                "#banner { background: #fff4d6; border-bottom: 1px solid #e5c86b; }"
                " QLabel { color: #3d3000; }"
            )

    def show_text(self, text: str) -> None:
        """Add a message (one already shown is not repeated)."""
        if text in self._messages:
            self._messages.remove(text)
        self._messages.append(text)
        del self._messages[: -self.MAX_MESSAGES]
        self.label.setText("<br>".join(self._messages) if len(self._messages) > 1 else self._messages[0])
        self.show()

    def messages(self) -> list[str]:
        """The messages shown, oldest first."""
        return list(self._messages)

    @Slot()
    def dismiss(self) -> None:
        self._messages.clear()
        self.hide()
