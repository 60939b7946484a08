"""Coinbase Exchange: every recorded real frame becomes the right wire event; hostile frames never
raise or yield a bad price; heartbeats vouch for a price only when nothing traded since; a refused
product is shown on its row; the subscribe messages."""

from __future__ import annotations

import datetime
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
from ccdesk.core.sources.coinbase import Coinbase, CoinbaseParser, PendingRequests
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    ForceDisconnect,
    Heartbeat,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
)
from tests.conftest import FRAMES_DIR
from tests.fakes import FakeClock

BTC = parse_pair("coinbase:BTC-USD")
ETH = parse_pair("coinbase:ETH-USD")
ADA_EUR = parse_pair("coinbase:ADA-EUR")
BTC_EUR = parse_pair("coinbase:BTC-EUR")
BTC_XXX = parse_pair("coinbase:BTC-XXX")
WATCHED = (BTC, ETH, ADA_EUR, BTC_EUR, BTC_XXX)


def recorded(what: str) -> list[bytes]:
    lines = (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines()
    out = [
        orjson.dumps(item["frame"])
        for item in map(json.loads, lines)
        if item["source"] == "coinbase" and item["what"] == what
    ]
    assert out, what
    return out


def utc(text: str) -> float:
    return datetime.datetime.fromisoformat(text).timestamp()


def make(watched=WATCHED) -> tuple[Coinbase, CoinbaseParser]:
    dialect = Coinbase()
    return dialect, dialect.parser({dialect.wire_key(p): p for p in watched}, MAX_FRAME_BYTES)


@pytest.fixture
def parser() -> CoinbaseParser:
    return make()[1]


# --- the recorded frames ------------------------------------------------------------------------


def test_recorded_tickers_become_quote_updates_read_from_their_strings(parser):
    docs, batch_2026, btc_2024, eth_2022, trimmed = (parser.parse(f) for f in recorded("ticker"))
    assert docs == QuoteUpdate(
        ETH,
        {
            "PRICE": 1285.22,
            "BID": 1285.04,
            "ASK": 1285.27,
            "OPEN24HOUR": 1310.79,
            "HIGH24HOUR": 1313.8,
            "LOW24HOUR": 1280.52,
            "VOLUME24HOUR": 245532.79269678,
            "LASTUPDATE": utc("2022-10-19T23:28:22.061769+00:00"),
        },
    )
    assert batch_2026 == QuoteUpdate(
        BTC,
        {
            "PRICE": 84737.58,
            "BID": 84737.58,
            "ASK": 84737.59,
            "OPEN24HOUR": 84430.55,
            "HIGH24HOUR": 85021.57,
            "LOW24HOUR": 84400.0,  # "84400": an integer text is a price too
            "VOLUME24HOUR": 1836.9678175,
            "LASTUPDATE": utc("2026-10-03T20:58:31.127510+00:00"),
        },
    )
    assert btc_2024 == QuoteUpdate(
        BTC,
        {
            "PRICE": 40813.37,
            "BID": 40809.65,
            "ASK": 40818.25,
            "OPEN24HOUR": 42637.36,
            "HIGH24HOUR": 42877.22,
            "LOW24HOUR": 40600.05,
            "VOLUME24HOUR": 24498.814752,
            "LASTUPDATE": utc("2024-01-18T21:32:54.368300+00:00"),
        },
    )
    # The older shape (no best_bid_size/best_ask_size) reads the same.
    assert eth_2022 == QuoteUpdate(
        ETH,
        {
            "PRICE": 1549.08,
            "BID": 1548.81,
            "ASK": 1549.08,
            "OPEN24HOUR": 1485.35,
            "HIGH24HOUR": 1631.32,
            "LOW24HOUR": 1450.45,
            "VOLUME24HOUR": 589548.0276813,
            "LASTUPDATE": utc("2022-07-19T12:09:26.348930+00:00"),
        },
    )
    # Trimmed by its source (no side, last_size or trade_id): what is there is kept.
    assert trimmed == QuoteUpdate(
        BTC,
        {
            "PRICE": 80228.06,
            "BID": 80227.99,
            "ASK": 80228.07,
            "OPEN24HOUR": 78434.74,
            "HIGH24HOUR": 80529.99,
            "LOW24HOUR": 77601.02,
            "VOLUME24HOUR": 6736.34239815,
            "LASTUPDATE": utc("2026-08-27T09:41:12.123456+00:00"),
        },
    )


def test_the_24h_change_comes_from_open_24h(parser):
    book = QuoteBook(FakeClock())
    book.apply_update(parser.parse(recorded("ticker")[0]))
    quote = book.quote(ETH)
    assert quote is not None
    assert quote.change_pct_24h == pytest.approx((1285.22 - 1310.79) / 1310.79 * 100)


def test_recorded_subscription_acks_confirm_each_ticker_product(parser):
    both, ticker_1000 = (parser.parse(f) for f in recorded("subscriptions ack"))
    assert both == Batch((SubscribeComplete("BTC-USD"), SubscribeComplete("ETH-USD")))
    # A ticker_batch subscription is acknowledged as ticker_1000: the same ticker frames.
    assert ticker_1000 == SubscribeComplete("BTC-USD")


def test_recorded_heartbeats_before_any_ticker_only_say_the_feed_is_alive(parser):
    docs, eth, ada, btc_eur = (parser.parse(f) for f in recorded("heartbeat"))
    assert docs == Heartbeat(int(utc("2014-11-07T08:19:28.464459+00:00") * 1000))
    assert eth == Heartbeat(int(utc("2022-07-19T12:09:26.296459+00:00") * 1000))
    assert ada == Heartbeat(int(utc("2022-10-25T12:27:38.227412+00:00") * 1000))
    assert btc_eur == Heartbeat(int(utc("2018-05-03T19:29:24.335000+00:00") * 1000))
    assert all(ev.pair is None for ev in (docs, eth, ada, btc_eur))


def test_a_heartbeat_vouches_for_the_price_only_when_nothing_traded_since(parser):
    # The 2022-07-19 session: ETH-USD's heartbeat (last trade 319738525) came 50 ms before the
    # ticker of trade 319738529.
    heartbeat = recorded("heartbeat")[1]
    assert parser.parse(heartbeat).pair is None  # no price yet: nothing to vouch for
    ticker = parser.parse(recorded("ticker")[3])
    assert isinstance(ticker, QuoteUpdate)
    assert ticker.sub == ETH
    assert parser.parse(heartbeat).pair == ETH  # trade 319738525 is not newer than 319738529
    newer = orjson.loads(heartbeat) | {"last_trade_id": 319738530}
    assert parser.parse(orjson.dumps(newer)).pair is None  # a trade ccdesk has no ticker for
    no_id = {k: v for k, v in orjson.loads(heartbeat).items() if k != "last_trade_id"}
    assert parser.parse(orjson.dumps(no_id)).pair is None


def test_a_price_that_was_dropped_does_not_record_its_trade_for_heartbeats(parser):
    ticker = orjson.loads(recorded("ticker")[3]) | {"price": "NaN"}
    ev = parser.parse(orjson.dumps(ticker))
    assert isinstance(ev, QuoteUpdate)
    assert "PRICE" not in ev.fields
    assert parser.parse(recorded("heartbeat")[1]).pair is None


def test_trade_ids_outlive_a_connection_so_a_thin_pair_is_live_again_after_a_reconnect():
    dialect, first = make()
    first.parse(recorded("ticker")[3])
    second = dialect.parser({"ETH-USD": ETH}, MAX_FRAME_BYTES)  # the next connection
    assert second.parse(recorded("heartbeat")[1]).pair == ETH


def test_recorded_errors(parser):
    invalid, empty, no_channels, auth = (parser.parse(f) for f in recorded("error"))
    assert invalid == InvalidSub("BTC-XXX", "BTC-XXX is not a valid product", Refusal.NOT_LISTED)
    assert empty == ServerError("Failed to subscribe", None, " is not a valid product")
    assert no_channels == ServerError("Failed to subscribe", None, "No channels provided")
    assert auth == ServerError(
        "Failed to subscribe",
        None,
        "level2, level3, and full channels now require authentication. "
        "https://docs.cloud.coinbase.com/exchange/docs/websocket-auth",
    )


def test_an_error_naming_a_product_not_watched_is_a_server_error():
    _, parser = make((BTC,))
    assert parser.parse(recorded("error")[0]) == ServerError(
        "Failed to subscribe", None, "BTC-XXX is not a valid product"
    )


# --- a refused product and the rest of its request ------------------------------------------------


def error_for(product: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "message": "Failed to subscribe", "reason": f"{product} is not a valid product"}
    )


def test_a_refusal_in_a_request_of_several_products_reconnects_for_the_others():
    # Coinbase ignores the whole request; a new socket subscribes the others again.
    dialect, parser = make()
    dialect.subscribe([BTC, BTC_XXX, ETH])
    ev = parser.parse(error_for("BTC-XXX"))
    refused = InvalidSub("BTC-XXX", "BTC-XXX is not a valid product", Refusal.NOT_LISTED)
    assert ev == Batch((refused, ForceDisconnect(planned=True)))


def test_a_refusal_of_a_product_sent_alone_costs_nothing_else():
    dialect, parser = make()
    dialect.subscribe([BTC, ETH])
    parser.parse(recorded("subscriptions ack")[0])
    dialect.subscribe([BTC_XXX])  # added at run time
    assert parser.parse(error_for("BTC-XXX")) == InvalidSub(
        "BTC-XXX", "BTC-XXX is not a valid product", Refusal.NOT_LISTED
    )


def test_products_already_confirmed_do_not_need_a_reconnect():
    requests = PendingRequests()
    requests.sent(["BTC-USD", "ETH-USD"])
    requests.confirmed(frozenset({"BTC-USD", "ETH-USD"}))
    requests.sent(["BTC-USD", "ETH-USD", "BTC-XXX"])  # a re-subscribe with a new one
    assert not requests.refused(frozenset({"BTC-XXX"}))
    requests.sent(["ADA-EUR", "BTC-XXX"])
    assert requests.refused(frozenset({"BTC-XXX"}))
    assert not requests.refused(frozenset({"BTC-XXX"}))  # that request is forgotten


def test_every_watched_product_an_error_names_is_refused(parser):
    frame = {"type": "error", "message": "Failed to subscribe", "reason": "BTC-XXX, ETH-USD: not valid"}
    assert parser.parse(orjson.dumps(frame)) == Batch(
        (
            InvalidSub("BTC-XXX", "BTC-XXX, ETH-USD: not valid", Refusal.INVALID),
            InvalidSub("ETH-USD", "BTC-XXX, ETH-USD: not valid", Refusal.INVALID),
        )
    )


def test_pending_requests_stay_bounded():
    requests = PendingRequests()
    for i in range(1000):
        requests.sent([f"X{i}-USD"])
    assert len(requests._pending) <= 64


# --- bad fields and hostile frames ----------------------------------------------------------------


def test_a_bad_field_costs_only_itself(parser):
    frame = {
        "type": "ticker",
        "product_id": "BTC-USD",
        "price": "91000.5",
        "best_bid": "0",  # not a price
        "best_ask": 91001.0,  # a JSON number: Coinbase writes strings
        "open_24h": "٩١٠٠٠",  # Arabic-Indic digits
        "high_24h": "1e999",  # not finite
        "low_24h": "+90000",
        "volume_24h": "-1",
        "time": "yesterday",
        "trade_id": -5,
    }
    ev = parser.parse(orjson.dumps(frame))
    assert ev == QuoteUpdate(
        BTC,
        {"PRICE": 91000.5},
        (
            "best_bid is not a positive decimal string",
            "best_ask is not a positive decimal string",
            "open_24h is not a positive decimal string",
            "high_24h is not a positive decimal string",
            "low_24h is not a positive decimal string",
            "volume_24h is not a non-negative decimal string",
            "time is not an ISO 8601 time with a zone",
            "trade_id is not a non-negative integer",
        ),
    )


def test_a_price_is_never_taken_from_a_bad_field(parser):
    for bad in (
        "0",
        "-1",
        "nan",
        "inf",
        "1_000",
        " 1",
        "1.",
        ".5",
        "007",
        "\uff11\uff12",
        "²",
        "",
        True,
        None,
        [1],
    ):
        ev = parser.parse(orjson.dumps({"type": "ticker", "product_id": "BTC-USD", "price": bad}))
        assert isinstance(ev, QuoteUpdate)
        assert "PRICE" not in ev.fields


@pytest.mark.parametrize(
    "time",
    [
        "2026-10-03T20:58:31",
        "\uff12\uff10\uff12\uff16-10-03T20:58:31Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+23:59",
        "x" * 50,
        1790358564,
    ],
)
def test_times_without_a_zone_non_ascii_before_1970_or_not_text_are_dropped(parser, time):
    ev = parser.parse(orjson.dumps({"type": "ticker", "product_id": "BTC-USD", "price": "1", "time": time}))
    assert isinstance(ev, QuoteUpdate)
    assert ev.dropped == ("time is not an ISO 8601 time with a zone",)
    assert ev.fields == {"PRICE": 1.0}


def test_a_ticker_of_a_product_not_watched_is_ignored():
    _, parser = make(())
    assert isinstance(parser.parse(recorded("ticker")[0]), Ignored)


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        (b"nope", Malformed("not JSON")),
        (b"[1]", Malformed("JSON list, not an object")),
        (b'{"product_id":"BTC-USD"}', Malformed("no type")),
        (b'{"type":"ticker","product_id":7}', Malformed("ticker without a product_id")),
        (b'{"type":"subscriptions","channels":"ticker"}', Malformed("subscriptions without a channel list")),
        (b'{"type":"subscriptions","channels":[]}', Ignored("subscriptions without a ticker product")),
        (b'{"type":"status","products":[]}', Ignored("status")),
        (b'{"type":"heartbeat"}', Heartbeat()),
        (b'{"type":"error"}', ServerError("error", None, None)),
    ],
)
def test_hostile_and_other_frames(parser, frame, event):
    assert parser.parse(frame) == event


def test_oversized_frames_are_refused_before_parsing():
    parser = CoinbaseParser({}, max_frame_bytes=100)
    assert parser.parse(b"{" + b" " * 200 + b"}") == Malformed("frame of 202 bytes exceeds 100")


def test_reasons_never_echo_the_frame(parser):
    ev = parser.parse(orjson.dumps({"type": "ticker", "product_id": "BTC-USD", "price": "secret-ish"}))
    assert isinstance(ev, QuoteUpdate)
    assert not any("secret-ish" in r for r in ev.dropped)


# --- the dialect --------------------------------------------------------------------------------


def test_subscribe_messages_carry_both_channels_and_spell_products_as_coinbase_does():
    dialect = dialect_for(BTC.source)
    assert isinstance(dialect, Coinbase)
    assert [json.loads(m) for m in dialect.subscribe([BTC, ETH])] == [
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channels": ["ticker", "heartbeat"]}
    ]
    assert [json.loads(m) for m in dialect.unsubscribe([BTC])] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD"], "channels": ["ticker", "heartbeat"]}
    ]
    many = [parse_pair(f"coinbase:C{i}-USD") for i in range(250)]
    assert [len(json.loads(m)["product_ids"]) for m in dialect.subscribe(many)] == [100, 100, 50]


def test_the_dialect_subscribes_at_once_sends_no_key_and_paces_to_8_a_second():
    dialect = Coinbase()
    assert dialect.headers(None) == []
    assert not dialect.welcome_gate
    assert dialect.send_interval_s >= 1 / 8
    assert dialect.info.default_url == "wss://ws-feed.exchange.coinbase.com"
    assert not dialect.info.needs_key


# --- property-based fuzzing ---------------------------------------------------------------------

# Text from the Unicode categories that break digit checks, Nd (decimal digits of every script) and
# No (other numbers: "²", "½"), a few hand-picked troublemakers and any character at all.
ODD_CHARS = "0123456789²³¹½٣۳३\uff10\uff19_ .,-+eEZT:\u200b\u00a0\u2212\ufeff\x00"
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
    [
        *("price", "best_bid", "best_ask", "open_24h", "high_24h", "low_24h", "volume_24h", "time"),
        *("trade_id", "last_trade_id", "product_id", "channels", "reason", "message", "sequence"),
    ]
)
frames = st.builds(
    lambda kind, product, extra: {**extra, "type": kind, "product_id": product},
    st.sampled_from(["ticker", "heartbeat", "subscriptions", "error"]) | json_values,
    st.sampled_from(["BTC-USD", "ETH-USD", "BTC-XXX"]) | json_values,
    st.dictionaries(names, json_values | decimals, max_size=8),
)
EVENT_TYPES = typing.get_args(Event)


def assert_sane(ev: Event) -> None:
    """An event of a known type; no bad number ever gets through; the quote book takes it."""
    assert isinstance(ev, EVENT_TYPES), ev
    for one in ev.events if isinstance(ev, Batch) else (ev,):
        if isinstance(one, QuoteUpdate):
            for name, value in one.fields.items():
                assert type(value) is float, name
                assert math.isfinite(value)
                assert value >= 0
            assert one.fields.get("PRICE", 1.0) > 0
            book = QuoteBook(FakeClock())
            book.apply_update(one)
            quote = book.quote(one.sub)
            assert quote is not None
            _ = quote.change_pct_24h


def check_frame(frame: object) -> None:
    dialect, parser = make()
    dialect.subscribe([BTC, BTC_XXX])
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


@settings(max_examples=5 * settings().max_examples, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(odd_chars, max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_fuzz_random_bytes_never_crash(data):
    assert_sane(make()[1].parse(data))
