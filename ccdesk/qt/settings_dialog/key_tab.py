"""The Settings dialog's API key tab: the stored key's status, a new key, and the key check's result."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QWidget

from ccdesk.core.api_key import MAX_KEY_LENGTH, ApiKey, InvalidApiKey
from ccdesk.core.identity import KEYS_URL
from ccdesk.qt.settings_dialog.widgets import message_label, show_message, stacked

logger = logging.getLogger(__name__)


class KeyTab(QWidget):
    """The API key tab. The typed key leaves it only as an :class:`~ccdesk.core.secrets.ApiKey`.

    Signals:
        verify_requested(ApiKey): The user asked to check the typed key; the result comes back
            through :meth:`show_verify_result`.
    """

    verify_requested = Signal(object)

    def __init__(self, key_status: str, parent: QWidget | None = None) -> None:
        """Build the tab.

        Args:
            key_status: One line on the stored key, e.g. "A key is stored in the keyring (ab…yz)".
            parent: The parent widget.
        """
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self.key_status_label = QLabel(key_status)
        self.key_status_label.setWordWrap(True)
        form.addRow("Stored key:", self.key_status_label)

        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setMaxLength(MAX_KEY_LENGTH + 64)  # room for pasted whitespace, stripped later
        self.key_edit.setPlaceholderText("Paste a key to replace the stored one")
        self.key_edit.setAccessibleName("New API key")
        self.key_edit.textChanged.connect(self._on_key_edit_text_changed)
        self.show_key_button = QToolButton()
        self.show_key_button.setText("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAccessibleName("Show the typed key")
        self.show_key_button.toggled.connect(self._on_show_key_button_toggled)
        self.verify_button = QPushButton("&Verify")
        self.verify_button.setEnabled(False)
        self.verify_button.setAutoDefault(False)
        self.verify_button.clicked.connect(self._on_verify_button_clicked)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key_button)
        key_row.addWidget(self.verify_button)
        key_label = QLabel("&New key:")
        key_label.setBuddy(self.key_edit)
        self.key_error_label = message_label()
        self.verify_result_label = message_label()
        form.addRow(key_label, stacked(key_row, self.key_error_label, self.verify_result_label))

        help_label = QLabel(
            f'Create a free key at <a href="{KEYS_URL}">cryptocompare.com</a> '
            "(Account \u2192 API keys). The key is stored only in your system keyring, "
            "never in a file. Demo mode needs no key."
        )
        help_label.setWordWrap(True)
        help_label.setOpenExternalLinks(True)
        help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        form.addRow(help_label)
        QWidget.setTabOrder(self.key_edit, self.show_key_button)
        QWidget.setTabOrder(self.show_key_button, self.verify_button)

    def set_key_status(self, text: str) -> None:
        """Replace the one-line status of the stored key."""
        self.key_status_label.setText(text)

    def show_verify_result(self, text: str, ok: bool) -> None:
        """Show a key check's outcome (``wording.describe_key_check``): green if ``ok``, red if not."""
        self.verify_button.setEnabled(bool(self.key_edit.text().strip()))
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

    def _on_key_edit_text_changed(self, text: str) -> None:
        self.verify_button.setEnabled(bool(text.strip()))
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
        show_message(self.verify_result_label, "Checking the key with CryptoCompare\u2026", None)
        logger.debug("key check requested for %s", key)  # masked by ApiKey
        self.verify_requested.emit(key)
