"""Frames -> typed events, against the recorded real frames and hostile input."""

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core.protocol import (
    MAX_FRAME_BYTES,
    ForceDisconnect,
    FrameParser,
    Heartbeat,
    Ignored,
    InvalidSub,
    LimitExceeded,
    LimitKind,
    LoadComplete,
    Malformed,
    QuoteUpdate,
    ServerError,
    SubscribeComplete,
    Trade,
    TradeSide,
    Unauthorized,
    UnsubscribeAllComplete,
    UnsubscribeComplete,
    Welcome,
)
from ccdesk.core.subs import parse_sub


@pytest.fixture
def parser():
    return FrameParser()


def test_every_recorded_frame_becomes_its_typed_event(parser, stream_frames):
    events = [parser.parse(f) for f in stream_frames]
    kinds = [type(e) for e in events]
    assert kinds == [
        Welcome,
        SubscribeComplete,
        LoadComplete,
        UnsubscribeComplete,
        UnsubscribeAllComplete,
        Heartbeat,
        Unauthorized,
        QuoteUpdate,
        QuoteUpdate,
        QuoteUpdate,
        LimitExceeded,
        InvalidSub,
        ForceDisconnect,
    ]
    welcome = events[0]
    assert (welcome.sockets_active, welcome.sockets_remaining, welcome.server_name) == (
        1,
        0,
        "ccc-streamer01",
    )
    assert events[1].sub == "0~Coinbase~ETH~BTC"
    assert events[4].valid == 1
    assert events[4].invalid == 0
    assert events[5].time_ms == 1582817678330
    assert events[6].info.startswith("We only support JSON")
    btc = events[7]
    assert btc.sub == parse_sub("5~CCCAGG~BTC~USD")
    assert btc.fields["PRICE"] == 49735.6637659428
    assert btc.fields["FLAGS"] == 2
    assert "TYPE" not in btc.fields
    assert "MARKET" not in btc.fields
    assert events[9].sub == parse_sub("2~Coinbase~ETH~USD")
    limit = events[10]
    assert (limit.kind, limit.limit) == (LimitKind.TOO_MANY_SOCKETS, 1)
    assert events[11].sub == "5~CCCAGG~FOO~USD"


def test_partial_frame_without_price_is_a_valid_update(parser):
    ev = parser.parse(
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":4,"VOLUME24HOUR":1.5}'
    )
    assert isinstance(ev, QuoteUpdate)
    assert "PRICE" not in ev.fields
    assert ev.fields["VOLUME24HOUR"] == 1.5


def test_unused_and_unknown_fields_are_dropped(parser):
    ev = parser.parse(
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":4,"PRICE":2,'
        b'"MAXSUPPLY":-1,"VOLUMEDAY":3,"ZZZ_NEW":{"x":1}}'
    )
    assert dict(ev.fields) == {"FLAGS": 4, "PRICE": 2}


def test_numeric_type_field_is_accepted(parser):
    ev = parser.parse('{"TYPE":999,"MESSAGE":"HEARTBEAT","TIMEMS":1}')
    assert ev == Heartbeat(1)


def test_trade_frame(parser):
    frame = {
        "TYPE": "0",
        "M": "Binance",
        "FSYM": "BTC",
        "TSYM": "USDT",
        "F": "2",
        "ID": "123",
        "TS": 1707832427,
        "Q": 0.5,
        "P": 50000.5,
        "TOTAL": 25000.25,
        "RTS": 1707832427,
        "CCSEQ": 9,
    }
    ev = parser.parse(json.dumps(frame))
    assert ev == Trade(parse_sub("0~Binance~BTC~USDT"), 50000.5, 0.5, TradeSide.BUY, 1707832427, "123")
    frame["F"] = 9  # sell + reversed
    assert parser.parse(json.dumps(frame)).side is TradeSide.SELL


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        (
            {"TYPE": "429", "MESSAGE": "TOO_MANY_SUBSCRIPTIONS_MAX_600_PER_SOCKET"},
            LimitKind.TOO_MANY_SUBSCRIPTIONS,
        ),
        (
            {"TYPE": "429", "MESSAGE": "RATE_LIMIT_OPENING_SOCKETS_TOO_FAST"},
            LimitKind.OPENING_SOCKETS_TOO_FAST,
        ),
    ],
)
def test_limit_kinds_by_prefix(parser, frame, event):
    ev = parser.parse(json.dumps(frame))
    assert ev.kind is event
    assert ev.limit == (600 if event is LimitKind.TOO_MANY_SUBSCRIPTIONS else None)


def test_other_500s_are_server_errors(parser):
    ev = parser.parse('{"TYPE":"500","MESSAGE":"SUBSCRIPTION_ALREADY_ACTIVE","PARAMETER":"5~CCCAGG~BTC~USD"}')
    assert ev == ServerError("SUBSCRIPTION_ALREADY_ACTIVE", "5~CCCAGG~BTC~USD", None)


@pytest.mark.parametrize("t", ["8", "9", "11", "21", "24", "30"])
def test_other_channels_are_tolerated(parser, t):
    assert parser.parse(json.dumps({"TYPE": t, "M": "Coinbase"})) == Ignored(t)


HOSTILE = [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1,2,3]", "not an object"),
    (b'"TYPE"', "not an object"),
    (b"{}", "TYPE missing"),
    (b'{"TYPE":null}', "TYPE missing"),
    (b'{"TYPE":"12345"}', "unknown TYPE"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":NaN}', "not JSON"),
    (
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":Infinity}',
        "not JSON",
    ),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":1e999}', None),
    (
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":-5}',
        "not positive",
    ),
    (
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":0}',
        "not positive",
    ),
    (
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":"100"}',
        "not a number",
    ),
    (
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":true}',
        "not a number",
    ),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":-1,"PRICE":1}', "FLAGS"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","OPEN24HOUR":[1]}', "not a number"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","VOLUME24HOUR":-2}', "negative"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","LASTMARKET":5}', "short string"),
    (b'{"TYPE":"5","MARKET":"Coinbase","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":1}', "invalid pair"),
    (b'{"TYPE":"5","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":1}', "MARKET"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"btc","TOSYMBOL":"USD","PRICE":1}', "non-canonical"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":-1}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":1,"Q":"x"}', "Q"),
    (b'{"TYPE":"16"}', "without SUB"),
    (b'{"TYPE":"500","MESSAGE":"INVALID_SUB"}', "without PARAMETER"),
]


@pytest.mark.parametrize(("data", "reason"), HOSTILE)
def test_hostile_frames_are_malformed_never_a_price(parser, data, reason):
    ev = parser.parse(data)
    assert isinstance(ev, Malformed), ev
    if reason:
        assert reason in ev.reason


def test_oversized_frames_are_refused_before_parsing(parser):
    big = b'{"TYPE":"999","PAD":"' + b"x" * MAX_FRAME_BYTES + b'"}'
    ev = parser.parse(big)
    assert isinstance(ev, Malformed)
    assert "exceeds" in ev.reason


def test_malformed_reason_never_echoes_the_frame(parser):
    ev = parser.parse(
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":"secret-ish"}'
    )
    assert "secret-ish" not in ev.reason


# --- property-based fuzzing ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "TYPE",
        "MARKET",
        "FROMSYMBOL",
        "TOSYMBOL",
        "FLAGS",
        "PRICE",
        "OPEN24HOUR",
        "LASTUPDATE",
        "MESSAGE",
        "SUB",
        "PARAMETER",
        "INFO",
        "M",
        "FSYM",
        "TSYM",
        "P",
        "Q",
        "F",
        "TS",
        "ID",
        "VOLUMEDAY",
        "MAXSUPPLY",
    ]
) | st.text(max_size=10)
type_values = (
    st.sampled_from(["0", "2", "3", "5", "16", "17", "18", "20", "401", "429", "500", "999", 5, "x"])
    | json_values
)
frames = st.fixed_dictionaries(
    {"TYPE": type_values},
    optional={
        "MARKET": st.sampled_from(["CCCAGG", "Coinbase"]) | json_values,
        "FROMSYMBOL": st.sampled_from(["BTC", "ETH"]) | json_values,
        "TOSYMBOL": st.sampled_from(["USD"]) | json_values,
        "M": st.sampled_from(["Binance"]) | json_values,
        "FSYM": st.sampled_from(["BTC"]) | json_values,
        "TSYM": st.sampled_from(["USDT"]) | json_values,
    },
).flatmap(
    lambda base: st.dictionaries(field_names, json_values, max_size=8).map(lambda extra: {**extra, **base})
)


def _encode(obj):
    try:
        return json.dumps(obj, allow_nan=True).encode()
    except (ValueError, TypeError):
        return b"{"


def _assert_sane(ev):
    if isinstance(ev, QuoteUpdate):
        price = ev.fields.get("PRICE")
        if price is not None:
            assert type(price) in (int, float)
            assert price > 0
            assert price != float("inf")
        for value in ev.fields.values():
            assert not isinstance(value, (dict, list, bool))
    if isinstance(ev, Trade):
        assert ev.price > 0
        assert ev.price != float("inf")


# The fuzzers run a multiple of the profile's examples (tests/conftest.py): 2,000, 2,000 and 1,000
# in CI, ten times as many fresh ones with HYPOTHESIS_PROFILE=explore. The two that take seconds are
# marked slow (the fast loop, `-m "not slow"`, skips them; CI runs them); the text fuzzer stays in it.
@pytest.mark.slow
@settings(
    max_examples=20 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(frames)
def test_fuzz_structured_frames_never_crash_or_yield_bad_prices(frame):
    ev = FrameParser().parse(_encode(frame))
    _assert_sane(ev)


@pytest.mark.slow
@settings(max_examples=20 * settings().max_examples, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_crash(data):
    _assert_sane(FrameParser().parse(data))


@settings(max_examples=10 * settings().max_examples, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_random_text_never_crash(text):
    _assert_sane(FrameParser().parse(text))


def test_parse_object_accepts_decoded_dicts(parser):
    assert parser.parse_object(orjson.loads(b'{"TYPE":"3","MESSAGE":"LOADCOMPLETE"}')) == LoadComplete()
