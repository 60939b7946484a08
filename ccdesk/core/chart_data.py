"""What a chart of one pair shows, as plain data: ranges, reading the store, decimation, gaps, ticks.

The chart window (``ccdesk.qt.chart_window``) draws with Qt Charts, which maps and paints every
point of a series on every repaint: a 30-day line of 43,200 minute closes cost ~60 ms of CPU per
live update. So the line is fed at most two points per pixel column (the lowest and the highest
close of each time bucket, in time order), which looks the same. Buckets are aligned to multiples
of their width, so a live price only ever changes the last bucket.

A line never crosses missing prices: it breaks into segments wherever the time between two
candles is at least one bucket wide (at one minute per pixel or finer, every missing minute).

The crosshair reads the data at the pointer's time, never the pointer's height: ``candle_at`` and
``LineBuckets.at`` find the candle or bucket there (or none, in a gap) by bisection, as they run on
every mouse move.

Times are wall-clock unix seconds; ticks are placed in local time (``tz_offset_s``). No Qt, no I/O:
the store is read through the callable ``load_history`` is given.
"""

from __future__ import annotations

import enum
import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, period_start, roll_up

DAY_S: Final = 86_400

ReadCandles = Callable[[int, float, float], list[Candle]]
"""Reads candles of a period starting in [since, until), oldest first: ``read(period_s, since, until)``."""


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """How one range is shown.

    Attributes:
        span_s: How far back the chart reaches from now.
        tick_step_s: Seconds between time labels (aligned to multiples of it in local time).
        tick_format: ``time.strftime`` format of a time label.
        candle_s: The length of one candle in the candle view (minutes rolled up).
        crosshair_format: ``time.strftime`` format of the time under the pointer.
    """

    span_s: int
    tick_step_s: int
    tick_format: str
    candle_s: int
    crosshair_format: str


class ChartRange(enum.Enum):
    """The chart's ranges: the last hour, day, week and 30 days."""

    H1 = RangeSpec(HOUR_S, 10 * MINUTE_S, "%H:%M", MINUTE_S, "%H:%M")
    H24 = RangeSpec(DAY_S, 4 * HOUR_S, "%H:%M", 15 * MINUTE_S, "%a %H:%M")
    D7 = RangeSpec(7 * DAY_S, DAY_S, "%a %d", HOUR_S, "%a %d %b %H:%M")
    D30 = RangeSpec(30 * DAY_S, 5 * DAY_S, "%d %b", 4 * HOUR_S, "%d %b %H:%M")

    @property
    def spec(self) -> RangeSpec:
        value: RangeSpec = self.value
        return value


@dataclass(frozen=True, slots=True)
class History:
    """A pair's stored prices for one chart: hourly candles where there are no minutes (older than
    the minutes' 30 days, or a venue's history), then minute candles; each list oldest first."""

    hours: list[Candle]
    minutes: list[Candle]

    def __bool__(self) -> bool:
        return bool(self.hours or self.minutes)


def load_history(read: ReadCandles, since: float, until: float) -> History:
    """The candles of [since, until): minute candles, and where the minutes do not reach back, the
    hourly ones before the first minute's hour. Blocks on ``read``: call it off the GUI thread."""
    minutes = read(MINUTE_S, since, until)
    first = minutes[0].start if minutes else until
    if first - since < HOUR_S:
        return History([], minutes)
    return History(read(HOUR_S, since, period_start(first, HOUR_S)), minutes)


def view_candles(history: History, period_s: int) -> list[Candle]:
    """The candle view's candles, ``period_s`` long (a multiple of a minute), rolled up from the
    minutes, and from the hours too when ``period_s`` is a multiple of an hour (a shorter candle
    would misrepresent an hour's prices as one period)."""
    minutes = list(history.minutes) if period_s == MINUTE_S else roll_up(history.minutes, period_s)
    if period_s % HOUR_S or not history.hours:
        return minutes
    hours = history.hours if period_s == HOUR_S else roll_up(history.hours, period_s)
    if minutes and hours and hours[-1].start == minutes[0].start:  # the hour the minutes start in
        hours = hours[:-1]
    return hours + minutes


def bucket_width(span_s: float, columns: int) -> float:
    """Seconds per bucket for ``columns`` pixel columns across ``span_s`` (one bucket per column),
    rounded up to a whole second so the same chart width always gives the same buckets."""
    return float(max(1, math.ceil(span_s / max(1, columns))))


def candle_at(candles: Sequence[Candle], period_s: int, t: float) -> Candle | None:
    """The candle whose period (``period_s`` long) holds time ``t``, or None where none does (before
    the first, after the last, or in a missing period). ``candles`` are sorted by start; O(log n)."""
    i = bisect_right(candles, t, key=_candle_start) - 1
    if i < 0 or not t < candles[i].start + period_s:
        return None
    return candles[i]


def _candle_start(c: Candle) -> float:
    return c.start


@dataclass(frozen=True, slots=True)
class LineReading:
    """What a line's bucket holds, for the crosshair.

    Attributes:
        t: The start of the bucket's last stored period (the close's time).
        close: The bucket's last price.
        low: The bucket's lowest price.
        high: The bucket's highest price.
    """

    t: float
    close: float
    low: float
    high: float


# A bucket is a list of floats (cheap to fold into): its key, the low and the high in time order,
# the time its first point starts and its last point's period ends, and its last point.
_KEY, _T1, _P1, _T2, _P2, _FIRST, _END, _CLOSE_T, _CLOSE = range(9)


class LineBuckets:
    """A price line decimated to the lowest and highest price per time bucket, broken at gaps.

    ``add`` takes points in time order (a live price too: it folds into the last bucket). The line
    breaks where the time between the end of one point's period and the next point is at least
    ``max(bucket_s, 1)`` seconds. ``segments()`` is what to draw: each segment a list of (t, price),
    at most two per bucket, in time order. ``breaks`` counts segments started, so a view can tell
    "the last segment grew" (redraw it) from "a new segment began" (redraw all). ``at(t)`` is the
    bucket under a time, for the crosshair.
    """

    __slots__ = ("_buckets", "_end", "_starts", "bucket_s")

    def __init__(self, bucket_s: float) -> None:
        if not bucket_s > 0:
            raise ValueError("bucket_s must be > 0")
        self.bucket_s = bucket_s
        self._buckets: list[list[float]] = []  # [key, t1, p1, t2, p2]: the low and high in time order
        self._starts: list[int] = []  # index of each segment's first bucket
        self._end = -math.inf  # where the last point's period ends

    @property
    def breaks(self) -> int:
        return len(self._starts)

    def __len__(self) -> int:
        return len(self._buckets)

    def add(self, t: float, price: float, period_s: float = MINUTE_S) -> None:
        """Fold the price of the period starting at ``t`` into the line. Invalid prices and points
        earlier than the last one's start are ignored."""
        if not 0.0 < price < math.inf:
            return
        key = t // self.bucket_s
        last = self._buckets[-1] if self._buckets else None
        if last is not None and t < last[3] and t < last[1]:
            return  # older than what is drawn: a clock that stepped back
        end = t + period_s
        if last is None or t - self._end >= max(self.bucket_s, 1.0):
            self._starts.append(len(self._buckets))
            self._buckets.append([key, t, price, t, price, t, end, t, price])
        elif last[_KEY] == key:
            _fold(last, t, price)
            last[_END] = max(last[_END], end)
            last[_CLOSE_T], last[_CLOSE] = t, price
        else:
            self._buckets.append([key, t, price, t, price, t, end, t, price])
        self._end = max(self._end, end)

    def at(self, t: float) -> LineReading | None:
        """The bucket the line draws at time ``t``: the one whose stored periods span ``t``, or
        between two buckets of one segment (a missing minute the line is drawn across), the nearer.
        None before the line, after it, and in a gap where it breaks. O(log n)."""
        buckets = self._buckets
        i = bisect_right(buckets, t, key=_bucket_first) - 1
        if i < 0:
            return None
        b = buckets[i]
        if t >= b[_END] and t > b[_CLOSE_T]:  # (a live price's period is 0 s long: at it counts)
            nxt = i + 1
            if nxt == len(buckets):
                return None
            j = bisect_left(self._starts, nxt)
            if j < len(self._starts) and self._starts[j] == nxt:
                return None  # the line breaks here
            if buckets[nxt][_FIRST] - t < t - b[_END]:
                b = buckets[nxt]
        return LineReading(b[_CLOSE_T], b[_CLOSE], min(b[_P1], b[_P2]), max(b[_P1], b[_P2]))

    def segments(self) -> list[list[tuple[float, float]]]:
        """The line to draw: one list of (t, price) per unbroken stretch."""
        bounds = [*self._starts, len(self._buckets)]
        return [self._points(bounds[i], bounds[i + 1]) for i in range(len(self._starts))]

    def last_segment(self) -> list[tuple[float, float]]:
        """The last segment alone (what a live price changes)."""
        if not self._starts:
            return []
        return self._points(self._starts[-1], len(self._buckets))

    def price_range(self, since: float = -math.inf) -> tuple[float, float] | None:
        """The lowest and highest price of buckets from ``since``, or None."""
        lo, hi = math.inf, -math.inf
        for b in self._buckets:
            if b[3] >= since or b[1] >= since:
                lo = min(lo, b[2], b[4])
                hi = max(hi, b[2], b[4])
        return None if lo > hi else (lo, hi)

    def _points(self, first: int, end: int) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for b in self._buckets[first:end]:
            out.append((b[1], b[2]))
            if b[3] != b[1]:
                out.append((b[3], b[4]))
        return out


def _fold(b: list[float], t: float, p: float) -> None:
    """Fold a later point into a bucket, keeping its low and high in time order."""
    lo_first = b[2] <= b[4]
    lo_t, lo, hi_t, hi = (b[1], b[2], b[3], b[4]) if lo_first else (b[3], b[4], b[1], b[2])
    if p < lo:
        lo_t, lo = t, p
    if p > hi:
        hi_t, hi = t, p
    if lo_t == hi_t:  # one point so far, and this one is equal to it: keep the later as the second
        hi_t, hi = t, p
    b[_T1 : _P2 + 1] = [lo_t, lo, hi_t, hi] if lo_t <= hi_t else [hi_t, hi, lo_t, lo]


def _bucket_first(b: list[float]) -> float:
    return b[_FIRST]


def line_from_history(history: History, bucket_s: float) -> LineBuckets:
    """The closes of ``history`` as a decimated, gap-broken line. An hour's close is drawn at its
    last minute, where the minutes' line draws it (at the hour's start it would sit an hour early,
    and the line would break and jump where the minutes take over); for the gaps it spans an hour."""
    line = LineBuckets(bucket_s)
    for c in history.hours:
        line.add(c.start + HOUR_S - MINUTE_S, c.close, HOUR_S)
    for c in history.minutes:
        line.add(c.start, c.close, MINUTE_S)
    return line


def time_window(rng: ChartRange, now: float) -> tuple[float, float]:
    """The x range shown: the range's span up to now."""
    return now - rng.spec.span_s, now


def time_ticks(rng: ChartRange, lo: float, hi: float, tz_offset_s: float = 0.0) -> list[tuple[float, str]]:
    """Time labels in [lo, hi]: every ``tick_step_s`` at multiples of it in local time (midnight for
    days; 5-day steps count from the unix epoch's days), each with its text."""
    spec = rng.spec
    step = spec.tick_step_s
    first = math.ceil((lo + tz_offset_s) / step) * step - tz_offset_s
    out: list[tuple[float, str]] = []
    t = first
    while t <= hi:
        out.append((t, time.strftime(spec.tick_format, time.gmtime(t + tz_offset_s))))
        t += step
    return out


def crosshair_time(rng: ChartRange, t: float, tz_offset_s: float = 0.0) -> str:
    """The time under the pointer, as the crosshair's label says it."""
    return time.strftime(rng.spec.crosshair_format, time.gmtime(t + tz_offset_s))


def nice_step(span: float, count: int = 5) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten that cuts ``span`` into about ``count`` parts."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    power = 10.0 ** math.floor(math.log10(span / max(1, count)))
    steps = [m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0)]
    return min(steps, key=lambda step: abs(span / step - count))


def price_axis(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """The price axis for prices in [lo, hi]: its min and max (a little room above and below) and
    the tick values (multiples of a nice step) inside them."""
    if hi < lo:
        lo, hi = hi, lo
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.01 or 1.0
        lo, hi = lo - span / 2, hi + span / 2
    pad = span * 0.06
    a_lo, a_hi = lo - pad, hi + pad
    if lo >= 0 and a_lo < 0:
        a_lo = 0.0
    step = nice_step(a_hi - a_lo, count)
    first = math.ceil(a_lo / step) * step
    ticks: list[float] = []
    v = first
    while v <= a_hi + step * 1e-9:
        ticks.append(round(v, 12))
        v = first + step * len(ticks)
    return a_lo, a_hi, ticks


def live_candle(last: Candle | None, t: float, price: float, period_s: int) -> tuple[Candle, bool]:
    """``last`` with a live price at ``t`` folded in, or a new candle if ``t`` is in a later period.
    Returns the candle and whether it is new. A price in an earlier period joins ``last``."""
    start = period_start(t, period_s)
    if last is None or start > last.start:
        return Candle(start, price, price, price, price, 1), True
    return (
        Candle(last.start, last.open, max(last.high, price), min(last.low, price), price, last.count + 1),
        False,
    )
