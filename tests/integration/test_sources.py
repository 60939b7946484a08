"""Every source's dialect over real sockets against the simulator playing that venue: subscribe,
price and 24 h figures, a refused pair surfaced, a reconnect with a full re-subscribe, heartbeats
keeping a quiet feed alive, a dead-but-open feed replaced. One engine; the dialect is the variable.
Venue-specific traps are tested at the end of this module and in each venue's own tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.events import PriceArrived, QuotesChanged, Reason, State, Status, SubRejected
from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.sources import dialect_for
from ccdesk.core.stream import StreamClient, StreamConfig

FAST = BackoffPolicy(min_s=0.05, max_s=0.2, jitter=0.1, healthy_after_s=60.0, rate_limited_min_s=0.2)
KEY = "sources-key-0123456789"


@dataclass(frozen=True)
class Case:
    """One source as the simulator plays it: two pairs it lists and one it does not (None: the venue
    acknowledges pairs it does not list and then stays silent, so there is no refusal to show)."""

    source: Source
    good: tuple[str, str]
    unknown: str | None


CASES = [
    Case(Source.KRAKEN, ("kraken:BTC-USD", "kraken:ETH-USD"), "kraken:NOPE-USD"),
    Case(Source.COINBASE, ("coinbase:BTC-USD", "coinbase:ETH-USD"), "coinbase:NOPE-USD"),
    # Binance checks a stream's syntax only: see test_source_binance.py for what an unlisted pair does.
    Case(Source.BINANCE, ("binance:BTC-USDT", "binance:ETH-USDT"), None),
    Case(Source.OKX, ("okx:BTC-USDT", "okx:ETH-USDT"), "okx:NOPE-USDT"),
    Case(Source.COINDESK, ("coindesk:BTC-USD", "coindesk:ccix:ETH-USD"), "coindesk:NOPE-USD"),
]


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.cond = threading.Condition()

    def __call__(self, ev: object) -> None:
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[list[object]], bool], timeout_s: float = 10.0) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.events), timeout_s)
        assert ok, f"timed out; last events: {self.events[-6:]}"

    def prices(self, pair: Pair) -> list[float]:
        with self.cond:
            return [e.price for e in self.events if isinstance(e, PriceArrived) and e.sub == pair]


@pytest.fixture
def run(make_sim):
    started: list[tuple[StreamClient, threading.Thread]] = []

    def start(case: Case, pairs: list[Pair], **config: object) -> tuple[StreamClient, Recorder, object]:
        sim = config.pop("sim", None) or make_sim(rate=100.0, seed=3, venue_heartbeat_s=0.2)
        rec = Recorder()
        dialect = config.pop("dialect", None) or dialect_for(case.source)
        cfg = StreamConfig(url=sim.url(case.source), dialect=dialect, backoff=FAST, **config)  # type: ignore[arg-type]
        client = StreamClient(ApiKey(KEY), pairs, rec, cfg)
        thread = threading.Thread(target=client.run, daemon=True)
        thread.start()
        started.append((client, thread))
        return client, rec, sim

    yield start
    for client, thread in started:
        client.stop()
        thread.join(5)
        assert not thread.is_alive()


def connected(n: int = 1) -> Callable[[list[object]], bool]:
    return lambda evs: sum(1 for e in evs if isinstance(e, Status) and e.state is State.CONNECTED) >= n


@pytest.fixture(params=CASES, ids=lambda c: c.source.value)
def case(request) -> Case:
    return request.param


def test_prices_and_24h_figures_arrive_for_every_pair(run, case):
    a, b = (parse_pair(t) for t in case.good)
    _client, rec, _sim = run(case, [a, b])
    rec.wait(lambda evs: {e.sub for e in evs if isinstance(e, PriceArrived)} == {a, b})
    rec.wait(lambda evs: any(isinstance(e, QuotesChanged) and any(q.sub == a for q in e.quotes) for e in evs))
    quote = next(q for e in rec.events if isinstance(e, QuotesChanged) for q in e.quotes if q.sub == a)
    assert quote.price is not None
    assert quote.price > 0
    assert quote.change_pct_24h is not None  # the venue's own figure, or computed from its 24 h open


def test_the_demos_promised_move_comes_on_a_coin_watched_on_this_venue(run, make_sim, case):
    # The demo streams the venues' dialects (Kraken's by default): their subscriptions must count
    # as watched coins, or the promised first move (and every sharp move's preference) never comes.
    sim = make_sim(rate=100.0, seed=3, sharp_move_prob=0.0, first_move_by_s=0.5)
    a, b = (parse_pair(t) for t in case.good)
    _client, rec, _sim = run(case, [a, b], sim=sim)
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) for e in evs))
    deadline = time.monotonic() + 10
    while not sim.sharp_moves and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m.base for m in sim.sharp_moves] in (["BTC"], ["ETH"])


def test_a_pair_the_venue_does_not_list_is_refused_visibly_and_the_rest_streams(run, case):
    if case.unknown is None:
        pytest.skip(f"{case.source.value} acknowledges pairs it does not list: nothing to refuse")
    a, nope = parse_pair(case.good[0]), parse_pair(case.unknown)
    client, rec, _ = run(case, [a, nope])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) and e.sub == nope for e in evs))
    rec.wait(lambda evs: bool(rec.prices(a)))
    assert client.invalid == {nope}


def test_a_restart_resubscribes_everything(run, case):
    a, b = (parse_pair(t) for t in case.good)
    client, rec, sim = run(case, [a, b])
    rec.wait(connected(1))
    rec.wait(lambda evs: bool(rec.prices(b)))
    sim.restart(down_s=0.1)
    rec.wait(connected(2))
    mark = len(rec.events)
    rec.wait(lambda evs: {e.sub for e in evs[mark:] if isinstance(e, PriceArrived)} == {a, b})
    (conn,) = sim.connections
    assert set(conn.subs) == {client._dialect.wire_key(p) for p in (a, b)}


def test_heartbeats_keep_a_quiet_feed_alive(run, case):
    a = parse_pair(case.good[0])
    dialect = dialect_for(case.source)
    if dialect.keepalive_s is not None:
        # A venue without heartbeats of its own (OKX) answers the client's keep-alive text: send it
        # often enough for the shrunk silence timeout.
        dialect = type(f"Quick{type(dialect).__name__}", (type(dialect),), {"keepalive_s": 0.2})()
    _client, rec, sim = run(case, [a], silence_timeout_s=1.0, dialect=dialect)
    rec.wait(lambda evs: bool(rec.prices(a)))
    sim.set_rate(0)  # no prices at all from now on: only the venue's heartbeats
    first = sim.connections[0].conn_id
    rec.wait(lambda evs: sum(isinstance(e, QuotesChanged) for e in evs) >= 10)  # ~2 s of heartbeats
    assert sim.connections[0].conn_id == first  # never replaced
    assert not any(isinstance(e, Status) and e.reason is Reason.SILENCE for e in rec.events)


def test_a_dead_but_open_feed_is_replaced(run, case):
    a = parse_pair(case.good[0])
    _client, rec, sim = run(case, [a], silence_timeout_s=1.0, ping_interval_s=0.2, pong_timeout_s=0.5)
    rec.wait(lambda evs: bool(rec.prices(a)))
    first = sim.connections[0].conn_id
    sim.freeze()
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.STALE for e in evs))
    sim.freeze(False)
    rec.wait(connected(2))
    assert sim.wait_for(lambda: any(c.conn_id != first for c in sim.connections))


def test_no_key_goes_to_a_keyless_venue(run, case):
    if dialect_for(case.source).info.needs_key:
        pytest.skip("a source that needs a key")
    a = parse_pair(case.good[0])
    _client, rec, sim = run(case, [a])
    rec.wait(connected(1))
    assert all(h.header("authorization") is None for h in sim.handshakes)
