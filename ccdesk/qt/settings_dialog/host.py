"""One settings dialog at a time, over the window: opened on request, raised if already open, and
connected to the key sessions while it lives (each key's status, Verify, a key entered or removed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from ccdesk.core.api_key import ApiKey, KeyProvider, KeyState
from ccdesk.core.key_check import KeyCheck
from ccdesk.core.pairs import Pair
from ccdesk.core.settings import Settings
from ccdesk.qt.key_session import ApiKeys
from ccdesk.qt.settings_dialog.dialog import SettingsDialog
from ccdesk.qt.settings_dialog.rule_editor import PriceLookup
from ccdesk.wording import describe_key_check, key_note, key_removable, key_remove_failed_text


class SettingsDialogHost(QObject):
    """Opens the settings dialog and routes it to the key sessions.

    Signals:
        settings_accepted(Settings): the user pressed OK with these settings.
        remove_failed(str): a key could not be removed from the keyring (the words to show).
    """

    settings_accepted = Signal(object)
    remove_failed = Signal(str)

    def __init__(
        self,
        parent: QWidget,
        keys: ApiKeys,
        verify_url: Callable[[KeyProvider], str | None],
    ) -> None:
        """Args:
        parent: The window the dialog belongs to.
        keys: The key sessions (their states are shown; Verify, a new key and Remove go to them).
        verify_url: The REST base URL a provider's key is checked against (None: its default).
        """
        super().__init__(parent)
        self._parent = parent
        self._keys = keys
        self._verify_url = verify_url
        self._dialog: SettingsDialog | None = None
        keys.changed.connect(self._on_keys_changed)
        for provider, session in keys.sessions.items():
            session.verified.connect(lambda result, p=provider: self._on_keys_verified(p, result))
            session.removed.connect(lambda result, p=provider: self._on_keys_removed(p, result))

    @property
    def dialog(self) -> SettingsDialog | None:
        """The open dialog, or None."""
        return self._dialog

    def open(
        self,
        settings: Settings,
        notes: Mapping[Pair, str] | None = None,
        price_of: PriceLookup | None = None,
    ) -> None:
        """Show the dialog for ``settings`` (``notes``: what the sources said about some pairs;
        ``price_of``: a pair's current price, for the rule editor), or bring the open one forward."""
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return
        status = {p: _key_status(s.state) for p, s in self._keys.sessions.items()}
        dialog = SettingsDialog(settings, status, self._parent, notes, price_of=price_of)
        dialog.verify_requested.connect(self._on_dialog_verify_requested)
        dialog.key_entered.connect(self._on_dialog_key_entered)
        dialog.key_removed.connect(self._on_dialog_key_removed)
        dialog.settings_accepted.connect(self.settings_accepted)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()

    @Slot(object, object)
    def _on_dialog_verify_requested(self, provider: KeyProvider, key: ApiKey) -> None:
        self._keys[provider].verify(key, self._verify_url(provider))

    @Slot(object, object)
    def _on_dialog_key_entered(self, provider: KeyProvider, key: ApiKey) -> None:
        self._keys[provider].enter(key)

    @Slot(object)
    def _on_dialog_key_removed(self, provider: KeyProvider) -> None:
        self._keys[provider].remove()

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    @Slot(object)
    def _on_keys_changed(self, state: KeyState) -> None:
        dialog = self._dialog
        if dialog is not None:
            dialog.set_key_status(state.provider, *_key_status(state))

    def _on_keys_verified(self, provider: KeyProvider, result: KeyCheck | Exception) -> None:
        dialog = self._dialog
        if dialog is not None:
            dialog.show_verify_result(provider, *describe_key_check(result))

    def _on_keys_removed(self, provider: KeyProvider, error: Exception | None) -> None:
        if error is not None:
            self.remove_failed.emit(key_remove_failed_text(provider, error))


def _key_status(state: KeyState) -> tuple[str, bool]:
    return key_note(state), key_removable(state)
