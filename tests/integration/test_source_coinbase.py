"""Coinbase's traps, over real sockets against the simulator playing it: the subscribe deadline
(ccdesk subscribes at once and is never closed for it), per-product heartbeats that keep a thin
pair live only while nothing has traded, and a refused product that costs nothing else."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import websocket

from ccdesk.core.api_key import ApiKey
from ccdesk.core.events import (
    PriceArrived,
    QuotesChanged,
    State,
    Status,
    SubRejected,
)
from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.sources import dialect_for
from ccdesk.core.stream import StreamClient, StreamConfig
from ccdesk.sim.server import SimServer
from ccdesk.sim.venues.coinbase import CoinbaseVenue
from tests.integration.test_sources import FAST, Recorder, connected

BTC = parse_pair("coinbase:BTC-USD")
ETH = parse_pair("coinbase:ETH-USD")
SOL = parse_pair("coinbase:SOL-USD")
NOPE = parse_pair("coinbase:NOPE-USD")


@pytest.fixture
def run(make_sim) -> Iterator:
    started: list[tuple[StreamClient, threading.Thread]] = []

    def start(pairs: list[Pair], sim: SimServer | None = None, **config: object):
        sim = sim or make_sim(rate=100.0, seed=5, venue_heartbeat_s=0.2)
        rec = Recorder()
        cfg = StreamConfig(
            url=sim.url(Source.COINBASE), dialect=dialect_for(Source.COINBASE), backoff=FAST, **config
        )  # type: ignore[arg-type]
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


def close_code(ws: websocket.WebSocket) -> tuple[int, str]:
    """Reads until the server's close frame; its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0], data[2:].decode()


def quotes_of(rec: Recorder, pair: Pair, since: int = 0) -> list:
    with rec.cond:
        return [
            q for e in rec.events[since:] if isinstance(e, QuotesChanged) for q in e.quotes if q.sub == pair
        ]


def test_a_socket_that_does_not_subscribe_in_time_is_closed_one_that_does_is_not(
    make_sim, monkeypatch, sockets
):
    monkeypatch.setattr(CoinbaseVenue, "subscribe_deadline_s", 0.3)
    sim = make_sim(rate=20.0, seed=5)
    url = sim.url(Source.COINBASE)
    busy = websocket.create_connection(url, timeout=5)
    sockets.append(busy)
    busy.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["ticker"]}))
    assert json.loads(busy.recv())["type"] == "subscriptions"
    # Timed from before the connect: the server's deadline starts with its side of the handshake,
    # which a loaded machine may finish well before this thread sees the answer.
    opened = time.monotonic()
    idle = websocket.create_connection(url, timeout=5)  # opened after `busy`: its deadline is later
    sockets.append(idle)
    assert close_code(idle) == (1000, "subscribe timeout")
    assert 0.25 <= time.monotonic() - opened < 3.0
    # `busy` is past its own deadline by now, and still served.
    assert json.loads(busy.recv())["type"] == "ticker"
    assert sim.wait_for(lambda: len(sim.connections) == 1)


def test_ccdesk_subscribes_at_once_and_is_never_closed_for_the_deadline(run, monkeypatch, sockets):
    monkeypatch.setattr(CoinbaseVenue, "subscribe_deadline_s", 0.3)
    _client, rec, sim = run([BTC, ETH])
    rec.wait(lambda evs: {e.sub for e in evs if isinstance(e, PriceArrived)} == {BTC, ETH})
    (conn,) = sim.connections
    first = next(r for r in sim.received if r.conn_id == conn.conn_id)
    assert first.message == {
        "type": "subscribe",
        "product_ids": ["BTC-USD", "ETH-USD"],
        "channels": ["ticker", "heartbeat"],
    }
    # A socket opened after ccdesk's, left idle, is the clock: once it is closed, ccdesk's deadline
    # has passed too.
    idle = websocket.create_connection(sim.url(Source.COINBASE), timeout=5)
    sockets.append(idle)
    assert close_code(idle)[0] == 1000
    assert sim.wait_for(lambda: [c.conn_id for c in sim.connections] == [conn.conn_id])
    assert not any(isinstance(e, Status) and e.state is not State.CONNECTED for e in rec.events[1:])


def test_heartbeats_keep_a_thin_pair_live_only_while_nothing_has_traded(run):
    client, rec, sim = run([BTC])
    rec.wait(connected(1))
    live_since = next(e.at for e in rec.events if isinstance(e, Status) and e.state is State.CONNECTED)
    sim.pause_market()  # nothing trades from now on, so no ticker comes

    def after_last_ticker(evs: list[object]) -> list:
        last = max((i for i, e in enumerate(evs) if isinstance(e, PriceArrived) and e.sub == BTC), default=0)
        return quotes_of(rec, BTC, last + 1)

    # Each heartbeat says the last price still stands: its age is refreshed, its price unchanged.
    rec.wait(lambda evs: len(after_last_ticker(evs)) >= 5)
    quotes = after_last_ticker(rec.events)
    assert len({q.price for q in quotes}) == 1
    ages = [q.received_at for q in quotes]
    assert ages == sorted(ages)
    assert ages[-1] - ages[0] >= 0.4  # several heartbeats (every 0.2 s here) apart
    fresh = Freshness.everywhere(live_since, 60.0)
    assert fresh.is_fresh(quotes[-1], time.monotonic())

    # Trades that ccdesk sees no ticker for (none is sent): the heartbeats stop vouching.
    sim.set_rate(0)
    mark = len(rec.events)
    rec.wait(lambda evs: len(quotes_of(rec, BTC, mark)) >= 2)  # an update in flight has gone by now
    sim.pause_market(False)
    mark = len(rec.events)

    def quiet_run(evs: list[object]) -> bool:
        run_length = 0
        for e in evs[mark:]:
            if isinstance(e, QuotesChanged):
                run_length = 0 if any(q.sub == BTC for q in e.quotes) else run_length + 1
        return run_length >= 5

    rec.wait(quiet_run)
    assert not any(isinstance(e, PriceArrived) for e in rec.events[mark:])
    assert client.status is not None
    assert client.status.state is State.CONNECTED  # alive all along: no silence, no reconnect


def test_a_refused_product_added_at_run_time_costs_nothing_else(run):
    client, rec, sim = run([BTC])
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    (conn,) = sim.connections
    client.add([NOPE])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) and e.sub == NOPE for e in evs))
    rejected = next(e for e in rec.events if isinstance(e, SubRejected))
    assert rejected.info == "NOPE-USD is not a valid product"
    mark = len(rec.events)
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) and e.sub == BTC for e in evs[mark:]))
    assert [c.conn_id for c in sim.connections] == [conn.conn_id]  # never reconnected
    assert client.invalid == {NOPE}


def test_a_refused_product_does_not_silently_take_the_rest_of_its_request_down(run):
    # Coinbase ignores the whole request [ETH-USD, NOPE-USD]: ETH-USD must still stream.
    client, rec, sim = run([BTC])
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    client.add([ETH, NOPE])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) and e.sub == NOPE for e in evs))
    rec.wait(lambda evs: bool(rec.prices(ETH)))
    assert client.invalid == {NOPE}
    assert sim.wait_for(lambda: [set(c.subs) for c in sim.connections] == [{"BTC-USD", "ETH-USD"}])
    # One planned reconnect repaired it: at once, with no RECONNECTING and BTC's price kept live.
    assert len([h for h in sim.handshakes if h.path.startswith("/coinbase")]) == 2
    states = [e.state for e in rec.events if isinstance(e, Status)]
    assert states == [State.CONNECTING, State.CONNECTED, State.CONNECTED]
    starts = {e.at for e in rec.events if isinstance(e, Status) and e.state is State.CONNECTED}
    assert len(starts) == 1


def test_a_removed_pair_is_unsubscribed_on_the_live_socket(run):
    client, rec, sim = run([BTC, SOL])
    rec.wait(lambda evs: bool(rec.prices(SOL)))
    (conn,) = sim.connections
    client.remove([SOL])
    assert sim.wait_for(lambda: [set(c.subs) for c in sim.connections] == [{"BTC-USD"}])
    assert [c.conn_id for c in sim.connections] == [conn.conn_id]
    last = [r.message for r in sim.received if r.conn_id == conn.conn_id][-1]
    assert last == {"type": "unsubscribe", "product_ids": ["SOL-USD"], "channels": ["ticker", "heartbeat"]}
