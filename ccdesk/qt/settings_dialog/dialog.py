"""The Settings dialog's shell: assembles the tabs, checks the input on OK and reports the result."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from ccdesk.core.alerts import MoveRule, Rule
from ccdesk.core.api_key import ApiKey, InvalidApiKey, KeyProvider
from ccdesk.core.pairs import Pair
from ccdesk.core.rule_edits import level_rule_at
from ccdesk.core.settings import Settings
from ccdesk.qt.settings_dialog.alerts_tab import AlertsTab
from ccdesk.qt.settings_dialog.general_tab import GeneralTab, InvalidOption
from ccdesk.qt.settings_dialog.key_tab import KeyTab
from ccdesk.qt.settings_dialog.rule_editor import PriceLookup
from ccdesk.qt.settings_dialog.watchlist_tab import WatchlistTab


class SettingsDialog(QDialog):
    """Settings: API keys, watchlist, alert rules and general options.

    Editing changes nothing outside the dialog until OK. The tabs (``key_tab``, ``watchlist_tab``,
    ``alerts_tab``, ``general_tab``) and their widgets are public attributes so that tests can
    drive them.

    Signals:
        verify_requested(KeyProvider, ApiKey): The user asked to check a typed key. Run the check
            off the GUI thread, then call :meth:`show_verify_result`.
        key_entered(KeyProvider, ApiKey): On OK, for each typed key: store it (keyring only).
        key_removed(KeyProvider): On OK, for each key the user chose to remove from the keyring.
        settings_accepted(Settings): On OK (after the keys): the new settings.
    """

    verify_requested = Signal(object, object)
    key_entered = Signal(object, object)
    key_removed = Signal(object)
    settings_accepted = Signal(object)

    def __init__(
        self,
        settings: Settings,
        key_status: Mapping[KeyProvider, tuple[str, bool]],
        parent: QWidget | None = None,
        notes: Mapping[Pair, str] | None = None,
        *,
        price_of: PriceLookup | None = None,
    ) -> None:
        """Build the dialog.

        Args:
            settings: The settings to start from.
            key_status: Per provider, one line on its key in use (``wording.key_note``) and whether
                the key sits in the keyring (Remove is offered).
            parent: The parent widget.
            notes: What the sources said about watched pairs (refusals), shown beside them.
            price_of: A pair's current price and whether it is live (the rule editor shows it).
        """
        super().__init__(parent)
        self.setWindowTitle("ccdesk settings")
        self.setMinimumSize(600, 560)
        self._initial = settings

        self.tabs = QTabWidget()
        self.key_tab = KeyTab(key_status)
        self.tabs.addTab(self.key_tab, "&API keys")
        self.watchlist_tab = WatchlistTab(
            settings.watchlist, settings.pinned, settings.source, settings.composite_venues, notes
        )
        self.tabs.addTab(self.watchlist_tab, "&Watchlist")
        self.alerts_tab = AlertsTab(settings.rules, settings.watchlist, price_of=price_of)
        self.tabs.addTab(self.alerts_tab, "A&lerts")
        self.general_tab = GeneralTab(settings)
        self.tabs.addTab(self.general_tab, "&General")
        self.key_tab.verify_requested.connect(self.verify_requested)
        self.watchlist_tab.watchlist_changed.connect(self.alerts_tab.set_watchlist)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.buttons)

        # The first tab holds the keys; most people open the settings to enter one.
        self.key_tab.cryptocompare.key_edit.setFocus()

    def set_key_status(self, provider: KeyProvider, text: str, removable: bool) -> None:
        """Replace the line on ``provider``'s key in use; offer Remove if it is in the keyring."""
        self.key_tab.boxes[provider].set_key_status(text, removable)

    def show_verify_result(self, provider: KeyProvider, text: str, ok: bool) -> None:
        """Show a key check's outcome (``wording.describe_key_check``): green if ``ok``, red if not."""
        self.key_tab.boxes[provider].show_verify_result(text, ok)

    def edit_rule(self, rule_id: str) -> None:
        """Show the Alerts tab with the editor of rule ``rule_id`` (the tab alone if it is gone)."""
        self.tabs.setCurrentWidget(self.alerts_tab)
        self.alerts_tab.edit_rule(rule_id)

    def new_rule_at_price(self, sub: Pair, price: float | None) -> None:
        """Show the Alerts tab with the editor of a new rule for ``sub``: a level rule at ``price``,
        or a move rule for the pair while it has no price."""
        self.tabs.setCurrentWidget(self.alerts_tab)
        template: Rule = (
            MoveRule(pct=2.0, cooldown_s=900.0, sub=sub) if price is None else level_rule_at(sub, price)
        )
        self.alerts_tab.new_rule(template)

    def current_settings(self) -> Settings:
        """The settings as the dialog shows them now.

        Raises:
            InvalidOption: (a ValueError) with a plain message if the webhook URL or pause time is
                not valid.
        """
        settings = self.watchlist_tab.apply_to(self._initial)
        settings = self.alerts_tab.apply_to(settings)
        return self.general_tab.apply_to(settings)

    def accept(self) -> None:
        """Check the input; if it is all valid emit ``key_entered`` and ``settings_accepted`` and close.

        Otherwise show the problem next to its field, switch to that tab, and stay open. A typed
        key that failed its check is stored only on a second OK (the first one says so).
        """
        keys: dict[KeyProvider, ApiKey] = {}
        for provider, box in self.key_tab.boxes.items():
            try:
                key = box.typed_key()
            except InvalidApiKey:
                self._show_tab_with(box.key_edit)
                return
            if key is not None:
                if box.needs_confirmation():
                    self._show_tab_with(box.key_edit)
                    return
                keys[provider] = key
        try:
            settings = self.current_settings()
        except InvalidOption as problem:
            self.general_tab.show_problem(problem)
            self._show_tab_with(problem.field)
            return
        for provider, box in self.key_tab.boxes.items():
            if provider in keys:
                self.key_entered.emit(provider, keys[provider])
            elif box.removal_pending:
                self.key_removed.emit(provider)
        self.settings_accepted.emit(settings)
        super().accept()

    def _show_tab_with(self, widget: QWidget) -> None:
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is not None and page.isAncestorOf(widget):
                self.tabs.setCurrentIndex(index)
                break
        widget.setFocus()
