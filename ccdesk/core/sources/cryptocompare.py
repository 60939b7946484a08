"""CryptoCompare streamer v2: its frames -> ccdesk's wire events, and its subscribe messages.

The dialect ccdesk was born on (``../shared/PROTOCOL.md``): a paid key in the ``authorization:
Apikey`` header, a welcome (TYPE 20) to wait for, ``SubAdd``/``SubRemove`` of
``TYPE~MARKET~BASE~QUOTE`` strings, partial ticker frames (TYPE 5 aggregate, TYPE 2 one exchange),
trades (TYPE 0), heartbeats (999), and control frames (401, 429, 500). Pure: no I/O, no clock,
no state beyond a pair cache. Nothing here raises on hostile input: a frame that cannot be used
becomes ``Malformed``; a ticker frame with some bad fields keeps its good ones and lists the
dropped ones in ``QuoteUpdate.dropped``. Digits are read as ASCII only (``ccdesk.core.numbers``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.identity import DEFAULT_STREAM_URL
from ccdesk.core.numbers import read_decimal, read_price, read_unsigned
from ccdesk.core.pairs import AGGREGATE_MARKET, Pair, PairError, Source, parse_pair
from ccdesk.core.sources.base import Dialect, SourceInfo, batched
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Event,
    ForceDisconnect,
    Heartbeat,
    Ignored,
    InvalidSub,
    LimitExceeded,
    LimitKind,
    LoadComplete,
    Malformed,
    QuoteUpdate,
    ServerError,
    SubscribeComplete,
    Trade,
    TradeSide,
    Unauthorized,
    UnsubscribeAllComplete,
    UnsubscribeComplete,
    Welcome,
)

# --- fields -------------------------------------------------------------------------------------

# The TYPE 5/2 fields ccdesk keeps, by kind. Other fields (supply, market caps, hour/day
# volumes...) are dropped: unused, and keeping unknown names would let a hostile server grow
# the merged state without bound.
_POS, _NONNEG, _INT, _STR = 0, 1, 2, 3  # > 0 finite; >= 0 finite; int >= 0 (or ASCII digits); short str
_FIELD_KINDS: Final[dict[str, int]] = {
    "PRICE": _POS,
    "BID": _POS,
    "ASK": _POS,
    "MEDIAN": _POS,
    "OPENDAY": _POS,
    "HIGHDAY": _POS,
    "LOWDAY": _POS,
    "OPEN24HOUR": _POS,
    "HIGH24HOUR": _POS,
    "LOW24HOUR": _POS,
    "OPENHOUR": _POS,
    "HIGHHOUR": _POS,
    "LOWHOUR": _POS,
    "LASTUPDATE": _NONNEG,
    "LASTVOLUME": _NONNEG,
    "LASTVOLUMETO": _NONNEG,
    "VOLUME24HOUR": _NONNEG,
    "VOLUME24HOURTO": _NONNEG,
    "LASTMARKET": _STR,
    "FLAGS": _INT,
}
# The largest finite double. `0 < v <= _MAX_FLOAT` rejects NaN and infinities like `< inf` did,
# and also ints too big for a float (only parse_object can meet those: orjson turns them into
# floats), whose float() would raise downstream.
_MAX_FLOAT: Final = sys.float_info.max
_FLAGS_DIGITS: Final = 12
_FLAGS_LIMIT: Final = 10**_FLAGS_DIGITS
_LIMIT_DIGITS: Final = 9  # the N of ..._MAX_{N}_...
_ID_LIMIT: Final = 1 << 64  # str() of a longer int raises past 4300 digits; no trade id is that long
_TYPE_LIMIT: Final = 1_000_000
_ENVELOPE: Final = frozenset({"TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL"})
_ISFINITE = math.isfinite
_SUB_CACHE_MAX: Final = 4096
_IGNORED_TYPES: Final = frozenset({"8", "9", "11", "21", "24", "30"})


def _field_problem(name: str, value: Any) -> str:
    """Why ``value`` is not acceptable for field ``name`` (slow path, for the log)."""
    kind = _FIELD_KINDS[name]
    if kind == _STR:
        return f"{name} is not a short string"
    if kind == _INT:
        return f"{name} is not a non-negative integer"
    if type(value) is not float and type(value) is not int:
        return f"{name} is not a number"
    if type(value) is float and not _ISFINITE(value):
        return f"{name} is not finite"
    if value > _MAX_FLOAT:  # an int too big for a float (math.isfinite() of it would raise)
        return f"{name} is out of range"
    return f"{name} is not positive" if kind == _POS else f"{name} is negative"


def _opt_int(d: Mapping[str, Any], key: str) -> int | None:
    v = d.get(key)
    return v if type(v) is int else None


def _opt_str(d: Mapping[str, Any], key: str, limit: int = 500) -> str | None:
    v = d.get(key)
    return v[:limit] if type(v) is str else None


def _limit_from_message(message: str) -> int | None:
    # TOO_MANY_SOCKETS_MAX_1_PER_CLIENT -> 1
    _, sep, rest = message.partition("_MAX_")
    if not sep:
        return None
    # ASCII digits only: "²".isdigit() is True yet int("²") raises, and int("٣") is 3.
    return read_unsigned(rest.split("_", 1)[0], _LIMIT_DIGITS)


class CryptoCompareParser:
    """Turns raw frames into events. One per connection or client; not thread-safe.

    It caches the ``Pair`` of each (TYPE, MARKET, FROM, TO) seen (bounded), which keeps the
    hot path free of re-validating subscription strings. With ``watched`` (wire key -> watched
    pair, as the engine keeps it), a frame names the watched ``Pair`` object itself rather than an
    equal copy, so the per-frame lookups downstream match by identity, without a dataclass
    ``__eq__`` each (speed); an equal copy (a pair first seen unwatched) still works, only slower.
    """

    def __init__(
        self, max_frame_bytes: int = MAX_FRAME_BYTES, watched: Mapping[str, Pair] | None = None
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._watched: Mapping[str, Pair] = {} if watched is None else watched
        self._subs: dict[tuple[str, str, str, str], Pair] = {}

    def parse(self, data: str | bytes | bytearray | memoryview) -> Event:
        """Parse one text frame's payload (str, or UTF-8 bytes) into an event."""
        if len(data) > self.max_frame_bytes:
            return Malformed(f"frame of {len(data)} bytes exceeds {self.max_frame_bytes}")
        try:
            # orjson rejects NaN/Infinity literals and invalid UTF-8, as wanted.
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return Malformed("not JSON")
        if type(obj) is not dict:
            return Malformed(f"JSON {type(obj).__name__}, not an object")
        return self.parse_object(obj)

    def parse_object(self, d: dict[str, Any]) -> Event:
        """Classify an already-decoded JSON object."""
        t = d.get("TYPE")
        if type(t) is not str:
            # One third-party source shows TYPE as a number. Bounded: str() of an int of more than
            # 4300 digits raises, and no TYPE is that long.
            if type(t) is int and 0 <= t < _TYPE_LIMIT:
                t = str(t)
            else:
                return Malformed("TYPE missing or not a string")
        if t == "5" or t == "2":
            return self._quote(t, d)
        if t == "0":
            return self._trade(d)
        if t == "999":
            return Heartbeat(_opt_int(d, "TIMEMS"))
        return self._control(t, d)

    # -- tickers -----------------------------------------------------------------------------

    def _sub_for(self, t: str, market: Any, base: Any, quote: Any) -> Pair | Malformed:
        if type(market) is not str or type(base) is not str or type(quote) is not str:
            return Malformed(f"TYPE {t} frame without MARKET/FROMSYMBOL/TOSYMBOL strings")
        key = (t, market, base, quote)
        sub = self._subs.get(key)
        if sub is not None:
            return sub
        text = f"{t}~{market}~{base}~{quote}"
        try:
            sub = parse_pair(text)
        except PairError:
            return Malformed(f"TYPE {t} frame names an invalid pair")
        if sub.market != market or sub.base != base or sub.quote != quote:
            return Malformed(f"TYPE {t} frame names a non-canonical pair")
        sub = self._watched.get(text, sub)  # canonical, so ``text`` is its wire key (str(sub))
        if len(self._subs) < _SUB_CACHE_MAX:
            self._subs[key] = sub
        return sub

    def _quote(self, t: str, d: dict[str, Any]) -> Event:
        sub = self._sub_for(t, d.get("MARKET"), d.get("FROMSYMBOL"), d.get("TOSYMBOL"))
        if type(sub) is Malformed:
            return sub
        assert isinstance(sub, Pair)
        if t == "5" and sub.market != AGGREGATE_MARKET:
            return Malformed("TYPE 5 frame for a market other than CCCAGG")
        kinds = _FIELD_KINDS
        fields: dict[str, Any] = {}
        dropped: list[str] | None = None
        for name, value in d.items():
            kind = kinds.get(name)
            if kind is None:
                continue  # envelope, or a field ccdesk does not use
            tv = type(value)
            # Inline checks: this loop runs for every field of every frame. Chained comparisons
            # reject NaN and infinities too. bool is excluded because type(True) is bool.
            if tv is float or tv is int:
                if kind == _POS:
                    ok = 0 < value <= _MAX_FLOAT
                elif kind == _NONNEG:
                    ok = 0 <= value <= _MAX_FLOAT
                else:
                    ok = kind == _INT and tv is int and 0 <= value < _FLAGS_LIMIT
            elif tv is str:
                if kind == _STR:
                    ok = len(value) <= 100
                elif kind == _INT:
                    # FLAGS is a number on the stream and digits in REST: stored as an int either
                    # way, so the quote book never converts wire text. ASCII digits only.
                    value = read_unsigned(value, _FLAGS_DIGITS)
                    ok = value is not None
                else:
                    ok = False
            else:
                ok = False
            if ok:
                fields[name] = value
            else:
                # Drop this field only: the frame's other fields are still good. A price is never
                # taken from a bad field (a bad PRICE is left out, not repaired).
                if dropped is None:
                    dropped = []
                dropped.append(_field_problem(name, d[name]))
        if dropped is None:
            return QuoteUpdate(sub, fields)
        return QuoteUpdate(sub, fields, tuple(dropped))

    def _trade(self, d: dict[str, Any]) -> Event:
        sub = self._sub_for("0", d.get("M"), d.get("FSYM"), d.get("TSYM"))
        if type(sub) is Malformed:
            return sub
        assert isinstance(sub, Pair)
        # A trade is its price: with a bad P (or a bad Q or TS) the whole trade is dropped.
        # The strict readers take JSON numbers or ASCII decimal text, finite, never bool.
        p = read_price(d.get("P"))
        if p is None:
            return Malformed(f"{sub}: trade P is not a positive number")
        q = d.get("Q")
        if q is not None:
            q = read_decimal(q)
            if q is None or q < 0:
                return Malformed(f"{sub}: trade Q is not a non-negative number")
        ts = d.get("TS")
        if ts is not None:
            ts = read_decimal(ts)
            if ts is None:
                return Malformed(f"{sub}: trade TS is not a number")
        # F is often digits in a string ("F":"2"); a missing or unreadable F means "side unknown".
        flags = read_unsigned(d.get("F"), _FLAGS_DIGITS) or 0
        side = TradeSide.SELL if flags & 1 else TradeSide.BUY if flags & 2 else TradeSide.UNKNOWN
        tid = d.get("ID")
        trade_id = (
            tid[:100]
            if type(tid) is str
            else str(tid)
            if type(tid) is int and -_ID_LIMIT < tid < _ID_LIMIT
            else None
        )
        return Trade(sub, p, q, side, ts, trade_id)

    # -- control -----------------------------------------------------------------------------

    def _control(self, t: str, d: dict[str, Any]) -> Event:
        message = d.get("MESSAGE")
        msg = message if type(message) is str else ""
        info = _opt_str(d, "INFO")
        if t == "20":
            return Welcome(
                _opt_str(d, "SERVER_NAME", 100),
                _opt_int(d, "SOCKETS_ACTIVE"),
                _opt_int(d, "SOCKETS_REMAINING"),
                _opt_int(d, "RATELIMIT_REMAINING_MINUTE"),
            )
        if t == "16" or t == "17":
            sub = _opt_str(d, "SUB", 200)
            if sub is None:
                return Malformed(f"TYPE {t} without SUB")
            return SubscribeComplete(sub) if t == "16" else UnsubscribeComplete(sub)
        if t == "3":
            return LoadComplete()
        if t == "18":
            obj = d.get("INFO_OBJ")
            valid = _opt_int(obj, "valid") if type(obj) is dict else None
            invalid = _opt_int(obj, "invalid") if type(obj) is dict else None
            return UnsubscribeAllComplete(valid, invalid)
        if t == "401":
            return Unauthorized(info)
        if t == "429":
            if msg.startswith("TOO_MANY_SOCKETS"):
                kind = LimitKind.TOO_MANY_SOCKETS
            elif msg.startswith("TOO_MANY_SUBSCRIPTIONS"):
                kind = LimitKind.TOO_MANY_SUBSCRIPTIONS
            elif msg.startswith("RATE_LIMIT"):
                kind = LimitKind.OPENING_SOCKETS_TOO_FAST
            else:
                kind = LimitKind.OTHER
            return LimitExceeded(kind, msg[:200], _limit_from_message(msg), info)
        if t == "500":
            parameter = _opt_str(d, "PARAMETER", 200)
            if msg == "INVALID_SUB":
                if parameter is None:
                    return Malformed("INVALID_SUB without PARAMETER")
                return InvalidSub(parameter, info)
            if msg == "FORCE_DISCONNECT":
                return ForceDisconnect()
            return ServerError(msg[:200], parameter, info)
        if t in _IGNORED_TYPES:
            return Ignored(t)
        return Malformed(f"unknown TYPE {t[:20]!r}")


# --- the dialect ----------------------------------------------------------------------------------

INFO: Final = SourceInfo(
    source=Source.CRYPTOCOMPARE,
    title="CryptoCompare",
    key=KeyProvider.CRYPTOCOMPARE,
    default_url=DEFAULT_STREAM_URL,
    spelling="5~CCCAGG~BTC~USD (aggregate), 2~Coinbase~ETH~USD (one exchange), 0~Binance~BTC~USDT (trades)",
    change_24h="rolling 24 h, computed from OPEN24HOUR (the stream sends no change)",
    limits="one socket per key; >= 5 s between reconnects; a 429 waits >= 60 s, doubling to 10 min",
)


class CryptoCompare(Dialect):
    """Streamer v2: wait for the welcome, then one ``SubAdd`` with the whole watchlist."""

    info = INFO
    welcome_gate = True
    batch = 600  # the free tier's subscriptions per socket; more go in further messages

    def headers(self, key: ApiKey | None) -> list[str]:
        # The header, never ?api_key=: it keeps the key out of URLs, logs and proxies.
        return [] if key is None else [f"authorization: Apikey {key.reveal()}"]

    def wire_key(self, pair: Pair) -> str:
        return str(pair)

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> CryptoCompareParser:
        # Its frames name their pair in full (TYPE, MARKET, FROMSYMBOL, TOSYMBOL); the map only
        # lets it hand out the watched Pair objects themselves.
        return CryptoCompareParser(max_frame_bytes, watched)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [_sub_message("SubAdd", run) for run in batched(pairs, self.batch)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [_sub_message("SubRemove", run) for run in batched(pairs, self.batch)]


def _sub_message(action: str, pairs: Sequence[Pair]) -> str:
    return orjson.dumps({"action": action, "subs": [str(p) for p in pairs]}).decode()
