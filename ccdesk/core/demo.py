"""What a running demo simulator gives the app: its endpoints, the key it accepts, and its stop.

The simulator itself lives in ``ccdesk.sim``, which the Qt layer never imports: the composition
root hands the controller a ``StartDemo`` callable that returns a ``Demo``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from ccdesk.core.pairs import Source

DEMO_KEY = "demo"
"""The API key demo mode sends to the simulator (which accepts any key)."""


@dataclass(frozen=True, slots=True)
class Demo:
    """A running demo simulator.

    Attributes:
        stream_url: its streamer endpoint (``ws://127.0.0.1:PORT/v2``).
        rest_url: its REST base URL (``http://127.0.0.1:PORT``).
        key: the key to send it.
        stop: stops it (idempotent, bounded).
        urls: every source's endpoint on it (the simulator speaks each venue's dialect).
    """

    stream_url: str
    rest_url: str
    key: str
    stop: Callable[[], None]
    urls: Mapping[Source, str] = field(default_factory=dict)

    def url(self, source: Source) -> str:
        """The simulator's endpoint for ``source`` (CryptoCompare's is ``stream_url``)."""
        return self.urls.get(source, self.stream_url)


StartDemo: TypeAlias = Callable[[], Demo]
"""Starts a demo simulator (blocking, a few ms); raises OSError if it cannot listen."""
