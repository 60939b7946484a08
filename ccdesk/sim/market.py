"""The simulator's market model: seeded prices, 24h/day/hour stats, trades, and the stream frames and
REST bodies that describe them. Pure: no I/O, no threads, no sleeping; wall time is injected."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ccdesk.core.subs import AGGREGATE_MARKET, Channel, Sub

Frame = dict[str, Any]

#: Probability per simulated second that a sharp move starts (on one coin, preferring watched coins).
#: With moves of 1.5-4 % over 5-25 s, a "2 % within 5 min" alert on a watched coin fires within
#: about a minute (tests/unit/test_sim_market.py checks it over many seeds).
DEFAULT_SHARP_MOVE_PROB = 0.05
#: Trades replayed on a type-0 subscribe (the real streamer replays "the last ~20").
TRADE_HISTORY = 20

# FLAGS bits (PROTOCOL.md): 1/2/4 price up/down/unchanged, then bid, ask, median.
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
_PRICE_FIELDS = frozenset(
    {"PRICE", "BID", "ASK", "MEDIAN", "OPENDAY", "HIGHDAY", "LOWDAY", "OPEN24HOUR", "HIGH24HOUR"}
    | {"LOW24HOUR", "OPENHOUR", "HIGHHOUR", "LOWHOUR"}
)
_QUOTE_VOLUME_FIELDS = frozenset(
    {"LASTVOLUMETO", "VOLUMEDAYTO", "VOLUME24HOURTO", "VOLUMEHOURTO", "TOPTIERVOLUME24HOURTO"}
    | {"CURRENTSUPPLYMKTCAP", "CIRCULATINGSUPPLYMKTCAP", "MAXSUPPLYMKTCAP"}
)


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
_QUOTE_SHARE = {"USD": 0.45, "USDT": 0.40, "EUR": 0.08, "BTC": 0.07}
# LASTMARKET for aggregate trades also names exchanges the simulator does not serve, as the real one does.
_OTHER_MARKETS = ("OKX", "Bybit", "Bitfinex")
_TOP_TIER_SHARE = 0.9
# Mean reversion of each coin toward its starting price (half-life 30 min), so long demos stay plausible.
_REVERSION_PER_S = math.log(2) / 1800.0
_STUCK_PROB = 0.15  # chance per step that the index price does not move (frames with only volumes)
_SHARP_MIN_PCT, _SHARP_MAX_PCT = 1.5, 4.0
_SHARP_MIN_S, _SHARP_MAX_S = 5.0, 25.0

_CURRENCY_SIGN = {"USD": "$", "EUR": "€", "BTC": "Ƀ", "ETH": "Ξ", "USDT": "₮"}


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


def _vol(v: float) -> float:
    return round(v, 8)


def _money(v: float) -> float:
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


def flags_between(new: Frame, old: Frame, fields: Iterable[str]) -> int:
    """FLAGS for a change from ``old`` to ``new`` over ``fields`` (a subset of PRICE/BID/ASK/MEDIAN)."""
    flags = 0
    for f in fields:
        flags |= _flag(_FLAG_BITS[f], new.get(f), old.get(f))
    return flags


class _Instrument:
    """Full type-5 (CCCAGG) or type-2 (one exchange) state of one pair, plus its recent trades."""

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
        self.fields: Frame = {}
        self.flag_fields: tuple[str, ...] = ("PRICE", "BID", "ASK")
        if channel is Channel.AGGREGATE:
            self.flag_fields = ("PRICE", "BID", "ASK", "MEDIAN")
        self.trades: deque[Frame] = deque(maxlen=TRADE_HISTORY)
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

    Advance it with :meth:`advance`; read it with :meth:`snapshot`, :meth:`trades`, the REST bodies,
    or through a :class:`StreamView` (what one connection has been sent).

    Args:
        seed: seeds the only random generator; equal seeds, wall clocks and calls give equal output.
        wall: unix seconds, for LASTUPDATE, TS and the hour/day rollover of OPENHOUR/OPENDAY.
        sharp_move_prob: probability per simulated second that a sharp move (1.5-4 % over 5-25 s)
            starts on one coin.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        wall: Callable[[], float] = time.time,
        sharp_move_prob: float = DEFAULT_SHARP_MOVE_PROB,
    ) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._wall = wall
        self.sharp_move_prob = sharp_move_prob
        self.elapsed_s = 0.0
        self.sharp_moves: list[SharpMove] = []
        self._moves: dict[str, _Move] = {}
        self._anchor: dict[str, float] = {}
        self._log_usd: dict[str, float] = {}
        for coin in COINS:
            self._anchor[coin.symbol] = self._log_usd[coin.symbol] = math.log(coin.usd_price)
        for fiat, usd in FIAT_USD.items():
            self._anchor[fiat] = self._log_usd[fiat] = math.log(usd)
        self._instruments: dict[tuple[int, str, str, str], _Instrument] = {}
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

    def subs(self) -> list[Sub]:
        """Every subscription the simulated streamer serves (types 5, 2 and 0)."""
        out = []
        for inst in self._instruments.values():
            out.append(Sub(inst.channel, inst.market, inst.base, inst.quote))
            if inst.channel is Channel.TICKER:
                out.append(Sub(Channel.TRADE, inst.market, inst.base, inst.quote))
        return out

    def has(self, sub: Sub) -> bool:
        """Whether ``sub`` exists here (anything else gets INVALID_SUB)."""
        return self._find(sub) is not None

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
        # Sharp moves: a Poisson process over the whole market.
        if rng.random() < 1.0 - math.exp(-self.sharp_move_prob * dt_s):
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

    def snapshot(self, sub: Sub) -> Frame:
        """The full type-5/2 frame for ``sub`` (what the streamer sends first after SubAdd).

        Raises:
            KeyError: ``sub`` does not exist here, or is a trade subscription.
        """
        inst = self._require(sub)
        if sub.channel is Channel.TRADE:
            raise KeyError(f"{sub} is a trade subscription; use trades()")
        return dict(inst.fields)

    def trades(self, sub: Sub) -> list[Frame]:
        """The last trades (up to :data:`TRADE_HISTORY`, oldest first) of a type-0 ``sub``."""
        inst = self._require(sub)
        if sub.channel is not Channel.TRADE:
            raise KeyError(f"{sub} is not a trade subscription")
        return [dict(t) for t in inst.trades]

    # --- REST --------------------------------------------------------------------------------

    def rest_price(self, fsym: str, tsyms: Sequence[str]) -> Frame:
        """Body of ``GET /data/price?fsym=..&tsyms=..``: ``{"USD": 91230.12, ...}`` or a classic error.

        Pairs without a direct market are converted through BTC, as the real API does.
        """
        fsym = fsym.strip().upper()
        tsyms = [t.strip().upper() for t in tsyms if t.strip()]
        if not fsym:
            return _param_error("fsym param is empty or null.", "fsym")
        if not tsyms:
            return _param_error("tsyms param is empty or null.", "tsyms")
        if fsym not in _COIN:
            return market_missing_error(fsym, tsyms[0])
        out: Frame = {}
        for tsym in tsyms:
            quote = self._rest_quote(fsym, tsym)
            if quote is not None:
                out[tsym] = quote[0]["PRICE"]
        if not out:
            return _no_tsyms_error(tsyms)
        return out

    def rest_pricemultifull(self, fsyms: Sequence[str], tsyms: Sequence[str]) -> Frame:
        """Body of ``GET /data/pricemultifull``: ``{"RAW": {F: {T: {...}}}, "DISPLAY": {...}}``.

        RAW has the type-5 fields plus CHANGE*/CHANGEPCT* (from OPEN24HOUR, OPENDAY, OPENHOUR),
        FLAGS as a string, supply and market cap, as the real endpoint does.
        """
        fsyms = [f.strip().upper() for f in fsyms if f.strip()]
        tsyms = [t.strip().upper() for t in tsyms if t.strip()]
        if not fsyms:
            return _param_error("fsyms param is empty or null.", "fsyms")
        if not tsyms:
            return _param_error("tsyms param is empty or null.", "tsyms")
        raw: dict[str, dict[str, Frame]] = {}
        display: dict[str, dict[str, Frame]] = {}
        for fsym in fsyms:
            for tsym in tsyms:
                quote = self._rest_quote(fsym, tsym)
                if quote is None:
                    continue
                body = _raw_body(*quote, fsym=fsym, tsym=tsym)
                raw.setdefault(fsym, {})[tsym] = body
                display.setdefault(fsym, {})[tsym] = _display_body(body, fsym, tsym)
        if not raw:
            if fsyms[0] not in _COIN:
                return market_missing_error(fsyms[0], tsyms[0])
            return _no_tsyms_error(tsyms)
        return {"RAW": raw, "DISPLAY": display}

    # --- firehose ----------------------------------------------------------------------------

    def firehose_frames(self, subs: Sequence[Sub], count: int = 4096) -> list[Frame]:
        """``count`` distinct update frames cycling over ``subs`` (round robin), every one with a
        new price for its pair. FLAGS compare with the previous frame of the same pair *cyclically*,
        so the list can be replayed in a loop and stays consistent. Uses its own random generator
        (the market's state is not changed).

        Type-5/2 subs get partial frames shaped like the real ones after a trade (price, bid/ask,
        the trade, running hour/day/24 h volumes; the aggregate adds MEDIAN and market caps);
        type-0 subs get trade frames.
        """
        subs = [s for s in subs if self.has(s)]
        if not subs:
            return []
        if count < 2 * len(subs):
            raise ValueError("count must be at least two frames per sub")
        rng = random.Random(f"firehose-{self._seed}")
        wall = int(self._wall())
        prices: list[list[float]] = []
        for sub in subs:
            inst = self._require(sub)
            p = inst.fields["PRICE"]
            per_sub = count // len(subs) + (1 if subs.index(sub) < count % len(subs) else 0)
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
                name: float(self._require(sub).fields.get(name, 0.0))
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
            sub, inst = subs[k], self._require(subs[k])
            seq = prices[k]
            j = pos[k]
            pos[k] += 1
            price, prev = seq[j], seq[j - 1]  # j == 0 compares with the last one (the cycle wraps)
            qty = _vol(inst.trade_size * rng.expovariate(1.0))
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
                        "TOTAL": _money(qty * price),
                        "RTS": wall,
                        "CCSEQ": inst.seq + 1 + i,
                    }
                )
            else:
                frames.append(self._firehose_ticker(sub, inst, price, prev, qty, trade_id, wall, volumes[k]))
        return frames

    def _firehose_ticker(
        self,
        sub: Sub,
        inst: _Instrument,
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
            "LASTVOLUMETO": _money(qty * price),
            "LASTTRADEID": trade_id,
        }
        for name, value in volumes.items():
            frame[name] = _money(value) if name.endswith("TO") else _vol(value)
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
                    frame[cap] = _money(units * price)
        return frame

    # --- internals ----------------------------------------------------------------------------

    def _add(self, channel: Channel, market: str, base: str, quote: str) -> None:
        inst = _Instrument(channel, market, base, quote)
        self._instruments[inst.key] = inst

    def _find(self, sub: Sub) -> _Instrument | None:
        channel = Channel.TICKER if sub.channel is Channel.TRADE else sub.channel
        return self._instruments.get((int(channel), sub.market, sub.base, sub.quote))

    def _require(self, sub: Sub) -> _Instrument:
        inst = self._find(sub)
        if inst is None:
            raise KeyError(f"no such market: {sub}")
        return inst

    def _usd_value(self, symbol: str) -> float:
        return math.exp(self._log_usd[symbol])

    def _init_instrument(self, inst: _Instrument, wall: float) -> None:
        rng = self._rng
        coin = _COIN[inst.base]
        agg = inst.channel is Channel.AGGREGATE
        price = round_price(self.fair_price(inst.base, inst.quote))
        daily_base = coin.usd_volume_24h * _QUOTE_SHARE.get(inst.quote, 0.05) / coin.usd_price
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
        qty = _vol(inst.trade_size * rng.expovariate(1.0))
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
        f["LASTVOLUMETO"] = _money(qty * price)
        f["LASTTRADEID"] = str(inst.next_trade_id)
        f["VOLUMEDAY"] = _vol(vday)
        f["VOLUMEDAYTO"] = _money(vday * price)
        f["VOLUME24HOUR"] = _vol(vol24)
        f["VOLUME24HOURTO"] = _money(vol24 * price)
        f["OPENDAY"] = openday
        f["HIGHDAY"] = hi(openday, price)
        f["LOWDAY"] = lo(openday, price)
        f["OPEN24HOUR"] = open24
        f["HIGH24HOUR"] = max(hi(open24, price), f["HIGHDAY"])
        f["LOW24HOUR"] = min(lo(open24, price), f["LOWDAY"])
        if agg:
            f["LASTMARKET"] = self._pick_market(inst)
        f["VOLUMEHOUR"] = _vol(vhour)
        f["VOLUMEHOURTO"] = _money(vhour * price)
        f["OPENHOUR"] = openhour
        f["HIGHHOUR"] = hi(openhour, price)
        f["LOWHOUR"] = lo(openhour, price)
        if agg:
            f["TOPTIERVOLUME24HOUR"] = _vol(vol24 * _TOP_TIER_SHARE)
            f["TOPTIERVOLUME24HOURTO"] = _money(vol24 * _TOP_TIER_SHARE * price)
            f["CURRENTSUPPLY"] = coin.current_supply
            f["CIRCULATINGSUPPLY"] = coin.circulating_supply
            f["MAXSUPPLY"] = coin.max_supply
            self._set_mktcaps(inst)
        if inst.channel is Channel.TICKER:
            # Seed the trade history so a type-0 subscribe replays something at once.
            for _ in range(TRADE_HISTORY):
                self._trade(inst, price * (1 + rng.gauss(0, inst.half_spread)), wall, record_only=True)
            f["LASTTRADEID"] = str(inst.next_trade_id)

    def _pick_market(self, inst: _Instrument) -> str:
        listed = [ex for ex, quotes in EXCHANGES.items() if inst.base in quotes.get(inst.quote, ())]
        return self._rng.choice(listed + list(_OTHER_MARKETS))

    def _set_mktcaps(self, inst: _Instrument) -> None:
        f = inst.fields
        coin = _COIN[inst.base]
        p = f["PRICE"]
        f["CURRENTSUPPLYMKTCAP"] = round(coin.current_supply * p, 2)
        f["CIRCULATINGSUPPLYMKTCAP"] = round(coin.circulating_supply * p, 2)
        f["MAXSUPPLYMKTCAP"] = round(coin.max_supply * p, 2) if coin.max_supply > 0 else -1

    def _roll(self, inst: _Instrument, wall: float) -> None:
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

    def _set_price(self, inst: _Instrument, price: float) -> None:
        f = inst.fields
        f["PRICE"] = price
        for field in ("HIGHHOUR", "HIGHDAY", "HIGH24HOUR"):
            if price > f[field]:
                f[field] = price
        for field in ("LOWHOUR", "LOWDAY", "LOW24HOUR"):
            if price < f[field]:
                f[field] = price

    def _step_aggregate(self, inst: _Instrument, dt_s: float, wall: float) -> None:
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

    def _step_exchange(self, inst: _Instrument, dt_s: float, wall: float) -> None:
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

    def _trade(self, inst: _Instrument, raw_price: float, wall: float, record_only: bool = False) -> None:
        """One trade: last-trade fields and volumes; for exchanges also the price and a type-0 frame."""
        rng = self._rng
        f = inst.fields
        qty = _vol(max(1e-8, inst.trade_size * rng.expovariate(1.0)))
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
            f["LASTVOLUMETO"] = _money(total)
            f["LASTTRADEID"] = str(inst.next_trade_id)
            f["VOLUME24HOUR"] = _vol(f["VOLUME24HOUR"] * decay + qty)
            f["VOLUME24HOURTO"] = _money(f["VOLUME24HOURTO"] * decay + total)
            for field, add in (("VOLUMEDAY", qty), ("VOLUMEHOUR", qty)):
                f[field] = _vol(f[field] + add)
            for field in ("VOLUMEDAYTO", "VOLUMEHOURTO"):
                f[field] = _money(f[field] + total)
            if "TOPTIERVOLUME24HOUR" in f:
                f["TOPTIERVOLUME24HOUR"] = _vol(f["TOPTIERVOLUME24HOUR"] * decay + qty * _TOP_TIER_SHARE)
                f["TOPTIERVOLUME24HOURTO"] = _money(
                    f["TOPTIERVOLUME24HOURTO"] * decay + total * _TOP_TIER_SHARE
                )
        if inst.channel is Channel.TICKER:
            ts = int(wall)
            ns = int((wall % 1) * 1e9)
            prev = inst.trades[-1]["P"] if inst.trades else price
            side = TRADE_BUY if price > prev else TRADE_SELL if price < prev else rng.choice((1, 2))
            inst.trades.append(
                {
                    "TYPE": "0",
                    "M": inst.market,
                    "FSYM": inst.base,
                    "TSYM": inst.quote,
                    "F": str(side),
                    "ID": str(inst.next_trade_id),
                    "TS": ts,
                    "Q": qty,
                    "P": price,
                    "TOTAL": _money(total),
                    "RTS": ts,
                    "CCSEQ": inst.seq,
                    "TSNS": ns,
                    "RTSNS": ns,
                }
            )

    def _start_sharp_move(self, focus: Collection[str] | None) -> None:
        rng = self._rng
        candidates = sorted(b for b in (focus or ()) if b in _COIN) or [c.symbol for c in COINS]
        base = rng.choice(candidates)
        if base in self._moves:
            return
        pct = rng.uniform(_SHARP_MIN_PCT, _SHARP_MAX_PCT)
        # Mostly random direction, but pull back toward the start once far from it.
        deviation = self._log_usd[base] - self._anchor[base]
        sign = rng.choice((-1.0, 1.0))
        if abs(deviation) > 0.08:
            sign = -1.0 if deviation > 0 else 1.0
        duration = rng.uniform(_SHARP_MIN_S, _SHARP_MAX_S)
        pct *= sign
        self._moves[base] = _Move(base, math.log1p(pct / 100) / duration, duration)
        self.sharp_moves.append(SharpMove(self.elapsed_s, base, pct, duration))

    def _rest_quote(self, fsym: str, tsym: str) -> tuple[Frame, str, str] | None:
        """(type-5 state in ``tsym``, CONVERSIONTYPE, CONVERSIONSYMBOL), or None if REST has no price."""
        if fsym == tsym or fsym not in _COIN:
            return None
        direct = self._instruments.get((5, AGGREGATE_MARKET, fsym, tsym))
        if direct is not None:
            return dict(direct.fields), "direct", ""
        # Convert through BTC, as the real API does: fsym -> BTC -> tsym.
        btc_quote = self._instruments.get((5, AGGREGATE_MARKET, "BTC", tsym))
        via = self._instruments.get((5, AGGREGATE_MARKET, fsym, "USD"))
        btc_usd = self._instruments[(5, AGGREGATE_MARKET, "BTC", "USD")]
        if fsym == "BTC" or btc_quote is None or via is None:
            return None
        factor = btc_quote.fields["PRICE"] / btc_usd.fields["PRICE"]
        out: Frame = {}
        for k, v in via.fields.items():
            if k in _PRICE_FIELDS:
                v = round_price(v * factor)
            elif k in _QUOTE_VOLUME_FIELDS and v != -1:
                v = _money(v * factor)
            out[k] = v
        out["TOSYMBOL"] = tsym
        return out, "multiply", "BTC"


class StreamView:
    """What one connection has been sent, per subscription: gives the snapshot first, then partial
    frames with only the fields that changed since (plus the always-present ones), FLAGS computed
    against the values this connection last saw; for trades, only trades it has not seen yet."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._sent: dict[Sub, Frame] = {}
        self._trade_seq: dict[Sub, int] = {}

    def snapshot(self, sub: Sub) -> Frame:
        """The full frame for a type-5/2 ``sub``; later :meth:`update` calls diff against it."""
        frame = self._market.snapshot(sub)
        self._sent[sub] = dict(frame)
        return frame

    def replay(self, sub: Sub) -> list[Frame]:
        """The last trades of a type-0 ``sub`` (what the streamer replays on subscribe)."""
        trades = self._market.trades(sub)
        self._trade_seq[sub] = trades[-1]["CCSEQ"] if trades else -1
        return trades

    def update(self, sub: Sub) -> list[Frame]:
        """Frames to bring this connection up to date on ``sub``: one partial type-5/2 frame, or
        the new trades; ``[]`` if nothing changed. :meth:`snapshot`/:meth:`replay` must come first."""
        if sub.channel is Channel.TRADE:
            last = self._trade_seq[sub]
            new = [t for t in self._market.trades(sub) if t["CCSEQ"] > last]
            if new:
                self._trade_seq[sub] = new[-1]["CCSEQ"]
            return new
        sent = self._sent[sub]
        inst = self._market._require(sub)
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

    def forget(self, sub: Sub) -> None:
        """Drop ``sub`` (after SubRemove); a later SubAdd starts with a snapshot again."""
        self._sent.pop(sub, None)
        self._trade_seq.pop(sub, None)


def market_missing_error(fsym: str, tsym: str) -> Frame:
    """The classic min-api error (HTTP 200) for a pair with no market."""
    return {
        "Response": "Error",
        "Message": f"cccagg_or_exchange market does not exist for this coin pair ({fsym}-{tsym})",
        "HasWarning": False,
        "Type": 1,
        "RateLimit": {},
        "Data": {},
        "Cooldown": 0,
    }


def _no_tsyms_error(tsyms: Sequence[str]) -> Frame:
    names = ",".join(tsyms)
    return {
        "Response": "Error",
        "Message": f"There is no data for any of the toSymbols {names} .",
        "HasWarning": True,
        "Type": 2,
        "RateLimit": {},
        "Data": {},
        "Warning": f"There is no data for the toSymbol/s {names} ",
        "ParamWithError": "tsyms",
    }


def _param_error(message: str, param: str) -> Frame:
    return {
        "Response": "Error",
        "Message": message,
        "HasWarning": False,
        "Type": 2,
        "RateLimit": {},
        "Data": {},
        "ParamWithError": param,
    }


def _raw_body(state: Frame, conversion_type: str, conversion_symbol: str, *, fsym: str, tsym: str) -> Frame:
    body = dict(state)
    body["FLAGS"] = str(state["FLAGS"])
    price = state["PRICE"]
    for suffix, open_field in (("24HOUR", "OPEN24HOUR"), ("DAY", "OPENDAY"), ("HOUR", "OPENHOUR")):
        opened = state[open_field]
        body[f"CHANGE{suffix}"] = price - opened
        body[f"CHANGEPCT{suffix}"] = (price - opened) / opened * 100 if opened else 0
    body["CONVERSIONTYPE"] = conversion_type
    body["CONVERSIONSYMBOL"] = conversion_symbol
    body["CONVERSIONLASTUPDATE"] = state["LASTUPDATE"]
    coin = _COIN[fsym]
    body["SUPPLY"] = coin.current_supply
    body["MKTCAP"] = state.get("CURRENTSUPPLYMKTCAP", _money(coin.current_supply * price))
    body["MKTCAPPENALTY"] = 0
    body["CIRCULATINGSUPPLY"] = coin.circulating_supply
    body["CIRCULATINGSUPPLYMKTCAP"] = state.get(
        "CIRCULATINGSUPPLYMKTCAP", _money(coin.circulating_supply * price)
    )
    body["TOTALVOLUME24H"] = state["VOLUME24HOUR"] / _QUOTE_SHARE.get(tsym, 0.5)
    body["TOTALVOLUME24HTO"] = state["VOLUME24HOURTO"] / _QUOTE_SHARE.get(tsym, 0.5)
    body["TOTALTOPTIERVOLUME24H"] = body["TOTALVOLUME24H"] * _TOP_TIER_SHARE
    body["TOTALTOPTIERVOLUME24HTO"] = body["TOTALVOLUME24HTO"] * _TOP_TIER_SHARE
    body["IMAGEURL"] = f"/media/sim/{fsym.lower()}.png"
    return body


def _display_body(raw: Frame, fsym: str, tsym: str) -> Frame:
    fsign = _CURRENCY_SIGN.get(fsym, fsym)
    tsign = _CURRENCY_SIGN.get(tsym, tsym)
    out: Frame = {"FROMSYMBOL": fsign, "TOSYMBOL": tsign, "MARKET": raw["MARKET"]}
    for k, v in raw.items():
        if k in out or isinstance(v, str):
            continue
        if k.startswith("CHANGEPCT"):
            out[k] = f"{v:.2f}"
        elif k == "LASTUPDATE" or k == "CONVERSIONLASTUPDATE":
            out[k] = "Just now"
        elif k in _PRICE_FIELDS or k.startswith("CHANGE"):
            out[k] = f"{tsign} {v:,.2f}" if abs(v) >= 1 else f"{tsign} {v:.6f}"
        elif k.endswith("TO") or "MKTCAP" in k:
            out[k] = f"{tsign} {v:,.0f}"
        else:
            out[k] = f"{fsign} {v:,.2f}"
    out["LASTMARKET"] = raw.get("LASTMARKET", raw["MARKET"])
    return out


def _nudge(p: float, *, up: bool) -> float:
    digits = math.floor(math.log10(p)) + 1
    unit = 10.0 ** -min(10, max(2, 9 - digits))
    return round_price(p + unit if up else p - unit)
