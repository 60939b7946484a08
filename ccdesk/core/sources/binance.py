"""Binance spot's market streams: its frames -> ccdesk's wire events, and its subscribe messages.

Keyless. A pair is a stream ``btcusdt@ticker`` on the wire (lower case, no separator), while frames
name it ``BTCUSDT``; Binance quotes in USDT, not USD. ccdesk subscribes right after connecting with
``SUBSCRIBE`` messages that carry an ``id``; Binance answers each with ``{"result":null,"id":N}`` or
``{"error":{...},"id":N}`` and names no pair, so the dialect remembers which pairs each id carried
(``Requests``) and a refusal names its pairs. The ``24hrTicker`` event (every second) carries every
number as a JSON string: ``c`` last, ``o`` rolling 24 h open, ``h``, ``l``, ``v`` base volume, ``q``
quote volume, ``P`` Binance's own 24 h change in percent, ``b``/``a`` best bid/ask, and ``E``
(event time, ms, a number). Binance pings at the WebSocket level (the transport answers) and ends
every connection at 24 h (the engine leaves first: ``max_session_s``); it refuses the upgrade with
HTTP 451 where it does not serve (the engine shows BLOCKED, never a retry loop).

Binance's acknowledgement checks a stream name's syntax only: a well-formed symbol it does not list
is acknowledged like a real one and then stays silent (measured 2026-08-29; JKorf/Binance.Net#620).
A parser cannot tell that from a quiet market: such a pair waits without a price (telling the two
apart takes a clock, the engine's: a deadline for a pair's first data). Pure but for the requests a
connection remembers; never raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.numbers import read_decimal
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.sources.base import Dialect, SourceInfo, batched
from ccdesk.core.sources.decimal_text import DecimalTextReader
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    UnsubscribeComplete,
)

INFO: Final = SourceInfo(
    source=Source.BINANCE,
    title="Binance",
    key=None,
    default_url="wss://stream.binance.com:9443/ws",
    spelling="btcusdt (lower case, no separator; Binance quotes in USDT, not USD)",
    change_24h="rolling 24 h, Binance's own P (price change percent)",
    limits=(
        "5 messages/s per connection, pings and pongs included: ccdesk sends at most 4 a second,"
        " 200 pairs each; 1024 streams per connection; a connection lives 24 h: ccdesk reconnects"
        " at 23.5 h; HTTP 451 means not available in your region"
    ),
)

SUBSCRIBE: Final = "SUBSCRIBE"
UNSUBSCRIBE: Final = "UNSUBSCRIBE"
# Binance's ticker fields, as the quote book's (see ccdesk.core.wire): (wire name, book name). A mini
# ticker (24hrMiniTicker) has the same names for what it carries (no P, b or a). Not read: Q (the
# quote book takes a last quantity from trades only), p, w, x and the sizes at the bid and ask.
_PRICES: Final = (
    ("c", "PRICE"),
    ("b", "BID"),
    ("a", "ASK"),
    ("o", "OPEN24HOUR"),
    ("h", "HIGH24HOUR"),
    ("l", "LOW24HOUR"),
)
_AMOUNTS: Final = (("v", "VOLUME24HOUR"), ("q", "VOLUME24HOURTO"))
_TICKERS: Final = ("24hrTicker", "24hrMiniTicker")
_MAX_TEXT: Final = 300
_MAX_SYMBOL: Final = 40
_MAX_PENDING: Final = 256
_MAX_EVENT_MS: Final = 1 << 53  # ints past this are not exact as floats; no real time is near it


class Requests:
    """One connection's requests that Binance has not answered yet: id -> (method, wire keys).

    Why: Binance's answers carry only the request's ``id``. Remembering what each id asked for
    turns ``{"error":...,"id":7}`` into a refusal of the pairs request 7 carried, shown on their
    rows, instead of an anonymous error while those pairs look like a quiet market.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, tuple[str, ...]]] = {}

    def sent(self, request_id: int, method: str, keys: Sequence[str]) -> None:
        """Request ``request_id`` (``SUBSCRIBE``/``UNSUBSCRIBE``) for ``keys`` went out."""
        if len(self._by_id) >= _MAX_PENDING:  # a server that never answers must not grow this
            del self._by_id[next(iter(self._by_id))]
        self._by_id[request_id] = (method, tuple(keys))

    def answered(self, request_id: int) -> tuple[str, tuple[str, ...]] | None:
        """What request ``request_id`` asked for, now answered; None for an id not sent here."""
        return self._by_id.pop(request_id, None)


class BinanceParser:
    """One connection's parser. ``watched`` maps ``btcusdt`` to the watched pair (kept current by the
    stream engine); tickers of other symbols are ignored. ``requests`` is what this connection's
    dialect sent (see ``Requests``)."""

    def __init__(
        self,
        watched: Mapping[str, Pair],
        max_frame_bytes: int = MAX_FRAME_BYTES,
        requests: Requests | None = None,
    ) -> None:
        self._watched = watched
        self._max = max_frame_bytes
        self._requests = requests if requests is not None else Requests()
        self._texts = DecimalTextReader(_PRICES, _AMOUNTS)

    def parse(self, data: bytes) -> Event:
        if len(data) > self._max:
            return Malformed(f"frame of {len(data)} bytes exceeds {self._max}")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return Malformed("not JSON")
        if type(obj) is not dict:
            return Malformed(f"JSON {type(obj).__name__}, not an object")
        event = obj.get("e")
        # A tuple, never a set: a hostile "e" may be a list, which a set cannot hash (it would raise).
        if event in _TICKERS:  # the hot path: a raw stream's ticker (ccdesk uses /ws)
            return self._ticker(obj)
        data_obj = obj.get("data")
        if type(data_obj) is dict and "stream" in obj:  # a combined stream's envelope (/stream)
            event = data_obj.get("e")
            if event in _TICKERS:
                return self._ticker(data_obj)
            return Ignored(event[:40] if type(event) is str else "combined stream event")
        if "id" in obj:
            return self._answer(obj)
        if "code" in obj and "msg" in obj:  # an error without the envelope (the docs' table shape)
            return self._server_error(obj)
        if type(event) is str:
            return Ignored(event[:40])  # other streams (trades, depth...)
        return Malformed("neither an event nor an answer")

    # -- tickers -----------------------------------------------------------------------------

    def _ticker(self, d: dict[str, Any]) -> Event:
        symbol = d.get("s")
        if type(symbol) is not str or len(symbol) > _MAX_SYMBOL or not symbol.isascii():
            return Malformed("ticker without an ASCII symbol")  # ASCII: "K" (Kelvin) lowers to "k"
        pair = self._watched.get(symbol.lower())
        if pair is None:
            return Ignored("ticker of a symbol not watched")
        fields: dict[str, Any] = {}
        dropped = self._texts.read(d, fields)
        pct = d.get("P")
        if pct is not None:
            change = read_decimal(pct) if type(pct) is str else None
            if change is None or change <= -100.0:  # a positive price cannot fall 100 % or more
                if dropped is None:
                    dropped = []
                dropped.append("P is not a percentage string")
            else:
                fields["CHANGEPCT24HOUR"] = change
        event_ms = d.get("E")
        if event_ms is not None:
            if type(event_ms) is int and 0 <= event_ms < _MAX_EVENT_MS:
                fields["LASTUPDATE"] = event_ms / 1000.0
            else:
                if dropped is None:
                    dropped = []
                dropped.append("E is not a time in milliseconds")
        if dropped is None:
            return QuoteUpdate(pair, fields)
        return QuoteUpdate(pair, fields, tuple(dropped))

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, obj: dict[str, Any]) -> Event:
        request_id = obj.get("id")
        # Our ids are ints; bool is not one (type(True) is bool).
        request = self._requests.answered(request_id) if type(request_id) is int else None
        error = obj.get("error")
        if error is not None:
            code, words = _code_and_words(error)
            if request is not None and request[0] == SUBSCRIBE and request[1]:
                # Binance refuses the whole message and does not say which stream was wrong, so
                # every pair it carried is refused with the server's words (ccdesk spells every
                # pair as Binance documents: this means the venue changed its rules).
                refused = [InvalidSub(k, words, Refusal.INVALID) for k in request[1]]
                return refused[0] if len(refused) == 1 else Batch(tuple(refused))
            return ServerError(f"error {code}", None, words)
        if "result" not in obj:
            return Malformed("an answer without result or error")
        if request is None:
            return Ignored("answer to a request not sent on this connection")
        method, keys = request
        if obj["result"] is not None or not keys:
            return Ignored("answer with a result")  # LIST_SUBSCRIPTIONS, GET_PROPERTY: not sent
        # An acknowledgement checks syntax only: a symbol Binance does not list is acknowledged too.
        done = [SubscribeComplete(k) if method == SUBSCRIBE else UnsubscribeComplete(k) for k in keys]
        return done[0] if len(done) == 1 else Batch(tuple(done))

    def _server_error(self, obj: dict[str, Any]) -> Event:
        code, words = _code_and_words(obj)
        return ServerError(f"error {code}", None, words)


def _code_and_words(error: Any) -> tuple[str, str | None]:
    if type(error) is not dict:
        return "?", None
    code = error.get("code")
    msg = error.get("msg")
    # The code is for logs: an int in range, else "?" (str() of a huge int would raise).
    code_text = str(code) if type(code) is int and -(10**9) < code < 10**9 else "?"
    return code_text, msg[:_MAX_TEXT] if type(msg) is str else None


class Binance(Dialect):
    """Binance spot, raw streams at ``/ws``: subscribe right after connecting (no greeting), with ids.

    Decisions:
        batch: 200 streams a message. One message covers any real watchlist (5 messages a second
            is the limit, and a watchlist of the most streams a connection may hold, 1024, still
            takes 6 messages); a SUBSCRIBE of 437 streams (about 8 KB) has been seen to fail
            silently (altangent/ccxws#161), so a message stays near 4 KB.
        send_interval_s: 0.25 s, 4 messages a second. Binance counts pings and pongs among the 5 a
            second and closes the connection beyond it (1008 "Too many requests"): 0.2 s would sit
            exactly on the limit, where one pong or a little network jitter makes a sixth.
        max_session_s: 23.5 h. Binance ends every connection at 24 h; leaving first is a planned
            reconnect that keeps prices live, being cut is a failure with a back-off. The margin
            covers the handshake (the server's clock starts before ours), NTP slewing the
            monotonic clock (up to 500 ppm, 43 s a day) and a slow reconnect; leaving early costs
            nothing (one reconnect a day either way).
        first_data_s: 10 s. Binance acknowledges a well-formed symbol it does not list and then
            sends nothing for it; a listed one has its first ticker within a second or two (the
            stream updates every 1000 ms). Without this, ``binance:BTC-USD`` (Binance quotes in
            USDT) would wait forever with no word.
    """

    info = INFO
    first_data_s = 10.0
    batch = 200
    send_interval_s = 0.25
    max_session_s = 23.5 * 3600.0

    def __init__(self) -> None:
        self._ids = itertools.count(1)  # ids stay unique across connections: a late answer never aliases
        self._requests = Requests()

    def wire_key(self, pair: Pair) -> str:
        return f"{pair.base}{pair.quote}".lower()

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> BinanceParser:
        # A new connection: its requests are its own. The engine creates the parser before it
        # subscribes, on the stream thread, so subscribe() below records into this one.
        self._requests = Requests()
        return BinanceParser(watched, max_frame_bytes, self._requests)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._request(SUBSCRIBE, run) for run in batched(pairs, self.batch)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._request(UNSUBSCRIBE, run) for run in batched(pairs, self.batch)]

    def _request(self, method: str, pairs: Sequence[Pair]) -> str:
        keys = [self.wire_key(p) for p in pairs]
        request_id = next(self._ids)
        self._requests.sent(request_id, method, keys)
        return orjson.dumps(
            {"method": method, "params": [f"{k}@ticker" for k in keys], "id": request_id}
        ).decode()
