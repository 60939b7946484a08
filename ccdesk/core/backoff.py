"""Reconnect timing: exponential backoff with jitter, and the longer waits the server asks for.

Pure arithmetic; randomness is an injected ``random.Random`` so tests are deterministic.
The server asks for >= 5 s between reconnects and locks out keys that open more than
60 sockets a minute, so no delay produced here is ever below ``min_s``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Reconnect timing.

    Attributes:
        min_s: first delay, and the floor of every delay.
        max_s: cap of the exponential part.
        factor: growth per consecutive failure.
        jitter: a delay d becomes uniform(d, d * (1 + jitter)), capped at max_s, so that many
            clients dropped together do not come back together.
        healthy_after_s: a session that stayed up this long resets the backoff; a server that
            accepts and drops at once therefore cannot drive a 5-second hot loop.
        rate_limited_min_s: floor after a 429 (too many sockets / opening too fast); it doubles
            with each consecutive 429, up to ``rate_limited_max_s``.
    """

    min_s: float = 5.0
    max_s: float = 60.0
    factor: float = 2.0
    jitter: float = 0.2
    healthy_after_s: float = 30.0
    rate_limited_min_s: float = 60.0
    rate_limited_max_s: float = 600.0

    def __post_init__(self) -> None:
        for name in ("min_s", "max_s", "factor", "jitter", "healthy_after_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_s < self.min_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= min_s ({self.min_s})")
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")


class Backoff:
    """Counts consecutive failures and turns them into delays."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng
        self._failures = 0
        self._limited = 0

    @property
    def failures(self) -> int:
        """Consecutive failed or short sessions since the last healthy one."""
        return self._failures

    def next_delay(self) -> float:
        """The delay before the next attempt after an ordinary failure."""
        p = self.policy
        base = min(p.max_s, p.min_s * p.factor ** min(self._failures, 64))
        self._failures += 1
        self._limited = 0
        return max(p.min_s, min(p.max_s, base * (1.0 + p.jitter * self._rng.random())))

    def next_rate_limited_delay(self) -> float:
        """The delay after a 429: at least ``rate_limited_min_s``, doubling while 429s repeat."""
        p = self.policy
        base = min(p.rate_limited_max_s, p.rate_limited_min_s * 2.0 ** min(self._limited, 32))
        self._limited += 1
        self._failures += 1
        return max(
            p.rate_limited_min_s, min(p.rate_limited_max_s, base * (1.0 + p.jitter * self._rng.random()))
        )

    def session_ended(self, lasted_s: float) -> None:
        """Report how long the last session was up; a healthy one resets the counters."""
        if lasted_s >= self.policy.healthy_after_s:
            self._failures = 0
            self._limited = 0
