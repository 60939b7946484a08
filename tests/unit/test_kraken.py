"""Kraken v2: the recorded real frames become the right wire events; the subscribe messages."""

from __future__ import annotations

import json

import orjson
import pytest

from ccdesk.core.pairs import parse_pair
from ccdesk.core.sources.kraken import Kraken, KrakenParser
from ccdesk.core.wire import (
    Batch,
    Heartbeat,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    SubscribeComplete,
    Welcome,
)
from tests.conftest import FRAMES_DIR

ALGO = parse_pair("kraken:ALGO-USD")
USDT = parse_pair("kraken:USDT-USD")
BTC = parse_pair("kraken:BTC-USD")


def recorded(what: str) -> list[bytes]:
    lines = (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines()
    out = []
    for line in lines:
        item = json.loads(line)
        if item["source"] == "kraken" and item["what"] == what:
            out.append(orjson.dumps(item["frame"]))
    assert out, what
    return out


@pytest.fixture
def parser() -> KrakenParser:
    dialect = Kraken()
    return KrakenParser({dialect.wire_key(p): p for p in (ALGO, USDT, BTC)})


def test_recorded_tickers_become_quote_updates_with_kraken_s_own_24h_change(parser):
    snapshot = parser.parse(recorded("ticker snapshot")[0])
    assert isinstance(snapshot, QuoteUpdate)
    assert snapshot.sub == ALGO
    f = snapshot.fields
    assert (f["PRICE"], f["BID"], f["ASK"], f["HIGH24HOUR"], f["LOW24HOUR"]) == (
        0.10035,
        0.10025,
        0.10036,
        0.10285,
        0.09979,
    )
    assert f["VOLUME24HOUR"] == 997038.98383185
    assert f["CHANGEPCT24HOUR"] == -0.17
    assert f["OPEN24HOUR"] == pytest.approx(0.10035 / (1 - 0.0017))
    assert snapshot.dropped == ()
    stable = parser.parse(recorded("ticker snapshot")[1])
    assert isinstance(stable, QuoteUpdate)
    assert stable.sub == USDT
    assert stable.fields["PRICE"] == 0.99981  # the exact decimal text 0.99981 is kept exactly
    update = parser.parse(recorded("ticker update")[0])
    assert isinstance(update, QuoteUpdate)
    assert update.sub == ALGO


def test_control_frames(parser):
    for frame in recorded("status on connect"):
        assert isinstance(parser.parse(frame), Welcome)
    assert parser.parse(recorded("heartbeat")[0]) == Heartbeat()
    assert [parser.parse(f) for f in recorded("subscribe ack")] == [
        SubscribeComplete("ALGO/USD"),
        SubscribeComplete("USDT/USD"),
        SubscribeComplete("BTC/USD"),
    ]
    refused, already, not_found = (parser.parse(f) for f in recorded("subscribe rejected"))
    assert refused == InvalidSub("NOPE/USD", "Currency pair not supported NOPE/USD", Refusal.NOT_LISTED)
    assert isinstance(already, Ignored)
    assert not_found == InvalidSub("BTC/USD", "Subscription Not Found", Refusal.INVALID)
    assert isinstance(parser.parse(recorded("pong")[0]), Ignored)
    assert isinstance(parser.parse(recorded("unsubscribe ack")[0]), Ignored)


def test_a_ticker_of_a_pair_not_watched_is_ignored():
    parser = KrakenParser({})
    assert isinstance(parser.parse(recorded("ticker snapshot")[0]), Ignored)


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"nope", "not JSON"),
        (b"[1]", "not an object"),
        (b'{"x":1}', "neither a channel nor a method"),
        (b'{"channel":"ticker","data":"x"}', "without data"),
        (b'{"channel":"ticker","data":[{"last":1}]}', "without a symbol"),
    ],
)
def test_hostile_frames_are_malformed_never_raised(parser, frame, words):
    ev = parser.parse(frame)
    assert isinstance(ev, Malformed)
    assert words in ev.reason


def test_a_bad_field_costs_only_itself(parser):
    ticker = {"symbol": "BTC/USD", "last": 91000.5, "bid": 0, "ask": "91001", "high": 92000, "low": -1}
    frame = {"channel": "ticker", "type": "update", "data": [{**ticker, "volume": 12.5, "change_pct": 1.5}]}
    ev = parser.parse(orjson.dumps(frame))
    assert isinstance(ev, QuoteUpdate)
    assert set(ev.fields) == {"PRICE", "HIGH24HOUR", "VOLUME24HOUR", "CHANGEPCT24HOUR", "OPEN24HOUR"}
    assert ev.dropped == (
        "bid is not a positive number",
        "ask is not a positive number",
        "low is not a positive number",
    )


def test_several_tickers_in_one_frame_are_a_batch(parser):
    frame = {"channel": "ticker", "type": "update", "data": [
        {"symbol": "BTC/USD", "last": 1.0}, {"symbol": "ALGO/USD", "last": 2.0},
    ]}  # fmt: skip
    ev = parser.parse(orjson.dumps(frame))
    assert isinstance(ev, Batch)
    assert [e.sub for e in ev.events] == [BTC, ALGO]


def test_subscribe_messages_spell_pairs_as_kraken_does():
    dialect = Kraken()
    xbt = parse_pair("kraken:XBT-USD")  # typed the old way, sent the new way
    assert json.loads(dialect.subscribe([xbt, ALGO])[0]) == {
        "method": "subscribe",
        "params": {"channel": "ticker", "symbol": ["BTC/USD", "ALGO/USD"]},
    }
    assert json.loads(dialect.unsubscribe([BTC])[0])["method"] == "unsubscribe"
    assert dialect.headers(None) == []
    assert not dialect.welcome_gate
