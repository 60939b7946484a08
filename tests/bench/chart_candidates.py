"""Benchmark-only prototypes of ccdesk's chart window in pyqtgraph and in QtCharts, and the child side
of tests/bench/charts.py (one measurement per process, one JSON line on stdout).

Not part of the app: ccdesk never imports this. Each candidate gets the same job, the parts issue 11
asks of the chart window: a 30-day line of minute closes (~43,200 points) or a candle view, a date
axis, a crosshair with time and price, markers where alerts fired, horizontal lines for level rules
and the cost basis, and live appends. Both libraries are imported inside functions so that this file
loads in a venv that has only one of them (and so a frozen build collects only the one installed).

    python tests/bench/chart_candidates.py --lib pyqtgraph --mode open-line
    python tests/bench/chart_candidates.py --lib qtcharts --mode live --seconds 30 --rate 10
    python tests/bench/chart_candidates.py --lib qtcharts --mode screenshot --out chart.png

Modes: import, open-line (43,200 minute closes), open-hour (720 hour candles over 30 days),
open-minute (1,440 minute candles over 24 h), live (open-line, then append points at --rate for
--seconds), screenshot (open-line with levels, markers and the crosshair; saves --out).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QLabel, QWidget

MINUTE = 60
HOUR = 3600
DAY = 86400
# A fixed end, so every run and every screenshot draws the same data: 2026-11-30 00:00 UTC.
END = 1_795_996_800
LINE_COLOUR = "#1f6fb2"
UP_COLOUR = "#2e9d5b"
DOWN_COLOUR = "#d0443e"
LEVEL_COLOUR = "#8a5a00"
COST_COLOUR = "#6a3d9a"
MARKER_COLOUR = "#e08a00"
SIZE = (1000, 600)
DECIMATE_BUCKETS = 1000  # about the plot's width in pixels at SIZE


# --- data: a deterministic random walk, as the store would hand it over ----------------------------


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLC bar starting at ``t`` (Unix seconds)."""

    t: float
    open: float
    high: float
    low: float
    close: float


def minute_candles(days: float = 30, end: float = END, seed: int = 11) -> list[Candle]:
    """``days`` of minute candles ending at ``end``: a geometric random walk around 60,000."""
    rnd = random.Random(seed)
    n = int(days * DAY / MINUTE)
    price = 60_000.0
    out: list[Candle] = []
    t0 = end - n * MINUTE
    for i in range(n):
        o = price
        price *= math.exp(rnd.gauss(0.0, 0.0009) + 0.2 * math.sin(i / 4000) * 1e-4)
        hi = max(o, price) * (1 + abs(rnd.gauss(0.0, 0.0003)))
        lo = min(o, price) * (1 - abs(rnd.gauss(0.0, 0.0003)))
        out.append(Candle(t0 + i * MINUTE, o, hi, lo, price))
    return out


def roll_up(candles: Sequence[Candle], seconds: int) -> list[Candle]:
    """Candles of ``seconds`` each, from finer ones (first open, max high, min low, last close)."""
    out: list[Candle] = []
    for c in candles:
        start = c.t - c.t % seconds
        if out and out[-1].t == start:
            last = out[-1]
            out[-1] = Candle(start, last.open, max(last.high, c.high), min(last.low, c.low), c.close)
        else:
            out.append(Candle(start, c.open, c.high, c.low, c.close))
    return out


def levels_for(lo: float, hi: float) -> tuple[list[float], float]:
    """Two level-rule prices and a cost basis inside [lo, hi], as round numbers."""
    span = hi - lo
    return [round(lo + 0.8 * span, -2), round(lo + 0.25 * span, -2)], round(lo + 0.45 * span, -2)


def alert_marks(candles: Sequence[Candle], every: int = 4000) -> list[tuple[float, float]]:
    """Where alerts fired: every ``every``-th close (about ten over 30 days of minutes)."""
    return [(c.t, c.close) for c in candles[every // 2 :: every]]


def min_max_buckets(ts: Sequence[float], prices: Sequence[float], width: float) -> list[list[float]]:
    """Min/max decimation: per time bucket of ``width`` seconds (aligned to multiples of it, so a
    sliding window never reshapes old buckets), [bucket, t of the first extreme, its price, t of the
    second, its price]. Drawn as a line, 2 points per pixel column look like all the points."""
    out: list[list[float]] = []
    for t, p in zip(ts, prices, strict=True):
        key = t // width
        if out and out[-1][0] == key:
            add_to_bucket(out[-1], t, p)
        else:
            out.append([key, t, p, t, p])
    return out


def add_to_bucket(b: list[float], t: float, p: float) -> None:
    """Fold a later point into a bucket, keeping its low and high in time order."""
    lo_first = b[2] <= b[4]
    lo_t, lo, hi_t, hi = (b[1], b[2], b[3], b[4]) if lo_first else (b[3], b[4], b[1], b[2])
    if p < lo:
        lo_t, lo = t, p
    if p > hi:
        hi_t, hi = t, p
    b[1:] = [lo_t, lo, hi_t, hi] if lo_t <= hi_t else [hi_t, hi, lo_t, lo]


# --- the two candidates ----------------------------------------------------------------------------


class ChartCandidate(QWidget):
    """What the chart window needs from a plotting library; one subclass per candidate."""

    def set_line(self, ts: Sequence[float], prices: Sequence[float]) -> None:
        raise NotImplementedError

    def set_candles(self, candles: Sequence[Candle]) -> None:
        raise NotImplementedError

    def add_level(self, price: float, label: str, colour: str) -> None:
        raise NotImplementedError

    def set_markers(self, marks: Sequence[tuple[float, float]]) -> None:
        raise NotImplementedError

    def append(self, t: float, price: float) -> None:
        """A live price: add it at the right, drop the oldest point, keep the 30-day window."""
        raise NotImplementedError

    def crosshair_at(self, t: float, price: float) -> None:
        """Place the crosshair at a data point (what a mouse move there does)."""
        raise NotImplementedError

    def crosshair_text(self) -> str:
        raise NotImplementedError

    def paint_target(self) -> QWidget:
        """The widget that paints the plot (a QGraphicsView's viewport for both)."""
        raise NotImplementedError


def label_for(t: float, price: float) -> str:
    return f"{time.strftime('%d %b %H:%M', time.gmtime(t))}  {price:,.2f}"


def make_pyqtgraph() -> ChartCandidate:
    import numpy as np
    import pyqtgraph as pg

    class CandleItem(pg.GraphicsObject):  # type: ignore[misc]
        """Candles drawn once into a QPicture (pyqtgraph has no candle item of its own)."""

        def __init__(self, candles: Sequence[Candle]) -> None:
            super().__init__()
            self._picture = pg.QtGui.QPicture()
            width = (candles[1].t - candles[0].t) * 0.7 if len(candles) > 1 else 60.0
            p = QPainter(self._picture)
            up, down = QColor(UP_COLOUR), QColor(DOWN_COLOUR)
            for c in candles:
                colour = up if c.close >= c.open else down
                p.setPen(pg.mkPen(colour, width=0))
                p.drawLine(QPointF(c.t, c.low), QPointF(c.t, c.high))
                p.setBrush(pg.mkBrush(colour))
                p.drawRect(pg.QtCore.QRectF(c.t - width / 2, c.open, width, c.close - c.open))
            p.end()

        def paint(self, p: QPainter, *args: Any) -> None:
            self._picture.play(p)

        def boundingRect(self) -> Any:
            return pg.QtCore.QRectF(self._picture.boundingRect())

    class PgChart(ChartCandidate):
        def __init__(self) -> None:
            super().__init__()
            from PySide6.QtWidgets import QVBoxLayout

            self._plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
            lay = QVBoxLayout(self)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(self._plot)
            pi = self._plot.getPlotItem()
            pi.showGrid(x=True, y=True, alpha=0.15)
            for name in ("left", "bottom"):
                # Grid lines for the major and first minor ticks only: the default third level
                # draws so many lines that the grid is most of each live repaint's CPU.
                pi.getAxis(name).setStyle(maxTickLevel=1)
                pi.getAxis(name).setPen(pg.mkPen("#444"))
                pi.getAxis(name).setTextPen(pg.mkPen("#222"))
            pi.setMenuEnabled(False)
            pi.hideButtons()
            self._vb = pi.getViewBox()
            self._line: Any = None
            self._x = np.empty(0)
            self._y = np.empty(0)
            self._start = self._end = 0
            self._lo = self._hi = 0.0
            pen = pg.mkPen("#777", width=1, style=Qt.PenStyle.DashLine)
            self._vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            self._hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
            self._label = pg.TextItem(color="#111", fill=pg.mkBrush(255, 255, 255, 220), anchor=(0, 1))
            for item in (self._vline, self._hline, self._label):
                item.setVisible(False)
                self._plot.addItem(item, ignoreBounds=True)
            self._plot.scene().sigMouseMoved.connect(self._on_mouse)

        def set_line(self, ts: Sequence[float], prices: Sequence[float]) -> None:
            n = len(ts)
            self._x = np.empty(max(2 * n, 1024))
            self._y = np.empty_like(self._x)
            self._x[:n] = ts
            self._y[:n] = prices
            self._start, self._end = 0, n
            self._line = self._plot.plot(self._x[:n], self._y[:n], pen=pg.mkPen(LINE_COLOUR, width=1))
            self._line.setDownsampling(auto=True, method="peak")
            self._line.setClipToView(True)
            # Ranges set by hand, as in the QtCharts prototype: pyqtgraph's y auto-range re-ranges
            # in prepareForPaint, which costs a second paint for every live append.
            self._lo, self._hi = float(min(prices)), float(max(prices))
            self._vb.setRange(xRange=(ts[0], ts[-1]), yRange=(self._lo, self._hi), padding=0.02)

        def set_candles(self, candles: Sequence[Candle]) -> None:
            self._plot.addItem(CandleItem(candles))
            self._lo, self._hi = min(c.low for c in candles), max(c.high for c in candles)
            self._vb.setRange(xRange=(candles[0].t, candles[-1].t), yRange=(self._lo, self._hi), padding=0.02)

        def add_level(self, price: float, label: str, colour: str) -> None:
            line = pg.InfiniteLine(
                pos=price,
                angle=0,
                movable=False,
                pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                label=label,
                labelOpts={"position": 0.03, "color": colour, "anchors": [(0, 1), (0, 1)]},
            )
            self._plot.addItem(line)

        def set_markers(self, marks: Sequence[tuple[float, float]]) -> None:
            self._plot.addItem(
                pg.ScatterPlotItem(
                    [m[0] for m in marks],
                    [m[1] for m in marks],
                    symbol="t1",
                    size=11,
                    pen=pg.mkPen("#333"),
                    brush=pg.mkBrush(MARKER_COLOUR),
                )
            )

        def append(self, t: float, price: float) -> None:
            if self._end == len(self._x):  # full: move the window to the front, keep the capacity
                n = self._end - self._start
                self._x[:n] = self._x[self._start : self._end]
                self._y[:n] = self._y[self._start : self._end]
                self._start, self._end = 0, n
            self._x[self._end] = t
            self._y[self._end] = price
            self._end += 1
            self._start += 1
            x, y = self._x[self._start : self._end], self._y[self._start : self._end]
            self._line.setData(x, y)
            lo, hi = min(self._lo, price), max(self._hi, price)
            if lo != self._lo or hi != self._hi:
                self._lo, self._hi = lo, hi
                self._vb.setRange(xRange=(x[0], x[-1]), yRange=(lo, hi), padding=0.02)
            else:
                self._vb.setXRange(x[0], x[-1], padding=0.02)

        def _on_mouse(self, pos: Any) -> None:
            if self._vb.sceneBoundingRect().contains(pos):
                p = self._vb.mapSceneToView(pos)
                self.crosshair_at(p.x(), p.y())

        def crosshair_at(self, t: float, price: float) -> None:
            self._vline.setPos(t)
            self._hline.setPos(price)
            self._label.setText(label_for(t, price))
            self._label.setPos(t, price)
            for item in (self._vline, self._hline, self._label):
                item.setVisible(True)

        def crosshair_text(self) -> str:
            return str(self._label.textItem.toPlainText()) if self._label.isVisible() else ""

        def paint_target(self) -> QWidget:
            return self._plot.viewport()  # type: ignore[no-any-return]

    return PgChart()


def make_qtcharts(decimate: bool = False) -> ChartCandidate:
    from PySide6.QtCharts import (
        QCandlestickSeries,
        QCandlestickSet,
        QChart,
        QChartView,
        QDateTimeAxis,
        QLineSeries,
        QScatterSeries,
        QValueAxis,
    )
    from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem, QVBoxLayout

    class View(QChartView):
        def __init__(self, chart: QChart, on_move: Callable[[QPointF], None]) -> None:
            super().__init__(chart)
            self._on_move = on_move
            self.setMouseTracking(True)
            self.setRenderHint(QPainter.RenderHint.Antialiasing, False)

        def mouseMoveEvent(self, event: Any) -> None:
            self._on_move(self.chart().mapToValue(self.chart().mapFromScene(self.mapToScene(event.pos()))))
            super().mouseMoveEvent(event)

    class QcChart(ChartCandidate):
        def __init__(self) -> None:
            super().__init__()
            self._chart = QChart()
            self._chart.legend().hide()
            self._chart.setMargins(pg_margins())
            self._view = View(self._chart, lambda v: self.crosshair_at(v.x() / 1000, v.y()))
            lay = QVBoxLayout(self)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(self._view)
            self._ax = QDateTimeAxis()
            self._ax.setFormat("dd MMM HH:mm")
            self._ax.setTickCount(7)
            self._ay = QValueAxis()
            self._ay.setLabelFormat("%.0f")
            self._chart.addAxis(self._ax, Qt.AlignmentFlag.AlignBottom)
            self._chart.addAxis(self._ay, Qt.AlignmentFlag.AlignLeft)
            self._series: Any = None
            self._levels: list[tuple[QLineSeries, QGraphicsSimpleTextItem, float]] = []
            self._lo = self._hi = 0.0
            pen = QPen(QColor("#777"), 1, Qt.PenStyle.DashLine)
            self._vline = QGraphicsLineItem(self._chart)
            self._hline = QGraphicsLineItem(self._chart)
            self._label = QGraphicsSimpleTextItem(self._chart)
            for item in (self._vline, self._hline):
                item.setPen(pen)
            for item in (self._vline, self._hline, self._label):
                item.setZValue(100)
                item.setVisible(False)
            self._chart.plotAreaChanged.connect(self._place_labels)

        def _attach(self, series: Any) -> None:
            self._chart.addSeries(series)
            series.attachAxis(self._ax)
            series.attachAxis(self._ay)

        def _set_range(self, t0: float, t1: float, lo: float, hi: float) -> None:
            from PySide6.QtCore import QDateTime

            pad = (hi - lo) * 0.05
            self._lo, self._hi = lo - pad, hi + pad
            self._ax.setRange(
                QDateTime.fromMSecsSinceEpoch(int(t0 * 1000)), QDateTime.fromMSecsSinceEpoch(int(t1 * 1000))
            )
            self._ay.setRange(self._lo, self._hi)
            self._ay.applyNiceNumbers()  # round ticks, as pyqtgraph's axis has by itself

        def set_line(self, ts: Sequence[float], prices: Sequence[float]) -> None:
            self._series = QLineSeries()
            self._series.setPen(QPen(QColor(LINE_COLOUR), 1))
            if decimate:  # QtCharts draws every point; give it 2 per pixel column of the plot
                self._window = ts[-1] - ts[0]
                self._bucket = self._window / DECIMATE_BUCKETS
                self._buckets = min_max_buckets(ts, prices, self._bucket)
                points = [QPointF(b[i] * 1000, b[i + 1]) for b in self._buckets for i in (1, 3)]
                self._series.replace(points)
            else:
                self._series.replace([QPointF(t * 1000, p) for t, p in zip(ts, prices, strict=True)])
            self._attach(self._series)
            self._set_range(ts[0], ts[-1], min(prices), max(prices))

        def set_candles(self, candles: Sequence[Candle]) -> None:
            series = QCandlestickSeries()
            series.setIncreasingColor(QColor(UP_COLOUR))
            series.setDecreasingColor(QColor(DOWN_COLOUR))
            series.setBodyOutlineVisible(False)
            series.append([QCandlestickSet(c.open, c.high, c.low, c.close, c.t * 1000) for c in candles])
            self._attach(series)
            self._set_range(
                candles[0].t, candles[-1].t, min(c.low for c in candles), max(c.high for c in candles)
            )

        def add_level(self, price: float, label: str, colour: str) -> None:
            series = QLineSeries()
            series.setPen(QPen(QColor(colour), 1, Qt.PenStyle.DashLine))
            text = QGraphicsSimpleTextItem(label, self._chart)
            text.setBrush(QColor(colour))
            self._attach(series)
            self._levels.append((series, text, price))
            self._update_levels()

        def _update_levels(self) -> None:
            t0, t1 = self._ax.min().toMSecsSinceEpoch(), self._ax.max().toMSecsSinceEpoch()
            for series, _text, price in self._levels:
                series.replace([QPointF(t0, price), QPointF(t1, price)])
            self._place_labels()

        def _place_labels(self, *_args: Any) -> None:
            area = self._chart.plotArea()
            for _series, text, price in self._levels:
                y = self._chart.mapToPosition(QPointF(self._ax.min().toMSecsSinceEpoch(), price)).y()
                text.setPos(area.left() + 6, y - text.boundingRect().height() - 1)

        def set_markers(self, marks: Sequence[tuple[float, float]]) -> None:
            series = QScatterSeries()
            series.setMarkerShape(QScatterSeries.MarkerShape.MarkerShapeTriangle)
            series.setMarkerSize(11)
            series.setColor(QColor(MARKER_COLOUR))
            series.setBorderColor(QColor("#333"))
            series.replace([QPointF(t * 1000, p) for t, p in marks])
            self._attach(series)

        def append(self, t: float, price: float) -> None:
            s = self._series
            if decimate:
                self._append_decimated(t, price)
            else:
                s.append(t * 1000, price)
                s.remove(0)
            first = s.at(0)
            lo, hi = min(self._lo, price), max(self._hi, price)
            if lo != self._lo or hi != self._hi:
                self._ay.setRange(lo, hi)
                self._lo, self._hi = lo, hi
            from PySide6.QtCore import QDateTime

            self._ax.setRange(
                QDateTime.fromMSecsSinceEpoch(int(first.x())), QDateTime.fromMSecsSinceEpoch(int(t * 1000))
            )
            self._update_levels()

        def _append_decimated(self, t: float, price: float) -> None:
            s, buckets = self._series, self._buckets
            key = t // self._bucket
            if buckets[-1][0] == key:
                b = buckets[-1]
                add_to_bucket(b, t, price)
                n = s.count()
                s.replace(n - 2, QPointF(b[1] * 1000, b[2]))
                s.replace(n - 1, QPointF(b[3] * 1000, b[4]))
            else:
                buckets.append([key, t, price, t, price])
                s.append([QPointF(t * 1000, price), QPointF(t * 1000, price)])
            oldest = (t - self._window) // self._bucket
            dropped = 0
            while buckets[0][0] < oldest:
                buckets.pop(0)
                dropped += 2
            if dropped:
                s.removePoints(0, dropped)

        def crosshair_at(self, t: float, price: float) -> None:
            area = self._chart.plotArea()
            p = self._chart.mapToPosition(QPointF(t * 1000, price))
            if not area.contains(p):
                return
            self._vline.setLine(p.x(), area.top(), p.x(), area.bottom())
            self._hline.setLine(area.left(), p.y(), area.right(), p.y())
            self._label.setText(label_for(t, price))
            self._label.setPos(p.x() + 4, p.y() - self._label.boundingRect().height() - 2)
            for item in (self._vline, self._hline, self._label):
                item.setVisible(True)

        def crosshair_text(self) -> str:
            return self._label.text() if self._label.isVisible() else ""

        def paint_target(self) -> QWidget:
            return self._view.viewport()

    return QcChart()


def pg_margins() -> Any:
    from PySide6.QtCore import QMargins

    return QMargins(4, 4, 8, 4)


MAKERS: dict[str, Callable[[], ChartCandidate]] = {
    "pyqtgraph": make_pyqtgraph,
    "qtcharts": make_qtcharts,
    # QtCharts fed 2 points per pixel column (min_max_buckets) instead of all 43,200.
    "qtcharts-decimated": lambda: make_qtcharts(decimate=True),
}


def import_library(lib: str) -> str:
    """Import the candidate (the cost the first chart window pays); returns its version."""
    if lib == "pyqtgraph":
        import pyqtgraph

        return str(pyqtgraph.__version__)
    import PySide6
    from PySide6 import QtCharts  # noqa: F401

    return str(PySide6.__version__)


# --- measuring -------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class PaintCounter(QObject):
    """Counts paint events delivered to one widget."""

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self.count = 0
        target.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def pump_until_painted(
    app: QApplication, counter: PaintCounter, settle_s: float = 0.4
) -> tuple[float, float]:
    """Process events until the first paint is done, then for ``settle_s`` more.

    Returns (first paint done, last paint done) as perf_counter times: the moment processEvents()
    returned after delivering the paint event, i.e. after the paint handler finished drawing.
    """
    first = last = 0.0
    seen = 0
    deadline = time.perf_counter() + 20.0
    while True:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
        now = time.perf_counter()
        if counter.count > seen:
            seen = counter.count
            last = now
            if not first:
                first = now
                deadline = now + settle_s
        if now > deadline:
            break
        time.sleep(0.0005)
    if not first:
        raise RuntimeError("the chart never painted")
    return first, last


def chart_data(mode: str) -> tuple[str, list[Candle]]:
    """The data a mode draws, as the store hands it over: ("line" or "candles", candles)."""
    minutes = minute_candles()
    if mode in ("open-line", "live", "screenshot"):
        return "line", minutes
    if mode == "open-hour":
        return "candles", roll_up(minutes, HOUR)
    return "candles", minutes[-DAY // MINUTE :]  # open-minute: the last 24 h


def build_chart(lib: str, kind: str, data: Sequence[Candle]) -> ChartCandidate:
    """The chart window with its data, levels and markers (not shown yet)."""
    chart = MAKERS[lib]()
    chart.resize(*SIZE)
    if kind == "line":
        chart.set_line([c.t for c in data], [c.close for c in data])
    else:
        chart.set_candles(data)
    lo, hi = min(c.low for c in data), max(c.high for c in data)
    levels, cost = levels_for(lo, hi)
    for price in levels:
        chart.add_level(price, f"Level {price:,.0f}", LEVEL_COLOUR)
    chart.add_level(cost, f"Cost basis {cost:,.0f}", COST_COLOUR)
    chart.set_markers(alert_marks(data, every=max(len(data) // 10, 1)))
    return chart


def open_chart(app: QApplication, lib: str, mode: str) -> tuple[ChartCandidate, dict[str, float]]:
    """Build, show and wait for the painted chart; returns it and the timings/RSS of that.

    The data is made first (Python objects, as the store hands them over) and is not counted.
    """
    kind, data = chart_data(mode)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    chart = build_chart(lib, kind, data)
    t1 = time.perf_counter()
    counter = PaintCounter(chart.paint_target())
    chart.show()
    first, last = pump_until_painted(app, counter)
    rss1 = rss_mb()
    return chart, {
        "build_ms": (t1 - t0) * 1000,
        "first_paint_ms": (first - t1) * 1000,
        "open_ms": (first - t0) * 1000,
        "settled_ms": (last - t0) * 1000,
        "paints": counter.count,
        "rss_delta_mb": rss1 - rss0,
        "rss_mb": rss1,
    }


def live(app: QApplication, chart: ChartCandidate, seconds: float, rate: float) -> dict[str, float]:
    """Append ``rate`` points/s for ``seconds``; process CPU per appended point (append + repaint)."""
    rnd = random.Random(7)
    state = {"t": END, "p": 60_000.0}
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(time.process_time())
        state["t"] += MINUTE
        state["p"] *= math.exp(rnd.gauss(0.0, 0.0009))
        chart.append(state["t"], state["p"])

    counter = PaintCounter(chart.paint_target())
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(int(1000 / rate))
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    timer.start()
    loop.exec()
    timer.stop()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    deltas = sorted(b - a for a, b in itertools.pairwise(ticks))
    n = len(ticks)
    return {
        "points": n,
        "cpu_per_point_ms": deltas[len(deltas) // 2] * 1000 if deltas else math.nan,
        "cpu_per_point_p90_ms": deltas[int(len(deltas) * 0.9)] * 1000 if deltas else math.nan,
        "cpu_share": cpu / wall,
        "paints_per_point": counter.count / max(n, 1),
        "rss_mb": rss_mb(),
    }


def warm_up(app: QApplication) -> QWidget:
    """A painted window first, as ccdesk's main window is before anyone opens a chart."""
    w = QLabel("ccdesk")
    w.resize(300, 100)
    counter = PaintCounter(w)
    w.show()
    pump_until_painted(app, counter, settle_s=0.05)
    return w


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lib", choices=sorted(MAKERS), required=True)
    parser.add_argument(
        "--mode",
        choices=["import", "open-line", "open-hour", "open-minute", "live", "screenshot"],
        required=True,
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--out", help="save a picture of the chart (any mode but import and live)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TZ", "UTC")
    time.tzset()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    warm = warm_up(app)
    result: dict[str, Any] = {"lib": args.lib, "mode": args.mode, "platform": app.platformName()}
    r0, t0 = rss_mb(), time.perf_counter()
    result["version"] = import_library(args.lib)
    result["import_ms"] = (time.perf_counter() - t0) * 1000
    result["import_rss_mb"] = rss_mb() - r0
    if args.mode != "import":
        chart, numbers = open_chart(app, args.lib, "open-line" if args.mode == "live" else args.mode)
        result.update(numbers)
        if args.mode == "live":
            result.update(live(app, chart, args.seconds, args.rate))
        elif args.mode == "screenshot":
            minutes = minute_candles()
            mark = minutes[int(len(minutes) * 0.40)]
            chart.crosshair_at(mark.t, mark.close)
            counter = PaintCounter(chart.paint_target())
            chart.paint_target().update()
            pump_until_painted(app, counter, settle_s=0.2)
            result["crosshair"] = chart.crosshair_text()
        if args.out and args.mode != "live":
            if not chart.grab().save(args.out):
                raise RuntimeError(f"could not save {args.out}")
            result["out"] = args.out
        chart.close()
    warm.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
