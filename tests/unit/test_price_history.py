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


def test_a_long_silence_splits_the_line_into_two_segments():
    h = PriceHistory(window_s=600, step_s=2, gap_after_s=60)
    for t in (0.0, 2.0, 4.0):
        h.add(t, 100.0 + t)
    h.add(90.0, 120.0)  # 86 s without a price: an outage
    h.add(92.0, 121.0)
    assert h.segments() == [[(0.0, 100.0), (2.0, 102.0), (4.0, 104.0)], [(90.0, 120.0), (92.0, 121.0)]]
    assert h.points() == [(0.0, 100.0), (2.0, 102.0), (4.0, 104.0), (90.0, 120.0), (92.0, 121.0)]


def test_a_quiet_pair_within_the_gap_threshold_stays_one_line():
    h = PriceHistory(window_s=600, step_s=2, gap_after_s=60)
    for t in (0.0, 30.0, 89.0, 140.0):
        h.add(t, 1.0)
    assert len(h.segments()) == 1


def test_a_new_connection_session_breaks_the_line_even_seconds_later():
    h = PriceHistory(window_s=600, step_s=2, gap_after_s=60)
    h.add(10.0, 1.0, session=5.0)
    h.add(12.0, 1.1, session=5.0)
    h.add(13.0, 1.5, session=12.5)  # reconnected at 12.5: within the same step, still a new segment
    h.add(16.0, 1.6, session=12.5)
    assert h.segments() == [[(10.0, 1.0), (12.0, 1.1)], [(13.0, 1.5), (16.0, 1.6)]]


def test_break_line_marks_the_next_sample_after_a_disconnect():
    h = PriceHistory(window_s=600, step_s=2, gap_after_s=60)
    h.break_line()  # nothing yet: nothing to break
    h.add(0.0, 1.0)
    h.add(2.0, 2.0)
    h.break_line()
    h.add(3.0, 3.0)  # the first price after the reconnect, whatever its session says
    h.add(6.0, 4.0)
    assert h.segments() == [[(0.0, 1.0), (2.0, 2.0)], [(3.0, 3.0), (6.0, 4.0)]]


def test_the_oldest_kept_sample_never_opens_with_an_empty_segment():
    h = PriceHistory(window_s=60, step_s=2, gap_after_s=30)
    h.add(0.0, 1.0)
    h.add(50.0, 2.0)  # a gap
    h.add(52.0, 3.0)
    h.add(115.0, 4.0)  # the first two scrolled out of the window; 115 follows a gap after 52
    assert h.segments() == [[(115.0, 4.0)]]
    assert PriceHistory().segments() == []


def test_seeded_minutes_come_before_the_live_samples() -> None:
    h = PriceHistory(window_s=900.0, step_s=2.0, gap_after_s=10.0)
    h.add(1000.0, 105.0)
    h.add(1002.0, 106.0)
    minutes = [(1000.0 - 60.0 * k, 100.0 + k) for k in range(1, 20)]  # 19 minutes back, newest 940
    minutes.append((1001.0, 999.0))  # not before the first live sample: left out
    h.seed(minutes)
    points = h.points()
    assert points[-2:] == [(1000.0, 105.0), (1002.0, 106.0)]
    assert points[0][0] >= 1002.0 - 900.0  # nothing older than the window
    assert [t for t, _ in points] == sorted(t for t, _ in points)
    # Minute closes a minute apart are one line (the live gap threshold of 10 s does not split them),
    # and the live samples join it (60 s after the newest minute).
    assert len(h.segments()) == 1


def test_a_missing_minute_and_a_long_wait_before_live_are_gaps() -> None:
    h = PriceHistory()
    h.add(2000.0, 50.0)
    h.seed([(1500.0, 40.0), (1560.0, 41.0), (1800.0, 42.0)])  # 1620..1740 missing; 200 s to live
    assert [len(seg) for seg in h.segments()] == [2, 1, 1]


def test_seeding_nothing_or_bad_prices_changes_nothing() -> None:
    h = PriceHistory()
    h.add(10.0, 1.0)
    h.seed([])
    h.seed([(5.0, float("nan")), (6.0, -1.0), (7.0, 0.0)])
    assert h.points() == [(10.0, 1.0)]
