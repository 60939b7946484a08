"""A venue's own candle history over REST: one request planner and one parser per source. No Qt.

Planning (which pages to ask for a range of minutes or hours) and parsing (a body into finished
candles, oldest first, ``count == 0``) are pure, so they are unit-tested on bytes. Every refusal,
hostile or malformed body is a typed :class:`HistoryError`; nothing here raises anything else
upward and nothing trusts a size or a type the server sends.

The endpoints (request shapes and limits confirmed against each venue's documentation; see the
notes of issue 11):

- Kraken ``GET /0/public/OHLC?pair=XBTUSD&interval=1&since=S``: ``{"error": [], "result":
  {"<Kraken's pair name>": [[time, o, h, l, c, vwap, volume, count], ...], "last": T}}``. At most
  the 720 most recent entries, whatever ``since`` says; the last entry is the open period: dropped.
- Coinbase Exchange ``GET /products/BTC-USD/candles?granularity=60&start=ISO&end=ISO``: rows
  ``[time, low, high, open, close, volume]`` newest first, at most 300 per request.
- Binance ``GET /api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=MS&endTime=MS&limit=1000``:
  rows ``[open time ms, "o", "h", "l", "c", "volume", close time ms, ...]`` oldest first.
- OKX ``GET /api/v5/market/candles`` (the latest 1440 periods, 300 a page) and
  ``/history-candles`` (older, 100 a page) ``?instId=BTC-USDT&bar=1m&after=MS&before=MS&limit=N``:
  ``{"code": "0", "data": [["ts ms", "o", "h", "l", "c", vol, volCcy, volCcyQuote, "confirm"]]}``
  newest first; ``after`` asks for older than, ``before`` for newer than; ``confirm == "0"`` is
  the open period: dropped.
- CryptoCompare ``GET /data/v2/histominute`` (``/histohour``) ``?fsym=BTC&tsym=USD&e=CCCAGG&limit=N&
  toTs=T``: ``{"Response": "Success", "Data": {"Data": [{"time", "open", "high", "low", "close",
  ...}]}}``, ``limit + 1`` rows ending at ``toTs``, at most 2000; minutes are kept 7 days. Errors
  come with HTTP 200 (``"Response": "Error"``, Type 99 = rate limit); rows of zeros mean no data.
- CoinDesk Data ``GET /index/cc/v1/historical/minutes`` (``/hours``) ``?market=cadli&
  instrument=BTC-USD&limit=N&to_ts=T&groups=OHLC``: ``{"Data": [{"TIMESTAMP", "OPEN", "HIGH",
  "LOW", "CLOSE", ...}], "Err": {}}``, at most 2000, oldest first.

The key (CryptoCompare, CoinDesk) goes only in the ``authorization`` header, never in a URL;
redirects are never followed (so the key cannot be forwarded to another host); what is logged is
redacted.
"""

from __future__ import annotations

import abc
import email.utils
import enum
import json
import logging
import math
import time as _time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import requests
import requests.auth
import urllib3.exceptions

from ccdesk.core.api_key import ApiKey
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, period_start
from ccdesk.core.endpoints import stream_url
from ccdesk.core.http_failure import root_cause
from ccdesk.core.identity import DEFAULT_COINDESK_REST_URL, DEFAULT_REST_URL
from ccdesk.core.pairs import AGGREGATE_MARKET, NOT_STREAMED, Pair, Source
from ccdesk.core.redaction import redact
from ccdesk.core.rest import ApiKeyAuth, BodyTooLarge, read_capped
from ccdesk.core.sources import source_info
from ccdesk.core.urls import UrlError, check_url

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
"""The largest page is 2000 rows of a few hundred bytes; far more is hostile."""
MAX_ROWS: Final = 5000
"""More rows than any page asks for (2000 at most) is a body that is not an answer to the request."""
MAX_RETRY_AFTER_S: Final = 600.0
"""A Retry-After beyond this is clamped: a backfill waits at most ten minutes for one host."""
DEFAULT_TIMEOUT_S: Final = 10.0
APP_PARAM: Final = "ccdesk"
PERIODS: Final = (MINUTE_S, HOUR_S)
_MAX_DETAIL: Final = 200
_MAX_NUMBER_TEXT: Final = 40
# 2001-09-09 .. 2286: a time outside this is not a candle's start.
_MIN_TIME: Final = 1_000_000_000
_MAX_TIME: Final = 10_000_000_000


class HistoryProblem(enum.Enum):
    """Why a page of history did not come."""

    RATE_LIMITED = "rate_limited"
    """HTTP 429 (or the venue's own rate-limit answer): wait ``retry_after_s`` and ask again."""
    KEY_REFUSED = "key_refused"
    """The key is missing, not accepted, or its plan does not reach the data (401/403)."""
    NO_KEY = "no_key"
    """The source needs a key and none is set: nothing was asked."""
    NOT_LISTED = "not_listed"
    """The venue does not list the pair (or the market/exchange asked for)."""
    REFUSED = "refused"
    """Another client error (4xx): asking again will not help."""
    SERVER = "server"
    """A server error (5xx): may pass."""
    BAD_RESPONSE = "bad_response"
    """A body that is not the answer (not JSON, wrong shape, invalid numbers, too large)."""
    NETWORK = "network"
    """No answer: DNS, connection, TLS, timeout."""
    NOT_SUPPORTED = "not_supported"
    """The source has no history endpoint (the composite), or not at this period."""

    @property
    def retryable(self) -> bool:
        """Whether asking again later may succeed."""
        return self in _RETRYABLE


_RETRYABLE: Final = frozenset(
    {HistoryProblem.RATE_LIMITED, HistoryProblem.SERVER, HistoryProblem.BAD_RESPONSE, HistoryProblem.NETWORK}
)


class HistoryError(Exception):
    """A page that did not come, typed. ``detail`` is short, scrubbed, for the log (never the key)."""

    def __init__(
        self,
        problem: HistoryProblem,
        detail: str = "",
        *,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        self.detail = detail[:_MAX_DETAIL]
        self.http_status = http_status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """One page to ask for: ``path`` and ``params`` on the source's base URL, covering the period
    starts in ``[start, end)``."""

    source: Source
    path: str
    params: tuple[tuple[str, str], ...]
    period_s: int
    start: int
    end: int
    keyed: bool


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What came back: the status, the body (bounded) and the Retry-After header in seconds."""

    status: int
    body: bytes
    retry_after_s: float | None = None


HttpGet = Callable[[str, Mapping[str, str], ApiKey | None], HttpAnswer]
"""``(url, query, key or None) -> HttpAnswer``; raises :class:`HistoryError` (NETWORK,
BAD_RESPONSE) when no usable answer came. The key goes in a header, never in the URL."""


# --- one planner and parser per venue --------------------------------------------------------


class VenueHistory(abc.ABC):
    """A venue's history endpoint: its pages for a range, and the candles in a page's body.

    Attributes:
        source: The source it serves.
        default_url: The production base URL.
        keyed: Whether a key is needed (sent as ``authorization: Apikey KEY``).
    """

    source: Source
    default_url: str
    keyed: bool = False

    @abc.abstractmethod
    def reach_s(self, period_s: int) -> int:
        """How far back from now the venue serves candles of ``period_s``."""

    @abc.abstractmethod
    def page_size(self, start: int, now: float, period_s: int) -> int:
        """How many periods one request may cover, for a page starting at ``start``."""

    @abc.abstractmethod
    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        """The request for the period starts in ``[start, end)`` (one page's worth at most)."""

    @abc.abstractmethod
    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        """The candles in a decoded JSON body (any order); raises HistoryError."""

    def pages(
        self, pair: Pair, start: int, end: int, now: float, period_s: int = MINUTE_S
    ) -> list[HistoryRequest]:
        """The requests that cover ``[start, end)`` (clipped to the venue's reach and to the last
        finished period), newest first so that a backfill cut short still has the recent part.

        Raises:
            HistoryError: NOT_SUPPORTED for a period the venue does not serve.
        """
        if period_s not in PERIODS:
            raise HistoryError(HistoryProblem.NOT_SUPPORTED, f"no history of {period_s} s periods")
        start = -(-int(start) // period_s) * period_s
        end = min(period_start(end, period_s), period_start(now, period_s))
        start = max(start, period_start(now - self.reach_s(period_s), period_s))
        out: list[HistoryRequest] = []
        hi = end
        while hi > start:
            size = max(1, self.page_size(hi - period_s, now, period_s))
            lo = max(start, hi - size * period_s)
            # A page must not straddle a boundary where the page size changes (OKX).
            while lo > start and self.page_size(lo, now, period_s) < (hi - lo) // period_s:
                lo += period_s
            out.append(self.request(pair, lo, hi, period_s, now))
            hi = lo
        return out

    def parse(self, answer: HttpAnswer, request: HistoryRequest) -> list[Candle]:
        """The finished candles of ``request``'s range in ``answer``, oldest first, ``count == 0``.

        Raises:
            HistoryError: typed; never anything else.
        """
        _check_status(answer)
        try:
            data = _decode(answer.body)
        except HistoryError:
            if answer.status != 200:
                raise HistoryError(
                    HistoryProblem.REFUSED, f"HTTP {answer.status}", http_status=answer.status
                ) from None
            raise
        self.check_error(data, answer.status)
        if answer.status != 200:
            raise HistoryError(HistoryProblem.REFUSED, f"HTTP {answer.status}", http_status=answer.status)
        try:
            candles = self.rows(data, request)
        except HistoryError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as exc:
            raise HistoryError(
                HistoryProblem.BAD_RESPONSE, f"unexpected shape: {type(exc).__name__}"
            ) from None
        wanted = {c.start: c for c in candles if request.start <= c.start < request.end}
        return [wanted[k] for k in sorted(wanted)]

    def check_error(self, data: Any, status: int) -> None:  # noqa: B027  (optional hook)
        """Raise the venue's own error answer, if ``data`` is one (default: nothing to check)."""


def _period_word(period_s: int, minute: str, hour: str) -> str:
    return minute if period_s == MINUTE_S else hour


class KrakenHistory(VenueHistory):
    """Kraken's public OHLC: one request returns every committed period since ``since`` (720 at most)."""

    source = Source.KRAKEN
    default_url = "https://api.kraken.com"
    MAX_ENTRIES: Final = 720

    def reach_s(self, period_s: int) -> int:
        return (self.MAX_ENTRIES - 1) * period_s

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.MAX_ENTRIES

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        params = (
            ("pair", kraken_rest_pair(pair)),
            ("interval", str(period_s // 60)),
            ("since", str(start - period_s)),
        )
        return HistoryRequest(self.source, "/0/public/OHLC", params, period_s, start, end, False)

    def check_error(self, data: Any, status: int) -> None:
        errors = data.get("error") if isinstance(data, dict) else None
        if not isinstance(errors, list) or not errors:
            return
        text = "; ".join(str(e)[:80] for e in errors[:3] if isinstance(e, str))
        if "Too many requests" in text or "Rate limit" in text:
            raise HistoryError(HistoryProblem.RATE_LIMITED, text, http_status=status)
        if "Unknown asset pair" in text or "Invalid arguments" in text:
            raise HistoryError(HistoryProblem.NOT_LISTED, text, http_status=status)
        if "Unavailable" in text or "Busy" in text:
            raise HistoryError(HistoryProblem.SERVER, text, http_status=status)
        raise HistoryError(HistoryProblem.REFUSED, text, http_status=status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        result = data["result"]
        if not isinstance(result, dict):
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "no result object")
        lists = [v for k, v in result.items() if k != "last" and isinstance(v, list)]
        if len(lists) != 1:
            raise HistoryError(HistoryProblem.BAD_RESPONSE, f"{len(lists)} pair entries in the result")
        rows = _bounded(lists[0])[:-1]  # the last entry is the open, uncommitted period
        return [_candle(r[0], r[1], r[2], r[3], r[4], request.period_s) for r in rows]


class CoinbaseHistory(VenueHistory):
    """Coinbase Exchange's product candles: 300 per request, newest first."""

    source = Source.COINBASE
    default_url = "https://api.exchange.coinbase.com"
    MAX_CANDLES: Final = 300

    def reach_s(self, period_s: int) -> int:
        return 30 * 86400

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.MAX_CANDLES

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        product = f"{pair.base}-{pair.quote}"
        # ``end`` is inclusive at Coinbase: the last start wanted, so a page is at most 300 points.
        params = (
            ("granularity", str(period_s)),
            ("start", _iso(start)),
            # (never equal to start: a one-period range asks for two, the extra one is filtered out)
            ("end", _iso(max(end - period_s, start + period_s))),
        )
        path = f"/products/{urllib.parse.quote(product, safe='-')}/candles"
        return HistoryRequest(self.source, path, params, period_s, start, end, False)

    def check_error(self, data: Any, status: int) -> None:
        if isinstance(data, dict):
            message = str(data.get("message", ""))[:120]
            if status == 200 and not message:
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "an object, not a list of candles")
            if status == 404 or "NotFound" in message or "not found" in message.lower():
                raise HistoryError(HistoryProblem.NOT_LISTED, message, http_status=status)
            raise HistoryError(HistoryProblem.REFUSED, message or "an object, not a list", http_status=status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        # [time, low, high, open, close, volume]
        return [_candle(r[0], r[3], r[2], r[1], r[4], request.period_s) for r in _bounded(data)]


class BinanceHistory(VenueHistory):
    """Binance's spot klines: 1000 per request, oldest first, times in ms."""

    source = Source.BINANCE
    default_url = "https://api.binance.com"
    MAX_KLINES: Final = 1000

    def reach_s(self, period_s: int) -> int:
        return 30 * 86400

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.MAX_KLINES

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        params = (
            ("symbol", f"{pair.base}{pair.quote}"),
            ("interval", _period_word(period_s, "1m", "1h")),
            ("startTime", str(start * 1000)),
            ("endTime", str(end * 1000 - 1)),
            ("limit", str((end - start) // period_s)),
        )
        return HistoryRequest(self.source, "/api/v3/klines", params, period_s, start, end, False)

    def check_error(self, data: Any, status: int) -> None:
        if isinstance(data, dict):
            code = data.get("code")
            message = str(data.get("msg", ""))[:120]
            if status == 200 and code is None:
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "an object, not a list of klines")
            if code == -1121 or "Invalid symbol" in message:
                raise HistoryError(HistoryProblem.NOT_LISTED, message, http_status=status)
            if code == -1003:
                raise HistoryError(HistoryProblem.RATE_LIMITED, message, http_status=status)
            raise HistoryError(HistoryProblem.REFUSED, message or "an object, not a list", http_status=status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        out = []
        for r in _bounded(data):
            t = _int(r[0])
            if t % 1000:
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "open time not on a second")
            out.append(_candle(t // 1000, r[1], r[2], r[3], r[4], request.period_s))
        return out


class OkxHistory(VenueHistory):
    """OKX's candles (the latest 1440 periods) and history-candles (older), newest first."""

    source = Source.OKX
    default_url = "https://www.okx.com"
    RECENT_PERIODS: Final = 1440
    RECENT_PAGE: Final = 300
    HISTORY_PAGE: Final = 100

    def reach_s(self, period_s: int) -> int:
        return 30 * 86400

    def _recent(self, start: int, now: float, period_s: int) -> bool:
        return start >= now - (self.RECENT_PERIODS - 1) * period_s

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.RECENT_PAGE if self._recent(start, now, period_s) else self.HISTORY_PAGE

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        recent = self._recent(start, now, period_s)
        path = "/api/v5/market/candles" if recent else "/api/v5/market/history-candles"
        params = (
            ("instId", f"{pair.base}-{pair.quote}"),
            ("bar", _period_word(period_s, "1m", "1H")),
            ("after", str(end * 1000)),  # older than the end
            ("before", str(start * 1000 - 1)),  # newer than just before the start
            ("limit", str((end - start) // period_s)),
        )
        return HistoryRequest(self.source, path, params, period_s, start, end, False)

    def check_error(self, data: Any, status: int) -> None:
        if not isinstance(data, dict):
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "not an object")
        code = data.get("code")
        if code in ("0", 0):
            return
        message = str(data.get("msg", ""))[:120]
        if code in ("51001", "51000", "51014"):  # instrument does not exist / parameter errors
            raise HistoryError(HistoryProblem.NOT_LISTED, f"{code} {message}", http_status=status)
        if code in ("50011", "50061"):
            raise HistoryError(HistoryProblem.RATE_LIMITED, f"{code} {message}", http_status=status)
        if code in ("50001", "50013", "50026"):
            raise HistoryError(HistoryProblem.SERVER, f"{code} {message}", http_status=status)
        raise HistoryError(HistoryProblem.REFUSED, f"{str(code)[:20]} {message}", http_status=status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        out = []
        for r in _bounded(data["data"]):
            if len(r) > 8 and r[8] == "0":
                continue
            t = _int(r[0])
            if t % 1000:
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "ts not on a second")
            out.append(_candle(t // 1000, r[1], r[2], r[3], r[4], request.period_s))
        return out


class CryptoCompareHistory(VenueHistory):
    """min-api's histominute / histohour: ``limit + 1`` rows ending at ``toTs``; needs a key here."""

    source = Source.CRYPTOCOMPARE
    default_url = DEFAULT_REST_URL
    keyed = True
    MAX_POINTS: Final = 2000

    def reach_s(self, period_s: int) -> int:
        return 7 * 86400 if period_s == MINUTE_S else 30 * 86400

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.MAX_POINTS

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        params = (
            ("fsym", pair.base),
            ("tsym", pair.quote),
            ("e", pair.market or AGGREGATE_MARKET),
            # limit + 1 rows come back; min-api wants limit >= 1 (one extra row is filtered out).
            ("limit", str(max(1, (end - start) // period_s - 1))),
            ("toTs", str(end - period_s)),
            # Never a price converted through BTC: that would mix sources in one pair's history.
            ("tryConversion", "false"),
            ("extraParams", APP_PARAM),
        )
        path = "/data/v2/" + _period_word(period_s, "histominute", "histohour")
        return HistoryRequest(self.source, path, params, period_s, start, end, True)

    def check_error(self, data: Any, status: int) -> None:
        if not isinstance(data, dict):
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "not an object")
        if data.get("Response") != "Error":
            err = data.get("Err")
            if isinstance(err, dict) and err:
                _data_api_error(err, status)
            return
        message = str(data.get("Message", ""))[:160]
        kind = data.get("Type")
        if kind == 99 or status == 429:
            raise HistoryError(HistoryProblem.RATE_LIMITED, message, http_status=status)
        lowered = message.lower()
        if status in (401, 403) or "api key" in lowered or "apikey" in lowered:
            raise HistoryError(HistoryProblem.KEY_REFUSED, message, http_status=status)
        if "does not exist" in lowered or "no data" in lowered or "not found" in lowered:
            raise HistoryError(HistoryProblem.NOT_LISTED, message, http_status=status)
        raise HistoryError(HistoryProblem.REFUSED, message, http_status=status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        inner = data["Data"]
        rows = inner["Data"] if isinstance(inner, dict) else None
        out = []
        for r in _bounded(rows):
            if not isinstance(r, dict):
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "a row that is not an object")
            if all(r.get(k) in (0, 0.0) for k in ("open", "high", "low", "close")):
                continue  # min-api pads periods without data with zeros
            out.append(_candle(r["time"], r["open"], r["high"], r["low"], r["close"], request.period_s))
        return out


class CoinDeskHistory(VenueHistory):
    """CoinDesk Data's index history (``cadli``, ``ccix``, ``ccixbe``); needs a key."""

    source = Source.COINDESK
    default_url = DEFAULT_COINDESK_REST_URL
    keyed = True
    MAX_POINTS: Final = 2000

    def reach_s(self, period_s: int) -> int:
        return 30 * 86400

    def page_size(self, start: int, now: float, period_s: int) -> int:
        return self.MAX_POINTS

    def request(self, pair: Pair, start: int, end: int, period_s: int, now: float) -> HistoryRequest:
        params = (
            ("market", pair.market or "cadli"),
            ("instrument", f"{pair.base}-{pair.quote}"),
            ("limit", str((end - start) // period_s)),
            ("to_ts", str(end - period_s)),
            ("groups", "OHLC"),
        )
        path = "/index/cc/v1/historical/" + _period_word(period_s, "minutes", "hours")
        return HistoryRequest(self.source, path, params, period_s, start, end, True)

    def check_error(self, data: Any, status: int) -> None:
        if not isinstance(data, dict):
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "not an object")
        err = data.get("Err")
        if isinstance(err, dict) and err:
            _data_api_error(err, status)

    def rows(self, data: Any, request: HistoryRequest) -> list[Candle]:
        out = []
        for r in _bounded(data["Data"]):
            if not isinstance(r, dict):
                raise HistoryError(HistoryProblem.BAD_RESPONSE, "a row that is not an object")
            out.append(_candle(r["TIMESTAMP"], r["OPEN"], r["HIGH"], r["LOW"], r["CLOSE"], request.period_s))
        return out


def _data_api_error(err: Mapping[str, Any], status: int) -> None:
    """The data API's ``{"Err": {"type", "message", "http_status_code", "other_info"}}``."""
    message = str(err.get("message", ""))[:160]
    code = err.get("http_status_code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else status
    if 429 in (code, status):
        raise HistoryError(HistoryProblem.RATE_LIMITED, message, http_status=status)
    if code in (401, 403) or status in (401, 403):
        raise HistoryError(HistoryProblem.KEY_REFUSED, message, http_status=status)
    if code >= 500:
        raise HistoryError(HistoryProblem.SERVER, message, http_status=status)
    info = err.get("other_info")
    param = info.get("param") if isinstance(info, dict) else None
    if param in ("instrument", "market", "instruments") or "not found" in message.lower():
        raise HistoryError(HistoryProblem.NOT_LISTED, message, http_status=status)
    raise HistoryError(HistoryProblem.REFUSED, message, http_status=status)


_VENUES: Final[Mapping[Source, VenueHistory]] = {
    v.source: v
    for v in (
        KrakenHistory(),
        CoinbaseHistory(),
        BinanceHistory(),
        OkxHistory(),
        CryptoCompareHistory(),
        CoinDeskHistory(),
    )
}


def venue_history(source: Source) -> VenueHistory:
    """The history endpoint of ``source``.

    Raises:
        HistoryError: NOT_SUPPORTED for the composite (a median of the venues, served by none).
    """
    venue = _VENUES.get(source)
    if venue is None:
        raise HistoryError(HistoryProblem.NOT_SUPPORTED, f"{source.value} has no history endpoint")
    return venue


def env_history_url_name(source: Source) -> str:
    """The variable that overrides ``source``'s history base URL: ``CCDESK_KRAKEN_REST_URL``;
    CryptoCompare and CoinDesk use the key check's (``CCDESK_REST_URL``, ``CCDESK_COINDESK_REST_URL``)."""
    if source is Source.CRYPTOCOMPARE:
        return "CCDESK_REST_URL"
    return f"CCDESK_{source.name}_REST_URL"


def history_url(source: Source, env: Mapping[str, str] | None = None, override: str | None = None) -> str:
    """The base URL to ask ``source``'s history from: ``override`` (the simulator's ``rest_url``,
    a setting), else the environment (:func:`env_history_url_name`), else the default.

    Raises:
        HistoryError: NOT_SUPPORTED for the composite; REFUSED for an unusable URL (plain HTTP to
            a remote host for a keyed source, credentials or a query in it).
    """
    venue = venue_history(source)
    text = override or (env or {}).get(env_history_url_name(source), "").strip() or venue.default_url
    try:
        return check_url(
            text,
            what=f"{source.value} history URL",
            schemes=("http", "https"),
            sends_key=venue.keyed,
            plain=True,
        ).rstrip("/")
    except UrlError as exc:
        raise HistoryError(HistoryProblem.REFUSED, str(exc)) from None


def kraken_rest_pair(pair: Pair) -> str:
    """Kraken's REST name of a pair: ``XBTUSD`` (REST keeps the old XBT and XDG symbols)."""
    names = {"BTC": "XBT", "DOGE": "XDG"}
    return f"{names.get(pair.base, pair.base)}{names.get(pair.quote, pair.quote)}"


def fetch_page(get: HttpGet, base_url: str, request: HistoryRequest, key: ApiKey | None) -> list[Candle]:
    """Ask for one page and parse it.

    Raises:
        HistoryError: typed; NO_KEY without asking when the source needs a key and there is none.
    """
    venue = venue_history(request.source)
    if request.keyed and key is None:
        raise HistoryError(HistoryProblem.NO_KEY, f"{request.source.value} history needs an API key")
    answer = get(base_url + request.path, dict(request.params), key if request.keyed else None)
    return venue.parse(answer, request)


# --- the real HTTP get (requests) --------------------------------------------------------------


class RequestsGet:
    """:data:`HttpGet` over a ``requests.Session``: no redirects (so a key is never forwarded),
    a bounded body, Retry-After read, every failure a :class:`HistoryError` scrubbed of the key.
    Blocks up to ``timeout_s`` per socket operation: only on a background thread."""

    def __init__(self, session: requests.Session | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._session = session or requests.Session()
        self._timeout_s = timeout_s

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    def __call__(self, url: str, query: Mapping[str, str], key: ApiKey | None) -> HttpAnswer:
        secrets = (key.reveal(),) if key is not None else ()
        log.debug("GET %s %s", redact(url, secrets), redact(str(dict(query)), secrets))
        try:
            with self._session.get(
                url,
                params=dict(query),
                auth=ApiKeyAuth(key) if key is not None else None,
                headers={"Accept": "application/json", "User-Agent": APP_PARAM},
                timeout=(self._timeout_s, self._timeout_s),
                allow_redirects=False,
                stream=True,
            ) as response:
                body = read_capped(response, MAX_BODY_BYTES)
                retry = retry_after_s(response.headers.get("Retry-After"))
                return HttpAnswer(response.status_code, body, retry)
        except BodyTooLarge:
            raise HistoryError(
                HistoryProblem.BAD_RESPONSE, f"body larger than {MAX_BODY_BYTES} bytes"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            root = root_cause(exc)
            detail = redact(str(root) or type(root).__name__, secrets)
            raise HistoryError(HistoryProblem.NETWORK, detail) from None


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) in seconds, clamped to
    [0, MAX_RETRY_AFTER_S]; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()[:64]
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (_time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


# --- parsing helpers ---------------------------------------------------------------------------


def _check_status(answer: HttpAnswer) -> None:
    status = answer.status
    if status == 429 or status == 418:
        raise HistoryError(
            HistoryProblem.RATE_LIMITED,
            f"HTTP {status}",
            http_status=status,
            retry_after_s=answer.retry_after_s,
        )
    if status in (401, 403):
        raise HistoryError(HistoryProblem.KEY_REFUSED, f"HTTP {status}", http_status=status)
    if status >= 500:
        raise HistoryError(HistoryProblem.SERVER, f"HTTP {status}", http_status=status)
    if len(answer.body) > MAX_BODY_BYTES:
        raise HistoryError(HistoryProblem.BAD_RESPONSE, f"body larger than {MAX_BODY_BYTES} bytes")


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        start = body[:40].decode("utf-8", "replace")
        raise HistoryError(HistoryProblem.BAD_RESPONSE, f"not JSON: {start!r}") from None


def _bounded(rows: Any) -> Sequence[Any]:
    if not isinstance(rows, list):
        raise HistoryError(HistoryProblem.BAD_RESPONSE, "rows are not a list")
    if len(rows) > MAX_ROWS:
        raise HistoryError(HistoryProblem.BAD_RESPONSE, f"{len(rows)} rows; at most {MAX_ROWS} expected")
    for r in rows:
        if not isinstance(r, list | dict):
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "a row that is not a list")
    return rows


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise HistoryError(HistoryProblem.BAD_RESPONSE, "a time that is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise HistoryError(HistoryProblem.BAD_RESPONSE, "a time that is not a whole number")


def _price(value: Any) -> float:
    if isinstance(value, bool):
        raise HistoryError(HistoryProblem.BAD_RESPONSE, "a price that is a boolean")
    if isinstance(value, str):
        if len(value) > _MAX_NUMBER_TEXT:
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "a price text too long")
        try:
            number = float(value)
        except ValueError:
            raise HistoryError(HistoryProblem.BAD_RESPONSE, "a price that is not a number") from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise HistoryError(HistoryProblem.BAD_RESPONSE, "a price that is not a number")
    if not 0.0 < number < math.inf:
        raise HistoryError(HistoryProblem.BAD_RESPONSE, "a price that is not positive and finite")
    return number


def _candle(t: Any, o: Any, h: Any, low: Any, c: Any, period_s: int) -> Candle:
    start = _int(t)
    if not _MIN_TIME <= start <= _MAX_TIME or start % period_s:
        raise HistoryError(HistoryProblem.BAD_RESPONSE, f"a start time {start} that is not a period's")
    open_, high, low_, close = _price(o), _price(h), _price(low), _price(c)
    if high < max(open_, close, low_) or low_ > min(open_, close):
        raise HistoryError(HistoryProblem.BAD_RESPONSE, f"high/low out of order at {start}")
    return Candle(start, open_, high, low_, close, 0)


def _iso(t: int) -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(t))


def backfill_bases(
    env: Mapping[str, str] | None = None,
    *,
    stream_setting: str | None = None,
    rest_setting: str | None = None,
) -> dict[Source, str | None]:
    """The sources whose history the app may ask for, each with its base URL override (None: the
    venue's default).

    A source's own history override (the environment, :func:`env_history_url_name`; for
    CryptoCompare also the settings' min-api URL) is used as given. Without one, the source's
    history is asked from the venue's default only if the source also streams from its default
    endpoint: a stream moved elsewhere (the simulator, a proxy, a test) is not known to share that
    venue's market, and one pair's history must never mix two markets' prices.
    """
    env = env or {}
    out: dict[Source, str | None] = {}
    for source in Source:
        if source in NOT_STREAMED:
            continue
        override = env.get(env_history_url_name(source), "").strip() or None
        if override is None and source is Source.CRYPTOCOMPARE and rest_setting:
            override = rest_setting
        if override is not None:
            out[source] = override
            continue
        setting = stream_setting if source is Source.CRYPTOCOMPARE else None
        if stream_url(source, env=env, setting=setting) == source_info(source).default_url:
            out[source] = None
    return out
