"""OKX v5 public: every recorded real frame becomes the right wire event; bad fields cost only
themselves; hostile input never raises; the subscribe messages and the keep-alive."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core.api_key import ApiKey
from ccdesk.core.numbers import read_price
from ccdesk.core.pairs import parse_pair
from ccdesk.core.sources import dialect_for
from ccdesk.core.sources.okx import Okx, OkxParser
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    ForceDisconnect,
    Heartbeat,
    Ignored,
    InvalidSub,
    LimitExceeded,
    LimitKind,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeComplete,
)
from tests.conftest import FRAMES_DIR
from tests.unit.test_cryptocompare import _assert_sane, _encode, digitish, json_values, odd_text

BTC = parse_pair("okx:BTC-USDT")
ETH = parse_pair("okx:ETH-USDT")


def recorded(what: str) -> list[bytes]:
    out = []
    for line in (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["source"] == "okx" and item["what"] == what:
            out.append(orjson.dumps(item["frame"]))
    assert out, what
    return out


def ticker(**fields: object) -> bytes:
    """A tickers push of BTC-USDT with ``fields`` (a real frame's, unless replaced)."""
    item = orjson.loads(recorded("tickers push")[1])["data"][0]
    item.update(fields)
    item = {k: v for k, v in item.items() if v is not None}
    return orjson.dumps({"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [item]})


@pytest.fixture
def parser() -> OkxParser:
    dialect = Okx()
    return OkxParser({dialect.wire_key(p): p for p in (BTC, ETH)})


# --- the recorded frames ---------------------------------------------------------------------------


def test_recorded_tickers_become_quote_updates_with_every_field_mapped(parser):
    docs, live, captured, demo, _swap = (parser.parse(f) for f in recorded("tickers push"))
    assert live == QuoteUpdate(
        BTC,
        {
            "PRICE": 83766.8,
            "BID": 83774.1,
            "ASK": 83774.2,
            "OPEN24HOUR": 84180.1,  # rolling 24 h: the 24 h change is computed from it
            "HIGH24HOUR": 85258.8,
            "LOW24HOUR": 83174.7,
            "OPENDAY": 84409.9,  # sodUtc0, the UTC day's open; sodUtc8 is not used
            "VOLUME24HOUR": 5449.95415651,
            "VOLUME24HOURTO": 458903124.056360828,
            "LASTUPDATE": 1790358564.077,  # ts in ms, as unix seconds
        },
    )
    assert captured.fields["PRICE"] == 115450.0
    assert captured.fields["OPENDAY"] == 114555.7
    assert captured.fields["LASTUPDATE"] == 1761583471.97
    assert demo.fields["PRICE"] == 16873.2
    assert demo.fields["OPEN24HOUR"] == 17151.0
    assert docs.fields["PRICE"] == 9999.99
    assert docs.fields["OPENDAY"] == 2222.0
    assert all(ev.dropped == () for ev in (docs, live, captured, demo))
    assert {"lastSz", "sodUtc8", "instType"}.isdisjoint(live.fields)


def test_a_swap_ticker_is_not_the_spot_pair(parser):
    # BTC-USDT-SWAP is a perpetual, not okx:BTC-USDT (and no pair can spell it).
    assert parser.parse(recorded("tickers push")[4]) == Ignored("ticker of an instId not watched")


def test_recorded_acks(parser):
    assert [parser.parse(f) for f in recorded("subscribe ack")] == [SubscribeComplete("BTC-USDT")] * 3
    assert parser.parse(recorded("unsubscribe ack")[0]) == UnsubscribeComplete("BTC-USDT")


def test_recorded_errors_refuse_a_pair_only_when_60018_names_its_ticker(parser):
    invalid_request, short_form, unknown, wrong_channel, json_ping = (
        parser.parse(f) for f in recorded("error")
    )
    # 60012 quotes the request (with an instId in it): a request ccdesk got wrong, not a pair.
    assert invalid_request == ServerError(
        "60012",
        None,
        'Invalid request: {"op": "subscribe", "argss":[{ "channel" : "tickers", '
        '"instId" : "LTC-USD-200327"}]}',
    )
    assert short_form == InvalidSub(
        "LTC-USD", "channel:tickers,instId:LTC-USD doesn't exist", Refusal.NOT_LISTED
    )
    assert unknown == InvalidSub(
        "NMR-USDT",
        "Wrong URL or channel:tickers,instId:NMR-USDT doesn't exist. Please use the correct URL, "
        "channel and parameters referring to API document.",
        Refusal.NOT_LISTED,
    )
    # A candle channel on the wrong socket says nothing about BTC-USDT's ticker.
    assert isinstance(wrong_channel, ServerError)
    assert (wrong_channel.message, wrong_channel.parameter) == ("60018", "channel:candle1m,instId:BTC-USDT")
    assert json_ping == ServerError("60012", None, 'Illegal request: {"ping":1747191152912}')


# --- keep-alive, notices, limits -------------------------------------------------------------------


def test_the_text_pong_is_a_heartbeat(parser):
    assert parser.parse(b"pong") == Heartbeat()
    assert isinstance(parser.parse(b"ping"), Malformed)  # only the server's answer means anything
    assert isinstance(parser.parse(b"pong "), Malformed)


def test_a_service_upgrade_notice_reconnects_at_once(parser):
    notice = {
        "event": "notice",
        "code": "64008",
        "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
        "connId": "a4d3ae55",
    }
    assert parser.parse(orjson.dumps(notice)) == ForceDisconnect(planned=True)
    other = parser.parse(orjson.dumps({**notice, "code": "64009", "msg": "something else"}))
    assert other == ServerError("64009", None, "something else")


def test_requests_too_frequent_backs_off(parser):
    frame = {"event": "error", "code": "60014", "msg": "Requests too frequent.", "connId": "a"}
    assert parser.parse(orjson.dumps(frame)) == LimitExceeded(
        LimitKind.BACK_OFF, "60014", None, "Requests too frequent."
    )


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        ("60013", "Invalid args"),
        ("60019", "Invalid op: subscribe2"),
        ("60018", "doesn't exist"),  # names no pair
        ("60018", "channel:tickers,instId:\u0663\u0663-USDT doesn't exist"),  # not ASCII
    ],
)
def test_other_errors_are_server_errors_never_a_refused_pair(parser, code, msg):
    ev = parser.parse(orjson.dumps({"event": "error", "code": code, "msg": msg}))
    assert isinstance(ev, ServerError)
    assert ev.message == code


def test_a_code_written_as_a_number_is_read_as_its_digits(parser):
    msg = "channel:tickers,instId:NOPE-USDT doesn't exist"
    ev = parser.parse(orjson.dumps({"event": "error", "code": 60018, "msg": msg}))
    assert ev == InvalidSub("NOPE-USDT", msg, Refusal.NOT_LISTED)
    assert parser.parse(orjson.dumps({"event": "error", "code": True, "msg": "x"})) == ServerError(
        "error", None, "x"
    )


def test_other_events_and_channels_are_ignored(parser):
    assert isinstance(
        parser.parse(b'{"event":"channel-conn-count","channel":"tickers","connCount":"2"}'), Ignored
    )
    assert isinstance(parser.parse(b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{}]}'), Ignored)
    assert isinstance(
        parser.parse(b'{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}'), Ignored
    )


# --- bad fields, hostile frames ----------------------------------------------------------------------


def test_a_bad_field_costs_only_itself_and_empty_means_absent(parser):
    ev = parser.parse(
        ticker(
            bidPx="",  # OKX's "no value": absent, not bad
            askPx="0",
            high24h=85258.8,  # a JSON number: OKX writes strings, so this is not a price to guess at
            low24h="\u0668\u0663\u0661\u0667\u0664",  # Arabic-Indic digits
            open24h="nan",
            sodUtc0="1e999",
            vol24h="-1",
            volCcy24h=" 12",
            ts="17903585640771790358564077",
        )
    )
    assert isinstance(ev, QuoteUpdate)
    assert ev.fields == {"PRICE": 83766.8}
    assert ev.dropped == (
        "askPx is not a positive decimal string",
        "open24h is not a positive decimal string",
        "high24h is not a positive decimal string",
        "low24h is not a positive decimal string",
        "sodUtc0 is not a positive decimal string",
        "vol24h is not a non-negative decimal string",
        "volCcy24h is not a non-negative decimal string",
        "ts is not a time in ms",
    )


@pytest.mark.parametrize(
    "last",
    ["0", "-83766.8", "+83766.8", "83,766.8", "\uff18\uff13\uff17\uff16\uff16", "1_000", "Infinity", 83766.8],
)
def test_a_price_is_never_taken_from_a_bad_field(parser, last):
    ev = parser.parse(ticker(last=last))
    assert isinstance(ev, QuoteUpdate)
    assert "PRICE" not in ev.fields
    assert ev.dropped == ("last is not a positive decimal string",)
    assert ev.fields["OPEN24HOUR"] == 84180.1  # the frame's other fields still count


def test_small_prices_in_exponent_form_are_read(parser):
    assert parser.parse(ticker(last="1.2e-05")).fields["PRICE"] == 1.2e-05


def test_several_tickers_in_one_push_are_a_batch_routed_by_their_instid(parser):
    frame = {
        "arg": {"channel": "tickers", "instId": "BTC-USDT"},
        "data": [{"instId": "BTC-USDT", "last": "1"}, {"instId": "ETH-USDT", "last": "2"}, {"last": "3"}],
    }
    ev = parser.parse(orjson.dumps(frame))
    assert isinstance(ev, Batch)
    assert [(e.sub, e.fields["PRICE"]) for e in ev.events] == [(BTC, 1.0), (ETH, 2.0), (BTC, 3.0)]


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"nope", "not JSON"),
        (b"[1]", "not an object"),
        (b"{}", "neither data nor an event"),
        (b'{"data":[{}]}', "data without arg"),
        (b'{"arg":{},"data":[{}]}', "without arg.channel"),
        (b'{"arg":{"channel":"tickers"},"data":"x"}', "without data"),
        (b'{"arg":{"channel":"tickers"},"data":[]}', "without data"),
        (b'{"arg":{"channel":"tickers"},"data":[1]}', "not an object"),
        (b'{"arg":{"channel":"tickers"},"data":[{"last":"1"}]}', "without an instId"),
        (b'{"arg":{"channel":"tickers","instId":5},"data":[{"last":"1"}]}', "without an instId"),
        (b'\xff\xfe{"event":"subscribe"}', "not JSON"),
    ],
)
def test_hostile_frames_are_malformed_never_raised(parser, frame, words):
    ev = parser.parse(frame)
    assert isinstance(ev, Malformed)
    assert words in ev.reason


def test_oversized_frames_are_refused_before_parsing(parser):
    ev = parser.parse(b'{"event":"x","pad":"' + b"x" * MAX_FRAME_BYTES + b'"}')
    assert isinstance(ev, Malformed)
    assert "exceeds" in ev.reason


def test_reasons_never_echo_the_frame(parser):
    ev = parser.parse(ticker(last="secret-ish"))
    assert ev.dropped == ("last is not a positive decimal string",)


# --- the dialect ---------------------------------------------------------------------------------


def test_subscribe_messages_batch_instids_as_okx_spells_them():
    dialect = dialect_for(parse_pair("okx:BTC-USDT").source)
    assert isinstance(dialect, Okx)
    assert json.loads(dialect.subscribe([BTC, ETH])[0]) == {
        "op": "subscribe",
        "args": [{"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "tickers", "instId": "ETH-USDT"}],
    }
    assert json.loads(dialect.unsubscribe([ETH])[0]) == {
        "op": "unsubscribe",
        "args": [{"channel": "tickers", "instId": "ETH-USDT"}],
    }
    many = [parse_pair(f"okx:C{i}-USDT") for i in range(250)]
    messages = [json.loads(m) for m in dialect.subscribe(many)]
    assert [len(m["args"]) for m in messages] == [100, 100, 50]
    assert [a["instId"] for m in messages for a in m["args"]] == [f"C{i}-USDT" for i in range(250)]


def test_keyless_subscribes_at_once_and_keeps_the_socket_alive_with_text_pings():
    dialect = Okx()
    assert dialect.headers(None) == []
    assert dialect.headers(ApiKey("sources-key-0123456789")) == []  # a key never goes to OKX
    assert not dialect.info.needs_key
    assert not dialect.welcome_gate
    assert dialect.keepalive_text == "ping"
    assert dialect.keepalive_s is not None
    assert dialect.keepalive_s < 30.0  # OKX closes a socket idle for 30 s
    assert dialect.info.default_url == "wss://ws.okx.com/ws/v5/public"


# --- property-based fuzzing ----------------------------------------------------------------------

TICKER_FIELDS = [
    "last",
    "bidPx",
    "askPx",
    "open24h",
    "high24h",
    "low24h",
    "sodUtc0",
    "vol24h",
    "volCcy24h",
    "ts",
]
# Values a ticker field might carry: decimal-looking text of every script, numbers, anything.
field_values = (
    digitish
    | odd_text
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.floats(min_value=0, allow_infinity=False).map(repr)
    | json_values
)
items = st.fixed_dictionaries(
    {"instId": st.sampled_from(["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"]) | json_values},
    optional={name: field_values for name in TICKER_FIELDS},
)
pushes = st.builds(
    lambda channel, inst, data: {"arg": {"channel": channel, "instId": inst}, "data": data},
    st.sampled_from(["tickers", "trades"]) | json_values,
    st.sampled_from(["BTC-USDT"]) | json_values,
    st.lists(items, max_size=3) | json_values,
)
# Pushes with a valid envelope, so that the fuzzed values reach the field checks.
watched_items = st.fixed_dictionaries(
    {"instId": st.sampled_from(["BTC-USDT", "ETH-USDT"])},
    optional={name: field_values for name in TICKER_FIELDS},
)
watched_pushes = st.builds(
    lambda data: {"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": data},
    st.lists(watched_items, min_size=1, max_size=3),
)
# Errors that name a channel and an instId, so that the fuzzed words reach the refusal check.
named_errors = st.builds(
    lambda code, channel, inst: {"event": "error", "code": code, "msg": f"channel:{channel},instId:{inst} x"},
    st.just("60018") | st.sampled_from(["60012", "60014"]) | digitish,
    st.sampled_from(["tickers", "candle1m"]) | odd_text,
    st.sampled_from(["NOPE-USDT"]) | odd_text,
)
events = st.fixed_dictionaries(
    {"event": st.sampled_from(["subscribe", "unsubscribe", "error", "notice", "login"]) | json_values},
    optional={
        "code": st.sampled_from(["60012", "60014", "60018", "64008", 60018]) | digitish | json_values,
        "msg": odd_text | json_values,
        "arg": st.fixed_dictionaries({"channel": st.just("tickers") | json_values, "instId": json_values}),
        "connId": json_values,
    },
)
frames = (
    watched_pushes
    | named_errors
    | pushes
    | events
    | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
)


# Texts on either side of the grammar's edges (see ccdesk.core.numbers).
DECIMALS = ["0", "0.0", "-0", "007", "1.", ".5", "1e5", "1E-5", "1e+5", "1e999", "+1", "1_0", " 1", "inf"]


def _utf8(text: str) -> bool:
    """Lone surrogates cannot travel in a UTF-8 frame (the random-bytes fuzzer covers broken UTF-8)."""
    return not any("\ud800" <= c <= "\udfff" for c in text)


def _parser() -> OkxParser:
    return OkxParser({"BTC-USDT": BTC, "ETH-USDT": ETH})


@pytest.mark.slow
@settings(
    max_examples=10 * settings().max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(frames)
def test_fuzz_structured_frames_never_crash_or_yield_bad_prices(frame):
    _assert_sane(_parser().parse(_encode(frame)))


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_random_bytes_never_crash(data):
    _assert_sane(_parser().parse(data))


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(st.data())
def test_fuzz_odd_text_in_each_field_of_a_real_ticker(data):
    # A real push with one field replaced by digit-like or odd text: the text reaches that field's check.
    name = data.draw(st.sampled_from(TICKER_FIELDS), label="field")
    texts = digitish | odd_text | st.floats().map(repr) | st.sampled_from(DECIMALS)
    text = data.draw(texts.filter(_utf8), label="text")
    ev = _parser().parse(ticker(**{name: text}))
    _assert_sane(ev)
    assert isinstance(ev, QuoteUpdate)
    if name == "last":
        # The parser inlines read_price on its hot path: the two must agree on every text.
        assert ev.fields.get("PRICE") == read_price(text)
    if text and not text.isascii():
        assert len(ev.dropped) == 1  # never read as a number, and it costs only itself
