"""Coinbase Exchange's WebSocket feed: its frames -> ccdesk's wire events, and its subscribe messages.

Keyless. Pairs are written ``BTC-USD`` (a ``product_id``). ccdesk subscribes the ``ticker`` and
``heartbeat`` channels in one message as soon as the socket opens: Coinbase closes a socket that has
not subscribed within 5 s. A ``ticker`` frame comes on every trade, with every number as a JSON
string (``price``, ``open_24h``, ``high_24h``, ``low_24h``, ``volume_24h``, ``best_bid``,
``best_ask``) read with the strict ASCII readers (``ccdesk.core.numbers``); Coinbase sends no 24 h
change, so the quote book computes it from ``open_24h`` (a rolling 24 h open). A thin
product can go minutes without a trade, so the ``heartbeat`` channel (one frame per second per
product) says the last price still stands; see ``CoinbaseParser``. A ``subscriptions`` frame
confirms what is subscribed; an ``error`` frame that names a watched product refuses that product
on its row (never a silent quiet market). Pure but for what a connection's parser remembers; never
raises.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from ccdesk.core.pairs import Pair, Source
from ccdesk.core.sources.base import Dialect, SourceInfo, batched
from ccdesk.core.sources.decimal_text import DecimalTextReader
from ccdesk.core.wire import (
    MAX_FRAME_BYTES,
    Batch,
    Event,
    ForceDisconnect,
    Heartbeat,
    Ignored,
    InvalidSub,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
)

INFO: Final = SourceInfo(
    source=Source.COINBASE,
    title="Coinbase",
    key=None,
    default_url="wss://ws-feed.exchange.coinbase.com",
    spelling="BTC-USD (a Coinbase product id)",
    change_24h="rolling 24 h, computed from open_24h (Coinbase sends no change)",
    limits=(
        "subscribe within 5 s of connecting (ccdesk does at once); 8 requests/s per IP: ccdesk sends"
        " one message for the whole watchlist and at most 8 a second"
    ),
)

_CHANNELS: Final = ("ticker", "heartbeat")
# Coinbase's ticker fields, as the quote book's (see ccdesk.core.wire): (wire name, book name). Not
# read: side (the taker's, not the price's direction), last_size (the quote book takes a last
# quantity from trades only), volume_30d and the sizes at the best bid and ask.
_PRICES: Final = (
    ("price", "PRICE"),
    ("best_bid", "BID"),
    ("best_ask", "ASK"),
    ("open_24h", "OPEN24HOUR"),
    ("high_24h", "HIGH24HOUR"),
    ("low_24h", "LOW24HOUR"),
)
_AMOUNTS: Final = (("volume_24h", "VOLUME24HOUR"),)
_MAX_TEXT: Final = 300
_MAX_TIME_CHARS: Final = 40
_MAX_PENDING: Final = 64
_MAX_TRADE_IDS: Final = 4096
_PUNCTUATION: Final = ".,;:!?'\"()[]{}"


def _iso_seconds(value: object) -> float | None:
    """Unix seconds from an ISO 8601 time with a zone (``2026-10-03T20:58:31.127510Z``), or None.

    ASCII first: ``fromisoformat`` is the parser, and only ASCII text reaches it."""
    if type(value) is not str or len(value) > _MAX_TIME_CHARS or not value.isascii():
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:  # a time without a zone is not one Coinbase writes: no guessing
        return None
    seconds = when.timestamp()
    return seconds if seconds >= 0.0 else None


class PendingRequests:
    """One connection's subscribe requests that Coinbase has not confirmed yet, and what it confirmed.

    Why: Coinbase ignores a whole subscribe request when one of its products is invalid (it says so
    for that product only, coinbase/coinbase-pro-node#174), so the request's other products would
    sit unsubscribed while looking like a quiet market. Knowing which request carried a refused
    product tells the parser whether others went down with it.
    """

    def __init__(self) -> None:
        self._pending: list[frozenset[str]] = []
        self._confirmed: frozenset[str] = frozenset()

    def sent(self, keys: Sequence[str]) -> None:
        """A subscribe request for ``keys`` went out."""
        if len(self._pending) >= _MAX_PENDING:  # a server that never answers must not grow this
            del self._pending[0]
        self._pending.append(frozenset(keys))

    def confirmed(self, keys: frozenset[str]) -> None:
        """A ``subscriptions`` frame: ``keys`` are the ticker products subscribed now."""
        self._confirmed = keys
        self._pending = [r for r in self._pending if not r <= keys]

    def refused(self, named: frozenset[str]) -> bool:
        """Coinbase refused ``named``: forgets the request that carried them.

        Returns:
            True if that request also carried products that are not confirmed (ignored with it).
        """
        for i, request in enumerate(self._pending):
            if request & named:
                del self._pending[i]
                return bool(request - named - self._confirmed)
        return False


class CoinbaseParser:
    """One connection's parser. ``watched`` maps ``BTC-USD`` to the watched pair (kept current by the
    stream engine); frames for other products are ignored.

    Heartbeats: Coinbase's heartbeat carries ``last_trade_id``, the product's newest trade. It becomes
    ``Heartbeat(pair=...)`` (the engine then counts the pair's last price as just received) only when
    that trade is not newer than the ticker the price came from: a heartbeat after a trade whose
    ticker ccdesk has not seen (dropped, not sent yet, or missed while disconnected) must not make
    an out-of-date price look live. ``trade_ids`` (the dialect's, shared by its connections) keeps
    the trade id of each product's last accepted price, so a thin pair is live again after a
    reconnect as soon as a heartbeat shows that nothing traded meanwhile.
    """

    def __init__(
        self,
        watched: Mapping[str, Pair],
        max_frame_bytes: int = MAX_FRAME_BYTES,
        requests: PendingRequests | None = None,
        trade_ids: dict[str, int] | None = None,
    ) -> None:
        self._watched = watched
        self._max = max_frame_bytes
        self._requests = requests if requests is not None else PendingRequests()
        self._trade_ids = trade_ids if trade_ids is not None else {}
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
        kind = obj.get("type")
        if kind == "ticker":
            return self._ticker(obj)
        if kind == "heartbeat":
            return self._heartbeat(obj)
        if kind == "subscriptions":
            return self._subscriptions(obj.get("channels"))
        if kind == "error":
            return self._error(obj)
        if type(kind) is str:
            return Ignored(kind[:40])  # other channels (status, matches, level2...)
        return Malformed("no type")

    # -- tickers -----------------------------------------------------------------------------

    def _ticker(self, obj: dict[str, Any]) -> Event:
        product = obj.get("product_id")
        if type(product) is not str:
            return Malformed("ticker without a product_id")
        pair = self._watched.get(product)
        if pair is None:
            return Ignored("ticker of a product not watched")
        fields: dict[str, Any] = {}
        dropped = self._texts.read(obj, fields)
        when = obj.get("time")
        if when is not None:
            seconds = _iso_seconds(when)
            if seconds is None:
                if dropped is None:
                    dropped = []
                dropped.append("time is not an ISO 8601 time with a zone")
            else:
                fields["LASTUPDATE"] = seconds
        trade_id = obj.get("trade_id")
        if trade_id is not None:
            if type(trade_id) is not int or trade_id < 0:
                if dropped is None:
                    dropped = []
                dropped.append("trade_id is not a non-negative integer")
            elif "PRICE" in fields:
                # Only with the price it belongs to: a bad price's trade id must not vouch for an
                # older price at the next heartbeat.
                self._remember_trade(product, trade_id)
        if dropped is None:
            return QuoteUpdate(pair, fields)
        return QuoteUpdate(pair, fields, tuple(dropped))

    def _remember_trade(self, product: str, trade_id: int) -> None:
        trades = self._trade_ids
        if product not in trades and len(trades) >= _MAX_TRADE_IDS:
            trades.clear()  # bounded: only watched products get here, but watchlists change
        trades[product] = trade_id

    def _heartbeat(self, obj: dict[str, Any]) -> Event:
        seconds = _iso_seconds(obj.get("time"))
        time_ms = None if seconds is None else int(seconds * 1000)
        product = obj.get("product_id")
        if type(product) is not str:
            return Heartbeat(time_ms)
        pair = self._watched.get(product)
        if pair is None:
            return Heartbeat(time_ms)
        last = obj.get("last_trade_id")
        seen = self._trade_ids.get(product)
        if type(last) is int and seen is not None and last <= seen:
            return Heartbeat(time_ms, pair)  # nothing traded since the price ccdesk holds
        return Heartbeat(time_ms)  # the feed is alive; the price may not be the latest

    # -- control -----------------------------------------------------------------------------

    def _subscriptions(self, channels: Any) -> Event:
        if type(channels) is not list:
            return Malformed("subscriptions without a channel list")
        products: dict[str, None] = {}
        for channel in channels[:20]:
            if type(channel) is not dict:
                continue
            name = channel.get("name")
            ids = channel.get("product_ids")
            # ticker_batch and ticker_1000 deliver the same ticker frames (one recorded ack names
            # ticker_1000 for a ticker_batch request).
            if type(name) is not str or not (name == "ticker" or name.startswith("ticker_")):
                continue
            if type(ids) is list:
                for pid in ids[:2000]:
                    if type(pid) is str:
                        products[pid[:_MAX_TEXT]] = None
        self._requests.confirmed(frozenset(products))
        if not products:
            return Ignored("subscriptions without a ticker product")
        events = [SubscribeComplete(pid) for pid in products]
        return events[0] if len(events) == 1 else Batch(tuple(events))

    def _error(self, obj: dict[str, Any]) -> Event:
        message = _text(obj.get("message")) or "error"
        reason = _text(obj.get("reason"))
        if reason:
            # Coinbase names the product in its own words ("BTC-FOO is not a valid product"); any
            # word that is a watched product id names that product, whatever the phrasing.
            named: dict[str, None] = {}
            for word in reason.split()[:50]:
                word = word.strip(_PUNCTUATION)
                if word in self._watched:
                    named[word] = None
            if named:
                refusal = Refusal.NOT_LISTED if "not a valid product" in reason else Refusal.INVALID
                events: list[Event] = [InvalidSub(pid, reason, refusal) for pid in named]
                if self._requests.refused(frozenset(named)):
                    # The rest of that request was ignored with it: a new socket subscribes them
                    # again (the refused ones are not re-sent). A reconnect beats pairs that never
                    # stream while looking like a quiet market.
                    events.append(ForceDisconnect(planned=True))
                return events[0] if len(events) == 1 else Batch(tuple(events))
        return ServerError(message, None, reason)


def _text(value: Any) -> str | None:
    return value[:_MAX_TEXT] if type(value) is str else None


class Coinbase(Dialect):
    """Coinbase Exchange: subscribe at once (the socket closes after 5 s without a subscription), the
    whole watchlist in one message (``batch``), ``ticker`` and ``heartbeat`` together.

    ``batch`` is 100 products: one message for any real watchlist, so a connect costs one request;
    an invalid product costs its whole request (see ``PendingRequests``), which a new socket
    repairs. ``send_interval_s`` keeps ccdesk's own messages to 8 a second, Coinbase's documented
    rate per IP, whatever else runs on the machine.
    """

    info = INFO
    batch = 100
    send_interval_s = 0.125

    def __init__(self) -> None:
        self._requests = PendingRequests()
        # product -> trade id of its last accepted price; outlives connections (see CoinbaseParser)
        self._trade_ids: dict[str, int] = {}

    def wire_key(self, pair: Pair) -> str:
        return f"{pair.base}-{pair.quote}"

    def parser(self, watched: Mapping[str, Pair], max_frame_bytes: int) -> CoinbaseParser:
        # A new connection: its requests are its own. The engine creates the parser before it
        # subscribes, on the stream thread, so subscribe() below records into this one.
        self._requests = PendingRequests()
        return CoinbaseParser(watched, max_frame_bytes, self._requests, self._trade_ids)

    def subscribe(self, pairs: Sequence[Pair]) -> list[str]:
        out = []
        for run in batched(pairs, self.batch):
            keys = [self.wire_key(p) for p in run]
            self._requests.sent(keys)
            out.append(_message("subscribe", keys))
        return out

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [
            _message("unsubscribe", [self.wire_key(p) for p in run]) for run in batched(pairs, self.batch)
        ]


def _message(kind: str, keys: list[str]) -> str:
    return orjson.dumps({"type": kind, "product_ids": keys, "channels": list(_CHANNELS)}).decode()
