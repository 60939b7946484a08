"""Price candles (open, high, low, close, count) per period, built from live prices. Pure: no I/O.

The local price store (issue 11) keeps minute candles built from every price a source sends, and
hourly candles rolled up from them. This module owns the arithmetic only: a builder that turns a
stream of (wall time, price) into closed candles, the roll-up of short candles into longer ones,
and the merge of a candle from two origins (live and a venue's REST history) without duplicates.

Times are wall-clock unix seconds (candles are shown against the calendar, and a venue's history
is keyed by wall time). A candle's ``start`` is a multiple of its period. A wall clock that steps
back (NTP, a manual change) never reopens a closed candle: the price joins the open one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

MINUTE_S: Final = 60
HOUR_S: Final = 3600


@dataclass(frozen=True, slots=True)
class Candle:
    """One period of prices.

    Attributes:
        start: Unix seconds at which the period starts, a multiple of the period.
        open: The first price of the period.
        high: The highest price.
        low: The lowest price.
        close: The last price.
        count: How many prices made it (0 when unknown, e.g. from a venue's history).
    """

    start: int
    open: float
    high: float
    low: float
    close: float
    count: int = 1


def period_start(t: float, period_s: int) -> int:
    """The start of the period that wall time ``t`` falls in."""
    return int(t // period_s) * period_s


class CandleBuilder:
    """Candles of one pair, one period long, from every price as it comes.

    Memory is one open candle, however fast prices arrive. ``add`` returns the candle that a new
    period closed (at most one per call); ``current`` is the open one, for a periodic save (so a
    crash loses at most the time since that save). The open candle is kept as plain fields, not a
    ``Candle``: ``add`` runs for every price on the stream thread, and a frozen dataclass per price
    cost three times what the rest of it does.
    """

    __slots__ = ("_close", "_count", "_end", "_high", "_low", "_open", "_start", "period_s")

    def __init__(self, period_s: int = MINUTE_S) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be > 0")
        self.period_s = period_s
        self._count = 0
        self._start = 0
        self._end = -math.inf
        self._open = self._high = self._low = self._close = 0.0

    def add(self, t: float, price: float) -> Candle | None:
        """Feed the price at wall time ``t``; returns the candle this closed, or None.

        Invalid prices (<= 0, NaN, infinite) are ignored.
        """
        if not 0.0 < price < math.inf:
            return None
        if t < self._end:  # the open period, or a clock that stepped back: never reopen a closed one
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            self._count += 1
            return None
        closed = self.current()
        start = period_start(t, self.period_s)
        self._start, self._end = start, start + self.period_s
        self._open = self._high = self._low = self._close = price
        self._count = 1
        return closed

    def current(self) -> Candle | None:
        """The open candle, or None before the first price."""
        if self._count == 0:
            return None
        return Candle(self._start, self._open, self._high, self._low, self._close, self._count)

    def close(self) -> Candle | None:
        """End the open candle (the pair left, the app quits); returns it, or None."""
        candle = self.current()
        self._count = 0
        self._end = -math.inf
        return candle


def roll_up(candles: Iterable[Candle], period_s: int) -> list[Candle]:
    """Combine shorter candles into candles ``period_s`` long (minutes into hours), oldest first.

    ``candles`` may come in any order; each must be shorter than ``period_s`` and divide it.
    """
    out: dict[int, Candle] = {}
    for c in sorted(candles, key=lambda c: c.start):
        start = period_start(c.start, period_s)
        prev = out.get(start)
        if prev is None:
            out[start] = Candle(start, c.open, c.high, c.low, c.close, c.count)
        else:
            out[start] = Candle(
                start, prev.open, max(prev.high, c.high), min(prev.low, c.low), c.close, prev.count + c.count
            )
    return [out[k] for k in sorted(out)]


def merge(stored: Candle, incoming: Candle) -> Candle:
    """One candle for one period from two origins, so a backfill never duplicates a period.

    Live candles have ``count > 0``; a venue's history has ``count == 0`` and covers the whole
    (closed) period, so its open and close are the period's. Live twice: the later save of the same
    candle supersedes. Live and history: the history's open and close, the wider high and low, and
    the live count.

    Raises:
        ValueError: if the two candles are not of the same period.
    """
    if stored.start != incoming.start:
        raise ValueError("merge needs two candles of the same period")
    if stored.count > 0 and incoming.count > 0:
        return incoming
    venue, live = (incoming, stored) if incoming.count == 0 else (stored, incoming)
    return Candle(
        venue.start,
        venue.open,
        max(venue.high, live.high),
        min(venue.low, live.low),
        venue.close,
        live.count,
    )
