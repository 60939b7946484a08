"""Kraken's WebSocket v2 ticker on the simulated market (Kraken's own tickers, USD and EUR pairs)."""

from __future__ import annotations

import datetime
import itertools
from typing import Any, ClassVar

from ccdesk.core.pairs import Pair, Source
from ccdesk.sim.firehose import CYCLE_FRAMES
from ccdesk.sim.venues.base import Fields, Venue, VenueConn, dumps, loads

EXCHANGE = "Kraken"


class KrakenVenue(Venue):
    """``/kraken/v2``: a status frame on connect; ``subscribe``/``unsubscribe`` of ``ticker`` symbols;
    snapshot then updates; a heartbeat about every second. A symbol it does not list (``NOPE/USD``,
    or v1's ``XBT/USD``) is refused with ``success: false``, as Kraken does."""

    source = Source.KRAKEN
    path = "/kraken/v2"
    heartbeat_s: ClassVar[float | None] = 1.0

    _ids = itertools.count(9_471_984_923_908_980_762)

    def on_open(self, conn: VenueConn) -> list[str]:
        status = {
            "version": "2.0.10",
            "system": "online",
            "api_version": "v2",
            "connection_id": next(self._ids),
        }
        return [dumps({"channel": "status", "type": "update", "data": [status]})]

    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        msg = loads(text)
        if not isinstance(msg, dict):
            return [dumps({"error": "Malformed request", "success": False, **_times()})]
        method = msg.get("method")
        if method == "ping":
            return [dumps({"method": "pong", "req_id": msg.get("req_id"), **_times()})]
        params = msg.get("params")
        if method not in ("subscribe", "unsubscribe") or not isinstance(params, dict):
            return [dumps({"error": "Unsupported method", "method": method, "success": False, **_times()})]
        if params.get("channel") != "ticker":
            return [dumps({"error": "Unsupported channel", "method": method, "success": False, **_times()})]
        symbols = params.get("symbol")
        if not isinstance(symbols, list):
            return [dumps({"error": "symbol must be a list", "method": method, "success": False, **_times()})]
        out: list[str] = []
        for symbol in symbols:
            out += self._subscribe(conn, symbol) if method == "subscribe" else self._unsubscribe(conn, symbol)
        return out

    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        now = self.state(pair, EXCHANGE)
        if now is None or not self.changed(conn, pair, now):
            return []
        return [_update(pair, now)]

    def heartbeat(self, conn: VenueConn) -> list[str]:
        return [dumps({"channel": "heartbeat"})]

    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        return [_update(pair, s) for pair, s in self.firehose_ticks(conn, EXCHANGE, count)]

    def _subscribe(self, conn: VenueConn, symbol: Any) -> list[str]:
        pair = _pair(symbol)
        state = None if pair is None else self.state(pair, EXCHANGE)
        if pair is None or state is None:
            words = f"Currency pair not supported {symbol}"
            return [
                dumps({"error": words, "method": "subscribe", "success": False, "symbol": symbol, **_times()})
            ]
        if symbol in conn.subs:
            ack = {"error": "Already subscribed", "method": "subscribe", "success": False, "symbol": symbol}
            return [dumps({**ack, **_times()})]
        conn.subs[symbol] = pair
        conn.sent[pair] = state
        result = {"channel": "ticker", "event_trigger": "trades", "snapshot": True, "symbol": symbol}
        return [
            dumps({"method": "subscribe", "result": result, "success": True, **_times()}),
            dumps({"channel": "ticker", "type": "snapshot", "data": [_ticker(pair, state)]}),
        ]

    def _unsubscribe(self, conn: VenueConn, symbol: Any) -> list[str]:
        pair = conn.subs.pop(symbol, None) if isinstance(symbol, str) else None
        if pair is None:
            ack = {
                "error": "Subscription Not Found",
                "method": "unsubscribe",
                "success": False,
                "symbol": symbol,
            }
            return [dumps({**ack, **_times()})]
        conn.sent.pop(pair, None)
        result = {"channel": "ticker", "event_trigger": "trades", "symbol": symbol}
        return [dumps({"method": "unsubscribe", "result": result, "success": True, **_times()})]


def _pair(symbol: Any) -> Pair | None:
    if not isinstance(symbol, str) or symbol.count("/") != 1:
        return None
    base, quote = symbol.split("/")
    if base == "XBT" or not (base.isalnum() and quote.isalnum() and base.isupper() and quote.isupper()):
        return None  # v2 refuses v1's XBT
    return Pair(Source.KRAKEN, base, quote)


def _update(pair: Pair, s: Fields) -> str:
    return dumps({"channel": "ticker", "type": "update", "data": [_ticker(pair, s)]})


def _ticker(pair: Pair, s: Fields) -> dict[str, Any]:
    price = float(s["PRICE"])
    open_24h = float(s.get("OPEN24HOUR") or price)
    change = price - open_24h
    ts = datetime.datetime.fromtimestamp(float(s.get("LASTUPDATE") or 0), tz=datetime.UTC)
    return {
        "symbol": f"{pair.base}/{pair.quote}",
        "bid": float(s.get("BID") or price),
        "bid_qty": 1.5,
        "ask": float(s.get("ASK") or price),
        "ask_qty": 2.25,
        "last": price,
        "volume": float(s.get("VOLUME24HOUR") or 0.0),
        "vwap": (price + open_24h) / 2,
        "low": float(s.get("LOW24HOUR") or price),
        "high": float(s.get("HIGH24HOUR") or price),
        "change": round(change, 8),
        "change_pct": round(change / open_24h * 100.0, 2),
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
    }


def _times() -> dict[str, str]:
    now = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
    return {"time_in": now, "time_out": now}
