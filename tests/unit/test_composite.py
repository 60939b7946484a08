"""The composite price: the median of the fresh venue prices of the very same pair."""

from __future__ import annotations

import pytest

from ccdesk.core.composite import COMPOSITE_VENUES, CompositeBook, members, refused_composites, subscriptions
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import PriceDirection, Quote

C_BTC = parse_pair("composite:BTC-USD")
C_BTC_USDT = parse_pair("composite:BTC-USDT")
LIVE = dict.fromkeys(COMPOSITE_VENUES, 0.0)  # every venue connected since t=0


def venue(source: Source, price: float, at: float, quote: str = "USD", open_24h: float | None = None):
    return Quote(parse_pair(f"{source.value}:BTC-{quote}"), price, None, open_24h=open_24h, received_at=at)


def book(*composites) -> CompositeBook:
    b = CompositeBook()
    b.watch(composites or (C_BTC,))
    return b


def test_members_are_the_same_pair_on_each_enabled_venue():
    assert [str(p) for p in members(C_BTC, COMPOSITE_VENUES)] == [
        "kraken:BTC-USD",
        "coinbase:BTC-USD",
        "binance:BTC-USD",
        "okx:BTC-USD",
    ]
    assert [str(p) for p in members(C_BTC, (Source.KRAKEN, Source.OKX))] == ["kraken:BTC-USD", "okx:BTC-USD"]
    # Only keyless venues: a key source named among the venues is not drawn on.
    assert members(C_BTC, (Source.CRYPTOCOMPARE,)) == ()


def test_subscriptions_split_by_source_and_expand_composites_once():
    watch = [parse_pair("kraken:BTC-USD"), C_BTC, parse_pair("5~CCCAGG~ETH~USD")]
    plan = subscriptions(watch, (Source.KRAKEN, Source.COINBASE))
    assert {s: [str(p) for p in ps] for s, ps in plan.items()} == {
        Source.KRAKEN: ["kraken:BTC-USD"],  # once, though both the pair and the composite need it
        Source.COINBASE: ["coinbase:BTC-USD"],
        Source.CRYPTOCOMPARE: ["5~CCCAGG~ETH~USD"],
    }
    assert Source.COMPOSITE not in plan


def test_a_composite_is_refused_by_the_refusal_that_leaves_it_no_venue():
    venues = (Source.KRAKEN, Source.COINBASE)
    kraken, coinbase = members(C_BTC, venues)
    watch = [parse_pair("kraken:BTC-USD"), C_BTC, C_BTC_USDT, C_BTC]
    assert refused_composites(watch, venues, {kraken}, kraken) == ()  # Coinbase may still list it
    assert refused_composites(watch, venues, {kraken, coinbase}, coinbase) == (C_BTC,)  # once
    # A refusal of a pair no composite draws on refuses none.
    other = parse_pair("okx:BTC-USD")
    assert refused_composites(watch, venues, {kraken, coinbase, other}, other) == ()


def test_the_median_ignores_one_glitching_venue():
    b = book()
    out = b.update(
        [
            venue(Source.KRAKEN, 100.0, 1.0),
            venue(Source.COINBASE, 101.0, 1.0),
            venue(Source.OKX, 50_000.0, 1.0),  # a glitch
        ],
        LIVE,
        2.0,
    )
    assert len(out) == 1
    assert out[0].sub == C_BTC
    assert out[0].price == 101.0
    assert out[0].basis == (Source.KRAKEN, Source.COINBASE, Source.OKX)
    assert out[0].received_at == 1.0


def test_an_even_count_takes_the_middle_two():
    b = book()
    (q,) = b.update([venue(Source.KRAKEN, 100.0, 1.0), venue(Source.COINBASE, 102.0, 1.0)], LIVE, 1.0)
    assert q.price == 101.0


def test_usd_and_usdt_are_never_mixed():
    b = book(C_BTC, C_BTC_USDT)
    out = b.update(
        [venue(Source.KRAKEN, 100.0, 1.0), venue(Source.BINANCE, 200.0, 1.0, quote="USDT")], LIVE, 1.0
    )
    prices = {q.sub: q.price for q in out}
    assert prices == {C_BTC: 100.0, C_BTC_USDT: 200.0}


def test_a_venue_older_than_ten_seconds_drops_out_and_the_count_shows_it():
    b = book()
    b.update([venue(Source.KRAKEN, 100.0, 0.0), venue(Source.COINBASE, 110.0, 5.0)], LIVE, 5.0)
    assert b.next_change(5.0) == pytest.approx(10.001)
    (q,) = b.refresh(LIVE, 10.5)  # Kraken's price is now 10.5 s old
    assert q.price == 110.0
    assert q.basis == (Source.COINBASE,)
    (q,) = b.refresh(LIVE, 15.5)  # and Coinbase's too: no venue behind it
    assert q.basis == ()
    assert q.price == 110.0  # the last price stays, shown as stale
    assert b.refresh(LIVE, 16.0) == []  # nothing changes again until a venue is fresh


def test_a_disconnected_venue_or_one_from_before_its_session_is_left_out():
    b = book()
    quotes = [venue(Source.KRAKEN, 100.0, 1.0), venue(Source.COINBASE, 110.0, 1.0)]
    (q,) = b.update(quotes, {Source.KRAKEN: 0.0}, 2.0)  # Coinbase is down
    assert q.basis == (Source.KRAKEN,)
    (q,) = b.refresh({Source.KRAKEN: 1.5, Source.COINBASE: 0.0}, 2.0)  # Kraken reconnected at 1.5
    assert q.basis == (Source.COINBASE,)
    assert q.price == 110.0


def test_the_24h_change_is_the_median_of_the_venues_changes():
    b = book()
    (q,) = b.update(
        [
            venue(Source.KRAKEN, 110.0, 1.0, open_24h=100.0),  # +10 %
            venue(Source.COINBASE, 110.0, 1.0, open_24h=110.0),  # 0 %
            venue(Source.OKX, 110.0, 1.0),  # no 24 h figure
        ],
        LIVE,
        1.0,
    )
    assert q.change_pct_24h == pytest.approx(5.0)


def test_direction_follows_the_composite_price():
    b = book()
    b.update([venue(Source.KRAKEN, 100.0, 1.0)], LIVE, 1.0)
    (q,) = b.update([venue(Source.KRAKEN, 99.0, 2.0)], LIVE, 2.0)
    assert q.direction is PriceDirection.DOWN
    (q,) = b.update([venue(Source.KRAKEN, 99.0, 3.0)], LIVE, 3.0)  # same price, newer: same arrow
    assert q.direction is PriceDirection.DOWN
    assert q.received_at == 3.0


def test_unwatched_pairs_and_venues_are_ignored():
    b = CompositeBook((Source.KRAKEN,))
    b.watch([C_BTC])
    assert b.update([venue(Source.COINBASE, 100.0, 1.0)], LIVE, 1.0) == []
    assert b.member_pairs() == (parse_pair("kraken:BTC-USD"),)
