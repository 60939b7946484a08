"""Binance's traps, over real sockets against the simulator playing it: HTTP 451 (a clear BLOCKED
state, never a retry loop), the 24 h connection lifetime (a planned reconnect that keeps prices
live), 5 messages a second (batched and paced sends), acknowledgements blind to a symbol's existence,
and an error that refuses exactly the pairs of its request."""

from __future__ import annotations

import itertools
import json
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import websocket

import ccdesk.core.stream as stream_module
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.events import PriceArrived, QuotesChanged, Reason, State, Status, SubRejected, Subscribed
from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.sources.binance import Binance
from ccdesk.core.stream import StreamClient, StreamConfig
from ccdesk.core.wire import Refusal
from ccdesk.sim.server import SimServer
from ccdesk.wording import refusal_words
from tests.integration.test_sources import FAST, Recorder, connected

BTC = parse_pair("binance:BTC-USDT")
ETH = parse_pair("binance:ETH-USDT")
SOL = parse_pair("binance:SOL-USDT")
NOPE = parse_pair("binance:NOPE-USDT")
LISTED = [parse_pair(f"binance:{b}-USDT") for b in ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT")]


@pytest.fixture
def run(make_sim) -> Iterator:
    started: list[tuple[StreamClient, threading.Thread]] = []

    def start(
        pairs: list[Pair], sim: SimServer | None = None, dialect: Binance | None = None, **config: object
    ):
        sim = sim or make_sim(rate=100.0, seed=7, venue_heartbeat_s=0.2)
        rec = Recorder()
        config.setdefault("backoff", FAST)
        cfg = StreamConfig(url=sim.url(Source.BINANCE), dialect=dialect or Binance(), **config)  # type: ignore[arg-type]
        client = StreamClient(ApiKey("unused-key-0123456789"), pairs, rec, cfg)
        thread = threading.Thread(target=client.run, daemon=True)
        thread.start()
        started.append((client, thread))
        return client, rec, sim

    yield start
    for client, thread in started:
        client.stop()
        thread.join(5)
        assert not thread.is_alive()


@pytest.fixture
def sockets() -> Iterator[list[websocket.WebSocket]]:
    opened: list[websocket.WebSocket] = []
    yield opened
    for ws in opened:
        ws.close(timeout=1)
        ws.shutdown()


def statuses(rec: Recorder) -> list[Status]:
    with rec.cond:
        return [e for e in rec.events if isinstance(e, Status)]


def connected_at(events: list[object]) -> list[int]:
    """Where each CONNECTED status is in ``events`` (by position: a rotation's equals the first)."""
    return [i for i, e in enumerate(events) if isinstance(e, Status) and e.state is State.CONNECTED]


def close_frame(ws: websocket.WebSocket) -> tuple[int, str]:
    """Reads until the server's close frame; its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0], data[2:].decode()


# --- HTTP 451 -----------------------------------------------------------------------------------


def test_geo_blocked_is_a_clear_blocked_state_never_a_retry_loop(run, make_sim):
    sim = make_sim(rate=20.0, seed=7, geo_blocked={"binance"})
    patient = BackoffPolicy(min_s=0.05, max_s=0.2, rate_limited_min_s=60.0, rate_limited_max_s=600.0)
    _client, rec, _ = run([BTC], sim=sim, backoff=patient)
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.BLOCKED for e in evs))
    blocked = next(s for s in statuses(rec) if s.state is State.BLOCKED)
    assert blocked.reason is Reason.GEO_BLOCKED
    assert blocked.retry_in_s is not None
    assert blocked.retry_in_s >= 60.0  # minutes, not a loop
    binance = [h for h in sim.handshakes if h.path.startswith("/binance")]
    assert len(binance) == 1
    assert not any(s.state is State.CONNECTED for s in statuses(rec))
    # Only Binance is blocked: the other venues of the same simulator answer.
    ws = websocket.create_connection(sim.url(Source.KRAKEN), timeout=5)
    ws.close()


# --- the connection lifetime ----------------------------------------------------------------------


def test_the_lifetime_ends_in_planned_reconnects_that_keep_prices_live(run, make_sim, monkeypatch):
    # Binance's 24 h, shrunk: the server closes a socket after 3 s; the dialect leaves at 0.8 s.
    monkeypatch.setattr(Binance, "max_session_s", 0.8)
    sim = make_sim(rate=100.0, seed=7, venue_heartbeat_s=0.2, max_session_s=3.0)
    _client, rec, _ = run([BTC, ETH], sim=sim)
    rec.wait(connected(3), timeout_s=15.0)  # the first session and two rotations
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) for e in evs[connected_at(evs)[-1] :]))
    seen = statuses(rec)
    # (a fourth session may have begun by now: the dialect leaves every 0.8 s)
    assert [s.state for s in seen][:4] == [
        State.CONNECTING,
        State.CONNECTED,
        State.CONNECTED,
        State.CONNECTED,
    ]
    assert all(s.state is State.CONNECTED for s in seen[1:])
    # No RECONNECTING, no STALE, no failure reason: and every CONNECTED keeps the first session's start.
    starts = {s.at for s in seen if s.state is State.CONNECTED}
    assert len(starts) == 1
    assert sim.wait_for(lambda: len([h for h in sim.handshakes if h.path.startswith("/binance")]) >= 3)
    # A price from the first session is still live after the rotations (the session rule holds).
    (live_since,) = starts
    first_quote = next(
        q for e in rec.events if isinstance(e, QuotesChanged) for q in e.quotes if q.sub == BTC
    )
    assert Freshness.everywhere(live_since, 60.0).is_fresh(first_quote, time.monotonic())
    # Prices arrived in every session.
    bounds = [*connected_at(rec.events), len(rec.events)][:4]
    for start, end in itertools.pairwise(bounds):
        assert any(isinstance(e, PriceArrived) for e in rec.events[start:end])


def test_being_cut_at_the_lifetime_is_a_failure_which_is_why_the_dialect_leaves_first(
    run, make_sim, monkeypatch
):
    monkeypatch.setattr(Binance, "max_session_s", 60.0)  # a margin too small for this server's 0.5 s
    sim = make_sim(rate=100.0, seed=7, venue_heartbeat_s=0.2, max_session_s=0.5)
    _client, rec, _ = run([BTC], sim=sim)
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.RECONNECTING for e in evs))
    cut = next(s for s in statuses(rec) if s.state is State.RECONNECTING)
    assert cut.reason is Reason.CLOSED_BY_SERVER


# --- 5 messages a second --------------------------------------------------------------------------


def test_a_large_watchlist_goes_out_in_few_paced_messages_and_the_socket_stays_open(run):
    # 8 listed pairs and 492 that Binance would acknowledge without listing them: 500 streams.
    unlisted = [parse_pair(f"binance:Z{i}-USDT") for i in range(492)]
    client, rec, sim = run([*LISTED, *unlisted])
    rec.wait(lambda evs: sum(isinstance(e, Subscribed) for e in evs) == 500)
    (conn,) = sim.connections
    sent = [r.message for r in sim.received if r.conn_id == conn.conn_id]
    assert [m["method"] for m in sent] == ["SUBSCRIBE"] * 3
    assert [len(m["params"]) for m in sent] == [200, 200, 100]
    assert [m["id"] for m in sent] == [1, 2, 3]
    # Run-time adds in a burst: each wakes the stream thread, which sends no faster than allowed.
    more = [parse_pair(f"binance:Y{i}-USDT") for i in range(12)]
    for pair in more:
        client.add([pair])
    rec.wait(lambda evs: sum(isinstance(e, Subscribed) for e in evs) == 512)
    assert [c.conn_id for c in sim.connections] == [conn.conn_id]  # never closed for the rate
    assert not any(s.state is not State.CONNECTED for s in statuses(rec)[1:])
    rec.wait(lambda evs: {e.sub for e in evs if isinstance(e, PriceArrived)} == set(LISTED))


def test_the_simulator_closes_a_client_over_5_messages_a_second_as_binance_does(make_sim, sockets):
    sim = make_sim(rate=0.0, seed=7)
    ws = websocket.create_connection(sim.url(Source.BINANCE), timeout=5)
    sockets.append(ws)
    for i in range(5):  # 5 are allowed
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        assert json.loads(ws.recv()) == {"result": [], "id": i}
    ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}))  # the sixth within a second
    assert close_frame(ws) == (1008, "Too many requests")


# --- what an acknowledgement means ------------------------------------------------------------------


def test_a_symbol_binance_does_not_list_is_acknowledged_and_stays_silent(run, monkeypatch):
    # The trap: no refusal ever comes. After the dialect's first-data wait (10 s, shrunk here) the
    # pair is shown as not available, though never refused for good (a late price would clear it).
    monkeypatch.setattr(Binance, "first_data_s", 1.5)
    client, rec, _sim = run([BTC, NOPE])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) for e in evs), timeout_s=10.0)
    assert {e.sub for e in rec.events if isinstance(e, Subscribed)} == {BTC, NOPE}
    assert not rec.prices(NOPE)
    (silent,) = [e for e in rec.events if isinstance(e, SubRejected)]
    assert (silent.sub, silent.refusal) == (NOPE, Refusal.SILENT)
    assert refusal_words(silent) == (
        "not available: Binance accepted NOPE/USDT but sends no price for it (does Binance list it?) "
        "(no price for it within 1.5 s of subscribing)"
    )
    assert client.invalid == frozenset()  # still subscribed: a listed pair that is slow is not lost
    assert rec.prices(BTC)  # a listed pair is not affected


class _RulesChanged(Binance):
    """Spells ETH's stream in upper case, as if Binance's rules changed under ccdesk: Binance refuses
    an invalid stream name with an error and a close."""

    def wire_key(self, pair: Pair) -> str:
        key = super().wire_key(pair)
        return key.upper() if pair.base == "ETH" else key


def test_an_error_refuses_exactly_the_pairs_its_request_carried_and_the_rest_streams(run):
    client, rec, sim = run([BTC], dialect=_RulesChanged())
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    client.add([ETH])  # a request of its own: its refusal names ETH alone
    rec.wait(lambda evs: any(isinstance(e, SubRejected) for e in evs))
    (rejected,) = [e for e in rec.events if isinstance(e, SubRejected)]
    assert (rejected.sub, rejected.info) == (ETH, "Invalid request: invalid stream")
    # Binance closes the socket after such an error; the next one subscribes BTC alone.
    rec.wait(connected(2))
    mark = len(rec.events)
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) and e.sub == BTC for e in evs[mark:]))
    assert client.invalid == {ETH}
    assert sim.wait_for(lambda: [set(c.subs) for c in sim.connections] == [{"btcusdt"}])
    (conn,) = sim.connections
    sent = [r.message for r in sim.received if r.conn_id == conn.conn_id]
    assert sent == [{"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": 3}]  # ETH not re-sent


def test_a_failed_connect_after_a_planned_reconnect_starts_a_new_session(run, make_sim, monkeypatch):
    # Rotate, then the connect fails: the next session must not inherit the first one's start (that
    # would show prices from before the outage as live).
    monkeypatch.setattr(Binance, "max_session_s", 0.8)
    real_start = stream_module.ConnectAttempt.start
    calls = []

    def start(url, *args, **kwargs):
        calls.append(url)
        if len(calls) == 2:  # the connect after the first rotation: nothing listens there
            url = "ws://127.0.0.1:9/binance/ws"
        return real_start(url, *args, **kwargs)

    monkeypatch.setattr(stream_module.ConnectAttempt, "start", staticmethod(start))
    sim = make_sim(rate=50.0, seed=7, venue_heartbeat_s=0.2)
    _client, rec, _ = run([BTC], sim=sim, backoff=BackoffPolicy(min_s=0.2, max_s=0.5))
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.RECONNECTING for e in evs), 15.0)
    cut = len(rec.events)
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.CONNECTED for e in evs[cut:]), 15.0)
    first = next(s for s in statuses(rec) if s.state is State.CONNECTED)
    after = next(e for e in rec.events[cut:] if isinstance(e, Status) and e.state is State.CONNECTED)
    assert after.at > first.at
