"""The simulator's OKX and CoinDesk venues without sockets: what they answer, that ccdesk's own
parsers read every frame they write without dropping a field, and that no client message, however
hostile, makes them raise."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.core.pairs import parse_pair
from ccdesk.core.sources.coindesk import CoinDesk
from ccdesk.core.sources.okx import Okx
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Heartbeat,
    InvalidSub,
    KeyWarning,
    LimitExceeded,
    LoadComplete,
    QuoteUpdate,
    ServerError,
    SubscribeComplete,
    Welcome,
)
from ccdesk.sim.config import SimConfig
from ccdesk.sim.market import Market
from ccdesk.sim.venues import VENUE_TYPES, VenueConn, make_venues
from ccdesk.sim.venues.coindesk import CoinDeskVenue
from ccdesk.sim.venues.okx import BASIS, OkxVenue
from tests.unit.test_cryptocompare import json_values

OKX_BTC = parse_pair("okx:BTC-USDT")
CD_BTC = parse_pair("coindesk:BTC-USD")
CD_BTC_CCIX = parse_pair("coindesk:ccix:BTC-USD")


def test_every_venue_has_its_own_path():
    assert {cls.__name__ for cls in VENUE_TYPES} >= {"OkxVenue", "CoinDeskVenue"}
    venues = make_venues(Market(0), SimConfig())
    assert venues["/okx/ws/v5/public"].source.value == "okx"
    assert venues["/coindesk"].source.value == "coindesk"


def test_okx_venue_speaks_what_the_okx_parser_reads():
    market = Market(0)
    venue = OkxVenue(market, SimConfig())
    conn = VenueConn(1)
    parser = Okx().parser({"BTC-USDT": OKX_BTC}, MAX_FRAME_BYTES)
    assert venue.on_message(conn, "ping") == ["pong"]
    ack, push, refused = venue.on_message(conn, Okx().subscribe([OKX_BTC, parse_pair("okx:BTC-USD")])[0])
    assert parser.parse(ack.encode()) == SubscribeComplete("BTC-USDT")
    update = parser.parse(push.encode())
    assert isinstance(update, QuoteUpdate)
    assert update.dropped == ()
    assert set(update.fields) == {
        *("PRICE", "BID", "ASK", "OPEN24HOUR", "HIGH24HOUR", "LOW24HOUR", "OPENDAY"),
        *("VOLUME24HOUR", "VOLUME24HOURTO", "LASTUPDATE"),
    }
    binance = market.find(parse_pair("2~Binance~BTC~USDT")).fields["PRICE"]
    assert update.fields["PRICE"] == pytest.approx(binance * (1 + BASIS), rel=1e-8)
    assert isinstance(parser.parse(refused.encode()), InvalidSub)
    assert set(conn.subs) == {"BTC-USDT"}
    market.advance(5.0)
    assert all(isinstance(parser.parse(t.encode()), QuoteUpdate) for t in venue.updates(conn, OKX_BTC))
    (bye,) = venue.on_message(conn, Okx().unsubscribe([OKX_BTC])[0])
    assert json.loads(bye)["event"] == "unsubscribe"
    assert conn.subs == {}


def test_coindesk_venue_speaks_what_the_coindesk_parser_reads():
    market = Market(0)
    venue = CoinDeskVenue(market, SimConfig())
    dialect = CoinDesk()
    parser = dialect.parser({dialect.wire_key(p): p for p in (CD_BTC, CD_BTC_CCIX)}, MAX_FRAME_BYTES)
    conn = VenueConn(1, key=None, key_ok=False)
    welcome, warning = (parser.parse(t.encode()) for t in venue.on_open(conn))
    assert welcome == Welcome(server_name="coindesk")
    assert isinstance(warning, KeyWarning)
    texts = venue.on_message(conn, dialect.subscribe([CD_BTC_CCIX, parse_pair("coindesk:ccix:BTC-EUR")])[0])
    accepted, tick, refused, complete = (parser.parse(t.encode()) for t in texts)
    assert accepted == SubscribeComplete("ccix:BTC-USD")
    assert isinstance(tick, QuoteUpdate)
    assert tick.sub == CD_BTC_CCIX
    assert tick.dropped == ()
    assert set(tick.fields) == {
        *("PRICE", "FLAGS", "LASTUPDATE", "OPENDAY", "OPEN24HOUR", "HIGH24HOUR", "LOW24HOUR"),
        *("VOLUME24HOUR", "VOLUME24HOURTO", "CHANGEPCT24HOUR"),
    }  # no OPENHOUR: the CURRENT_HOUR group was not asked for
    assert isinstance(refused, InvalidSub)
    assert complete == LoadComplete()
    market.advance(5.0)
    for text in venue.updates(conn, CD_BTC_CCIX):
        partial = parser.parse(text.encode())
        assert isinstance(partial, QuoteUpdate)
        assert partial.dropped == ()
    assert parser.parse(venue.heartbeat(conn)[0].encode()) == Heartbeat()
    assert isinstance(parser.parse(venue.on_message(conn, "nope")[0].encode()), ServerError)


def test_coindesk_venue_rate_limits_the_first_sockets_on_demand():
    venue = CoinDeskVenue(Market(0), SimConfig(coindesk_rate_limited=2))
    parser = CoinDesk().parser({}, MAX_FRAME_BYTES)
    for _ in range(2):
        conn = VenueConn(1)
        (limited,) = venue.on_open(conn)
        assert isinstance(parser.parse(limited.encode()), LimitExceeded)
        assert conn.closing is not None
    conn = VenueConn(3)
    assert [json.loads(t)["TYPE"] for t in venue.on_open(conn)] == ["4000"]
    assert conn.closing is None


client_messages = (
    st.text(max_size=60)
    | st.sampled_from(["ping", "pong", "{}", "[]", "null"])
    | st.builds(
        lambda op, args: json.dumps({"op": op, "args": args}),
        st.sampled_from(["subscribe", "unsubscribe"]) | json_values,
        st.lists(
            st.fixed_dictionaries({"channel": st.just("tickers") | json_values, "instId": json_values}),
            max_size=3,
        )
        | json_values,
    )
    | st.builds(
        lambda action, body: json.dumps({"action": action, **body}),
        st.sampled_from(["SUBSCRIBE", "UNSUBSCRIBE"]) | json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.just("index_cc_v1_latest_tick") | json_values,
                "market": st.sampled_from(["cadli", "ccix"]) | json_values,
                "instruments": st.lists(st.sampled_from(["BTC-USD", "X"]) | json_values, max_size=3)
                | json_values,
                "groups": st.lists(st.sampled_from(["VALUE", "NOPE"]) | json_values, max_size=3)
                | json_values,
            },
        ),
    )
)


@settings(deadline=None)  # one Market per example (7 ms): the default count keeps it under 2 s
@given(st.lists(client_messages, min_size=1, max_size=4))
def test_no_client_message_makes_a_venue_raise(messages):
    market = Market(0)
    for venue in (OkxVenue(market, SimConfig()), CoinDeskVenue(market, SimConfig())):
        conn = VenueConn(1)
        venue.on_open(conn)
        for text in messages:
            for reply in venue.on_message(conn, text):
                assert isinstance(orjson.loads(reply) if reply != "pong" else reply, dict | str)
        for pair in list(conn.subs.values()):
            venue.updates(conn, pair)
