"""Time as an injectable dependency: the real clock, so that core logic never calls time.* itself."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What core code needs of time.

    ``monotonic()`` measures intervals (backoff, staleness, alert windows, cooldowns);
    ``time()`` is wall time in unix seconds (for display and comparing with server timestamps).
    """

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()
