"""OKX's v5 public WebSocket ``tickers`` channel: its frames -> ccdesk's wire events, and its
subscribe messages.

Keyless. Pairs are instIds, ``BTC-USDT`` (spot pairs quote in USDT, not USD). OKX sends nothing on
connect; a subscribe is acked per instId (``{"event":"subscribe","arg":{...}}``), refused with an
``{"event":"error","code":...,"msg":...}``, and then pushes ``{"arg":{...},"data":[{...}]}`` with
every number as a **string**: ``last``, ``open24h`` (the rolling 24 h open: the 24 h change is
computed from it), ``sodUtc0`` (the open of the UTC day), ``high24h``, ``low24h``, ``vol24h``,
``volCcy24h``, ``bidPx``, ``askPx`` and ``ts`` (ms). OKX closes a socket that has been idle for
30 s, so the client sends the text ``ping`` when it has sent nothing for 25 s, and OKX answers
``pong``. Pure; never raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.numbers import MAX_DECIMAL_CHARS, UNSIGNED_DECIMAL_TEXT, read_unsigned
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.sources.base import Dialect, SourceInfo, batched
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    ForceDisconnect,
    Heartbeat,
    Ignored,
    InvalidSub,
    LimitExceeded,
    LimitKind,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeComplete,
)

INFO: Final = SourceInfo(
    source=Source.OKX,
    title="OKX",
    key=None,
    # Port 443, not the 8443 of OKX's older docs: a public report (siebly.hashnode.dev, 2026-11)
    # says OKX stopped accepting WebSocket connections on 8443 on 2026-10-31; 443 is what it
    # points to. Not checked against OKX from here (no network): CCDESK_OKX_URL overrides it.
    default_url="wss://ws.okx.com/ws/v5/public",
    spelling="BTC-USDT (OKX's instId; its spot pairs quote in USDT or USDC, rarely in USD)",
    change_24h="rolling 24 h, computed from open24h (sodUtc0, the UTC day's open, is the day's open)",
    limits=(
        "3 connection attempts per second per IP and 480 subscribe requests per connection per hour: "
        "ccdesk keeps one socket, puts up to 100 pairs in a message and sends `ping` after 25 s "
        "without sending (OKX closes a socket idle for 30 s)"
    ),
)

CHANNEL: Final = "tickers"
_POS, _NONNEG = True, False
# OKX's ticker fields, as the quote book's (see ccdesk.core.wire): (OKX name, book name, must be > 0).
# open24h is the rolling 24 h open, so OPEN24HOUR; sodUtc0 opens the UTC day, so OPENDAY.
# sodUtc8 (the day in UTC+8), lastSz, bidSz, askSz and instType are not used.
_TICKER: Final = (
    ("last", "PRICE", _POS),
    ("bidPx", "BID", _POS),
    ("askPx", "ASK", _POS),
    ("open24h", "OPEN24HOUR", _POS),
    ("high24h", "HIGH24HOUR", _POS),
    ("low24h", "LOW24HOUR", _POS),
    ("sodUtc0", "OPENDAY", _POS),
    ("vol24h", "VOLUME24HOUR", _NONNEG),
    ("volCcy24h", "VOLUME24HOURTO", _NONNEG),
)
_DECIMAL_TEXT: Final = UNSIGNED_DECIMAL_TEXT.fullmatch
_INF: Final = math.inf
_TS_DIGITS: Final = 16  # ms since 1970 have 13 digits until the year 2286
_MAX_TEXT: Final = 300
_MAX_TICKERS: Final = 50  # one push carries one ticker; more would be a hostile frame
_PONG: Final = b"pong"
# "channel:tickers,instId:NMR-USDT doesn't exist": the pair an error names. ASCII classes, never
# \w (which matches letters and digits of every script).
_NAMED: Final = re.compile(r"channel:([A-Za-z0-9_-]{1,40}), ?instId:([A-Za-z0-9_-]{1,60})")
_DOES_NOT_EXIST: Final = "60018"
_TOO_FREQUENT: Final = "60014"
_SERVICE_UPGRADE: Final = "64008"


def _code(value: Any) -> str | None:
    """OKX writes codes as digit strings ("60018"); an int is tolerated, anything else is not a code."""
    if type(value) is str:
        return value[:20]
    if type(value) is int and 0 <= value < 10**9:
        return str(value)
    return None


class OkxParser:
    """One connection's parser. ``watched`` maps ``BTC-USDT`` to the watched pair (kept current by the
    stream engine); tickers of other instIds are ignored."""

    def __init__(self, watched: Mapping[str, Pair], max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._watched = watched
        self._max = max_frame_bytes

    def parse(self, data: bytes) -> Event:
        if len(data) > self._max:
            return Malformed(f"frame of {len(data)} bytes exceeds {self._max}")
        if data == _PONG:
            # OKX's service answering our text `ping`. A WebSocket pong is a control frame that the
            # server's WebSocket layer (or a proxy in front of it) sends without the feed taking
            # part; the transport counts those apart. This one comes from the application that
            # pushes the tickers, so it proves the feed alive: a heartbeat, which keeps the silence
            # watchdog fed while a quiet pair pushes nothing, as other venues' heartbeats do.
            return Heartbeat()
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return Malformed("not JSON")
        if type(obj) is not dict:
            return Malformed(f"JSON {type(obj).__name__}, not an object")
        arg = obj.get("arg")
        if "data" in obj:
            if type(arg) is not dict:
                return Malformed("data without arg")
            channel = arg.get("channel")
            if channel == CHANNEL:
                return self._tickers(obj["data"], arg)
            if type(channel) is str:
                return Ignored(f"channel {channel[:40]}")
            return Malformed("data without arg.channel")
        event = obj.get("event")
        if event == "subscribe" or event == "unsubscribe":
            return self._ack(event, arg)
        if event == "error":
            return self._error(obj)
        if event == "notice":
            return self._notice(obj)
        if type(event) is str:
            return Ignored(f"event {event[:40]}")  # channel-conn-count, login...
        return Malformed("neither data nor an event")

    def _tickers(self, data: Any, arg: dict[str, Any]) -> Event:
        if type(data) is not list or not data:
            return Malformed("tickers push without data")
        events = [self._ticker(item, arg) for item in data[:_MAX_TICKERS]]
        return events[0] if len(events) == 1 else Batch(tuple(events))

    def _ticker(self, item: Any, arg: dict[str, Any]) -> Event:
        if type(item) is not dict:
            return Malformed("tickers data entry is not an object")
        inst = item.get("instId", arg.get("instId"))
        if type(inst) is not str:
            return Malformed("ticker without an instId")
        pair = self._watched.get(inst)
        if pair is None:
            return Ignored("ticker of an instId not watched")  # BTC-USDT-SWAP for BTC-USDT, say
        fields: dict[str, Any] = {}
        dropped: list[str] | None = None
        decimal_text = _DECIMAL_TEXT
        for name, key, positive in _TICKER:
            value = item.get(name)
            # "" is OKX's "no value" (no bid on an empty book): absent, not bad.
            if value is None or value == "":
                continue
            # Strings only: OKX writes every number as a decimal string; a JSON number here would be
            # a changed protocol, not a price to guess at. read_price inlined (this runs ten times a
            # frame): ASCII digits in the JSON grammar, no sign, finite; > 0 for a price.
            if type(value) is str and len(value) <= MAX_DECIMAL_CHARS and decimal_text(value) is not None:
                number = float(value)
                if number < _INF and (number > 0.0 or not positive):
                    fields[key] = number
                    continue
            # A bad field costs only itself, and a price is never taken from one.
            if dropped is None:
                dropped = []
            dropped.append(f"{name} is not a {'positive' if positive else 'non-negative'} decimal string")
        ts = item.get("ts")
        if ts is not None and ts != "":
            ms = read_unsigned(ts, _TS_DIGITS) if type(ts) is str else None
            if ms is None:
                if dropped is None:
                    dropped = []
                dropped.append("ts is not a time in ms")
            else:
                fields["LASTUPDATE"] = ms / 1000.0
        if dropped is None:
            return QuoteUpdate(pair, fields)
        return QuoteUpdate(pair, fields, tuple(dropped))

    def _ack(self, event: str, arg: Any) -> Event:
        inst = arg.get("instId") if type(arg) is dict else None
        if type(inst) is not str or arg.get("channel") != CHANNEL:
            return Ignored(f"{event} ack of another channel")
        inst = inst[:_MAX_TEXT]
        return SubscribeComplete(inst) if event == "subscribe" else UnsubscribeComplete(inst)

    def _error(self, obj: dict[str, Any]) -> Event:
        code = _code(obj.get("code"))
        msg = obj.get("msg")
        words = msg[:_MAX_TEXT] if type(msg) is str else None
        named = _NAMED.search(words) if words else None
        if code == _DOES_NOT_EXIST and named is not None and named.group(1) == CHANNEL:
            # The instId is not listed (NMR-USDT, or BTC-USD: OKX quotes USDT). Only 60018 is a verdict
            # on the pair; it names the channel too, and an error about another channel (a candle
            # channel on the wrong socket) says nothing about that pair's ticker.
            return InvalidSub(named.group(2), words, Refusal.NOT_LISTED)
        if code == _TOO_FREQUENT:
            # Over the 480 subscribe requests per hour (or the connect rate): leave it alone for a
            # while; a new connection starts a new hour's allowance.
            return LimitExceeded(LimitKind.BACK_OFF, code, None, words)
        # 60012 (invalid request), 60013 (invalid args), 60019 (invalid op), 60018 about another
        # channel...: a request ccdesk got wrong. It may quote an instId (60012 echoes the request),
        # but refusing that pair for good would hide the bug behind a "not listed" pair.
        return ServerError(code or "error", named.group(0) if named else None, words)

    def _notice(self, obj: dict[str, Any]) -> Event:
        code = _code(obj.get("code"))
        msg = obj.get("msg")
        words = msg[:_MAX_TEXT] if type(msg) is str else None
        if code == _SERVICE_UPGRADE:
            # "The connection will soon be closed for a service upgrade. Please reconnect." (30-60 s
            # ahead): reconnect now rather than lose the socket under a live price.
            return ForceDisconnect(planned=True)
        return ServerError(code or "notice", None, words)


class Okx(Dialect):
    """OKX v5 public: subscribe at once (no greeting), up to 100 pairs per message, and keep the
    socket alive with the text ``ping``."""

    info = INFO
    # Each arg is ~40 bytes; OKX caps a request at 64 KB and counts requests (480 an hour), not args.
    batch = 100
    # OKX closes a socket on which nothing arrived for 30 s; 25 s leaves room for a slow path.
    keepalive_s = 25.0
    keepalive_text = "ping"

    def wire_key(self, pair: Pair) -> str:
        return f"{pair.base}-{pair.quote}"

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> OkxParser:
        return OkxParser(watched, max_frame_bytes)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._message("subscribe", run) for run in batched(pairs, self.batch)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._message("unsubscribe", run) for run in batched(pairs, self.batch)]

    def _message(self, op: str, pairs: Sequence[Pair]) -> str:
        args = [{"channel": CHANNEL, "instId": self.wire_key(p)} for p in pairs]
        return orjson.dumps({"op": op, "args": args}).decode()
