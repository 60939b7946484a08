"""The chart window of one pair (one source): ranges, line and candle views, crosshair, alert markers,
level and cost-basis lines, live updates. Drawn with Qt Charts; the data work is ``core.chart_data``.

The store is read on a background job (``BackgroundJobs``); the window shows "Reading…" until the
answer comes and says so when there is no history. Live quotes (the controller forwards the model's
batches) fold into the last minute; the chart repaints at most ``REPAINT_MS`` apart.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCharts import (
    QCandlestickSeries,
    QCandlestickSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QLineSeries,
    QScatterSeries,
    QValueAxis,
)
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QGuiApplication,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import Alert, LevelRule, Rule
from ccdesk.core.candles import MINUTE_S, Candle
from ccdesk.core.chart_data import (
    ChartRange,
    History,
    LineBuckets,
    bucket_width,
    candle_at,
    crosshair_time,
    line_from_history,
    live_candle,
    load_history,
    price_axis,
    time_ticks,
    time_window,
    view_candles,
)
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.formatting import format_price
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import Quote
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.wording import (
    CHART_CANDLES,
    CHART_LINE,
    CHART_LOADING,
    CHART_RANGE_NAMES,
    chart_cost_label,
    chart_crosshair_candle_text,
    chart_crosshair_text,
    chart_empty_text,
    chart_level_label,
    chart_title,
)

log = logging.getLogger(__name__)

REPAINT_MS = 250
"""Live prices are drawn at most this often (a 30-day chart moves less than a pixel a minute)."""

ReadAlerts = Callable[[Pair, float], list[Alert]]
"""Reads a pair's alerts since a wall time: ``read(sub, since)``."""


@dataclass(frozen=True, slots=True)
class ChartColors:
    line: QColor
    up: QColor
    down: QColor
    grid: QColor
    text: QColor
    background: QColor
    level: QColor
    cost: QColor
    marker: QColor


LIGHT = ChartColors(
    QColor("#1f6feb"), QColor("#1a7f37"), QColor("#cf222e"), QColor("#e3e6ea"), QColor("#24292f"),
    QColor("#ffffff"), QColor("#bf8700"), QColor("#8250df"), QColor("#d1242f"),
)  # fmt: skip
DARK = ChartColors(
    QColor("#58a6ff"), QColor("#4cd787"), QColor("#ff7a70"), QColor("#30363d"), QColor("#e6edf3"),
    QColor("#161b22"), QColor("#e3b341"), QColor("#bc8cff"), QColor("#ff7b72"),
)  # fmt: skip


def local_offset_s(t: float) -> float:
    """The local time zone's offset from UTC at wall time ``t``, in seconds."""
    return float(time.localtime(t).tm_gmtoff)


class _ChartView(QChartView):
    """The plot: reports the pointer's position (in the chart's values) for the crosshair."""

    pointer_moved = Signal(QPointF)
    pointer_left = Signal()

    def __init__(self, chart: QChart) -> None:
        super().__init__(chart)
        self.setMouseTracking(True)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.pointer_moved.emit(event.position())
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.pointer_left.emit()
        super().leaveEvent(event)


class ChartWindow(QWidget):
    """A chart of one pair from one source.

    Signals:
        closed(Pair): the window was closed (the controller forgets it).
    """

    closed = Signal(object)

    def __init__(
        self,
        sub: Pair,
        jobs: BackgroundJobs,
        read_candles: Callable[[Pair, int, float, float], list[Candle]],
        read_alerts: ReadAlerts,
        *,
        rules: Sequence[Rule] = (),
        chart_range: ChartRange = ChartRange.H24,
        clock: Clock | None = None,
        tz_offset: Callable[[float], float] = local_offset_s,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sub = sub
        self._jobs = jobs
        self._read_candles = read_candles
        self._read_alerts = read_alerts
        self._clock = clock or SystemClock()
        self._tz_offset = tz_offset
        self._range = chart_range
        self._candle_view = False
        self._history = History([], [])
        self._line: LineBuckets | None = None
        self._prebuilt: LineBuckets | None = None  # the line the read job decimated
        self._candles: list[Candle] = []
        self._alerts: list[Alert] = []
        self._levels: list[tuple[float, bool]] = []
        self._cost: float | None = None
        self._loaded = False
        self._request = 0  # the newest read asked for; older answers are dropped
        self._dirty = False
        self._new_segment = False
        self._colors = LIGHT
        self._dark: bool | None = None
        self.setWindowTitle(chart_title(sub))
        self.setAccessibleName(chart_title(sub))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self.chart = QChart()
        self.chart.legend().hide()
        self.chart.setMargins(self.chart.margins().__class__(4, 4, 4, 4))
        self.chart.setBackgroundRoundness(0)
        self.x_axis = QCategoryAxis()
        self.x_axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        self.y_axis = QCategoryAxis()
        self.y_axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignRight)
        # QCandlestickSeries takes only value or date-time axes: hidden ones with the same ranges.
        self._candle_x, self._candle_y = QValueAxis(), QValueAxis()
        for axis, side in (
            (self._candle_x, Qt.AlignmentFlag.AlignBottom),
            (self._candle_y, Qt.AlignmentFlag.AlignRight),
        ):
            axis.setVisible(False)
            self.chart.addAxis(axis, side)
        self.line_series: list[QLineSeries] = []
        self.candle_series = QCandlestickSeries()
        self.candle_series.setBodyOutlineVisible(False)
        self.chart.addSeries(self.candle_series)
        self.candle_series.attachAxis(self._candle_x)
        self.candle_series.attachAxis(self._candle_y)
        self.marker_series = QScatterSeries()
        self.marker_series.setMarkerShape(QScatterSeries.MarkerShape.MarkerShapeTriangle)
        self.marker_series.setMarkerSize(14)
        self._add_series(self.marker_series)
        self.level_series: list[QLineSeries] = []
        self.cost_series: QLineSeries | None = None
        self._line_labels: list[QGraphicsRectItem] = []
        self._lines_key: list[tuple[float, str, str]] = []  # what the level and cost lines show

        self.view = _ChartView(self.chart)
        self.view.setAccessibleName("Price chart")
        self.view.setAccessibleDescription(f"Prices of {chart_title(sub)} over the chosen range")
        self.view.pointer_moved.connect(self._on_view_pointer_moved)
        self.view.pointer_left.connect(self.hide_crosshair)
        self._cross_v = QGraphicsLineItem()
        self._cross_h = QGraphicsLineItem()
        self._cross_label = QGraphicsSimpleTextItem()
        self._cross_back = QGraphicsRectItem()
        self._cross_back.setPen(QPen(Qt.PenStyle.NoPen))
        self._cross_back.setZValue(19)
        self._cross_back.hide()
        self.chart.scene().addItem(self._cross_back)
        for item in (self._cross_v, self._cross_h, self._cross_label):
            item.setZValue(20)
            item.hide()
            self.chart.scene().addItem(item)
        self.chart.plotAreaChanged.connect(self._place_overlays)

        self.message = QLabel(CHART_LOADING)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Chart message")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.view)

        bar = QHBoxLayout()
        self.range_buttons: dict[ChartRange, QPushButton] = {}
        ranges = QButtonGroup(self)
        for rng in ChartRange:
            button = QPushButton(CHART_RANGE_NAMES[rng.name])
            button.setCheckable(True)
            button.setChecked(rng is self._range)
            button.setAccessibleName(f"Range {CHART_RANGE_NAMES[rng.name]}")
            button.clicked.connect(lambda _=False, r=rng: self.set_range(r))
            ranges.addButton(button)
            bar.addWidget(button)
            self.range_buttons[rng] = button
        bar.addStretch(1)
        views = QButtonGroup(self)
        self.line_button = QPushButton(CHART_LINE)
        self.candle_button = QPushButton(CHART_CANDLES)
        for button, candles in ((self.line_button, False), (self.candle_button, True)):
            button.setCheckable(True)
            button.setChecked(candles is self._candle_view)
            button.setAccessibleName(f"{button.text()} view")
            button.clicked.connect(lambda _=False, c=candles: self.set_candle_view(c))
            views.addButton(button)
            bar.addWidget(button)
        self.crosshair_label = QLabel("")
        self.crosshair_label.setAccessibleName("Time and stored price under the pointer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.crosshair_label)

        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self._on_repaint_timer_timeout)
        self._escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self._escape.activated.connect(self.close)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)
        self.set_rules(rules)
        self.follow_color_scheme()
        self.resize(760, 440)
        self.reload()

    # -- public ------------------------------------------------------------------------------------

    def chart_range(self) -> ChartRange:
        return self._range

    def candle_view(self) -> bool:
        return self._candle_view

    def loaded(self) -> bool:
        """The history for the range has been read (and drawn)."""
        return self._loaded

    def set_range(self, rng: ChartRange) -> None:
        """Show ``rng`` (reads the store again)."""
        self.range_buttons[rng].setChecked(True)
        if rng is not self._range:
            self._range = rng
            self.reload()

    def set_candle_view(self, candles: bool) -> None:
        """Candles (True) or a line of closes (False)."""
        (self.candle_button if candles else self.line_button).setChecked(True)
        if candles != self._candle_view:
            self._candle_view = candles
            self._rebuild()

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """The alert rules in use: a dashed line for each level rule on this pair (or on every pair)."""
        mine = [r for r in rules if isinstance(r, LevelRule) and r.sub in (None, self.sub) and r.enabled]
        levels = [(r.level, r.above) for r in mine]
        if levels != self._levels:
            self._levels = levels
            if self._loaded:
                self._rebuild()

    def cost_basis(self) -> float | None:
        """The cost-basis line's price, or None."""
        return self._cost

    def set_cost_basis(self, price: float | None) -> None:
        """The holding's cost basis (a solid line), or None for none."""
        price = price if price is not None and 0 < price < math.inf else None
        if price != self._cost:
            self._cost = price
            if self._loaded:
                self._rebuild()

    def add_quotes(self, quotes: Sequence[Quote]) -> None:
        """Live prices (a batch from the stream): this pair's joins the last minute."""
        for q in quotes:
            if q.sub == self.sub and q.price is not None:
                self.add_price(self._clock.time(), q.price)

    def add_price(self, t: float, price: float) -> None:
        """A live price at wall time ``t``; drawn within ``REPAINT_MS``."""
        if not 0 < price < math.inf or not self._loaded:
            return
        self._prebuilt = None  # it lacks this price
        minutes = self._history.minutes
        candle, new = live_candle(minutes[-1] if minutes else None, t, price, MINUTE_S)
        if new:
            minutes.append(candle)
        else:
            minutes[-1] = candle
        if self._line is not None:
            breaks = self._line.breaks
            self._line.add(t, price, 0.0)
            self._new_segment |= self._line.breaks != breaks
        self._dirty = True
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def reload(self) -> None:
        """Read the range's history and the pair's alerts from the store (a background job)."""
        self._request += 1
        request = self._request
        now = self._clock.time()
        since, _until = time_window(self._range, now)
        sub, read_candles, read_alerts = self.sub, self._read_candles, self._read_alerts
        bucket_s = bucket_width(self._range.spec.span_s, self._columns())

        def read() -> tuple[History, list[Alert], LineBuckets]:
            history = load_history(lambda p, a, b: read_candles(sub, p, a, b), since, math.inf)
            # The decimation too, off the GUI thread (~25 ms for 30 days of minutes).
            return history, read_alerts(sub, since), line_from_history(history, bucket_s)

        self._loaded = False
        if self.stack.currentWidget() is self.message:
            self.message.setText(CHART_LOADING)
        self._jobs.run(
            "chart-read",
            read,
            lambda r: self._on_read(request, r),
            lambda e: self._on_read_failed(request, e),
        )

    def crosshair_at(self, t: float, price: float) -> None:
        """Put the pointer at time ``t`` and height ``price`` (what the pointer there does): the
        crosshair reads the data at ``t``; ``price`` only places its horizontal guide."""
        self._show_crosshair(self.chart.mapToPosition(QPointF(t, price)), t, price)

    @Slot()
    def hide_crosshair(self) -> None:
        for item in (self._cross_v, self._cross_h, self._cross_label, self._cross_back):
            item.hide()
        self.crosshair_label.setText("")

    def level_lines(self) -> list[float]:
        """The prices of the level lines drawn (for tests and accessibility)."""
        return [s.at(0).y() for s in self.level_series]

    def marker_points(self) -> list[tuple[float, float]]:
        return [(p.x(), p.y()) for p in self.marker_series.points()]

    def line_points(self) -> list[tuple[float, float]]:
        """Every point of the line view, in order."""
        return [(p.x(), p.y()) for s in self.line_series for p in s.points()]

    def candle_sets(self) -> list[QCandlestickSet]:
        return list(self.candle_series.sets())

    def message_text(self) -> str | None:
        """What the window says instead of a chart, or None while it shows one."""
        return self.message.text() if self.stack.currentWidget() is self.message else None

    # -- reading -----------------------------------------------------------------------------------

    def _on_read(self, request: int, result: tuple[History, list[Alert], LineBuckets | None]) -> None:
        if request != self._request:
            return
        self._history, self._alerts, self._prebuilt = result
        self._loaded = True
        self._rebuild()

    def _on_read_failed(self, request: int, exc: Exception) -> None:
        log.warning("chart history not readable: %s: %s", type(exc).__name__, exc)
        self._on_read(request, (History([], []), [], None))

    # -- drawing -----------------------------------------------------------------------------------

    def _columns(self) -> int:
        width = int(self.chart.plotArea().width())
        return width if width > 50 else max(200, self.width() - 80)

    def _rebuild(self) -> None:
        """Draw everything again from the history (a range, a view, the levels or the size changed)."""
        self._dirty = self._new_segment = False
        if not self._history:
            self.message.setText(chart_empty_text(self.sub))
            self.stack.setCurrentWidget(self.message)
            self._line = None
            return
        self.stack.setCurrentWidget(self.view)
        lo_t, hi_t = time_window(self._range, self._clock.time())
        if self._candle_view:
            self._line = None
            self._candles = view_candles(self._history, self._range.spec.candle_s)
            self._set_line_segments([])
            self._set_candles(self._candles)
        else:
            bucket_s = bucket_width(self._range.spec.span_s, self._columns())
            line, self._prebuilt = self._prebuilt, None
            self._line = line if line is not None and _bucket_fits(line.bucket_s, bucket_s) else None
            if self._line is None:
                self._line = line_from_history(self._history, bucket_s)
            self.candle_series.clear()
            self._set_line_segments(self._line.segments())
        self._set_markers(lo_t)
        self._set_axes(lo_t, hi_t)

    @Slot()
    def _on_repaint_timer_timeout(self) -> None:
        if not self._dirty:
            return
        if self.stack.currentWidget() is self.message:  # the first live price of an empty history
            self._rebuild()
            return
        self._dirty = False
        lo_t, hi_t = time_window(self._range, self._clock.time())
        if self._candle_view:
            period = self._range.spec.candle_s
            last = self._history.minutes[-1]
            prev = self._candles[-1] if self._candles else None
            candle, new = live_candle(prev, last.start, last.close, period)
            if prev is not None and not new:  # the live minute's high and low count too
                candle = Candle(
                    prev.start, prev.open, max(prev.high, last.high), min(prev.low, last.low), last.close, 0
                )
            if new:
                self._candles.append(candle)
                self.candle_series.append([self._candle_set(candle)])
            else:
                self._candles[-1] = candle
                sets = self.candle_series.sets()
                if sets:
                    s = sets[-1]
                    s.setHigh(candle.high)
                    s.setLow(candle.low)
                    s.setClose(candle.close)
        elif self._line is not None:
            if self._new_segment or not self.line_series:
                self._set_line_segments(self._line.segments())
            else:
                self.line_series[-1].replace([QPointF(t, p) for t, p in self._line.last_segment()])
        self._new_segment = False
        self._set_axes(lo_t, hi_t)

    def _add_series(self, series: QLineSeries | QScatterSeries) -> None:
        self.chart.addSeries(series)
        series.attachAxis(self.x_axis)
        series.attachAxis(self.y_axis)

    def _set_line_segments(self, segments: list[list[tuple[float, float]]]) -> None:
        while len(self.line_series) > len(segments):
            series = self.line_series.pop()
            self.chart.removeSeries(series)
            series.deleteLater()
        while len(self.line_series) < len(segments):
            series = QLineSeries()
            series.setPen(QPen(self._colors.line, 1.6))
            self._add_series(series)
            self.line_series.append(series)
        for series, points in zip(self.line_series, segments, strict=True):
            series.replace([QPointF(t, p) for t, p in points])

    def _candle_set(self, c: Candle) -> QCandlestickSet:
        return QCandlestickSet(c.open, c.high, c.low, c.close, float(c.start + self._range.spec.candle_s / 2))

    def _set_candles(self, candles: list[Candle]) -> None:
        self.candle_series.clear()
        self.candle_series.append([self._candle_set(c) for c in candles])

    def _set_markers(self, since: float) -> None:
        self.marker_series.replace([QPointF(a.at, a.to_price) for a in self._alerts if a.at >= since])
        # Series paint in the order they were added: the markers go on top of the line again.
        self.chart.removeSeries(self.marker_series)
        self._add_series(self.marker_series)

    def _data_price_range(self, since: float) -> tuple[float, float] | None:
        if self._candle_view:
            shown = [c for c in self._candles if c.start + self._range.spec.candle_s > since]
            if not shown:
                return None
            return min(c.low for c in shown), max(c.high for c in shown)
        return None if self._line is None else self._line.price_range(since)

    def _set_axes(self, lo_t: float, hi_t: float) -> None:
        found = self._data_price_range(lo_t)
        lo, hi = found if found is not None else (1.0, 2.0)
        span = hi - lo or abs(hi) * 0.01
        # A level or cost basis near the prices widens the axis so its line shows; a far one would
        # flatten the prices into a strip, so it stays off the chart.
        for extra in [lvl for lvl, _ in self._levels] + ([self._cost] if self._cost is not None else []):
            if lo - span <= extra <= hi + span:
                lo, hi = min(lo, extra), max(hi, extra)
        lo = min([lo] + [p for _, p in self.marker_points() if lo - span <= p])
        hi = max([hi] + [p for _, p in self.marker_points() if p <= hi + span])
        y_lo, y_hi, y_ticks = price_axis(lo, hi)
        _set_category_axis(self.y_axis, y_lo, y_hi, [(v, format_price(v)) for v in y_ticks])
        self._candle_x.setRange(lo_t, hi_t)
        self._candle_y.setRange(y_lo, y_hi)
        offset = self._tz_offset(hi_t)
        _set_category_axis(self.x_axis, lo_t, hi_t, time_ticks(self._range, lo_t, hi_t, offset))
        self._set_level_lines(lo_t, hi_t)

    def _set_level_lines(self, lo_t: float, hi_t: float) -> None:
        wanted: list[tuple[float, str, QPen]] = []
        dashed = QPen(self._colors.level, 1.2, Qt.PenStyle.DashLine)
        for level, above in self._levels:
            wanted.append((level, chart_level_label(level, above), dashed))
        if self._cost is not None:
            wanted.append((self._cost, chart_cost_label(self._cost), QPen(self._colors.cost, 1.2)))
        key = [(price, text, pen.color().name()) for price, text, pen in wanted]
        if key == self._lines_key:  # the same lines (a live repaint): only move them along
            for s in self.level_series + ([self.cost_series] if self.cost_series is not None else []):
                y = s.at(0).y()
                s.replace([QPointF(lo_t, y), QPointF(hi_t, y)])
            self._place_overlays()
            return
        self._lines_key = key
        series_list = self.level_series + ([self.cost_series] if self.cost_series is not None else [])
        for series in series_list:
            self.chart.removeSeries(series)
            series.deleteLater()
        for label in self._line_labels:
            self.chart.scene().removeItem(label)
        self.level_series, self.cost_series, self._line_labels = [], None, []
        for i, (price, text, pen) in enumerate(wanted):
            series = QLineSeries()
            series.setPen(pen)
            series.append([QPointF(lo_t, price), QPointF(hi_t, price)])
            self._add_series(series)
            if self._cost is not None and i == len(wanted) - 1:
                self.cost_series = series
            else:
                self.level_series.append(series)
            label = _tag(text, pen.color(), self._colors.background)
            self.chart.scene().addItem(label)
            self._line_labels.append(label)
        self._place_overlays()

    @Slot()
    def _place_overlays(self) -> None:
        area = self.chart.plotArea()
        series = self.level_series + ([self.cost_series] if self.cost_series is not None else [])
        for s, label in zip(series, self._line_labels, strict=True):
            pos = self.chart.mapToPosition(s.at(0))
            inside = area.top() <= pos.y() <= area.bottom()
            label.setVisible(inside)
            label.setPos(area.left() + 4, pos.y() - label.rect().height() - 1)

    # -- crosshair ---------------------------------------------------------------------------------

    @Slot(QPointF)
    def _on_view_pointer_moved(self, pos: QPointF) -> None:
        scene_pos = self.view.mapToScene(pos.toPoint())
        if not self.chart.plotArea().contains(scene_pos) or not self._loaded:
            self.hide_crosshair()
            return
        value = self.chart.mapToValue(scene_pos)
        self._show_crosshair(scene_pos, value.x(), value.y())

    def _show_crosshair(self, scene_pos: QPointF, t: float, price: float) -> None:
        """The crosshair at the pointer: the text says what is stored at time ``t`` (the candle or
        the line's bucket there, or that nothing is), never the pointer's height ``price``, which
        only places the horizontal guide. The vertical line snaps to the time read."""
        area = self.chart.plotArea()
        rng = self._range
        snap_t = t
        if self._candle_view:
            candle = candle_at(self._candles, rng.spec.candle_s, t)
            if candle is None:
                text = chart_crosshair_text(crosshair_time(rng, t, self._tz_offset(t)), None)
            else:
                snap_t = candle.start + rng.spec.candle_s / 2  # where its set is drawn
                when = crosshair_time(rng, candle.start, self._tz_offset(candle.start))
                text = chart_crosshair_candle_text(when, candle.open, candle.high, candle.low, candle.close)
        else:
            reading = self._line.at(t) if self._line is not None else None
            if reading is not None:
                snap_t = reading.t
            close = None if reading is None else reading.close
            text = chart_crosshair_text(crosshair_time(rng, snap_t, self._tz_offset(snap_t)), close)
        x = self.chart.mapToPosition(QPointF(snap_t, price)).x() if snap_t != t else scene_pos.x()
        pen = QPen(self._colors.text, 0.8, Qt.PenStyle.DotLine)
        self._cross_v.setPen(pen)
        self._cross_h.setPen(pen)
        self._cross_v.setLine(x, area.top(), x, area.bottom())
        self._cross_h.setLine(area.left(), scene_pos.y(), area.right(), scene_pos.y())
        self._cross_label.setText(text)
        self._cross_label.setBrush(self._colors.text)
        label_x = x + 6
        if label_x + self._cross_label.boundingRect().width() > area.right():
            label_x = x - 6 - self._cross_label.boundingRect().width()
        self._cross_label.setPos(max(area.left(), label_x), max(area.top(), scene_pos.y() - 18))
        back = self._colors.background
        self._cross_back.setBrush(QColor(back.red(), back.green(), back.blue(), 215))
        self._cross_back.setRect(self._cross_label.sceneBoundingRect().adjusted(-3, -1, 3, 1))
        for item in (self._cross_v, self._cross_h, self._cross_label, self._cross_back):
            item.show()
        self.crosshair_label.setText(text)

    # -- light and dark, events ----------------------------------------------------------------------

    @Slot(Qt.ColorScheme)
    def _on_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        self.follow_color_scheme()

    def follow_color_scheme(self) -> None:
        """The chart's colours follow the window's palette (which follows the system scheme)."""
        scheme = QGuiApplication.styleHints().colorScheme()
        lightness = self.palette().color(QPalette.ColorRole.Window).lightness()
        dark = scheme is Qt.ColorScheme.Dark if scheme is not Qt.ColorScheme.Unknown else lightness < 128
        if lightness >= 128 and scheme is Qt.ColorScheme.Dark:
            dark = False
        if dark == self._dark:
            return
        self._dark = dark
        c = self._colors = DARK if dark else LIGHT
        self.chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
        self.chart.setBackgroundBrush(c.background)
        self.chart.setPlotAreaBackgroundVisible(False)
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsColor(c.text)
            axis.setGridLineColor(c.grid)
            axis.setLinePenColor(c.grid)
        self.candle_series.setIncreasingColor(c.up)
        self.candle_series.setDecreasingColor(c.down)
        self.marker_series.setColor(c.marker)
        self.marker_series.setBorderColor(c.background)
        if self._loaded:
            self._rebuild()

    def is_dark(self) -> bool:
        return bool(self._dark)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.follow_color_scheme()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        line = None if self._candle_view or not self._loaded else self._line
        if line is not None and not _bucket_fits(
            line.bucket_s, bucket_width(self._range.spec.span_s, self._columns())
        ):
            self._rebuild()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._request += 1  # an answer still on its way is dropped
        self._repaint_timer.stop()
        self.closed.emit(self.sub)
        super().closeEvent(event)

    def bring_forward(self) -> None:
        """Show, un-minimise and raise the window."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()


def _bucket_fits(have: float, want: float) -> bool:
    """A line decimated to ``have``-second buckets still looks right where ``want`` would be one per
    pixel column: within 15 % (so a resize by a few pixels does not decimate 43,200 points again)."""
    return 0.85 <= have / want <= 1.15


def _tag(text: str, color: QColor, background: QColor) -> QGraphicsRectItem:
    """A line's label: coloured text on a box of the chart's background, readable over the line."""
    box = QGraphicsRectItem()
    box.setPen(QPen(Qt.PenStyle.NoPen))
    box.setBrush(QColor(background.red(), background.green(), background.blue(), 215))
    box.setZValue(10)
    item = QGraphicsSimpleTextItem(text, box)
    item.setBrush(color)
    item.setPos(3, 0)
    r = item.boundingRect()
    box.setRect(0, 0, r.width() + 6, r.height())
    return box


def _set_category_axis(axis: QCategoryAxis, lo: float, hi: float, ticks: Sequence[tuple[float, str]]) -> None:
    """Labels at exactly ``ticks`` (QCategoryAxis wants unique labels: repeats get invisible marks)."""
    for label in axis.categoriesLabels():
        axis.remove(label)
    axis.setRange(lo, hi)
    axis.setStartValue(lo)
    seen: set[str] = set()
    for value, text in ticks:
        if not lo <= value <= hi:
            continue
        while text in seen:
            text += "\u200b"
        seen.add(text)
        axis.append(text, value)
