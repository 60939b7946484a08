"""The simulator's history routes, without sockets: each venue's dialect as the client parses it,
determinism by seed, the live price at the end, and the 429 and hole modes."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from ccdesk.core.candles import MINUTE_S, period_start
from ccdesk.core.history_rest import HttpAnswer, retry_after_s, venue_history
from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source, parse_pair
from ccdesk.sim.config import SimConfig
from ccdesk.sim.history import HistoryService
from ccdesk.sim.market import Market

WALL = 1_764_734_430.0  # 04:00:30 UTC


def _service(seed: int = 4, **config: Any) -> tuple[HistoryService, Market]:
    market = Market(seed, wall=lambda: WALL)
    return HistoryService(
        market, SimConfig(seed=seed, wall=lambda: WALL, **config), monotonic=lambda: 0.0
    ), market


def _get(
    service: HistoryService, path: str, query: dict[str, str], key: str | None = None
) -> tuple[int, Any, float | None]:
    headers = Headers([("Authorization", f"Apikey {key}")] if key else [])
    response = service.respond(Request(f"{path}?{urlencode(query)}", headers))
    assert response is not None
    retry = retry_after_s(response.headers.get("Retry-After"))
    return response.status_code, json.loads(response.body), retry


def _client_candles(
    service: HistoryService, text: str, start: int, end: int, key: str | None = None
) -> list[Any]:
    """What the real client asks and reads for ``[start, end)``."""
    pair = parse_pair(text)
    venue = venue_history(pair.source)
    out = []
    for req in venue.pages(pair, start, end, WALL):
        headers = Headers([("Authorization", f"Apikey {key}")] if key else [])
        response = service.respond(Request(f"{req.path}?{urlencode(dict(req.params))}", headers))
        assert response is not None
        out += venue.parse(HttpAnswer(response.status_code, response.body), req)
    return sorted(out, key=lambda c: c.start)


NOW_MINUTE = period_start(WALL, MINUTE_S)


@pytest.mark.parametrize(
    "text",
    [
        "kraken:BTC-USD",
        "coinbase:ETH-USD",
        "binance:SOL-USDT",
        "okx:BTC-USDT",
        "5~CCCAGG~BTC~USD",
        "coindesk:ccix:BTC-USD",
    ],
)
def test_every_dialect_reads_back_through_the_client(text: str) -> None:
    service, _ = _service()
    candles = _client_candles(service, text, NOW_MINUTE - 3 * 3600, NOW_MINUTE, key="k")
    assert [c.start for c in candles] == list(range(NOW_MINUTE - 3 * 3600, NOW_MINUTE, 60))
    assert all(a.close == b.open for a, b in itertools.pairwise(candles))


def test_same_seed_same_history_other_seed_other_history() -> None:
    a = _client_candles(_service(4)[0], "binance:BTC-USDT", NOW_MINUTE - 600, NOW_MINUTE)
    b = _client_candles(_service(4)[0], "binance:BTC-USDT", NOW_MINUTE - 600, NOW_MINUTE)
    c = _client_candles(_service(5)[0], "binance:BTC-USDT", NOW_MINUTE - 600, NOW_MINUTE)
    assert a == b
    assert [x.close for x in a] != [x.close for x in c]


def test_history_ends_at_the_live_price() -> None:
    service, market = _service()
    live = market.instrument(Pair(Source.CRYPTOCOMPARE, "BTC", "USD", "Coinbase", Channel.TICKER)).fields[
        "PRICE"
    ]
    candles = _client_candles(service, "coinbase:BTC-USD", NOW_MINUTE - 600, NOW_MINUTE)
    assert candles[-1].close == pytest.approx(live, rel=0.01)
    agg = market.instrument(Pair(Source.CRYPTOCOMPARE, "ETH", "USD", AGGREGATE_MARKET, Channel.AGGREGATE))
    cd = _client_candles(service, "coindesk:ETH-USD", NOW_MINUTE - 600, NOW_MINUTE, key="k")
    assert cd[-1].close == pytest.approx(agg.fields["PRICE"], rel=0.01)


def test_kraken_sends_the_open_period_last_under_its_own_name() -> None:
    service, _ = _service()
    status, body, _ = _get(
        service, "/0/public/OHLC", {"pair": "XBTUSD", "interval": "1", "since": str(NOW_MINUTE - 300)}
    )
    assert status == 200
    rows = body["result"]["XXBTZUSD"]
    assert [r[0] for r in rows] == list(range(NOW_MINUTE - 240, NOW_MINUTE + 60, 60))
    assert body["result"]["last"] == NOW_MINUTE - 60
    _, unknown, _ = _get(service, "/0/public/OHLC", {"pair": "NOPEUSD"})
    assert unknown == {"error": ["EQuery:Unknown asset pair"]}


def test_coinbase_refuses_more_than_300_and_unknown_products() -> None:
    service, _ = _service()
    start, end = NOW_MINUTE - 400 * 60, NOW_MINUTE - 60
    status, body, _ = _get(
        service, "/products/BTC-USD/candles", {"granularity": "60", "start": str(start), "end": str(end)}
    )
    assert status == 400
    assert "exceeds 300" in body["message"]
    assert _get(service, "/products/NOPE-USD/candles", {"granularity": "60"})[0] == 404


def test_okx_after_and_before_are_exclusive_and_newest_first() -> None:
    service, _ = _service()
    query = {
        "instId": "ETH-USDT",
        "bar": "1m",
        "after": str(NOW_MINUTE * 1000),
        "before": str((NOW_MINUTE - 300) * 1000),
    }
    _, body, _ = _get(service, "/api/v5/market/candles", query)
    assert [int(r[0]) // 1000 for r in body["data"]] == list(range(NOW_MINUTE - 60, NOW_MINUTE - 300, -60))
    assert {r[8] for r in body["data"]} == {"1"}
    _, latest, _ = _get(service, "/api/v5/market/candles", {"instId": "ETH-USDT", "limit": "2"})
    assert [r[8] for r in latest["data"]] == ["0", "1"]  # the open one first, unconfirmed
    _, usd, _ = _get(service, "/api/v5/market/candles", {"instId": "ETH-USD"})
    assert usd["code"] == "51001"


def test_min_api_needs_a_key_and_pads_with_zeros() -> None:
    service, _ = _service(keys=["good"])
    query = {"fsym": "BTC", "tsym": "USD", "limit": "3", "toTs": str(NOW_MINUTE - 8 * 86400)}
    assert _get(service, "/data/v2/histominute", query)[0] == 401
    status, body, _ = _get(service, "/data/v2/histominute", query, key="good")
    assert status == 200
    assert body["Response"] == "Success"
    assert [r["close"] for r in body["Data"]["Data"]] == [0.0] * 4  # minutes are kept 7 days


def test_coindesk_unentitled_key_is_403() -> None:
    service, _ = _service(coindesk_unentitled_keys=["noplan"])
    query = {"market": "cadli", "instrument": "BTC-USD", "limit": "5"}
    assert _get(service, "/index/cc/v1/historical/minutes", query, key="noplan")[0] == 403
    assert _get(service, "/index/cc/v1/historical/minutes", query, key="any")[0] == 200


def test_rate_limited_mode_answers_429_with_retry_after_first() -> None:
    service, _ = _service(history_rate_limited=2, history_retry_after_s=2.5)
    query = {"symbol": "BTCUSDT", "interval": "1m", "limit": "5"}
    first = _get(service, "/api/v3/klines", query)
    assert (first[0], first[1]["code"], first[2]) == (429, -1003, 3.0)
    assert _get(service, "/api/v3/klines", query)[0] == 429
    assert _get(service, "/api/v3/klines", query)[0] == 200
    assert [h.status for h in service.hits] == [429, 429, 200]


def test_hole_mode_leaves_minutes_out_of_every_venue() -> None:
    hole = (NOW_MINUTE - 600, NOW_MINUTE - 300)
    service, _ = _service(history_hole=hole)
    for text in ("kraken:ETH-USD", "binance:BTC-USDT", "okx:BTC-USDT"):
        starts = [c.start for c in _client_candles(service, text, NOW_MINUTE - 1200, NOW_MINUTE)]
        assert not any(hole[0] <= s < hole[1] for s in starts)
        assert len(starts) == 15


def test_other_paths_are_not_history() -> None:
    service, _ = _service()
    assert service.respond(Request("/data/price?fsym=BTC&tsyms=USD", Headers())) is None


def test_okx_older_than_a_day_comes_from_history_candles() -> None:
    service, _ = _service()
    pair = parse_pair("okx:ETH-USDT")
    pages = venue_history(Source.OKX).pages(pair, NOW_MINUTE - 30 * 3600, NOW_MINUTE, WALL)
    assert {p.path for p in pages} == {"/api/v5/market/candles", "/api/v5/market/history-candles"}
    candles = _client_candles(service, "okx:ETH-USDT", NOW_MINUTE - 30 * 3600, NOW_MINUTE)
    assert [c.start for c in candles] == list(range(NOW_MINUTE - 30 * 3600, NOW_MINUTE, 60))
