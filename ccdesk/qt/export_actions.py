"""The window's export items: "Export prices of BTC/USD · Kraken…" (the selected row) and "Export
alert history…" in the ccdesk menu, and the save dialog that asks where.

It only asks: the chosen file goes out as an ``ExportRequest`` (``export_requested``) and the
controller runs the export on a background job and says in the banner where it went or why not.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu

from ccdesk.core.candles import HOUR_S, MINUTE_S
from ccdesk.core.export import ExportRequest, default_file_name
from ccdesk.core.pairs import Pair
from ccdesk.qt.price_window import PriceWindow
from ccdesk.wording import (
    EXPORT_ALERTS_ACTION_TEXT,
    EXPORT_ALERTS_FILTER,
    EXPORT_HOUR_FILTER,
    EXPORT_MINUTE_FILTER,
    export_dialog_title,
    export_prices_action_text,
)


def use_native_dialog() -> bool:
    """The platform's own file dialog, except where there is no desktop to host it (offscreen and
    minimal platforms: tests and the self-test) or when ``CCDESK_QT_DIALOGS`` asks for Qt's."""
    if os.environ.get("CCDESK_QT_DIALOGS", "").strip():
        return False
    return QGuiApplication.platformName() not in ("offscreen", "minimal")


class ExportActions(QObject):
    """The two export items of ``window``'s ccdesk menu and their save dialog.

    Signals:
        export_requested(ExportRequest): the user chose a file; export to it.
    """

    export_requested = Signal(object)

    def __init__(self, window: PriceWindow, menu: QMenu, before: QAction | None = None) -> None:
        super().__init__(window)
        self._window = window
        self.prices_action = QAction(export_prices_action_text(None), window)
        self.prices_action.triggered.connect(self._on_prices_triggered)
        self.alerts_action = QAction(EXPORT_ALERTS_ACTION_TEXT, window)
        self.alerts_action.triggered.connect(self._on_alerts_triggered)
        if before is None:
            menu.addSeparator()
            menu.addActions([self.prices_action, self.alerts_action])
        else:
            menu.insertSeparator(before)
            menu.insertActions(before, [self.prices_action, self.alerts_action])
            menu.insertSeparator(before)
        menu.aboutToShow.connect(self.update_actions)
        window.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.dialog: QFileDialog | None = None
        """The save dialog while it is open (tests drive it)."""
        self._pair: Pair | None = None
        self._folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        if not self._folder or not Path(self._folder).is_dir():
            self._folder = str(Path.home())
        self.update_actions()

    @Slot()
    def update_actions(self) -> None:
        """Name the selected row's pair in the prices item (disabled with no row selected)."""
        pair = self._window.current_pair()
        self.prices_action.setText(export_prices_action_text(pair))
        self.prices_action.setEnabled(pair is not None)

    @Slot()
    def _on_table_current_row_changed(self) -> None:
        self.update_actions()

    @Slot()
    def _on_prices_triggered(self) -> None:
        pair = self._window.current_pair()
        if pair is not None:
            self.ask(pair)

    @Slot()
    def _on_alerts_triggered(self) -> None:
        self.ask(None)

    def ask(self, pair: Pair | None) -> QFileDialog:
        """Open the save dialog for ``pair``'s candles (None: the alert history); window-modal, it
        returns at once and the choice comes back through ``export_requested``."""
        if self.dialog is not None:
            self.dialog.reject()
        name = default_file_name(pair, MINUTE_S if pair else None, time.time())
        dialog = QFileDialog(self._window, export_dialog_title(pair), str(Path(self._folder) / name))
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("csv")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, not use_native_dialog())
        dialog.setNameFilters(
            [EXPORT_ALERTS_FILTER] if pair is None else [EXPORT_MINUTE_FILTER, EXPORT_HOUR_FILTER]
        )
        dialog.filterSelected.connect(self._on_dialog_filter_selected)
        dialog.fileSelected.connect(self._on_dialog_file_selected)
        dialog.finished.connect(self._on_dialog_finished)
        self.dialog, self._pair = dialog, pair
        dialog.open()
        return dialog

    @Slot(str)
    def _on_dialog_filter_selected(self, chosen: str) -> None:
        # The file name says the period: follow the filter unless the user typed a name of their own.
        dialog, pair = self.dialog, self._pair
        if dialog is None or pair is None:
            return
        period = HOUR_S if chosen == EXPORT_HOUR_FILTER else MINUTE_S
        other = MINUTE_S if period == HOUR_S else HOUR_S
        typed = dialog.selectedFiles()
        if typed and Path(typed[0]).name == default_file_name(pair, other, time.time()):
            dialog.selectFile(default_file_name(pair, period, time.time()))

    @Slot(str)
    def _on_dialog_file_selected(self, path: str) -> None:
        dialog = self.dialog
        if dialog is None or not path:
            return
        self._folder = str(Path(path).parent)
        period = HOUR_S if dialog.selectedNameFilter() == EXPORT_HOUR_FILTER else MINUTE_S
        self.export_requested.emit(ExportRequest(Path(path), self._pair, period))

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()
