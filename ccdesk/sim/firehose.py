"""The firehose: a replayable cycle of distinct update frames, written to a socket unpaced or paced.

The cycle is built here from the market, once per burst: CryptoCompare's partials (``build_cycle``),
or the same ticks as market state (``ticker_states``) that a venue writes in its own dialect
(``Venue.firehose``). The pump is one for every dialect: it only replays encoded frames."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from ccdesk.core.pairs import Channel, Pair
from ccdesk.sim.frames import TRADE_BUY, TRADE_SELL, Frame
from ccdesk.sim.market import (
    ASK_DOWN,
    ASK_UP,
    BID_DOWN,
    BID_UP,
    MEDIAN_DOWN,
    MEDIAN_UP,
    PRICE_DOWN,
    PRICE_UP,
    Fields,
    Instrument,
    Market,
    round_money,
    round_price,
    round_volume,
)

#: Distinct frames in one cycle: built and encoded once per burst, then replayed.
CYCLE_FRAMES = 4096
PACE_S = 0.02  # paced firehose: one write every 20 ms


@dataclass(frozen=True, slots=True)
class FirehoseRun:
    """One finished firehose burst on one connection (times from the server's monotonic clock)."""

    conn_id: int
    frames: int
    bytes: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


class Socket(Protocol):
    """What the firehose needs of one server connection."""

    @property
    def conn_id(self) -> int: ...

    @property
    def ws(self) -> ServerConnection: ...

    @property
    def subscribed(self) -> bool: ...  # the burst ends once nothing is (SubRemove, unsubscribe)

    @property
    def frozen(self) -> bool: ...  # half-open: write nothing while set

    frames_sent: int


def build_cycle(market: Market, subs: Sequence[Pair], count: int = CYCLE_FRAMES) -> list[Frame]:
    """``count`` distinct update frames cycling over ``subs`` (round robin), every one with a
    new price for its pair. FLAGS compare with the previous frame of the same pair *cyclically*,
    so the list can be replayed in a loop and stays consistent. Uses its own random generator
    (the market's state is not changed).

    Type-5/2 subs get partial frames shaped like the real ones after a trade (price, bid/ask,
    the trade, running hour/day/24 h volumes; the aggregate adds MEDIAN and market caps);
    type-0 subs get trade frames.
    """
    subs = [s for s in subs if market.has(s)]
    if not subs:
        return []
    if count < 2 * len(subs):
        raise ValueError("count must be at least two frames per sub")
    rng = random.Random(f"firehose-{market.seed}")
    wall = int(market.now())
    prices: list[list[float]] = []
    for k, sub in enumerate(subs):
        inst = market.instrument(sub)
        p = inst.fields["PRICE"]
        # By position, not subs.index(sub): two positions may name one instrument (a venue's two
        # pairs on one market instrument), and each needs its own share of the round robin.
        per_sub = count // len(subs) + (1 if k < count % len(subs) else 0)
        seq: list[float] = []
        for _ in range(per_sub):
            new = round_price(p * (1.0 + rng.gauss(0.0, 2e-4)))
            if new == p or (seq and new == seq[-1]):
                new = _nudge(p, up=rng.random() < 0.5)
            seq.append(new)
            p = new
        if seq[0] == seq[-1]:
            seq[-1] = _nudge(seq[-1], up=seq[-2] < seq[-1])
        prices.append(seq)
    frames: list[Frame] = []
    pos = [0] * len(subs)
    volumes = [
        {
            name: float(market.instrument(sub).fields.get(name, 0.0))
            for name in (
                "VOLUMEHOUR",
                "VOLUMEHOURTO",
                "VOLUMEDAY",
                "VOLUMEDAYTO",
                "VOLUME24HOUR",
                "VOLUME24HOURTO",
            )
        }
        for sub in subs
    ]
    for i in range(count):
        k = i % len(subs)
        sub, inst = subs[k], market.instrument(subs[k])
        seq = prices[k]
        j = pos[k]
        pos[k] += 1
        price, prev = seq[j], seq[j - 1]  # j == 0 compares with the last one (the cycle wraps)
        qty = round_volume(inst.trade_size * rng.expovariate(1.0))
        trade_id = str(inst.next_trade_id + 1 + i)
        if sub.channel is Channel.TRADE:
            frames.append(
                {
                    "TYPE": "0",
                    "M": sub.market,
                    "FSYM": sub.base,
                    "TSYM": sub.quote,
                    "F": str(TRADE_BUY if price > prev else TRADE_SELL),
                    "ID": trade_id,
                    "TS": wall,
                    "Q": qty,
                    "P": price,
                    "TOTAL": round_money(qty * price),
                    "RTS": wall,
                    "CCSEQ": inst.seq + 1 + i,
                }
            )
        else:
            frames.append(_ticker_frame(sub, inst, price, prev, qty, trade_id, wall, volumes[k]))
    return frames


def _ticker_frame(
    sub: Pair,
    inst: Instrument,
    price: float,
    prev: float,
    qty: float,
    trade_id: str,
    wall: int,
    volumes: dict[str, float],
) -> Frame:
    """A firehose ticker frame shaped like the real partial after a trade (see the recorded
    frames): price, bid/ask/median, the trade, running volumes and, for the aggregate, market caps."""
    up = price > prev
    for name in ("VOLUMEHOUR", "VOLUMEDAY", "VOLUME24HOUR"):
        volumes[name] += qty
        volumes[name + "TO"] += qty * price
    half = price * inst.half_spread
    frame: Frame = {
        "TYPE": str(int(sub.channel)),
        "MARKET": sub.market,
        "FROMSYMBOL": sub.base,
        "TOSYMBOL": sub.quote,
        "FLAGS": (PRICE_UP | BID_UP | ASK_UP) if up else (PRICE_DOWN | BID_DOWN | ASK_DOWN),
        "PRICE": price,
        "BID": round_price(price - half),
        "ASK": round_price(price + half),
        "LASTUPDATE": wall,
        "LASTVOLUME": qty,
        "LASTVOLUMETO": round_money(qty * price),
        "LASTTRADEID": trade_id,
    }
    for name, value in volumes.items():
        frame[name] = round_money(value) if name.endswith("TO") else round_volume(value)
    if sub.channel is Channel.AGGREGATE:
        frame["FLAGS"] |= MEDIAN_UP if up else MEDIAN_DOWN
        frame["MEDIAN"] = price
        for supply, cap in (
            ("CURRENTSUPPLY", "CURRENTSUPPLYMKTCAP"),
            ("CIRCULATINGSUPPLY", "CIRCULATINGSUPPLYMKTCAP"),
            ("MAXSUPPLY", "MAXSUPPLYMKTCAP"),
        ):
            units = inst.fields.get(supply)
            if isinstance(units, int | float) and units > 0:
                frame[cap] = round_money(units * price)
    return frame


def ticker_states(
    market: Market, subs: Sequence[Pair], count: int = CYCLE_FRAMES
) -> list[tuple[int, Fields]]:
    """The cycle of :func:`build_cycle` as market state, for a venue to write in its own dialect.

    Each item is (position in ``subs``, fields): the instrument's full state in the market's field
    names (``PRICE``, ``OPEN24HOUR``...), with the frame's new price, bid/ask, trade, running
    volumes and FLAGS on top. The hour, day and 24 h highs and lows are widened to the cycle's
    prices, so that no frame shows a price outside its own range. Every sub must be a ticker or
    aggregate the market has; a sub may appear twice (each position gets its own prices).

    Raises:
        KeyError: a sub the market does not have.
    """
    insts = [market.instrument(sub) for sub in subs]  # raises for one it does not have
    frames = build_cycle(market, subs, count)
    walks = [
        [inst.fields["PRICE"], *(f["PRICE"] for f in frames[k :: len(subs)])] for k, inst in enumerate(insts)
    ]
    highs, lows = [max(w) for w in walks], [min(w) for w in walks]
    out: list[tuple[int, Fields]] = []
    for i, frame in enumerate(frames):
        k = i % len(subs)
        state: Fields = {**insts[k].fields, **frame}
        for period in ("HOUR", "DAY", "24HOUR"):
            high, low = state.get("HIGH" + period), state.get("LOW" + period)
            if isinstance(high, int | float):
                state["HIGH" + period] = max(high, highs[k])
            if isinstance(low, int | float):
                state["LOW" + period] = min(low, lows[k])
        out.append((k, state))
    return out


def _nudge(p: float, *, up: bool) -> float:
    """``p`` moved by one unit of its last rounded digit."""
    digits = math.floor(math.log10(p)) + 1
    unit = 10.0 ** -min(10, max(2, 9 - digits))
    return round_price(p + unit if up else p - unit)


def ws_text_frame(payload: bytes) -> bytes:
    """An unmasked RFC 6455 text frame (FIN set, no extensions): what a server sends."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65_536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


async def pump(
    c: Socket,
    payloads: Sequence[bytes],
    *,
    limit: int | None,
    rate: float | None,
    on_done: Callable[[FirehoseRun], None],
) -> None:
    """Write ``payloads`` (JSON texts) to ``c`` as text frames over and over, as fast as the socket
    takes them.

    Generating frames in Python would be the bottleneck, so the cycle is encoded once and written
    straight to the transport as pre-built, unmasked RFC 6455 text frames, thousands per write(),
    with flow control through the connection's drain(). This bypasses websockets' send(); it is safe
    because every write() holds whole frames and the event loop is single-threaded, so anything
    websockets writes (pongs, heartbeats, the close frame) lands between two of our frames, never
    inside one. We stop before writing once the connection is no longer OPEN (nothing may follow a
    close).

    Args:
        c: the connection; the burst ends when it has no subscriptions left.
        payloads: the cycle, encoded (CryptoCompare's :func:`build_cycle`, a venue's
            ``Venue.firehose``); none: no burst.
        limit: stop after exactly this many frames; None: go on until unsubscribed or closed.
        rate: frames per second, written every :data:`PACE_S`; None: unpaced.
        on_done: called with the totals once the burst ends, also when it is cancelled.
    """
    encoded = [ws_text_frame(p) for p in payloads]
    offsets = [0, *itertools.accumulate(len(e) for e in encoded)]
    blob = b"".join(encoded)
    loop = asyncio.get_running_loop()
    sent = nbytes = 0
    started = loop.time()
    transport = c.ws.transport
    cycle = len(encoded)
    # Paced: rate frames/s, sent every PACE_S; unpaced: a whole cycle per write.
    per_write = cycle if rate is None else max(1, round(rate * PACE_S))
    pos = 0
    next_at = started
    try:
        while cycle and c.subscribed and c.ws.protocol.state is State.OPEN:
            if limit is not None and sent >= limit:
                break
            if c.frozen:
                await asyncio.sleep(0.05)
                continue
            n = per_write if limit is None else min(per_write, limit - sent)
            chunk = b""
            todo = n
            while todo:  # frames pos.. in the cycle, wrapping around
                take = min(todo, cycle - pos)
                chunk += blob[offsets[pos] : offsets[pos + take]]
                pos = (pos + take) % cycle
                todo -= take
            transport.write(chunk)
            sent += n
            c.frames_sent += n
            nbytes += len(chunk)
            await c.ws.drain()  # waits while the transport's buffer is above the high-water mark
            if rate is None:
                await asyncio.sleep(0)  # let the loop breathe when the reader keeps up
            else:
                next_at += PACE_S
                await asyncio.sleep(max(0.0, next_at - loop.time()))
    finally:
        on_done(FirehoseRun(c.conn_id, sent, nbytes, loop.time() - started))
