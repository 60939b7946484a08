"""What a source is to the stream engine: a dialect (URL and auth, pair spelling, subscribe messages,
frames -> wire events, keep-alive, limits) and the facts a user needs about it (``SourceInfo``).

Transport, the reconnect loop, backoff, liveness, the coalescer and the quote book are shared
(``ccdesk.core.stream``): a dialect is data plus a parser, never a copy of the reconnect loop.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.wire import Event


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The facts about a source, for ``ccdesk sources``, the settings and the README.

    Attributes:
        source: Which one.
        title: Its name as people write it (``Kraken``).
        key: Whose API key it needs, or None for a keyless source.
        default_url: Its WebSocket endpoint.
        spelling: How it writes a pair on the wire (``BTC/USD``).
        change_24h: What its 24 h change means (all are rolling 24 h; where it comes from).
        limits: The limits ccdesk honours for it.
    """

    source: Source
    title: str
    key: KeyProvider | None
    default_url: str
    spelling: str
    change_24h: str
    limits: str

    @property
    def needs_key(self) -> bool:
        return self.key is not None


class WireParser(Protocol):
    """Turns one text frame into one wire event. One per connection; never raises."""

    def parse(self, data: bytes) -> Event: ...


class Dialect(abc.ABC):
    """One source's wire dialect. Stateless but for what a connection's parser keeps.

    Class attributes:
        info: The facts about the source.
        welcome_gate: Subscribe only after the server's ``Welcome`` (CryptoCompare, CoinDesk);
            otherwise right after the connection opens (Coinbase closes a socket that has not
            subscribed within 5 s).
        max_session_s: Reconnect before the server's own connection lifetime runs out (Binance: 24 h);
            None: no lifetime.
        keepalive_s: Send ``keepalive_text`` after this long without sending anything (OKX closes an
            idle socket after 30 s); None: the server keeps the socket alive itself.
        keepalive_text: The application-level ping (``ping`` for OKX).
        send_interval_s: At least this long between two messages sent (Binance: 5 per second).
        batch: At most this many pairs in one subscribe or unsubscribe message.
        first_data_s: A pair the server accepted but sent no price for within this long is shown
            as not available here (Binance acknowledges any well-formed symbol, listed or not);
            its price clears that as soon as it comes. None: the server refuses what it lacks.

    A dialect instance serves one client (a parser and the subscribe messages of one connection
    at a time): ``dialect_for`` makes a new one each time.
    """

    info: ClassVar[SourceInfo]
    welcome_gate: ClassVar[bool] = False
    max_session_s: ClassVar[float | None] = None
    keepalive_s: ClassVar[float | None] = None
    keepalive_text: ClassVar[str] = ""
    send_interval_s: ClassVar[float] = 0.0
    batch: ClassVar[int] = 100
    first_data_s: ClassVar[float | None] = None

    def headers(self, key: ApiKey | None) -> list[str]:
        """Headers of the upgrade request. A source that needs a key sends it here, never in the URL;
        the default sends nothing (a key never goes to a source that does not need it)."""
        return []

    @abc.abstractmethod
    def wire_key(self, pair: Pair) -> str:
        """How the server names ``pair`` in frames, acks and rejections (``BTC/USD``, ``btcusdt``)."""

    @abc.abstractmethod
    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> WireParser:
        """A parser for one connection. ``watched`` maps wire keys to the pairs being watched; the
        engine keeps it up to date (on the stream thread), and frames for other keys are ignored."""

    @abc.abstractmethod
    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        """The messages that subscribe ``pairs`` (at most ``batch`` pairs each)."""

    @abc.abstractmethod
    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        """The messages that unsubscribe ``pairs``."""


def batched(pairs: Sequence[Pair], size: int) -> list[Sequence[Pair]]:
    """``pairs`` in runs of at most ``size`` (for dialects that cap a message's pairs)."""
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]
