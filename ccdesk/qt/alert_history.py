"""The alert history as a list model: every alert, newest first, with how it was delivered; and the
actions on the rule that fired an entry (re-arm, edit, delete, a new rule at the current price), as a
right-click menu and keyboard shortcuts on the list that shows it.

Entries are keyed by the alert's id; a delivery outcome updates its entry in place (never by
parsing a row's text back). Words come from ``ccdesk.wording``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMenu

from ccdesk.core.alerts import Alert, Rule
from ccdesk.core.delivery import Delivery
from ccdesk.core.store import StoredAlert
from ccdesk.wording import (
    HISTORY_DELETE_RULE_TEXT,
    HISTORY_EDIT_RULE_TEXT,
    HISTORY_NEW_RULE_TEXT,
    HISTORY_REARM_RULE_TEXT,
    history_line,
    history_rule_gone_text,
    history_tooltip,
)

Index = QModelIndex | QPersistentModelIndex
MAX_ENTRIES = 500


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One alert as the history shows it.

    Attributes:
        alert: The alert.
        paused: Alerts were paused when it fired: recorded, not shown.
        delivery: Where it went, or None while delivery is under way (or it was paused).
    """

    alert: Alert
    paused: bool
    delivery: Delivery | None = None


class AlertHistoryModel(QAbstractListModel):
    """Newest first, at most ``MAX_ENTRIES`` (the oldest go)."""

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[HistoryEntry] = []

    def add(self, alert: Alert, *, paused: bool) -> None:
        """Record an alert that just fired."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._entries.insert(0, HistoryEntry(alert, paused))
        self.endInsertRows()
        if len(self._entries) > MAX_ENTRIES:
            self.beginRemoveRows(QModelIndex(), MAX_ENTRIES, len(self._entries) - 1)
            del self._entries[MAX_ENTRIES:]
            self.endRemoveRows()

    @Slot(object)
    def record_delivery(self, delivery: Delivery) -> None:
        """Where an alert went; an alert no longer in the history is ignored."""
        for row, entry in enumerate(self._entries):
            if entry.alert.id == delivery.alert.id:
                self._entries[row] = replace(entry, delivery=delivery)
                index = self.index(row, 0)
                self.dataChanged.emit(index, index)
                return

    @Slot(object)
    def load(self, stored: Sequence[StoredAlert]) -> None:
        """Add alerts kept from earlier runs (newest first) below the ones of this run."""
        have = {e.alert.id for e in self._entries}
        older = [HistoryEntry(s.alert, s.paused, s.delivery) for s in stored if s.alert.id not in have]
        room = MAX_ENTRIES - len(self._entries)
        older = older[: max(0, room)]
        if not older:
            return
        first = len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(older) - 1)
        self._entries.extend(older)
        self.endInsertRows()

    def entries(self) -> list[HistoryEntry]:
        """Every entry, newest first (a copy)."""
        return list(self._entries)

    def entry(self, row: int) -> HistoryEntry | None:
        """The entry at ``row``, or None."""
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return history_line(entry.alert, entry.paused, entry.delivery)
        if role == Qt.ItemDataRole.ToolTipRole:
            return history_tooltip(entry.delivery)
        return None


class HistoryActions(QObject):
    """The actions on the rule behind the current history entry, on the list view that shows it: a
    right-click menu (also the Menu key and Shift+F10) and shortcuts while the list has the focus:
    Ctrl+R re-arm, Ctrl+E edit, Delete delete, Ctrl+N a new rule at the current price.

    The rule is found through ``rule_id_for`` (the controller's: by id, else by value for entries kept
    before rules had ids); an entry whose rule is gone offers only the new rule.

    Signals:
        rearm_requested(str): re-arm the rule with this id.
        edit_requested(str): edit the rule with this id.
        delete_requested(str): delete the rule with this id.
        new_rule_requested(object): a new rule at the current price of this ``Pair``.
    """

    rearm_requested = Signal(str)
    edit_requested = Signal(str)
    delete_requested = Signal(str)
    new_rule_requested = Signal(object)

    def __init__(
        self,
        view: QAbstractItemView,
        model: AlertHistoryModel,
        rule_id_for: Callable[[Rule], str | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or view)
        self._view = view
        self._model = model
        self._rule_id_for = rule_id_for
        self.rearm_action = self._action(HISTORY_REARM_RULE_TEXT, "Ctrl+R", self._on_rearm_action_triggered)
        self.edit_action = self._action(HISTORY_EDIT_RULE_TEXT, "Ctrl+E", self._on_edit_action_triggered)
        self.delete_action = self._action(
            HISTORY_DELETE_RULE_TEXT, QKeySequence.StandardKey.Delete, self._on_delete_action_triggered
        )
        self.new_rule_action = self._action(
            HISTORY_NEW_RULE_TEXT, "Ctrl+N", self._on_new_rule_action_triggered
        )
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_view_custom_context_menu_requested)
        self.menu: QMenu | None = None

    def _action(self, text: str, keys: str | QKeySequence.StandardKey, slot: Callable[[], None]) -> QAction:
        action = QAction(text, self._view)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self._view.addAction(action)  # the shortcut works while the list has the focus
        return action

    def current(self) -> HistoryEntry | None:
        """The entry the actions apply to: the list's current one."""
        return self._model.entry(self._view.currentIndex().row())

    def build_menu(self) -> QMenu:
        """The right-click menu for the current entry: what makes sense for it (its rule may be gone).

        The menu has its own items; the shortcut actions on the list stay enabled (each looks the
        rule up again when triggered and does nothing if it is gone), so a menu built for one entry
        never disables a shortcut for the next.
        """
        entry = self.current()
        rule_id = None if entry is None else self._rule_id_for(entry.alert.rule)
        menu = QMenu(self._view)
        if entry is not None and rule_id is None:
            note = menu.addAction(history_rule_gone_text())
            note.setEnabled(False)
        for action, enabled in (
            (self.rearm_action, rule_id is not None),
            (self.edit_action, rule_id is not None),
            (self.delete_action, rule_id is not None),
            (None, False),
            (self.new_rule_action, entry is not None),
        ):
            if action is None:
                menu.addSeparator()
                continue
            item = menu.addAction(action.text())
            item.setShortcut(action.shortcut())  # shown; active only while the menu has the focus
            item.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            item.setEnabled(enabled)
            item.triggered.connect(action.trigger)
        return menu

    @Slot(QPoint)
    def _on_view_custom_context_menu_requested(self, pos: QPoint) -> None:
        index = self._view.indexAt(pos)
        if index.isValid():
            self._view.setCurrentIndex(index)
        if self.current() is None:
            return
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = self.build_menu()
        self.menu.popup(self._view.viewport().mapToGlobal(pos))

    def _rule_id(self) -> str | None:
        entry = self.current()
        return None if entry is None else self._rule_id_for(entry.alert.rule)

    @Slot()
    def _on_rearm_action_triggered(self) -> None:
        rule_id = self._rule_id()
        if rule_id is not None:
            self.rearm_requested.emit(rule_id)

    @Slot()
    def _on_edit_action_triggered(self) -> None:
        rule_id = self._rule_id()
        if rule_id is not None:
            self.edit_requested.emit(rule_id)

    @Slot()
    def _on_delete_action_triggered(self) -> None:
        rule_id = self._rule_id()
        if rule_id is not None:
            self.delete_requested.emit(rule_id)

    @Slot()
    def _on_new_rule_action_triggered(self) -> None:
        entry = self.current()
        if entry is not None:
            self.new_rule_requested.emit(entry.alert.sub)
