"""What a venue's dialect is to the simulator: how it greets, answers subscribe messages, writes its
tickers and heartbeats and its firehose cycle, all from the one seeded market. The server
(``ccdesk.sim.server``) owns the sockets, the pacing, the firehose's pump and the traps; a venue only
turns market state into its own frames.

Prices: each venue reads the market's instruments (``Market.find``) in the field names the market
keeps (streamer v2's: ``PRICE``, ``OPEN24HOUR``...), so every dialect shows the same market, each
in its own words and at its own level (an exchange's ticker, or the aggregate index).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import CYCLE_FRAMES, ticker_states
from ccdesk.sim.market import Market

Fields = dict[str, Any]


@dataclass(eq=False)
class VenueConn:
    """One connection, as its venue sees it.

    Attributes:
        conn_id: the server's id for it.
        subs: the pairs subscribed, by the venue's wire key (``BTC/USD``, ``btcusdt``).
        sent: the last state of each pair sent on this connection (to send only what changed).
        messages: how many messages the client sent.
        key: the API key the client sent, if any.
        key_ok: whether that key is one the server accepts.
        notes: what else a venue keeps per connection (CoinDesk: the groups each pair asked for).
        closing: set by a venue to have the server close the socket, with this close code and
            reason, once the frames it just returned are sent (CoinDesk after a 4002, Binance after
            an invalid stream).
    """

    conn_id: int
    subs: dict[str, Pair] = field(default_factory=dict)
    messages: int = 0
    sent: dict[Pair, Fields] = field(default_factory=dict)
    key: str | None = None
    key_ok: bool = True
    notes: dict[str, Any] = field(default_factory=dict)
    closing: tuple[int, str] | None = None


class Venue(abc.ABC):
    """One venue's dialect on the simulated market.

    Class attributes:
        source: which source it plays.
        path: the WebSocket path it is served at on the simulator's port.
        heartbeat_s: how often it sends a heartbeat (``heartbeat``) when the config does not say
            otherwise; None for a venue without one.
        needs_key: the server checks the key (CoinDesk); the keyless venues ignore it.
        subscribe_deadline_s: a socket with nothing subscribed this long is closed (Coinbase: 5 s).
        idle_timeout_s: a socket on which the client sent nothing this long is closed (OKX: 30 s).
        max_messages_per_s: a client that sends more messages than this within one second is
            disconnected with 1008 "Too many requests" (Binance: 5; the simulator counts text
            messages, Binance also counts pings and pongs); None: no limit.
    """

    source: ClassVar[Source]
    path: ClassVar[str]
    heartbeat_s: ClassVar[float | None] = None
    needs_key: ClassVar[bool] = False
    subscribe_deadline_s: ClassVar[float | None] = None
    idle_timeout_s: ClassVar[float | None] = None
    max_messages_per_s: ClassVar[int | None] = None

    def __init__(self, market: Market, config: SimConfig) -> None:
        self.market = market
        self.config = config

    def on_open(self, conn: VenueConn) -> list[str]:
        """What the venue sends as soon as a socket opens (a status or welcome frame)."""
        return []

    @abc.abstractmethod
    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        """Answer one client message: acks and errors, and the first full ticker of each pair it
        subscribes (adding it to ``conn.subs``). Never raises, whatever the text."""

    @abc.abstractmethod
    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        """Frames that bring ``conn`` up to date on ``pair``; ``[]`` when nothing changed since
        the last sent (then the server tries the next pair)."""

    def heartbeat(self, conn: VenueConn) -> list[str]:
        """The venue's heartbeat frames (Coinbase: one per subscribed product)."""
        return []

    @abc.abstractmethod
    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        """The firehose's cycle for ``conn`` (``SimConfig.firehose``): ``count`` update frames as the
        venue writes them after a trade, round robin over the pairs subscribed that the market has,
        each with a new price for its pair (see :meth:`firehose_ticks`); ``[]`` when there are none.
        The server replays the cycle in a loop, so a pair's first frame follows its last one."""

    # --- shared helpers ------------------------------------------------------------------------

    def state(self, pair: Pair, exchange: str | None) -> Fields | None:
        """The market's current fields behind ``pair``: an exchange's ticker (``exchange``), or the
        aggregate index (None). None when the market does not have that pair there."""
        inst = self.market.find(_market_pair(pair, exchange))
        return None if inst is None else dict(inst.fields)

    def firehose_ticks(
        self, conn: VenueConn, exchange: str | None, count: int = CYCLE_FRAMES
    ) -> list[tuple[Pair, Fields]]:
        """The ticks a venue's firehose writes: ``count`` of them, round robin over ``conn``'s pairs
        that the market has at ``exchange`` (see :meth:`state`), each pair with its market state
        after a trade at a new price (``ccdesk.sim.firehose.ticker_states``). Consecutive ticks of a
        pair differ in price, cyclically (the last one and the first one too)."""
        pairs = [p for p in dict.fromkeys(conn.subs.values()) if self.state(p, exchange) is not None]
        if not pairs:
            return []
        probes = [_market_pair(p, exchange) for p in pairs]
        states = ticker_states(self.market, probes, max(count, 2 * len(pairs)))
        return [(pairs[k], fields) for k, fields in states]

    def changed(self, conn: VenueConn, pair: Pair, now: Fields) -> bool:
        """Whether ``now`` differs from what ``conn`` last got for ``pair``; records it if so."""
        if conn.sent.get(pair) == now:
            return False
        conn.sent[pair] = now
        return True


def _market_pair(pair: Pair, exchange: str | None) -> Pair:
    """The market's own pair behind a venue's ``pair``: ``exchange``'s ticker, or (None) the aggregate."""
    if exchange is None:
        return Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, AGGREGATE_MARKET, Channel.AGGREGATE)
    return Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, exchange, Channel.TICKER)


def dumps(obj: object) -> str:
    """JSON text the way a server writes it (compact)."""
    return orjson.dumps(obj).decode()


def loads(text: str) -> Any:
    """The JSON in a client message, or None if it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def decimal_text(value: float, places: int = 8) -> str:
    """A price or volume as exchanges write it in JSON strings: ``"91230.12000000"``."""
    return f"{value:.{places}f}"


def symbols(pairs: Sequence[Pair]) -> list[str]:
    return [f"{p.base}/{p.quote}" for p in pairs]
