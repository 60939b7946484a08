"""The Settings dialog's alerts tab: the alert rules in words, and adding, editing and removing them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import LevelRule, MoveRule, Rule
from ccdesk.core.pairs import Pair
from ccdesk.core.settings import Settings
from ccdesk.qt.settings_dialog.rule_editor import RuleEditor
from ccdesk.wording import describe_rule


class AlertsTab(QWidget):
    """The alerts tab: edits a copy of the alert rules, one :class:`RuleEditor` at a time.

    :attr:`rule_editor` is the open editor, if any.

    Signals:
        None of its own: the dialog reads the rules with :meth:`apply_to`.
    """

    def __init__(
        self, rules: Sequence[Rule], watchlist: Sequence[Pair], parent: QWidget | None = None
    ) -> None:
        """Build the tab.

        Args:
            rules: The rules to start from, in order.
            watchlist: The watchlist, for the editor's pair choices and to mark rules for other pairs.
            parent: The parent widget.
        """
        super().__init__(parent)
        self._rules: list[Rule] = list(rules)
        self._watchlist: tuple[Pair, ...] = tuple(watchlist)
        self.rule_editor: RuleEditor | None = None
        self._editing_row: int | None = None
        layout = QVBoxLayout(self)
        intro = QLabel("An alert shows a notification (and calls the webhook, if set).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.rule_list = QListWidget()
        self.rule_list.setAccessibleName("Alert rules")
        self.rule_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rule_list.currentRowChanged.connect(self._on_rule_list_current_row_changed)
        self.rule_list.itemActivated.connect(self._on_rule_list_item_activated)
        self.add_move_button = QPushButton("Add &move alert\u2026")
        self.add_level_button = QPushButton("Add le&vel alert\u2026")
        self.edit_rule_button = QPushButton("&Edit\u2026")
        self.remove_rule_button = QPushButton("&Remove")
        side = QVBoxLayout()
        for button, slot in (
            (self.add_move_button, self._on_add_move_button_clicked),
            (self.add_level_button, self._on_add_level_button_clicked),
            (self.edit_rule_button, self._on_edit_rule_button_clicked),
            (self.remove_rule_button, self._on_remove_rule_button_clicked),
        ):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            side.addWidget(button)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.rule_list, 1)
        row.addLayout(side)
        layout.addLayout(row, 1)
        hint = QLabel(
            "A move alert compares each price with the price at the start of the window. "
            "A level alert fires when the price crosses the level, not while it stays beyond it."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)

        self._refresh_rules()

    def set_watchlist(self, watchlist: Sequence[Pair]) -> None:
        """Take the watchlist as it is now (pair choices, marks on rules for pairs not in it)."""
        self._watchlist = tuple(watchlist)
        self._refresh_rules()

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with the alert rules as the tab shows them now."""
        return dataclasses.replace(settings, rules=tuple(self._rules))

    def _refresh_rules(self, select: int | None = None) -> None:
        row = self.rule_list.currentRow() if select is None else select
        self.rule_list.clear()
        for rule in self._rules:
            self.rule_list.addItem(describe_rule(rule, self._watchlist))
        if self._rules:
            self.rule_list.setCurrentRow(max(0, min(row, len(self._rules) - 1)))
        self._update_rule_buttons()

    def _update_rule_buttons(self) -> None:
        has = 0 <= self.rule_list.currentRow() < len(self._rules)
        self.edit_rule_button.setEnabled(has)
        self.remove_rule_button.setEnabled(has)

    def _on_rule_list_current_row_changed(self, _row: int) -> None:
        self._update_rule_buttons()

    def edit_rule(self, rule_id: str) -> RuleEditor | None:
        """Select the rule ``rule_id`` and open its editor; None if no rule has that id."""
        row = next((i for i, r in enumerate(self._rules) if r.id == rule_id), None)
        if row is None:
            return None
        self.rule_list.setCurrentRow(row)
        return self._open_rule_editor(type(self._rules[row]), row)

    def new_rule(self, template: Rule) -> RuleEditor:
        """Open the editor for a new rule filled in from ``template`` (added on OK)."""
        return self._open_rule_editor(type(template), None, template)

    def _open_rule_editor(
        self, kind: type[Rule], row: int | None, template: Rule | None = None
    ) -> RuleEditor:
        if self.rule_editor is not None:  # one editor at a time: the newest request wins
            self.rule_editor.reject()
        rule = template if row is None else self._rules[row]
        # A child of the window (the dialog), not of this page: it is a window of its own.
        editor = RuleEditor(kind, rule, self._watchlist, self.window(), new=row is None)
        editor.accepted.connect(self._on_rule_editor_accepted)
        self.rule_editor = editor
        self._editing_row = row
        editor.open()
        return editor

    def _on_add_move_button_clicked(self) -> None:
        self._open_rule_editor(MoveRule, None)

    def _on_add_level_button_clicked(self) -> None:
        self._open_rule_editor(LevelRule, None)

    def _on_edit_rule_button_clicked(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self._rules):
            self._open_rule_editor(type(self._rules[row]), row)

    def _on_rule_list_item_activated(self, _item: QListWidgetItem) -> None:
        self._on_edit_rule_button_clicked()

    def _on_rule_editor_accepted(self) -> None:
        editor, row = self.rule_editor, self._editing_row
        self.rule_editor, self._editing_row = None, None
        if editor is None or editor.rule is None:
            return
        rule = editor.rule
        editor.deleteLater()
        others = [r for i, r in enumerate(self._rules) if i != row]
        if rule in others:  # the same rule twice would alert once anyway
            self._refresh_rules(select=self._rules.index(rule))
            return
        if row is None:
            self._rules.append(rule)
            row = len(self._rules) - 1
        else:
            self._rules[row] = rule
        self._refresh_rules(select=row)

    def _on_remove_rule_button_clicked(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self._rules):
            del self._rules[row]
            self._refresh_rules(select=row)
