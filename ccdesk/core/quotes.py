"""Per-pair quote state: merges partial frames, derives 24 h/day/hour change, decodes FLAGS.

Pure and single-threaded: the stream thread mutates a QuoteBook; other threads only ever see
the immutable ``Quote`` snapshots it hands out. Time comes from an injected clock.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from ccdesk.core.clock import Clock
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.wire import QuoteUpdate, Trade, TradeSide

_RECENT_TRADE_IDS: Final = 64
"""Trade ids remembered per pair: more than a replay (~20) holds, so a replay is always recognised."""


class PriceFlags(enum.IntFlag):
    """The FLAGS bitmask of a ticker frame. It describes the last change, not the 24 h move."""

    PRICE_UP = 1
    PRICE_DOWN = 2
    PRICE_UNCHANGED = 4
    BID_UP = 8
    BID_DOWN = 16
    BID_UNCHANGED = 32
    ASK_UP = 64
    ASK_DOWN = 128
    ASK_UNCHANGED = 256
    MEDIAN_UP = 512
    MEDIAN_DOWN = 1024
    MEDIAN_UNCHANGED = 2048


class PriceDirection(enum.Enum):
    """Which way the last price change went."""

    UP = "up"
    DOWN = "down"
    UNCHANGED = "unchanged"


# The direction of each value of FLAGS' low three bits (1 up, 2 down, 4 unchanged; the first set
# wins), looked up rather than tested: it runs for every frame, and on Python 3.11 each access to an
# Enum member (PriceDirection.UP) is a descriptor call.
_DIRECTIONS: Final[tuple[PriceDirection | None, ...]] = (
    None,  # 0
    PriceDirection.UP,  # 1
    PriceDirection.DOWN,  # 2
    PriceDirection.UP,  # 1 + 2
    PriceDirection.UNCHANGED,  # 4
    PriceDirection.UP,  # 1 + 4
    PriceDirection.DOWN,  # 2 + 4
    PriceDirection.UP,  # 1 + 2 + 4
)


def price_direction(flags: int) -> PriceDirection | None:
    """The price direction encoded in a FLAGS value (bits 1/2/4), or None if it has none.

    >>> price_direction(2050)  # 2048 (median unchanged) + 2 (price down)
    <PriceDirection.DOWN: 'down'>
    """
    return _DIRECTIONS[flags & 7]


def _change(price: float | None, ref: float | None) -> float | None:
    return None if price is None or ref is None else price - ref


def _change_pct(price: float | None, ref: float | None) -> float | None:
    # ref is validated > 0 by the parser; the guard keeps this total anyway.
    return None if price is None or not ref else (price - ref) / ref * 100.0


@dataclass(frozen=True, slots=True)
class Quote:
    """An immutable snapshot of one subscription's merged state, safe to pass across threads.

    Changes are computed here because the stream has no CHANGE*/CHANGEPCT* fields:
    ``change_pct_24h = (price - open_24h) / open_24h * 100``, None while either is unknown.
    """

    sub: Pair
    price: float | None
    direction: PriceDirection | None
    open_24h: float | None = None
    high_24h: float | None = None
    low_24h: float | None = None
    volume_24h: float | None = None
    volume_24h_to: float | None = None
    open_day: float | None = None
    open_hour: float | None = None
    bid: float | None = None
    ask: float | None = None
    last_market: str | None = None
    last_update: float | None = None
    """Server's timestamp of the last change (unix s)."""
    last_quantity: float | None = None
    last_side: TradeSide | None = None
    received_at: float = 0.0
    """Monotonic time this pair's own data last arrived (heartbeats do not count)."""
    basis: tuple[Source, ...] = ()
    """A composite price: the venues whose fresh prices it is the median of (empty: none is fresh)."""

    @property
    def change_24h(self) -> float | None:
        return _change(self.price, self.open_24h)

    @property
    def change_pct_24h(self) -> float | None:
        return _change_pct(self.price, self.open_24h)

    @property
    def change_day(self) -> float | None:
        return _change(self.price, self.open_day)

    @property
    def change_pct_day(self) -> float | None:
        return _change_pct(self.price, self.open_day)

    @property
    def change_hour(self) -> float | None:
        return _change(self.price, self.open_hour)

    @property
    def change_pct_hour(self) -> float | None:
        return _change_pct(self.price, self.open_hour)

    def age_s(self, now: float) -> float:
        """Seconds since this pair's data last arrived, given monotonic ``now``."""
        return max(0.0, now - self.received_at)

    def is_stale(self, now: float, threshold_s: float) -> bool:
        """True when this pair's own data is older than ``threshold_s``."""
        return now - self.received_at > threshold_s


class _State:
    """Mutable merged state of one subscription (never leaves the QuoteBook)."""

    __slots__ = (
        "direction",
        "fields",
        "last_quantity",
        "last_side",
        "price",
        "received_at",
        "trade_ids",
        "trade_ts",
    )

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.price: float | None = None
        self.direction: PriceDirection | None = None
        self.received_at = 0.0
        self.last_quantity: float | None = None
        self.last_side: TradeSide | None = None
        self.trade_ts = -math.inf  # the newest trade's time seen
        self.trade_ids: deque[str] = deque(maxlen=_RECENT_TRADE_IDS)  # ids seen at or near it


class QuoteBook:
    """Merged state of every subscription. Not thread-safe: owned by the stream thread."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[Pair, _State] = {}

    def apply_update(self, update: QuoteUpdate) -> float | None:
        """Merge a ticker frame. Returns the frame's price if it carried one, else None."""
        return self.merge_update(update)[1]

    def merge_update(self, update: QuoteUpdate) -> tuple[float | None, float | None]:
        """``apply_update`` that also says what the price was before: (the last price, or None;
        the frame's price, or None). One call per frame for the stream's hot path."""
        state = self._states.get(update.sub)
        if state is None:
            state = self._states[update.sub] = _State()
        fields = update.fields
        state.fields.update(fields)
        state.received_at = self._clock.monotonic()
        prev = state.price
        price = fields.get("PRICE")
        if price is None:
            return prev, None
        flags = fields.get("FLAGS")
        if flags is not None:
            # Already an int >= 0: the parser converts FLAGS (number or ASCII digits), so nothing
            # here ever calls int() on wire text. price_direction(flags), inline (speed).
            direction = _DIRECTIONS[flags & 7]
            if direction is not None:
                state.direction = direction
        state.price = price
        return prev, float(price)

    def apply_trade(self, trade: Trade) -> float | None:
        """Merge a trade that is newer than every one seen: it sets the last price, quantity and side.

        The server replays a pair's last ~20 trades on every (re)subscribe. A replayed trade (older
        than the newest seen, or one whose id was seen) is not news: it returns None and changes
        nothing, so the price never jumps back and alerts never see history as if it were now.

        Returns:
            The trade's price, or None for a replay.
        """
        state = self._states.get(trade.sub)
        if state is None:
            state = self._states[trade.sub] = _State()
        ts, tid = trade.ts, trade.trade_id
        if ts is not None:
            if ts < state.trade_ts or (tid is not None and tid in state.trade_ids):
                return None
            if ts > state.trade_ts:
                state.trade_ts = ts
        elif tid is not None and tid in state.trade_ids:
            return None
        if tid is not None:
            state.trade_ids.append(tid)
        prev = state.price
        if prev is not None:
            state.direction = (
                PriceDirection.UP
                if trade.price > prev
                else PriceDirection.DOWN
                if trade.price < prev
                else PriceDirection.UNCHANGED
            )
        state.price = trade.price
        state.last_quantity = trade.quantity
        state.last_side = trade.side
        state.received_at = self._clock.monotonic()
        if trade.ts is not None:
            state.fields["LASTUPDATE"] = trade.ts
        state.fields["LASTMARKET"] = trade.sub.market
        return trade.price

    def touch(self, sub: Pair) -> bool:
        """The pair's feed is alive and its last price still stands (a per-pair heartbeat): its data
        counts as just received. False for a pair with no data yet."""
        state = self._states.get(sub)
        if state is None or state.price is None:
            return False
        state.received_at = self._clock.monotonic()
        return True

    def price(self, sub: Pair) -> float | None:
        """The last known price of ``sub`` (cheap; no snapshot)."""
        state = self._states.get(sub)
        return None if state is None else state.price

    def quote(self, sub: Pair) -> Quote | None:
        """An immutable snapshot of ``sub``'s merged state, or None if nothing arrived yet."""
        state = self._states.get(sub)
        if state is None:
            return None
        f = state.fields
        return Quote(
            sub=sub,
            price=state.price,
            direction=state.direction,
            open_24h=f.get("OPEN24HOUR"),
            high_24h=f.get("HIGH24HOUR"),
            low_24h=f.get("LOW24HOUR"),
            volume_24h=f.get("VOLUME24HOUR"),
            volume_24h_to=f.get("VOLUME24HOURTO"),
            open_day=f.get("OPENDAY"),
            open_hour=f.get("OPENHOUR"),
            bid=f.get("BID"),
            ask=f.get("ASK"),
            last_market=f.get("LASTMARKET"),
            last_update=f.get("LASTUPDATE"),
            last_quantity=state.last_quantity,
            last_side=state.last_side,
            received_at=state.received_at,
        )

    def quotes(self) -> Iterator[Quote]:
        """Snapshots of every pair that has data."""
        for sub in list(self._states):
            q = self.quote(sub)
            if q is not None:
                yield q

    def forget(self, sub: Pair) -> None:
        """Drop a pair's state (it left the watchlist)."""
        self._states.pop(sub, None)

    def __len__(self) -> int:
        return len(self._states)
