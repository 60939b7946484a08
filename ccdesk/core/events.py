"""What a stream reports: its states and the typed events its client emits. Pure data; no I/O.

Kept apart from the client (``stream.py``, which pulls in the WebSocket library) so that views and
words can use these types without loading the network stack before the window is painted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import Quote
from ccdesk.core.wire import Refusal


class State(enum.Enum):
    """Connection state, as reported to the user."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    STALE = "stale"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    """Not available from here (HTTP 451): retried rarely."""
    STOPPED = "stopped"


class Reason(enum.Enum):
    """Why the state changed."""

    STARTING = "starting"
    WELCOMED = "welcomed"
    CONNECT_FAILED = "connect_failed"
    CONNECTION_LOST = "connection_lost"
    CLOSED_BY_SERVER = "closed_by_server"
    FORCE_DISCONNECT = "force_disconnect"
    NO_WELCOME = "no_welcome"
    SILENCE = "silence"
    PONG_TIMEOUT = "pong_timeout"
    CLOCK_JUMP = "clock_jump"
    RECONNECT_REQUESTED = "reconnect_requested"
    UNAUTHORIZED = "unauthorized"
    TOO_MANY_SOCKETS = "too_many_sockets"
    OPENING_TOO_FAST = "opening_too_fast"
    STOP_REQUESTED = "stop_requested"
    INTERNAL_ERROR = "internal_error"
    """A bug in ccdesk ended the session; it was logged with its traceback, and the stream goes on."""
    PROTOCOL_ERROR = "protocol_error"
    """The server broke the WebSocket protocol (RFC 6455); the connection was failed with 1002."""
    MESSAGE_TOO_BIG = "message_too_big"
    """The server sent a message larger than any real one (1009)."""
    FORBIDDEN = "forbidden"
    """HTTP 403 on the upgrade: a proxy or firewall, not the server refusing the key."""
    REDIRECTED = "redirected"
    """The server redirected to another address; redirects are never followed (the key would go along)."""
    NOT_WEBSOCKET = "not_websocket"
    """Something else answered (a captive portal's page, a plain web server)."""
    GEO_BLOCKED = "geo_blocked"
    """HTTP 451: the service is not available in this region; retried rarely."""
    ROTATED = "rotated"
    """A planned reconnect before the server's own connection lifetime (Binance: 24 h)."""
    SERVER_BACK_OFF = "server_back_off"
    """The server asked to be left alone for a while (CoinDesk 4002)."""
    INSECURE_URL = "insecure_url"
    """The endpoint is plain ws:// to another machine: the key is never sent there."""
    NO_KEY = "no_key"
    """The source needs an API key and none is set (not streamed until there is one)."""
    WAITING_FOR_KEY = "waiting_for_key"
    """The source needs an API key and the keyring is still being read."""


@dataclass(frozen=True, slots=True)
class Status:
    """A connection state change.

    Attributes:
        detail: machine words for logs and the detail line (a server MESSAGE, a connect failure
            kind); never contains the API key.
        retry_in_s: seconds until the next attempt, when one is scheduled.
        retry_at: the same as a monotonic time.
        at: monotonic time of the change, stamped on the stream thread. For CONNECTED it is the
            session start: every frame of the session arrived after it (a GUI-thread clock read
            when the event is handled could be later than the session's first frames).
    """

    state: State
    reason: Reason
    detail: str | None = None
    retry_in_s: float | None = None
    retry_at: float | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True, init=False)
class PriceArrived:
    """A frame for a watched pair carried a price. ``changed`` is False when it repeats the last one.

    Emitted for every such frame: it is what alerts see. Views get ``QuotesChanged`` instead."""

    sub: Pair
    price: float
    changed: bool

    def __init__(self, sub: Pair, price: float, changed: bool) -> None:
        # One per price, so written out (speed): the __init__ a frozen dataclass generates sets each
        # field through object.__setattr__, which on CPython allocates a bound wrapper per call; the
        # slots' own setters, bound once below, do not. The class is as frozen as before.
        _set_sub(self, sub)
        _set_price(self, price)
        _set_changed(self, changed)


_set_sub, _set_price, _set_changed = (PriceArrived.__dict__[f].__set__ for f in ("sub", "price", "changed"))


@dataclass(frozen=True, slots=True)
class QuotesChanged:
    """The coalesced view of the stream: the merged quotes that changed since the last one.

    Emitted at most once per ``StreamConfig.coalesce_s``, carrying one snapshot per changed pair
    (in first-changed order; possibly none when only a heartbeat arrived).

    Attributes:
        quotes: immutable snapshots, safe to hand to another thread.
        last_data_at: monotonic time the socket last delivered something.
    """

    quotes: tuple[Quote, ...]
    last_data_at: float | None


@dataclass(frozen=True, slots=True)
class SubRejected:
    """The source refused a pair; it is kept in the watchlist but not re-sent.

    Attributes:
        reason: The kind of refusal as the protocol names it (``INVALID_SUB``).
        info: The server's own words, shortened.
        refusal: Why, as far as the dialect can tell (unknown coin, not listed...).
    """

    sub: Pair
    reason: str
    info: str | None
    refusal: Refusal = Refusal.INVALID


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The server confirmed a pair (SUBSCRIBECOMPLETE)."""

    sub: Pair


class NoticeKind(enum.Enum):
    """What a server notice is about."""

    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    """Some pairs were refused: the key's limit of pairs per connection was reached."""
    LIMIT = "limit"
    """Another limit was reached."""
    SERVER_ERROR = "server_error"
    """The server found fault with a request (invalid JSON, an unknown parameter...)."""
    KEY_REFUSED = "key_refused"
    """The server refused the key but goes on serving at a lower tier (CoinDesk 4011)."""


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """A server complaint that is not about one pair; the stream goes on.

    Attributes:
        kind: What it is about.
        message: The server's own word for it (``TOO_MANY_SUBSCRIPTIONS_MAX_300_PER_SOCKET``).
        limit: The N of a ``..._MAX_{N}_...`` message, when it carries one.
        info: The server's extra words, if any.
    """

    kind: NoticeKind
    message: str
    limit: int | None = None
    info: str | None = None


StreamEvent = Status | PriceArrived | QuotesChanged | SubRejected | Subscribed | ServerNotice
