"""Binance spot's market streams on the simulated market (Binance's own tickers: USDT, BTC and EUR
quotes), with its traps: 5 messages a second, acknowledgements that check syntax only, an invalid
stream answered with an error and a close. The 451 geo-block and the 24 h lifetime are the server's
(``SimConfig.geo_blocked``, ``SimConfig.max_session_s``)."""

from __future__ import annotations

import re
import weakref
from typing import Any, ClassVar, Final

from ccdesk.core.pairs import Pair, Source
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import CYCLE_FRAMES
from ccdesk.sim.market import Market
from ccdesk.sim.venues.base import Fields, Venue, VenueConn, decimal_text, dumps, loads

EXCHANGE: Final = "Binance"
METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
# A stream name: a lower-case symbol (or an all-market "!ticker") and its kind: "btcusdt@ticker",
# "btcusdt@depth@100ms", "!ticker@arr". Symbols must be lower case, as Binance documents.
_STREAM: Final = re.compile(r"(?:[a-z0-9]{1,40}|![A-Za-z]{1,20})@[A-Za-z0-9_@]{1,40}")
_ID: Final = re.compile(r"[A-Za-z0-9]{1,36}")
_MAX_ID: Final = 1 << 63
_DAY_MS: Final = 86_400_000


class BinanceVenue(Venue):
    """``/binance/ws``: raw streams. ``SUBSCRIBE``/``UNSUBSCRIBE`` with an ``id``, answered with
    ``{"result":null,"id":N}``; ``LIST_SUBSCRIPTIONS``; a ``24hrTicker`` event for each subscribed
    ``<symbol>@ticker``: its first right after the answer, then whenever it changes and once a second
    whether it changed or not (``heartbeat_s``, Binance's 1000 ms update).

    Traps, as Binance plays them:
        - an acknowledgement checks syntax only: a well-formed symbol Binance does not list
          (``nopeusdt@ticker``) is acknowledged like a real one and then sends nothing (measured
          2026-08-29; JKorf/Binance.Net#620);
        - a stream name that is not well formed (upper case, no ``@``...) gets
          ``{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":N}`` and the socket is
          closed (the same measurement; the close code is not recorded: 1000 here);
        - more than 5 messages within a second: the socket is closed with 1008 "Too many requests"
          (``max_messages_per_s``; binance/binance-connector-js#530), no error frame.
    """

    source = Source.BINANCE
    path = "/binance/ws"
    heartbeat_s: ClassVar[float | None] = 1.0
    max_messages_per_s: ClassVar[int | None] = 5

    def __init__(self, market: Market, config: SimConfig) -> None:
        super().__init__(market, config)
        # Every stream each connection subscribed, in order, for LIST_SUBSCRIPTIONS (conn.subs holds
        # the @ticker ones, by symbol); weak, so a closed connection's entry goes with it.
        self._streams: weakref.WeakKeyDictionary[VenueConn, dict[str, None]] = weakref.WeakKeyDictionary()

    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        msg = loads(text)
        if not isinstance(msg, dict):
            return [_error(3, "Invalid JSON: expected value at line 1 column 1", None)]
        request_id = msg.get("id")
        if not _valid_id(request_id):
            return [_error(2, "Invalid request: request ID must be an unsigned integer", None)]
        method = msg.get("method")
        if method not in METHODS:
            words = (
                f"Invalid request: unknown variant `{str(method)[:40]}`, expected one of `SUBSCRIBE`,"
                " `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 28"
            )
            return [_error(2, words, request_id)]
        streams = self._streams.setdefault(conn, {})
        if method == "LIST_SUBSCRIPTIONS":
            return [dumps({"result": list(streams), "id": request_id})]
        if method == "GET_PROPERTY":
            return [dumps({"result": False, "id": request_id})]  # "combined": false on /ws
        if method == "SET_PROPERTY":
            return [dumps({"result": None, "id": request_id})]
        params = msg.get("params")
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return [_error(2, "Invalid request: invalid stream", request_id)]
        if method == "UNSUBSCRIBE":
            for name in params:
                streams.pop(name, None)
                symbol, _, kind = name.partition("@")
                pair = conn.subs.pop(symbol, None) if kind == "ticker" else None
                if pair is not None:
                    conn.sent.pop(pair, None)
            return [dumps({"result": None, "id": request_id})]
        if not all(_STREAM.fullmatch(name) for name in params):
            conn.closing = (1000, "invalid stream")
            return [_error(2, "Invalid request: invalid stream", request_id)]
        out = [dumps({"result": None, "id": request_id})]
        for name in params:
            streams[name] = None
            symbol, _, kind = name.partition("@")
            if kind != "ticker" or symbol in conn.subs:
                continue
            pair = self._pair(symbol)
            conn.subs[symbol] = pair
            state = self.state(pair, EXCHANGE)
            if state is not None:  # a symbol not listed stays subscribed and silent
                conn.sent[pair] = state
                out.append(dumps(self._ticker(pair, state)))
        return out

    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        now = self.state(pair, EXCHANGE)
        if now is None or not self.changed(conn, pair, now):
            return []
        return [dumps(self._ticker(pair, now))]

    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        return [dumps(self._ticker(pair, s)) for pair, s in self.firehose_ticks(conn, EXCHANGE, count)]

    def heartbeat(self, conn: VenueConn) -> list[str]:
        """Binance's 1000 ms update of every ``@ticker`` stream, moved or not (it keeps a quiet feed
        alive: Binance sends no other heartbeat but WebSocket pings)."""
        out = []
        for pair in conn.subs.values():
            state = self.state(pair, EXCHANGE)
            if state is not None:
                conn.sent[pair] = state
                out.append(dumps(self._ticker(pair, state)))
        return out

    def _pair(self, symbol: str) -> Pair:
        """The market's pair behind ``btcusdt``; for a symbol it does not list, a pair it cannot find."""
        upper = symbol.upper()
        for cut in range(1, len(upper)):
            pair = Pair(Source.BINANCE, upper[:cut], upper[cut:])
            if self.state(pair, EXCHANGE) is not None:
                return pair
        return Pair(Source.BINANCE, upper, "")

    def _ticker(self, pair: Pair, s: Fields) -> dict[str, Any]:
        price = float(s["PRICE"])
        open_24h = float(s.get("OPEN24HOUR") or price)
        event_ms = int(self.market.now() * 1000)
        trade_id = int(s.get("LASTTRADEID") or 0)
        return {
            "e": "24hrTicker",
            "E": event_ms,
            "s": f"{pair.base}{pair.quote}",
            "p": decimal_text(price - open_24h),
            "P": f"{(price - open_24h) / open_24h * 100.0:.3f}",
            "w": decimal_text((price + open_24h) / 2),
            "x": decimal_text(open_24h),
            "c": decimal_text(price),
            "Q": decimal_text(float(s.get("LASTVOLUME") or 0.0)),
            "b": decimal_text(float(s.get("BID") or price)),
            "B": "0.20337000",
            "a": decimal_text(float(s.get("ASK") or price)),
            "A": "12.85848000",
            "o": decimal_text(open_24h),
            "h": decimal_text(float(s.get("HIGH24HOUR") or price)),
            "l": decimal_text(float(s.get("LOW24HOUR") or price)),
            "v": decimal_text(float(s.get("VOLUME24HOUR") or 0.0)),
            "q": decimal_text(float(s.get("VOLUME24HOURTO") or 0.0)),
            "O": event_ms - _DAY_MS,
            "C": event_ms,
            "F": max(0, trade_id - 1_141_866),
            "L": trade_id,
            "n": 1_141_867,
        }


def _valid_id(value: Any) -> bool:
    """Binance takes a 64-bit integer, an alphanumeric string of up to 36 characters, or null."""
    if value is None:
        return True
    if type(value) is int:
        return -_MAX_ID <= value < _MAX_ID
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _error(code: int, msg: str, request_id: Any) -> str:
    return dumps({"error": {"code": code, "msg": msg}, "id": request_id})
