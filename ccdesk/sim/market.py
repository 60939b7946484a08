"""The simulator's market model: coins, instruments, seeded price steps, trades and sharp moves.

Pure: no I/O, no threads, no sleeping; wall time is injected. How the state goes on the wire lives
elsewhere: ``frames`` (streamer v2), ``rest`` (min-api bodies) and ``firehose``.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source

#: One instrument's state. Its keys are the CCCAGG field names (PRICE, OPENHOUR, VOLUME24HOURTO,
#: ...): the richest feed the simulator imitates, so the model keeps that vocabulary rather than a
#: second one that every renderer would have to map back.
Fields = dict[str, Any]

#: Probability per simulated second that a sharp move starts (on one coin, preferring watched coins).
#: With moves of 1.5-4 % over 5-25 s, a "2 % within 5 min" alert on a watched coin fires within
#: about a minute (tests/unit/test_sim_market.py checks it over many seeds).
DEFAULT_SHARP_MOVE_PROB = 0.05
#: The least a promised first move (``Market(first_move_by_s=...)``) moves: past a 2 % rule with room
#: to spare for the random walk, so the demo's default rule fires on it.
FIRST_MOVE_MIN_PCT = 2.5
#: Trades kept per exchange instrument (the real streamer replays "the last ~20" on a type-0 subscribe).
TRADE_HISTORY = 20

# FLAGS bits (PROTOCOL.md): 1/2/4 price up/down/unchanged, then bid, ask, median. The model records
# them with every step because only it knows the values before the step.
PRICE_UP, PRICE_DOWN, PRICE_UNCHANGED = 1, 2, 4
BID_UP, BID_DOWN, BID_UNCHANGED = 8, 16, 32
ASK_UP, ASK_DOWN, ASK_UNCHANGED = 64, 128, 256
MEDIAN_UP, MEDIAN_DOWN, MEDIAN_UNCHANGED = 512, 1024, 2048
_FLAG_BITS = {
    "PRICE": (PRICE_UP, PRICE_DOWN, PRICE_UNCHANGED),
    "BID": (BID_UP, BID_DOWN, BID_UNCHANGED),
    "ASK": (ASK_UP, ASK_DOWN, ASK_UNCHANGED),
    "MEDIAN": (MEDIAN_UP, MEDIAN_DOWN, MEDIAN_UNCHANGED),
}


@dataclass(frozen=True, slots=True)
class Coin:
    """A base asset: starting USD price, volatility and supply."""

    symbol: str
    usd_price: float
    vol_per_s: float  # standard deviation of the log price per sqrt(second)
    usd_volume_24h: float
    current_supply: float
    circulating_supply: float
    max_supply: float  # -1 = unlimited (as the real API says)
    trades_per_s: float  # on a big exchange


COINS: tuple[Coin, ...] = (
    Coin("BTC", 91_000.0, 1.5e-4, 2.4e9, 19_962_000, 19_962_000, 21_000_000, 3.0),
    Coin("ETH", 3_100.0, 2.0e-4, 1.5e9, 120_700_000, 120_700_000, -1, 2.0),
    Coin("SOL", 135.0, 3.0e-4, 5.0e8, 611_000_000, 561_000_000, -1, 1.5),
    Coin("XRP", 2.05, 3.0e-4, 4.0e8, 99_986_000_000, 60_300_000_000, 100_000_000_000, 1.2),
    Coin("ADA", 0.40, 3.5e-4, 1.0e8, 44_990_000_000, 36_600_000_000, 45_000_000_000, 0.8),
    Coin("DOGE", 0.17, 4.0e-4, 2.0e8, 151_000_000_000, 151_000_000_000, -1, 1.0),
    Coin("LTC", 82.0, 3.0e-4, 6.0e7, 76_500_000, 76_500_000, 84_000_000, 0.7),
    Coin("DOT", 2.10, 3.5e-4, 4.0e7, 1_620_000_000, 1_620_000_000, -1, 0.6),
    Coin("LINK", 13.5, 3.5e-4, 8.0e7, 1_000_000_000, 678_000_000, 1_000_000_000, 0.7),
    Coin("AVAX", 13.5, 3.5e-4, 5.0e7, 460_000_000, 422_000_000, 720_000_000, 0.6),
    Coin("BNB", 900.0, 2.0e-4, 1.5e8, 139_200_000, 139_200_000, 200_000_000, 1.0),
    Coin("MATIC", 0.20, 4.0e-4, 2.0e7, 10_000_000_000, 9_300_000_000, 10_000_000_000, 0.5),
)
_COIN = {c.symbol: c for c in COINS}


def find_coin(symbol: str) -> Coin | None:
    """The coin called ``symbol`` (exact case), or None."""
    return _COIN.get(symbol)


#: USD value of the non-crypto quote currencies (BTC as a quote uses the BTC price).
FIAT_USD = {"USD": 1.0, "EUR": 1.087, "USDT": 0.9998}

#: Exchange -> quote -> bases listed there. Binance has no USD book (so 2~Binance~BTC~USD is INVALID_SUB).
EXCHANGES: dict[str, dict[str, tuple[str, ...]]] = {
    "Coinbase": {
        "USD": ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT", "LINK", "AVAX"),
        "EUR": ("BTC", "ETH", "SOL"),
        "BTC": ("ETH",),
    },
    "Binance": {
        "USDT": ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT", "LINK", "AVAX", "BNB", "MATIC"),
        "BTC": ("ETH", "SOL", "XRP", "BNB"),
        "EUR": ("BTC", "ETH"),
    },
    "Kraken": {
        "USD": ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT", "LINK"),
        "EUR": ("BTC", "ETH", "SOL", "XRP", "ADA", "DOT"),
    },
    "Bitstamp": {
        "USD": ("BTC", "ETH", "XRP", "LTC", "LINK"),
        "EUR": ("BTC", "ETH", "XRP"),
    },
}
_EXCHANGE_SHARE = {"Binance": 0.40, "Coinbase": 0.25, "Kraken": 0.12, "Bitstamp": 0.06}
_EXCHANGE_TRADE_FACTOR = {"Binance": 1.5, "Coinbase": 1.0, "Kraken": 0.6, "Bitstamp": 0.4}
#: Share of a coin's volume traded against each quote currency.
QUOTE_SHARE = {"USD": 0.45, "USDT": 0.40, "EUR": 0.08, "BTC": 0.07}
# LASTMARKET for aggregate trades also names exchanges the simulator does not serve, as the real one does.
_OTHER_MARKETS = ("OKX", "Bybit", "Bitfinex")
#: Share of the volume that is on top-tier exchanges.
TOP_TIER_SHARE = 0.9
# Mean reversion of each coin toward its starting price (half-life 30 min), so long demos stay plausible.
_REVERSION_PER_S = math.log(2) / 1800.0
_STUCK_PROB = 0.15  # chance per step that the index price does not move (frames with only volumes)
_SHARP_MIN_PCT, _SHARP_MAX_PCT = 1.5, 4.0
_SHARP_MIN_S, _SHARP_MAX_S = 5.0, 25.0


@dataclass(frozen=True, slots=True)
class SharpMove:
    """A sharp move the model started: ``pct`` (signed) spread over ``duration_s`` from ``start_s``."""

    start_s: float
    base: str
    pct: float
    duration_s: float


@dataclass(slots=True)
class _Move:
    base: str
    log_per_s: float
    remaining_s: float


def round_price(p: float) -> float:
    """Round a price to ~9 significant digits (4 decimals for BTC/USD, 9 for DOGE/USD)."""
    if p <= 0:
        return p
    digits = math.floor(math.log10(p)) + 1
    return round(p, min(10, max(2, 9 - digits)))


def round_volume(v: float) -> float:
    """Round an amount of the base asset (8 decimals, a satoshi for BTC)."""
    return round(v, 8)


def round_money(v: float) -> float:
    """Round an amount of the quote currency (4 decimals)."""
    return round(v, 4)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method; means here are well below 1.
    limit = math.exp(-mean)
    n, p = 0, rng.random()
    while p > limit:
        n += 1
        p *= rng.random()
    return n


def _flag(bits: tuple[int, int, int], new: Any, old: Any) -> int:
    if not isinstance(new, int | float) or not isinstance(old, int | float) or new == old:
        return bits[2]
    return bits[0] if new > old else bits[1]


def flags_between(new: Fields, old: Fields, fields: Iterable[str]) -> int:
    """FLAGS for a change from ``old`` to ``new`` over ``fields`` (a subset of PRICE/BID/ASK/MEDIAN)."""
    flags = 0
    for f in fields:
        flags |= _flag(_FLAG_BITS[f], new.get(f), old.get(f))
    return flags


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade on one exchange instrument."""

    market: str
    base: str
    quote: str
    buy: bool  # the taker bought: the price ticked up (a coin toss when it did not move)
    trade_id: int
    wall: float  # unix seconds
    qty: float
    price: float
    total: float  # qty * price, rounded as money
    seq: int  # the instrument's sequence number, one step per trade


class Instrument:
    """Full type-5 (CCCAGG) or type-2 (one exchange) state of one pair, plus its recent trades.

    Only :class:`Market` changes it; the wire modules read it through :meth:`Market.instrument`.
    """

    __slots__ = (
        "base",
        "basis",
        "channel",
        "day_id",
        "fields",
        "flag_fields",
        "half_spread",
        "hour_id",
        "last_trade_t",
        "market",
        "next_trade_id",
        "quote",
        "seq",
        "trade_size",
        "trades",
        "trades_per_s",
    )

    def __init__(self, channel: Channel, market: str, base: str, quote: str) -> None:
        self.channel = channel
        self.market = market
        self.base = base
        self.quote = quote
        self.fields: Fields = {}
        self.flag_fields: tuple[str, ...] = ("PRICE", "BID", "ASK")
        if channel is Channel.AGGREGATE:
            self.flag_fields = ("PRICE", "BID", "ASK", "MEDIAN")
        self.trades: deque[Trade] = deque(maxlen=TRADE_HISTORY)
        self.seq = 0
        self.next_trade_id = 0
        self.trades_per_s = 1.0
        self.trade_size = 1.0
        self.half_spread = 1e-4
        self.basis = 0.0
        self.hour_id = 0
        self.day_id = 0
        self.last_trade_t = 0.0

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (int(self.channel), self.market, self.base, self.quote)


class Market:
    """A seeded random-walk market: ~12 coins against USD (and some against EUR, USDT, BTC), the
    CCCAGG index for each pair, tickers and trades on Coinbase, Binance, Kraken and Bitstamp.

    Advance it with :meth:`advance`; read it with :meth:`snapshot`, :meth:`trades` and
    :meth:`instrument`, or through the wire modules (``frames.StreamView``, ``rest``, ``firehose``).

    Args:
        seed: seeds the only random generator; equal seeds, wall clocks and calls give equal output.
        wall: unix seconds, for LASTUPDATE, TS and the hour/day rollover of OPENHOUR/OPENDAY.
        sharp_move_prob: probability per simulated second that a sharp move (1.5-4 % over 5-25 s)
            starts on one coin.
        first_move_by_s: a promise (the demo's): if no sharp move of at least ``FIRST_MOVE_MIN_PCT``
            has started on a watched coin this many simulated seconds after someone first watches,
            one starts then. None: chance alone (a demo could then wait minutes for its
            first alert, a few times in a hundred).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        wall: Callable[[], float] = time.time,
        sharp_move_prob: float = DEFAULT_SHARP_MOVE_PROB,
        first_move_by_s: float | None = None,
    ) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._wall = wall
        self.sharp_move_prob = sharp_move_prob
        self.first_move_by_s = first_move_by_s
        self._watched_at: float | None = None
        """When someone first watched a coin (simulated seconds); None: not yet."""
        self._watched_moved = False
        """A sharp move of at least ``FIRST_MOVE_MIN_PCT`` has started on a watched coin."""
        self.elapsed_s = 0.0
        self.sharp_moves: list[SharpMove] = []
        self._moves: dict[str, _Move] = {}
        self._anchor: dict[str, float] = {}
        self._log_usd: dict[str, float] = {}
        for coin in COINS:
            self._anchor[coin.symbol] = self._log_usd[coin.symbol] = math.log(coin.usd_price)
        for fiat, usd in FIAT_USD.items():
            self._anchor[fiat] = self._log_usd[fiat] = math.log(usd)
        self._instruments: dict[tuple[int, str, str, str], Instrument] = {}
        agg_pairs = {(c.symbol, "USD") for c in COINS}
        for exchange, quotes in EXCHANGES.items():
            for quote, bases in quotes.items():
                for base in bases:
                    agg_pairs.add((base, quote))
                    self._add(Channel.TICKER, exchange, base, quote)
        order = {c.symbol: i for i, c in enumerate(COINS)}
        for base, quote in sorted(agg_pairs, key=lambda p: (order[p[0]], p[1])):
            self._add(Channel.AGGREGATE, AGGREGATE_MARKET, base, quote)
        wall_now = self._wall()
        for inst in self._instruments.values():
            self._init_instrument(inst, wall_now)

    # --- catalogue -------------------------------------------------------------------------

    def subs(self) -> list[Pair]:
        """Every subscription the simulated streamer serves (types 5, 2 and 0)."""
        out = []
        for inst in self._instruments.values():
            out.append(Pair(Source.CRYPTOCOMPARE, inst.base, inst.quote, inst.market, inst.channel))
            if inst.channel is Channel.TICKER:
                out.append(Pair(Source.CRYPTOCOMPARE, inst.base, inst.quote, inst.market, Channel.TRADE))
        return out

    def has(self, sub: Pair) -> bool:
        """Whether ``sub`` exists here (anything else gets INVALID_SUB)."""
        return self.find(sub) is not None

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(c.symbol for c in COINS)

    # --- evolution -------------------------------------------------------------------------

    def advance(self, dt_s: float, focus: Collection[str] | None = None) -> None:
        """Move the market on by ``dt_s`` simulated seconds.

        Args:
            dt_s: seconds to simulate (the server calls this ~10 times a second).
            focus: base symbols someone watches; sharp moves pick among them when there are any,
                so that a demo sees its alerts fire.
        """
        if dt_s <= 0:
            return
        rng = self._rng
        self.elapsed_s += dt_s
        wall = self._wall()
        watching = any(b in _COIN for b in focus or ())
        if watching and self._watched_at is None:
            self._watched_at = self.elapsed_s
        # Sharp moves: a Poisson process over the whole market, and the first one promised.
        if watching and self._first_move_due():
            self._start_sharp_move(focus, FIRST_MOVE_MIN_PCT)
        elif rng.random() < 1.0 - math.exp(-self.sharp_move_prob * dt_s):
            self._start_sharp_move(focus)
        # Fundamentals: log-USD random walk with mean reversion plus any sharp-move drift.
        sqrt_dt = math.sqrt(dt_s)
        for coin in COINS:
            x = self._log_usd[coin.symbol]
            dx = -_REVERSION_PER_S * (x - self._anchor[coin.symbol]) * dt_s
            dx += coin.vol_per_s * sqrt_dt * rng.gauss(0.0, 1.0)
            move = self._moves.get(coin.symbol)
            if move is not None:
                step = min(dt_s, move.remaining_s)
                dx += move.log_per_s * step
                move.remaining_s -= step
                if move.remaining_s <= 0:
                    del self._moves[coin.symbol]
            self._log_usd[coin.symbol] = x + dx
        for fiat in ("EUR", "USDT"):
            x = self._log_usd[fiat]
            dx = -0.01 * (x - self._anchor[fiat]) * dt_s + 3e-6 * sqrt_dt * rng.gauss(0, 1)
            self._log_usd[fiat] = x + dx
        for inst in self._instruments.values():
            self._roll(inst, wall)
            if inst.channel is Channel.AGGREGATE:
                self._step_aggregate(inst, dt_s, wall)
            else:
                self._step_exchange(inst, dt_s, wall)

    def fair_price(self, base: str, quote: str) -> float:
        """The model's current true price of ``base`` in ``quote`` (before index/exchange noise)."""
        return math.exp(self._log_usd[base] - self._log_usd[quote])

    # --- reading ----------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        return self._seed

    def now(self) -> float:
        """The injected wall clock (unix seconds)."""
        return self._wall()

    def snapshot(self, sub: Pair) -> Fields:
        """A copy of the full type-5/2 state of ``sub`` (what the streamer sends first after SubAdd).

        Raises:
            KeyError: ``sub`` does not exist here, or is a trade subscription.
        """
        inst = self.instrument(sub)
        if sub.channel is Channel.TRADE:
            raise KeyError(f"{sub} is a trade subscription; use trades()")
        return dict(inst.fields)

    def trades(self, sub: Pair) -> list[Trade]:
        """The last trades (up to :data:`TRADE_HISTORY`, oldest first) of a type-0 ``sub``."""
        inst = self.instrument(sub)
        if sub.channel is not Channel.TRADE:
            raise KeyError(f"{sub} is not a trade subscription")
        return list(inst.trades)

    def find(self, sub: Pair) -> Instrument | None:
        """The live instrument behind ``sub`` (a type-0 sub: its exchange's ticker), or None."""
        channel = Channel.TICKER if sub.channel is Channel.TRADE else sub.channel
        return self._instruments.get((int(channel), sub.market, sub.base, sub.quote))

    def instrument(self, sub: Pair) -> Instrument:
        """Like :meth:`find`, for a ``sub`` that must exist.

        Raises:
            KeyError: ``sub`` does not exist here.
        """
        inst = self.find(sub)
        if inst is None:
            raise KeyError(f"no such market: {sub}")
        return inst

    # --- internals ----------------------------------------------------------------------------

    def _add(self, channel: Channel, market: str, base: str, quote: str) -> None:
        inst = Instrument(channel, market, base, quote)
        self._instruments[inst.key] = inst

    def _usd_value(self, symbol: str) -> float:
        return math.exp(self._log_usd[symbol])

    def _init_instrument(self, inst: Instrument, wall: float) -> None:
        rng = self._rng
        coin = _COIN[inst.base]
        agg = inst.channel is Channel.AGGREGATE
        price = round_price(self.fair_price(inst.base, inst.quote))
        daily_base = coin.usd_volume_24h * QUOTE_SHARE.get(inst.quote, 0.05) / coin.usd_price
        if agg:
            inst.trades_per_s = coin.trades_per_s * 2.0
            inst.half_spread = 0.5e-4 if inst.base == "BTC" else 1e-4
        else:
            daily_base *= _EXCHANGE_SHARE[inst.market]
            inst.trades_per_s = coin.trades_per_s * _EXCHANGE_TRADE_FACTOR[inst.market]
            inst.half_spread = (0.5e-4 if inst.base == "BTC" else 1.5e-4) * (2 - _EXCHANGE_SHARE[inst.market])
            inst.basis = rng.gauss(0.0, 3e-4)
            price = round_price(price * (1 + inst.basis))
        inst.trade_size = daily_base / (inst.trades_per_s * 86_400)
        inst.seq = rng.randrange(10_000_000, 900_000_000)
        inst.next_trade_id = rng.randrange(100_000_000, 900_000_000)
        day_frac = (wall % 86_400) / 86_400
        hour_frac = (wall % 3600) / 3600
        inst.hour_id, inst.day_id = int(wall // 3600), int(wall // 86_400)
        open24 = round_price(price / (1.0 + max(-0.08, min(0.08, rng.gauss(0.0, 0.025)))))
        openday = round_price(price / (1.0 + rng.gauss(0.0, 0.012 * math.sqrt(day_frac + 0.01))))
        openhour = round_price(price / (1.0 + rng.gauss(0.0, 0.003 * math.sqrt(hour_frac + 0.01))))

        def hi(*ps: float) -> float:
            return round_price(max(ps) * (1 + abs(rng.gauss(0, 0.004))))

        def lo(*ps: float) -> float:
            return round_price(min(ps) * (1 - abs(rng.gauss(0, 0.004))))

        vol24 = daily_base * rng.uniform(0.8, 1.2)
        vday = vol24 * day_frac * rng.uniform(0.85, 1.0)
        vhour = min(vday, vol24 / 24 * hour_frac * rng.uniform(0.7, 1.3))
        qty = round_volume(inst.trade_size * rng.expovariate(1.0))
        f = inst.fields
        f["TYPE"] = str(int(inst.channel))
        f["MARKET"] = inst.market
        f["FROMSYMBOL"] = inst.base
        f["TOSYMBOL"] = inst.quote
        f["FLAGS"] = PRICE_UNCHANGED
        f["PRICE"] = price
        f["BID"] = round_price(price * (1 - inst.half_spread))
        f["ASK"] = round_price(price * (1 + inst.half_spread))
        f["LASTUPDATE"] = int(wall)
        if agg:
            f["MEDIAN"] = round_price(price * (1 + rng.gauss(0, 1e-4)))
        f["LASTVOLUME"] = qty
        f["LASTVOLUMETO"] = round_money(qty * price)
        f["LASTTRADEID"] = str(inst.next_trade_id)
        f["VOLUMEDAY"] = round_volume(vday)
        f["VOLUMEDAYTO"] = round_money(vday * price)
        f["VOLUME24HOUR"] = round_volume(vol24)
        f["VOLUME24HOURTO"] = round_money(vol24 * price)
        f["OPENDAY"] = openday
        f["HIGHDAY"] = hi(openday, price)
        f["LOWDAY"] = lo(openday, price)
        f["OPEN24HOUR"] = open24
        f["HIGH24HOUR"] = max(hi(open24, price), f["HIGHDAY"])
        f["LOW24HOUR"] = min(lo(open24, price), f["LOWDAY"])
        if agg:
            f["LASTMARKET"] = self._pick_market(inst)
        f["VOLUMEHOUR"] = round_volume(vhour)
        f["VOLUMEHOURTO"] = round_money(vhour * price)
        f["OPENHOUR"] = openhour
        f["HIGHHOUR"] = hi(openhour, price)
        f["LOWHOUR"] = lo(openhour, price)
        if agg:
            f["TOPTIERVOLUME24HOUR"] = round_volume(vol24 * TOP_TIER_SHARE)
            f["TOPTIERVOLUME24HOURTO"] = round_money(vol24 * TOP_TIER_SHARE * price)
            f["CURRENTSUPPLY"] = coin.current_supply
            f["CIRCULATINGSUPPLY"] = coin.circulating_supply
            f["MAXSUPPLY"] = coin.max_supply
            self._set_mktcaps(inst)
        if inst.channel is Channel.TICKER:
            # Seed the trade history so a type-0 subscribe replays something at once.
            for _ in range(TRADE_HISTORY):
                self._trade(inst, price * (1 + rng.gauss(0, inst.half_spread)), wall, record_only=True)
            f["LASTTRADEID"] = str(inst.next_trade_id)

    def _pick_market(self, inst: Instrument) -> str:
        listed = [ex for ex, quotes in EXCHANGES.items() if inst.base in quotes.get(inst.quote, ())]
        return self._rng.choice(listed + list(_OTHER_MARKETS))

    def _set_mktcaps(self, inst: Instrument) -> None:
        f = inst.fields
        coin = _COIN[inst.base]
        p = f["PRICE"]
        f["CURRENTSUPPLYMKTCAP"] = round(coin.current_supply * p, 2)
        f["CIRCULATINGSUPPLYMKTCAP"] = round(coin.circulating_supply * p, 2)
        f["MAXSUPPLYMKTCAP"] = round(coin.max_supply * p, 2) if coin.max_supply > 0 else -1

    def _roll(self, inst: Instrument, wall: float) -> None:
        """Hour and day rollover (UTC), as OPENHOUR/OPENDAY do on the real streamer."""
        f = inst.fields
        hour_id = int(wall // 3600)
        if hour_id != inst.hour_id:
            inst.hour_id = hour_id
            f["OPENHOUR"] = f["HIGHHOUR"] = f["LOWHOUR"] = f["PRICE"]
            f["VOLUMEHOUR"] = 0.0
            f["VOLUMEHOURTO"] = 0.0
        day_id = int(wall // 86_400)
        if day_id != inst.day_id:
            inst.day_id = day_id
            f["OPENDAY"] = f["HIGHDAY"] = f["LOWDAY"] = f["PRICE"]
            f["VOLUMEDAY"] = 0.0
            f["VOLUMEDAYTO"] = 0.0

    def _set_price(self, inst: Instrument, price: float) -> None:
        f = inst.fields
        f["PRICE"] = price
        for field in ("HIGHHOUR", "HIGHDAY", "HIGH24HOUR"):
            if price > f[field]:
                f[field] = price
        for field in ("LOWHOUR", "LOWDAY", "LOW24HOUR"):
            if price < f[field]:
                f[field] = price

    def _step_aggregate(self, inst: Instrument, dt_s: float, wall: float) -> None:
        rng = self._rng
        f = inst.fields
        before = {k: f.get(k) for k in inst.flag_fields}
        changed = False
        if rng.random() >= _STUCK_PROB:
            price = round_price(self.fair_price(inst.base, inst.quote) * (1 + rng.gauss(0, 2e-5)))
            if price != f["PRICE"]:
                self._set_price(inst, price)
                f["BID"] = round_price(price * (1 - inst.half_spread * rng.uniform(0.5, 1.5)))
                f["ASK"] = round_price(price * (1 + inst.half_spread * rng.uniform(0.5, 1.5)))
                f["MEDIAN"] = round_price(price * (1 + rng.gauss(0, 1e-4)))
                self._set_mktcaps(inst)
                changed = True
        for _ in range(_poisson(rng, inst.trades_per_s * dt_s)):
            self._trade(inst, f["PRICE"], wall)
            f["LASTMARKET"] = self._pick_market(inst)
            changed = True
        if changed:
            f["LASTUPDATE"] = int(wall)
            f["FLAGS"] = flags_between(f, before, inst.flag_fields)

    def _step_exchange(self, inst: Instrument, dt_s: float, wall: float) -> None:
        rng = self._rng
        f = inst.fields
        n = _poisson(rng, inst.trades_per_s * dt_s)
        if not n:
            return
        before = {k: f.get(k) for k in inst.flag_fields}
        # The exchange's premium over the index wanders a little (mean-reverting).
        inst.basis += -0.05 * inst.basis + rng.gauss(0, 5e-5)
        fair = self.fair_price(inst.base, inst.quote) * (1 + inst.basis)
        for _ in range(n):
            self._trade(inst, fair * (1 + rng.gauss(0, inst.half_spread)), wall)
        price = f["PRICE"]
        f["BID"] = round_price(min(price, fair) * (1 - inst.half_spread * rng.uniform(0.2, 1.0)))
        f["ASK"] = round_price(max(price, fair) * (1 + inst.half_spread * rng.uniform(0.2, 1.0)))
        f["LASTUPDATE"] = int(wall)
        f["FLAGS"] = flags_between(f, before, inst.flag_fields)

    def _trade(self, inst: Instrument, raw_price: float, wall: float, record_only: bool = False) -> None:
        """One trade: last-trade fields and volumes; for exchanges also the price and a :class:`Trade`."""
        rng = self._rng
        f = inst.fields
        qty = round_volume(max(1e-8, inst.trade_size * rng.expovariate(1.0)))
        inst.next_trade_id += 1
        inst.seq += 1
        if inst.channel is Channel.AGGREGATE:
            price = f["PRICE"]
        else:
            price = round_price(raw_price)
            if not record_only:
                self._set_price(inst, price)
        total = qty * price
        if not record_only:
            # A rolling 24 h volume: decay what is older, then add the trade.
            decay = math.exp(-(self.elapsed_s - inst.last_trade_t) / 86_400)
            inst.last_trade_t = self.elapsed_s
            f["LASTVOLUME"] = qty
            f["LASTVOLUMETO"] = round_money(total)
            f["LASTTRADEID"] = str(inst.next_trade_id)
            f["VOLUME24HOUR"] = round_volume(f["VOLUME24HOUR"] * decay + qty)
            f["VOLUME24HOURTO"] = round_money(f["VOLUME24HOURTO"] * decay + total)
            for field, add in (("VOLUMEDAY", qty), ("VOLUMEHOUR", qty)):
                f[field] = round_volume(f[field] + add)
            for field in ("VOLUMEDAYTO", "VOLUMEHOURTO"):
                f[field] = round_money(f[field] + total)
            if "TOPTIERVOLUME24HOUR" in f:
                f["TOPTIERVOLUME24HOUR"] = round_volume(
                    f["TOPTIERVOLUME24HOUR"] * decay + qty * TOP_TIER_SHARE
                )
                f["TOPTIERVOLUME24HOURTO"] = round_money(
                    f["TOPTIERVOLUME24HOURTO"] * decay + total * TOP_TIER_SHARE
                )
        if inst.channel is Channel.TICKER:
            prev = inst.trades[-1].price if inst.trades else price
            # (False, True) draws like the streamer's (sell, buy) = (1, 2), so seeds replay unchanged.
            buy = price > prev if price != prev else rng.choice((False, True))
            inst.trades.append(
                Trade(
                    market=inst.market,
                    base=inst.base,
                    quote=inst.quote,
                    buy=buy,
                    trade_id=inst.next_trade_id,
                    wall=wall,
                    qty=qty,
                    price=price,
                    total=round_money(total),
                    seq=inst.seq,
                )
            )

    def _first_move_due(self) -> bool:
        return (
            self.first_move_by_s is not None
            and self._watched_at is not None
            and not self._watched_moved
            and self.elapsed_s - self._watched_at >= self.first_move_by_s
        )

    def _start_sharp_move(self, focus: Collection[str] | None, min_pct: float = _SHARP_MIN_PCT) -> None:
        rng = self._rng
        watched = sorted(b for b in (focus or ()) if b in _COIN)
        base = rng.choice(watched or [c.symbol for c in COINS])
        if base in self._moves:
            return
        pct = rng.uniform(min_pct, _SHARP_MAX_PCT)
        self._watched_moved = self._watched_moved or (bool(watched) and pct >= FIRST_MOVE_MIN_PCT)
        # Mostly random direction, but pull back toward the start once far from it.
        deviation = self._log_usd[base] - self._anchor[base]
        sign = rng.choice((-1.0, 1.0))
        if abs(deviation) > 0.08:
            sign = -1.0 if deviation > 0 else 1.0
        duration = rng.uniform(_SHARP_MIN_S, _SHARP_MAX_S)
        pct *= sign
        self._moves[base] = _Move(base, math.log1p(pct / 100) / duration, duration)
        self.sharp_moves.append(SharpMove(self.elapsed_s, base, pct, duration))
