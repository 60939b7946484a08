"""The simulator's candle history over REST, in each venue's dialect (Kraken OHLC, Coinbase
candles, Binance klines, OKX candles and history-candles, min-api histominute/histohour, CoinDesk
Data's index history), generated from the market model.

History is a seeded random walk per instrument that ends at the instrument's live price: the
close of the last finished minute is the price streamed now (within one minute's step), so a
backfilled chart joins the live one. The same seed, instrument and live price give the same
candles. Test modes (``SimConfig``): the first ``history_rate_limited`` requests get HTTP 429
with a Retry-After of ``history_retry_after_s``, and minutes starting in ``history_hole`` are
missing from every venue's answer (a venue's outage), so that pacing and gap handling are tested.
"""

from __future__ import annotations

import calendar
import email.utils
import math
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, period_start, roll_up
from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source
from ccdesk.sim import rest
from ccdesk.sim.config import SimConfig
from ccdesk.sim.http import key_ok, request_key
from ccdesk.sim.market import Market, find_coin, round_price
from ccdesk.sim.venues.coindesk import MARKETS as COINDESK_MARKETS
from ccdesk.sim.venues.okx import BASIS as OKX_BASIS

Body = Any
KRAKEN_PATH: Final = "/0/public/OHLC"
BINANCE_PATH: Final = "/api/v3/klines"
OKX_RECENT_PATH: Final = "/api/v5/market/candles"
OKX_HISTORY_PATH: Final = "/api/v5/market/history-candles"
CC_PATHS: Final = {"/data/v2/histominute": MINUTE_S, "/data/v2/histohour": HOUR_S}
COINDESK_PATHS: Final = {"/index/cc/v1/historical/minutes": MINUTE_S, "/index/cc/v1/historical/hours": HOUR_S}
_COINBASE_PATH = re.compile(r"/products/([A-Za-z0-9]{1,20}-[A-Za-z0-9]{1,20})/candles")
_KRAKEN_NAMES: Final = {"XBT": "BTC", "XDG": "DOGE"}
_KRAKEN_OLD: Final = {"BTC": "XBT", "DOGE": "XDG"}
_KRAKEN_CLASSIC: Final = frozenset({"BTC", "ETH", "LTC", "XRP", "DOGE"})
_MAX_REACH_S: Final = 30 * 86400
_DAY_MINUTES: Final = 1440
_CACHE_DAYS: Final = 128
# Candles are drawn with a minute's share of the coin's volatility, and wicks a third of it.
_WICK_SHARE: Final = 0.3


@dataclass(frozen=True, slots=True)
class HistoryHit:
    """One history request as the simulator saw it: when (monotonic), what, and the status sent."""

    at: float
    path: str
    status: int


class HistoryService:
    """Answers the venues' history routes on the simulator's HTTP port (thread-safe)."""

    def __init__(
        self, market: Market, config: SimConfig, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._market = market
        self._config = config
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._hits: list[HistoryHit] = []
        self._limited_left = config.history_rate_limited
        self._days: OrderedDict[tuple[str, int], list[tuple[float, float, float]]] = OrderedDict()

    @property
    def hits(self) -> list[HistoryHit]:
        """Every history request so far, oldest first."""
        with self._lock:
            return list(self._hits)

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` (without the query) is one of the history routes."""
        return (
            path in (KRAKEN_PATH, BINANCE_PATH, OKX_RECENT_PATH, OKX_HISTORY_PATH)
            or path in CC_PATHS
            or path in COINDESK_PATHS
            or _COINBASE_PATH.fullmatch(path) is not None
        )

    def respond(self, request: Request) -> Response | None:
        """The answer to a history request, or None when ``request`` is not one."""
        url = urlsplit(request.path)
        path = url.path.rstrip("/")
        if not self.handles(path):
            return None
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            limited = self._limited_left > 0
            if limited:
                self._limited_left -= 1
        if limited:
            status, body = _rate_limited(path)
            response = _json(status, body, retry_after_s=self._config.history_retry_after_s)
        else:
            try:
                status, body = self._answer(path, query, request)
            except _Refused as refused:
                status, body = refused.status, refused.body
            response = _json(status, body)
        with self._lock:
            self._hits.append(HistoryHit(self._monotonic(), request.path, status))
        return response

    # --- per venue --------------------------------------------------------------------------

    def _answer(self, path: str, q: Mapping[str, str], request: Request) -> tuple[int, Body]:
        match = _COINBASE_PATH.fullmatch(path)
        if match is not None:
            return self._coinbase(unquote(match.group(1)), q)
        if path == KRAKEN_PATH:
            return self._kraken(q)
        if path == BINANCE_PATH:
            return self._binance(q)
        if path in (OKX_RECENT_PATH, OKX_HISTORY_PATH):
            return self._okx(path == OKX_RECENT_PATH, q)
        key = request_key(request)
        if path in CC_PATHS:
            if not key_ok(key, self._config.keys):
                return 401, rest.key_required_error()
            return self._cryptocompare(CC_PATHS[path], q)
        if key and key in self._config.coindesk_unentitled_keys:
            return 403, rest.coindesk_refusal(403, rest.COINDESK_NOT_ENTITLED_MESSAGE)
        if not key_ok(key, self._config.keys):
            return 401, rest.key_required_error()
        return self._coindesk(COINDESK_PATHS[path], q)

    def _kraken(self, q: Mapping[str, str]) -> tuple[int, Body]:
        pair = _kraken_pair(q.get("pair", ""))
        period = _int(q.get("interval", "1"), "interval") * 60
        price = self._price(Source.KRAKEN, pair) if pair else None
        if pair is None or price is None or period not in (MINUTE_S, HOUR_S):
            what = (
                "EQuery:Unknown asset pair" if period in (MINUTE_S, HOUR_S) else "EGeneral:Invalid arguments"
            )
            return 200, {"error": [what]}
        now = self._market.now()
        open_start = period_start(now, period)
        since = _int(q.get("since", "0"), "since")
        first = max(open_start - 719 * period, since + 1)
        first = -(-first // period) * period
        candles = self._candles(Source.KRAKEN, pair, price, first, open_start, period)
        rows = [_kraken_row(c) for c in candles]
        rows.append(_kraken_row(self._open_candle(Source.KRAKEN, pair, price, period)))
        name = _kraken_result_name(pair)
        return 200, {"error": [], "result": {name: rows, "last": open_start - period}}

    def _coinbase(self, product: str, q: Mapping[str, str]) -> tuple[int, Body]:
        base, _, quote = product.upper().partition("-")
        pair = Pair(Source.COINBASE, base, quote)
        price = self._price(Source.COINBASE, pair)
        if price is None:
            raise _Refused(404, {"message": "NotFound"})
        period = _int(q.get("granularity", "60"), "granularity")
        if period not in (MINUTE_S, HOUR_S):
            raise _Refused(400, {"message": "Unsupported granularity"})
        now = self._market.now()
        if "start" in q and "end" in q:
            start, last = _time(q["start"]), _time(q["end"])
        else:
            last = period_start(now, period) - period
            start = last - 299 * period
        start = -(-start // period) * period
        last = min(period_start(last, period), period_start(now, period) - period)
        if (last - start) // period + 1 > 300:
            raise _Refused(
                400,
                {
                    "message": "granularity too small for the requested time range. "
                    "Count of aggregations requested exceeds 300"
                },
            )
        candles = self._candles(Source.COINBASE, pair, price, start, last + period, period)
        return 200, [[c.start, c.low, c.high, c.open, c.close, _volume(c)] for c in reversed(candles)]

    def _binance(self, q: Mapping[str, str]) -> tuple[int, Body]:
        pair = _split_symbol(q.get("symbol", ""), Source.BINANCE)
        price = self._price(Source.BINANCE, pair) if pair else None
        if pair is None or price is None:
            raise _Refused(400, {"code": -1121, "msg": "Invalid symbol."})
        period = {"1m": MINUTE_S, "1h": HOUR_S}.get(q.get("interval", ""))
        if period is None:
            raise _Refused(400, {"code": -1120, "msg": "Invalid interval."})
        limit = min(max(_int(q.get("limit", "500"), "limit"), 1), 1000)
        now = self._market.now()
        open_start = period_start(now, period)
        end_ms = _int(q.get("endTime", str(int(now * 1000))), "endTime")
        start = _int(q.get("startTime", "0"), "startTime") // 1000 if "startTime" in q else None
        last = min(period_start(end_ms / 1000, period), open_start)
        first = last - (limit - 1) * period if start is None else -(-start // period) * period
        candles = self._candles(
            Source.BINANCE, pair, price, first, min(last, open_start - period) + period, period
        )
        if first <= open_start <= last:
            candles.append(self._open_candle(Source.BINANCE, pair, price, period))
        rows = [
            [
                c.start * 1000,
                _text(c.open),
                _text(c.high),
                _text(c.low),
                _text(c.close),
                _text(_volume(c)),
                (c.start + period) * 1000 - 1,
                _text(_volume(c) * c.close),
                60,
                _text(_volume(c) / 2),
                _text(_volume(c) * c.close / 2),
                "0",
            ]
            for c in candles[:limit]
        ]
        return 200, rows

    def _okx(self, recent: bool, q: Mapping[str, str]) -> tuple[int, Body]:
        pair = _dash_pair(q.get("instId", ""), Source.OKX)
        price = self._price(Source.OKX, pair) if pair else None
        if pair is None or price is None:
            return 200, {"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []}
        period = {"1m": MINUTE_S, "1H": HOUR_S}.get(q.get("bar", "1m"))
        if period is None:
            return 200, {"code": "51000", "msg": "Parameter bar error", "data": []}
        cap = 300 if recent else 100
        limit = min(max(_int(q.get("limit", "100"), "limit"), 1), cap)
        now = self._market.now()
        open_start = period_start(now, period)
        oldest = open_start - (1440 if recent else _MAX_REACH_S // period) * period
        after = _int(q["after"], "after") // 1000 if "after" in q else open_start + period
        before = _int(q["before"], "before") // 1000 if "before" in q else oldest - 1
        hi = min(after - 1, open_start)  # older than ``after``
        lo = max(before + 1, oldest)  # newer than ``before``
        first = -(-lo // period) * period
        last = period_start(hi, period)
        candles = self._candles(
            Source.OKX, pair, price, first, min(last, open_start - period) + period, period
        )
        rows = [[*_okx_row(c), "1"] for c in candles]
        if first <= open_start <= last:
            rows.append([*_okx_row(self._open_candle(Source.OKX, pair, price, period)), "0"])
        return 200, {"code": "0", "msg": "", "data": list(reversed(rows))[:limit]}

    def _cryptocompare(self, period: int, q: Mapping[str, str]) -> tuple[int, Body]:
        fsym, tsym = q.get("fsym", "").upper(), q.get("tsym", "").upper()
        exchange = q.get("e", AGGREGATE_MARKET) or AGGREGATE_MARKET
        if exchange.upper() == AGGREGATE_MARKET:
            pair = Pair(Source.CRYPTOCOMPARE, fsym, tsym, AGGREGATE_MARKET, Channel.AGGREGATE)
        else:
            pair = Pair(Source.CRYPTOCOMPARE, fsym, tsym, exchange, Channel.TICKER)
        price = self._price(Source.CRYPTOCOMPARE, pair)
        if price is None:
            return 200, rest.market_missing_error(fsym, tsym)
        limit = min(max(_int(q.get("limit", "1440"), "limit"), 1), 2000)
        now = self._market.now()
        open_start = period_start(now, period)
        to_start = min(period_start(_int(q.get("toTs", str(int(now))), "toTs"), period), open_start)
        first = to_start - limit * period
        reach = 7 * 86400 if period == MINUTE_S else _MAX_REACH_S
        by_start = {
            c.start: c
            for c in self._candles(Source.CRYPTOCOMPARE, pair, price, first, to_start + period, period)
        }
        if to_start == open_start:
            by_start[open_start] = self._open_candle(Source.CRYPTOCOMPARE, pair, price, period)
        rows = []
        for t in range(first, to_start + period, period):
            c = by_start.get(t) if t >= now - reach else None
            if c is None:  # min-api pads what it has not with zeros
                rows.append(_cc_row(t, 0.0, 0.0, 0.0, 0.0, 0.0))
            else:
                rows.append(_cc_row(t, c.open, c.high, c.low, c.close, _volume(c)))
        data = {"Aggregated": False, "TimeFrom": first, "TimeTo": to_start, "Data": rows}
        return 200, {
            "Response": "Success",
            "Message": "",
            "HasWarning": False,
            "Type": 100,
            "RateLimit": {},
            "Data": data,
        }

    def _coindesk(self, period: int, q: Mapping[str, str]) -> tuple[int, Body]:
        index = q.get("market", "")
        if index not in COINDESK_MARKETS:
            raise _Refused(400, _data_api_error(f"market {index[:40]!r} is not an index market.", "market"))
        base, _, quote = q.get("instrument", "").partition("-")
        pair = Pair(Source.COINDESK, base, quote, index, Channel.AGGREGATE)
        price = self._price(Source.COINDESK, pair) if base and quote else None
        if price is None:
            raise _Refused(400, _data_api_error(f"instrument not found on {index}.", "instrument"))
        limit = min(max(_int(q.get("limit", "30"), "limit"), 1), 2000)
        now = self._market.now()
        open_start = period_start(now, period)
        to_start = min(
            period_start(_int(q.get("to_ts", str(int(now))), "to_ts"), period), open_start - period
        )
        first = to_start - (limit - 1) * period
        unit = "MINUTE" if period == MINUTE_S else "HOUR"
        rows = [
            {
                "UNIT": unit,
                "TIMESTAMP": c.start,
                "TYPE": "267",
                "MARKET": index,
                "INSTRUMENT": f"{base}-{quote}",
                "OPEN": c.open,
                "HIGH": c.high,
                "LOW": c.low,
                "CLOSE": c.close,
            }
            for c in self._candles(Source.COINDESK, pair, price, first, to_start + period, period)
        ]
        return 200, {"Data": rows, "Err": {}}

    # --- the model --------------------------------------------------------------------------

    def _price(self, source: Source, pair: Pair) -> float | None:
        """The live price behind a venue's pair, as the venue streams it; None if not listed."""
        if source is Source.OKX:
            if pair.quote != "USDT":
                return None
            inst = self._market.find(
                Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, "Binance", Channel.TICKER)
            )
            return None if inst is None else round_price(float(inst.fields["PRICE"]) * (1 + OKX_BASIS))
        if source is Source.COINDESK:
            if pair.market != "cadli" and pair.quote != "USD":
                return None
            agg = Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, AGGREGATE_MARKET, Channel.AGGREGATE)
            inst = self._market.find(agg)
            k = 1.0 + COINDESK_MARKETS[pair.market]
            return None if inst is None else round_price(float(inst.fields["PRICE"]) * k)
        if source is Source.CRYPTOCOMPARE:
            inst = self._market.find(pair)
        else:
            exchange = {Source.KRAKEN: "Kraken", Source.COINBASE: "Coinbase", Source.BINANCE: "Binance"}[
                source
            ]
            inst = self._market.find(
                Pair(Source.CRYPTOCOMPARE, pair.base, pair.quote, exchange, Channel.TICKER)
            )
        return None if inst is None else float(inst.fields["PRICE"])

    def _candles(
        self, source: Source, pair: Pair, price: float, start: int, end: int, period: int
    ) -> list[Candle]:
        """Finished candles of ``period`` starting in ``[start, end)``, without the hole."""
        now = self._market.now()
        start = max(start, period_start(now - _MAX_REACH_S, period))
        end = min(end, period_start(now, period))
        if start >= end:
            return []
        if period == HOUR_S:
            minutes = self._candles(source, pair, price, start, end, MINUTE_S)
            return roll_up(minutes, HOUR_S)
        ident = f"{source.value}:{pair.base}:{pair.quote}:{pair.market}"
        coin = find_coin(pair.base)
        vol = (coin.vol_per_s if coin else 3e-4) * math.sqrt(MINUTE_S)
        now_minute = period_start(now, MINUTE_S) // MINUTE_S
        first = start // MINUTE_S
        last = (end - MINUTE_S) // MINUTE_S
        # Log price relative to now, walking back from the live price: x(m) = -(sum of steps in (m, now]).
        steps = self._steps(ident, first, now_minute)
        x = 0.0
        closes: dict[int, float] = {}
        wicks: dict[int, tuple[float, float]] = {}
        for m in range(now_minute, first - 2, -1):
            if m <= last:
                closes[m] = x
            g, h, lo = steps[m]
            wicks[m] = (h, lo)
            x -= g * vol
        hole = self._config.history_hole
        out = []
        for m in range(first, last + 1):
            t = m * MINUTE_S
            if hole is not None and hole[0] <= t < hole[1]:
                continue
            prev = closes.get(m - 1)
            c = price * math.exp(closes[m])
            o = price * math.exp(prev) if prev is not None else c
            h, lo = wicks[m]
            high = round_price(max(o, c) * (1 + abs(h) * vol * _WICK_SHARE))
            low = round_price(min(o, c) * (1 - abs(lo) * vol * _WICK_SHARE))
            out.append(Candle(t, round_price(o), high, low, round_price(c), 0))
        return out

    def _open_candle(self, source: Source, pair: Pair, price: float, period: int) -> Candle:
        """The open period so far: from the last finished close to the live price."""
        now = self._market.now()
        start = period_start(now, period)
        prev = self._candles(source, pair, price, start - period, start, period)
        o = prev[-1].close if prev else price
        return Candle(start, o, max(o, price), min(o, price), price, 0)

    def _steps(self, ident: str, first: int, last: int) -> dict[int, tuple[float, float, float]]:
        """Three seeded standard normals per minute in ``[first - 1, last]``: the step and two wicks."""
        out: dict[int, tuple[float, float, float]] = {}
        for day in range((first - 1) // _DAY_MINUTES, last // _DAY_MINUTES + 1):
            draws = self._day(ident, day)
            base = day * _DAY_MINUTES
            lo, hi = max(first - 1, base), min(last, base + _DAY_MINUTES - 1)
            for m in range(lo, hi + 1):
                out[m] = draws[m - base]
        return out

    def _day(self, ident: str, day: int) -> list[tuple[float, float, float]]:
        key = (ident, day)
        with self._lock:
            cached = self._days.get(key)
            if cached is not None:
                self._days.move_to_end(key)
                return cached
        rng = random.Random(f"{self._market.seed}:{ident}:{day}")
        draws = [(rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)) for _ in range(_DAY_MINUTES)]
        with self._lock:
            self._days[key] = draws
            while len(self._days) > _CACHE_DAYS:
                self._days.popitem(last=False)
        return draws


# --- helpers ------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, body: Body) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _json(status: int, body: Body, retry_after_s: float | None = None) -> Response:
    data = orjson.dumps(body)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Content-Length", str(len(data))),
        ]
    )
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(0, math.ceil(retry_after_s)))
    return Response(status, HTTPStatus(status).phrase, headers, data)


def _rate_limited(path: str) -> tuple[int, Body]:
    """Each venue's own 429 body."""
    if path == KRAKEN_PATH:
        return 429, {"error": ["EGeneral:Too many requests"]}
    if path == BINANCE_PATH:
        return 429, {
            "code": -1003,
            "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE.",
        }
    if path in (OKX_RECENT_PATH, OKX_HISTORY_PATH):
        return 429, {"code": "50011", "msg": "Too Many Requests", "data": []}
    if path in CC_PATHS:
        return 429, {
            "Response": "Error",
            "Message": "You are over your rate limit please upgrade your account!",
            "Type": 99,
        }
    if path in COINDESK_PATHS:
        return 429, {
            "Data": {},
            "Err": {"type": 3, "message": "Rate limit exceeded.", "http_status_code": 429},
        }
    return 429, {"message": "Public rate limit exceeded"}


def _data_api_error(message: str, param: str) -> Body:
    return {
        "Data": {},
        "Err": {"type": 2, "message": message, "other_info": {"param": param}, "http_status_code": 400},
    }


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Refused(400, {"message": f"{name} is not a whole number", "code": -1100}) from None


def _time(text: str) -> int:
    """A Coinbase time parameter: unix seconds or ISO 8601 (``2025-12-03T04:00:00Z``)."""
    if text.isdigit():
        return int(text)
    try:
        return calendar.timegm(time.strptime(text.replace("Z", ""), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise _Refused(400, {"message": "invalid start or end"}) from None


def _text(value: float) -> str:
    return f"{value:.8f}"


def _volume(c: Candle) -> float:
    return round(1.0 + (c.start // MINUTE_S) % 7 * 0.25, 8)


def _kraken_row(c: Candle) -> list[Any]:
    return [
        c.start,
        _text(c.open),
        _text(c.high),
        _text(c.low),
        _text(c.close),
        _text((c.high + c.low) / 2),
        _text(_volume(c)),
        12,
    ]


def _okx_row(c: Candle) -> list[str]:
    v = _volume(c)
    return [
        str(c.start * 1000),
        _text(c.open),
        _text(c.high),
        _text(c.low),
        _text(c.close),
        _text(v),
        _text(v),
        _text(v * c.close),
    ]


def _cc_row(t: int, o: float, h: float, low: float, c: float, v: float) -> dict[str, Any]:
    return {
        "time": t,
        "high": h,
        "low": low,
        "open": o,
        "volumefrom": v,
        "volumeto": v * c,
        "close": c,
        "conversionType": "direct",
        "conversionSymbol": "",
    }


def _kraken_pair(text: str) -> Pair | None:
    """Kraken's REST names: ``XBTUSD``, ``XXBTZUSD``, ``BTC/USD``."""
    name = text.strip().upper()
    if "/" in name:
        base, _, quote = name.partition("/")
    elif len(name) == 8 and name[0] in "XZ" and name[4] in "XZ":
        base, quote = name[1:4], name[5:]
    else:
        pair = _split_symbol(name.replace("XBT", "BTC", 1).replace("XDG", "DOGE", 1), Source.KRAKEN)
        return pair
    base, quote = _KRAKEN_NAMES.get(base, base), _KRAKEN_NAMES.get(quote, quote)
    return Pair(Source.KRAKEN, base, quote) if base and quote else None


def _kraken_result_name(pair: Pair) -> str:
    base, quote = _KRAKEN_OLD.get(pair.base, pair.base), pair.quote
    if pair.base in _KRAKEN_CLASSIC and quote in ("USD", "EUR"):
        return f"X{base}Z{quote}"
    return f"{base}{quote}"


def _split_symbol(text: str, source: Source) -> Pair | None:
    """``BTCUSDT`` -> BTC/USDT, by the coins the market knows."""
    name = text.strip().upper()
    for coin in sorted(
        (
            c
            for c in ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT", "LINK", "AVAX", "BNB", "MATIC")
        ),
        key=len,
        reverse=True,
    ):
        if name.startswith(coin) and len(name) > len(coin):
            return Pair(source, coin, name[len(coin) :])
    return None


def _dash_pair(text: str, source: Source) -> Pair | None:
    base, dash, quote = text.strip().upper().partition("-")
    return Pair(source, base, quote) if dash and base and quote else None
