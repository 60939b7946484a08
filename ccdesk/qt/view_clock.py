"""One timer for everything on screen that changes with time alone: ages, staleness, countdowns,
the end of an alert pause. It asks each view when it next changes and sleeps until the soonest, so an
idle app wakes only for a visible change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Slot

from ccdesk.core.clock import Clock

MAX_SLEEP_S = 60.0
"""A view that needs no wake-up is still refreshed this often (a safety net, at no visible cost)."""
MIN_SLEEP_MS = 200


class Refreshing(Protocol):
    """A view that shows time: it refreshes itself for monotonic ``now`` and says when it next
    needs to (a monotonic time), or None when nothing it shows will change with time alone."""

    def refresh(self, now: float) -> float | None: ...


class ViewClock(QObject):
    """Schedules the refresh of every view that shows time; holds no view logic itself."""

    def __init__(self, clock: Clock, views: Sequence[Refreshing], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._views = tuple(views)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._stopped = False

    def start(self) -> None:
        """Refresh now, then whenever a view next changes."""
        self._stopped = False
        self._on_timer_timeout()

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()

    def poke(self, within_s: float = 1.0) -> None:
        """Something changed (fresh data): refresh within ``within_s`` at the latest."""
        if self._stopped:
            return
        within_ms = int(within_s * 1000)
        if not self._timer.isActive() or self._timer.remainingTime() > within_ms:
            self._timer.start(within_ms)

    def refresh_now(self) -> None:
        """Refresh every view at once (the window was just shown)."""
        if not self._stopped:
            self._on_timer_timeout()

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = self._clock.monotonic()
        wake = now + MAX_SLEEP_S
        for view in self._views:
            at = view.refresh(now)
            if at is not None:
                wake = min(wake, at)
        if not self._stopped:
            self._timer.start(max(MIN_SLEEP_MS, int((wake - now) * 1000) + 5))
