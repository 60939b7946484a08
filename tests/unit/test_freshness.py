"""The one freshness rule: the source connected, data from its session, younger than the threshold;
a composite price while it has venues behind it."""

from __future__ import annotations

from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import Quote
from tests.pairs import BTC

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
COMPOSITE_BTC = parse_pair("composite:BTC-USD")


def quote(received_at: float, price: float | None = 100.0, sub=BTC, basis=()) -> Quote:
    return Quote(sub, price, None, received_at=received_at, basis=basis)


def test_fresh_only_within_the_session_and_the_threshold():
    f = Freshness({Source.CRYPTOCOMPARE: 50.0}, stale_after_s=60.0)
    assert f.is_fresh(quote(100.0), 160.0)
    assert not f.is_fresh(quote(100.0), 160.1)  # older than the threshold
    assert not f.is_fresh(quote(49.0), 60.0)  # from before this session (e.g. before a suspend)
    assert not f.is_fresh(quote(100.0, price=None), 100.0)  # no price yet
    assert not f.is_fresh(None, 100.0)
    assert not Freshness({}, 60.0).is_fresh(quote(100.0), 100.0)  # disconnected


def test_each_source_has_its_own_session():
    f = Freshness({Source.KRAKEN: 90.0}, stale_after_s=60.0)  # CryptoCompare is down, Kraken is up
    assert f.is_fresh(quote(100.0, sub=KRAKEN_BTC), 101.0)
    assert not f.is_fresh(quote(100.0), 101.0)
    assert Freshness.everywhere(0.0).is_fresh(quote(100.0), 101.0)


def test_a_composite_is_fresh_while_it_has_venues_behind_it():
    f = Freshness({}, stale_after_s=60.0)  # its venues' sessions were checked when it was computed
    assert f.is_fresh(quote(100.0, sub=COMPOSITE_BTC, basis=(Source.KRAKEN,)), 101.0)
    assert not f.is_fresh(quote(100.0, sub=COMPOSITE_BTC, basis=()), 101.0)
    assert not f.is_fresh(quote(100.0, sub=COMPOSITE_BTC, basis=(Source.KRAKEN,)), 161.0)


def test_stale_at_is_when_a_fresh_quote_turns_stale():
    f = Freshness({Source.CRYPTOCOMPARE: 50.0}, stale_after_s=60.0)
    assert abs(f.stale_at(quote(100.0), 120.0) - 160.001) < 1e-9
    assert f.stale_at(quote(100.0), 170.0) is None
    assert f.stale_at(quote(10.0), 60.0) is None
