"""The Settings dialog's API keys tab: one box per provider (CryptoCompare, CoinDesk Data) with the
key in use, a new key, its check, and Remove; the keyless sources need none of it."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.api_key import MAX_KEY_LENGTH, ApiKey, InvalidApiKey, KeyProvider
from ccdesk.qt.settings_dialog.widgets import message_label, show_message, stacked
from ccdesk.wording import KEYS_STORED_TEXT, key_help_html, refused_key_confirm_text

logger = logging.getLogger(__name__)


class KeyBox(QGroupBox):
    """One provider's key. The typed key leaves it only as an :class:`ApiKey`.

    Attributes:
        provider: Whose key the box holds.
        removal_pending: The user pressed Remove: the stored key goes when the dialog's OK is pressed.

    Signals:
        verify_requested(ApiKey): The user asked to check the typed key; the result comes back
            through :meth:`show_verify_result`.
    """

    verify_requested = Signal(object)

    def __init__(
        self, provider: KeyProvider, key_status: str, removable: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"{provider.title} key", parent)
        self.provider = provider
        self.removal_pending = False
        self._status = key_status
        self._refused_text: str | None = None  # the typed text's last check failed
        self._confirming = False
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self.key_status_label = QLabel(key_status)
        self.key_status_label.setWordWrap(True)
        self.remove_button = QPushButton("&Remove" if provider is KeyProvider.CRYPTOCOMPARE else "Re&move")
        self.remove_button.setAutoDefault(False)
        self.remove_button.setAccessibleName(f"Remove the stored {provider.title} key")
        self.remove_button.setVisible(removable)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        status_row = QHBoxLayout()
        status_row.addWidget(self.key_status_label, 1)
        status_row.addWidget(self.remove_button)
        form.addRow("In use:", status_row)

        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setMaxLength(MAX_KEY_LENGTH + 64)  # room for pasted whitespace, stripped later
        self.key_edit.setPlaceholderText(f"Paste a {provider.title} key")
        self.key_edit.setAccessibleName(f"New {provider.title} API key")
        self.key_edit.textChanged.connect(self._on_key_edit_text_changed)
        self.show_key_button = QToolButton()
        self.show_key_button.setText("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAccessibleName(f"Show the typed {provider.title} key")
        self.show_key_button.toggled.connect(self._on_show_key_button_toggled)
        self.verify_button = QPushButton("&Verify" if provider is KeyProvider.CRYPTOCOMPARE else "V&erify")
        self.verify_button.setEnabled(False)
        self.verify_button.setAutoDefault(False)
        self.verify_button.clicked.connect(self._on_verify_button_clicked)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key_button)
        key_row.addWidget(self.verify_button)
        key_label = QLabel("&New key:" if provider is KeyProvider.CRYPTOCOMPARE else "New &key:")
        key_label.setBuddy(self.key_edit)
        self.key_error_label = message_label()
        self.verify_result_label = message_label()
        form.addRow(key_label, stacked(key_row, self.key_error_label, self.verify_result_label))

        help_label = QLabel(key_help_html(provider))
        help_label.setWordWrap(True)
        help_label.setOpenExternalLinks(True)
        help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        form.addRow(help_label)
        QWidget.setTabOrder(self.key_edit, self.show_key_button)
        QWidget.setTabOrder(self.show_key_button, self.verify_button)

    def set_key_status(self, text: str, removable: bool) -> None:
        """Replace the line on the key in use; offer Remove only for a key in the keyring."""
        self._status = text
        self.removal_pending = self.removal_pending and removable
        self.remove_button.setVisible(removable)
        self._show_status()

    def show_verify_result(self, text: str, ok: bool) -> None:
        """Show a key check's outcome (``wording.describe_key_check``): green if ``ok``, red if not."""
        self.verify_button.setEnabled(bool(self.key_edit.text().strip()))
        self._refused_text = None if ok else self.key_edit.text()
        self._confirming = False
        show_message(self.verify_result_label, text, ok)

    def typed_key(self) -> ApiKey | None:
        """The typed key; shows the problem under the field if it is not a valid key.

        Returns:
            The key, or None if the field is blank.

        Raises:
            InvalidApiKey: The typed text is not a valid key (the message is shown, without the text).
        """
        text = self.key_edit.text()
        if not text.strip():
            return None
        try:
            key = ApiKey(text)
        except InvalidApiKey as exc:  # the message never contains the text
            message = str(exc)
            show_message(self.key_error_label, message[:1].upper() + message[1:] + ".")
            raise
        show_message(self.key_error_label, "")
        return key

    def needs_confirmation(self) -> bool:
        """True once, if the typed key failed its check: the first OK says so, a second one stores it."""
        if self._refused_text is None or self._refused_text != self.key_edit.text() or self._confirming:
            return False
        self._confirming = True
        show_message(self.key_error_label, refused_key_confirm_text(self.provider))
        return True

    def _show_status(self) -> None:
        if self.removal_pending:
            self.key_status_label.setText("Removed from the keyring when you press OK.")
            self.remove_button.setText("&Keep" if self.provider is KeyProvider.CRYPTOCOMPARE else "Kee&p")
        else:
            self.key_status_label.setText(self._status)
            self.remove_button.setText("&Remove" if self.provider is KeyProvider.CRYPTOCOMPARE else "Re&move")

    def _on_remove_button_clicked(self) -> None:
        self.removal_pending = not self.removal_pending
        self._show_status()

    def _on_key_edit_text_changed(self, text: str) -> None:
        self.verify_button.setEnabled(bool(text.strip()))
        self._confirming = False
        show_message(self.key_error_label, "")
        show_message(self.verify_result_label, "")

    def _on_show_key_button_toggled(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key_button.setText("Hide" if shown else "Show")

    def _on_verify_button_clicked(self) -> None:
        try:
            key = self.typed_key()
        except InvalidApiKey:
            return
        if key is None:
            return
        self.verify_button.setEnabled(False)
        show_message(self.verify_result_label, f"Checking the key with {self.provider.title}\u2026", None)
        logger.debug("key check requested for %s (%s)", key, self.provider.value)  # masked by ApiKey
        self.verify_requested.emit(key)


class KeyTab(QWidget):
    """The API keys tab: a :class:`KeyBox` per provider, CryptoCompare first.

    Signals:
        verify_requested(KeyProvider, ApiKey): The user asked to check a typed key.
    """

    verify_requested = Signal(object, object)

    def __init__(
        self, key_status: Mapping[KeyProvider, tuple[str, bool]], parent: QWidget | None = None
    ) -> None:
        """Build the tab.

        Args:
            key_status: Per provider, one line on the key in use (``wording.key_note``) and whether
                it sits in the keyring (so Remove is offered).
            parent: The parent widget.
        """
        super().__init__(parent)
        column = QVBoxLayout(self)
        self.boxes: dict[KeyProvider, KeyBox] = {}
        for provider in KeyProvider:
            text, removable = key_status.get(provider, ("", False))
            box = KeyBox(provider, text, removable)
            box.verify_requested.connect(lambda key, p=provider: self.verify_requested.emit(p, key))
            column.addWidget(box)
            self.boxes[provider] = box
        self.cryptocompare = self.boxes[KeyProvider.CRYPTOCOMPARE]
        self.coindesk = self.boxes[KeyProvider.COINDESK]
        footer = QLabel(KEYS_STORED_TEXT)
        footer.setWordWrap(True)
        column.addWidget(footer)
        column.addStretch(1)
