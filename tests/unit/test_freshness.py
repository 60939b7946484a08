"""The one freshness rule: connection up, data from this session, younger than the threshold."""

from __future__ import annotations

from ccdesk.core.freshness import Freshness
from ccdesk.core.quotes import Quote
from tests.pairs import BTC


def quote(received_at: float, price: float | None = 100.0) -> Quote:
    return Quote(BTC, price, None, received_at=received_at)


def test_fresh_only_within_the_session_and_the_threshold():
    f = Freshness(live_since=50.0, stale_after_s=60.0)
    assert f.is_fresh(quote(100.0), 160.0)
    assert not f.is_fresh(quote(100.0), 160.1)  # older than the threshold
    assert not f.is_fresh(quote(49.0), 60.0)  # from before this session (e.g. before a suspend)
    assert not f.is_fresh(quote(100.0, price=None), 100.0)  # no price yet
    assert not f.is_fresh(None, 100.0)
    assert not Freshness(None, 60.0).is_fresh(quote(100.0), 100.0)  # disconnected


def test_stale_at_is_when_a_fresh_quote_turns_stale():
    f = Freshness(live_since=50.0, stale_after_s=60.0)
    assert abs(f.stale_at(quote(100.0), 120.0) - 160.001) < 1e-9
    assert f.stale_at(quote(100.0), 170.0) is None
    assert f.stale_at(quote(10.0), 60.0) is None
