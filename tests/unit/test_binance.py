"""Binance spot: every recorded real frame becomes the right wire event; an answer's id names the
pairs its request carried (acks and refusals); hostile frames never raise or yield a bad price; the
subscribe messages, their batching, pacing and the connection lifetime."""

from __future__ import annotations

import json
import math
import typing

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core.pairs import parse_pair
from ccdesk.core.quotes import QuoteBook
from ccdesk.core.sources import dialect_for
from ccdesk.core.sources.binance import Binance, BinanceParser, Requests
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeComplete,
)
from tests.conftest import FRAMES_DIR
from tests.fakes import FakeClock

BTC = parse_pair("binance:BTC-USDT")
ETH = parse_pair("binance:ETH-USDT")
BNB_BTC = parse_pair("binance:BNB-BTC")
WATCHED = (BTC, ETH, BNB_BTC)


def recorded(what: str) -> list[bytes]:
    lines = (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines()
    out = [
        orjson.dumps(item["frame"])
        for item in map(json.loads, lines)
        if item["source"] == "binance" and item["what"] == what
    ]
    assert out, what
    return out


def make(watched=WATCHED) -> tuple[Binance, BinanceParser]:
    dialect = Binance()
    return dialect, dialect.parser({dialect.wire_key(p): p for p in watched}, MAX_FRAME_BYTES)


@pytest.fixture
def parser() -> BinanceParser:
    return make()[1]


# --- the recorded frames ------------------------------------------------------------------------

DOCS_TICKER = {
    "PRICE": 0.0025,
    "BID": 0.0024,
    "ASK": 0.0026,
    "OPEN24HOUR": 0.0010,
    "HIGH24HOUR": 0.0025,
    "LOW24HOUR": 0.0010,
    "VOLUME24HOUR": 10000.0,
    "VOLUME24HOURTO": 18.0,
    "CHANGEPCT24HOUR": 250.0,
    "LASTUPDATE": 1672515782.136,
}


def test_recorded_raw_tickers_become_quote_updates_with_binance_s_own_24h_change(parser):
    docs, btc_2025 = (parser.parse(f) for f in recorded("ticker raw"))
    assert docs == QuoteUpdate(BNB_BTC, DOCS_TICKER)
    assert btc_2025 == QuoteUpdate(
        BTC,
        {
            "PRICE": 115831.96,
            "BID": 115831.96,
            "ASK": 115831.97,
            "OPEN24HOUR": 115853.44,
            "HIGH24HOUR": 116165.19,
            "LOW24HOUR": 115141.8,
            "VOLUME24HOUR": 6348.13563,
            "VOLUME24HOURTO": 734287298.4636407,
            "CHANGEPCT24HOUR": -0.019,
            "LASTUPDATE": 1757888604.019,
        },
    )


def test_recorded_mini_tickers_carry_what_they_have(parser):
    docs, btc_2025 = (parser.parse(f) for f in recorded("miniTicker raw"))
    mini = {k: v for k, v in DOCS_TICKER.items() if k not in ("BID", "ASK", "CHANGEPCT24HOUR")}
    assert docs == QuoteUpdate(BNB_BTC, mini)
    assert btc_2025 == QuoteUpdate(
        BTC,
        {
            "PRICE": 116762.0,
            "OPEN24HOUR": 116761.9,
            "HIGH24HOUR": 117666.6,
            "LOW24HOUR": 115906.8,
            "VOLUME24HOUR": 8059.288476,
            "VOLUME24HOURTO": 942042493.4857494,
            "LASTUPDATE": 1754676198.909,
        },
    )


def test_recorded_combined_stream_frames_are_unwrapped(parser):
    ticker_2020, ticker_2020_jan = (parser.parse(f) for f in recorded("ticker combined"))
    assert ticker_2020 == QuoteUpdate(
        BTC,
        {
            "PRICE": 9318.48,
            "BID": 9318.18,
            "ASK": 9318.47,
            "OPEN24HOUR": 9383.48,
            "HIGH24HOUR": 9438.3,
            "LOW24HOUR": 9215.79,
            "VOLUME24HOUR": 48745.366671,
            "VOLUME24HOURTO": 455442476.1853462,
            "CHANGEPCT24HOUR": -0.693,
            "LASTUPDATE": 1592593727.005,
        },
    )
    assert isinstance(ticker_2020_jan, QuoteUpdate)
    assert (ticker_2020_jan.sub, ticker_2020_jan.fields["PRICE"]) == (BTC, 9338.96)
    assert ticker_2020_jan.fields["CHANGEPCT24HOUR"] == 4.72
    mini_btc, mini_eth = (parser.parse(f) for f in recorded("miniTicker combined"))
    assert mini_btc == QuoteUpdate(
        BTC,
        {
            "PRICE": 10456.56,
            "OPEN24HOUR": 10884.9,
            "HIGH24HOUR": 10912.83,
            "LOW24HOUR": 10385.02,
            "VOLUME24HOUR": 64483.097562,
            "VOLUME24HOURTO": 685180788.349708,
            "LASTUPDATE": 1601628771.865,
        },
    )
    assert isinstance(mini_eth, QuoteUpdate)
    assert (mini_eth.sub, mini_eth.fields["PRICE"]) == (ETH, 3040.65)


def test_the_24h_change_shown_agrees_with_binance_s_own(parser):
    book = QuoteBook(FakeClock())
    update = parser.parse(recorded("ticker raw")[1])
    book.apply_update(update)
    quote = book.quote(BTC)
    assert quote is not None
    assert quote.change_pct_24h == pytest.approx(update.fields["CHANGEPCT24HOUR"], abs=0.001)


def test_a_ticker_of_a_symbol_not_watched_is_ignored():
    _, parser = make((ETH,))
    assert parser.parse(recorded("ticker raw")[1]) == Ignored("ticker of a symbol not watched")


# --- answers: the id names the pairs --------------------------------------------------------------


def test_an_ack_confirms_the_pairs_its_request_carried():
    dialect, parser = make()
    assert json.loads(dialect.subscribe([BTC, ETH])[0])["id"] == 1
    assert parser.parse(recorded("subscribe ack")[0]) == Batch(
        (SubscribeComplete("btcusdt"), SubscribeComplete("ethusdt"))
    )
    assert parser.parse(recorded("subscribe ack")[0]) == Ignored(
        "answer to a request not sent on this connection"
    )  # answered once


def test_an_error_refuses_every_pair_of_its_request_with_binance_s_words():
    dialect, parser = make()
    dialect.subscribe([BTC, ETH])  # id 1, as in the recorded error
    assert parser.parse(recorded("error")[0]) == Batch(
        (
            InvalidSub("btcusdt", "Invalid request: invalid stream", Refusal.INVALID),
            InvalidSub("ethusdt", "Invalid request: invalid stream", Refusal.INVALID),
        )
    )
    dialect.subscribe([BNB_BTC])  # id 2: a refusal of one pair is that pair's alone
    frame = orjson.dumps({"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 2})
    assert parser.parse(frame) == InvalidSub("bnbbtc", "Invalid request: invalid stream", Refusal.INVALID)


def test_recorded_answers_to_requests_not_sent_here(parser):
    unsub, big_id = recorded("unsubscribe ack")[0], recorded("subscribe ack")[1]
    assert parser.parse(unsub) == Ignored("answer to a request not sent on this connection")
    assert parser.parse(big_id) == Ignored("answer to a request not sent on this connection")
    assert parser.parse(recorded("error")[0]) == ServerError(
        "error 2", None, "Invalid request: invalid stream"
    )
    # The docs' table shape, without the envelope or an id.
    assert parser.parse(recorded("error")[1]) == ServerError(
        "error 2", None, "Invalid request: request ID must be an unsigned integer"
    )


def test_an_unsubscribe_answer_completes_its_pairs():
    dialect, parser = make()
    dialect.subscribe([BTC])
    dialect.unsubscribe([BTC, ETH])  # id 2
    assert parser.parse(b'{"result":null,"id":2}') == Batch(
        (UnsubscribeComplete("btcusdt"), UnsubscribeComplete("ethusdt"))
    )
    dialect.unsubscribe([BTC])  # id 3: an error answering an unsubscribe refuses nothing
    frame = b'{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":3}'
    assert parser.parse(frame) == ServerError("error 2", None, "Invalid request: invalid stream")


def test_a_new_connection_forgets_the_old_one_s_requests_and_ids_never_repeat():
    dialect, _first = make()
    dialect.subscribe([BTC])  # id 1, on the first connection
    second = dialect.parser({"btcusdt": BTC}, MAX_FRAME_BYTES)
    assert second.parse(b'{"result":null,"id":1}') == Ignored(
        "answer to a request not sent on this connection"
    )
    assert json.loads(dialect.subscribe([BTC])[0])["id"] == 2
    assert second.parse(b'{"result":null,"id":2}') == SubscribeComplete("btcusdt")


def test_requests_stay_bounded():
    requests = Requests()
    for i in range(1000):
        requests.sent(i, "SUBSCRIBE", ["btcusdt"])
    assert requests.answered(0) is None
    assert requests.answered(999) == ("SUBSCRIBE", ("btcusdt",))
    assert len(requests._by_id) <= 256


@pytest.mark.parametrize(
    "frame",
    [
        b'{"result":null,"id":true}',  # bool is not an id
        b'{"result":null,"id":"1"}',
        b'{"result":null,"id":null}',
        b'{"result":null,"id":1e3}',
    ],
)
def test_answers_with_ids_that_are_not_ours_are_ignored(frame):
    dialect, parser = make()
    dialect.subscribe([BTC])
    assert isinstance(parser.parse(frame), Ignored)


# --- bad fields and hostile frames ----------------------------------------------------------------


def test_a_bad_field_costs_only_itself(parser):
    frame = {
        "e": "24hrTicker",
        "s": "BTCUSDT",
        "c": "91000.5",
        "b": "0.00000000",  # an empty book side: not a price
        "a": 91001.0,  # a JSON number: Binance writes strings
        "o": "\u0669\u0661\u0660\u0660\u0660",  # Arabic-Indic digits
        "h": "Infinity",
        "l": "1_000",
        "v": "-1",
        "q": "12.5",
        "P": "-100.000",
        "E": "1757888604019",  # a string: Binance sends a number
    }
    assert parser.parse(orjson.dumps(frame)) == QuoteUpdate(
        BTC,
        {"PRICE": 91000.5, "VOLUME24HOURTO": 12.5},
        (
            "b is not a positive decimal string",
            "a is not a positive decimal string",
            "o is not a positive decimal string",
            "h is not a positive decimal string",
            "l is not a positive decimal string",
            "v is not a non-negative decimal string",
            "P is not a percentage string",
            "E is not a time in milliseconds",
        ),
    )


def test_a_price_is_never_taken_from_a_bad_field(parser):
    for bad in ("0", "-1", "nan", "inf", "1_000", " 1", "1.", ".5", "007", "\uff11", "\u00b2", "", True, [1]):
        ev = parser.parse(orjson.dumps({"e": "24hrTicker", "s": "BTCUSDT", "c": bad}))
        assert isinstance(ev, QuoteUpdate)
        assert "PRICE" not in ev.fields


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        (b"nope", Malformed("not JSON")),
        (b"[1]", Malformed("JSON list, not an object")),
        (b'{"x":1}', Malformed("neither an event nor an answer")),
        (b'{"e":"24hrTicker","c":"1"}', Malformed("ticker without an ASCII symbol")),
        # The Kelvin sign lowers to "k": a symbol must be ASCII to be looked up at all.
        (
            '{"e":"24hrTicker","s":"\u212aSMUSDT","c":"1"}'.encode(),
            Malformed("ticker without an ASCII symbol"),
        ),
        (b'{"e":"aggTrade","s":"BTCUSDT"}', Ignored("aggTrade")),
        (b'{"stream":"btcusdt@depth","data":{"lastUpdateId":1}}', Ignored("combined stream event")),
        (b'{"result":[],"id":5}', Ignored("answer to a request not sent on this connection")),
        (b'{"id":5}', Malformed("an answer without result or error")),
        (b'{"error":"x","id":null}', ServerError("error ?", None, None)),
        (b'{"error":{"code":99999999999,"msg":7},"id":null}', ServerError("error ?", None, None)),
    ],
)
def test_hostile_and_other_frames(parser, frame, event):
    assert parser.parse(frame) == event


def test_a_lower_case_symbol_in_a_frame_still_finds_its_pair(parser):
    ev = parser.parse(b'{"e":"24hrTicker","s":"btcusdt","c":"1.5"}')
    assert ev == QuoteUpdate(BTC, {"PRICE": 1.5})


def test_oversized_frames_are_refused_before_parsing():
    parser = BinanceParser({}, max_frame_bytes=100)
    assert parser.parse(b"{" + b" " * 200 + b"}") == Malformed("frame of 202 bytes exceeds 100")


# --- the dialect --------------------------------------------------------------------------------


def test_subscribe_messages_spell_streams_as_binance_does_and_batch_200():
    dialect = dialect_for(BTC.source)
    assert isinstance(dialect, Binance)
    assert json.loads(dialect.subscribe([BTC, BNB_BTC])[0]) == {
        "method": "SUBSCRIBE",
        "params": ["btcusdt@ticker", "bnbbtc@ticker"],
        "id": 1,
    }
    assert json.loads(dialect.unsubscribe([BTC])[0]) == {
        "method": "UNSUBSCRIBE",
        "params": ["btcusdt@ticker"],
        "id": 2,
    }
    # 1024 streams (the most one connection may hold) take 6 messages, ids in order.
    many = [parse_pair(f"binance:C{i}-USDT") for i in range(1024)]
    messages = [json.loads(m) for m in dialect.subscribe(many)]
    assert [len(m["params"]) for m in messages] == [200, 200, 200, 200, 200, 24]
    assert [m["id"] for m in messages] == [3, 4, 5, 6, 7, 8]
    assert all(len(m) < 5000 for m in dialect.subscribe(many))  # far from the ~8 KB that failed


def test_pacing_lifetime_and_keylessness():
    dialect = Binance()
    assert 1 / dialect.send_interval_s < 5  # room under 5 a second for a ping or a pong
    assert dialect.max_session_s is not None
    assert 23 * 3600 <= dialect.max_session_s < 24 * 3600 - 60
    assert dialect.headers(None) == []
    assert not dialect.welcome_gate
    assert dialect.info.default_url == "wss://stream.binance.com:9443/ws"
    assert "USDT" in dialect.info.spelling


# --- property-based fuzzing ---------------------------------------------------------------------

ODD_CHARS = "0123456789²³¹½٣۳३\uff10\uff19_ .,-+eE\u200b\u00a0\u2212\ufeff\x00"
odd_chars = st.characters(categories=("Nd", "No")) | st.sampled_from(ODD_CHARS) | st.characters()
odd_text = st.text(odd_chars, max_size=30)
decimals = st.floats(min_value=0, allow_infinity=False).map(repr) | st.from_regex(
    r"-?[0-9]{1,8}(\.[0-9]{1,10})?([eE][-+]?[0-9]{1,4})?", fullmatch=True
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text | decimals,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(
    ["c", "b", "a", "o", "h", "l", "v", "q", "P", "E", "Q", "result", "error", "code", "msg"]
)
tickers = st.builds(
    lambda event, symbol, extra: {**extra, "e": event, "s": symbol},
    st.sampled_from(["24hrTicker", "24hrMiniTicker"]) | json_values,
    st.sampled_from(["BTCUSDT", "ETHUSDT", "btcusdt", "NOPEUSDT"]) | json_values,
    st.dictionaries(names, json_values | decimals, max_size=8),
)
answers = st.builds(
    lambda request_id, extra: {**extra, "id": request_id},
    st.sampled_from([1, 2, 3]) | json_values,
    st.dictionaries(names, json_values, max_size=3),
)
frames = tickers | answers | tickers.map(lambda t: {"stream": "btcusdt@ticker", "data": t})
EVENT_TYPES = typing.get_args(Event)


def assert_sane(ev: Event) -> None:
    """An event of a known type; no bad number ever gets through; the quote book takes it."""
    assert isinstance(ev, EVENT_TYPES), ev
    for one in ev.events if isinstance(ev, Batch) else (ev,):
        if isinstance(one, QuoteUpdate):
            for name, value in one.fields.items():
                assert type(value) is float, name
                assert math.isfinite(value)
                assert name == "CHANGEPCT24HOUR" or value >= 0
            assert one.fields.get("PRICE", 1.0) > 0
            assert one.fields.get("CHANGEPCT24HOUR", 0.0) > -100
            book = QuoteBook(FakeClock())
            book.apply_update(one)
            quote = book.quote(one.sub)
            assert quote is not None
            _ = quote.change_pct_24h


def check_frame(frame: object) -> None:
    dialect, parser = make()
    dialect.subscribe([BTC])
    dialect.unsubscribe([ETH])
    try:
        data = json.dumps(frame, allow_nan=True).encode()
    except (TypeError, ValueError):
        data = b"{"
    assert_sane(parser.parse(data))
    assert_sane(parser.parse(data))  # again, through the memo of price texts


@settings(deadline=None)
@given(frames)
def test_fuzz_structured_frames_never_crash_or_yield_bad_prices(frame):
    check_frame(frame)


@pytest.mark.slow
@settings(
    max_examples=20 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(frames)
def test_fuzz_many_structured_frames(frame):
    check_frame(frame)


@settings(max_examples=3 * settings().max_examples, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(odd_chars, max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_fuzz_random_bytes_never_crash(data):
    assert_sane(make()[1].parse(data))
