"""Backfill against the real simulator on loopback, into a real store file: every venue's history
endpoint, merged without duplicates, 429 with Retry-After and pacing, and a venue's hole reported
then filled."""

from __future__ import annotations

import http.server
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.backfill import (
    Backfill,
    BackfillOutcome,
    BackfillResult,
    HostPacer,
    PacingPolicy,
    missing_ranges,
)
from ccdesk.core.candles import HOUR_S, MINUTE_S, period_start, roll_up
from ccdesk.core.clock import SystemClock
from ccdesk.core.history_rest import (
    MAX_BODY_BYTES,
    HistoryError,
    HistoryProblem,
    HttpAnswer,
    RequestsGet,
    fetch_page,
    venue_history,
)
from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source, parse_pair
from ccdesk.core.store import Store
from ccdesk.sim.server import SimServer
from tests.hostile import HostileServer, Peer

KEY = "sim-key-0123456789"
SIX_HOURS = 6 * 3600


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "ccdesk.sqlite3")
    yield s
    s.close()


def _backfill(
    sim: SimServer,
    store: Store,
    *,
    interval_s: float = 0.05,
    key: str | None = KEY,
    sent: list[float] | None = None,
) -> Backfill:
    """A backfill against ``sim``; ``sent`` collects the monotonic time each request leaves (the
    client's pacing, which the server's arrival times blur under load)."""
    clock = SystemClock()
    stop = threading.Event()
    urls = {s: sim.rest_url for s in Source if s is not Source.COMPOSITE}
    real = RequestsGet(timeout_s=5.0)

    def get(url: str, query: Mapping[str, str], key: ApiKey | None) -> HttpAnswer:
        if sent is not None:
            sent.append(time.monotonic())
        return real(url, query, key)

    return Backfill(
        get,
        store.record_candles,
        clock,
        HostPacer(clock, PacingPolicy(min_interval_s=interval_s)),
        lambda seconds: not stop.wait(seconds),
        key_for=lambda _source: ApiKey(key) if key else None,
        urls=urls,
    )


def _live_price(sim: SimServer, pair: Pair) -> float:
    """The price the simulator streams for ``pair``'s venue, from its market model."""
    market: Any = sim._market  # the test reads the model directly, as the venue does
    exchange = {
        Source.KRAKEN: "Kraken",
        Source.COINBASE: "Coinbase",
        Source.BINANCE: "Binance",
        Source.OKX: "Binance",
    }
    if pair.source in exchange:
        probe = Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, exchange[pair.source], Channel.TICKER)
    else:
        probe = Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, AGGREGATE_MARKET, Channel.AGGREGATE)
    return float(market.find(probe).fields["PRICE"])


@pytest.mark.parametrize(
    "text",
    [
        "kraken:BTC-USD",
        "kraken:DOGE-USD",
        "coinbase:ETH-USD",
        "binance:BTC-USDT",
        "okx:SOL-USDT",
        "5~CCCAGG~BTC~USD",
        "2~Coinbase~ETH~USD",
        "coindesk:BTC-USD",
        "coindesk:ccix:ETH-USD",
    ],
)
def test_each_venue_backfills_into_the_store_without_duplicates(
    make_sim: Callable[..., SimServer], store: Store, text: str
) -> None:
    # No sharp moves: the live price is compared with the history's last close a moment later.
    sim = make_sim(seed=11, keys=[KEY], sharp_move_prob=0.0)
    pair = parse_pair(text)
    backfill = _backfill(sim, store)
    now = time.time()
    first = backfill.fill(pair, [], max_gap_s=SIX_HOURS)
    assert first.outcome is BackfillOutcome.DONE, first
    assert first.unfilled == ()
    assert store.flush()
    stored = store.candles(pair, MINUTE_S, now - SIX_HOURS - 60)
    starts = [c.start for c in stored]
    assert len(starts) == len(set(starts)) == first.candles
    assert first.candles >= SIX_HOURS // 60 - 2
    assert starts == list(range(starts[0], starts[-1] + 60, 60))  # no hole
    assert starts[-1] >= period_start(now, 60) - 120  # up to the last finished minute
    assert all(
        c.count == 0 and c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in stored
    )
    # The history joins the live price (the last finished minute closes where the stream is now).
    assert stored[-1].close == pytest.approx(_live_price(sim, pair), rel=0.02)
    hours = store.candles(pair, HOUR_S, now - SIX_HOURS - 3600)
    assert len(hours) in (6, 7)

    # Asked again for the same range: merged, never duplicated.
    again = backfill.run(pair, first.asked)
    assert again.outcome is BackfillOutcome.DONE
    assert store.flush()
    after = store.candles(pair, MINUTE_S, now - SIX_HOURS - 60)
    assert [c.start for c in after][: len(starts)] == starts
    assert len({c.start for c in after}) == len(after)
    # And a start-up with the store as it is asks for at most the minute or two since.
    third = backfill.fill(pair, [c.start for c in after], max_gap_s=SIX_HOURS)
    assert third.candles <= 2


@pytest.mark.parametrize(
    "text", ["binance:ETH-USDT", "kraken:BTC-USD", "5~CCCAGG~SOL~USD", "coindesk:BTC-USD"]
)
def test_hourly_history_agrees_with_the_minutes(
    make_sim: Callable[..., SimServer], store: Store, text: str
) -> None:
    sim = make_sim(seed=8, keys=[KEY], sharp_move_prob=0.0)
    pair = parse_pair(text)
    backfill = _backfill(sim, store)
    hours = backfill.fill(pair, [], max_gap_s=2 * 86400, period_s=HOUR_S)
    assert hours.outcome is BackfillOutcome.DONE, hours
    assert hours.candles >= 47
    now = time.time()
    this_hour = period_start(now, HOUR_S)
    assert store.flush()
    # Read before any minute is stored (the store rolls minutes up into the same hour rows).
    venue_hours = {c.start: c for c in store.candles(pair, HOUR_S, this_hour - 3 * HOUR_S, this_hour)}
    assert len(venue_hours) == 3
    minutes = backfill.run(pair, [(this_hour - 3 * HOUR_S, this_hour)])
    assert minutes.candles == 180
    assert store.flush()
    from_minutes = roll_up(store.candles(pair, MINUTE_S, this_hour - 3 * HOUR_S, this_hour), HOUR_S)
    assert len(from_minutes) == 3
    for rolled in from_minutes:
        hour = venue_hours[rolled.start]
        assert (hour.open, hour.close) == pytest.approx((rolled.open, rolled.close), rel=2e-3)
        assert hour.high == pytest.approx(rolled.high, rel=2e-3)
        assert hour.low == pytest.approx(rolled.low, rel=2e-3)


def test_429_is_honoured_with_retry_after_and_pacing(
    make_sim: Callable[..., SimServer], store: Store
) -> None:
    sim = make_sim(seed=2, history_rate_limited=2, history_retry_after_s=1.0)
    sent: list[float] = []
    backfill = _backfill(sim, store, interval_s=0.5, sent=sent)
    pair = parse_pair("coinbase:BTC-USD")
    result = backfill.fill(pair, [], max_gap_s=12 * 3600)  # 720 minutes: three pages of 300
    assert result.outcome is BackfillOutcome.DONE, result
    hits = sim.history_hits
    assert [h.status for h in hits] == [429, 429, 200, 200, 200]
    # When each request left: the client's own waits, exact to the clock (the server's arrival
    # times are blurred by the machine's load).
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert len(sent) == 5
    assert gaps[0] >= 0.99  # Retry-After: 1 (less the timer's grain)
    assert gaps[1] >= 0.99
    assert min(gaps) >= 0.49  # never faster than the pacing
    assert result.candles >= 718


def test_rate_limited_for_good_gives_up(make_sim: Callable[..., SimServer], store: Store) -> None:
    sim = make_sim(seed=2, history_rate_limited=100, history_retry_after_s=0.0)
    backfill = _backfill(sim, store)
    result = backfill.fill(parse_pair("binance:BTC-USDT"), [], max_gap_s=3600)
    assert result.outcome is BackfillOutcome.GAVE_UP
    assert result.problem is HistoryProblem.RATE_LIMITED
    assert len(sim.history_hits) == PacingPolicy().max_failures


def test_a_hole_is_reported_then_filled(make_sim: Callable[..., SimServer], store: Store) -> None:
    now = time.time()
    minute = period_start(now, 60)
    hole = (minute - 1800, minute - 1200)
    pair = parse_pair("binance:ETH-USDT")
    holed = make_sim(seed=5, history_hole=hole)
    result = _backfill(holed, store).fill(pair, [], max_gap_s=3 * 3600)
    assert result.outcome is BackfillOutcome.DONE
    assert result.unfilled == (hole,)
    assert store.flush()
    starts = [c.start for c in store.candles(pair, MINUTE_S, now - 3 * 3600)]
    assert missing_ranges(starts, now - 3 * 3600, now)[:1] == [hole]

    # The venue is whole again: the next backfill asks only for the hole and fills it.
    whole = make_sim(seed=5)
    again = _backfill(whole, store).fill(pair, starts, max_gap_s=3 * 3600)
    assert again.outcome is BackfillOutcome.DONE
    assert again.asked[0] == hole
    assert store.flush()
    filled = [c.start for c in store.candles(pair, MINUTE_S, now - 3 * 3600)]
    assert missing_ranges(filled, now - 3 * 3600 + 60, time.time() - 120) == []
    assert len(filled) == len(set(filled))


def test_keyed_sources_refused_key_and_no_key(make_sim: Callable[..., SimServer], store: Store) -> None:
    sim = make_sim(seed=1, keys=[KEY])
    refused: BackfillResult = _backfill(sim, store, key="wrong-key-99999").fill(
        parse_pair("5~CCCAGG~BTC~USD"), [], max_gap_s=3600
    )
    assert (refused.outcome, refused.problem) == (BackfillOutcome.STOPPED, HistoryProblem.KEY_REFUSED)
    none = _backfill(sim, store, key=None).fill(parse_pair("coindesk:BTC-USD"), [], max_gap_s=3600)
    assert (none.outcome, none.problem) == (BackfillOutcome.STOPPED, HistoryProblem.NO_KEY)
    assert len(sim.history_hits) == 1  # no key: nothing was asked
    # The key travelled in the authorization header only, never in the URL.
    ok = _backfill(sim, store).fill(parse_pair("coindesk:BTC-USD"), [], max_gap_s=3600)
    assert ok.outcome is BackfillOutcome.DONE
    history = [h for h in sim.handshakes if "/historical/" in h.path or "/histominute" in h.path]
    assert history
    assert all(KEY not in h.path and "wrong-key" not in h.path for h in history)
    assert history[-1].header("authorization") == f"Apikey {KEY}"


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a redirect to another host, and remembers what it was sent."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.2:9/steal")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_redirect_is_not_followed_and_the_key_is_never_logged(
    make_sim: Callable[..., SimServer], store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        clock = SystemClock()
        backfill = Backfill(
            RequestsGet(timeout_s=5.0),
            store.record_candles,
            clock,
            HostPacer(clock, PacingPolicy(min_interval_s=0.0)),
            lambda _s: True,
            key_for=lambda _source: ApiKey(KEY),
            urls={Source.CRYPTOCOMPARE: f"http://127.0.0.1:{server.server_address[1]}"},
        )
        with caplog.at_level(logging.DEBUG):
            result = backfill.fill(parse_pair("5~CCCAGG~BTC~USD"), [], max_gap_s=3600)
            # And a host that is down: a network failure, its detail scrubbed.
            down = Backfill(
                RequestsGet(timeout_s=2.0),
                store.record_candles,
                clock,
                HostPacer(clock, PacingPolicy(min_interval_s=0.0, max_failures=1)),
                lambda _s: True,
                key_for=lambda _source: ApiKey(KEY),
                urls={Source.COINDESK: "http://127.0.0.1:9"},
            ).fill(parse_pair("coindesk:BTC-USD"), [], max_gap_s=3600)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.outcome, result.problem) == (BackfillOutcome.STOPPED, HistoryProblem.REFUSED)
    assert len(_Redirecting.seen) == 1  # asked once, the redirect not followed
    assert _Redirecting.seen[0]["authorization"] == f"Apikey {KEY}"
    assert KEY not in _Redirecting.seen[0]["path"]
    assert (down.outcome, down.problem) == (BackfillOutcome.GAVE_UP, HistoryProblem.NETWORK)
    assert KEY not in down.detail
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)


# --- a hostile history server ------------------------------------------------------------------


def _one_page(url: str, timeout_s: float = 2.0) -> HistoryProblem | None:
    request = venue_history(Source.BINANCE).pages(
        parse_pair("binance:BTC-USDT"), time.time() - 600, time.time(), time.time()
    )[0]
    try:
        fetch_page(RequestsGet(timeout_s=timeout_s), url, request, None)
    except HistoryError as exc:
        return exc.problem
    return None


def _huge(peer: Peer) -> None:
    peer.request()
    peer.reply(
        200,
        headers=[("Content-Type", "application/json")],
        body=b"[" + b"[1]," * (MAX_BODY_BYTES // 3) + b"[1]]",
    )


def _lying_length(peer: Peer) -> None:
    peer.request()
    peer.reply(200, headers=[("Content-Length", "100000")], body=b"[[1,", content_length=False)
    peer.close()


def _reset(peer: Peer) -> None:
    peer.request()
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n[[17")
    peer.reset()


@pytest.mark.parametrize(
    ("handler", "problem"),
    [
        (_huge, HistoryProblem.BAD_RESPONSE),
        (_lying_length, HistoryProblem.NETWORK),
        (_reset, HistoryProblem.NETWORK),
        (None, HistoryProblem.NETWORK),  # accepts and says nothing: the read times out
    ],
)
def test_hostile_history_servers_are_typed_failures(handler: Any, problem: HistoryProblem) -> None:
    with HostileServer(handler) as server:
        base = server.url(path="", scheme="http")
        started = time.monotonic()
        assert _one_page(base, timeout_s=0.5) is problem
        assert time.monotonic() - started < 5.0
