"""First run without a key: offer the demo or entering a key, with a link to where keys are made."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ccdesk.core.identity import KEYS_URL


class WelcomeDialog(QDialog):
    """Signals:
    demo_chosen(): run on the built-in simulator (no key, no network).
    key_chosen(): open the settings to enter a key.
    """

    demo_chosen = Signal()
    key_chosen = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to ccdesk")
        title = QLabel("<h3>Welcome to ccdesk</h3>")
        text = QLabel(
            "ccdesk streams live crypto prices from CryptoCompare into this window and your system "
            "tray, and tells you when a coin moves.<br><br>"
            "It needs a CryptoCompare API key. You can "
            f'<a href="{KEYS_URL}">create one on cryptocompare.com</a>, or look around first with '
            "the demo: simulated prices, no key and no network needed."
        )
        text.setWordWrap(True)
        text.setOpenExternalLinks(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox()
        self.demo_button = QPushButton("Try the demo")
        self.key_button = QPushButton("Enter an API key…")
        self.key_button.setDefault(True)
        buttons.addButton(self.demo_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.key_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.demo_button.clicked.connect(self._on_demo_clicked)
        self.key_button.clicked.connect(self._on_key_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addSpacing(8)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
        self.key_button.setFocus()

    def _on_demo_clicked(self) -> None:
        self.accept()
        self.demo_chosen.emit()

    def _on_key_clicked(self) -> None:
        self.accept()
        self.key_chosen.emit()
