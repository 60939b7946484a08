"""The main window: the price table (``price_table``: sortable, columns that give way in a narrow
window, a menu per row), a status line, the alert pause, alert history and a banner (``banner``).
It only shows what the controller gives it and reports what the user asked for; no network,
keyring or storage."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.formatting import plain_price
from ccdesk.core.pairs import Pair
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.banner import Banner
from ccdesk.qt.price_table import (
    COLUMN_KEYS,
    HIDEABLE,
    MIN_PAIR_PX,
    TEXT_MARGIN_PX,
    ColumnSpec,
    PriceTable,
    QuoteSortProxy,
    fit_columns,
    short_age,
    short_pair,
)
from ccdesk.qt.quote_model import (
    DARK_COLORS,
    LIGHT_COLORS,
    PAIR_ROLE,
    QuoteTableModel,
)
from ccdesk.qt.status_line import PausedLine, StatusLine
from ccdesk.qt.welcome_dialog import EmptyState
from ccdesk.wording import (
    CHART_MENU_ACTION,
    REMOVE_PAIR_DETAIL,
    REMOVE_PAIR_QUESTION,
    THIRD_PARTY_NOTICE,
    pair_label,
    profit_text,
    total_line,
    unwatched_holdings_line,
    window_title,
)


class PriceWindow(QMainWindow):
    """The small, glanceable window.

    Signals:
        settings_requested(): open the settings.
        always_on_top_changed(bool): the user toggled "always on top".
        quit_requested(): quit the app.
        hidden(): the window was closed to the tray (the controller saves its geometry).
        keyless_requested(), demo_requested(), leave_demo_requested(): the empty state's and the
            status line's choices.
        pin_requested(Pair): show this pair in the tray.
        remove_requested(Pair): stop watching this pair (the user confirmed).
        alert_at_price_requested(Pair): a new alert rule at this pair's current price.
        holding_requested(Pair): edit this pair's holding (the controller opens the dialog).
        resume_requested(): alerts again (the paused line's button).
        view_state_changed(): the sort or the hidden columns changed (the controller saves them).
        chart_requested(Pair): open this pair's chart (a double-click on its row, or "Chart…").
    """

    settings_requested = Signal()
    keyless_requested = Signal()
    demo_requested = Signal()
    leave_demo_requested = Signal()
    always_on_top_changed = Signal(bool)
    quit_requested = Signal()
    hidden = Signal()
    pin_requested = Signal(object)
    remove_requested = Signal(object)
    alert_at_price_requested = Signal(object)
    holding_requested = Signal(object)
    resume_requested = Signal()
    view_state_changed = Signal()
    chart_requested = Signal(object)

    def __init__(self, model: QuoteTableModel, history: AlertHistoryModel) -> None:
        super().__init__()
        self.setWindowTitle("ccdesk")
        self.close_to_tray = False
        self._demo = False
        self.model = model
        self.history_model = history
        self.confirm_remove: Callable[[Pair], bool] = self._ask_remove
        """Asks before a pair is removed (tests replace it)."""
        self._user_hidden: set[int] = set()
        self._dark: bool | None = None

        self.banner = Banner()
        self.proxy = QuoteSortProxy(self)
        self.proxy.setSourceModel(model)
        self.table = PriceTable()
        self.table.setModel(self.proxy)
        self.table.context_menu_requested.connect(self._on_table_context_menu_requested)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(MIN_PAIR_PX)
        # The window decides every width (``fit_columns``); ResizeToContents would re-measure every
        # cell on each update (several times a second), which dominated the GUI thread's time.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        header.sortIndicatorChanged.connect(self._on_header_sort_indicator_changed)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._on_header_context_menu_requested)
        for to, col in enumerate(QuoteTableModel.HOLDING_COLUMNS, start=QuoteTableModel.TREND):
            header.moveSection(header.visualIndex(col), to)  # after the 24 h change, before the trend
        self.table.viewport().installEventFilter(self)
        model.modelReset.connect(self._schedule_fit)
        model.rowsInserted.connect(self._schedule_fit)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.timeout.connect(self.fit_columns)
        self._fit_specs: dict[int, ColumnSpec] = {}

        self.history = QListView()
        self.history.setModel(history)
        self.history.setAlternatingRowColors(True)
        self.history.setWordWrap(True)
        self.history.setAccessibleName("Alert history")
        history.rowsInserted.connect(self._on_history_rows_inserted)

        self.empty_state = EmptyState()
        self.empty_state.keyless_requested.connect(self.keyless_requested)
        self.empty_state.key_requested.connect(self.settings_requested)
        self.empty_state.demo_requested.connect(self.demo_requested)
        self.empty_state.text.setAccessibleName("Why there are no prices")
        # In a scroll area: its row of buttons must not make the whole window at least as wide.
        self.empty_scroll = QScrollArea()
        self.empty_scroll.setWidgetResizable(True)
        self.empty_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.empty_scroll.setWidget(self.empty_state)
        self.prices = QStackedWidget()
        self.prices.addWidget(self.table)
        self.prices.addWidget(self.empty_scroll)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Prices and alert history")
        self.tabs.addTab(self.prices, "Prices")
        self.tabs.addTab(self.history, "Alerts")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

        # The totals per quote currency: a line under the table, not a row of it, so the sort
        # proxy never moves it among the pairs.
        self.totals_line = QLabel()
        self.totals_line.setObjectName("totals")
        self.totals_line.setAccessibleName("Portfolio totals")
        self.totals_line.setTextFormat(Qt.TextFormat.RichText)
        self.totals_line.setWordWrap(True)
        self.totals_line.setContentsMargins(8, 4, 8, 4)
        self.totals_line.hide()
        self._totals_timer = QTimer(self)
        self._totals_timer.setSingleShot(True)
        self._totals_timer.timeout.connect(self.update_totals)
        model.holdings_changed.connect(self._on_model_holdings_changed)
        model.dataChanged.connect(self._on_model_data_changed)
        model.modelReset.connect(self._on_model_holdings_changed)

        self.paused_line = PausedLine()
        self.paused_line.resume_requested.connect(self.resume_requested)
        self.status_line = StatusLine()
        self.status_line.settings_requested.connect(self.settings_requested)
        self.status_line.leave_demo_requested.connect(self.leave_demo_requested)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.totals_line)
        self.separator = QFrame()
        self.separator.setFrameShape(QFrame.Shape.HLine)
        self.separator.setFrameShadow(QFrame.Shadow.Plain)
        layout.addWidget(self.separator)
        layout.addWidget(self.paused_line)
        layout.addWidget(self.status_line)
        self.setCentralWidget(central)
        self._build_menus()
        # Escape hides the window, as closing it does (to the tray; minimised without one).
        self._escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self._escape.activated.connect(self._on_escape_activated)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)
        self.follow_color_scheme()
        self.resize(600, 330)
        self._update_row_actions()

    # -- menus and actions -----------------------------------------------------------------------

    def _action(
        self, text: str, slot: Callable[[], None], *shortcuts: QKeySequence.StandardKey | str
    ) -> QAction:
        action = QAction(text, self)
        keys: list[QKeySequence] = []
        for key in shortcuts:
            more = (
                QKeySequence.keyBindings(key)
                if isinstance(key, QKeySequence.StandardKey)
                else [QKeySequence(key)]
            )
            keys += [k for k in more if not k.isEmpty() and k not in keys]
        if keys:
            action.setShortcuts(keys)
        action.triggered.connect(slot)
        self.addAction(action)  # the shortcut works with the menu bar hidden, too
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        bar.setAccessibleName("Menu bar")
        more = bar.findChild(QToolButton, "qt_menubar_ext_button")  # shown when the menus do not fit
        if more is not None:
            more.setAccessibleName("More menus")
        menu = bar.addMenu("&ccdesk")
        # Ctrl+, everywhere: the platform's Preferences key is empty on several Linux desktops.
        settings = self._action(
            "&Settings…", self.settings_requested.emit, QKeySequence.StandardKey.Preferences, "Ctrl+,"
        )
        self.on_top_action = QAction("Always on &top", self)
        self.on_top_action.setCheckable(True)
        self.on_top_action.toggled.connect(self.always_on_top_changed)
        hide = self._action("&Hide", self._on_escape_activated, "Ctrl+W")
        quit_ = self._action("&Quit", self.quit_requested.emit, QKeySequence.StandardKey.Quit)
        about = QAction("&About ccdesk", self)
        about.triggered.connect(self.show_about)
        for action in (settings, self.on_top_action, hide, about, quit_):
            menu.addAction(action)
        menu.insertSeparator(about)
        self.app_menu, self.hide_action = menu, hide  # where the export items go (ExportActions)

        self.pin_action = self._action("&Pin to tray", self._on_pin_triggered, "Ctrl+P")
        self.copy_action = self._action("&Copy price", self._on_copy_triggered, QKeySequence.StandardKey.Copy)
        self.alert_action = self._action("&Alert at this price…", self._on_alert_triggered, "Ctrl+L")
        self.remove_action = self._action(
            "&Remove…", self._on_remove_triggered, QKeySequence.StandardKey.Delete
        )
        self.holding_action = self._action("&Holding…", self._on_holding_triggered, "Ctrl+Shift+H")
        self.chart_action = self._action(CHART_MENU_ACTION, self._on_chart_triggered, "Ctrl+G")
        self.row_actions = (
            self.pin_action,
            self.copy_action,
            self.alert_action,
            self.chart_action,
            self.holding_action,
            self.remove_action,
        )
        for action in self.row_actions:
            # Ctrl+C belongs to a text field when one has the focus; these act on the table's row.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.pair_menu = bar.addMenu("&Pair")
        self._fill_row_menu(self.pair_menu)

        view = bar.addMenu("&View")
        self.column_actions: dict[int, QAction] = {}
        columns = view.addMenu("&Columns")
        for col in range(self.model.columnCount()):
            action = QAction(self.model.HEADERS[col], self)
            action.setCheckable(True)
            action.setChecked(True)
            action.setEnabled(col in HIDEABLE)
            action.toggled.connect(lambda on, c=col: self.set_column_hidden(c, not on))
            columns.addAction(action)
            self.column_actions[col] = action
        sort = view.addMenu("&Sort by")
        group = QActionGroup(self)
        self.sort_actions: dict[int, QAction] = {}
        names = {-1: "&Watchlist order", **{c: self.model.HEADERS[c] for c in COLUMN_KEYS}}
        for col, name in names.items():
            if col == QuoteTableModel.TREND:
                continue
            action = QAction(name, self)
            action.setCheckable(True)
            action.setChecked(col == -1)
            group.addAction(action)
            action.triggered.connect(lambda _=False, c=col: self.set_sort(c, self._sort_order()))
            sort.addAction(action)
            self.sort_actions[col] = action
        sort.addSeparator()
        self.descending_action = QAction("&Descending", self)
        self.descending_action.setCheckable(True)
        self.descending_action.triggered.connect(self._on_descending_triggered)
        sort.addAction(self.descending_action)
        self.history_action = self._action("Alert &history", self._on_history_triggered, "Ctrl+H")
        view.addAction(self.history_action)
        self.prices_action = self._action("&Prices", self._on_prices_triggered, "Ctrl+1")
        view.addAction(self.prices_action)

    def _fill_row_menu(self, menu: QMenu) -> None:
        menu.addAction(self.pin_action)
        menu.addAction(self.copy_action)
        menu.addAction(self.alert_action)
        menu.addAction(self.chart_action)
        menu.addAction(self.holding_action)
        menu.addSeparator()
        menu.addAction(self.remove_action)

    def row_menu(self) -> QMenu:
        """The menu of the current row's actions (the table's right-click menu)."""
        menu = QMenu(self)
        menu.setAccessibleName("Pair actions")
        self._fill_row_menu(menu)
        return menu

    def current_pair(self) -> Pair | None:
        """The pair of the table's current row, or None."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        pair = index.data(PAIR_ROLE)
        return pair if isinstance(pair, Pair) else None

    def select_pair(self, pair: Pair) -> bool:
        """Make ``pair``'s row the current one (False when it is not in the table)."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, QuoteTableModel.PRICE)
            if index.data(PAIR_ROLE) == pair:
                self.table.setCurrentIndex(index)
                return True
        return False

    @Slot()
    def _on_table_current_row_changed(self) -> None:
        self._update_row_actions()

    @Slot(int)
    def _on_tabs_current_changed(self, _index: int) -> None:
        self._update_row_actions()
        self.update_totals()

    def _update_row_actions(self) -> None:
        # Only while the prices are on screen: Ctrl+C or Delete in the Alerts tab must not act on a
        # row the user cannot see.
        on_prices = self.tabs.currentWidget() is self.prices and self.prices.currentWidget() is self.table
        pair = self.current_pair() if on_prices else None
        for action in self.row_actions:
            action.setEnabled(pair is not None)
        self.copy_action.setEnabled(pair is not None and self._current_price() is not None)
        label = "" if pair is None else f" ({pair_label(pair)})"
        for action in self.row_actions:
            action.setStatusTip(action.text().replace("&", "") + label)

    def _current_price(self) -> float | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.price_at(self.proxy.mapToSource(index).row())

    @Slot(QPoint)
    def _on_table_context_menu_requested(self, global_pos: QPoint) -> None:
        self._update_row_actions()
        self.row_menu().exec(global_pos)

    @Slot()
    def _on_pin_triggered(self) -> None:
        pair = self.current_pair()
        if pair is not None:
            self.pin_requested.emit(pair)

    @Slot()
    def _on_copy_triggered(self) -> None:
        price = self._current_price()
        if price is not None:
            QGuiApplication.clipboard().setText(plain_price(price))

    @Slot()
    def _on_alert_triggered(self) -> None:
        pair = self.current_pair()
        if pair is not None:
            self.alert_at_price_requested.emit(pair)

    @Slot()
    def _on_holding_triggered(self) -> None:
        pair = self.current_pair()
        if pair is not None:
            self.holding_requested.emit(pair)

    def _on_chart_triggered(self) -> None:
        pair = self.current_pair()
        if pair is not None:
            self.chart_requested.emit(pair)

    @Slot(QModelIndex)
    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        pair = index.data(PAIR_ROLE)
        if isinstance(pair, Pair):
            self.chart_requested.emit(pair)

    @Slot()
    def _on_remove_triggered(self) -> None:
        pair = self.current_pair()
        if pair is not None and self.confirm_remove(pair):
            self.remove_requested.emit(pair)

    def _ask_remove(self, pair: Pair) -> bool:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove pair")
        box.setText(REMOVE_PAIR_QUESTION.format(label=pair_label(pair)))
        box.setInformativeText(REMOVE_PAIR_DETAIL)
        remove = box.addButton("&Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is remove

    @Slot()
    def _on_history_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.history)
        self.history.setFocus()

    @Slot()
    def _on_prices_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.prices)
        self.table.setFocus()

    @Slot()
    def _on_escape_activated(self) -> None:
        if self.close_to_tray:
            self.close()
        else:
            self.showMinimized()  # no tray to come back from: Escape must not quit

    # -- sorting and columns ---------------------------------------------------------------------

    def _sort_order(self) -> Qt.SortOrder:
        return (
            Qt.SortOrder.DescendingOrder
            if self.descending_action.isChecked()
            else Qt.SortOrder.AscendingOrder
        )

    @Slot()
    def _on_descending_triggered(self) -> None:
        self.set_sort(self.sort_column(), self._sort_order())

    def sort_column(self) -> int:
        """The column the rows are sorted by; -1: the watchlist order."""
        return self.table.horizontalHeader().sortIndicatorSection()

    def set_sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (-1 or the sparkline: the watchlist order)."""
        if column not in COLUMN_KEYS or column == QuoteTableModel.TREND:
            column = -1
        self.table.horizontalHeader().setSortIndicator(column, order)
        self.table.sortByColumn(
            column, order
        )  # the same thing again, in case the indicator was already there

    @Slot(int, Qt.SortOrder)
    def _on_header_sort_indicator_changed(self, column: int, order: Qt.SortOrder) -> None:
        if column == QuoteTableModel.TREND:  # a line has no order: back to the watchlist's
            QTimer.singleShot(0, lambda: self.set_sort(-1))
            return
        action = self.sort_actions.get(column if column in self.sort_actions else -1)
        if action is not None:
            action.setChecked(True)
        self.descending_action.setChecked(order is Qt.SortOrder.DescendingOrder)
        self.view_state_changed.emit()

    def set_column_hidden(self, column: int, hidden: bool) -> None:
        """Hide or show a column (the price cannot be hidden)."""
        if column not in HIDEABLE or (column in self._user_hidden) == hidden:
            return
        if hidden:
            self._user_hidden.add(column)
        else:
            self._user_hidden.discard(column)
        action = self.column_actions[column]
        if action.isChecked() == hidden:
            action.blockSignals(True)
            action.setChecked(not hidden)
            action.blockSignals(False)
        self.fit_columns()
        self.view_state_changed.emit()

    def hidden_columns(self) -> set[int]:
        """The columns the user hid (not those a narrow window hides)."""
        return set(self._user_hidden)

    @Slot(QPoint)
    def _on_header_context_menu_requested(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.setAccessibleName("Columns")
        for action in self.column_actions.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.sort_actions[-1])
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    def view_state(self) -> dict[str, str]:
        """The sort and the hidden columns as text for the settings store: ``{"sort": "price:desc",
        "hidden_columns": "trend,updated"}`` (``"sort": ""``: the watchlist order)."""
        col = self.sort_column()
        order = (
            "desc"
            if self.table.horizontalHeader().sortIndicatorOrder() is Qt.SortOrder.DescendingOrder
            else "asc"
        )
        sort = f"{COLUMN_KEYS[col]}:{order}" if col in COLUMN_KEYS else ""
        hidden = ",".join(COLUMN_KEYS[c] for c in sorted(self._user_hidden))
        return {"sort": sort, "hidden_columns": hidden}

    def restore_view_state(self, state: Mapping[str, str | None]) -> None:
        """Go back to a sort and hidden columns saved with ``view_state`` (junk is ignored)."""
        by_key = {key: col for col, key in COLUMN_KEYS.items()}
        name, _, order = (state.get("sort") or "").partition(":")
        self.set_sort(
            by_key.get(name.strip(), -1),
            Qt.SortOrder.DescendingOrder if order.strip() == "desc" else Qt.SortOrder.AscendingOrder,
        )
        hidden = {
            by_key[k.strip()] for k in (state.get("hidden_columns") or "").split(",") if k.strip() in by_key
        }
        for col in HIDEABLE:
            self.set_column_hidden(col, col in hidden)

    # -- widths ----------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    @Slot()
    def _schedule_fit(self) -> None:
        self._fit_timer.start(0)

    def _texts(self, column: int) -> Iterable[str]:
        for row in range(self.model.rowCount()):
            text = self.model.data(self.model.index(row, column))
            if text:
                yield str(text)

    def column_specs(self) -> dict[int, ColumnSpec]:
        """Each shown column's preferred and least width, from the texts it shows now. The price's
        least is its widest text; it prefers a digit to spare, so a price that grows by a digit is
        not cut before the next fit. The pair can do with ``short_pair``, the age with ``short_age``."""
        pad = 2 * TEXT_MARGIN_PX + 4
        metrics = self.table.fontMetrics()
        bold_font = self.table.font()
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)

        def widest(m: QFontMetrics, texts: Iterable[str], floor: str = "") -> int:
            return max((m.horizontalAdvance(t) for t in (*texts, floor)), default=0) + pad

        pairs = list(self._texts(QuoteTableModel.PAIR))
        ages = list(self._texts(QuoteTableModel.AGE))
        prices = list(self._texts(QuoteTableModel.PRICE))
        stale = any(a.startswith("stale") for a in ages)
        header = {c: metrics.horizontalAdvance(str(self.model.HEADERS[c])) + pad + 12 for c in COLUMN_KEYS}
        specs = {
            QuoteTableModel.PAIR: ColumnSpec(
                widest(metrics, pairs, "BTC/USD"), widest(metrics, map(short_pair, pairs), "BTC/USD")
            ),
            QuoteTableModel.PRICE: ColumnSpec(
                widest(bold, (p + "0" for p in prices), "0.0000"), widest(bold, prices, "0.0000")
            ),
            QuoteTableModel.CHANGE: ColumnSpec(*[widest(metrics, (), "▲ +99.99%")] * 2),
            QuoteTableModel.TREND: ColumnSpec(90, 48),
            QuoteTableModel.AGE: ColumnSpec(
                widest(metrics, ages, "stale · 59 min ago" if stale else "59 s ago"),
                widest(metrics, map(short_age, ages), "59 s"),
            ),
        }
        # The header's title (and its sort arrow) is the least a column prefers, when there is room.
        if self.model.has_holdings():
            for col in QuoteTableModel.HOLDING_COLUMNS:
                w = widest(
                    metrics, self._texts(col), "+0,000.00 (+00.00%)" if col == QuoteTableModel.PL else ""
                )
                specs[col] = ColumnSpec(w, w)
        specs = {c: ColumnSpec(max(s.preferred, header[c]), s.minimum) for c, s in specs.items()}
        return {col: spec for col, spec in specs.items() if col not in self._user_hidden}

    @Slot()
    def fit_columns(self) -> None:
        """Size the columns to the table's width (``fit_columns``): no horizontal scrolling at any
        sane width, and the price and its age the last to go."""
        specs = self.column_specs()
        available = self.table.viewport().width()
        if available <= 0:
            return
        widths = fit_columns(available, specs)
        self._fit_specs = specs
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            width = widths.get(col)
            header.setSectionHidden(col, width is None)
            if width is not None and header.sectionSize(col) != width:
                header.resizeSection(col, width)

    def _needs_fit(self) -> bool:
        """True when the texts shown changed the widths wanted since the last fit (a price grew by a
        digit, a pair turned stale)."""
        return self.column_specs() != self._fit_specs

    # -- holdings --------------------------------------------------------------------------------

    @Slot()
    def _on_model_holdings_changed(self) -> None:
        self.fit_columns()
        self.update_totals()

    @Slot()
    def _on_model_data_changed(self) -> None:
        # Prices tick many times a second: the totals follow at most five times a second.
        if self.totals_line.isVisibleTo(self) and not self._totals_timer.isActive():
            self._totals_timer.start(200)

    @Slot()
    def update_totals(self) -> None:
        """Show the totals per quote currency under the table (while the prices are shown and some
        watched pair has a holding)."""
        on_prices = self.tabs.currentWidget() is self.prices and self.prices.currentWidget() is self.table
        shown = on_prices and self.model.has_holdings()
        if shown:
            colors = self.model.colors
            lines = []
            for t in self.model.portfolio_totals():
                text = html.escape(total_line(t))
                pl = html.escape(profit_text(t.profit, t.profit_pct))
                sign = (
                    0 if t.profit is None else (1 if pl.startswith("+") else -1 if pl.startswith("-") else 0)
                )
                if pl and sign:
                    color = (colors.up if sign > 0 else colors.down).name()
                    text = text.replace(f"P/L {pl}", f'P/L <span style="color:{color}">{pl}</span>', 1)
                lines.append(text)
            unwatched = self.model.unwatched_holdings()
            if unwatched:
                note = html.escape(unwatched_holdings_line(unwatched))
                lines.append(f'<span style="color:{colors.stale.name()}">{note}</span>')
            text = "<br>".join(lines)
            if self.totals_line.text() != text:
                self.totals_line.setText(text)
        if self.totals_line.isVisibleTo(self) != shown:
            self.totals_line.setVisible(shown)

    def totals_text(self) -> str:
        """The totals line as plain text (for tests and the accessible description)."""
        return self.totals_line.text()

    # -- light and dark --------------------------------------------------------------------------

    @Slot(Qt.ColorScheme)
    def _on_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        self.follow_color_scheme()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.follow_color_scheme()
        super().changeEvent(event)

    def follow_color_scheme(self) -> None:
        """Use the colours that read on the window's background. The palette decides, not the hint
        alone: it is what is drawn (a platform without a colour-scheme hint still has a dark palette
        under a dark theme), and Qt updates it when the system scheme changes."""
        scheme = QGuiApplication.styleHints().colorScheme()
        lightness = self.palette().color(QPalette.ColorRole.Window).lightness()
        dark = scheme is Qt.ColorScheme.Dark if scheme is not Qt.ColorScheme.Unknown else lightness < 128
        if lightness >= 128 and scheme is Qt.ColorScheme.Dark:
            dark = False  # the style draws light whatever the hint says: colours for light
        if dark == self._dark:
            return
        self._dark = dark
        self.model.set_colors(DARK_COLORS if dark else LIGHT_COLORS)
        self.status_line.set_dark(dark)
        self.banner.set_dark(dark)
        self.separator.setStyleSheet(f"color: {'#3a3d42' if dark else '#d9dce1'}")
        self.update_totals()

    def is_dark(self) -> bool:
        """True while the window uses its dark-scheme colours."""
        return bool(self._dark)

    # -- what the controller gives it ------------------------------------------------------------

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, "About ccdesk", about_text())

    @Slot(str)
    def show_banner(self, text: str) -> None:
        self.banner.show_text(text)

    def show_empty_state(self, text: str | None) -> None:
        """Show why there are no prices and the ways to get some, instead of the table; None: the table."""
        if text is None:
            self.prices.setCurrentWidget(self.table)
        else:
            self.empty_state.set_text(text)
            self.prices.setCurrentWidget(self.empty_scroll)
        self._update_row_actions()
        self.update_totals()

    @Slot(object)
    def set_paused(self, until: float | None) -> None:
        """Say that alerts are paused until wall time ``until`` (``math.inf``: until resumed), with a
        Resume button; None: not paused."""
        self.paused_line.set_paused(until)

    @Slot()
    def _on_history_rows_inserted(self) -> None:
        self.tabs.setTabText(1, f"Alerts ({self.history_model.rowCount()})")

    def refresh(self, now: float) -> float | None:
        """Refresh what changes with time alone (ages, staleness, the countdown, the title) for
        monotonic ``now``; returns when that next changes. Hidden, nothing needs refreshing."""
        if not self.isVisible():
            return None
        wake = self.model.refresh(now)
        self.status_line.set_last_price(self.model.newest_update_at(), self.model.freshness.stale_after_s)
        line = self.status_line.refresh(now)
        if line is not None:
            wake = line if wake is None else min(wake, line)
        pinned = self.model.pinned_quote()
        title = window_title(pinned, self.model.freshness.is_fresh(pinned, now), demo=self._demo)
        if self.windowTitle() != title:
            self.setWindowTitle(title)
        if self._needs_fit():
            self.fit_columns()
        self._update_row_actions()
        self.update_totals()
        return wake

    def set_demo(self, demo: bool) -> None:
        """Simulated prices: the title and the status line say so, and offer to leave."""
        self._demo = demo
        self.status_line.set_demo(demo)
        self.setWindowTitle(window_title(None, True, demo=demo))

    def set_always_on_top(self, on: bool) -> None:
        """Apply the flag (re-showing the window if it was visible, as Qt requires)."""
        visible = self.isVisible()
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, on)
        if self.on_top_action.isChecked() != on:
            self.on_top_action.blockSignals(True)
            self.on_top_action.setChecked(on)
            self.on_top_action.blockSignals(False)
        if visible:
            self.show()

    def geometry_text(self) -> str:
        """The window's place and size, as text for the settings store."""
        return bytes(self.saveGeometry().toBase64().data()).decode("ascii")

    def restore_geometry_text(self, text: str | None) -> None:
        """Go back to a place and size saved with ``geometry_text`` (nothing for None or junk)."""
        if text:
            self.restoreGeometry(QByteArray.fromBase64(text.encode("ascii", "replace")))

    def bring_forward(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_to_tray:
            event.ignore()
            self.hide()
            self.hidden.emit()
        else:
            event.accept()
            self.quit_requested.emit()


def about_text() -> str:
    """The About box: name, version (from the package metadata, the one place it is kept), purpose."""
    from ccdesk import __version__

    return (
        f"<h3>ccdesk {__version__}</h3>"
        "<p>Live crypto prices in a small window and the system tray, with desktop alerts when a "
        "coin moves.</p>"
        "<p>Price data: Kraken, Coinbase, Binance and OKX (public feeds, no key), and with your "
        "paid key CoinDesk Data and CryptoCompare. API keys are kept in your system keyring.</p>"
        f"<p>{THIRD_PARTY_NOTICE}</p>"
    )
