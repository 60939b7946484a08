"""A self-pipe that wakes a thread blocked in ``select()``: commands from other threads (add a pair,
stop, reconnect) reach the stream thread at once, and the stream thread alone touches its socket."""

from __future__ import annotations

import contextlib
import socket


class Waker:
    """A connected socket pair: ``wake()`` from any thread makes ``fileno()`` readable until ``clear()``.

    Wake-ups are never lost: a waker that is woken between a consumer's ``select()`` and its
    ``clear()`` stays readable only if ``wake()`` came after ``clear()``, and a consumer checks its
    command queue after ``clear()``, so a command queued before a ``wake()`` is always seen.
    """

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self._closed = False

    def fileno(self) -> int:
        """The descriptor to ``select()`` on."""
        return self._r.fileno()

    def wake(self) -> None:
        """Make the waker readable (any thread; never blocks)."""
        # A full buffer means it is readable already: nothing more to do.
        with contextlib.suppress(BlockingIOError, OSError):
            self._w.send(b"\0")

    def clear(self) -> None:
        """Drain pending wake-ups (the waiting thread, before it looks at its commands)."""
        with contextlib.suppress(BlockingIOError, OSError):
            while self._r.recv(4096):
                pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._r.close()
            self._w.close()
