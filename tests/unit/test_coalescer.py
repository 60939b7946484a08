"""The coalescer: changed keys released at most once per interval, a lone change at once."""

from __future__ import annotations

import pytest

from ccdesk.core.coalescer import Coalescer


def test_a_lone_change_is_due_at_once_and_a_burst_waits_for_the_interval() -> None:
    c: Coalescer[str] = Coalescer(0.1)
    assert not c.pending
    assert c.due_at() is None
    assert not c.is_due(100.0)
    c.mark("BTC")
    assert c.is_due(100.0)
    assert c.take(100.0) == ["BTC"]
    c.mark("ETH")
    c.mark("BTC")
    c.mark("ETH")
    assert c.due_at() == pytest.approx(100.1)
    assert not c.is_due(100.05)
    assert c.is_due(100.1)
    assert c.take(100.1) == ["ETH", "BTC"]  # first-changed order, one entry per key
    assert not c.pending


def test_interval_zero_releases_every_change() -> None:
    c: Coalescer[str] = Coalescer(0.0)
    for t in (1.0, 1.0, 1.0):
        c.mark("BTC")
        assert c.is_due(t)
        assert c.take(t) == ["BTC"]


def test_a_touch_alone_is_released_with_no_keys() -> None:
    c: Coalescer[str] = Coalescer(0.5)
    c.touch()
    assert c.pending
    assert c.is_due(10.0)
    assert c.take(10.0) == []
    assert not c.pending


def test_clear_drops_pending_work_and_bad_intervals_are_refused() -> None:
    c: Coalescer[str] = Coalescer(1.0)
    c.mark("BTC")
    c.touch()
    c.clear()
    assert not c.pending
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="interval_s"):
            Coalescer(bad)
