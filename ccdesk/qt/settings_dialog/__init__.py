"""The Settings dialog package: one module per tab, the rule editor, and the dialog that assembles them.

The dialog edits a copy of :class:`~ccdesk.core.settings.Settings` and reports what the user
chose through signals. It never touches the network, the keyring or the settings file: the
controller runs the key check (``verify_requested`` -> :meth:`SettingsDialog.show_verify_result`),
stores the key (``key_entered``) and saves and applies the settings (``settings_accepted``).
"""

from ccdesk.qt.settings_dialog.dialog import SettingsDialog
from ccdesk.qt.settings_dialog.general_tab import PAUSE_OFF, PAUSE_UNTIL_RESUMED, PAUSE_UNTIL_TIME
from ccdesk.qt.settings_dialog.rule_editor import RuleEditor

__all__ = [
    "PAUSE_OFF",
    "PAUSE_UNTIL_RESUMED",
    "PAUSE_UNTIL_TIME",
    "RuleEditor",
    "SettingsDialog",
]
