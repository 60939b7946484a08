"""Reconnect timing: exponential backoff with full jitter, and the longer waits the server asks for.

Pure arithmetic; randomness is an injected ``random.Random`` so tests are deterministic.
The server asks for >= 5 s between reconnects and locks out keys that open more than
60 sockets a minute, so no delay produced here is ever below ``min_s``.

Jitter, decided: *full jitter* above the floor. The n-th consecutive delay is uniform over
``[floor, ceiling_n]``, where the ceiling grows by ``factor`` per failure up to the cap. The
randomness is applied to the interval, never to a sample that is then clipped: clipping
``base * (1 + jitter * r)`` at the cap (what this module did) gives every client exactly the cap
once the ceiling reaches it, so a fleet dropped together (a server restart, the weekly
force-disconnect) came back together every 60 s, and every 600 s after 429s, in lockstep.
Decorrelated jitter (``min(cap, uniform(floor, 3 * previous))``) has the same flaw: about two
thirds of its draws land above the cap and are clipped to it. Full jitter keeps the spread at
every step, the cap included, and AWS's comparison of the schemes ("Exponential Backoff And
Jitter", 2015) found it spreads load best for the least total wait. Its cost: the mean delay
at the cap is the middle of the range, not the cap. ``BackoffPolicy.jitter`` narrows the range
towards the ceiling for callers that want that trade the other way.

The first ceiling is already one ``factor`` above the floor (10 s for a 5 s floor): a ceiling
equal to the floor would leave no room for jitter on the very first reconnect, the one a whole
fleet makes at once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Reconnect timing.

    Attributes:
        min_s: the floor of every ordinary delay (the server asks for >= 5 s).
        max_s: the cap of every ordinary delay.
        factor: growth of the ceiling per consecutive failure.
        jitter: the share of the ceiling that is random, in [0, 1]: a delay is uniform over
            ``[max(floor, ceiling * (1 - jitter)), ceiling]``. 1 (the default) is full jitter;
            0 would bring every client back at the same instant.
        healthy_after_s: a session that stayed up this long resets the backoff; a server that
            accepts and drops at once therefore cannot drive a 5-second hot loop.
        rate_limited_min_s: the floor of every delay after a 429 (too many sockets / opening too
            fast). The ceiling starts at twice this and doubles with each 429 until a healthy
            session, up to ``rate_limited_max_s``; ordinary failures in between do not reset it.
        rate_limited_max_s: the cap of the delays after a 429.
    """

    min_s: float = 5.0
    max_s: float = 60.0
    factor: float = 2.0
    jitter: float = 1.0
    healthy_after_s: float = 30.0
    rate_limited_min_s: float = 60.0
    rate_limited_max_s: float = 600.0

    def __post_init__(self) -> None:
        for name in (
            "min_s",
            "max_s",
            "factor",
            "jitter",
            "healthy_after_s",
            "rate_limited_min_s",
            "rate_limited_max_s",
        ):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_s < self.min_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= min_s ({self.min_s})")
        if self.rate_limited_max_s < self.rate_limited_min_s:
            raise ValueError(
                f"rate_limited_max_s ({self.rate_limited_max_s}) must be >= "
                f"rate_limited_min_s ({self.rate_limited_min_s})"
            )
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")
        if self.jitter > 1:
            raise ValueError(f"jitter must be <= 1, got {self.jitter}")


def _ceiling(floor: float, cap: float, factor: float, steps: int) -> float:
    """``floor * factor ** steps``, capped."""
    if floor <= 0.0:
        return 0.0  # a zero floor never grows (and 0 * an overflowed power is not a number)
    try:
        return min(cap, floor * factor**steps)
    except OverflowError:  # a large factor to a large power: far past any cap
        return cap


class Backoff:
    """Counts consecutive failures and turns them into jittered delays."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng
        self._failures = 0
        self._limited = 0

    @property
    def failures(self) -> int:
        """Consecutive failed or short sessions since the last healthy one."""
        return self._failures

    def _draw(self, floor: float, ceiling: float) -> float:
        # Jitter the interval, not a clipped sample: uniform over [low, ceiling] spreads clients
        # at every step, the cap included, and never goes below the floor.
        low = max(floor, ceiling * (1.0 - self.policy.jitter))
        return low + (ceiling - low) * self._rng.random()

    def next_delay(self) -> float:
        """The delay before the next attempt after an ordinary failure.

        Uniform over ``[min_s, min(max_s, min_s * factor ** (n + 1))]`` for the n-th consecutive
        failure (narrower with ``jitter`` < 1). It leaves the 429 count alone: a 429, an ordinary
        failure and a 429 again still double the 429 wait.
        """
        p = self.policy
        ceiling = _ceiling(p.min_s, p.max_s, p.factor, min(self._failures + 1, 1024))
        self._failures += 1
        return self._draw(p.min_s, ceiling)

    def next_rate_limited_delay(self) -> float:
        """The delay after a 429: uniform over ``[rate_limited_min_s, ceiling]``, the ceiling
        starting at twice ``rate_limited_min_s`` and doubling with each 429 since the last healthy
        session, up to ``rate_limited_max_s``."""
        p = self.policy
        ceiling = _ceiling(p.rate_limited_min_s, p.rate_limited_max_s, 2.0, min(self._limited + 1, 1024))
        self._limited += 1
        self._failures += 1
        return self._draw(p.rate_limited_min_s, ceiling)

    def session_ended(self, lasted_s: float) -> None:
        """Report how long the last session was up; a healthy one resets the counters."""
        if lasted_s >= self.policy.healthy_after_s:
            self._failures = 0
            self._limited = 0
