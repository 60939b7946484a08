"""Hand-written fakes shared by every test tier (one place, no mocks)."""

from __future__ import annotations


class FakeClock:
    """A clock that moves only when told to. ``monotonic()`` and ``time()`` advance together
    unless a test makes wall time jump on its own (sleep/resume)."""

    def __init__(self, monotonic: float = 1000.0, wall: float = 1_700_000_000.0) -> None:
        self._mono = monotonic
        self._wall = wall

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += seconds

    def jump_wall(self, seconds: float) -> None:
        """Wall time jumps (suspend/resume, NTP step) while monotonic time does not."""
        self._wall += seconds
