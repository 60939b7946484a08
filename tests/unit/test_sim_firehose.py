"""Every venue's firehose cycle without sockets: frames shaped like that venue's real data frames,
each read by ccdesk's own parser for the source into a quote with a new price for its pair, round
robin over the pairs, and consistent when replayed in a loop (a pair's first frame after its last)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.sources import dialect_for
from ccdesk.core.wire import MAX_FRAME_BYTES, Batch, Event, QuoteUpdate
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import CYCLE_FRAMES, ticker_states
from ccdesk.sim.market import Market
from ccdesk.sim.venues import Venue, VenueConn, make_venues
from tests.conftest import FRAMES_DIR
from tests.pairs import BTC, ETH_COINBASE


@dataclass(frozen=True)
class Case:
    """A venue, two of its pairs, and the recorded real data frame its firehose frames look like."""

    source: Source
    pairs: tuple[str, str]
    recorded: str  # sources-examples.jsonl's "what"


CASES = [
    Case(Source.KRAKEN, ("kraken:BTC-USD", "kraken:ETH-USD"), "ticker update"),
    Case(Source.COINBASE, ("coinbase:BTC-USD", "coinbase:ETH-USD"), "ticker"),
    Case(Source.BINANCE, ("binance:BTC-USDT", "binance:ETH-USDT"), "ticker raw"),
    Case(Source.OKX, ("okx:BTC-USDT", "okx:ETH-USDT"), "tickers push"),
    # Both index markets of one instrument: two positions of the round robin on one market instrument.
    Case(Source.COINDESK, ("coindesk:BTC-USD", "coindesk:ccix:BTC-USD"), "index tick 985"),
]


def recorded(source: Source, what: str) -> list[dict[str, Any]]:
    out = []
    for line in (FRAMES_DIR / "sources-examples.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["source"] == source.value and item["what"] == what:
            out.append(item["frame"])
    assert out, what
    return out


def venue_of(market: Market, source: Source) -> Venue:
    return next(v for v in make_venues(market, SimConfig()).values() if v.source is source)


def quotes(event: Event) -> list[QuoteUpdate]:
    events = event.events if isinstance(event, Batch) else (event,)
    return [e for e in events if isinstance(e, QuoteUpdate)]


def subscribed(venue: Venue, pairs: list[Pair]) -> tuple[VenueConn, Any, dict[Pair, float]]:
    """A connection that subscribed ``pairs`` the way ccdesk does; its parser; the snapshot prices."""
    dialect = dialect_for(venue.source)
    parser = dialect.parser({dialect.wire_key(p): p for p in pairs}, MAX_FRAME_BYTES)
    conn = VenueConn(1, key="k-0123456789")
    for text in venue.on_open(conn):
        parser.parse(text.encode())
    snapshot: dict[Pair, float] = {}
    for message in dialect.subscribe(pairs):
        for text in venue.on_message(conn, message):
            for q in quotes(parser.parse(text.encode())):
                snapshot[q.sub] = q.fields["PRICE"]
    assert set(snapshot) == set(pairs)
    return conn, parser, snapshot


@pytest.mark.parametrize("case", CASES, ids=[c.source.value for c in CASES])
def test_each_frame_is_a_quote_with_a_new_price_for_its_pair(case: Case) -> None:
    venue = venue_of(Market(0), case.source)
    pairs = [parse_pair(p) for p in case.pairs]
    conn, parser, snapshot = subscribed(venue, pairs)
    frames = venue.firehose(conn)
    assert len(frames) == CYCLE_FRAMES
    seen: dict[Pair, list[float]] = {p: [] for p in pairs}
    for i, text in enumerate(frames):
        (q,) = quotes(parser.parse(text.encode()))
        assert q.sub == pairs[i % 2]  # round robin
        assert q.dropped == ()  # every field as the parser wants it
        f = q.fields
        if "BID" in f:
            assert f["BID"] < f["ASK"]
        if "HIGH24HOUR" in f:
            assert f["LOW24HOUR"] <= f["PRICE"] <= f["HIGH24HOUR"]
        seen[q.sub].append(f["PRICE"])
    for pair, prices in seen.items():
        assert prices[0] != snapshot[pair]
        # Replayed in a loop: each price differs from the one before it, the first from the last.
        assert all(a != b for a, b in zip([prices[-1], *prices[:-1]], prices, strict=True))
        assert len(set(prices)) > len(prices) * 0.9  # a walk, not two prices in turn


@pytest.mark.parametrize("case", CASES, ids=[c.source.value for c in CASES])
def test_frames_are_shaped_like_the_venue_s_real_data_frames(case: Case) -> None:
    venue = venue_of(Market(0), case.source)
    conn, _, _ = subscribed(venue, [parse_pair(p) for p in case.pairs])
    ours = [orjson.loads(t) for t in venue.firehose(conn)[:64]]
    real = max(recorded(case.source, case.recorded), key=len)  # the fullest (one Coinbase line is trimmed)
    if case.source is Source.COINDESK:
        # Partial ticks: the envelope, CCSEQ and what changed, in the groups ccdesk asks for; the
        # recorded tick has the VALUE and CURRENT_HOUR groups, whose names the other groups share.
        suffixes = {k.removeprefix("CURRENT_HOUR_") for k in real if k.startswith("CURRENT_HOUR_")}
        for frame in ours:
            assert {"TYPE", "MARKET", "INSTRUMENT", "CCSEQ", "VALUE"} <= set(frame)
            for key in frame:
                group = re.match(r"(CURRENT_DAY|MOVING_24_HOUR)_(.+)", key)
                assert key in real or (group is not None and group[2] in suffixes), key
        return
    # Kraken's and OKX's envelope holds one ticker object in a list.
    real_ticker = real["data"][0] if "data" in real else real
    for frame in ours:
        assert frame.keys() == real.keys()
        ticker = frame["data"][0] if "data" in real else frame
        assert len(frame.get("data", [ticker])) == 1
        # Numbers as the venue writes them: JSON numbers (Kraken) or decimal strings (the others).
        assert {k: type(v) for k, v in ticker.items()} == {k: type(v) for k, v in real_ticker.items()}


def test_a_pair_the_market_does_not_have_gets_no_frames() -> None:
    venue = venue_of(Market(0), Source.BINANCE)
    conn = VenueConn(1)
    # Binance acknowledges any well-formed symbol; the market has no such coin.
    venue.on_message(conn, '{"method":"SUBSCRIBE","params":["nopeusdt@ticker"],"id":1}')
    assert conn.subs
    assert venue.firehose(conn) == []


def test_ticker_states_are_the_cycle_s_frames_on_the_market_state() -> None:
    market = Market(0)
    states = ticker_states(market, [BTC, ETH_COINBASE], 1000)
    assert [k for k, _ in states] == [0, 1] * 500
    for k, state in states:
        inst = market.instrument([BTC, ETH_COINBASE][k])
        # The whole state: what the frame does not carry is the market's.
        assert state["OPEN24HOUR"] == inst.fields["OPEN24HOUR"]
        assert state["TOSYMBOL"] == inst.fields["TOSYMBOL"]
        for period in ("HOUR", "DAY", "24HOUR"):
            assert state["LOW" + period] <= state["PRICE"] <= state["HIGH" + period]
