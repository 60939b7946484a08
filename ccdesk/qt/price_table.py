"""The price table's parts: the view itself (keyboard focus, row moves, a context menu per row),
the sort proxy (numbers as numbers, empty rows last), the sparkline and compacting delegates, and
how the columns give way in a narrow window (``fit_columns``). The window (``price_window``) puts
them together and keeps the sort and the hidden columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QContextMenuEvent, QKeyEvent, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from ccdesk.qt.quote_model import HISTORY_ROLE, LINE_COLOR_ROLE, NOW_ROLE, SORT_ROLE, QuoteTableModel

Index = QModelIndex | QPersistentModelIndex

COLUMN_KEYS: Mapping[int, str] = {
    QuoteTableModel.PAIR: "pair",
    QuoteTableModel.PRICE: "price",
    QuoteTableModel.CHANGE: "change",
    QuoteTableModel.TREND: "trend",
    QuoteTableModel.AGE: "updated",
    QuoteTableModel.HOLDING: "holding",
    QuoteTableModel.VALUE: "value",
    QuoteTableModel.PL: "pl",
}
"""The columns' names in the stored view state (``window/sort``, ``window/hidden_columns``)."""
HIDEABLE = (
    QuoteTableModel.PAIR,
    QuoteTableModel.CHANGE,
    QuoteTableModel.TREND,
    QuoteTableModel.AGE,
    *QuoteTableModel.HOLDING_COLUMNS,
)
"""The columns the user may hide: every one but the price, the reason the window exists."""


class ColumnSpec(NamedTuple):
    """How wide a column wants to be, and the least it can do with (pixels)."""

    preferred: int
    minimum: int


# In a narrow window, what gives way first: the sparkline shrinks; the holding columns go (the
# quantity, then the profit or loss, then the value); the sparkline goes; the pair's venue is
# elided; the 24 h change goes; the age shrinks to its current text. The price and its age stay.
_GIVE_WAY: tuple[tuple[str, int], ...] = (
    ("shrink", QuoteTableModel.TREND),
    ("drop", QuoteTableModel.HOLDING),
    ("drop", QuoteTableModel.PL),
    ("drop", QuoteTableModel.VALUE),
    ("drop", QuoteTableModel.TREND),
    ("shrink", QuoteTableModel.PAIR),
    ("drop", QuoteTableModel.CHANGE),
    ("shrink", QuoteTableModel.AGE),
)
TEXT_MARGIN_PX = 4
"""The item view's text margin on each side (Fusion's focus-frame margin + 1)."""
MIN_PAIR_PX = 28
"""Below this the pair column says nothing useful; the age goes before the pair gets narrower."""


def fit_columns(available: int, specs: Mapping[int, ColumnSpec]) -> dict[int, int]:
    """The width of each column to show in ``available`` pixels (a column left out is hidden).

    Every column gets its preferred width if they all fit; spare width goes to the sparkline (or,
    without it, to the pair). Otherwise they give way in ``_GIVE_WAY``'s order; then the pair takes
    what is left (at least ``MIN_PAIR_PX``, else the age goes too). The price never shrinks: if it
    alone does not fit, the view scrolls.
    """
    widths = {col: spec.preferred for col, spec in specs.items()}

    def excess() -> int:
        return sum(widths.values()) - available

    for how, col in _GIVE_WAY:
        if excess() <= 0:
            break
        if col not in widths:
            continue
        if how == "drop":
            del widths[col]
        else:
            widths[col] = max(specs[col].minimum, widths[col] - excess())
    pair, age = QuoteTableModel.PAIR, QuoteTableModel.AGE
    if excess() > 0 and pair in widths:
        widths[pair] = max(MIN_PAIR_PX, widths[pair] - excess())
        if excess() > 0 and age in widths:
            del widths[age]
            widths[pair] = max(MIN_PAIR_PX, widths[pair] - excess())
        if excess() > 0:
            del widths[pair]
    elif excess() > 0 and age in widths:
        del widths[age]
    spare = -excess()
    if spare > 0:
        grow = QuoteTableModel.TREND if QuoteTableModel.TREND in widths else pair if pair in widths else None
        if grow is not None:
            widths[grow] += spare
    return widths


def sparkline_paths(
    segments: list[list[tuple[float, float]]],
    left: float,
    top: float,
    width: float,
    height: float,
    now: float | None = None,
) -> list[QPainterPath]:
    """One path per segment of the sparkline, all on the same time and price scale: a gap in the
    data is a gap on screen. The time axis ends at ``now`` (if later than the last sample), so a line
    whose prices stopped coming stops short. A segment of one sample is a short dash (a dot would
    vanish)."""
    points = [p for seg in segments for p in seg]
    if not points:
        return []
    t0, t1 = points[0][0], max(points[-1][0], now or points[-1][0])
    prices = [p for _, p in points]
    lo, hi = min(prices), max(prices)
    span_t = (t1 - t0) or 1.0
    span_p = (hi - lo) or 1.0
    bottom = top + height

    def at(t: float, p: float) -> QPointF:
        x = left + (t - t0) / span_t * width
        y = bottom - (p - lo) / span_p * height if hi > lo else top + height / 2
        return QPointF(x, y)

    paths = []
    for seg in segments:
        if not seg:
            continue
        path = QPainterPath()
        path.moveTo(at(*seg[0]))
        if len(seg) == 1:
            start = path.currentPosition()
            dx = 2.0 if start.x() + 2.0 <= left + width else -2.0  # at the right edge: leftwards
            path.lineTo(QPointF(start.x() + dx, start.y()))
        for t, p in seg[1:]:
            path.lineTo(at(t, p))
        paths.append(path)
    return paths


class SparklineDelegate(QStyledItemDelegate):
    """Draws a row's recent prices as a line, broken where prices stopped coming: green when up
    over the span, red when down, grey when stale (the model says which colour)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        segments = index.data(HISTORY_ROLE) or []
        if sum(len(s) for s in segments) < 2:
            return
        rect = option.rect.adjusted(6, 5, -6, -5)
        now = index.data(NOW_ROLE)
        paths = sparkline_paths(
            segments,
            rect.left(),
            rect.top(),
            rect.width(),
            rect.height(),
            now if isinstance(now, float) else None,
        )
        color = index.data(LINE_COLOR_ROLE)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color if isinstance(color, QColor) else QColor("#8a8f98"), 1.6))
        for path in paths:
            painter.drawPath(path)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(90, 24)


def short_pair(text: str) -> str:
    """The pair column's text when the venue does not fit: ``BTC/USD · Kraken`` -> ``BTC/USD``."""
    return text.split(" · ", 1)[0]


def short_age(text: str) -> str:
    """The age column's text when the whole does not fit: ``stale · 1 min ago`` -> ``stale · 1 min``
    (the word "stale" stays: a stale price is never shown as live)."""
    return text.removesuffix(" ago")


class CompactingDelegate(QStyledItemDelegate):
    """Shows a shorter form of the text (``compact``) when the whole does not fit the column, before
    eliding: ``BTC/USD`` says more than ``BTC/USD · Kr…``."""

    def __init__(self, compact: Callable[[str], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._compact = compact

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        text = option.text
        room = option.rect.width() - 2 * TEXT_MARGIN_PX
        if text and option.fontMetrics.horizontalAdvance(text) > room:
            option.text = self._compact(text)


class QuoteSortProxy(QSortFilterProxyModel):
    """Sorts the rows by the model's ``SORT_ROLE`` values (numbers as numbers); rows without a
    value (no price yet, refused) stay last in either order. Ties keep the watchlist order: Qt's
    proxy sorts stably. Column -1: the watchlist order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)  # rows move as prices change, under the same sort

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:
            # None last whichever way: in descending order Qt asks the inverse question.
            last = b is None and a is not None
            return last if self.sortOrder() is Qt.SortOrder.AscendingOrder else (a is None and b is not None)
        return bool(a < b)


_WINDOW_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Escape)


class PriceTable(QTableView):
    """The price table: takes keyboard focus, moves by rows, and leaves Copy and Delete to the
    window's actions (QAbstractItemView would copy the cell's grouped text itself)."""

    context_menu_requested = Signal(QPoint)

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Prices")
        self.setAccessibleDescription(
            "One row per watched pair: price, 24 hour change, trend and age; with a holding, its value and "
            "profit or loss, with the totals under the table. "
            "Arrow keys move between pairs; the context menu key opens the pair's actions."
        )
        self.setItemDelegateForColumn(QuoteTableModel.TREND, SparklineDelegate(self))
        self.setItemDelegateForColumn(QuoteTableModel.PAIR, CompactingDelegate(short_pair, self))
        self.setItemDelegateForColumn(QuoteTableModel.AGE, CompactingDelegate(short_age, self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setTabKeyNavigation(False)  # Tab leaves the table for the next control
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalHeader().setVisible(False)
        self.setCornerButtonEnabled(False)  # "select all" has no use in a one-row selection
        corner = self.findChild(QAbstractButton, "qt_tableview_cornerbutton")
        if corner is not None:
            corner.setAccessibleName("Corner (no action)")
        self.verticalHeader().setDefaultSectionSize(28)

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and (event.matches(QKeySequence.StandardKey.Copy) or event.key() in _WINDOW_KEYS)
        ):
            event.ignore()  # let the window's shortcut have it
            return False
        return super().event(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() is QContextMenuEvent.Reason.Keyboard:
            index = self.currentIndex()
            pos = self.visualRect(index).center() if index.isValid() else QPoint(8, 8)
        else:
            pos = event.pos()
            index = self.indexAt(pos)
            if index.isValid():
                self.setCurrentIndex(index)
        if self.currentIndex().isValid():
            self.context_menu_requested.emit(self.viewport().mapToGlobal(pos))
