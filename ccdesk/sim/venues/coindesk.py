"""The CoinDesk Data Streamer's index ticks on the simulated market.

``cadli`` is the market's CCCAGG aggregate of each pair; ``ccix`` and ``ccixbe`` are the same at a
tiny basis and list USD instruments only. The control frames follow the two client tables in
``../shared/SOURCES.md``; no real 4002, 4004, 4006, 4011 or 4013 frame was found, so their MESSAGE
and INFO words here are the simulator's own (a client must not depend on them).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ccdesk.core.pairs import Channel, Pair, Source
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import CYCLE_FRAMES
from ccdesk.sim.market import Market, round_price
from ccdesk.sim.venues.base import Fields, Venue, VenueConn, dumps, loads

TICK_TYPE = "index_cc_v1_latest_tick"
TICK_TYPE_NUMBER = "1101"
"""The TYPE the ticks go out with (``"985"``, ``"987"`` and ``"266"`` also carry index ticks)."""
MARKETS: dict[str, float] = {"cadli": 0.0, "ccix": 1e-4, "ccixbe": -1e-4}
"""Each index market and its basis to the CCCAGG aggregate."""
GROUPS = ("VALUE", "CURRENT_HOUR", "CURRENT_DAY", "MOVING_24_HOUR")
_FLAG_WORDS = {1: "UP", 2: "DOWN", 4: "UNCHANGED"}
_ENVELOPE = ("TYPE", "MARKET", "INSTRUMENT")
_GROUPS_NOTE = "groups"  # VenueConn.notes: wire key -> the groups that pair was subscribed with
_SEQ_NOTE = "ccseq"  # VenueConn.notes: the last CCSEQ sent on the socket


class CoinDeskVenue(Venue):
    """``/coindesk``: a 4000 welcome on connect (a 4002 instead, and a close, for the first
    ``coindesk_rate_limited`` sockets); a 4011 after it when the key is missing or not accepted, with
    the data flowing all the same; ``SUBSCRIBE``/``UNSUBSCRIBE`` of one market's instruments, each
    answered 4005 and a full tick, 4004 (not a valid instrument) or 4006 (not on that index), then a
    4007 with counts; partial ticks (only what changed) after that; a 4013 heartbeat every 30 s."""

    source = Source.COINDESK
    path = "/coindesk"
    heartbeat_s: ClassVar[float | None] = 30.0
    needs_key: ClassVar[bool] = True

    def __init__(self, market: Market, config: SimConfig) -> None:
        super().__init__(market, config)
        self._opened = 0  # sockets opened so far: the first config.coindesk_rate_limited get 4002

    def on_open(self, conn: VenueConn) -> list[str]:
        self._opened += 1
        if self._opened <= self.config.coindesk_rate_limited:
            conn.closing = (1000, "rate limit")
            info = "You are opening connections too fast. Please wait a few minutes and try again."
            return [dumps({"TYPE": "4002", "MESSAGE": "RATE_LIMIT_OPENING_SOCKETS_TOO_FAST", "INFO": info})]
        out = [dumps({"TYPE": "4000", "MESSAGE": "SESSIONWELCOME"})]
        if not conn.key_ok:
            info = "The API key is missing or invalid; IP rate limits now apply."
            out.append(dumps({"TYPE": "4011", "MESSAGE": "INVALID_API_KEY", "INFO": info}))
        return out

    def on_message(self, conn: VenueConn, text: str) -> list[str]:
        msg = loads(text)
        if not isinstance(msg, dict):
            return [_control("4001", "STREAMER_ERROR", "The message is not valid JSON.")]
        action = msg.get("action")
        if action not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return [_control("4012", "INVALID_MESSAGE", f"Unknown action {str(action)[:40]}.")]
        market, instruments, groups = msg.get("market"), msg.get("instruments"), msg.get("groups", GROUPS)
        if msg.get("type") != TICK_TYPE or not isinstance(market, str) or market not in MARKETS:
            return [_control("4004", "SUBSCRIPTION_VALIDATION_ERROR", "Unknown type or market.")]
        if not isinstance(instruments, list) or not instruments:
            return [_control("4004", "SUBSCRIPTION_VALIDATION_ERROR", "instruments must be a list.")]
        if not isinstance(groups, list | tuple) or not all(g in GROUPS for g in groups):
            return [_control("4004", "SUBSCRIPTION_VALIDATION_ERROR", "Unknown group.")]
        if action == "SUBSCRIBE":
            return self._subscribe(conn, market, instruments, frozenset(groups))
        return self._unsubscribe(conn, market, instruments)

    def updates(self, conn: VenueConn, pair: Pair) -> list[str]:
        key = _key(pair)
        state = self.state(pair, None)
        if state is None:
            return []
        now = _tick(pair, state, _groups(conn, key))
        before = conn.sent.get(pair, {})
        partial = _partial(conn, now, before)
        if partial is None:
            return []
        conn.sent[pair] = now
        return [partial]

    def heartbeat(self, conn: VenueConn) -> list[str]:
        return [dumps({"TYPE": "4013", "MESSAGE": "HEARTBEAT"})]

    def firehose(self, conn: VenueConn, count: int = CYCLE_FRAMES) -> list[str]:
        """Partial ticks, as the streamer sends them: each against the pair's previous tick in the
        cycle (its first against its last, as the cycle is replayed in a loop)."""
        ticks = [(p, _tick(p, s, _groups(conn, _key(p)))) for p, s in self.firehose_ticks(conn, None, count)]
        before = dict(ticks)  # each pair's last tick
        out: list[str] = []
        for pair, tick in ticks:
            partial = _partial(conn, tick, before[pair])
            assert partial is not None  # a new VALUE in every tick
            out.append(partial)
            before[pair] = tick
        return out

    def _subscribe(
        self, conn: VenueConn, market: str, instruments: list[Any], groups: frozenset[str]
    ) -> list[str]:
        out: list[str] = []
        accepted = rejected = 0
        for instrument in instruments:
            pair = _pair(market, instrument)
            shown = instrument[:40] if isinstance(instrument, str) else type(instrument).__name__
            sub_id = f"{TICK_TYPE_NUMBER}~{{{market}~{shown}}}"
            state = None if pair is None else self.state(pair, None)
            if pair is None or state is None:
                info = f"{shown} is not a valid instrument on {market}."
                out.append(_control("4004", "SUBSCRIPTION_VALIDATION_ERROR", info, sub_id))
                rejected += 1
                continue
            if market != "cadli" and pair.quote != "USD":
                info = f"{instrument} is not part of the {market} index family."
                out.append(_control("4006", "SUBSCRIPTION_REJECTED", info, sub_id))
                rejected += 1
                continue
            key = _key(pair)
            conn.subs[key] = pair
            conn.notes.setdefault(_GROUPS_NOTE, {})[key] = groups
            tick = _tick(pair, state, groups)
            conn.sent[pair] = tick
            accepted += 1
            accept = {
                "TYPE": "4005",
                "MESSAGE": "SUBSCRIPTION_ACCEPTED",
                "SUPPORTED_MESSAGE_TYPES": [TICK_TYPE_NUMBER, "266", "985", "987"],
                "SUBSCRIPTION_ID": sub_id,
            }
            out += [dumps(accept), dumps({**tick, "CCSEQ": _next_seq(conn)})]
        complete = {
            "TYPE": "4007",
            "MESSAGE": "SUBSCRIPTION_ADD_COMPLETE",
            "INFO": "All valid subscriptions have been added.",
            "ACCEPTED_SUBSCRIPTIONS": accepted,
            "REJECTED_SUBSCRIPTIONS": rejected,
        }
        return [*out, dumps(complete)]

    def _unsubscribe(self, conn: VenueConn, market: str, instruments: list[Any]) -> list[str]:
        out: list[str] = []
        for instrument in instruments:
            if not isinstance(instrument, str):
                continue
            key = f"{market}:{instrument}"
            pair = conn.subs.pop(key, None)
            if pair is None:
                continue
            conn.sent.pop(pair, None)
            conn.notes.get(_GROUPS_NOTE, {}).pop(key, None)
            sub_id = f"{TICK_TYPE_NUMBER}~{{{market}~{instrument}}}"
            out.append(_control("4008", "SUBSCRIPTION_REMOVE_COMPLETE", "Removed.", sub_id))
        out.append(_control("4009", "SUBSCRIPTION_REMOVE_ALL_COMPLETE", f"Removed {len(out)} subscriptions."))
        return out


def _control(t: str, message: str, info: str, sub_id: str | None = None) -> str:
    frame = {"TYPE": t, "MESSAGE": message, "INFO": info}
    if sub_id is not None:
        frame["SUBSCRIPTION_ID"] = sub_id
    return dumps(frame)


def _groups(conn: VenueConn, key: str) -> frozenset[str]:
    """The groups a pair was subscribed with on ``conn``."""
    groups: frozenset[str] = conn.notes.get(_GROUPS_NOTE, {}).get(key, frozenset(GROUPS))
    return groups


def _partial(conn: VenueConn, now: Fields, before: Fields) -> str | None:
    """The partial tick from ``before`` to ``now``: the envelope, the socket's next CCSEQ and what
    changed; None when nothing did."""
    changed = {k: v for k, v in now.items() if k not in _ENVELOPE and before.get(k) != v}
    if not changed:
        return None
    return dumps({**{k: now[k] for k in _ENVELOPE}, "CCSEQ": _next_seq(conn), **changed})


def _next_seq(conn: VenueConn) -> int:
    seq: int = conn.notes.get(_SEQ_NOTE, 0) + 1
    conn.notes[_SEQ_NOTE] = seq
    return seq


def _pair(market: str, instrument: Any) -> Pair | None:
    if not isinstance(instrument, str) or instrument.count("-") != 1:
        return None
    base, quote = instrument.split("-")
    for sym in (base, quote):
        if not (sym.isascii() and sym.isalnum() and sym.isupper()):
            return None
    return Pair(Source.COINDESK, base, quote, market, Channel.AGGREGATE)


def _key(pair: Pair) -> str:
    return f"{pair.market}:{pair.base}-{pair.quote}"


def _tick(pair: Pair, s: Fields, groups: frozenset[str]) -> Fields:
    """A full tick of ``pair`` from the aggregate's state, with the groups asked for."""
    k = 1.0 + MARKETS[pair.market]
    price = round_price(float(s["PRICE"]) * k)
    tick: Fields = {
        "TYPE": TICK_TYPE_NUMBER,
        "MARKET": pair.market,
        "INSTRUMENT": f"{pair.base}-{pair.quote}",
    }
    if "VALUE" in groups:
        tick["VALUE"] = price
        tick["VALUE_FLAG"] = _FLAG_WORDS.get(int(s.get("FLAGS") or 4) & 7, "UNCHANGED")
        tick["VALUE_LAST_UPDATE_TS"] = int(s.get("LASTUPDATE") or 0)
        tick["VALUE_LAST_UPDATE_TS_NS"] = 0
    periods = (
        ("CURRENT_HOUR", "OPENHOUR", "HIGHHOUR", "LOWHOUR", "VOLUMEHOUR", "VOLUMEHOURTO"),
        ("CURRENT_DAY", "OPENDAY", "HIGHDAY", "LOWDAY", "VOLUMEDAY", "VOLUMEDAYTO"),
        ("MOVING_24_HOUR", "OPEN24HOUR", "HIGH24HOUR", "LOW24HOUR", "VOLUME24HOUR", "VOLUME24HOURTO"),
    )
    for group, open_, high, low, volume, quote_volume in periods:
        if group not in groups:
            continue
        opened = round_price(float(s.get(open_) or s["PRICE"]) * k)
        tick[f"{group}_OPEN"] = opened
        tick[f"{group}_HIGH"] = max(round_price(float(s.get(high) or 0.0) * k), price)
        tick[f"{group}_LOW"] = min(round_price(float(s.get(low) or s["PRICE"]) * k), price)
        tick[f"{group}_VOLUME"] = float(s.get(volume) or 0.0)
        tick[f"{group}_QUOTE_VOLUME"] = float(s.get(quote_volume) or 0.0)
        tick[f"{group}_CHANGE"] = price - opened
        tick[f"{group}_CHANGE_PERCENTAGE"] = (price - opened) / opened * 100.0
    return tick
