"""The welcome: on a fresh install it says where the live prices come from (a keyless venue, no
sign-up) and offers the alternatives; when the watchlist needs a key that is not there, it offers
the same choices. The window's empty state (``EmptyState``) offers them too, for whoever closed this."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.wording import (
    DEMO_BUTTON_TEXT,
    KEY_BUTTON_TEXT,
    KEYLESS_BUTTON_TEXT,
    WELCOME_FIRST_RUN_TEXT,
    welcome_key_needed_text,
)


class WelcomeDialog(QDialog):
    """Signals:
    keyless_chosen(): watch keyless sources instead of the pairs that need a key.
    key_chosen(): open the settings to enter a CoinDesk Data or CryptoCompare key.
    demo_chosen(): run on the built-in simulator (no key, no network).

    Args:
        needs_key: The sources the watchlist needs a key for; empty on a fresh install, whose
            prices are already live (its default button keeps them).
    """

    keyless_chosen = Signal()
    key_chosen = Signal()
    demo_chosen = Signal()

    def __init__(self, parent: QWidget | None = None, needs_key: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to ccdesk")
        title = QLabel("<h3>Welcome to ccdesk</h3>")
        self.text = QLabel(welcome_key_needed_text(needs_key) if needs_key else WELCOME_FIRST_RUN_TEXT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox()
        self.keyless_button = QPushButton(KEYLESS_BUTTON_TEXT if needs_key else "&Keep the live prices")
        self.key_button = QPushButton(KEY_BUTTON_TEXT)
        self.demo_button = QPushButton(DEMO_BUTTON_TEXT)
        for button in (self.keyless_button, self.key_button, self.demo_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.keyless_button.setDefault(True)
        self._needs_key = bool(needs_key)
        self.keyless_button.clicked.connect(self._on_keyless_clicked)
        self.key_button.clicked.connect(self._on_key_clicked)
        self.demo_button.clicked.connect(self._on_demo_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.text)
        layout.addSpacing(8)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
        self.keyless_button.setFocus()

    def _on_keyless_clicked(self) -> None:
        self.accept()
        if self._needs_key:
            self.keyless_chosen.emit()

    def _on_key_clicked(self) -> None:
        self.accept()
        self.key_chosen.emit()

    def _on_demo_clicked(self) -> None:
        self.accept()
        self.demo_chosen.emit()


class EmptyState(QWidget):
    """What the price table shows when there is nothing to show (no pairs, or none that can stream
    without a key): why, and the welcome's three choices.

    Signals:
        keyless_requested(), key_requested(), demo_requested(): as the welcome's buttons.
    """

    keyless_requested = Signal()
    key_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.keyless_button = QPushButton(KEYLESS_BUTTON_TEXT)
        self.key_button = QPushButton(KEY_BUTTON_TEXT)
        self.demo_button = QPushButton(DEMO_BUTTON_TEXT)
        self.keyless_button.clicked.connect(self.keyless_requested)
        self.key_button.clicked.connect(self.key_requested)
        self.demo_button.clicked.connect(self.demo_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        for button in (self.keyless_button, self.key_button, self.demo_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.text)
        layout.addSpacing(10)
        layout.addLayout(row)
        layout.addStretch(2)

    def set_text(self, text: str) -> None:
        self.text.setText(text)
