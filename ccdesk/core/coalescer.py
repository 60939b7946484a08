"""Coalescing for views: the pairs whose quotes changed, and when to hand them over. Pure; no I/O.

A view needs the latest value per pair at most a few times a second, however fast frames arrive;
alerts, in contrast, see every price (see ``alert_feed``). The dirty set and the flush clock live
together here, owned by the stream loop, which already sleeps until its next deadline: the flush
deadline is one of them, so an idle stream does not wake at all.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Coalescer(Generic[K]):
    """Collects changed keys and releases them at most once per ``interval_s``.

    ``interval_s == 0`` releases every change at once (a consumer that wants each one, like the
    command line). The first change after a quiet spell is released at once, so coalescing never
    delays a lone update; only a burst is held back until the interval has passed.
    """

    __slots__ = ("_alive", "_dirty", "_last", "interval_s")

    def __init__(self, interval_s: float) -> None:
        if not interval_s >= 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s!r}")
        self.interval_s = interval_s
        self._dirty: dict[K, None] = {}
        self._alive = False
        self._last = -float("inf")

    def mark(self, key: K) -> None:
        """``key`` changed."""
        self._dirty[key] = None

    def touch(self) -> None:
        """Something arrived that changed no key (a heartbeat): views still want to know."""
        self._alive = True

    @property
    def pending(self) -> bool:
        """True when something waits to be released."""
        return bool(self._dirty) or self._alive

    def due_at(self) -> float | None:
        """The monotonic time pending work is due, or None when nothing is pending."""
        return self._last + self.interval_s if self._dirty or self._alive else None

    def is_due(self, now: float) -> bool:
        """True when pending work should be released at monotonic ``now``."""
        return (bool(self._dirty) or self._alive) and now >= self._last + self.interval_s

    def take(self, now: float) -> list[K]:
        """Release the changed keys (in first-changed order) and restart the interval at ``now``."""
        keys = list(self._dirty)
        self._dirty.clear()
        self._alive = False
        self._last = now
        return keys

    def clear(self) -> None:
        """Drop pending work (the stream was stopped)."""
        self._dirty.clear()
        self._alive = False
