"""Hand-written fakes shared by every test tier (one place, no mocks)."""

from __future__ import annotations

import time

import keyring.backend
import keyring.errors


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


class JumpyClock:
    """The real clock, but wall time can jump while monotonic time does not (suspend/resume)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time() + self.offset


# KeyringBackend subclasses register themselves globally with keyring; `viable = False` keeps
# them out of keyring's own backend detection and out of its ChainerBackend.
class InMemoryKeyring(keyring.backend.KeyringBackend):
    """A secure-enough backend for tests: a dict."""

    viable = False
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("No such password!")
        del self.items[(service, username)]
