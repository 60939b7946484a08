"""The cap on pop-ups per rolling minute, on a fake clock."""

from __future__ import annotations

import pytest

from ccdesk.core.notify_rate import MAX_PER_MINUTE, WINDOW_S, NotificationRateCap
from tests.fakes import FakeClock


def test_the_default_is_six_a_minute() -> None:
    assert (MAX_PER_MINUTE, WINDOW_S) == (6, 60.0)
    cap, clock = NotificationRateCap(), FakeClock()
    admitted = []
    for _ in range(62):  # the flood: 62 alerts in 20 s
        admitted.append(cap.admit(clock.monotonic()))
        clock.advance(20.0 / 62)
    assert admitted == [True] * 6 + [False] * 56


def test_the_window_rolls_rather_than_resetting_on_the_minute() -> None:
    cap, clock = NotificationRateCap(3, 60.0), FakeClock(monotonic=59.0)
    assert [cap.admit(clock.monotonic()) for _ in range(3)] == [True, True, True]  # at :59
    clock.advance(2.0)  # :01 of the next minute: a per-minute bucket would allow 3 more here
    assert cap.admit(clock.monotonic()) is False
    clock.advance(57.9)  # 59.9 s after the burst
    assert cap.admit(clock.monotonic()) is False
    clock.advance(0.1)  # exactly 60 s: the burst has left the window
    assert cap.remaining(clock.monotonic()) == 3


def test_refusals_do_not_count_so_a_steady_flood_gets_the_full_rate() -> None:
    cap, clock = NotificationRateCap(2, 10.0), FakeClock()
    shown_at = []
    for _ in range(40):  # one alert a second for 40 s
        if cap.admit(clock.monotonic()):
            shown_at.append(clock.monotonic() - 1000.0)
        clock.advance(1.0)
    assert shown_at == [0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0]


def test_a_clock_that_steps_back_cannot_freeze_the_cap() -> None:
    cap = NotificationRateCap(2, 60.0)
    assert cap.admit(5000.0)
    assert cap.admit(5001.0)
    assert cap.admit(100.0) is True  # stamps from the "future" are dropped, not waited out


@pytest.mark.parametrize(("count", "window"), [(0, 60.0), (3, 0.0), (-1, 5.0)])
def test_nonsense_limits_are_refused(count: int, window: float) -> None:
    with pytest.raises(ValueError, match="need max_count"):
        NotificationRateCap(count, window)
