"""The candle feed on the stream thread: closed minutes at once, open minutes every few seconds,
a pair that leaves hands over its minute."""

from __future__ import annotations

from ccdesk.core.candle_feed import CandleFeed
from ccdesk.core.candles import Candle
from ccdesk.core.pairs import Pair
from tests.fakes import FakeClock
from tests.pairs import BTC, ETH_COINBASE

T0 = 1_700_000_040.0  # a minute boundary


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[Pair, Candle]] = []

    def __call__(self, sub: Pair, candles: tuple[Candle, ...]) -> None:
        self.got.extend((sub, c) for c in candles)


def feed_at(clock: FakeClock, sink: Sink) -> CandleFeed:
    return CandleFeed(sink, clock, save_every_s=5.0)


def test_a_closed_minute_goes_to_the_sink_at_once() -> None:
    clock, sink = FakeClock(wall=T0), Sink()
    feed = feed_at(clock, sink)
    feed.on_price(BTC, 100.0)
    clock.advance(1)
    feed.on_price(BTC, 104.0)
    assert sink.got == []  # nothing closed, the first save not yet due
    clock.advance(59)
    feed.on_price(BTC, 101.0)
    assert (BTC, Candle(int(T0), 100.0, 104.0, 100.0, 104.0, 2)) in sink.got


def test_open_minutes_are_saved_every_few_seconds_so_a_crash_loses_little() -> None:
    clock, sink = FakeClock(wall=T0), Sink()
    feed = feed_at(clock, sink)
    feed.on_price(BTC, 100.0)
    feed.on_price(ETH_COINBASE, 3000.0)
    clock.advance(4.9)
    feed.on_price(BTC, 99.0)
    assert sink.got == []
    clock.advance(0.1)
    feed.on_price(BTC, 98.0)
    assert sink.got == [
        (BTC, Candle(int(T0), 100.0, 100.0, 98.0, 98.0, 3)),
        (ETH_COINBASE, Candle(int(T0), 3000.0, 3000.0, 3000.0, 3000.0, 1)),
    ]


def test_a_pair_that_leaves_hands_over_its_minute() -> None:
    clock, sink = FakeClock(wall=T0), Sink()
    feed = feed_at(clock, sink)
    feed.on_price(BTC, 100.0)
    feed.forget(BTC)
    feed.forget(BTC)  # twice is fine
    assert sink.got == [(BTC, Candle(int(T0), 100.0, 100.0, 100.0, 100.0, 1))]
    sink.got.clear()
    feed.save()
    assert sink.got == []
