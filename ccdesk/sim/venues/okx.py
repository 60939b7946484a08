"""OKX's v5 public ``tickers`` channel on the simulated market.

The market has no OKX exchange (and gets none: seeded tests depend on its instruments), so OKX's
tickers are the market's Binance USDT tickers at a small fixed basis. Only USDT pairs are served, as
the trap it plays: OKX quotes USDT, and ``BTC-USD`` is refused like any instId it does not list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ccdesk.core.pairs import Pair, Source
from ccdesk.sim.firehose import CYCLE_FRAMES
from ccdesk.sim.market import round_price
from ccdesk.sim.venues.base import Fields, Venue, VenueConn, dumps, loads

EXCHANGE = "Binance"
QUOTE = "USDT"
BASIS = 3e-4
"""OKX's prices sit this far above Binance's (a fixed 3 bp), so the two never print the same."""
_CHANNEL = "tickers"


class OkxVenue(Venue):
    """``/okx/ws/v5/public``: nothing on connect; ``subscribe``/``unsubscribe`` of ``tickers`` args,
    each acked (``{"event":"subscribe","arg":...}``) or refused with 60018, as OKX does, then one
    full ticker and a push whenever it changes. The text ``ping`` gets ``pong``; a socket on which
    the client sent nothing for ``idle_timeout_s`` is closed (OKX: 30 s; tests shrink it)."""

    source = Source.OKX
    path = "/okx/ws/v5/public"
    idle_timeout_s: ClassVar[float | None] = 30.0

    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        if text == "ping":
            return ["pong"]
        msg = loads(text)
        if not isinstance(msg, dict):
            return [_error(conn, "60012", f"Invalid request: {text[:200]}")]
        op = msg.get("op")
        if op not in ("subscribe", "unsubscribe"):
            return [_error(conn, "60019", f"Invalid op: {op}")]
        args = msg.get("args")
        if not isinstance(args, list) or not args:
            return [_error(conn, "60012", f"Invalid request: {text[:200]}")]
        out: list[str] = []
        for arg in args:
            out += self._subscribe(conn, arg) if op == "subscribe" else self._unsubscribe(conn, arg)
        return out

    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        now = self.state(pair, EXCHANGE)
        if now is None or not self.changed(conn, pair, now):
            return []
        return [_push(pair, now)]

    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        return [_push(pair, s) for pair, s in self.firehose_ticks(conn, EXCHANGE, count)]

    def _listed(self, arg: Any) -> tuple[Pair, Fields] | None:
        """The pair and its market state behind a ``tickers`` arg, or None when OKX would refuse it."""
        if not isinstance(arg, dict) or arg.get("channel") != _CHANNEL:
            return None
        pair = _pair(arg.get("instId"))
        state = None if pair is None else self.state(pair, EXCHANGE)
        return None if pair is None or state is None else (pair, state)

    def _subscribe(self, conn: VenueConn, arg: Any) -> list[str]:
        listed = self._listed(arg)
        if listed is None:
            return [_not_found(conn, arg)]
        pair, state = listed
        inst = _inst(pair)
        # A repeated subscribe is acked again, with a fresh full ticker.
        conn.subs[inst] = pair
        conn.sent[pair] = state
        return [_ack(conn, "subscribe", inst), _push(pair, state)]

    def _unsubscribe(self, conn: VenueConn, arg: Any) -> list[str]:
        listed = self._listed(arg)
        if listed is None:
            return [_not_found(conn, arg)]
        pair, _ = listed
        inst = _inst(pair)
        conn.subs.pop(inst, None)
        conn.sent.pop(pair, None)
        return [_ack(conn, "unsubscribe", inst)]


def _conn_id(conn: VenueConn) -> str:
    """OKX's connId: 8 hex digits, stable for a socket."""
    return f"{(conn.conn_id * 0x9E3779B1) & 0xFFFFFFFF:08x}"


def _ack(conn: VenueConn, event: str, inst: str) -> str:
    return dumps({"event": event, "arg": {"channel": _CHANNEL, "instId": inst}, "connId": _conn_id(conn)})


def _error(conn: VenueConn, code: str, msg: str) -> str:
    return dumps({"event": "error", "code": code, "msg": msg, "connId": _conn_id(conn)})


def _not_found(conn: VenueConn, arg: Any) -> str:
    channel = arg.get("channel") if isinstance(arg, dict) else None
    inst = arg.get("instId") if isinstance(arg, dict) else None
    words = (
        f"Wrong URL or channel:{channel},instId:{inst} doesn't exist. "
        "Please use the correct URL, channel and parameters referring to API document."
    )
    return _error(conn, "60018", words)


def _pair(inst: Any) -> Pair | None:
    if not isinstance(inst, str) or inst.count("-") != 1:
        return None
    base, quote = inst.split("-")
    if quote != QUOTE or not (base.isascii() and base.isalnum() and base.isupper()):
        return None
    return Pair(Source.OKX, base, quote)


def _inst(pair: Pair) -> str:
    return f"{pair.base}-{pair.quote}"


def _text(value: float) -> str:
    """A number as OKX writes it: a plain decimal string, no exponent, no trailing zeros (``"83766.8"``)."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".") or "0"
    return text.removesuffix(".0")


def _price(value: Any) -> str:
    """A market price at OKX's level (``BASIS`` above Binance), rounded as prices are."""
    return _text(round_price(float(value) * (1.0 + BASIS)))


def _push(pair: Pair, s: Fields) -> str:
    price = s["PRICE"]
    day_open = _price(s.get("OPENDAY") or price)
    ticker = {
        "instType": "SPOT",
        "instId": _inst(pair),
        "last": _price(price),
        "lastSz": _text(float(s.get("LASTVOLUME") or 0.01)),
        "askPx": _price(s.get("ASK") or price),
        "askSz": "0.5",
        "bidPx": _price(s.get("BID") or price),
        "bidSz": "0.75",
        "open24h": _price(s.get("OPEN24HOUR") or price),
        "high24h": _price(s.get("HIGH24HOUR") or price),
        "low24h": _price(s.get("LOW24HOUR") or price),
        "sodUtc0": day_open,
        "sodUtc8": day_open,  # the market keeps no UTC+8 day; never read by ccdesk
        "volCcy24h": _text(float(s.get("VOLUME24HOURTO") or 0.0)),
        "vol24h": _text(float(s.get("VOLUME24HOUR") or 0.0)),
        "ts": str(int(float(s.get("LASTUPDATE") or 0) * 1000)),
    }
    return dumps({"arg": {"channel": _CHANNEL, "instId": _inst(pair)}, "data": [ticker]})
