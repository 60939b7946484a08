"""Coinbase Exchange's WebSocket feed on the simulated market (Coinbase's own tickers: USD, EUR and BTC
quotes), with its traps: the 5 s subscribe deadline, tickers only on a trade, a whole request ignored
for one invalid product."""

from __future__ import annotations

import datetime
import itertools
import re
import weakref
from typing import Any, ClassVar, Final

from ccdesk.core.pairs import Pair, Source
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import CYCLE_FRAMES
from ccdesk.sim.market import Market
from ccdesk.sim.venues.base import Fields, Venue, VenueConn, decimal_text, dumps, loads

EXCHANGE: Final = "Coinbase"
CHANNELS: Final = ("ticker", "heartbeat")
_PRODUCT: Final = re.compile(r"([A-Z0-9]{1,20})-([A-Z0-9]{1,20})")
# Coinbase's words for the channels that now need a key (a recorded error, cryptofeed#990).
_AUTHENTICATED: Final = frozenset({"level2", "level3", "full"})
_AUTH_WORDS: Final = (
    "level2, level3, and full channels now require authentication. "
    "https://docs.cloud.coinbase.com/exchange/docs/websocket-auth"
)
_PRICE_DOWN: Final = 2


class CoinbaseVenue(Venue):
    """``/coinbase``: ``subscribe``/``unsubscribe`` of ``ticker`` and ``heartbeat`` for ``product_ids``
    (channel names, or channel objects with their own ``product_ids``), answered with a
    ``subscriptions`` frame that lists everything subscribed; the product's current ticker right
    after; a ``ticker`` frame whenever the product trades (never when it does not); one ``heartbeat``
    per second per product subscribed to that channel, with the product's newest trade id.

    Traps, as Coinbase plays them: a socket with nothing subscribed 5 s after it opened is closed
    (``subscribe_deadline_s``); a request naming a product Coinbase does not list is answered with
    one ``error`` naming that product (``"BTC-XXX is not a valid product"``) and is otherwise ignored
    entirely: its valid products are not subscribed either (coinbase/coinbase-pro-node#174).
    """

    source = Source.COINBASE
    path = "/coinbase"
    heartbeat_s: ClassVar[float | None] = 1.0
    subscribe_deadline_s: ClassVar[float | None] = 5.0

    def __init__(self, market: Market, config: SimConfig) -> None:
        super().__init__(market, config)
        self._sequence = itertools.count(137_212_619_516)
        # The products each connection has on the heartbeat channel (conn.subs holds the ticker's);
        # weak, so a closed connection's entry goes with it.
        self._beats: weakref.WeakKeyDictionary[VenueConn, dict[str, Pair]] = weakref.WeakKeyDictionary()

    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        msg = loads(text)
        if not isinstance(msg, dict):
            return [_error("Failed to parse message", "malformed JSON")]
        kind = msg.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            return [_error("Failed to subscribe", f"{str(kind)[:40]} is not a valid message type")]
        wanted = _channels(msg)
        if isinstance(wanted, str):
            return [_error("Failed to subscribe", wanted)]
        if kind == "unsubscribe":
            return self._unsubscribe(conn, wanted)
        return self._subscribe(conn, wanted)

    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        now = self.state(pair, EXCHANGE)
        if now is None or not self.changed(conn, pair, now):
            return []
        return [dumps(self._ticker(pair, now))]

    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        return [dumps(self._ticker(pair, s)) for pair, s in self.firehose_ticks(conn, EXCHANGE, count)]

    def heartbeat(self, conn: VenueConn) -> list[str]:
        out = []
        when = _iso(self.market.now())
        for product, pair in self._beats.get(conn, {}).items():
            state = self.state(pair, EXCHANGE)
            if state is None:
                continue
            beat = {
                "type": "heartbeat",
                "last_trade_id": int(state["LASTTRADEID"]),
                "product_id": product,
                "sequence": next(self._sequence),
                "time": when,
            }
            out.append(dumps(beat))
        return out

    def _subscribe(self, conn: VenueConn, wanted: dict[str, list[Any]]) -> list[str]:
        pairs: dict[str, Pair] = {}
        for products in wanted.values():
            for product in products:
                pair = self._product(product)
                if pair is None:
                    # One invalid product and the whole request is ignored: nothing is subscribed.
                    return [_error("Failed to subscribe", f"{str(product)[:40]} is not a valid product")]
                pairs[product] = pair
        beats = self._beats.setdefault(conn, {})
        new: list[Pair] = []
        for product in wanted.get("ticker", []):
            if product not in conn.subs:
                conn.subs[product] = pairs[product]
                new.append(pairs[product])
        for product in wanted.get("heartbeat", []):
            beats[product] = pairs[product]
        out = [self._subscriptions(conn)]
        for pair in new:
            state = self.state(pair, EXCHANGE)
            if state is not None:
                conn.sent[pair] = state
                out.append(dumps(self._ticker(pair, state)))
        return out

    def _unsubscribe(self, conn: VenueConn, wanted: dict[str, list[Any]]) -> list[str]:
        beats = self._beats.setdefault(conn, {})
        for product in wanted.get("ticker", []):
            pair = conn.subs.pop(product, None) if isinstance(product, str) else None
            if pair is not None:
                conn.sent.pop(pair, None)
        for product in wanted.get("heartbeat", []):
            if isinstance(product, str):
                beats.pop(product, None)
        return [self._subscriptions(conn)]

    def _subscriptions(self, conn: VenueConn) -> str:
        channels = []
        beats = self._beats.get(conn, {})
        for name, products in (("ticker", conn.subs), ("heartbeat", beats)):
            if products:
                channels.append({"name": name, "product_ids": list(products), "account_ids": None})
        return dumps({"type": "subscriptions", "channels": channels})

    def _product(self, product: Any) -> Pair | None:
        match = _PRODUCT.fullmatch(product) if isinstance(product, str) else None
        if match is None:
            return None
        pair = Pair(Source.COINBASE, match[1], match[2])
        return pair if self.state(pair, EXCHANGE) is not None else None

    def _ticker(self, pair: Pair, s: Fields) -> dict[str, Any]:
        price = float(s["PRICE"])
        volume = float(s.get("VOLUME24HOUR") or 0.0)
        return {
            "type": "ticker",
            "sequence": next(self._sequence),
            "product_id": f"{pair.base}-{pair.quote}",
            "price": _price_text(price),
            "open_24h": _price_text(float(s.get("OPEN24HOUR") or price)),
            "volume_24h": decimal_text(volume),
            "low_24h": _price_text(float(s.get("LOW24HOUR") or price)),
            "high_24h": _price_text(float(s.get("HIGH24HOUR") or price)),
            "volume_30d": decimal_text(volume * 29.7),
            "best_bid": _price_text(float(s.get("BID") or price)),
            "best_bid_size": "0.19921154",
            "best_ask": _price_text(float(s.get("ASK") or price)),
            "best_ask_size": "0.05223077",
            "side": "sell" if int(s.get("FLAGS") or 0) & _PRICE_DOWN else "buy",
            "time": _iso(float(s.get("LASTUPDATE") or 0)),
            "trade_id": int(s["LASTTRADEID"]),
            "last_size": decimal_text(float(s.get("LASTVOLUME") or 0.0)),
        }


def _channels(msg: dict[str, Any]) -> dict[str, list[Any]] | str:
    """The products asked for, by channel; or Coinbase's reason for refusing the request."""
    channels = msg.get("channels")
    if not isinstance(channels, list) or not channels:
        return "No channels provided"
    default = msg.get("product_ids")
    default = default if isinstance(default, list) else []
    wanted: dict[str, list[Any]] = {}
    for channel in channels:
        if isinstance(channel, str):
            name, products = channel, default
        elif isinstance(channel, dict) and isinstance(channel.get("name"), str):
            name = channel["name"]
            own = channel.get("product_ids")
            products = own if isinstance(own, list) else default
        else:
            return "Malformed channel"
        if name in _AUTHENTICATED:
            return _AUTH_WORDS
        if name not in CHANNELS:
            return f"{name[:40]} is not a valid channel"
        wanted.setdefault(name, []).extend(products)
    return wanted


def _error(message: str, reason: str) -> str:
    return dumps({"type": "error", "message": message, "reason": reason})


def _price_text(value: float) -> str:
    """A price the way Coinbase writes it: no padding zeros (``"84737.58"``, ``"84400"``)."""
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _iso(unix_s: float) -> str:
    when = datetime.datetime.fromtimestamp(unix_s, tz=datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
