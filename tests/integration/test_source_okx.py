"""OKX's traps over real sockets against the simulator: the idle socket OKX closes after 30 s (kept
open by the client's text ``ping``, answered ``pong``), and USDT quotes (``BTC-USD`` is refused,
visibly, and never asked for again)."""

from __future__ import annotations

import threading

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.events import PriceArrived, QuotesChanged, Reason, State, Status, SubRejected
from ccdesk.core.pairs import Pair, parse_pair
from ccdesk.core.sources.base import Dialect
from ccdesk.core.sources.okx import Okx
from ccdesk.core.stream import StreamClient, StreamConfig
from ccdesk.sim.venues.okx import OkxVenue
from tests.integration.test_sources import FAST, KEY, Recorder, connected

BTC = parse_pair("okx:BTC-USDT")
ETH = parse_pair("okx:ETH-USDT")
IDLE_S = 1.0


def okx(keepalive_s: float | None) -> Dialect:
    """OKX's dialect with the keep-alive shrunk along with the server's idle timeout (or none)."""
    return type("ShrunkOkx", (Okx,), {"keepalive_s": keepalive_s})()


@pytest.fixture
def start(make_sim):
    started: list[tuple[StreamClient, threading.Thread]] = []

    def go(pairs: list[Pair], dialect: Dialect | None = None, **config: object):
        sim = make_sim(rate=50.0, seed=3)
        rec = Recorder()
        cfg = StreamConfig(url=sim.url("okx"), dialect=dialect or Okx(), backoff=FAST, **config)  # type: ignore[arg-type]
        client = StreamClient(ApiKey(KEY), pairs, rec, cfg)
        thread = threading.Thread(target=client.run, daemon=True)
        thread.start()
        started.append((client, thread))
        return client, rec, sim

    yield go
    for client, thread in started:
        client.stop()
        thread.join(5)
        assert not thread.is_alive()


@pytest.fixture
def short_idle(monkeypatch):
    """The simulator closes an OKX socket after IDLE_S without a message (OKX: 30 s)."""
    monkeypatch.setattr(OkxVenue, "idle_timeout_s", IDLE_S)


def test_text_pings_keep_an_idle_socket_open_and_their_pongs_keep_the_feed_alive(start, short_idle):
    _client, rec, sim = start([BTC], okx(keepalive_s=0.3), silence_timeout_s=1.5)
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    (first,) = sim.connections
    sim.set_rate(0)  # no tickers from now on: the pongs are all that arrives
    mark = len(rec.events)
    assert sim.wait_for(lambda: sum(r.text == "ping" for r in sim.received) >= 10, timeout_s=10.0)
    assert [c.conn_id for c in sim.connections] == [first.conn_id]  # never closed, never replaced
    assert all(r.text == "ping" for r in sim.received[1:])  # the subscribe, then only the keep-alive
    assert sum(isinstance(e, QuotesChanged) for e in rec.events[mark:]) >= 5  # each pong is a heartbeat
    assert not any(isinstance(e, Status) and e.state is not State.CONNECTED for e in rec.events[mark:])


def test_without_the_keep_alive_okx_closes_the_idle_socket(start, short_idle):
    # The trap itself: a client that only listens is cut off after 30 s (here IDLE_S), however
    # busy the feed; ccdesk would reconnect every half minute.
    _client, rec, sim = start([BTC], okx(keepalive_s=None))
    rec.wait(connected(1))
    rec.wait(
        lambda evs: any(
            isinstance(e, Status) and e.state is State.RECONNECTING and e.reason is Reason.CLOSED_BY_SERVER
            for e in evs
        ),
        timeout_s=10.0,
    )
    rec.wait(connected(2))
    assert all(r.text != "ping" for r in sim.received)


def test_the_dialect_pings_before_okx_s_idle_timeout():
    assert Okx.keepalive_s is not None
    assert Okx.keepalive_s < OkxVenue.idle_timeout_s == 30.0


def test_okx_quotes_usdt_so_a_usd_pair_is_refused_and_never_asked_for_again(start):
    usd = parse_pair("okx:BTC-USD")
    client, rec, sim = start([usd, ETH])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) and e.sub == usd for e in evs))
    rejected = next(e for e in rec.events if isinstance(e, SubRejected))
    assert "instId:BTC-USD doesn't exist" in rejected.info
    rec.wait(lambda evs: bool(rec.prices(ETH)))
    assert client.invalid == {usd}
    sim.restart(down_s=0.1)
    rec.wait(connected(2))
    mark = len(rec.events)
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) and e.sub == ETH for e in evs[mark:]))
    subscribes = [r.message for r in sim.received if isinstance(r.message, dict)]
    assert len(subscribes) == 2
    assert [a["instId"] for a in subscribes[0]["args"]] == ["BTC-USD", "ETH-USDT"]
    assert [a["instId"] for a in subscribes[1]["args"]] == ["ETH-USDT"]  # the refused pair stays out


def test_the_day_open_and_the_24h_open_both_arrive(start):
    _client, rec, _sim = start([BTC])
    rec.wait(lambda evs: any(isinstance(e, QuotesChanged) and e.quotes for e in evs))
    quote = next(q for e in rec.events if isinstance(e, QuotesChanged) for q in e.quotes)
    assert quote.open_24h is not None  # open24h: rolling
    assert quote.open_day is not None  # sodUtc0: the UTC day
    assert quote.last_update is not None
    assert quote.bid is not None
    assert quote.bid <= quote.ask


UPGRADE = {
    "event": "notice",
    "code": "64008",
    "msg": "The connection will soon be closed for a service upgrade.",
}


def test_a_service_upgrade_notice_is_a_planned_reconnect_and_never_a_loop(start):
    _client, rec, sim = start([BTC])
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    (first,) = sim.connections
    sim.send_frame(UPGRADE)
    # A new socket at once, with no RECONNECTING and the session's start kept: prices stay live.
    assert sim.wait_for(lambda: [c.conn_id for c in sim.connections] not in ([], [first.conn_id]), 5.0)
    rec.wait(connected(2))
    seen = [e for e in rec.events if isinstance(e, Status)]
    assert [s.state for s in seen] == [State.CONNECTING, State.CONNECTED, State.CONNECTED]
    assert seen[1].at == seen[2].at
    # Asked again within seconds: the ordinary reconnect with its backoff, never a loop.
    sim.send_frame(UPGRADE)
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.RECONNECTING for e in evs))
    again = next(e for e in rec.events if isinstance(e, Status) and e.state is State.RECONNECTING)
    assert again.reason is Reason.FORCE_DISCONNECT
