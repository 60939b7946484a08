"""Turns every price of one stream into minute candles for the local store. Runs on the stream thread.

Every price counts (a one-second spike is a candle's high), so this sits beside the alert feed on
the stream thread, not behind the GUI's coalescing. It does no I/O: candles go to a sink
(``Store.record_candles``, which only queues them for the store's writer thread). A closed minute
is handed over at once; the open minutes are handed over every ``save_every_s`` too, so a kill -9
loses at most that much of the current minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ccdesk.core.candles import MINUTE_S, Candle, CandleBuilder
from ccdesk.core.clock import Clock
from ccdesk.core.pairs import Pair

CandleSink = Callable[[Pair, tuple[Candle, ...]], None]
"""Takes a pair's candles; must not block (the stream thread calls it)."""

SAVE_EVERY_S = 5.0


class CandleFeed:
    """Minute candles per pair from every price of one stream.

    Args:
        sink: Where candles go (closed ones at once, open ones every ``save_every_s``).
        clock: Wall time for the candles' periods.
        save_every_s: How often the open minutes are handed over (what a crash can lose).
    """

    __slots__ = ("_builders", "_clock", "_next_save", "_save_every_s", "_sink")

    def __init__(self, sink: CandleSink, clock: Clock, save_every_s: float = SAVE_EVERY_S) -> None:
        self._sink = sink
        self._clock = clock
        self._save_every_s = save_every_s
        self._builders: dict[Pair, CandleBuilder] = {}
        self._next_save = -math.inf

    def on_price(self, sub: Pair, price: float) -> None:
        """One price of ``sub`` (stream thread)."""
        t = self._clock.time()
        builder = self._builders.get(sub)
        if builder is None:
            builder = self._builders[sub] = CandleBuilder(MINUTE_S)
        closed = builder.add(t, price)
        if closed is not None:
            self._sink(sub, (closed,))
        if t >= self._next_save:
            if self._next_save != -math.inf:
                self.save()
            self._next_save = t + self._save_every_s

    def save(self) -> None:
        """Hand over every open minute (also on a stop: nothing of the current minute is lost)."""
        for sub, builder in self._builders.items():
            candle = builder.current()
            if candle is not None:
                self._sink(sub, (candle,))

    def forget(self, sub: Pair) -> None:
        """``sub`` left the stream: hand over its open minute and drop it."""
        builder = self._builders.pop(sub, None)
        if builder is not None and (candle := builder.close()) is not None:
            self._sink(sub, (candle,))
