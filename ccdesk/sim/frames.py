"""Streamer v2 frames from the market model: snapshots, partial updates, trades, control and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ccdesk.core.pairs import Channel, Pair
from ccdesk.sim.market import Market, Trade, flags_between

Frame = dict[str, Any]

SERVER_NAME = "ccdesk-sim"
#: The windows the real streamer counts socket openings in, with its free-tier limits, as it reports
#: them in its welcome: name, limit, seconds.
RATE_LIMITS: tuple[tuple[str, int, int], ...] = (
    ("SECOND", 30, 1),
    ("MINUTE", 60, 60),
    ("HOUR", 1200, 3600),
    ("DAY", 10_000, 86_400),
    ("MONTH", 20_000, 30 * 86_400),
)
#: Openings older than the longest window count in none of them.
RATE_LIMIT_HORIZON_S = max(span for _, _, span in RATE_LIMITS)

#: F of a type-0 frame: the taker's side.
TRADE_SELL, TRADE_BUY = 1, 2

#: Sent in every type-5/2 frame, changed or not.
ALWAYS_FIELDS = ("TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL", "FLAGS")
#: Field order of a type-5/2 frame (the real streamer's order, then the index-only fields).
FIELD_ORDER = (
    *ALWAYS_FIELDS,
    "PRICE",
    "BID",
    "ASK",
    "LASTUPDATE",
    "MEDIAN",
    "LASTVOLUME",
    "LASTVOLUMETO",
    "LASTTRADEID",
    "VOLUMEDAY",
    "VOLUMEDAYTO",
    "VOLUME24HOUR",
    "VOLUME24HOURTO",
    "OPENDAY",
    "HIGHDAY",
    "LOWDAY",
    "OPEN24HOUR",
    "HIGH24HOUR",
    "LOW24HOUR",
    "LASTMARKET",
    "VOLUMEHOUR",
    "VOLUMEHOURTO",
    "OPENHOUR",
    "HIGHHOUR",
    "LOWHOUR",
    "TOPTIERVOLUME24HOUR",
    "TOPTIERVOLUME24HOURTO",
    "CURRENTSUPPLY",
    "CIRCULATINGSUPPLY",
    "MAXSUPPLY",
    "CURRENTSUPPLYMKTCAP",
    "CIRCULATINGSUPPLYMKTCAP",
    "MAXSUPPLYMKTCAP",
)
#: Fields a CCCAGG (type 5) frame has and an exchange ticker (type 2) does not.
INDEX_ONLY_FIELDS = frozenset(
    {
        "MEDIAN",
        "LASTMARKET",
        "TOPTIERVOLUME24HOUR",
        "TOPTIERVOLUME24HOURTO",
        "CURRENTSUPPLY",
        "CIRCULATINGSUPPLY",
        "MAXSUPPLY",
        "CURRENTSUPPLYMKTCAP",
        "CIRCULATINGSUPPLYMKTCAP",
        "MAXSUPPLYMKTCAP",
    }
)


def encode(frame: Frame) -> bytes:
    """A frame as the JSON text the streamer sends (compact, UTF-8)."""
    return orjson.dumps(frame)


def trade_frame(trade: Trade) -> Frame:
    """The type-0 frame of one trade."""
    ts = int(trade.wall)
    ns = int((trade.wall % 1) * 1e9)
    return {
        "TYPE": "0",
        "M": trade.market,
        "FSYM": trade.base,
        "TSYM": trade.quote,
        "F": str(TRADE_BUY if trade.buy else TRADE_SELL),
        "ID": str(trade.trade_id),
        "TS": ts,
        "Q": trade.qty,
        "P": trade.price,
        "TOTAL": trade.total,
        "RTS": ts,
        "CCSEQ": trade.seq,
        "TSNS": ns,
        "RTSNS": ns,
    }


class StreamView:
    """What one connection has been sent, per subscription: gives the snapshot first, then partial
    frames with only the fields that changed since (plus the always-present ones), FLAGS computed
    against the values this connection last saw; for trades, only trades it has not seen yet."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._sent: dict[Pair, Frame] = {}
        self._trade_seq: dict[Pair, int] = {}

    def snapshot(self, sub: Pair) -> Frame:
        """The full frame for a type-5/2 ``sub``; later :meth:`update` calls diff against it."""
        frame = self._market.snapshot(sub)
        self._sent[sub] = dict(frame)
        return frame

    def replay(self, sub: Pair) -> list[Frame]:
        """The last trades of a type-0 ``sub`` (what the streamer replays on subscribe)."""
        trades = self._market.trades(sub)
        self._trade_seq[sub] = trades[-1].seq if trades else -1
        return [trade_frame(t) for t in trades]

    def update(self, sub: Pair) -> list[Frame]:
        """Frames to bring this connection up to date on ``sub``: one partial type-5/2 frame, or
        the new trades; ``[]`` if nothing changed. :meth:`snapshot`/:meth:`replay` must come first."""
        if sub.channel is Channel.TRADE:
            last = self._trade_seq[sub]
            new = [t for t in self._market.trades(sub) if t.seq > last]
            if new:
                self._trade_seq[sub] = new[-1].seq
            return [trade_frame(t) for t in new]
        sent = self._sent[sub]
        inst = self._market.instrument(sub)
        cur = inst.fields
        changed = {
            k: cur[k] for k in FIELD_ORDER if k not in ALWAYS_FIELDS and k in cur and sent.get(k) != cur[k]
        }
        if not changed:
            return []
        frame: Frame = {k: cur[k] for k in ALWAYS_FIELDS}
        frame["FLAGS"] = flags_between(cur, sent, inst.flag_fields)
        frame.update(changed)
        sent.update(changed)
        sent["FLAGS"] = frame["FLAGS"]
        return [frame]

    def forget(self, sub: Pair) -> None:
        """Drop ``sub`` (after SubRemove); a later SubAdd starts with a snapshot again."""
        self._sent.pop(sub, None)
        self._trade_seq.pop(sub, None)


# --- control frames -------------------------------------------------------------------------------


def welcome(
    *,
    conn_id: int,
    uptime_s: float,
    wall: float,
    active: int,
    max_sockets: int,
    opened: Sequence[float],
    now: float,
) -> Frame:
    """TYPE 20 STREAMERWELCOME, the first frame on a socket.

    Args:
        conn_id: the connection's id (CLIENT_ID, SOCKET_ID).
        uptime_s: seconds since the server started.
        wall: unix seconds (SERVER_TIME_MS).
        active: welcomed sockets open on this key, this one included.
        max_sockets: sockets allowed per key.
        opened: when this key opened sockets, on the clock of ``now`` (for the RATELIMIT_* fields).
        now: the present on a monotonic clock.
    """
    frame: Frame = {
        "TYPE": "20",
        "MESSAGE": "STREAMERWELCOME",
        "SERVER_UPTIME_SECONDS": int(uptime_s),
        "SERVER_NAME": SERVER_NAME,
        "SERVER_TIME_MS": int(wall * 1000),
        "CLIENT_ID": conn_id,
        "DATA_FORMAT": "JSON",
        "SOCKET_ID": f"sim-{conn_id}",
        "SOCKETS_ACTIVE": active,
        "SOCKETS_REMAINING": max(0, max_sockets - active),
    }
    for name, limit, _ in RATE_LIMITS:
        frame[f"RATELIMIT_MAX_{name}"] = limit
    for name, limit, span in RATE_LIMITS:
        used = sum(1 for t in opened if now - t <= span)
        frame[f"RATELIMIT_REMAINING_{name}"] = max(0, limit - used)
    return frame


def subscribe_complete(sub: str) -> Frame:
    """TYPE 16: ``sub`` is on; its snapshot or trade replay came just before."""
    return {"TYPE": "16", "MESSAGE": "SUBSCRIBECOMPLETE", "SUB": sub}


def load_complete() -> Frame:
    """TYPE 3: every sub of one SubAdd has been handled."""
    return {"TYPE": "3", "MESSAGE": "LOADCOMPLETE", "INFO": "All your valid subs have been loaded."}


def unsubscribe_complete(sub: str) -> Frame:
    """TYPE 17: ``sub`` is off."""
    return {"TYPE": "17", "MESSAGE": "UNSUBSCRIBECOMPLETE", "SUB": sub}


def unsubscribe_all_complete(valid: int, invalid: int) -> Frame:
    """TYPE 18: every sub of one SubRemove has been handled."""
    return {
        "TYPE": "18",
        "MESSAGE": "UNSUBSCRIBEALLCOMPLETE",
        "INFO": f"Removed {valid} subs.",
        "INFO_OBJ": {"valid": valid, "invalid": invalid},
    }


def heartbeat(wall: float) -> Frame:
    """TYPE 999 at unix time ``wall``."""
    return {"TYPE": "999", "MESSAGE": "HEARTBEAT", "TIMEMS": int(wall * 1000)}


def force_disconnect() -> Frame:
    """TYPE 500 FORCE_DISCONNECT: the server is about to close the socket."""
    return {"TYPE": "500", "MESSAGE": "FORCE_DISCONNECT"}


def unauthorized() -> Frame:
    """TYPE 401, sent instead of the welcome when the key is missing or wrong."""
    return {
        "TYPE": "401",
        "MESSAGE": "UNAUTHORIZED",
        "PARAMETER": "api_key",
        "INFO": "We only support JSON format with a valid api_key.",
    }


def too_many_sockets(max_sockets: int) -> Frame:
    """TYPE 429, sent instead of the welcome when the key already has ``max_sockets`` open."""
    return {
        "TYPE": "429",
        "MESSAGE": f"TOO_MANY_SOCKETS_MAX_{max_sockets}_PER_CLIENT",
        "INFO": "You have reached your maximum sockets open for your subscription",
    }


def too_many_subscriptions(max_subs: int) -> Frame:
    """TYPE 429, sent once for a SubAdd that would go over ``max_subs`` pairs on one socket."""
    return {
        "TYPE": "429",
        "MESSAGE": f"TOO_MANY_SUBSCRIPTIONS_MAX_{max_subs}_PER_SOCKET",
        "INFO": "You have reached the maximum number of subscriptions for this socket",
    }


# --- errors (TYPE 500) ----------------------------------------------------------------------------


def error(message: str, parameter: str, info: str) -> Frame:
    """A TYPE 500 error; PARAMETER only when there is one, as the real streamer does."""
    frame: Frame = {"TYPE": "500", "MESSAGE": message}
    if parameter:
        frame["PARAMETER"] = parameter
    frame["INFO"] = info
    return frame


def invalid_json() -> Frame:
    return error("INVALID_JSON", "", "We only accept JSON messages.")


def invalid_action() -> Frame:
    return error("INVALID_PARAMETER", "action", "The action must be SubAdd or SubRemove.")


def invalid_subs() -> Frame:
    return error("INVALID_PARAMETER", "subs", "subs must be a list of strings.")


def invalid_sub(text: str) -> Frame:
    """``text`` is no subscription the streamer serves (malformed, unknown, or not verbatim)."""
    return error(
        "INVALID_SUB",
        text,
        "We have not integrated any of the exchanges this pair trades on or we have not currently mapped it.",
    )


def already_subscribed(sub: str) -> Frame:
    return error("SUBSCRIPTION_ALREADY_ACTIVE", sub, "You are already subscribed to this.")


def not_subscribed(text: str) -> Frame:
    return error("SUBSCRIPTION_UNRECOGNIZED", text, "You are not subscribed to this.")
