"""One settings dialog at a time, over the window: opened on request, raised if already open, and
connected to the key session while it lives (the key's status, Verify, a key entered)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from ccdesk.core.api_key import ApiKey, KeyState
from ccdesk.core.key_check import KeyCheck
from ccdesk.core.pairs import Pair
from ccdesk.core.settings import Settings
from ccdesk.qt.key_session import KeySession
from ccdesk.qt.settings_dialog.dialog import SettingsDialog
from ccdesk.wording import describe_key_check, key_note


class SettingsDialogHost(QObject):
    """Opens the settings dialog and routes it to the key session.

    Signals:
        settings_accepted(Settings): the user pressed OK with these settings.
    """

    settings_accepted = Signal(object)

    def __init__(
        self,
        parent: QWidget,
        keys: KeySession,
        verify_url: Callable[[], str | None],
    ) -> None:
        """Args:
        parent: The window the dialog belongs to.
        keys: The key session (its state is shown; Verify and a new key go to it).
        verify_url: The REST base URL a key is checked against (None: the default).
        """
        super().__init__(parent)
        self._parent = parent
        self._keys = keys
        self._verify_url = verify_url
        self._dialog: SettingsDialog | None = None
        keys.changed.connect(self._on_keys_changed)
        keys.verified.connect(self._on_keys_verified)

    @property
    def dialog(self) -> SettingsDialog | None:
        """The open dialog, or None."""
        return self._dialog

    def open(self, settings: Settings, notes: Mapping[Pair, str] | None = None) -> None:
        """Show the dialog for ``settings`` (``notes``: what the sources said about some pairs), or
        bring the open one forward."""
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return
        dialog = SettingsDialog(settings, key_note(self._keys.state), self._parent, notes)
        dialog.verify_requested.connect(self._on_dialog_verify_requested)
        dialog.key_entered.connect(self._keys.enter)
        dialog.settings_accepted.connect(self.settings_accepted)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()

    @Slot(object)
    def _on_dialog_verify_requested(self, key: ApiKey) -> None:
        self._keys.verify(key, self._verify_url())

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    @Slot(object)
    def _on_keys_changed(self, state: KeyState) -> None:
        dialog = self._dialog
        if dialog is not None:
            dialog.set_key_status(key_note(state))

    @Slot(object)
    def _on_keys_verified(self, result: KeyCheck | Exception) -> None:
        dialog = self._dialog
        if dialog is not None:
            dialog.show_verify_result(*describe_key_check(result))
