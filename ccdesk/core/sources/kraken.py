"""Kraken's WebSocket v2 ticker: its frames -> ccdesk's wire events, and its subscribe messages.

Keyless. Pairs are written ``BTC/USD`` (v2 refuses the v1 ``XBT/USD``; ccdesk turns a typed ``XBT``
into ``BTC`` when it parses a pair). Kraken sends a ``status`` frame on connect, then whatever is
subscribed: a ``snapshot`` of each ticker and then ``update`` frames, with numbers as JSON numbers
(``last``, ``bid``, ``ask``, ``high``, ``low``, ``volume``, ``change``, ``change_pct``: a rolling
24 h change already in percent). A ``heartbeat`` frame comes about every second when nothing else
does. A pair it does not have is refused with ``success: false`` and an ``error`` (shown on that
pair's row, never ignored). Pure; never raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.numbers import read_decimal, read_price
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.sources.base import Dialect, SourceInfo, batched
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    Heartbeat,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    Welcome,
)

INFO: Final = SourceInfo(
    source=Source.KRAKEN,
    title="Kraken",
    key=None,
    default_url="wss://ws.kraken.com/v2",
    spelling="BTC/USD (XBT is accepted from you and sent as BTC)",
    change_24h="rolling 24 h, Kraken's own change_pct",
    limits="150 connections per 10 minutes per IP: ccdesk keeps one and reconnects >= 5 s apart",
)

# Kraken's ticker fields, as the quote book's (see ccdesk.core.wire): (book name, price-like).
_TICKER: Final[dict[str, tuple[str, bool]]] = {
    "last": ("PRICE", True),
    "bid": ("BID", True),
    "ask": ("ASK", True),
    "high": ("HIGH24HOUR", True),
    "low": ("LOW24HOUR", True),
    "volume": ("VOLUME24HOUR", False),
}
_MAX_TEXT: Final = 300


class KrakenParser:
    """One connection's parser. ``watched`` maps ``BTC/USD`` to the watched pair (kept current by the
    stream engine); tickers of other symbols are ignored."""

    def __init__(self, watched: Mapping[str, Pair], max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._watched = watched
        self._max = max_frame_bytes

    def parse(self, data: bytes) -> Event:
        if len(data) > self._max:
            return Malformed(f"frame of {len(data)} bytes exceeds {self._max}")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return Malformed("not JSON")
        if type(obj) is not dict:
            return Malformed(f"JSON {type(obj).__name__}, not an object")
        channel = obj.get("channel")
        if channel == "ticker":
            return self._tickers(obj.get("data"))
        if channel == "heartbeat":
            return Heartbeat()
        if channel == "status":
            return Welcome(server_name="kraken")
        method = obj.get("method")
        if method == "subscribe":
            return self._subscribe_answer(obj)
        if type(method) is str or type(channel) is str:
            return Ignored(str(method or channel)[:40])  # unsubscribe acks, pongs, other channels
        return Malformed("neither a channel nor a method")

    def _tickers(self, data: Any) -> Event:
        if type(data) is not list or not data:
            return Malformed("ticker frame without data")
        events = [self._ticker(item) for item in data[:50]]
        return events[0] if len(events) == 1 else Batch(tuple(events))

    def _ticker(self, item: Any) -> Event:
        if type(item) is not dict:
            return Malformed("ticker data entry is not an object")
        symbol = item.get("symbol")
        if type(symbol) is not str:
            return Malformed("ticker without a symbol")
        pair = self._watched.get(symbol)
        if pair is None:
            return Ignored("ticker of a pair not watched")
        fields: dict[str, Any] = {}
        dropped: list[str] = []
        for name, (key, price_like) in _TICKER.items():
            value = item.get(name)
            if value is None:
                continue
            # JSON numbers only: Kraken writes them as numbers (exact text like 0.99980), and a
            # string here would be a changed protocol, not a price to guess at.
            ok = type(value) is not str
            number = (read_price(value) if price_like else read_decimal(value)) if ok else None
            if number is None or number < 0:
                dropped.append(f"{name} is not a {'positive ' if price_like else ''}number")
                continue
            fields[key] = number
        change_pct = item.get("change_pct")
        if change_pct is not None:
            pct = read_decimal(change_pct) if type(change_pct) is not str else None
            if pct is None or pct <= -100.0:
                dropped.append("change_pct is not a percentage")
            else:
                fields["CHANGEPCT24HOUR"] = pct
                price = fields.get("PRICE")
                if price is not None:
                    # The rolling 24 h open, for the day/hour-free quote book: last / (1 + pct).
                    fields["OPEN24HOUR"] = price / (1.0 + pct / 100.0)
        return QuoteUpdate(pair, fields, tuple(dropped))

    def _subscribe_answer(self, obj: dict[str, Any]) -> Event:
        success = obj.get("success")
        result = obj.get("result")
        if success is True and type(result) is dict and type(result.get("symbol")) is str:
            return SubscribeComplete(result["symbol"][:_MAX_TEXT])
        error = obj.get("error")
        words = error[:_MAX_TEXT] if type(error) is str else None
        symbol = obj.get("symbol")
        if success is False and type(symbol) is str:
            if words is not None and words.startswith("Already subscribed"):
                return Ignored("already subscribed")
            refusal = Refusal.NOT_LISTED if words and "not supported" in words else Refusal.INVALID
            return InvalidSub(symbol[:_MAX_TEXT], words, refusal)
        return ServerError("subscribe refused", None, words)


class Kraken(Dialect):
    """Kraken v2: subscribe at once (no greeting to wait for), all pairs in one message."""

    info = INFO
    batch = 100

    def wire_key(self, pair: Pair) -> str:
        return f"{pair.base}/{pair.quote}"

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> KrakenParser:
        return KrakenParser(watched, max_frame_bytes)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._message("subscribe", run) for run in batched(pairs, self.batch)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._message("unsubscribe", run) for run in batched(pairs, self.batch)]

    def _message(self, method: str, pairs: Sequence[Pair]) -> str:
        symbols = [self.wire_key(p) for p in pairs]
        return orjson.dumps({"method": method, "params": {"channel": "ticker", "symbol": symbols}}).decode()
