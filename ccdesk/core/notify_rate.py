"""The global cap on pop-up notifications: at most so many in any rolling minute. Pure; no clock."""

from __future__ import annotations

from collections import deque
from typing import Final

MAX_PER_MINUTE: Final = 6
"""Pop-ups allowed in any 60 s. Enough for a few pairs moving at once; a flood (the issue's 62 bubbles
in 20 s) is cut to 6 and the rest are kept in the history, marked."""
WINDOW_S: Final = 60.0


class NotificationRateCap:
    """Admits at most ``max_count`` pop-ups in any ``window_s`` seconds (a rolling window, not a
    per-calendar-minute bucket, so a burst at :59 and another at :01 cannot make 2x the limit).

    Only admitted pop-ups count: refused ones do not push the window further out, so once a
    flood stops, pop-ups come back ``window_s`` after the oldest admitted one.
    """

    def __init__(self, max_count: int = MAX_PER_MINUTE, window_s: float = WINDOW_S) -> None:
        if max_count < 1 or window_s <= 0:
            raise ValueError(f"need max_count >= 1 and window_s > 0, got {max_count}, {window_s}")
        self.max_count = max_count
        self.window_s = window_s
        self._admitted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        """True (and counted) if a pop-up may be shown at monotonic time ``now``; False if over the cap."""
        self._expire(now)
        if len(self._admitted) >= self.max_count:
            return False
        self._admitted.append(now)
        return True

    def remaining(self, now: float) -> int:
        """How many more pop-ups would be admitted at ``now``."""
        self._expire(now)
        return self.max_count - len(self._admitted)

    def _expire(self, now: float) -> None:
        admitted = self._admitted
        while admitted and now - admitted[0] >= self.window_s:
            admitted.popleft()
        # A clock that went backwards (it should not: callers pass a monotonic clock) must not
        # freeze the cap forever: drop stamps from the "future".
        while admitted and admitted[-1] > now:
            admitted.pop()
