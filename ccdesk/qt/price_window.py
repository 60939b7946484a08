"""The main window: the price table, a status line, alert history and a banner. It only shows
what the controller gives it and reports what the user asked for; no network, keyring or storage."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QPointF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QFontMetrics, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.quote_model import DOWN_COLOR, HISTORY_ROLE, STALE_COLOR, STALE_ROLE, UP_COLOR, QuoteTableModel
from ccdesk.qt.status_line import StatusLine
from ccdesk.qt.welcome_dialog import EmptyState
from ccdesk.wording import window_title

Index = QModelIndex | QPersistentModelIndex


class SparklineDelegate(QStyledItemDelegate):
    """Draws a row's recent prices as a line: green when up over the span, red when down,
    grey when stale."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        points = index.data(HISTORY_ROLE) or []
        if len(points) < 2:
            return
        rect = option.rect.adjusted(6, 5, -6, -5)
        t0, t1 = points[0][0], points[-1][0]
        prices = [p for _, p in points]
        lo, hi = min(prices), max(prices)
        span_t = (t1 - t0) or 1.0
        span_p = (hi - lo) or 1.0
        path = QPainterPath()
        for i, (t, p) in enumerate(points):
            x = rect.left() + (t - t0) / span_t * rect.width()
            y = rect.bottom() - (p - lo) / span_p * rect.height() if hi > lo else rect.center().y()
            if i == 0:
                path.moveTo(QPointF(x, y))
            else:
                path.lineTo(QPointF(x, y))
        up = prices[-1] >= prices[0]
        color = STALE_COLOR if index.data(STALE_ROLE) else UP_COLOR if up else DOWN_COLOR
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 1.6))
        painter.drawPath(path)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(90, 24)


class Banner(QFrame):
    """Dismissible messages across the top of the window (alerts when there is no notifier and
    no tray, and one-time notices). Messages stack, newest last, until dismissed: a second
    notice never hides the first. At most ``MAX_MESSAGES`` are kept."""

    MAX_MESSAGES = 4

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.setStyleSheet(
            "#banner { background: #fff4d6; border-bottom: 1px solid #e5c86b; } QLabel { color: #3d3000; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._messages: list[str] = []
        self.hide()

    def show_text(self, text: str) -> None:
        """Add a message (one already shown is not repeated)."""
        if text in self._messages:
            self._messages.remove(text)
        self._messages.append(text)
        del self._messages[: -self.MAX_MESSAGES]
        self.label.setText("<br>".join(self._messages) if len(self._messages) > 1 else self._messages[0])
        self.show()

    def messages(self) -> list[str]:
        """The messages shown, oldest first."""
        return list(self._messages)

    @Slot()
    def dismiss(self) -> None:
        self._messages.clear()
        self.hide()


class PriceWindow(QMainWindow):
    """The small, glanceable window.

    Signals:
        settings_requested(): open the settings.
        always_on_top_changed(bool): the user toggled "always on top".
        quit_requested(): quit the app.
        hidden(): the window was closed to the tray (the controller saves its geometry).
        keyless_requested(), demo_requested(), leave_demo_requested(): the empty state's and the
            status line's choices.
    """

    settings_requested = Signal()
    keyless_requested = Signal()
    demo_requested = Signal()
    leave_demo_requested = Signal()
    always_on_top_changed = Signal(bool)
    quit_requested = Signal()
    hidden = Signal()

    def __init__(self, model: QuoteTableModel, history: AlertHistoryModel) -> None:
        super().__init__()
        self.setWindowTitle("ccdesk")
        self.close_to_tray = False
        self._demo = False
        self.model = model
        self.history_model = history

        self.banner = Banner()
        self.table = QTableView()
        self.table.setModel(model)
        self.table.setItemDelegateForColumn(QuoteTableModel.TREND, SparklineDelegate(self.table))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        # Widths are measured once from typical content. ResizeToContents would re-measure every
        # cell on each update (several times a second), which dominated the GUI thread's time.
        metrics = self.table.fontMetrics()
        bold = self.table.font()
        bold.setBold(True)
        samples = {
            QuoteTableModel.PAIR: metrics.horizontalAdvance("DOGE/USDT · Coinbase"),
            QuoteTableModel.PRICE: QFontMetrics(bold).horizontalAdvance("999,999.99"),
            QuoteTableModel.CHANGE: metrics.horizontalAdvance("▲ +99.99%"),
            QuoteTableModel.AGE: metrics.horizontalAdvance("stale · 59 min ago"),
        }
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in samples.items():
            header.resizeSection(column, width + 18)
        header.setSectionResizeMode(QuoteTableModel.TREND, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)

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
        self.prices = QStackedWidget()
        self.prices.addWidget(self.table)
        self.prices.addWidget(self.empty_state)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.prices, "Prices")
        self.tabs.addTab(self.history, "Alerts")

        self.status_line = StatusLine()
        self.status_line.settings_requested.connect(self.settings_requested)
        self.status_line.leave_demo_requested.connect(self.leave_demo_requested)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: #d9dce1")
        layout.addWidget(line)
        layout.addWidget(self.status_line)
        self.setCentralWidget(central)

        menu = self.menuBar().addMenu("&ccdesk")
        settings = QAction("&Settings…", self)
        settings.setShortcut(QKeySequence.StandardKey.Preferences)
        settings.triggered.connect(self.settings_requested)
        self.on_top_action = QAction("Always on &top", self)
        self.on_top_action.setCheckable(True)
        self.on_top_action.toggled.connect(self.always_on_top_changed)
        hide = QAction("&Hide", self)
        hide.setShortcut(QKeySequence("Ctrl+W"))
        hide.triggered.connect(self.close)
        quit_ = QAction("&Quit", self)
        quit_.setShortcut(QKeySequence.StandardKey.Quit)
        quit_.triggered.connect(self.quit_requested)
        about = QAction("&About ccdesk", self)
        about.triggered.connect(self.show_about)
        for action in (settings, self.on_top_action, hide, about, quit_):
            menu.addAction(action)
        menu.insertSeparator(about)
        self.resize(600, 330)

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
            self.prices.setCurrentWidget(self.empty_state)

    @Slot()
    def _on_history_rows_inserted(self) -> None:
        self.tabs.setTabText(1, f"Alerts ({self.history_model.rowCount()})")

    def refresh(self, now: float) -> float | None:
        """Refresh what changes with time alone (ages, staleness, the countdown, the title) for
        monotonic ``now``; returns when that next changes. Hidden, nothing needs refreshing."""
        if not self.isVisible():
            return None
        wake = self.model.refresh(now)
        line = self.status_line.refresh(now)
        if line is not None:
            wake = line if wake is None else min(wake, line)
        pinned = self.model.pinned_quote()
        title = window_title(pinned, self.model.freshness.is_fresh(pinned, now), demo=self._demo)
        if self.windowTitle() != title:
            self.setWindowTitle(title)
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
    )
