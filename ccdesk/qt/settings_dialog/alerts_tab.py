"""The Settings dialog's alerts tab: the alert rules in words with their state (armed, snoozed, muted,
expired, fired once), and adding, editing, removing, re-arming and muting them, and a new rule at the
current price; as buttons and as a right-click menu."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import LevelRule, MoveRule, Rule, RuleState, rule_state
from ccdesk.core.pairs import Pair
from ccdesk.core.rule_edits import level_rule_at
from ccdesk.core.settings import Settings
from ccdesk.qt.settings_dialog.rule_editor import PriceLookup, RuleEditor
from ccdesk.wording import (
    RULE_MUTE_BUTTON_TEXT,
    RULE_NEW_AT_PRICE_BUTTON_TEXT,
    RULE_REARM_BUTTON_TEXT,
    rule_row_text,
)


class AlertsTab(QWidget):
    """The alerts tab: edits a copy of the alert rules, one :class:`RuleEditor` at a time.

    :attr:`rule_editor` is the open editor, if any.

    Signals:
        None of its own: the dialog reads the rules with :meth:`apply_to`.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        watchlist: Sequence[Pair],
        parent: QWidget | None = None,
        *,
        price_of: PriceLookup | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Build the tab.

        Args:
            rules: The rules to start from, in order.
            watchlist: The watchlist, for the editor's pair choices and to mark rules for other pairs.
            parent: The parent widget.
            price_of: A pair's current price and whether it is live, for the rule editor.
            now: Wall time, unix seconds (each rule's state is said as of now).
        """
        super().__init__(parent)
        self._price_of = price_of
        self._now = now
        self._rules: list[Rule] = list(rules)
        self._watchlist: tuple[Pair, ...] = tuple(watchlist)
        self._portfolio: tuple[Pair, ...] = ()  # the portfolio totals the editor offers too
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
        self.rule_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.rule_list.customContextMenuRequested.connect(self._on_rule_list_custom_context_menu_requested)
        self.menu: QMenu | None = None
        self.add_move_button = QPushButton("Add &move alert\u2026")
        self.add_level_button = QPushButton("Add le&vel alert\u2026")
        self.edit_rule_button = QPushButton("&Edit\u2026")
        self.remove_rule_button = QPushButton("&Remove")
        self.rearm_button = QPushButton(RULE_REARM_BUTTON_TEXT)
        self.mute_button = QPushButton(RULE_MUTE_BUTTON_TEXT)
        self.new_at_price_button = QPushButton(RULE_NEW_AT_PRICE_BUTTON_TEXT)
        side = QVBoxLayout()
        for button, slot in (
            (self.add_move_button, self._on_add_move_button_clicked),
            (self.add_level_button, self._on_add_level_button_clicked),
            (self.edit_rule_button, self._on_edit_rule_button_clicked),
            (self.remove_rule_button, self._on_remove_rule_button_clicked),
            (self.rearm_button, self._on_rearm_button_clicked),
            (self.mute_button, self._on_mute_button_clicked),
            (self.new_at_price_button, self._on_new_at_price_button_clicked),
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
            "A level alert fires when the price crosses the level, not while it stays beyond it. "
            "A step alert fires at every further step from its last alert. Right-click a rule for more."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)

        self._refresh_rules()

    def set_watchlist(self, watchlist: Sequence[Pair]) -> None:
        """Take the watchlist as it is now (pair choices, marks on rules for pairs not in it)."""
        self._watchlist = tuple(watchlist)
        self._refresh_rules()

    def set_portfolio_pairs(self, pairs: Sequence[Pair]) -> None:
        """The portfolio totals a rule may watch (``portfolio:TOTAL-USD``, one per quote currency
        with holdings), offered in the editor's pair choices after the watchlist."""
        self._portfolio = tuple(pairs)

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with the alert rules as the tab shows them now."""
        return dataclasses.replace(settings, rules=tuple(self._rules))

    def _refresh_rules(self, select: int | None = None) -> None:
        row = self.rule_list.currentRow() if select is None else select
        self.rule_list.clear()
        now = self._now()
        for rule in self._rules:
            self.rule_list.addItem(rule_row_text(rule, now, self._watchlist))
        if self._rules:
            self.rule_list.setCurrentRow(max(0, min(row, len(self._rules) - 1)))
        self._update_rule_buttons()

    def rules(self) -> tuple[Rule, ...]:
        """The rules as the tab shows them now."""
        return tuple(self._rules)

    def current_rule(self) -> Rule | None:
        """The selected rule, or None."""
        row = self.rule_list.currentRow()
        return self._rules[row] if 0 <= row < len(self._rules) else None

    def _update_rule_buttons(self) -> None:
        rule = self.current_rule()
        has = rule is not None
        state = None if rule is None else rule_state(rule, self._now())
        self.edit_rule_button.setEnabled(has)
        self.remove_rule_button.setEnabled(has)
        self.rearm_button.setEnabled(state is not None and state is not RuleState.ARMED)
        self.mute_button.setEnabled(state in (RuleState.ARMED, RuleState.SNOOZED))
        self.new_at_price_button.setEnabled(self._pair_for_new_rule() is not None)

    def _pair_for_new_rule(self) -> Pair | None:
        """The selected rule's pair, else the first watched pair."""
        rule = self.current_rule()
        if rule is not None and rule.sub is not None:
            return rule.sub
        return self._watchlist[0] if self._watchlist else None

    def _replace_current(self, change: Callable[[Rule], Rule]) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self._rules):
            self._rules[row] = change(self._rules[row])
            self._refresh_rules(select=row)

    def _on_rearm_button_clicked(self) -> None:
        now = self._now()

        def rearm(rule: Rule) -> Rule:
            expired = rule.expires_at is not None and now >= rule.expires_at
            return dataclasses.replace(
                rule,
                enabled=True,
                snoozed_until=None,
                spent_at=None,
                expires_at=None if expired else rule.expires_at,
            )

        self._replace_current(rearm)

    def _on_mute_button_clicked(self) -> None:
        self._replace_current(lambda rule: dataclasses.replace(rule, enabled=False))

    def _on_new_at_price_button_clicked(self) -> None:
        sub = self._pair_for_new_rule()
        if sub is None:
            return
        found = None if self._price_of is None else self._price_of(sub)
        template: Rule = (
            MoveRule(pct=2.0, cooldown_s=900.0, sub=sub) if found is None else level_rule_at(sub, found[0])
        )
        self.new_rule(template)

    def build_menu(self) -> QMenu:
        """The right-click menu for the selected rule: the buttons' actions."""
        menu = QMenu(self.rule_list)
        for button in (
            self.edit_rule_button,
            self.rearm_button,
            self.mute_button,
            self.remove_rule_button,
            None,
            self.new_at_price_button,
            self.add_move_button,
            self.add_level_button,
        ):
            if button is None:
                menu.addSeparator()
                continue
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.triggered.connect(button.click)
        return menu

    def _on_rule_list_custom_context_menu_requested(self, pos: QPoint) -> None:
        item = self.rule_list.itemAt(pos)
        if item is not None:
            self.rule_list.setCurrentItem(item)
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = self.build_menu()
        self.menu.popup(self.rule_list.viewport().mapToGlobal(pos))

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
        editor = RuleEditor(
            kind,
            rule,
            (*self._watchlist, *self._portfolio),
            self.window(),
            new=row is None,
            price_of=self._price_of,
        )
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
