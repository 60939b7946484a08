"""The chart's data: ranges, reading minutes and hours, min/max decimation, gaps, ticks, live candles."""

from __future__ import annotations

import math

import pytest

from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.chart_data import (
    ChartRange,
    History,
    LineBuckets,
    LineReading,
    bucket_width,
    candle_at,
    crosshair_time,
    line_from_history,
    live_candle,
    load_history,
    nice_step,
    price_axis,
    time_ticks,
    time_window,
    view_candles,
)

NOW = 1_764_000_000  # Mon 24 Nov 2025 16:00 UTC, a minute boundary


def c(start: int, close: float, lo: float | None = None, hi: float | None = None) -> Candle:
    return Candle(start, close, close if hi is None else hi, close if lo is None else lo, close, 1)


def test_a_30_day_minute_line_is_two_points_per_column_at_most():
    bucket = bucket_width(ChartRange.D30.spec.span_s, 1000)
    assert bucket == 2592
    history = History([], [c(NOW - 43_200 * 60 + i * 60, 100 + (i % 7)) for i in range(43_200)])
    line = line_from_history(history, bucket)
    assert len(line.segments()) == 1
    points = line.segments()[0]
    assert 1000 <= len(points) <= 2 * 1001
    assert [t for t, _ in points] == sorted(t for t, _ in points)
    assert min(p for _, p in points) == 100
    assert max(p for _, p in points) == 106


def test_buckets_keep_the_low_and_the_high_in_time_order_aligned_to_multiples():
    line = LineBuckets(100.0)
    for t, p in ((1000, 5.0), (1020, 9.0), (1040, 1.0), (1060, 4.0), (1100, 7.0)):
        line.add(t, p, 20)
    # bucket [1000, 1100): high 9 at 1020, then low 1 at 1040; bucket [1100, 1200): one point
    assert line.segments() == [[(1020, 9.0), (1040, 1.0), (1100, 7.0)]]
    line.add(1150, 8.0, 0)  # a live price folds into the last bucket
    assert line.last_segment()[-2:] == [(1100, 7.0), (1150, 8.0)]
    assert line.price_range() == (1.0, 9.0)
    assert line.price_range(since=1100) == (7.0, 8.0)


def test_invalid_prices_and_earlier_points_are_ignored():
    line = LineBuckets(60.0)
    for p in (0.0, -1.0, math.nan, math.inf):
        line.add(0, p)
    assert len(line) == 0
    line.add(600, 10.0)
    line.add(60, 11.0)  # a clock that stepped back
    assert line.segments() == [[(600, 10.0)]]
    with pytest.raises(ValueError, match="bucket_s"):
        LineBuckets(0)


def test_the_line_breaks_at_missing_minutes_it_can_show():
    minutes = [c(NOW + i * 60, 10.0 + i) for i in range(60) if not 20 <= i < 25]
    # An hour across 1000 columns: every missing minute shows, so the line breaks there.
    fine = line_from_history(History([], minutes), bucket_width(HOUR_S, 1000))
    assert [len(s) for s in fine.segments()] == [20, 35]
    assert fine.breaks == 2
    # 30 days across 1000 columns (43 minutes a column): a 5-minute hole is less than a pixel.
    coarse = line_from_history(History([], minutes), bucket_width(30 * 86_400, 1000))
    assert len(coarse.segments()) == 1


def test_load_history_reads_hours_only_where_the_minutes_do_not_reach():
    reads: list[tuple[int, float, float]] = []
    stored = {
        MINUTE_S: [c(NOW - 3 * 86_400 + i * 60, 1.0) for i in range(3 * 1440)],
        HOUR_S: [c(NOW - 10 * 86_400 + i * 3600, 2.0) for i in range(10 * 24)],
    }

    def read(period: int, since: float, until: float) -> list[Candle]:
        reads.append((period, since, until))
        return [x for x in stored[period] if since <= x.start < until]

    h = load_history(read, NOW - 7 * 86_400, math.inf)
    assert len(h.minutes) == 3 * 1440
    assert len(h.hours) == 4 * 24  # days 7..3 back, up to the first minute's hour
    assert h.hours[-1].start < h.minutes[0].start
    assert reads[1] == (HOUR_S, NOW - 7 * 86_400, NOW - 3 * 86_400)
    reads.clear()
    day = load_history(read, NOW - 86_400, math.inf)
    assert day.hours == []  # the minutes cover the day: no second read
    assert len(reads) == 1
    assert not load_history(lambda p, a, b: [], 0, NOW)


def test_view_candles_roll_minutes_up_and_use_hours_only_for_hour_multiples():
    minutes = [c(NOW + i * 60, 10.0 + i, lo=5.0 + i, hi=20.0 + i) for i in range(120)]
    hours = [c(NOW - 2 * 3600, 1.0), c(NOW - 3600, 2.0)]
    quarter = view_candles(History(hours, minutes), 15 * 60)
    assert len(quarter) == 8  # hours are not shown as 15-minute candles
    assert (quarter[0].open, quarter[0].high, quarter[0].low, quarter[0].close) == (10.0, 34.0, 5.0, 24.0)
    hourly = view_candles(History(hours, minutes), HOUR_S)
    assert [x.start for x in hourly] == [NOW - 7200, NOW - 3600, NOW, NOW + 3600]
    assert view_candles(History([], minutes), MINUTE_S) is not minutes  # a copy: live prices append


def test_time_ticks_are_aligned_to_the_step_in_local_time():
    lo, hi = time_window(ChartRange.H24, NOW + 17 * 60)
    ticks = time_ticks(ChartRange.H24, lo, hi)
    assert [label for _, label in ticks] == ["20:00", "00:00", "04:00", "08:00", "12:00", "16:00"]
    assert all(t % (4 * 3600) == 0 for t, _ in ticks)
    # In UTC+1 the ticks sit on local multiples of 4 h: one hour earlier in UTC.
    local = time_ticks(ChartRange.H24, lo, hi, tz_offset_s=3600)
    assert next(label for _, label in local) == "20:00"
    assert local[0][0] == ticks[0][0] - 3600
    week = time_ticks(ChartRange.D7, *time_window(ChartRange.D7, NOW))
    assert [label for _, label in week] == [
        "Tue 18",
        "Wed 19",
        "Thu 20",
        "Fri 21",
        "Sat 22",
        "Sun 23",
        "Mon 24",
    ]
    month = time_ticks(ChartRange.D30, *time_window(ChartRange.D30, NOW))
    assert len(month) == 6
    assert all((t / 86_400) % 5 == 0 for t, _ in month)
    hour = time_ticks(ChartRange.H1, NOW - 3600, NOW)
    assert len(hour) == 7
    assert hour[0] == (NOW - 3600, "15:00")
    assert hour[-1] == (NOW, "16:00")


def test_crosshair_time_per_range():
    assert crosshair_time(ChartRange.H1, NOW + 90) == "16:01"
    assert crosshair_time(ChartRange.D30, NOW, tz_offset_s=-5 * 3600) == "24 Nov 11:00"


def test_price_axis_has_room_and_nice_ticks():
    lo, hi, ticks = price_axis(59_321.0, 61_877.0)
    assert lo < 59_321.0
    assert hi > 61_877.0
    assert ticks == [59_500.0, 60_000.0, 60_500.0, 61_000.0, 61_500.0, 62_000.0]
    assert all(lo <= t <= hi for t in ticks)
    flat_lo, flat_hi, flat_ticks = price_axis(1.0, 1.0)  # one price: still an axis around it
    assert flat_lo < 1.0 < flat_hi
    assert flat_ticks
    assert price_axis(0.0001, 0.0003)[0] >= 0  # never below zero for prices
    assert nice_step(100, 5) == 20
    assert nice_step(0.0012, 5) == 0.00025
    assert nice_step(0, 5) == 1.0


def test_live_candle_joins_the_minute_or_opens_the_next():
    first, new = live_candle(None, NOW + 5, 10.0, MINUTE_S)
    assert new
    assert first == Candle(NOW, 10.0, 10.0, 10.0, 10.0, 1)
    same, new = live_candle(first, NOW + 30, 12.0, MINUTE_S)
    assert not new
    assert same == Candle(NOW, 10.0, 12.0, 10.0, 12.0, 2)
    nxt, new = live_candle(same, NOW + 61, 9.0, MINUTE_S)
    assert new
    assert nxt.start == NOW + 60
    back, new = live_candle(nxt, NOW + 10, 8.0, MINUTE_S)  # a clock that stepped back joins the open one
    assert not new
    assert back.start == NOW + 60
    assert back.low == 8.0


def test_candle_at_finds_the_candle_under_a_time_and_none_in_a_gap():
    hour = [c(NOW + i * 3600, 100.0 + i, lo=99.0 + i, hi=101.0 + i) for i in (0, 1, 2, 5, 6)]
    assert candle_at(hour, HOUR_S, NOW + 1800) == hour[0]
    assert candle_at(hour, HOUR_S, NOW + 3600) == hour[1]  # a period holds its start
    assert candle_at(hour, HOUR_S, NOW + 3 * 3600 - 0.001) == hour[2]
    assert candle_at(hour, HOUR_S, NOW + 3 * 3600) is None  # hours 3 and 4 are missing
    assert candle_at(hour, HOUR_S, NOW + 4 * 3600 + 59) is None
    assert candle_at(hour, HOUR_S, NOW + 5 * 3600 + 1) == hour[3]
    assert candle_at(hour, HOUR_S, NOW - 1) is None  # before the first
    assert candle_at(hour, HOUR_S, NOW + 7 * 3600) is None  # after the last one's period
    assert candle_at([], HOUR_S, NOW) is None


def test_the_line_reads_the_stored_minute_under_a_time_not_a_made_up_price():
    # One minute per bucket (the 1 h range): the minute a time falls in, all of it.
    line = line_from_history(History([], [c(NOW + i * 60, 100.0 + i) for i in range(10) if i != 4]), 6.0)
    assert line.at(NOW + 2 * 60 + 45) == LineReading(NOW + 120, 102.0, 102.0, 102.0)
    assert line.at(NOW + 3 * 60) == LineReading(NOW + 180, 103.0, 103.0, 103.0)
    assert line.at(NOW + 4 * 60 + 30) is None  # the missing minute: the line breaks there
    assert line.at(NOW + 5 * 60) == LineReading(NOW + 300, 105.0, 105.0, 105.0)
    assert line.at(NOW - 1) is None
    assert line.at(NOW + 10 * 60 - 0.5).close == 109.0
    assert line.at(NOW + 10 * 60) is None  # after the last minute


def test_a_decimated_bucket_reads_as_its_close_and_range():
    # 10-minute buckets: the close is the bucket's last minute, low and high its extremes.
    prices = [5.0, 1.0, 9.0, 4.0, 6.0, 7.0, 3.0, 8.0, 2.0, 4.5]
    start = NOW - NOW % 600
    line = line_from_history(History([], [c(start + i * 60, p) for i, p in enumerate(prices)]), 600.0)
    assert line.at(start + 30) == LineReading(start + 540, 4.5, 1.0, 9.0)
    assert line.at(start + 599) == LineReading(start + 540, 4.5, 1.0, 9.0)


def test_a_missing_minute_the_line_is_drawn_across_reads_as_the_nearer_bucket():
    start = NOW - NOW % 600
    minutes = [c(start + i * 60, 100.0 + i) for i in range(30) if i != 10]  # 10 starts a bucket
    line = line_from_history(History([], minutes), 600.0)
    assert len(line.segments()) == 1  # a minute is less than a bucket: no break
    assert line.at(start + 600 + 10).close == 109.0  # nearer the first bucket's end
    assert line.at(start + 600 + 55).close == 119.0  # nearer the second bucket's first minute


def test_the_30_day_line_reads_nothing_in_a_long_gap_and_a_live_price_where_it_is():
    bucket = bucket_width(ChartRange.D30.spec.span_s, 1000)
    old = [c(NOW - 30 * 86_400 + i * 60, 100.0) for i in range(1440)]
    recent = [c(NOW - 86_400 + i * 60, 200.0 + i % 3) for i in range(1440)]
    line = line_from_history(History([], old + recent), bucket)
    assert line.at(NOW - 5 * 86_400) is None
    reading = line.at(NOW - 3600)
    assert reading is not None
    assert reading.close in (200.0, 201.0, 202.0)
    assert NOW - 3600 - bucket < reading.t <= NOW - 3600 + bucket
    line.add(NOW + 20, 250.0, 0.0)  # a live price folds into the last bucket
    assert line.at(NOW + 10).close == 250.0


def test_hours_join_the_minutes_without_a_break_each_close_at_its_hours_end():
    # A fresh install: a venue's hours, then its last 720 minutes, which start mid-hour.
    first_minute = NOW - 12 * 3600 + 7 * 60
    hour0 = first_minute - 7 * 60 - 3 * 3600
    hours = [c(hour0 + i * 3600, 100.0 + i) for i in range(3)]
    minutes = [c(first_minute + i * 60, 110.0) for i in range(30)]
    line = line_from_history(History(hours, minutes), bucket_width(ChartRange.H24.spec.span_s, 650))
    [segment] = line.segments()
    assert segment[:3] == [(hour0 + 3540, 100.0), (hour0 + 7140, 101.0), (hour0 + 10740, 102.0)]
    assert segment[3] == (first_minute, 110.0)
    reading = line.at(hour0 + 3600 + 1800)  # in the second hour: the line left the first hour's close
    assert reading is not None
    assert (reading.t, reading.close) == (hour0 + 3540, 100.0)
