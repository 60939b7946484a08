"""The alert history as a list model: every alert, newest first, with how it was delivered.

Entries are keyed by the alert's id; a delivery outcome updates its entry in place (never by
parsing a row's text back). Words come from ``ccdesk.wording``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Slot

from ccdesk.core.alerts import Alert
from ccdesk.core.delivery import Delivery
from ccdesk.core.store import StoredAlert
from ccdesk.wording import history_line, history_tooltip

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
