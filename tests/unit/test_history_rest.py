"""History requests and parsers per venue: shapes, finished candles only, typed errors on hostile bodies."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.history_rest import (
    MAX_ROWS,
    HistoryError,
    HistoryProblem,
    HistoryRequest,
    HttpAnswer,
    fetch_page,
    history_url,
    kraken_rest_pair,
    retry_after_s,
    venue_history,
)
from ccdesk.core.pairs import Pair, Source, parse_pair

NOW = 1_764_735_000.0  # 2025-12-03 04:10:00 UTC, a minute boundary
T0 = int(NOW) - 600  # ten minutes ago


def _pair(text: str) -> Pair:
    return parse_pair(text)


def _request(
    source: Source, pair: str, start: int = T0, end: int = T0 + 180, period_s: int = MINUTE_S
) -> HistoryRequest:
    return venue_history(source).request(_pair(pair), start, end, period_s, NOW)


def _parse(source: Source, body: Any, request: HistoryRequest, status: int = 200) -> list[Candle]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return venue_history(source).parse(HttpAnswer(status, raw), request)


def _problem(source: Source, body: Any, request: HistoryRequest, status: int = 200) -> HistoryProblem:
    with pytest.raises(HistoryError) as info:
        _parse(source, body, request, status)
    return info.value.problem


# --- request shapes ---------------------------------------------------------------------------


def test_kraken_request_uses_rest_names_and_since() -> None:
    req = _request(Source.KRAKEN, "kraken:BTC-USD")
    assert req.path == "/0/public/OHLC"
    assert dict(req.params) == {"pair": "XBTUSD", "interval": "1", "since": str(T0 - 60)}
    assert kraken_rest_pair(_pair("kraken:DOGE-USD")) == "XDGUSD"
    assert not req.keyed


def test_coinbase_request_is_iso_with_inclusive_end() -> None:
    req = _request(Source.COINBASE, "coinbase:ETH-EUR", start=1_764_734_400, end=1_764_734_580)
    assert req.path == "/products/ETH-EUR/candles"
    assert dict(req.params) == {
        "granularity": "60",
        "start": "2025-12-03T04:00:00Z",
        "end": "2025-12-03T04:02:00Z",
    }


def test_binance_request_in_ms() -> None:
    req = _request(Source.BINANCE, "binance:BTC-USDT")
    assert dict(req.params) == {
        "symbol": "BTCUSDT",
        "interval": "1m",
        "startTime": str(T0 * 1000),
        "endTime": str((T0 + 180) * 1000 - 1),
        "limit": "3",
    }


def test_okx_recent_and_history_endpoints() -> None:
    recent = _request(Source.OKX, "okx:BTC-USDT")
    assert recent.path == "/api/v5/market/candles"
    assert dict(recent.params)["after"] == str((T0 + 180) * 1000)
    assert dict(recent.params)["before"] == str(T0 * 1000 - 1)
    old = _request(Source.OKX, "okx:BTC-USDT", start=int(NOW) - 2 * 86400, end=int(NOW) - 2 * 86400 + 600)
    assert old.path == "/api/v5/market/history-candles"


def test_cryptocompare_and_coindesk_requests_are_keyed() -> None:
    cc = _request(Source.CRYPTOCOMPARE, "2~Coinbase~BTC~USD")
    assert cc.keyed
    assert cc.path == "/data/v2/histominute"
    assert dict(cc.params)["e"] == "Coinbase"
    assert dict(cc.params)["limit"] == "2"  # limit + 1 rows come back
    assert dict(cc.params)["toTs"] == str(T0 + 120)
    assert dict(cc.params)["tryConversion"] == "false"
    one = _request(Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD", start=T0, end=T0 + 60)
    assert dict(one.params)["limit"] == "1"  # never 0: min-api wants a positive limit
    hourly = _request(
        Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD", T0 - T0 % HOUR_S - HOUR_S, T0 - T0 % HOUR_S, HOUR_S
    )
    assert hourly.path == "/data/v2/histohour"
    cd = _request(Source.COINDESK, "coindesk:ccix:BTC-USD")
    assert cd.keyed
    assert cd.path == "/index/cc/v1/historical/minutes"
    assert dict(cd.params) == {
        "market": "ccix",
        "instrument": "BTC-USD",
        "limit": "3",
        "to_ts": str(T0 + 120),
        "groups": "OHLC",
    }


def test_pages_cover_the_range_newest_first_within_limits() -> None:
    venue = venue_history(Source.COINBASE)
    start = int(NOW) - 86400
    pages = venue.pages(_pair("coinbase:BTC-USD"), start, NOW + 30, NOW)
    assert [p.end for p in pages] == sorted((p.end for p in pages), reverse=True)
    assert pages[0].end == int(NOW)  # the open minute is never asked for
    assert pages[-1].start == start
    assert all((p.end - p.start) // 60 <= 300 for p in pages)
    assert all(a.start == b.end for a, b in itertools.pairwise(pages))
    assert len(pages) == 5  # 1440 minutes in pages of 300


def test_pages_are_clipped_to_the_venue_reach() -> None:
    pages = venue_history(Source.KRAKEN).pages(_pair("kraken:BTC-USD"), int(NOW) - 86400, NOW, NOW)
    assert len(pages) == 1
    assert pages[0].start == int(NOW) - 719 * 60


def test_okx_pages_switch_size_at_the_recent_boundary() -> None:
    pages = venue_history(Source.OKX).pages(_pair("okx:BTC-USDT"), int(NOW) - 2 * 86400, NOW, NOW)
    for p in pages:
        size = (p.end - p.start) // 60
        assert size <= (300 if p.path.endswith("/candles") else 100)
    assert pages[-1].start == int(NOW) - 2 * 86400


def test_unknown_period_and_composite_are_not_supported() -> None:
    with pytest.raises(HistoryError) as info:
        venue_history(Source.BINANCE).pages(_pair("binance:BTC-USDT"), T0, NOW, NOW, period_s=300)
    assert info.value.problem is HistoryProblem.NOT_SUPPORTED
    with pytest.raises(HistoryError) as info:
        venue_history(Source.COMPOSITE)
    assert info.value.problem is HistoryProblem.NOT_SUPPORTED


# --- parsers: good bodies -------------------------------------------------------------------------


def test_kraken_drops_the_open_period_and_reads_any_result_key() -> None:
    req = _request(Source.KRAKEN, "kraken:BTC-USD")
    rows = [[T0 + 60 * i, "100.0", "101.5", "99.5", "100.5", "100.2", "1.5", 7] for i in range(4)]
    body = {"error": [], "result": {"XXBTZUSD": rows, "last": T0 + 180}}
    candles = _parse(Source.KRAKEN, body, req)
    assert candles == [Candle(T0 + 60 * i, 100.0, 101.5, 99.5, 100.5, 0) for i in range(3)]


def test_coinbase_newest_first_becomes_oldest_first() -> None:
    req = _request(Source.COINBASE, "coinbase:BTC-USD")
    body = [
        [T0 + 120, 9.0, 12.0, 10.0, 11.0, 3.2],
        [T0 + 60, 8.0, 11.0, 9.0, 10.0, 1.0],
        [T0, 7.0, 10.0, 8.0, 9.0, 1.0],
    ]
    candles = _parse(Source.COINBASE, body, req)
    assert [c.start for c in candles] == [T0, T0 + 60, T0 + 120]
    assert candles[2] == Candle(T0 + 120, 10.0, 12.0, 9.0, 11.0, 0)


def test_binance_strings_and_ms() -> None:
    req = _request(Source.BINANCE, "binance:BTC-USDT")
    row = [
        T0 * 1000,
        "91000.10",
        "91010.00",
        "90990.00",
        "91005.50",
        "12.5",
        T0 * 1000 + 59999,
        "1",
        10,
        "1",
        "1",
        "0",
    ]
    assert _parse(Source.BINANCE, [row], req) == [Candle(T0, 91000.10, 91010.0, 90990.0, 91005.5, 0)]


def test_okx_drops_unconfirmed() -> None:
    req = _request(Source.OKX, "okx:BTC-USDT")
    rows = [
        [str((T0 + 120) * 1000), "2", "3", "1", "2.5", "1", "1", "1", "0"],
        [str((T0 + 60) * 1000), "2", "3", "1", "2.5", "1", "1", "1", "1"],
    ]
    candles = _parse(Source.OKX, {"code": "0", "msg": "", "data": rows}, req)
    assert [c.start for c in candles] == [T0 + 60]


def test_cryptocompare_skips_zero_rows() -> None:
    req = _request(Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD")
    rows = [
        {"time": T0, "open": 0, "high": 0, "low": 0, "close": 0, "volumefrom": 0},
        {"time": T0 + 60, "open": 5.0, "high": 6.0, "low": 4.0, "close": 5.5, "volumefrom": 1},
    ]
    body = {"Response": "Success", "Message": "", "Data": {"Aggregated": False, "TimeFrom": T0, "Data": rows}}
    assert _parse(Source.CRYPTOCOMPARE, body, req) == [Candle(T0 + 60, 5.0, 6.0, 4.0, 5.5, 0)]


def test_coindesk_rows() -> None:
    req = _request(Source.COINDESK, "coindesk:BTC-USD")
    rows = [{"UNIT": "MINUTE", "TIMESTAMP": T0, "OPEN": 1.0, "HIGH": 2.0, "LOW": 0.5, "CLOSE": 1.5}]
    assert _parse(Source.COINDESK, {"Data": rows, "Err": {}}, req) == [Candle(T0, 1.0, 2.0, 0.5, 1.5, 0)]


def test_rows_outside_the_request_are_dropped() -> None:
    req = _request(Source.COINBASE, "coinbase:BTC-USD")
    body = [[T0 + 600, 1, 2, 1, 1, 1], [T0 - 60, 1, 2, 1, 1, 1], [T0, 1, 2, 1, 1, 1]]
    assert [c.start for c in _parse(Source.COINBASE, body, req)] == [T0]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "pair", "status", "body", "problem"),
    [
        (
            Source.KRAKEN,
            "kraken:BTC-USD",
            200,
            {"error": ["EQuery:Unknown asset pair"]},
            HistoryProblem.NOT_LISTED,
        ),
        (
            Source.KRAKEN,
            "kraken:BTC-USD",
            200,
            {"error": ["EGeneral:Too many requests"]},
            HistoryProblem.RATE_LIMITED,
        ),
        (Source.COINBASE, "coinbase:BTC-USD", 404, {"message": "NotFound"}, HistoryProblem.NOT_LISTED),
        (
            Source.COINBASE,
            "coinbase:BTC-USD",
            400,
            {"message": "granularity too small"},
            HistoryProblem.REFUSED,
        ),
        (
            Source.BINANCE,
            "binance:BTC-USDT",
            400,
            {"code": -1121, "msg": "Invalid symbol."},
            HistoryProblem.NOT_LISTED,
        ),
        (
            Source.BINANCE,
            "binance:BTC-USDT",
            429,
            {"code": -1003, "msg": "Too many"},
            HistoryProblem.RATE_LIMITED,
        ),
        (
            Source.BINANCE,
            "binance:BTC-USDT",
            418,
            {"code": -1003, "msg": "banned"},
            HistoryProblem.RATE_LIMITED,
        ),
        (
            Source.OKX,
            "okx:BTC-USDT",
            200,
            {"code": "51001", "msg": "Instrument ID doesn't exist", "data": []},
            HistoryProblem.NOT_LISTED,
        ),
        (
            Source.OKX,
            "okx:BTC-USDT",
            429,
            {"code": "50011", "msg": "Too Many Requests"},
            HistoryProblem.RATE_LIMITED,
        ),
        (Source.OKX, "okx:BTC-USDT", 503, b"<html>down</html>", HistoryProblem.SERVER),
        (
            Source.CRYPTOCOMPARE,
            "5~CCCAGG~BTC~USD",
            200,
            {"Response": "Error", "Message": "You are over your rate limit", "Type": 99},
            HistoryProblem.RATE_LIMITED,
        ),
        (
            Source.CRYPTOCOMPARE,
            "5~CCCAGG~NOPE~USD",
            200,
            {
                "Response": "Error",
                "Message": "cccagg_or_exchange market does not exist for this coin pair",
                "Type": 2,
            },
            HistoryProblem.NOT_LISTED,
        ),
        (
            Source.CRYPTOCOMPARE,
            "5~CCCAGG~BTC~USD",
            401,
            {"Data": {}, "Err": {"type": 2, "message": "API key required", "http_status_code": 401}},
            HistoryProblem.KEY_REFUSED,
        ),
        (
            Source.COINDESK,
            "coindesk:BTC-USD",
            403,
            {"Data": {}, "Err": {"type": 2, "message": "no plan", "http_status_code": 403}},
            HistoryProblem.KEY_REFUSED,
        ),
        (
            Source.COINDESK,
            "coindesk:BTC-USD",
            400,
            {"Data": {}, "Err": {"type": 2, "message": "x", "other_info": {"param": "instrument"}}},
            HistoryProblem.NOT_LISTED,
        ),
    ],
)
def test_venue_errors_are_typed(
    source: Source, pair: str, status: int, body: Any, problem: HistoryProblem
) -> None:
    assert _problem(source, body, _request(source, pair), status) is problem


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[" * 100_000,
        {"unexpected": True},
        [[1, 2]],
        [["x", 1, 2, 1, 1, 1]],
        [[T0, "nan", 2, 1, 1, 1]],
        [[T0, 1, 2, -1, 1, 1]],
        [[T0, 1, 2, 3, 1, 1]],  # low above high
        [[T0 + 7, 1, 2, 1, 1, 1]],  # not a minute's start
        [[True, 1, 2, 1, 1, 1]],
        [[T0, "9" * 500, 2, 1, 1, 1]],
        [[T0, 1e400, 2, 1, 1, 1]],
        [None],
        [[T0 + 60 * i, 1, 2, 1, 1, 1] for i in range(MAX_ROWS + 1)],
    ],
)
def test_hostile_bodies_are_bad_responses(body: Any) -> None:
    req = _request(Source.COINBASE, "coinbase:BTC-USD")
    assert _problem(Source.COINBASE, body, req) is HistoryProblem.BAD_RESPONSE


@pytest.mark.parametrize(
    ("source", "pair", "body"),
    [
        (Source.KRAKEN, "kraken:BTC-USD", {"error": [], "result": {"A": [], "B": [], "last": 1}}),
        (Source.KRAKEN, "kraken:BTC-USD", {"error": [], "result": []}),
        (Source.OKX, "okx:BTC-USDT", {"code": "0", "data": {"x": 1}}),
        (Source.OKX, "okx:BTC-USDT", {"code": "0", "data": [[str(T0 * 1000 + 5), "1", "2", "1", "1"]]}),
        (Source.BINANCE, "binance:BTC-USDT", [[T0 * 1000 + 1, "1", "2", "1", "1"]]),
        (Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD", {"Response": "Success", "Data": {"Data": [["x"]]}}),
        (Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD", {"Response": "Success", "Data": []}),
        (Source.COINDESK, "coindesk:BTC-USD", {"Data": [{"TIMESTAMP": T0}], "Err": {}}),
        (Source.COINDESK, "coindesk:BTC-USD", ["not", "an", "object"]),
    ],
)
def test_wrong_shapes_per_venue(source: Source, pair: str, body: Any) -> None:
    assert _problem(source, body, _request(source, pair)) is HistoryProblem.BAD_RESPONSE


def test_429_carries_retry_after() -> None:
    req = _request(Source.BINANCE, "binance:BTC-USDT")
    with pytest.raises(HistoryError) as info:
        venue_history(Source.BINANCE).parse(HttpAnswer(429, b"{}", 7.0), req)
    assert info.value.problem is HistoryProblem.RATE_LIMITED
    assert info.value.retry_after_s == 7.0


def test_retry_after_forms() -> None:
    assert retry_after_s("12") == 12.0
    assert retry_after_s("99999") == 600.0
    assert retry_after_s("-5") == 0.0
    assert retry_after_s("nonsense") is None
    assert retry_after_s(None) is None
    assert retry_after_s("Wed, 03 Dec 2025 04:10:30 GMT", now=NOW) == pytest.approx(30.0)


# --- fetching and the key ----------------------------------------------------------------------


def test_fetch_page_sends_the_key_only_to_keyed_sources() -> None:
    seen: list[tuple[str, dict[str, str], ApiKey | None]] = []
    key = ApiKey("sekrit-key-123456")

    def get(url: str, query: Any, k: ApiKey | None) -> HttpAnswer:
        seen.append((url, dict(query), k))
        return HttpAnswer(200, b"[]")

    fetch_page(get, "https://api.exchange.coinbase.com", _request(Source.COINBASE, "coinbase:BTC-USD"), key)
    assert seen[-1][2] is None
    body = json.dumps({"Data": [], "Err": {}}).encode()
    fetch_page(
        lambda u, q, k: (seen.append((u, dict(q), k)), HttpAnswer(200, body))[1],
        "https://x.example",
        _request(Source.COINDESK, "coindesk:BTC-USD"),
        key,
    )
    assert seen[-1][2] is key
    assert all("sekrit" not in url and "sekrit" not in str(q) for url, q, _ in seen)


def test_fetch_page_without_a_key_asks_nothing() -> None:
    def get(url: str, query: Any, k: ApiKey | None) -> HttpAnswer:
        raise AssertionError("must not ask")

    with pytest.raises(HistoryError) as info:
        fetch_page(get, "https://x.example", _request(Source.CRYPTOCOMPARE, "5~CCCAGG~BTC~USD"), None)
    assert info.value.problem is HistoryProblem.NO_KEY


def test_history_url_overrides_and_refuses_plain_http_for_keys() -> None:
    assert history_url(Source.KRAKEN) == "https://api.kraken.com"
    assert (
        history_url(Source.BINANCE, {"CCDESK_BINANCE_REST_URL": "http://127.0.0.1:9/"})
        == "http://127.0.0.1:9"
    )
    assert (
        history_url(Source.CRYPTOCOMPARE, {"CCDESK_REST_URL": "http://127.0.0.1:5"}) == "http://127.0.0.1:5"
    )
    with pytest.raises(HistoryError) as info:
        history_url(Source.COINDESK, override="http://example.com")
    assert info.value.problem is HistoryProblem.REFUSED


def test_backfill_bases_ask_only_where_the_history_matches_the_stream() -> None:
    from ccdesk.core.history_rest import backfill_bases

    everything = backfill_bases({})
    assert Source.COMPOSITE not in everything
    assert everything[Source.KRAKEN] is None  # the venue's default, as its stream
    assert set(everything) == {s for s in Source if s not in (Source.COMPOSITE, Source.PORTFOLIO)}
    moved = backfill_bases({"CCDESK_KRAKEN_URL": "ws://127.0.0.1:9/kraken"})
    assert Source.KRAKEN not in moved  # a stream moved elsewhere: its history is not the venue's
    assert moved[Source.COINBASE] is None
    both = backfill_bases(
        {"CCDESK_KRAKEN_URL": "ws://127.0.0.1:9/k", "CCDESK_KRAKEN_REST_URL": "http://127.0.0.1:9"}
    )
    assert both[Source.KRAKEN] == "http://127.0.0.1:9"
    cc = backfill_bases({}, stream_setting="ws://127.0.0.1:9/v2")
    assert Source.CRYPTOCOMPARE not in cc
    cc = backfill_bases({}, stream_setting="ws://127.0.0.1:9/v2", rest_setting="http://127.0.0.1:9")
    assert cc[Source.CRYPTOCOMPARE] == "http://127.0.0.1:9"
