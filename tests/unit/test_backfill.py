"""Backfill with a fake clock and a fake HTTP get: gaps, pacing per host, 429 and Retry-After,
giving up, keys, cancelling. No sleeps, no sockets."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ccdesk.core.api_key import ApiKey
from ccdesk.core.backfill import (
    Backfill,
    BackfillOutcome,
    BackfillRunner,
    HostPacer,
    PacingPolicy,
    SuspendDetector,
    coalesce,
    missing_ranges,
)
from ccdesk.core.candles import Candle
from ccdesk.core.history_rest import HistoryError, HistoryProblem, HttpAnswer
from ccdesk.core.pairs import Pair, Source, parse_pair
from tests.fakes import FakeClock

WALL = 1_764_734_400.0 + 30  # half a minute into 04:00 UTC
BTC_USDT = parse_pair("binance:BTC-USDT")
COINBASE = parse_pair("coinbase:BTC-USD")


def test_missing_ranges_finds_holes_and_excludes_the_open_minute() -> None:
    base = 1_764_734_400
    starts = [base - 600, base - 540, base - 300, base - 60]
    assert missing_ranges(starts, base - 600, base + 30) == [
        (base - 480, base - 300),
        (base - 240, base - 60),
    ]
    assert missing_ranges([], base - 119, base + 59) == [(base - 60, base)]
    assert missing_ranges([base - 60], base - 60, base + 1) == []
    assert missing_ranges([base - 61], base - 120, base) == [(base - 120, base)]  # not a minute start


def test_coalesce_joins_close_holes() -> None:
    assert coalesce([(0, 60), (120, 180), (10_000, 10_060)], 600) == [(0, 180), (10_000, 10_060)]


def test_pacer_spaces_requests_per_host() -> None:
    clock = FakeClock()
    pacer = HostPacer(clock, PacingPolicy(min_interval_s=1.0))
    assert pacer.reserve("a") == 0
    assert pacer.reserve("a") == 1.0
    assert pacer.reserve("b") == 0
    clock.advance(5)
    assert pacer.reserve("a") == 0
    pacer.hold("a", 30)
    assert pacer.reserve("a") == 30


class FakeVenue:
    """Binance-style klines from a fake clock, with scripted failures first and a log of when
    each request was sent (monotonic)."""

    def __init__(
        self, clock: FakeClock, script: Sequence[HttpAnswer | HistoryError] = (), hole: range | None = None
    ):
        self.clock = clock
        self.script = list(script)
        self.hole = hole
        self.sent: list[tuple[float, str, dict[str, str], ApiKey | None]] = []

    def __call__(self, url: str, query: Mapping[str, str], key: ApiKey | None) -> HttpAnswer:
        self.sent.append((self.clock.monotonic(), url, dict(query), key))
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, HistoryError):
                raise step
            return step
        start = int(query["startTime"]) // 1000
        end = (int(query["endTime"]) + 1) // 1000
        step = {"1m": 60, "1h": 3600}[query["interval"]]
        rows = [
            [t * 1000, "100", "101", "99", "100.5", "1", (t + step) * 1000 - 1]
            for t in range(start, end, step)
            if self.hole is None or t not in self.hole
        ]
        return HttpAnswer(200, json.dumps(rows).encode())


def _backfill(
    get: Any,
    clock: FakeClock,
    *,
    policy: PacingPolicy | None = None,
    key: ApiKey | None = None,
    cancel_after: int | None = None,
) -> tuple[Backfill, list[tuple[Pair, list[Candle], int]], list[float]]:
    sunk: list[tuple[Pair, list[Candle], int]] = []
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if cancel_after is not None and len([w for w in waits if w > 0]) > cancel_after:
            return False
        clock.advance(seconds)
        return True

    backfill = Backfill(
        get,
        lambda pair, candles, period: sunk.append((pair, list(candles), period)),
        clock,
        HostPacer(clock, policy or PacingPolicy()),
        wait,
        key_for=lambda _source: key,
        urls={Source.BINANCE: "http://127.0.0.1:1", Source.COINDESK: "http://127.0.0.1:1"},
        rng=random.Random(1),
    )
    return backfill, sunk, waits


def test_a_day_of_minutes_in_paced_pages_newest_first() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, sunk, _ = _backfill(venue, clock)
    result = backfill.fill(BTC_USDT, [])
    assert result.outcome is BackfillOutcome.DONE
    assert result.requests == 2 == len(venue.sent)
    assert result.candles == 1439  # the day back from 04:00:30 starts at the next whole minute
    assert result.unfilled == ()
    times = [t for t, *_ in venue.sent]
    assert times[1] - times[0] >= 1.0  # one request per second per host
    first_page, second_page = sunk[0][1], sunk[1][1]
    assert first_page[-1].start == 1_764_734_400 - 60  # the newest finished minute first
    assert second_page[-1].start < first_page[0].start
    assert all(c.count == 0 for _, page, _ in sunk for c in page)
    assert all(urlsplit(url).path == "/api/v3/klines" for _, url, _, _ in venue.sent)


def test_only_the_holes_are_asked_for() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, sunk, _ = _backfill(venue, clock)
    now_minute = 1_764_734_400
    stored = [
        t for t in range(now_minute - 86400, now_minute, 60) if not now_minute - 600 <= t < now_minute - 300
    ]
    result = backfill.fill(BTC_USDT, stored)
    assert result.asked == ((now_minute - 600, now_minute - 300),)
    assert len(venue.sent) == 1
    assert [c.start for c in sunk[0][1]] == list(range(now_minute - 600, now_minute - 300, 60))


def test_429_waits_for_retry_after_then_succeeds() -> None:
    clock = FakeClock(wall=WALL)
    limited = HttpAnswer(429, b'{"code":-1003,"msg":"Too many requests"}', 12.0)
    venue = FakeVenue(clock, [limited, limited])
    backfill, _, _ = _backfill(venue, clock)
    result = backfill.run(BTC_USDT, [(1_764_734_400 - 600, 1_764_734_400)])
    assert result.outcome is BackfillOutcome.DONE
    assert result.candles == 10
    times = [t for t, *_ in venue.sent]
    assert len(times) == 3
    assert times[1] - times[0] >= 12.0
    assert times[2] - times[1] >= 12.0


def test_429_without_retry_after_backs_off_growing() -> None:
    clock = FakeClock(wall=WALL)
    limited = HttpAnswer(429, b"{}")
    venue = FakeVenue(clock, [limited, limited, limited])
    backfill, _, _ = _backfill(venue, clock, policy=PacingPolicy(rate_limited_s=10.0))
    assert backfill.run(BTC_USDT, [(1_764_734_400 - 600, 1_764_734_400)]).outcome is BackfillOutcome.DONE
    t = [s for s, *_ in venue.sent]
    assert t[1] - t[0] >= 10
    assert t[2] - t[1] >= 20
    assert t[3] - t[2] >= 40


def test_gives_up_after_max_failures_and_rests_the_host() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock, [HttpAnswer(503, b"busy")] * 10)
    backfill, sunk, _ = _backfill(venue, clock, policy=PacingPolicy(max_failures=3))
    result = backfill.run(BTC_USDT, [(1_764_734_400 - 600, 1_764_734_400)])
    assert result.outcome is BackfillOutcome.GAVE_UP
    assert result.problem is HistoryProblem.SERVER
    assert result.requests == 3
    assert result.unfilled == ((1_764_734_400 - 600, 1_764_734_400),)
    assert sunk == []
    # Another pair on the same host does not knock again while it rests.
    other = backfill.run(parse_pair("binance:ETH-USDT"), [(1_764_734_400 - 600, 1_764_734_400)])
    assert other.outcome is BackfillOutcome.GAVE_UP
    assert len(venue.sent) == 3


def test_pages_that_came_are_kept_when_a_later_one_fails() -> None:
    clock = FakeClock(wall=WALL)
    ok = FakeVenue(clock)

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, url: str, query: Mapping[str, str], key: ApiKey | None) -> HttpAnswer:
            self.calls += 1
            if self.calls > 1:
                raise HistoryError(HistoryProblem.NETWORK, "connection refused")
            return ok(url, query, key)

    backfill, sunk, _ = _backfill(Flaky(), clock, policy=PacingPolicy(max_failures=2))
    result = backfill.fill(BTC_USDT, [])
    assert result.outcome is BackfillOutcome.GAVE_UP
    assert result.candles == 1000 == len(sunk[0][1])
    assert result.unfilled == ((1_764_734_400 - 86400 + 60, 1_764_734_400 - 60_000),)


def test_not_listed_stops_at_once() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock, [HttpAnswer(400, b'{"code":-1121,"msg":"Invalid symbol."}')])
    backfill, _, _ = _backfill(venue, clock)
    result = backfill.fill(BTC_USDT, [])
    assert result.outcome is BackfillOutcome.STOPPED
    assert result.problem is HistoryProblem.NOT_LISTED
    assert len(venue.sent) == 1


def test_keyed_source_without_a_key_asks_nothing() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, _, _ = _backfill(venue, clock, key=None)
    result = backfill.fill(parse_pair("coindesk:BTC-USD"), [])
    assert (result.outcome, result.problem) == (BackfillOutcome.STOPPED, HistoryProblem.NO_KEY)
    assert venue.sent == []


def test_composite_is_not_supported() -> None:
    clock = FakeClock(wall=WALL)
    backfill, _, _ = _backfill(FakeVenue(clock), clock)
    result = backfill.fill(parse_pair("composite:BTC-USD"), [])
    assert (result.outcome, result.problem) == (BackfillOutcome.STOPPED, HistoryProblem.NOT_SUPPORTED)


def test_a_venue_hole_is_reported_unfilled() -> None:
    clock = FakeClock(wall=WALL)
    now_minute = 1_764_734_400
    venue = FakeVenue(clock, hole=range(now_minute - 300, now_minute - 180))
    backfill, _, _ = _backfill(venue, clock)
    result = backfill.run(BTC_USDT, [(now_minute - 600, now_minute)])
    assert result.outcome is BackfillOutcome.DONE
    assert result.unfilled == ((now_minute - 300, now_minute - 180),)
    assert result.candles == 8


def test_nothing_to_do_when_the_store_is_complete() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, _, _ = _backfill(venue, clock)
    stored = range(1_764_734_400 - 86400, 1_764_734_400, 60)
    assert backfill.fill(BTC_USDT, stored).outcome is BackfillOutcome.NOTHING_TO_DO
    assert venue.sent == []


def test_cancel_during_pacing_stops() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, _, _ = _backfill(venue, clock, cancel_after=0)
    result = backfill.fill(BTC_USDT, [])
    assert result.outcome is BackfillOutcome.CANCELLED
    assert len(venue.sent) == 1  # the first went at once; the second waited and was cancelled


def test_suspend_detector_sees_wall_time_jump() -> None:
    clock = FakeClock(wall=WALL)
    detector = SuspendDetector(clock, threshold_s=60)
    clock.advance(30)
    assert detector.check() is None
    clock.jump_wall(3600)  # the machine slept an hour
    assert detector.check() == 3600
    clock.advance(5)
    assert detector.check() is None


def test_runner_reads_the_store_and_fills_per_source_without_double_runs() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, sunk, _ = _backfill(venue, clock)
    minute = 1_764_734_400
    held: dict[Pair, list[Candle]] = {
        BTC_USDT: [Candle(t, 1, 1, 1, 1, 3) for t in range(minute - 3600, minute - 60, 60)]
    }
    reads: list[tuple[Pair, int, float]] = []

    def stored(pair: Pair, period_s: int, since: float) -> list[Candle]:
        reads.append((pair, period_s, since))
        return held.get(pair, [])

    cancel = threading.Event()
    runner = BackfillRunner(backfill, stored, clock, cancel, max_gap_s=3600, max_hour_gap_s=0)
    jobs = runner.jobs([BTC_USDT, parse_pair("binance:ETH-USDT"), BTC_USDT, COINBASE])
    assert set(jobs) == {Source.BINANCE, Source.COINBASE}
    results = jobs[Source.BINANCE]()
    assert [r.pair for r in results] == [BTC_USDT, parse_pair("binance:ETH-USDT")]
    assert results[0].asked == ((minute - 60, minute),)  # only the minute the store lacks
    assert results[1].candles == 59
    assert reads[0] == (BTC_USDT, 60, WALL - 3600)
    assert [(p, [c.start for c in cs][:1]) for p, cs, _ in sunk] == [
        (BTC_USDT, [minute - 60]),
        (parse_pair("binance:ETH-USDT"), [minute - 3540]),
    ]
    cancel.set()
    assert jobs[Source.COINBASE]() == ()


def test_runner_fills_every_pairs_minutes_then_their_hours_and_no_hours_after_a_stop() -> None:
    clock = FakeClock(wall=WALL)
    venue = FakeVenue(clock)
    backfill, sunk, _ = _backfill(venue, clock)
    hour = 1_764_734_400  # 04:00 UTC, the open hour
    eth = parse_pair("binance:ETH-USDT")
    # BTC's last finished hour is stored already (rolled up from its minutes).
    held = {(BTC_USDT, 3600): [Candle(hour - 3600, 1, 1, 1, 1, 0)]}

    def stored(pair: Pair, period_s: int, since: float) -> list[Candle]:
        return [c for c in held.get((pair, period_s), []) if c.start >= since]

    runner = BackfillRunner(
        backfill, stored, clock, threading.Event(), max_gap_s=3600, max_hour_gap_s=2 * 86400
    )
    results = runner.jobs([BTC_USDT, eth])[Source.BINANCE]()
    # The minutes of every pair first (the sparklines need them), then the hours.
    order = [(BTC_USDT, 60), (eth, 60), (BTC_USDT, 3600), (eth, 3600)]
    assert [(r.pair, r.period_s) for r in results] == order
    btc_hours = results[2]
    assert btc_hours.outcome is BackfillOutcome.DONE
    # The whole hours of the last two days, up to the stored one.
    assert btc_hours.asked == ((hour - 2 * 86400 + 3600, hour - 3600),)
    assert btc_hours.candles == 46
    assert [q["interval"] for _, _, q, _ in venue.sent] == ["1m", "1m", "1h", "1h"]
    assert [(period, len(candles)) for _, candles, period in sunk][:3] == [(60, 59), (60, 59), (3600, 46)]
    # A source with no history: its minutes stop, and its hours are not asked for.
    stopped = runner.run_pair(parse_pair("composite:BTC-USD"))
    assert stopped is not None
    assert stopped.outcome is BackfillOutcome.STOPPED
    assert not runner.hours_next(stopped)
    assert runner.hours_next(results[0])
    assert not runner.hours_next(btc_hours)


def test_a_server_message_echoing_the_key_is_scrubbed() -> None:
    clock = FakeClock(wall=WALL)
    key = ApiKey("topsecret-key-42")
    echo = HttpAnswer(
        400, b'{"Data": {}, "Err": {"type": 1, "message": "bad request from topsecret-key-42\\u0007"}}'
    )
    venue = FakeVenue(clock, [echo])
    backfill, _, _ = _backfill(venue, clock, key=key)
    result = backfill.fill(parse_pair("coindesk:BTC-USD"), [], max_gap_s=600)
    assert result.problem is HistoryProblem.REFUSED
    assert "bad request" in result.detail
    assert "topsecret" not in result.detail
    assert "\x07" not in result.detail
