"""The typed events every source's parser produces, whatever its wire dialect. Pure data.

A source's parser (``ccdesk.core.sources``) turns each frame into one of these; the stream engine
(``ccdesk.core.stream``) acts on them the same way for every source. A frame that cannot be used
becomes ``Malformed`` (parsers never raise).

The quote fields: a ``QuoteUpdate`` carries a venue's ticker as the fields of ccdesk's quote book.
Their names are CryptoCompare streamer v2's (``PRICE``, ``OPEN24HOUR``, ``HIGH24HOUR``, ``LOW24HOUR``,
``VOLUME24HOUR``, ``VOLUME24HOURTO``, ``OPENDAY``, ``OPENHOUR``, ``BID``, ``ASK``, ``LASTUPDATE`` in unix
seconds, ``LASTMARKET``, ``FLAGS`` as its bitmask), the first source's vocabulary kept as ccdesk's
own, plus ``CHANGEPCT24HOUR`` (as in CryptoCompare's REST answers) for a 24 h change in percent that
a venue sends itself. Every dialect maps its venue's fields onto these names; the quote book knows
no other.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ccdesk.core.pairs import Pair

MAX_FRAME_BYTES: Final = 64 * 1024
"""The largest frame parsed. A full ticker snapshot is ~1.5 KB; anything near this is hostile."""

# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server's greeting (CryptoCompare TYPE 20, CoinDesk 4000, Kraken's status frame). A
    dialect that waits for it subscribes only then; the fields are CryptoCompare's counters."""

    server_name: str | None = None
    sockets_active: int | None = None
    sockets_remaining: int | None = None
    ratelimit_remaining_minute: int | None = None


@dataclass(frozen=True, slots=True)
class SubscribeComplete:
    """A pair is live; ``sub`` is its wire key (the dialect's ``wire_key``), as the server wrote it."""

    sub: str


@dataclass(frozen=True, slots=True)
class LoadComplete:
    """TYPE 3: every sub of the last SubAdd has been handled."""


@dataclass(frozen=True, slots=True)
class UnsubscribeComplete:
    """TYPE 17: ``sub`` removed."""

    sub: str


@dataclass(frozen=True, slots=True)
class UnsubscribeAllComplete:
    """TYPE 18: a SubRemove batch is done."""

    valid: int | None
    invalid: int | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server is alive (CryptoCompare TYPE 999, Kraken's heartbeat channel, CoinDesk 4013, OKX's
    pong). It says the feed works, not that any price is fresh, unless ``pair`` names the pair it
    is about (Coinbase's per-product heartbeat: no trade since, the last price still stands).

    A dialect may name a ``pair`` only when the frame proves nothing traded since the price
    ccdesk holds (Coinbase: the heartbeat's last trade id is not newer than the price's): the engine
    then revives that price as fresh, even one from a previous session."""

    time_ms: int | None = None
    pair: Pair | None = None


@dataclass(frozen=True, slots=True)
class Unauthorized:
    """The key is missing, invalid or not entitled (CryptoCompare 401). Do not reconnect in a loop."""

    info: str | None


@dataclass(frozen=True, slots=True)
class KeyWarning:
    """The server refused the key but goes on serving at a lower tier (CoinDesk 4011)."""

    info: str | None


class LimitKind(enum.Enum):
    """Which limit a server reports (CryptoCompare 429, CoinDesk 4002...)."""

    TOO_MANY_SOCKETS = "TOO_MANY_SOCKETS"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    OPENING_SOCKETS_TOO_FAST = "RATE_LIMIT_OPENING_SOCKETS_TOO_FAST"
    BACK_OFF = "BACK_OFF"
    """Over a limit: stop and come back in minutes (CoinDesk 4002)."""
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """TYPE 429. ``limit`` is the N of ``..._MAX_{N}_...`` when the message carries one."""

    kind: LimitKind
    message: str
    limit: int | None
    info: str | None


class Refusal(enum.Enum):
    """Why a server refused one pair."""

    INVALID = "invalid"
    """The server does not know the pair (CryptoCompare INVALID_SUB, CoinDesk 4004/4006...)."""
    UNKNOWN_COIN = "unknown_coin"
    UNKNOWN_EXCHANGE = "unknown_exchange"
    NOT_LISTED = "not_listed"
    """The coins exist, but this venue does not trade the pair."""
    SILENT = "silent"
    """The server accepted the pair but sent no price for it in time (Binance's answer to a symbol
    it does not list); a price arriving later clears it."""


@dataclass(frozen=True, slots=True)
class InvalidSub:
    """The server refused one pair; the others keep streaming. ``sub`` is its wire key.

    Attributes:
        sub: The pair's wire key, as the server wrote it (or as the dialect recovered it).
        info: The server's own words, shortened.
        refusal: Why, as far as the dialect can tell.
    """

    sub: str
    info: str | None
    refusal: Refusal = Refusal.INVALID


@dataclass(frozen=True, slots=True)
class ForceDisconnect:
    """Reconnect: the server is about to drop us (CryptoCompare's TYPE 500 FORCE_DISCONNECT), or
    a new socket is needed (``planned``: OKX's service-upgrade notice, Coinbase ignoring the rest of
    a request with a refused product), which happens at once and keeps the prices live."""

    planned: bool = False


@dataclass(frozen=True, slots=True)
class ServerError:
    """Any other TYPE 500 (INVALID_JSON, SUBSCRIPTION_ALREADY_ACTIVE, ...): a client bug or race."""

    message: str
    parameter: str | None
    info: str | None


@dataclass(frozen=True, slots=True, init=False)
class QuoteUpdate:
    """TYPE 5 or 2: a (possibly partial) ticker update.

    Attributes:
        sub: The pair.
        fields: Only the validated, known fields this frame carried: prices and volumes as finite
            float/int, ``FLAGS`` as an int >= 0 (whether it came as a number or as digits),
            ``LASTMARKET`` as str.
        dropped: Why each bad field of this frame was left out (``"OPEN24HOUR is not positive"``;
            never the value itself), for a rate-limited log. Empty for a clean frame. A bad field
            costs only itself: the frame's other fields, a valid PRICE included, are in ``fields``.
    """

    sub: Pair
    fields: Mapping[str, Any]
    dropped: tuple[str, ...] = ()

    def __init__(self, sub: Pair, fields: Mapping[str, Any], dropped: tuple[str, ...] = ()) -> None:
        # One per frame, so written out (speed), as PriceArrived's is (ccdesk.core.events says why).
        _set_sub(self, sub)
        _set_fields(self, fields)
        _set_dropped(self, dropped)


_set_sub, _set_fields, _set_dropped = (QuoteUpdate.__dict__[f].__set__ for f in ("sub", "fields", "dropped"))


class TradeSide(enum.Enum):
    """Taker side of a trade (F bitmask of a TYPE 0 frame)."""

    BUY = "buy"
    SELL = "sell"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Trade:
    """TYPE 0: one trade on one exchange."""

    sub: Pair
    price: float
    quantity: float | None
    side: TradeSide
    ts: float | None
    trade_id: str | None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed frame of a channel ccdesk does not use (order books, OHLC, volume...)."""

    type: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """A frame that was skipped; ``reason`` says why (for logs; never contains the raw frame)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Batch:
    """Several events from one frame (a venue that puts several tickers in one message)."""

    events: tuple[Event, ...]


Event = (
    Batch
    | Welcome
    | KeyWarning
    | SubscribeComplete
    | LoadComplete
    | UnsubscribeComplete
    | UnsubscribeAllComplete
    | Heartbeat
    | Unauthorized
    | LimitExceeded
    | InvalidSub
    | ForceDisconnect
    | ServerError
    | QuoteUpdate
    | Trade
    | Ignored
    | Malformed
)
