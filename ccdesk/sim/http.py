"""Plain HTTP on the simulator's port: API keys in requests, and the min-api and CoinDesk Data REST
routes answered as JSON."""

from __future__ import annotations

import email.utils
import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ccdesk.sim import rest
from ccdesk.sim.market import Market

_log = logging.getLogger(__name__)

REST_PATHS = ("/data/price", "/data/pricemultifull", rest.COINDESK_TICK_PATH)


def mask_key(key: str | None) -> str:
    """A form of ``key`` that is safe to log: its first two characters and its length at most."""
    if not key:
        return "<none>"
    if len(key) < 8:
        return "***"
    return f"{key[:2]}***({len(key)} chars)"


def request_key(request: Request) -> str | None:
    """The API key from ``authorization: Apikey KEY`` (preferred) or ``?api_key=KEY``."""
    for value in request.headers.get_all("authorization"):
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() == "apikey" and key.strip():
            return key.strip()
    values = parse_qs(urlsplit(request.path).query).get("api_key")
    return values[0] if values and values[0] else None


def key_ok(key: str | None, keys: frozenset[str] | None) -> bool:
    """Whether ``key`` may connect: any non-empty key when ``keys`` is None, else one of ``keys``."""
    if not key:
        return False
    return keys is None or key in keys


def json_response(status: int, body: dict[str, Any]) -> Response:
    """``body`` as a complete HTTP response that closes the connection."""
    data = orjson.dumps(body)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Content-Length", str(len(data))),
            ("Access-Control-Allow-Origin", "*"),
        ]
    )
    return Response(status, HTTPStatus(status).phrase, headers, data)


def respond(
    request: Request,
    market: Market,
    keys: frozenset[str] | None,
    unentitled: frozenset[str] = frozenset(),
) -> Response:
    """The answer to a plain HTTP request: a min-api or CoinDesk Data body, or 404 / 401 as the real
    APIs do. ``unentitled`` keys (known, without a plan) get a 403 from the CoinDesk Data route."""
    url = urlsplit(request.path)
    path = url.path.rstrip("/")
    if path not in REST_PATHS:
        return json_response(404, rest.path_missing_error())
    key = request_key(request)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    if path == rest.COINDESK_TICK_PATH:
        return _coindesk(url.path, query, market, key, keys, unentitled)
    if not key_ok(key, keys):
        _log.info("REST %s refused: bad key %s", url.path, mask_key(key))
        return json_response(401, rest.key_required_error())
    tsyms = query.get("tsyms", "").split(",")
    if path == "/data/price":
        body = rest.price(market, query.get("fsym", ""), tsyms)
    else:
        body = rest.pricemultifull(market, query.get("fsyms", "").split(","), tsyms)
    return json_response(200, body)


def _coindesk(
    shown_path: str,
    query: dict[str, str],
    market: Market,
    key: str | None,
    keys: frozenset[str] | None,
    unentitled: frozenset[str],
) -> Response:
    """CoinDesk Data's latest tick: 401 for a missing or unaccepted key, 403 for one without a plan."""
    if key and key in unentitled:
        _log.info("REST %s refused: key %s has no plan for it", shown_path, mask_key(key))
        return json_response(403, rest.coindesk_refusal(403, rest.COINDESK_NOT_ENTITLED_MESSAGE))
    if not key_ok(key, keys):
        _log.info("REST %s refused: bad key %s", shown_path, mask_key(key))
        return json_response(401, rest.key_required_error())
    status, body = rest.coindesk_latest_tick(
        market,
        query.get("market", ""),
        query.get("instruments", "").split(","),
        query.get("groups", "").split(","),
    )
    return json_response(status, body)
