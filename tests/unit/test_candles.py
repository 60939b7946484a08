"""Candles from live prices: periods, a clock stepping back, roll-up and merging with a venue's history."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, CandleBuilder, merge, period_start, roll_up

T0 = 1_700_000_040  # a minute boundary


def test_a_period_closes_when_the_next_one_starts() -> None:
    b = CandleBuilder()
    assert b.add(T0 + 1, 100.0) is None
    assert b.add(T0 + 20, 105.0) is None
    assert b.add(T0 + 40, 95.0) is None
    assert b.add(T0 + 59.9, 101.0) is None
    assert b.current() == Candle(T0, 100.0, 105.0, 95.0, 101.0, 4)
    closed = b.add(T0 + 60, 102.0)
    assert closed == Candle(T0, 100.0, 105.0, 95.0, 101.0, 4)
    assert b.current() == Candle(T0 + 60, 102.0, 102.0, 102.0, 102.0, 1)


def test_a_quiet_gap_skips_periods_without_inventing_candles() -> None:
    b = CandleBuilder()
    b.add(T0, 100.0)
    closed = b.add(T0 + 600, 110.0)
    assert closed is not None
    assert closed.start == T0
    assert b.current() == Candle(T0 + 600, 110.0, 110.0, 110.0, 110.0, 1)


def test_a_clock_stepping_back_never_reopens_a_closed_candle() -> None:
    b = CandleBuilder()
    b.add(T0, 100.0)
    b.add(T0 + 61, 101.0)
    assert b.add(T0 + 5, 99.0) is None  # wall clock stepped back a minute
    assert b.current() == Candle(T0 + 60, 101.0, 101.0, 99.0, 99.0, 2)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_invalid_prices_are_ignored(bad: float) -> None:
    b = CandleBuilder()
    b.add(T0, 100.0)
    assert b.add(T0 + 1, bad) is None
    assert b.current() == Candle(T0, 100.0, 100.0, 100.0, 100.0, 1)


def test_close_ends_the_open_candle() -> None:
    b = CandleBuilder()
    assert b.close() is None
    b.add(T0, 100.0)
    assert b.close() == Candle(T0, 100.0, 100.0, 100.0, 100.0, 1)
    assert b.current() is None


def test_minutes_roll_up_into_hours_in_any_order() -> None:
    hour = period_start(T0, HOUR_S)
    minutes = [
        Candle(hour + 120, 103.0, 108.0, 101.0, 107.0, 5),
        Candle(hour, 100.0, 104.0, 99.0, 102.0, 3),
        Candle(hour + 60, 102.0, 103.0, 90.0, 103.0, 2),
        Candle(hour + HOUR_S, 107.0, 107.0, 107.0, 107.0, 1),
    ]
    assert roll_up(minutes, HOUR_S) == [
        Candle(hour, 100.0, 108.0, 90.0, 107.0, 10),
        Candle(hour + HOUR_S, 107.0, 107.0, 107.0, 107.0, 1),
    ]


def test_a_venue_candle_gives_open_and_close_and_widens_high_and_low() -> None:
    live = Candle(T0, 101.0, 106.0, 100.5, 102.0, 7)  # live prices started mid-minute
    venue = Candle(T0, 100.0, 105.0, 99.0, 102.5, 0)
    assert merge(live, venue) == Candle(T0, 100.0, 106.0, 99.0, 102.5, 7)
    assert merge(venue, live) == merge(live, venue)


def test_a_later_live_save_supersedes_the_earlier_one() -> None:
    early = Candle(T0, 100.0, 101.0, 100.0, 101.0, 2)
    later = Candle(T0, 100.0, 103.0, 99.0, 102.0, 9)
    assert merge(early, later) == later


def test_merge_refuses_two_periods() -> None:
    with pytest.raises(ValueError, match="same period"):
        merge(Candle(T0, 1, 1, 1, 1), Candle(T0 + MINUTE_S, 1, 1, 1, 1))


@given(st.lists(st.tuples(st.floats(0, 3600), st.floats(0.01, 1e6)), min_size=1, max_size=200))
def test_candles_hold_every_price_once(ticks: list[tuple[float, float]]) -> None:
    ticks.sort()
    b = CandleBuilder()
    candles = [c for t, p in ticks if (c := b.add(T0 + t, p)) is not None]
    last = b.close()
    assert last is not None
    candles.append(last)
    assert sum(c.count for c in candles) == len(ticks)
    assert [c.start for c in candles] == sorted({period_start(T0 + t, MINUTE_S) for t, _ in ticks})
    for c in candles:
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
    prices = [p for _, p in ticks]
    assert max(c.high for c in candles) == max(prices)
    assert min(c.low for c in candles) == min(prices)
