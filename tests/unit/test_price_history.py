"""Sparkline history: thinning, latest-wins, bounded window."""

import pytest

from ccdesk.core.price_history import PriceHistory


def test_one_sample_per_step_latest_price_wins():
    h = PriceHistory(window_s=60, step_s=5)
    for i in range(10):
        h.add(100.0 + i * 0.5, 1.0 + i)  # 10 prices within 5 s
    assert h.points() == [(100.0, 10.0)]
    h.add(105.0, 20.0)
    assert h.points() == [(100.0, 10.0), (105.0, 20.0)]


def test_window_is_bounded_however_fast_prices_arrive():
    h = PriceHistory(window_s=60, step_s=5)
    t = 0.0
    for i in range(100_000):
        t += 0.01
        h.add(t, 1.0 + (i % 7))
    assert len(h) <= 13
    assert h.points()[0][0] >= t - 60


def test_rejects_nonsense():
    with pytest.raises(ValueError, match="must be > 0"):
        PriceHistory(window_s=0)
