"""The CoinDesk Data Streamer's traps over real sockets against the simulator: a refused key (4011)
that keeps streaming, a rate limit (4002) that backs off for a while and comes back, refused
subscriptions (4004, 4006) that are never asked for again, and one instrument on two index markets."""

from __future__ import annotations

import threading

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.events import (
    NoticeKind,
    PriceArrived,
    QuotesChanged,
    Reason,
    ServerNotice,
    State,
    Status,
    SubRejected,
)
from ccdesk.core.pairs import Pair, parse_pair
from ccdesk.core.sources.coindesk import CoinDesk
from ccdesk.core.stream import StreamClient, StreamConfig
from tests.integration.test_sources import FAST, KEY, Recorder, connected

BTC = parse_pair("coindesk:BTC-USD")
BTC_CCIX = parse_pair("coindesk:ccix:BTC-USD")
ETH = parse_pair("coindesk:ETH-USD")
NOPE = parse_pair("coindesk:NOPE-USD")  # no such instrument: 4004
BTC_EUR_CCIX = parse_pair("coindesk:ccix:BTC-EUR")  # ccix lists USD instruments only: 4006


@pytest.fixture
def start(make_sim):
    started: list[tuple[StreamClient, threading.Thread]] = []

    def go(pairs: list[Pair], key: str | None = KEY, **sim_config: object):
        sim = make_sim(rate=50.0, seed=3, **sim_config)
        rec = Recorder()
        cfg = StreamConfig(url=sim.url("coindesk"), dialect=CoinDesk(), backoff=FAST)
        client = StreamClient(None if key is None else ApiKey(key), pairs, rec, cfg)
        thread = threading.Thread(target=client.run, daemon=True)
        thread.start()
        started.append((client, thread))
        return client, rec, sim

    yield go
    for client, thread in started:
        client.stop()
        thread.join(5)
        assert not thread.is_alive()


def key_refused(evs: list[object]) -> bool:
    return any(isinstance(e, ServerNotice) and e.kind is NoticeKind.KEY_REFUSED for e in evs)


def test_the_key_goes_in_the_authorization_header_only(start):
    _client, rec, sim = start([BTC])
    rec.wait(connected(1))
    (handshake,) = sim.handshakes
    assert handshake.header("authorization") == f"Apikey {KEY}"
    assert "api_key" not in handshake.path
    assert not key_refused(rec.events)


@pytest.mark.parametrize("key", ["not-the-key-0123456789", None])
def test_a_refused_key_is_said_and_the_stream_goes_on(start, key):
    _client, rec, sim = start([BTC], key=key, keys=["the-real-key"])
    rec.wait(key_refused)
    notice = next(e for e in rec.events if isinstance(e, ServerNotice))
    assert notice.message == "KEY_REFUSED"
    assert "IP rate limits" in (notice.info or "")
    mark = rec.events.index(notice)
    rec.wait(lambda evs: len([e for e in evs[mark:] if isinstance(e, PriceArrived)]) >= 5)
    assert sim.welcomed_total == 1  # one socket all along: no reconnect, no stop
    assert not any(isinstance(e, Status) and e.state is not State.CONNECTED for e in rec.events[mark:])
    if key is None:
        assert sim.handshakes[0].header("authorization") is None


def test_a_rate_limit_backs_off_then_comes_back(start):
    _client, rec, sim = start([BTC], coindesk_rate_limited=1)
    rec.wait(
        lambda evs: any(
            isinstance(e, Status) and e.state is State.RATE_LIMITED and e.reason is Reason.SERVER_BACK_OFF
            for e in evs
        )
    )
    limited = next(e for e in rec.events if isinstance(e, Status) and e.state is State.RATE_LIMITED)
    assert limited.retry_in_s is not None
    assert limited.retry_in_s >= FAST.rate_limited_min_s  # the long wait, not the ordinary backoff
    rec.wait(connected(1))
    rec.wait(lambda evs: bool(rec.prices(BTC)))
    assert len(sim.handshakes) == 2
    assert [r.message["instruments"] for r in sim.received] == [["BTC-USD"]]  # nothing sent when limited


def test_refused_subscriptions_are_shown_and_never_sent_again(start):
    client, rec, sim = start([NOPE, BTC, BTC_EUR_CCIX, BTC_CCIX])
    rec.wait(lambda evs: {e.sub for e in evs if isinstance(e, SubRejected)} == {NOPE, BTC_EUR_CCIX})
    infos = {e.sub: e.info for e in rec.events if isinstance(e, SubRejected)}
    assert "not a valid instrument" in infos[NOPE]  # 4004
    assert "not part of the ccix index family" in infos[BTC_EUR_CCIX]  # 4006
    rec.wait(lambda evs: bool(rec.prices(BTC)) and bool(rec.prices(BTC_CCIX)))
    assert client.invalid == {NOPE, BTC_EUR_CCIX}
    sim.restart(down_s=0.1)
    rec.wait(connected(2))
    mark = len(rec.events)
    rec.wait(lambda evs: {e.sub for e in evs[mark:] if isinstance(e, PriceArrived)} == {BTC, BTC_CCIX})
    sent = [(r.conn_id, r.message["market"], r.message["instruments"]) for r in sim.received]
    first, second = sorted({conn for conn, _, _ in sent})
    assert [(m, i) for c, m, i in sent if c == first] == [
        ("cadli", ["NOPE-USD", "BTC-USD"]),
        ("ccix", ["BTC-EUR", "BTC-USD"]),
    ]
    assert [(m, i) for c, m, i in sent if c == second] == [("cadli", ["BTC-USD"]), ("ccix", ["BTC-USD"])]
    assert not any(isinstance(e, SubRejected) for e in rec.events[mark:])


def test_one_instrument_on_two_index_markets_streams_as_two_pairs(start):
    _client, rec, _sim = start([BTC, BTC_CCIX])
    rec.wait(lambda evs: len(rec.prices(BTC)) >= 3 and len(rec.prices(BTC_CCIX)) >= 3)
    cadli, ccix = rec.prices(BTC)[-1], rec.prices(BTC_CCIX)[-1]
    assert cadli != ccix  # two indices, two levels: never one pair's history
    assert ccix == pytest.approx(cadli, rel=1e-3)


def test_partial_ticks_merge_into_a_whole_quote(start):
    _client, rec, _sim = start([ETH])
    # The first tick is whole; later ones carry only what changed (often just VALUE): the merged
    # quote keeps the 24 h and day figures throughout.
    rec.wait(lambda evs: len(rec.prices(ETH)) >= 10)
    quotes = [q for e in rec.events if isinstance(e, QuotesChanged) for q in e.quotes if q.sub == ETH]
    assert len(quotes) >= 5
    for quote in quotes:
        assert None not in (quote.price, quote.open_24h, quote.open_day, quote.high_24h, quote.volume_24h)
        assert quote.direction is not None


def test_a_pair_added_as_the_welcome_arrives_streams_too(start, monkeypatch):
    # add() from another thread can land while the stream thread handles the welcome, after the
    # last look at the commands: the welcome's subscribe takes it, and so must the parser's map
    # of watched pairs (this dialect ignores ticks of pairs outside it).
    real = StreamClient._on_welcome

    def add_then_welcome(self: StreamClient, welcomed_at: list[float]) -> None:
        if not welcomed_at:
            self.add([ETH])
        real(self, welcomed_at)

    monkeypatch.setattr(StreamClient, "_on_welcome", add_then_welcome)
    _client, rec, _sim = start([BTC])
    rec.wait(lambda evs: any(isinstance(e, PriceArrived) and e.sub == ETH for e in evs))
