"""Reconnect delays: floor, growth, cap, full jitter (at the cap too), reset, rate limits."""

import random
import statistics

import pytest

from ccdesk.core.backoff import Backoff, BackoffPolicy

CLIENTS = range(200)  # one seeded random.Random per client of a fleet dropped at the same moment


class EdgeRandom(random.Random):
    """Always draws the same number: 0.0 gives the low end of each range, almost 1 the top."""

    def __init__(self, value):
        super().__init__(0)
        self.value = value

    def random(self):
        return self.value


LOW, TOP = EdgeRandom(0.0), EdgeRandom(1.0 - 2**-53)


def delays(backoff, n):
    return [backoff.next_delay() for _ in range(n)]


def fleet(n_failures, policy=None, kind="ordinary"):
    """The n-th delay of every client of a fleet."""
    out = []
    for seed in CLIENTS:
        b = Backoff(policy or BackoffPolicy(), random.Random(seed))
        step = b.next_delay if kind == "ordinary" else b.next_rate_limited_delay
        out.append([step() for _ in range(n_failures)][-1])
    return out


def test_ceilings_double_from_twice_the_floor_up_to_the_cap():
    assert delays(Backoff(BackoffPolicy(), TOP), 6) == pytest.approx([10, 20, 40, 60, 60, 60])
    assert delays(Backoff(BackoffPolicy(), LOW), 6) == [5.0] * 6  # the floor, at every step


@pytest.mark.parametrize(("step", "ceiling"), [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0), (12, 60.0)])
def test_each_step_spreads_over_floor_to_ceiling(step, ceiling):
    ds = fleet(step)
    assert min(ds) >= 5.0
    assert max(ds) <= ceiling
    # Full jitter: the whole range is used, not a sliver near the ceiling.
    assert min(ds) < 5.0 + 0.1 * (ceiling - 5.0)
    assert max(ds) > ceiling - 0.1 * (ceiling - 5.0)
    assert len(set(ds)) == len(ds)


def test_clients_dropped_together_do_not_come_back_together_at_the_cap():
    # The old code gave every client exactly 60 s here: min(max_s, base * (1 + jitter * r)).
    ds = fleet(10)
    assert ds.count(60.0) == 0
    assert statistics.pstdev(ds) > 10.0  # uniform over [5, 60] has a deviation of ~15.9 s
    # No crowd in any one second of the range: at most 5 % of the fleet.
    per_second = [sum(1 for d in ds if s <= d < s + 1) for s in range(5, 60)]
    assert max(per_second) <= 0.05 * len(ds)


def test_429s_spread_at_their_cap_too():
    ds = fleet(8, kind="limited")
    assert all(60.0 <= d <= 600.0 for d in ds)
    assert ds.count(600.0) == 0
    assert statistics.pstdev(ds) > 100.0  # uniform over [60, 600]: ~156 s


def test_first_delay_is_never_below_five_seconds():
    firsts = fleet(1)
    assert min(firsts) >= 5.0
    assert max(firsts) <= 10.0
    assert len({round(d, 3) for d in firsts}) > 190


def test_rate_limited_waits_at_least_a_minute_and_the_ceiling_doubles():
    assert [Backoff(BackoffPolicy(), LOW).next_rate_limited_delay() for _ in range(3)] == [60.0] * 3
    b = Backoff(BackoffPolicy(), TOP)
    ds = [b.next_rate_limited_delay() for _ in range(6)]
    assert ds == pytest.approx([120, 240, 480, 600, 600, 600])
    for step, ceiling in [(1, 120.0), (2, 240.0), (3, 480.0)]:
        fds = fleet(step, kind="limited")
        assert min(fds) >= 60.0
        assert ceiling * 0.9 < max(fds) <= ceiling


def test_an_ordinary_failure_between_429s_does_not_reset_the_doubling():
    # 429, then a plain failure, then 429: the second 429 waits up to 240 s, not 120 s again.
    b = Backoff(BackoffPolicy(), TOP)
    assert b.next_rate_limited_delay() == pytest.approx(120)
    b.session_ended(1.0)
    b.next_delay()
    b.session_ended(1.0)
    assert b.next_rate_limited_delay() == pytest.approx(240)
    # The same with seeded clients: some of them now wait longer than a reset doubling allows.
    thirds = []
    for seed in CLIENTS:
        b = Backoff(BackoffPolicy(), random.Random(seed))
        b.next_rate_limited_delay()
        b.next_delay()
        thirds.append(b.next_rate_limited_delay())
    assert min(thirds) >= 60.0
    assert 200.0 < max(thirds) <= 240.0


def test_only_a_healthy_session_resets():
    b = Backoff(BackoffPolicy(), TOP)
    delays(b, 4)
    b.next_rate_limited_delay()
    b.session_ended(2.0)  # accepted then dropped: not healthy
    assert b.next_delay() == pytest.approx(60.0)  # still backing off
    assert b.next_rate_limited_delay() == pytest.approx(240.0)
    b.session_ended(31.0)
    assert b.failures == 0
    assert b.next_delay() == pytest.approx(10.0)
    assert b.next_rate_limited_delay() == pytest.approx(120.0)


def test_less_jitter_narrows_the_range_towards_the_ceiling():
    policy = BackoffPolicy(jitter=0.2)
    ds = fleet(10, policy)
    assert min(ds) >= 48.0
    assert max(ds) <= 60.0
    assert ds.count(60.0) == 0
    assert delays(Backoff(policy, LOW), 1) == [8.0]  # 10 * (1 - 0.2)


def test_floor_equal_to_cap_gives_that_delay():
    assert delays(Backoff(BackoffPolicy(min_s=0.5, max_s=0.5), random.Random(3)), 3) == [0.5] * 3


def test_huge_growth_factors_never_overflow():
    b = Backoff(BackoffPolicy(factor=1e300), random.Random(0))
    assert all(5.0 <= d <= 60.0 for d in delays(b, 2000))
    b = Backoff(BackoffPolicy(min_s=0.0, max_s=1.0), random.Random(0))
    assert delays(b, 3) == [0.0] * 3


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"min_s": -1}, "min_s"),
        ({"max_s": 1, "min_s": 5}, "max_s"),
        ({"factor": 0.5}, "factor"),
        ({"jitter": float("nan")}, "jitter"),
        ({"jitter": 1.5}, "jitter"),
        ({"rate_limited_min_s": float("inf")}, "rate_limited_min_s"),
        ({"rate_limited_max_s": 30}, "rate_limited_max_s"),
    ],
)
def test_policy_validates(kwargs, words):
    with pytest.raises(ValueError, match=words):
        BackoffPolicy(**kwargs)
