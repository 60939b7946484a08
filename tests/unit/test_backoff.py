"""Reconnect delays: floor, growth, cap, jitter, reset, rate limits."""

import random

import pytest

from ccdesk.core.backoff import Backoff, BackoffPolicy


def delays(backoff, n):
    return [backoff.next_delay() for _ in range(n)]


def test_first_delay_is_at_least_five_seconds_and_growth_is_capped():
    b = Backoff(BackoffPolicy(), random.Random(1))
    ds = delays(b, 12)
    assert all(5.0 <= d <= 60.0 for d in ds)
    assert ds[0] < 6.01  # 5 s plus at most 20 % jitter
    assert ds[3] >= 40.0  # 5 * 2**3
    assert ds[-1] == pytest.approx(60.0)


def test_jitter_spreads_clients_dropped_together():
    firsts = {round(Backoff(BackoffPolicy(), random.Random(seed)).next_delay(), 3) for seed in range(50)}
    assert len(firsts) > 40
    assert min(firsts) >= 5.0


def test_only_a_healthy_session_resets():
    b = Backoff(BackoffPolicy(), random.Random(0))
    delays(b, 4)
    b.session_ended(2.0)  # accepted then dropped: not healthy
    assert b.next_delay() == pytest.approx(60.0)  # 5 * 2**4 capped: still backing off
    b.session_ended(31.0)
    assert b.next_delay() < 6.01


def test_rate_limited_waits_at_least_a_minute_and_doubles():
    b = Backoff(BackoffPolicy(), random.Random(0))
    ds = [b.next_rate_limited_delay() for _ in range(6)]
    assert ds[0] >= 60.0
    assert ds[1] >= 120.0
    assert max(ds) <= 600.0
    assert ds[-1] == pytest.approx(600.0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"min_s": -1}, "min_s"),
        ({"max_s": 1, "min_s": 5}, "max_s"),
        ({"factor": 0.5}, "factor"),
        ({"jitter": float("nan")}, "jitter"),
    ],
)
def test_policy_validates(kwargs, words):
    with pytest.raises(ValueError, match=words):
        BackoffPolicy(**kwargs)
