"""Frames -> typed events, against the recorded real frames and hostile input."""

import json
import math
import typing

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core.pairs import parse_pair
from ccdesk.core.quotes import QuoteBook
from ccdesk.core.sources.cryptocompare import CryptoCompareParser
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Event,
    ForceDisconnect,
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
from tests.fakes import FakeClock


@pytest.fixture
def parser():
    return CryptoCompareParser()


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
    assert btc.sub == parse_pair("5~CCCAGG~BTC~USD")
    assert btc.fields["PRICE"] == 49735.6637659428
    assert btc.fields["FLAGS"] == 2
    assert "TYPE" not in btc.fields
    assert "MARKET" not in btc.fields
    assert events[9].sub == parse_pair("2~Coinbase~ETH~USD")
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


def test_a_watched_pair_is_named_by_the_watched_object_itself():
    # The engine's and the consumers' per-frame lookups then match by identity (no dataclass __eq__).
    watched = parse_pair("5~CCCAGG~BTC~USD")
    parser = CryptoCompareParser(watched={str(watched): watched})
    frame = {"TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": "BTC", "TOSYMBOL": "USD", "PRICE": 1.0}
    subs = [getattr(parser.parse(orjson.dumps(frame)), "sub", None) for _ in range(2)]  # cached too
    assert subs == [watched, watched]
    assert all(sub is watched for sub in subs)
    # Another pair is still read, as an equal value of its own; a non-canonical one still refused.
    other = parser.parse(orjson.dumps({**frame, "FROMSYMBOL": "ETH"}))
    assert other == QuoteUpdate(parse_pair("5~CCCAGG~ETH~USD"), {"PRICE": 1.0})
    assert isinstance(parser.parse(orjson.dumps({**frame, "FROMSYMBOL": "btc"})), Malformed)


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
    assert ev == Trade(parse_pair("0~Binance~BTC~USDT"), 50000.5, 0.5, TradeSide.BUY, 1707832427, "123")
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
    (b'{"TYPE":"5","MARKET":"Coinbase","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":1}', "invalid pair"),
    (b'{"TYPE":"5","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":1}', "MARKET"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"btc","TOSYMBOL":"USD","PRICE":1}', "non-canonical"),
    (b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"\\u0663","PRICE":1}', "invalid pair"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":-1}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":"\\u00b2"}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":"\\u0663"}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":"nan"}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":"1_000"}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":true}', "not a positive number"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":1,"Q":"x"}', "Q"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":1,"Q":-1}', "Q"),
    (b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":1,"TS":"\\u0661"}', "TS"),
    (b'{"TYPE":"16"}', "without SUB"),
    (b'{"TYPE":"500","MESSAGE":"INVALID_SUB"}', "without PARAMETER"),
]


@pytest.mark.parametrize(("data", "reason"), HOSTILE)
def test_hostile_frames_are_malformed_never_a_price(parser, data, reason):
    ev = parser.parse(data)
    assert isinstance(ev, Malformed), ev
    if reason:
        assert reason in ev.reason


GOOD_TICKER = {
    "TYPE": "5",
    "MARKET": "CCCAGG",
    "FROMSYMBOL": "BTC",
    "TOSYMBOL": "USD",
    "FLAGS": 1,
    "PRICE": 91230.12,
    "OPEN24HOUR": 90000.5,
    "HIGH24HOUR": 92000.0,
    "LOW24HOUR": 89000.0,
    "BID": 91230.0,
    "ASK": 91231.0,
    "VOLUME24HOUR": 1234.5,
    "LASTMARKET": "Kraken",
}
GOOD_FIELDS = {k: v for k, v in GOOD_TICKER.items() if k not in ("TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL")}

# (field, bad value, words of the reason). Each one is dropped alone; the frame's other fields stay.
BAD_FIELDS = [
    ("PRICE", -5, "PRICE is not positive"),
    ("PRICE", 0, "PRICE is not positive"),
    ("PRICE", "100", "PRICE is not a number"),
    ("PRICE", "\u0663", "PRICE is not a number"),
    ("PRICE", True, "PRICE is not a number"),
    ("PRICE", None, "PRICE is not a number"),
    ("OPEN24HOUR", 0, "OPEN24HOUR is not positive"),
    ("OPEN24HOUR", [1], "OPEN24HOUR is not a number"),
    ("HIGH24HOUR", 0, "HIGH24HOUR is not positive"),
    ("LOW24HOUR", 0, "LOW24HOUR is not positive"),
    ("BID", 0, "BID is not positive"),
    ("ASK", 0.0, "ASK is not positive"),
    ("VOLUME24HOUR", -2, "VOLUME24HOUR is negative"),
    ("FLAGS", -1, "FLAGS"),
    ("FLAGS", 2.0, "FLAGS"),
    ("FLAGS", "\u00b2", "FLAGS"),  # "²".isdigit() is True, int("²") raises
    ("FLAGS", "\u0663", "FLAGS"),  # Arabic-Indic 3: isdigit() and int() both take it
    ("FLAGS", "\uff13", "FLAGS"),  # fullwidth 3
    ("FLAGS", "", "FLAGS"),
    ("FLAGS", "1 ", "FLAGS"),
    ("FLAGS", "1" * 13, "FLAGS"),
    ("LASTMARKET", 5, "LASTMARKET is not a short string"),
    ("LASTMARKET", "x" * 101, "LASTMARKET is not a short string"),
]


@pytest.mark.parametrize(("name", "value", "words"), BAD_FIELDS)
def test_one_bad_field_is_dropped_and_the_rest_of_the_frame_kept(parser, name, value, words):
    ev = parser.parse(json.dumps({**GOOD_TICKER, name: value}))
    assert isinstance(ev, QuoteUpdate), ev
    assert dict(ev.fields) == {k: v for k, v in GOOD_FIELDS.items() if k != name}
    assert len(ev.dropped) == 1
    assert words in ev.dropped[0]
    assert str(value) not in ev.dropped[0] or str(value) in name  # never echoes the value


def test_several_bad_fields_are_each_dropped_and_named(parser):
    ev = parser.parse(json.dumps({**GOOD_TICKER, "PRICE": 0, "OPEN24HOUR": 0, "FLAGS": "\u00b2"}))
    assert isinstance(ev, QuoteUpdate)
    assert set(ev.fields) == set(GOOD_FIELDS) - {"PRICE", "OPEN24HOUR", "FLAGS"}
    assert sorted(r.split()[0] for r in ev.dropped) == ["FLAGS", "OPEN24HOUR", "PRICE"]


def test_a_clean_frame_drops_nothing(parser):
    ev = parser.parse(json.dumps(GOOD_TICKER))
    assert dict(ev.fields) == GOOD_FIELDS
    assert ev.dropped == ()


@pytest.mark.parametrize(("wire", "flags"), [(2050, 2050), ("2050", 2050), ("0004", 4), ("0", 0)])
def test_flags_reach_the_book_as_an_int(parser, wire, flags):
    ev = parser.parse(json.dumps({**GOOD_TICKER, "FLAGS": wire}))
    assert ev.fields["FLAGS"] == flags
    assert type(ev.fields["FLAGS"]) is int


@pytest.mark.parametrize(
    ("f", "side"),
    [
        ("1", TradeSide.SELL),
        ("2", TradeSide.BUY),
        (9, TradeSide.SELL),
        ("\u00b2", TradeSide.UNKNOWN),  # was a ValueError from int("²")
        ("\u0661", TradeSide.UNKNOWN),  # Arabic-Indic 1: not read as "sell"
        ("\uff12", TradeSide.UNKNOWN),
        (-1, TradeSide.UNKNOWN),
        (True, TradeSide.UNKNOWN),
        ("", TradeSide.UNKNOWN),
    ],
)
def test_trade_side_reads_ascii_digits_only(parser, f, side):
    frame = {"TYPE": "0", "M": "Binance", "FSYM": "BTC", "TSYM": "USDT", "P": 10.5, "F": f}
    ev = parser.parse(json.dumps(frame))
    assert isinstance(ev, Trade), ev
    assert ev.side is side


def test_trade_numbers_may_come_as_strict_decimal_text(parser):
    frame = {"TYPE": "0", "M": "Binance", "FSYM": "BTC", "TSYM": "USDT", "P": "91230.12", "Q": "0.5"}
    ev = parser.parse(json.dumps({**frame, "TS": "1707832427"}))
    assert (ev.price, ev.quantity, ev.ts) == (91230.12, 0.5, 1707832427.0)


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        ("TOO_MANY_SOCKETS_MAX_1_PER_CLIENT", 1),
        ("TOO_MANY_SOCKETS_MAX_\u0663_PER_CLIENT", None),  # int("٣") is 3: refused all the same
        ("TOO_MANY_SOCKETS_MAX_\u00b2_PER_CLIENT", None),  # was a ValueError
        ("TOO_MANY_SOCKETS_MAX_\uff11_PER_CLIENT", None),
        ("TOO_MANY_SOCKETS_MAX__PER_CLIENT", None),
        ("TOO_MANY_SOCKETS_MAX_1234567890_PER_CLIENT", None),
        ("TOO_MANY_SOCKETS_MAX_-1_PER_CLIENT", None),
    ],
)
def test_limit_n_is_read_as_ascii_digits_only(parser, message, limit):
    ev = parser.parse(json.dumps({"TYPE": "429", "MESSAGE": message}))
    assert ev == LimitExceeded(LimitKind.TOO_MANY_SOCKETS, message, limit, None)


def test_decoded_objects_with_huge_ints_never_raise(parser):
    # orjson turns ints past 64 bits into floats; json.loads does not, and parse_object is public.
    huge = 10**5000  # str() of it raises ValueError, float() of it OverflowError
    assert isinstance(parser.parse_object({"TYPE": huge}), Malformed)
    ticker = parser.parse_object({**GOOD_TICKER, "PRICE": huge, "FLAGS": huge, "VOLUME24HOUR": 10**400})
    assert isinstance(ticker, QuoteUpdate)
    assert set(ticker.fields) == set(GOOD_FIELDS) - {"PRICE", "FLAGS", "VOLUME24HOUR"}
    assert "PRICE is out of range" in ticker.dropped
    trade = {"TYPE": "0", "M": "Binance", "FSYM": "BTC", "TSYM": "USDT", "P": 1, "ID": huge}
    assert parser.parse_object(trade).trade_id is None
    assert isinstance(parser.parse_object({**trade, "P": huge}), Malformed)
    assert isinstance(parser.parse_object({**trade, "Q": huge}), Malformed)


def test_oversized_frames_are_refused_before_parsing(parser):
    big = b'{"TYPE":"999","PAD":"' + b"x" * MAX_FRAME_BYTES + b'"}'
    ev = parser.parse(big)
    assert isinstance(ev, Malformed)
    assert "exceeds" in ev.reason


def test_reasons_never_echo_the_frame(parser):
    ev = parser.parse(
        b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","PRICE":"secret-ish"}'
    )
    assert ev.dropped == ("PRICE is not a number",)
    ev = parser.parse(b'{"TYPE":"0","M":"Binance","FSYM":"BTC","TSYM":"USDT","P":"secret-ish"}')
    assert "secret-ish" not in ev.reason


# --- property-based fuzzing ---------------------------------------------------------------------

# Text from the Unicode categories that break digit checks, Nd (decimal digits of every script:
# "٣", fullwidth "3") and No (other numbers: "²", "½"), a few hand-picked troublemakers (separators,
# zero-width and no-break spaces, the minus sign, a BOM, NUL) and any character at all, so that
# every string field of the fuzzed frames sees more than ASCII.
ODD_CHARS = "0123456789²³¹½٣۳३\uff10\uff19_ .,-+eE\u200b\u00a0\u2212\ufeff\x00"
odd_chars = st.characters(categories=("Nd", "No")) | st.sampled_from(ODD_CHARS) | st.characters()
odd_text = st.text(odd_chars, max_size=30)
# Short text of characters that str.isdigit() accepts, ASCII or not: "²" (No; int() refuses it),
# "٣" (Nd; int() reads it as 3), "①", "₂"... What a FLAGS, F or the N of _MAX_{N}_ might carry.
digitish = st.text(
    st.sampled_from("0123456789")
    | st.sampled_from("²³¹⁰₂①٣۳३০\uff10\uff19")
    | st.characters(categories=("Nd", "No")),
    min_size=1,
    max_size=6,
)
# Ints that only parse_object can meet (orjson makes floats of anything past 64 bits).
huge_ints = st.sampled_from([2**63, 2**64, 10**400, -(10**400), 10**5000])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text
    | digitish,
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
        "HIGH24HOUR",
        "BID",
        "LASTUPDATE",
        "LASTMARKET",
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
messages = st.builds(
    "{}_MAX_{}_{}".format,
    st.sampled_from(["TOO_MANY_SOCKETS", "TOO_MANY_SUBSCRIPTIONS", "OTHER"]),
    digitish,
    st.sampled_from(["PER_CLIENT", "PER_SOCKET", ""]),
) | st.sampled_from(["INVALID_SUB", "FORCE_DISCONNECT", "RATE_LIMIT_OPENING_SOCKETS_TOO_FAST"])
generic_frames = st.fixed_dictionaries(
    {"TYPE": type_values},
    optional={
        "MARKET": st.sampled_from(["CCCAGG", "Coinbase"]) | json_values,
        "FROMSYMBOL": st.sampled_from(["BTC", "ETH"]) | json_values,
        "TOSYMBOL": st.sampled_from(["USD"]) | json_values,
        "M": st.sampled_from(["Binance"]) | json_values,
        "FSYM": st.sampled_from(["BTC"]) | json_values,
        "TSYM": st.sampled_from(["USDT"]) | json_values,
        "MESSAGE": messages | json_values,
    },
).flatmap(
    lambda base: st.dictionaries(field_names, json_values, max_size=8).map(lambda extra: {**extra, **base})
)
# Frames with a valid envelope, so that the fuzzed values reach the field checks: random envelopes
# rarely name a valid pair, and a frame without one is refused before any field is read.
envelopes = st.sampled_from(
    [
        {"TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": "BTC", "TOSYMBOL": "USD"},
        {"TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": "BTC", "TOSYMBOL": "USD", "PRICE": 100.5},
        {"TYPE": "2", "MARKET": "Coinbase", "FROMSYMBOL": "ETH", "TOSYMBOL": "USD"},
        {"TYPE": "0", "M": "Binance", "FSYM": "BTC", "TSYM": "USDT"},
        {"TYPE": "0", "M": "Binance", "FSYM": "BTC", "TSYM": "USDT", "P": 1.5},
        {"TYPE": "429"},
        {"TYPE": "500"},
        {"TYPE": "20"},
        {"TYPE": "999"},
    ]
)
wire_values = (
    digitish
    | st.integers(min_value=-2, max_value=5000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=0, allow_infinity=False).map(repr)
    | messages
    | json_values
)
wire_fields = st.sampled_from(
    [
        *("PRICE", "FLAGS", "OPEN24HOUR", "HIGH24HOUR", "LOW24HOUR", "BID", "ASK", "VOLUME24HOUR"),
        *("LASTUPDATE", "LASTMARKET", "P", "Q", "F", "TS", "ID", "MESSAGE", "TIMEMS", "SOCKETS_ACTIVE"),
        "INFO",
    ]
)
enveloped_frames = st.builds(
    lambda envelope, extra: {**extra, **envelope},
    envelopes,
    st.dictionaries(wire_fields, wire_values, max_size=4),
)
frames = generic_frames | enveloped_frames
# The same frames as decoded objects may also hold ints too big for JSON text (for parse_object).
decoded_frames = frames.flatmap(
    lambda frame: st.dictionaries(field_names, huge_ints, max_size=2).map(lambda extra: {**frame, **extra})
)

EVENT_TYPES = typing.get_args(Event)


def _encode(obj):
    try:
        return json.dumps(obj, allow_nan=True).encode()
    except (ValueError, TypeError):
        return b"{"


def _finite_number(value):
    return type(value) in (int, float) and math.isfinite(value)


def _assert_sane(ev):
    """An event of a known type; no bad number ever gets through; the quote book takes it."""
    assert isinstance(ev, EVENT_TYPES), ev
    if isinstance(ev, QuoteUpdate):
        price = ev.fields.get("PRICE")
        if price is not None:
            assert _finite_number(price)
            assert price > 0
        flags = ev.fields.get("FLAGS")
        if flags is not None:
            assert type(flags) is int
            assert flags >= 0
        for name, value in ev.fields.items():
            assert not isinstance(value, (dict, list, bool))
            assert name == "LASTMARKET" or _finite_number(value)
        assert all(type(r) is str for r in ev.dropped)
    if isinstance(ev, Trade):
        assert _finite_number(ev.price)
        assert ev.price > 0
        assert ev.quantity is None or (_finite_number(ev.quantity) and ev.quantity >= 0)
        assert ev.ts is None or _finite_number(ev.ts)
    if isinstance(ev, (QuoteUpdate, Trade)):
        # What the parser lets through, the quote book must take without raising.
        book = QuoteBook(FakeClock())
        if isinstance(ev, QuoteUpdate):
            book.apply_update(ev)
        else:
            book.apply_trade(ev)
        q = book.quote(ev.sub)
        assert q is not None
        _ = (q.change_pct_24h, q.change_pct_day, q.change_pct_hour, q.direction)


# The fuzzers run a multiple of the profile's examples (tests/conftest.py): 2,000, 500, 2,000 and
# 1,000 in CI, ten times as many fresh ones with HYPOTHESIS_PROFILE=explore. The ones that take
# seconds are marked slow (the fast loop, `-m "not slow"`, skips them; CI runs them); the text
# fuzzer stays in it.
@pytest.mark.slow
@settings(
    max_examples=20 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(frames)
def test_fuzz_structured_frames_never_crash_or_yield_bad_prices(frame):
    ev = CryptoCompareParser().parse(_encode(frame))
    _assert_sane(ev)


@pytest.mark.slow
@settings(
    max_examples=5 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(decoded_frames)
def test_fuzz_decoded_objects_never_crash_or_yield_bad_prices(frame):
    _assert_sane(CryptoCompareParser().parse_object(frame))


@pytest.mark.slow
@settings(max_examples=20 * settings().max_examples, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_crash(data):
    _assert_sane(CryptoCompareParser().parse(data))


@settings(max_examples=10 * settings().max_examples, deadline=None)
@given(st.text(max_size=200) | st.text(odd_chars, max_size=200))
def test_fuzz_random_text_never_crash(text):
    _assert_sane(CryptoCompareParser().parse(text))


GOOD_TRADE = {
    "TYPE": "0",
    "M": "Binance",
    "FSYM": "BTC",
    "TSYM": "USDT",
    "F": "2",
    "ID": "7",
    "P": 1.5,
    "Q": 2,
}
LIMIT_FRAME = {"TYPE": "429", "MESSAGE": "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT", "INFO": "one socket"}


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(st.data())
def test_fuzz_odd_text_in_each_field_of_real_frames(stream_frames, data):
    # A valid frame (recorded, or one of the above) with one field replaced by digit-like or odd
    # text, so the text reaches the check of that field instead of failing on the envelope.
    templates = [orjson.loads(f) for f in stream_frames] + [GOOD_TICKER, GOOD_TRADE, LIMIT_FRAME]
    template = data.draw(st.sampled_from(templates), label="template")
    name = data.draw(st.sampled_from(sorted(template)), label="field")
    text = data.draw(
        digitish | odd_text | digitish.map("TOO_MANY_SOCKETS_MAX_{}_PER_CLIENT".format), label="text"
    )
    ev = CryptoCompareParser().parse(json.dumps({**template, name: text}))
    _assert_sane(ev)
    if isinstance(ev, QuoteUpdate) and name == "FLAGS" and "FLAGS" in ev.fields:
        assert text.isascii()
        assert ev.fields["FLAGS"] == int(text)
    if isinstance(ev, LimitExceeded) and ev.limit is not None:
        n = ev.message.partition("_MAX_")[2].split("_")[0]
        assert n.isascii()
        assert int(n) == ev.limit


def test_parse_object_accepts_decoded_dicts(parser):
    assert parser.parse_object(orjson.loads(b'{"TYPE":"3","MESSAGE":"LOADCOMPLETE"}')) == LoadComplete()
