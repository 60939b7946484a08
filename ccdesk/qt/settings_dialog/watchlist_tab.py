"""The Settings dialog's watchlist tab: the watched pairs, their order, the tray's pair, adding a pair."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.pairs import Pair, PairError
from ccdesk.core.settings import MAX_WATCHLIST, Settings, parse_pair_input
from ccdesk.qt.settings_dialog.widgets import message_label, show_message


class WatchlistTab(QWidget):
    """The watchlist tab: edits a copy of the watchlist and the pinned (tray) pair.

    Signals:
        watchlist_changed(tuple[Pair, ...]): A pair was added, removed or moved; the new watchlist.
    """

    watchlist_changed = Signal(object)

    def __init__(self, watchlist: Sequence[Pair], pinned: Pair | None, parent: QWidget | None = None) -> None:
        """Build the tab.

        Args:
            watchlist: The pairs to start from, in order.
            pinned: The pair the tray shows, or None.
            parent: The parent widget.
        """
        super().__init__(parent)
        self._watchlist: list[Pair] = list(watchlist)
        self._pinned: Pair | None = pinned
        layout = QVBoxLayout(self)

        self.watch_list = QListWidget()
        self.watch_list.setAccessibleName("Watchlist")
        self.watch_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.watch_list.currentRowChanged.connect(self._on_watch_list_current_row_changed)
        self.up_button = QPushButton("Move &up")
        self.down_button = QPushButton("Move &down")
        self.pin_button = QPushButton("Show in &tray")
        self.pin_button.setToolTip("The tray icon's tooltip shows this pair's price.")
        self.remove_button = QPushButton("&Remove")
        side = QVBoxLayout()
        for button, slot in (
            (self.up_button, self._on_up_button_clicked),
            (self.down_button, self._on_down_button_clicked),
            (self.pin_button, self._on_pin_button_clicked),
            (self.remove_button, self._on_remove_button_clicked),
        ):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            side.addWidget(button)
        side.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.watch_list, 1)
        top.addLayout(side)
        layout.addLayout(top, 1)

        box = QGroupBox("Add a pair")
        grid = QGridLayout(box)
        self.base_edit = QLineEdit()
        self.base_edit.setPlaceholderText("BTC")
        self.quote_edit = QLineEdit()
        self.quote_edit.setPlaceholderText("USD")
        self.exchange_edit = QLineEdit()
        self.exchange_edit.setPlaceholderText("all exchanges")
        self.add_button = QPushButton("Add &pair")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        for column, (text, edit) in enumerate(
            (("&Coin:", self.base_edit), ("Curre&ncy:", self.quote_edit), ("&Exchange:", self.exchange_edit))
        ):
            label = QLabel(text)
            label.setBuddy(edit)
            edit.textEdited.connect(self._on_pair_edit_text_edited)
            edit.installEventFilter(self)
            grid.addWidget(label, 0, column)
            grid.addWidget(edit, 1, column)
        grid.addWidget(self.add_button, 1, 3)
        hint = QLabel(
            "Leave the exchange blank for CryptoCompare's average of all exchanges (CCCAGG). "
            "Exchange names are spelled as on CryptoCompare, e.g. Coinbase, Binance, Kraken."
        )
        hint.setWordWrap(True)
        self.pair_error_label = message_label()
        grid.addWidget(self.pair_error_label, 2, 0, 1, 4)
        grid.addWidget(hint, 3, 0, 1, 4)
        layout.addWidget(box)
        QWidget.setTabOrder(self.base_edit, self.quote_edit)
        QWidget.setTabOrder(self.quote_edit, self.exchange_edit)
        QWidget.setTabOrder(self.exchange_edit, self.add_button)

        self._refresh_watchlist()

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with the watchlist and the pinned pair as the tab shows them now."""
        return dataclasses.replace(settings, watchlist=tuple(self._watchlist), pinned=self._pinned)

    def add_pair(self) -> bool:
        """Add the pair typed in the add row; on bad input show why and add nothing.

        Returns:
            True if the pair was added.
        """
        try:
            sub = parse_pair_input(self.base_edit.text(), self.quote_edit.text(), self.exchange_edit.text())
        except PairError as exc:
            show_message(self.pair_error_label, str(exc))
            return False
        if sub in self._watchlist:
            show_message(self.pair_error_label, f"{sub.label} is already in the watchlist.")
            self.watch_list.setCurrentRow(self._watchlist.index(sub))
            return False
        if len(self._watchlist) >= MAX_WATCHLIST:
            show_message(self.pair_error_label, f"The watchlist is full ({MAX_WATCHLIST} pairs).")
            return False
        self._watchlist.append(sub)
        if self._pinned is None:
            self._pinned = sub
        show_message(self.pair_error_label, "")
        for edit in (self.base_edit, self.quote_edit, self.exchange_edit):
            edit.clear()
        self.base_edit.setFocus()
        self._refresh_watchlist(select=len(self._watchlist) - 1)
        self.watchlist_changed.emit(tuple(self._watchlist))
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the add-pair fields adds the pair instead of pressing OK (closing the dialog)."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and watched in (self.base_edit, self.quote_edit, self.exchange_edit)
        ):
            self.add_pair()
            return True
        return super().eventFilter(watched, event)

    def _refresh_watchlist(self, select: int | None = None) -> None:
        row = self.watch_list.currentRow() if select is None else select
        self.watch_list.clear()
        for sub in self._watchlist:
            pinned = sub == self._pinned
            item = QListWidgetItem(f"{sub.label}    (shown in tray)" if pinned else sub.label)
            item.setToolTip(str(sub))
            if pinned:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.watch_list.addItem(item)
        if self._watchlist:
            self.watch_list.setCurrentRow(max(0, min(row, len(self._watchlist) - 1)))
        self._update_watch_buttons()

    def _update_watch_buttons(self) -> None:
        row = self.watch_list.currentRow()
        has = 0 <= row < len(self._watchlist)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < len(self._watchlist) - 1)
        self.remove_button.setEnabled(has)
        self.pin_button.setEnabled(has and self._watchlist[row] != self._pinned)

    def _on_watch_list_current_row_changed(self, _row: int) -> None:
        self._update_watch_buttons()

    def _on_pair_edit_text_edited(self, _text: str) -> None:
        show_message(self.pair_error_label, "")

    def _on_add_button_clicked(self) -> None:
        self.add_pair()

    def _move_current(self, step: int) -> None:
        row = self.watch_list.currentRow()
        other = row + step
        if 0 <= row < len(self._watchlist) and 0 <= other < len(self._watchlist):
            self._watchlist[row], self._watchlist[other] = self._watchlist[other], self._watchlist[row]
            self._refresh_watchlist(select=other)
            self.watchlist_changed.emit(tuple(self._watchlist))

    def _on_up_button_clicked(self) -> None:
        self._move_current(-1)

    def _on_down_button_clicked(self) -> None:
        self._move_current(+1)

    def _on_pin_button_clicked(self) -> None:
        row = self.watch_list.currentRow()
        if 0 <= row < len(self._watchlist):
            self._pinned = self._watchlist[row]
            self._refresh_watchlist(select=row)

    def _on_remove_button_clicked(self) -> None:
        row = self.watch_list.currentRow()
        if not 0 <= row < len(self._watchlist):
            return
        removed = self._watchlist.pop(row)
        if removed == self._pinned:
            self._pinned = self._watchlist[0] if self._watchlist else None
        self._refresh_watchlist(select=row)
        self.watchlist_changed.emit(tuple(self._watchlist))
