"""The CoinDesk Data Streamer (the successor to CryptoCompare's streamer v2): its index ticks ->
ccdesk's wire events, and its subscribe messages.

Needs a paid key (``KeyProvider.COINDESK``), sent in the ``Authorization: Apikey`` header, never as
``?api_key=``. The server greets each socket (TYPE ``4000``, SESSIONWELCOME); subscriptions are per
socket, so the watchlist goes out after every welcome, one ``SUBSCRIBE`` per index market (``cadli``,
the default, ``ccix``, ``ccixbe``). Ticks carry numbers as JSON numbers and may be partial (the quote
book merges them). Several TYPEs carry index ticks (1101, 985, 987, 266), so a tick is routed by its
(MARKET, INSTRUMENT), never by its TYPE. Control frames are 4000-4013 (see ``_control``). The field
and control-frame tables come from two independent clients, not from official text
(``../shared/SOURCES.md``). Pure; never raises.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.pairs import COINDESK_MARKETS, Pair, Source
from ccdesk.core.sources.base import Dialect, SourceInfo
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    Heartbeat,
    Ignored,
    InvalidSub,
    KeyWarning,
    LimitExceeded,
    LimitKind,
    LoadComplete,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeAllComplete,
    UnsubscribeComplete,
    Welcome,
)

INFO: Final = SourceInfo(
    source=Source.COINDESK,
    title="CoinDesk",
    key=KeyProvider.COINDESK,
    default_url="wss://data-streamer.coindesk.com/",
    spelling="BTC-USD on an index market: cadli (the default), ccix or ccixbe (coindesk:ccix:BTC-USD)",
    change_24h="rolling 24 h, CoinDesk's own MOVING_24_HOUR open and change; CURRENT_DAY is the UTC day",
    limits=(
        "not published per key: ccdesk keeps one socket, reconnects >= 5 s apart and waits minutes "
        "after a 4002 (rate limit)"
    ),
)

TICK_TYPE: Final = "index_cc_v1_latest_tick"
GROUPS: Final = ("VALUE", "CURRENT_DAY", "MOVING_24_HOUR")
DEFAULT_MARKET: Final = COINDESK_MARKETS[0]

# The tick fields ccdesk keeps, as the quote book's (see ccdesk.core.wire), by kind. Others
# (CURRENT_DAY_HIGH, CCSEQ, the TOP_TIER volumes...) are not used. CURRENT_HOUR_OPEN comes only with
# the CURRENT_HOUR group, which ccdesk does not ask for; it is kept when a server sends it anyway.
_POS, _NONNEG, _PCT, _FLAG = 0, 1, 2, 3  # > 0; >= 0; a percentage > -100; UP/DOWN/UNCHANGED
_FIELDS: Final[dict[str, tuple[str, int]]] = {
    "VALUE": ("PRICE", _POS),
    "VALUE_FLAG": ("FLAGS", _FLAG),
    "VALUE_LAST_UPDATE_TS": ("LASTUPDATE", _NONNEG),
    "MOVING_24_HOUR_OPEN": ("OPEN24HOUR", _POS),
    "MOVING_24_HOUR_HIGH": ("HIGH24HOUR", _POS),
    "MOVING_24_HOUR_LOW": ("LOW24HOUR", _POS),
    "MOVING_24_HOUR_VOLUME": ("VOLUME24HOUR", _NONNEG),
    "MOVING_24_HOUR_QUOTE_VOLUME": ("VOLUME24HOURTO", _NONNEG),
    "MOVING_24_HOUR_CHANGE_PERCENTAGE": ("CHANGEPCT24HOUR", _PCT),
    "CURRENT_DAY_OPEN": ("OPENDAY", _POS),
    "CURRENT_HOUR_OPEN": ("OPENHOUR", _POS),
}
# VALUE_FLAG is a word; the quote book reads streamer v2's FLAGS bits (1 up, 2 down, 4 unchanged).
_FLAG_BITS: Final = {"UP": 1, "DOWN": 2, "UNCHANGED": 4}
_PROBLEM: Final = {
    _POS: "is not a positive number",
    _NONNEG: "is not a non-negative number",
    _PCT: "is not a percentage",
    _FLAG: "is not UP, DOWN or UNCHANGED",
}
# The largest finite double: `0 < v <= _MAX_FLOAT` also refuses NaN and the infinities.
_MAX_FLOAT: Final = sys.float_info.max
_TYPE_LIMIT: Final = 1_000_000
_MAX_TEXT: Final = 300
_MAX_LISTED: Final = 1000  # entries read from a 4007's lists
_MAX_KEY_PART: Final = 60
_CONTROL: Final = frozenset(str(t) for t in range(4000, 4014))
# "1101~{cadli~ETH-BTC}" (a 4005's SUBSCRIPTION_ID): the market and instrument inside the braces.
_SUB_ID: Final = re.compile(r"\{([A-Za-z0-9._-]{1,60})~([A-Za-z0-9._-]{1,60})\}")


def wire_key_of(market: str, instrument: str) -> str:
    """The wire key of an index tick: ``cadli:BTC-USD``. The market is in it because one instrument
    can be watched on two index markets at once."""
    return f"{market}:{instrument}"


def _opt_str(d: Mapping[str, Any], key: str, limit: int = _MAX_TEXT) -> str | None:
    v = d.get(key)
    return v[:limit] if type(v) is str else None


def _normal_key(market: Any, instrument: Any) -> str | None:
    """The wire key as ccdesk spells it (market lower case, instrument upper case), from what a server
    wrote, or None if either part is not a plain ASCII name."""
    if type(market) is not str or type(instrument) is not str:
        return None
    if not (0 < len(market) <= _MAX_KEY_PART and 0 < len(instrument) <= _MAX_KEY_PART):
        return None
    if not (market.isascii() and instrument.isascii()):
        return None  # str.lower()/upper() turn some non-ASCII letters into ASCII ones
    return wire_key_of(market.lower(), instrument.upper())


def _sub_key(d: Mapping[str, Any]) -> str | None:
    """The pair a control frame (or a 4007 list entry) is about: its SUBSCRIPTION_ID
    (``1101~{cadli~BTC-USD}``), else its MARKET and INSTRUMENT (in either case)."""
    sub_id = d.get("SUBSCRIPTION_ID")
    if type(sub_id) is str:
        return _key_from_sub_id(sub_id)
    return _normal_key(d.get("MARKET", d.get("market")), d.get("INSTRUMENT", d.get("instrument")))


def _key_from_sub_id(sub_id: str) -> str | None:
    found = _SUB_ID.search(sub_id[:_MAX_TEXT])
    return None if found is None else _normal_key(found.group(1), found.group(2))


def _listed_keys(value: Any) -> list[str]:
    """The pairs a 4007 list names (entries as SUBSCRIPTION_ID strings or as objects); none for a count."""
    if type(value) is not list:
        return []
    keys = []
    for entry in value[:_MAX_LISTED]:
        if type(entry) is str:
            key = _key_from_sub_id(entry)
        else:
            key = _sub_key(entry) if type(entry) is dict else None
        if key is not None:
            keys.append(key)
    return keys


class CoinDeskParser:
    """One connection's parser. ``watched`` maps ``cadli:BTC-USD`` to the watched pair (kept current
    by the stream engine); ticks of other pairs are ignored.

    Its one piece of state: whether this socket has been welcomed. A production client treats a
    4011 (invalid key) that comes before the 4000 as the session's start, as the server serves on at
    a per-IP tier; so the first of 4000 and 4011 is the welcome, and a later 4000 is not a second one.
    """

    def __init__(self, watched: Mapping[str, Pair], max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._watched = watched
        self._max = max_frame_bytes
        self._welcomed = False

    def parse(self, data: bytes) -> Event:
        if len(data) > self._max:
            return Malformed(f"frame of {len(data)} bytes exceeds {self._max}")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return Malformed("not JSON")
        if type(obj) is not dict:
            return Malformed(f"JSON {type(obj).__name__}, not an object")
        t = obj.get("TYPE")
        if type(t) is not str:
            # A TYPE as a number is tolerated (bounded: str() of a huge int raises).
            t = str(t) if type(t) is int and 0 <= t < _TYPE_LIMIT else None
        if t in _CONTROL:
            assert t is not None
            return self._control(t, obj)
        market, instrument = obj.get("MARKET"), obj.get("INSTRUMENT")
        if type(market) is str and type(instrument) is str:
            return self._tick(market, instrument, obj)
        if t is not None:
            return Ignored(f"TYPE {t[:20]}")
        return Malformed("neither a TYPE nor a MARKET and INSTRUMENT")

    # -- ticks ------------------------------------------------------------------------------------

    def _tick(self, market: str, instrument: str, d: dict[str, Any]) -> Event:
        watched = self._watched
        pair = watched.get(f"{market}:{instrument}")
        if pair is None:
            key = _normal_key(market, instrument)
            pair = None if key is None else watched.get(key)
            if pair is None:
                return Ignored("tick of a pair not watched")
        kinds = _FIELDS
        fields: dict[str, Any] = {}
        dropped: list[str] | None = None
        for name, value in d.items():
            spec = kinds.get(name)
            if spec is None:
                continue  # envelope, or a field ccdesk does not use
            key, kind = spec
            tv = type(value)
            # JSON numbers only: the streamer writes them as numbers, and text here would be a changed
            # protocol, not a price to guess at. Chained comparisons refuse NaN and the infinities;
            # bool is refused because type(True) is bool.
            if tv is float or tv is int:
                if kind == _POS:
                    ok = 0 < value <= _MAX_FLOAT
                elif kind == _NONNEG:
                    ok = 0 <= value <= _MAX_FLOAT
                else:
                    ok = kind == _PCT and -100 < value <= _MAX_FLOAT
            elif kind == _FLAG and tv is str:
                value = _FLAG_BITS.get(value)
                ok = value is not None
            else:
                ok = False
            if ok:
                fields[key] = value
            else:
                # This field only: the frame's others still count. A bad VALUE is left out, not repaired.
                if dropped is None:
                    dropped = []
                dropped.append(f"{name} {_PROBLEM[kind]}")
        if dropped is None:
            return QuoteUpdate(pair, fields)
        return QuoteUpdate(pair, fields, tuple(dropped))

    # -- control frames -------------------------------------------------------------------------

    def _control(self, t: str, d: dict[str, Any]) -> Event:
        message = _opt_str(d, "MESSAGE", 100)
        info = _opt_str(d, "INFO")
        if t == "4013":
            return Heartbeat()
        if t == "4000":
            if self._welcomed:
                return Ignored("welcome after the session began")
            self._welcomed = True
            return Welcome(server_name="coindesk")
        if t == "4011":
            # The key was refused, yet the server serves on at its per-IP limits: say so, and stream.
            warning = KeyWarning(info or message)
            if self._welcomed:
                return warning
            self._welcomed = True
            return Batch((warning, Welcome(server_name="coindesk")))
        if t == "4002":
            # Opened too fast, or over a limit: stop and come back in minutes, never in a loop.
            return LimitExceeded(LimitKind.BACK_OFF, message or "RATE_LIMIT", None, info)
        key = _sub_key(d)
        if t == "4004" or t == "4006":
            # 4004: the subscription is invalid (an unknown instrument, a market it is not on);
            # 4006: the server would not add it. Either way that pair is refused: never re-sent.
            if key is None:
                return ServerError(message or f"TYPE {t}", None, info)  # it names no pair: a bad request
            return InvalidSub(key, info or message, Refusal.INVALID)
        if t == "4005":
            return Ignored("4005 without a pair") if key is None else SubscribeComplete(key)
        if t == "4007":
            return self._add_complete(d, info)
        if t == "4008":
            return Ignored("4008 without a pair") if key is None else UnsubscribeComplete(key)
        if t == "4009":
            return UnsubscribeAllComplete(None, None)
        # 4001 (streamer error: a malformed message), 4003 (subscription error), 4010 (a warning, e.g.
        # not trading yet), 4012 (invalid message): a complaint for the log and the status line, not a
        # verdict on a pair (a 4003 may come for an unexpected server error).
        return ServerError(message or f"TYPE {t}", key, info)

    def _add_complete(self, d: dict[str, Any], info: str | None) -> Event:
        """4007: a subscribe is done. The recorded frames carry counts; a list of rejected
        subscriptions names pairs, each refused like a 4006 (several events from one frame)."""
        events: list[Event] = [
            InvalidSub(key, info, Refusal.INVALID) for key in _listed_keys(d.get("REJECTED_SUBSCRIPTIONS"))
        ]
        events += [SubscribeComplete(key) for key in _listed_keys(d.get("ACCEPTED_SUBSCRIPTIONS"))]
        events.append(LoadComplete())
        return events[0] if len(events) == 1 else Batch(tuple(events))


class CoinDesk(Dialect):
    """CoinDesk Data Streamer: wait for the welcome, then one ``SUBSCRIBE`` per index market."""

    info = INFO
    welcome_gate = True
    # No per-message limit is published; 100 instruments keep a message small.
    batch = 100

    def headers(self, key: ApiKey | None) -> list[str]:
        # The header, never ?api_key=: it keeps the key out of URLs, logs and proxies.
        return [] if key is None else [f"Authorization: Apikey {key.reveal()}"]

    def wire_key(self, pair: Pair) -> str:
        return wire_key_of(pair.market or DEFAULT_MARKET, f"{pair.base}-{pair.quote}")

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> CoinDeskParser:
        return CoinDeskParser(watched, max_frame_bytes)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return self._messages("SUBSCRIBE", pairs)

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return self._messages("UNSUBSCRIBE", pairs)

    def _messages(self, action: str, pairs: Sequence[Pair]) -> list[str]:
        # A message names one market: group the pairs by index market, keeping their order.
        by_market: dict[str, list[str]] = {}
        for p in pairs:
            by_market.setdefault(p.market or DEFAULT_MARKET, []).append(f"{p.base}-{p.quote}")
        out = []
        for market, instruments in by_market.items():
            for i in range(0, len(instruments), self.batch):
                body = {
                    "action": action,
                    "type": TICK_TYPE,
                    "market": market,
                    "instruments": instruments[i : i + self.batch],
                    "groups": list(GROUPS),
                }
                out.append(orjson.dumps(body).decode())
        return out
