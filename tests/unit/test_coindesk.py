"""CoinDesk Data Streamer: every recorded frame becomes the right wire event; ticks are routed by
(MARKET, INSTRUMENT) whatever their TYPE; every control frame; bad fields cost only themselves;
hostile input never raises; the subscribe messages and the key header."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import PriceDirection, QuoteBook
from ccdesk.core.sources import dialect_for
from ccdesk.core.sources.coindesk import CoinDesk, CoinDeskParser
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Heartbeat,
    Ignored,
    InvalidSub,
    KeyWarning,
    LimitExceeded,
    LimitKind,
    LoadComplete,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeAllComplete,
    UnsubscribeComplete,
    Welcome,
)
from tests.conftest import FRAMES_DIR
from tests.fakes import FakeClock
from tests.unit.test_cryptocompare import _assert_sane, _encode, digitish, json_values, odd_text
from tests.unit.test_okx import _utf8

ETH_BTC = parse_pair("coindesk:ETH-BTC")
BTC = parse_pair("coindesk:BTC-USD")
BTC_CCIX = parse_pair("coindesk:ccix:BTC-USD")
WELCOME = Welcome(server_name="coindesk")

FULL_TICK = {
    "TYPE": "1101",
    "MARKET": "cadli",
    "INSTRUMENT": "BTC-USD",
    "CCSEQ": 20735164,
    "VALUE": 91230.12,
    "VALUE_FLAG": "UP",
    "VALUE_LAST_UPDATE_TS": 1790358564,
    "VALUE_LAST_UPDATE_TS_NS": 603000000,
    "CURRENT_DAY_OPEN": 90500.5,
    "CURRENT_DAY_HIGH": 91500.0,
    "CURRENT_DAY_CHANGE_PERCENTAGE": 0.8,
    "MOVING_24_HOUR_OPEN": 89000.25,
    "MOVING_24_HOUR_HIGH": 92000.0,
    "MOVING_24_HOUR_LOW": 88000.0,
    "MOVING_24_HOUR_VOLUME": 12345.678,
    "MOVING_24_HOUR_QUOTE_VOLUME": 1126000000.5,
    "MOVING_24_HOUR_CHANGE": 2229.87,
    "MOVING_24_HOUR_CHANGE_PERCENTAGE": 2.5054,
}


def recorded(what: str) -> bytes:
    for line in (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["source"] == "coindesk" and item["what"] == what:
            return orjson.dumps(item["frame"])
    raise AssertionError(what)


def frame(**fields: object) -> bytes:
    return orjson.dumps({k: v for k, v in fields.items() if v is not None})


@pytest.fixture
def parser() -> CoinDeskParser:
    dialect = CoinDesk()
    return CoinDeskParser({dialect.wire_key(p): p for p in (ETH_BTC, BTC, BTC_CCIX)})


# --- the recorded frames ---------------------------------------------------------------------------


def test_recorded_session(parser):
    assert parser.parse(recorded("welcome 4000")) == WELCOME
    assert parser.parse(recorded("subscribe accepted 4005")) == SubscribeComplete("cadli:ETH-BTC")
    assert parser.parse(recorded("subscribe complete 4007")) == LoadComplete()  # counts, no names
    tick = parser.parse(recorded("index tick 985"))
    # Only the fields ccdesk uses; VALUE_FLAG "DOWN" is FLAGS bit 2; CURRENT_HOUR came because that
    # client asked for its group; the volumes and changes of the hour are not used.
    assert tick == QuoteUpdate(
        ETH_BTC,
        {"PRICE": 0.0492344509006993, "FLAGS": 2, "LASTUPDATE": 1713975478, "OPENHOUR": 0.0491456586967143},
    )


def test_a_full_tick_maps_every_field_ccdesk_uses(parser):
    ev = parser.parse(orjson.dumps(FULL_TICK))
    assert ev == QuoteUpdate(
        BTC,
        {
            "PRICE": 91230.12,
            "FLAGS": 1,
            "LASTUPDATE": 1790358564,
            "OPENDAY": 90500.5,
            "OPEN24HOUR": 89000.25,
            "HIGH24HOUR": 92000.0,
            "LOW24HOUR": 88000.0,
            "VOLUME24HOUR": 12345.678,
            "VOLUME24HOURTO": 1126000000.5,
            "CHANGEPCT24HOUR": 2.5054,
        },
    )
    book = QuoteBook(FakeClock())
    book.apply_update(ev)
    quote = book.quote(BTC)
    assert quote.direction is PriceDirection.UP
    assert quote.change_pct_24h == pytest.approx((91230.12 - 89000.25) / 89000.25 * 100)
    assert quote.change_pct_day == pytest.approx((91230.12 - 90500.5) / 90500.5 * 100)


@pytest.mark.parametrize("t", ["1101", "985", "987", "266", "9999", 1101, None])
def test_ticks_are_routed_by_market_and_instrument_never_by_type(parser, t):
    ev = parser.parse(orjson.dumps({**FULL_TICK, "TYPE": t}))
    assert isinstance(ev, QuoteUpdate)
    assert ev.sub == BTC


def test_one_instrument_on_two_index_markets_is_two_pairs(parser):
    assert parser.parse(frame(TYPE="1101", MARKET="ccix", INSTRUMENT="BTC-USD", VALUE=2.0)).sub == BTC_CCIX
    assert parser.parse(frame(TYPE="1101", MARKET="cadli", INSTRUMENT="BTC-USD", VALUE=1.0)).sub == BTC
    assert isinstance(parser.parse(frame(TYPE="1101", MARKET="ccixbe", INSTRUMENT="BTC-USD")), Ignored)
    # Written in another case by the server: still the watched pair.
    assert parser.parse(frame(TYPE="1101", MARKET="CCIX", INSTRUMENT="btc-usd", VALUE=2.0)).sub == BTC_CCIX


def test_partial_ticks_carry_only_what_changed(parser):
    ev = parser.parse(
        frame(TYPE="1101", MARKET="cadli", INSTRUMENT="BTC-USD", CCSEQ=5, MOVING_24_HOUR_VOLUME=7)
    )
    assert ev == QuoteUpdate(BTC, {"VOLUME24HOUR": 7})


@pytest.mark.parametrize(("word", "flags"), [("UP", 1), ("DOWN", 2), ("UNCHANGED", 4)])
def test_value_flag_words_become_flags_bits(parser, word, flags):
    ev = parser.parse(frame(MARKET="cadli", INSTRUMENT="BTC-USD", VALUE=1.0, VALUE_FLAG=word))
    assert ev.fields["FLAGS"] == flags


# --- control frames --------------------------------------------------------------------------------


def test_the_first_of_4000_and_4011_is_the_welcome(parser):
    key_refused = frame(TYPE="4011", MESSAGE="INVALID_API_KEY", INFO="IP rate limits now apply.")
    # 4011 first: the server serves on at its per-IP tier, so the session starts here...
    assert parser.parse(key_refused) == Batch((KeyWarning("IP rate limits now apply."), WELCOME))
    # ...and a later 4000 is not a second welcome.
    assert isinstance(parser.parse(frame(TYPE="4000", MESSAGE="SESSIONWELCOME")), Ignored)
    other = CoinDeskParser({})
    assert other.parse(frame(TYPE="4000", MESSAGE="SESSIONWELCOME")) == WELCOME
    assert other.parse(key_refused) == KeyWarning("IP rate limits now apply.")
    assert other.parse(frame(TYPE="4011")) == KeyWarning(None)


def test_a_rate_limit_backs_off(parser):
    ev = parser.parse(frame(TYPE="4002", MESSAGE="RATE_LIMIT_EXCEEDED", INFO="Too fast."))
    assert ev == LimitExceeded(LimitKind.BACK_OFF, "RATE_LIMIT_EXCEEDED", None, "Too fast.")
    assert parser.parse(frame(TYPE=4002)) == LimitExceeded(LimitKind.BACK_OFF, "RATE_LIMIT", None, None)


@pytest.mark.parametrize("t", ["4004", "4006"])
def test_a_refused_subscription_names_its_pair(parser, t):
    by_id = frame(
        TYPE=t, MESSAGE="SUBSCRIPTION_REJECTED", INFO="nope", SUBSCRIPTION_ID="1101~{cadli~NOPE-USD}"
    )
    assert parser.parse(by_id) == InvalidSub("cadli:NOPE-USD", "nope", Refusal.INVALID)
    by_fields = frame(TYPE=t, MESSAGE="SUBSCRIPTION_REJECTED", MARKET="ccix", INSTRUMENT="NOPE-USD")
    assert parser.parse(by_fields) == InvalidSub("ccix:NOPE-USD", "SUBSCRIPTION_REJECTED", Refusal.INVALID)
    # A validation error of the whole message names no pair: a bad request, not a refused pair.
    whole = frame(TYPE=t, MESSAGE="SUBSCRIPTION_VALIDATION_ERROR", INFO="Unknown type.")
    assert parser.parse(whole) == ServerError("SUBSCRIPTION_VALIDATION_ERROR", None, "Unknown type.")
    odd = frame(TYPE=t, SUBSCRIPTION_ID="1101~{cadli~\u0663-USD}")
    assert parser.parse(odd) == ServerError(f"TYPE {t}", None, None)


def test_an_add_complete_with_lists_refuses_each_rejected_pair(parser):
    ev = parser.parse(
        frame(
            TYPE="4007",
            MESSAGE="SUBSCRIPTION_ADD_COMPLETE",
            INFO="Some subscriptions were rejected.",
            ACCEPTED_SUBSCRIPTIONS=["1101~{cadli~BTC-USD}"],
            REJECTED_SUBSCRIPTIONS=[
                "1101~{cadli~NOPE-USD}",
                {"MARKET": "ccix", "INSTRUMENT": "BTC-EUR"},
                {"market": "ccixbe", "instrument": "ETH-USD"},
                42,
                "no braces",
            ],
        )
    )
    info = "Some subscriptions were rejected."
    assert ev == Batch(
        (
            InvalidSub("cadli:NOPE-USD", info, Refusal.INVALID),
            InvalidSub("ccix:BTC-EUR", info, Refusal.INVALID),
            InvalidSub("ccixbe:ETH-USD", info, Refusal.INVALID),
            SubscribeComplete("cadli:BTC-USD"),
            LoadComplete(),
        )
    )


def test_other_control_frames(parser):
    sub_id = "1101~{cadli~BTC-USD}"
    assert parser.parse(frame(TYPE="4013", MESSAGE="HEARTBEAT")) == Heartbeat()
    assert parser.parse(frame(TYPE="4005")) == Ignored("4005 without a pair")
    assert parser.parse(frame(TYPE="4008", SUBSCRIPTION_ID=sub_id)) == UnsubscribeComplete("cadli:BTC-USD")
    assert parser.parse(frame(TYPE="4009")) == UnsubscribeAllComplete(None, None)
    for t, message in [
        ("4001", "STREAMER_ERROR"),
        ("4003", "SUBSCRIPTION_ERROR"),
        ("4010", "SUBSCRIPTION_WARNING"),
        ("4012", "INVALID_MESSAGE"),
    ]:
        assert parser.parse(frame(TYPE=t, MESSAGE=message, INFO="words")) == ServerError(
            message, None, "words"
        )
    warning = parser.parse(frame(TYPE="4010", MESSAGE="SUBSCRIPTION_WARNING", SUBSCRIPTION_ID=sub_id))
    assert warning == ServerError("SUBSCRIPTION_WARNING", "cadli:BTC-USD", None)  # never a refusal
    assert parser.parse(frame(TYPE="4014", MESSAGE="NEW")) == Ignored("TYPE 4014")


# --- bad fields, hostile frames ----------------------------------------------------------------------


def test_a_bad_field_costs_only_itself(parser):
    ev = parser.parse(
        orjson.dumps(
            {
                **FULL_TICK,
                "VALUE_FLAG": "SIDEWAYS",
                "MOVING_24_HOUR_OPEN": "89000.25",  # text: the streamer writes numbers
                "MOVING_24_HOUR_HIGH": 0,
                "MOVING_24_HOUR_LOW": -1.5,
                "MOVING_24_HOUR_VOLUME": True,
                "MOVING_24_HOUR_QUOTE_VOLUME": -0.5,
                "MOVING_24_HOUR_CHANGE_PERCENTAGE": -100,
                "VALUE_LAST_UPDATE_TS": [1],
                "CURRENT_DAY_OPEN": {"x": 1},
            }
        )
    )
    assert isinstance(ev, QuoteUpdate)
    assert ev.fields == {"PRICE": 91230.12}
    assert ev.dropped == (
        "VALUE_FLAG is not UP, DOWN or UNCHANGED",
        "VALUE_LAST_UPDATE_TS is not a non-negative number",
        "CURRENT_DAY_OPEN is not a positive number",
        "MOVING_24_HOUR_OPEN is not a positive number",
        "MOVING_24_HOUR_HIGH is not a positive number",
        "MOVING_24_HOUR_LOW is not a positive number",
        "MOVING_24_HOUR_VOLUME is not a non-negative number",
        "MOVING_24_HOUR_QUOTE_VOLUME is not a non-negative number",
        "MOVING_24_HOUR_CHANGE_PERCENTAGE is not a percentage",
    )


@pytest.mark.parametrize("value", [0, -1.0, "91230.12", "\u0669\u0661", True, None, [91230.12], 1e400])
def test_a_price_is_never_taken_from_a_bad_field(parser, value):
    body = json.dumps({**FULL_TICK, "VALUE": value}, allow_nan=True).encode()  # 1e400 is Infinity
    ev = parser.parse(body)
    if isinstance(ev, Malformed):  # orjson refuses the Infinity literal: the frame is not JSON
        assert value == 1e400
        return
    assert "PRICE" not in ev.fields
    assert ev.dropped[0] == "VALUE is not a positive number"
    assert ev.fields["OPEN24HOUR"] == 89000.25  # the frame's other fields still count


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"nope", "not JSON"),
        (b"[1]", "not an object"),
        (b"{}", "neither a TYPE nor"),
        (b'{"TYPE":["4000"]}', "neither a TYPE nor"),
        (b'{"TYPE":true}', "neither a TYPE nor"),
        (b'{"MARKET":"cadli","INSTRUMENT":5}', "neither a TYPE nor"),
        (b'{"TYPE":99999999999999999999999}', "neither a TYPE nor"),
    ],
)
def test_hostile_frames_are_malformed_never_raised(parser, data, words):
    ev = parser.parse(data)
    assert isinstance(ev, Malformed)
    assert words in ev.reason


def test_oversized_frames_are_refused_before_parsing(parser):
    ev = parser.parse(b'{"TYPE":"4013","PAD":"' + b"x" * MAX_FRAME_BYTES + b'"}')
    assert isinstance(ev, Malformed)
    assert "exceeds" in ev.reason


def test_odd_market_and_instrument_never_match_and_never_raise(parser):
    for market, instrument in [
        ("cadli" * 100, "BTC-USD"),
        ("cad\u0131i", "BTC-USD"),
        ("cadli", "btc-usd\u00df"),
    ]:
        assert isinstance(parser.parse(frame(MARKET=market, INSTRUMENT=instrument, VALUE=1.0)), Ignored)


# --- the dialect ---------------------------------------------------------------------------------


def test_subscribe_messages_one_per_index_market():
    dialect = dialect_for(Source.COINDESK)
    assert isinstance(dialect, CoinDesk)
    eth = parse_pair("coindesk:ETH-USD")
    eth_ccixbe = parse_pair("coindesk:ccixbe:ETH-USD")
    messages = [json.loads(m) for m in dialect.subscribe([BTC, BTC_CCIX, eth, eth_ccixbe])]
    groups = ["VALUE", "CURRENT_DAY", "MOVING_24_HOUR"]
    body = {"action": "SUBSCRIBE", "type": "index_cc_v1_latest_tick", "groups": groups}
    assert messages == [
        {**body, "market": "cadli", "instruments": ["BTC-USD", "ETH-USD"]},
        {**body, "market": "ccix", "instruments": ["BTC-USD"]},
        {**body, "market": "ccixbe", "instruments": ["ETH-USD"]},
    ]
    assert [json.loads(m) for m in dialect.unsubscribe([BTC_CCIX])] == [
        {**body, "action": "UNSUBSCRIBE", "market": "ccix", "instruments": ["BTC-USD"]}
    ]
    many = [parse_pair(f"coindesk:C{i}-USD") for i in range(150)]
    assert [len(json.loads(m)["instruments"]) for m in dialect.subscribe(many)] == [100, 50]


def test_wire_keys_carry_the_index_market():
    dialect = CoinDesk()
    assert dialect.wire_key(BTC) == "cadli:BTC-USD"
    assert dialect.wire_key(BTC_CCIX) == "ccix:BTC-USD"


def test_the_key_goes_in_the_authorization_header_and_the_welcome_is_awaited():
    dialect = CoinDesk()
    assert dialect.headers(ApiKey("sources-key-0123456789")) == [
        "Authorization: Apikey sources-key-0123456789"
    ]
    assert dialect.headers(None) == []
    assert dialect.info.key is KeyProvider.COINDESK
    assert "api_key" not in dialect.info.default_url
    assert dialect.welcome_gate


# --- property-based fuzzing ----------------------------------------------------------------------

TICK_FIELDS = [name for name in FULL_TICK if name not in ("TYPE", "MARKET", "INSTRUMENT")]
field_values = (
    digitish
    | odd_text
    | st.integers(min_value=-2, max_value=5000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["UP", "DOWN", "UNCHANGED"])
    | json_values
)
ticks = st.builds(
    lambda t, market, instrument, extra: {**extra, "TYPE": t, "MARKET": market, "INSTRUMENT": instrument},
    st.sampled_from(["1101", "985", "266"]) | json_values,
    st.sampled_from(["cadli", "ccix", "CADLI"]) | json_values,
    st.sampled_from(["BTC-USD", "ETH-BTC"]) | json_values,
    st.dictionaries(st.sampled_from(TICK_FIELDS), field_values, max_size=6),
)
sub_ids = st.builds(
    "1101~{{{}~{}}}".format, st.sampled_from(["cadli"]) | odd_text, st.sampled_from(["X-USD"]) | odd_text
)
controls = st.fixed_dictionaries(
    {"TYPE": st.sampled_from([str(t) for t in range(4000, 4015)]) | st.integers(3999, 4014) | json_values},
    optional={
        "MESSAGE": odd_text | json_values,
        "INFO": odd_text | json_values,
        "SUBSCRIPTION_ID": sub_ids | json_values,
        "MARKET": json_values,
        "INSTRUMENT": json_values,
        "ACCEPTED_SUBSCRIPTIONS": st.lists(sub_ids | json_values, max_size=3) | json_values,
        "REJECTED_SUBSCRIPTIONS": st.lists(sub_ids | json_values, max_size=3) | json_values,
    },
)
frames = ticks | controls | st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def _parser() -> CoinDeskParser:
    return CoinDeskParser({"cadli:BTC-USD": BTC, "ccix:BTC-USD": BTC_CCIX, "cadli:ETH-BTC": ETH_BTC})


def _assert_sane_event(ev) -> None:
    _assert_sane(ev)
    for one in ev.events if isinstance(ev, Batch) else (ev,):
        _assert_sane(one)
        if isinstance(one, QuoteUpdate) and "FLAGS" in one.fields:
            assert one.fields["FLAGS"] in (1, 2, 4)
        if isinstance(one, QuoteUpdate) and "CHANGEPCT24HOUR" in one.fields:
            assert one.fields["CHANGEPCT24HOUR"] > -100
        if isinstance(one, (InvalidSub, SubscribeComplete)):
            assert one.sub.isascii()


@pytest.mark.slow
@settings(
    max_examples=10 * settings().max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(frames)
def test_fuzz_structured_frames_never_crash_or_yield_bad_prices(frame):
    _assert_sane_event(_parser().parse(_encode(frame)))


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_random_bytes_never_crash(data):
    _assert_sane_event(_parser().parse(data))


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(st.data())
def test_fuzz_odd_text_in_each_field_of_a_real_tick(data):
    # A full tick with one field replaced by digit-like or odd text: never a number, costs only itself.
    name = data.draw(st.sampled_from(TICK_FIELDS), label="field")
    text = data.draw((digitish | odd_text).filter(_utf8), label="text")
    ev = _parser().parse(orjson.dumps({**FULL_TICK, name: text}))
    _assert_sane_event(ev)
    assert isinstance(ev, QuoteUpdate)
    used = name not in (
        "CCSEQ",
        "VALUE_LAST_UPDATE_TS_NS",
        "CURRENT_DAY_HIGH",
        "CURRENT_DAY_CHANGE_PERCENTAGE",
    )
    used = used and name != "MOVING_24_HOUR_CHANGE"
    if used and text not in ("UP", "DOWN", "UNCHANGED"):
        assert len(ev.dropped) == 1
        assert ev.dropped[0].startswith(name)
