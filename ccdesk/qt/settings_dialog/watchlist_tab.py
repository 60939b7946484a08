"""The Settings dialog's watchlist tab: the watched pairs with their sources, their order, the tray's
pair, and adding a pair in one forgiving field from a source picked beside it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
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

from ccdesk.core.composite import COMPOSITE_VENUES
from ccdesk.core.pairs import SOURCE_TITLES, Pair, PairError, Source, parse_pair
from ccdesk.core.settings import MAX_WATCHLIST, Settings
from ccdesk.qt.settings_dialog.widgets import message_label, show_message
from ccdesk.wording import (
    PAIR_ENTRY_HINT,
    PICKABLE_SOURCES,
    PORTFOLIO_NOT_WATCHED_TEXT,
    source_choice_text,
    watchlist_item_text,
)


class WatchlistTab(QWidget):
    """The watchlist tab: edits a copy of the watchlist and the pinned (tray) pair.

    Signals:
        watchlist_changed(tuple[Pair, ...]): A pair was added, removed or moved; the new watchlist.
    """

    watchlist_changed = Signal(object)

    def __init__(
        self,
        watchlist: Sequence[Pair],
        pinned: Pair | None,
        default_source: Source = Source.KRAKEN,
        composite_venues: Sequence[Source] = COMPOSITE_VENUES,
        notes: Mapping[Pair, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """Build the tab.

        Args:
            watchlist: The pairs to start from, in order.
            pinned: The pair the tray shows, or None.
            default_source: The source picked for a pair typed without one (the pick is saved).
            composite_venues: The venues composite prices draw on.
            notes: What the sources said about some pairs (a refusal), shown beside them.
            parent: The parent widget.
        """
        super().__init__(parent)
        self._watchlist: list[Pair] = list(watchlist)
        self._pinned: Pair | None = pinned
        self._notes: dict[Pair, str] = dict(notes or {})
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
        self.pair_edit = QLineEdit()
        self.pair_edit.setPlaceholderText("BTC-USD")
        self.pair_edit.setAccessibleName("Pair")
        self.pair_edit.textEdited.connect(self._on_pair_edit_text_edited)
        self.pair_edit.installEventFilter(self)
        self.source_combo = QComboBox()
        self.source_combo.setAccessibleName("Source")
        for source in PICKABLE_SOURCES:
            self.source_combo.addItem(source_choice_text(source), source)
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(default_source)))
        self.add_button = QPushButton("Add &pair")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        pair_label = QLabel("&Pair:")
        pair_label.setBuddy(self.pair_edit)
        source_label = QLabel("&From:")
        source_label.setBuddy(self.source_combo)
        grid.addWidget(pair_label, 0, 0)
        grid.addWidget(self.pair_edit, 0, 1)
        grid.addWidget(self.add_button, 0, 2)
        grid.addWidget(source_label, 1, 0)
        grid.addWidget(self.source_combo, 1, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        hint = QLabel(PAIR_ENTRY_HINT)
        hint.setWordWrap(True)
        self.pair_error_label = message_label()
        grid.addWidget(self.pair_error_label, 2, 0, 1, 3)
        grid.addWidget(hint, 3, 0, 1, 3)
        layout.addWidget(box)
        venues_row = QHBoxLayout()
        venues_row.addWidget(QLabel("Composite prices draw on:"))
        self.venue_checks: dict[Source, QCheckBox] = {}
        for venue in COMPOSITE_VENUES:
            check = QCheckBox(SOURCE_TITLES[venue])
            check.setChecked(venue in composite_venues)
            check.toggled.connect(self._on_venue_check_toggled)
            self.venue_checks[venue] = check
            venues_row.addWidget(check)
        venues_row.addStretch(1)
        layout.addLayout(venues_row)
        QWidget.setTabOrder(self.pair_edit, self.source_combo)
        QWidget.setTabOrder(self.source_combo, self.add_button)

        self._refresh_watchlist()
        self._on_venue_check_toggled(True)

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with the watchlist, the pinned pair, the source picked and the composite's
        venues as the tab shows them now."""
        venues = tuple(v for v, check in self.venue_checks.items() if check.isChecked())
        return dataclasses.replace(
            settings,
            watchlist=tuple(self._watchlist),
            pinned=self._pinned,
            source=self.source_combo.currentData(),
            composite_venues=venues or settings.composite_venues,
        )

    def add_pair(self) -> bool:
        """Add the pair typed in the add row; on bad input show why and add nothing.

        Returns:
            True if the pair was added.
        """
        try:
            sub = parse_pair(self.pair_edit.text(), self.source_combo.currentData())
        except PairError as exc:
            show_message(self.pair_error_label, str(exc))
            return False
        if sub.source is Source.PORTFOLIO:
            show_message(self.pair_error_label, PORTFOLIO_NOT_WATCHED_TEXT)
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
        self.pair_edit.clear()
        self.pair_edit.setFocus()
        self._refresh_watchlist(select=len(self._watchlist) - 1)
        self.watchlist_changed.emit(tuple(self._watchlist))
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the add-pair fields adds the pair instead of pressing OK (closing the dialog)."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and watched is self.pair_edit
        ):
            self.add_pair()
            return True
        return super().eventFilter(watched, event)

    def _refresh_watchlist(self, select: int | None = None) -> None:
        row = self.watch_list.currentRow() if select is None else select
        self.watch_list.clear()
        for sub in self._watchlist:
            pinned = sub == self._pinned
            text = watchlist_item_text(sub)
            note = self._notes.get(sub)
            if note:
                text += f"  — {note}"
            item = QListWidgetItem(f"{text}    (shown in tray)" if pinned else text)
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

    def _on_venue_check_toggled(self, _on: bool) -> None:
        # At least one venue: the last one checked cannot be unchecked.
        checked = [c for c in self.venue_checks.values() if c.isChecked()]
        for check in self.venue_checks.values():
            check.setEnabled(not (len(checked) == 1 and check.isChecked()))

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
