"""The simulator server's settings: one frozen SimConfig rather than a long list of keyword arguments."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ccdesk.sim.market import DEFAULT_SHARP_MOVE_PROB


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How a :class:`~ccdesk.sim.server.SimServer` behaves.

    Attributes:
        host: interface to listen on.
        port: 0 for an ephemeral port; kept across ``SimServer.restart``.
        keys: the only API keys accepted; None accepts any non-empty key. Any iterable will do (it
            is stored as a frozenset).
        rate: update frames per second per connection, across its subscriptions (0 = none).
        seed: seeds the market model.
        heartbeat_s: interval of the TYPE 999 heartbeat frames.
        max_sockets_per_key: more concurrent CryptoCompare streamer sockets on one key get
            ``429 TOO_MANY_SOCKETS_MAX_N_PER_CLIENT`` (a venue's sockets, CoinDesk's too, do not count).
        max_subs_per_socket: a SubAdd beyond this many pairs on one socket gets one
            ``429 TOO_MANY_SUBSCRIPTIONS_MAX_N_PER_SOCKET`` and the excess is not subscribed
            (600 is the free tier's limit in PROTOCOL.md).
        sharp_move_prob: probability per second that a sharp 1.5-4 % move starts (see market.py).
        first_move_by_s: the first sharp move on a watched coin starts at the latest this many
            seconds after the first subscription (see market.py); None: chance alone.
        firehose: after a socket's first subscribe, send update frames as fast as the socket takes them
            instead of at ``rate``, each with a new price, in the socket's dialect (CryptoCompare's
            or a venue's); a venue's socket then gets no other update or heartbeat frame.
        firehose_limit: with ``firehose``, stop after exactly this many frames per connection.
        firehose_rate: with ``firehose``, send this many frames per second (paced every 20 ms)
            instead of as fast as the socket takes them.
        ping_interval_s: interval of WebSocket pings to clients (the real streamer: 30 s).
        slow_pong_s: two pongs in a row slower than this get ``500 FORCE_DISCONNECT`` (real: 10 s).
        market_step_s: how often the market model moves on.
        wall: unix-seconds clock for LASTUPDATE/TIMEMS/SERVER_TIME_MS.
        geo_blocked: sources (``"binance"``) whose upgrade is answered with HTTP 451, as Binance
            does in the regions it does not serve.
        venue_heartbeat_s: every venue's heartbeat interval, instead of each one's own.
        max_session_s: a venue's socket is closed after this long (Binance's 24 h lifetime, shrunk).
        coindesk_rate_limited: the first this many CoinDesk sockets get a 4002 (rate limit) instead
            of the welcome, and are closed.
        coindesk_unentitled_keys: keys the CoinDesk Data REST route knows but serves nothing to
            (no plan): HTTP 403 with an ``Err`` body, whatever ``keys`` says. The stream ignores it.
        history_rate_limited: the first this many candle-history requests (any venue) get HTTP 429
            with a Retry-After of ``history_retry_after_s`` and the venue's own 429 body.
        history_retry_after_s: the Retry-After of those 429s, in seconds (sent rounded up).
        history_hole: wall seconds ``(start, end)``: minutes starting in it are missing from every
            venue's history (a venue's outage), so that gap handling is tested.
    """

    host: str = "127.0.0.1"
    port: int = 0
    keys: frozenset[str] | None = None
    rate: float = 5.0
    seed: int = 0
    heartbeat_s: float = 30.0
    max_sockets_per_key: int = 1
    max_subs_per_socket: int = 600
    sharp_move_prob: float = DEFAULT_SHARP_MOVE_PROB
    first_move_by_s: float | None = None
    firehose: bool = False
    firehose_limit: int | None = None
    firehose_rate: float | None = None
    ping_interval_s: float = 30.0
    slow_pong_s: float = 10.0
    market_step_s: float = 0.1
    wall: Callable[[], float] = time.time
    geo_blocked: frozenset[str] = frozenset()
    venue_heartbeat_s: float | None = None
    max_session_s: float | None = None
    coindesk_rate_limited: int = 0
    coindesk_unentitled_keys: frozenset[str] = frozenset()
    history_rate_limited: int = 0
    history_retry_after_s: float = 1.0
    history_hole: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # Callers pass lists (the CLI, most tests); a frozenset keeps the config immutable and hashable.
        if self.keys is not None:
            object.__setattr__(self, "keys", frozenset(self.keys))
        object.__setattr__(self, "geo_blocked", frozenset(self.geo_blocked))
        object.__setattr__(self, "coindesk_unentitled_keys", frozenset(self.coindesk_unentitled_keys))
