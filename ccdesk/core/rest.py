"""REST key checks, one per key provider: CryptoCompare's min-api (``/data/price``) and CoinDesk
Data's data API (``/index/cc/v1/latest/tick``).

Owns the mapping of every answer shape in PROTOCOL.md ("REST: key check") and SOURCES.md to a typed
:class:`KeyCheck`. No Qt; calls block for up to ``timeout_s`` per socket operation, so never run
them on the GUI thread or on the stream socket's thread. The key travels only in the
``authorization`` header, never in a URL; redirects are never followed; and nothing this module
returns, logs or raises contains it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Final

import requests
import requests.auth
import urllib3.exceptions

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.http_failure import HttpFailure, classify, root_cause
from ccdesk.core.identity import DEFAULT_COINDESK_REST_URL, DEFAULT_REST_URL
from ccdesk.core.key_check import KeyCheck, KeyStatus, RateLimitPeriod
from ccdesk.core.redaction import redact
from ccdesk.core.urls import UrlError, check_url

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = DEFAULT_REST_URL
DEFAULT_COINDESK_BASE_URL: Final = DEFAULT_COINDESK_REST_URL
COINDESK_TICK_PATH: Final = "/index/cc/v1/latest/tick"
"""CoinDesk Data's latest index tick: the CoinDesk key check (SOURCES.md, "Related REST")."""
DEFAULT_TIMEOUT_S: Final = 10.0
# Our own name, sent as `extraParams` as CryptoCompare asks of applications.
APP_PARAM: Final = "ccdesk"
# pricemultifull answers ~2 KB per pair; this is far above any real watchlist.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
# Documented parameter limits are inconsistent across min-api pages; these are the conservative
# ones (fsyms 300, tsyms 100 characters). Longer lists are split into several requests.
_MAX_SERVER_MESSAGE_CHARS: Final = 300

_SYMBOL = re.compile(r"[A-Z0-9]{1,20}")
_INDEX_MARKET = re.compile(r"[a-z0-9_]{1,30}")
# Words a refusal uses when the key is known but its plan does not reach the data (inferred: no
# official list of CoinDesk Data's messages is stored; the 403 status is the reliable signal).
_NOT_ENTITLED_WORDS = re.compile(
    r"(?i)\b(?:subscription|plan|permissions?|entitle(?:d|ment)|upgrade|forbidden|not\s+allowed"
    r"|(?:does\s+not|doesn't)\s+have\s+access|no\s+access|not\s+authori[sz]ed\s+to\s+access)\b"
)
_FORBIDDEN: Final = 403
_MENTIONS_KEY = re.compile(r"(?i)\b(?:api|auth)[ _-]?key\b")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_RATE_PERIODS: Final = ("second", "minute", "hour", "day", "month")
_KEY_REFUSED_HTTP: Final = frozenset({401, 403})
_TOO_MANY_REQUESTS: Final = 429
_FIRST_SERVER_ERROR: Final = 500
_HTTP_OK: Final = 200
_TYPE_RATE_LIMIT: Final = 99
_TYPES_BAD_REQUEST: Final = frozenset({1, 2})


def check_key(
    base_url: str | None,
    key: ApiKey,
    *,
    fsym: str = "BTC",
    tsym: str = "USD",
    session: requests.Session | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> KeyCheck:
    """Verify a key with ``GET /data/price?fsym=BTC&tsyms=USD``.

    HTTP 200 alone proves nothing (classic errors come with 200), so the body decides.

    Args:
        base_url: ``https://min-api.cryptocompare.com`` when ``None``; a loopback ``http://`` URL
            (e.g. the simulator) is allowed, any other plain-HTTP URL is refused.
        key: The key to check; sent only as ``authorization: Apikey KEY``.
        fsym: Base symbol of the probe pair.
        tsym: Quote symbol of the probe pair.
        session: A session to use (not closed); a fresh one per call when ``None``.
        timeout_s: Connect timeout and per-read timeout, in seconds.

    Returns:
        The typed outcome; network and protocol failures are returned, not raised.

    Raises:
        ValueError: if ``base_url`` is unusable (bad scheme, credentials or query in it, or
            plain HTTP to a non-loopback host), or a symbol is malformed.
    """
    url = _endpoint(base_url, DEFAULT_BASE_URL, "/data/price", key)
    fsym, tsym = _symbol(fsym), _symbol(tsym)
    query = {"fsym": fsym, "tsyms": tsym, "extraParams": APP_PARAM}
    outcome = _get_json(url, query, key, session, timeout_s)
    if isinstance(outcome, KeyCheck):
        _log_outcome("key check", outcome)
        return outcome
    http_status, body = outcome
    price = body.get(tsym)
    if isinstance(price, int | float) and not isinstance(price, bool) and math.isfinite(price):
        check = KeyCheck(KeyStatus.VALID, http_status=http_status)
    else:
        check = KeyCheck(
            KeyStatus.BAD_RESPONSE, http_status=http_status, detail=f"no numeric {tsym} price in the answer"
        )
    _log_outcome("key check", check)
    return check


def check_coindesk_key(
    base_url: str | None,
    key: ApiKey,
    *,
    market: str = "cadli",
    instrument: str = "BTC-USD",
    session: requests.Session | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> KeyCheck:
    """Verify a CoinDesk Data key with ``GET /index/cc/v1/latest/tick?market=cadli&instruments=BTC-USD``.

    Success is a numeric ``Data[instrument].VALUE``. Refusals come as ``{"Data": {}, "Err": {...}}``
    with HTTP 401 (key missing or not accepted: INVALID_KEY) or 403 (the key's plan or permissions
    do not reach the data: NOT_ENTITLED, as is a 401 whose message says so); 429 is RATE_LIMITED,
    other 4xx with an ``Err`` BAD_REQUEST, 5xx BAD_RESPONSE. Every outcome has
    ``provider=KeyProvider.COINDESK``.

    Args:
        base_url: ``https://data-api.coindesk.com`` when ``None``; a loopback ``http://`` URL
            (e.g. the simulator) is allowed, any other plain-HTTP URL is refused.
        key: The key to check; sent only as ``authorization: Apikey KEY``.
        market: The index family of the probe (``cadli``, ``ccix``, ``ccixbe``).
        instrument: The probe instrument, ``BASE-QUOTE``.
        session: A session to use (not closed); a fresh one per call when ``None``.
        timeout_s: Connect timeout and per-read timeout, in seconds.

    Returns:
        The typed outcome; network and protocol failures are returned, not raised.

    Raises:
        ValueError: if ``base_url`` is unusable (as for :func:`check_key`), or the market or
            instrument is malformed.
    """
    url = _endpoint(base_url, DEFAULT_COINDESK_BASE_URL, COINDESK_TICK_PATH, key)
    market, instrument = _index_market(market), _instrument(instrument)
    query = {"market": market, "instruments": instrument, "groups": "VALUE"}
    outcome = _get_json(url, query, key, session, timeout_s)
    if isinstance(outcome, KeyCheck):
        check = _entitlement(outcome)
    else:
        http_status, body = outcome
        data = body.get("Data")
        tick = data.get(instrument) if isinstance(data, dict) else None
        value = tick.get("VALUE") if isinstance(tick, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            check = KeyCheck(KeyStatus.VALID, http_status=http_status)
        else:
            detail = f"no numeric VALUE for {instrument} in the answer"
            check = KeyCheck(KeyStatus.BAD_RESPONSE, http_status=http_status, detail=detail)
    check = dataclasses.replace(check, provider=KeyProvider.COINDESK)
    _log_outcome("CoinDesk Data key check", check)
    return check


CheckFn = Callable[[str | None, ApiKey], KeyCheck]
"""A key check as the app calls it: ``(base_url or None for the default, key) -> KeyCheck``."""


def key_check_for(provider: KeyProvider) -> CheckFn:
    """The key check of ``provider``: :func:`check_key` or :func:`check_coindesk_key`.

    Each takes ``(base_url, key)`` plus its keyword options; a ``None`` base URL is the provider's
    own default (``DEFAULT_BASE_URL``, ``DEFAULT_COINDESK_BASE_URL``).
    """
    return _CHECKS[provider]


def _entitlement(check: KeyCheck) -> KeyCheck:
    """A CoinDesk refusal read again: a 403, or a refusal that says the plan is what is missing,
    is NOT_ENTITLED rather than INVALID_KEY (SOURCES.md: never "invalid key" when the body says
    otherwise)."""
    if check.status is not KeyStatus.INVALID_KEY:
        return check
    says_plan = bool(check.server_message and _NOT_ENTITLED_WORDS.search(check.server_message))
    if check.http_status == _FORBIDDEN or says_plan:
        return dataclasses.replace(check, status=KeyStatus.NOT_ENTITLED)
    return check


_CHECKS: Final[Mapping[KeyProvider, CheckFn]] = {
    KeyProvider.CRYPTOCOMPARE: check_key,
    KeyProvider.COINDESK: check_coindesk_key,
}


# --- requests plumbing -------------------------------------------------------------------------


class ApiKeyAuth(requests.auth.AuthBase):
    """Puts the key in the ``authorization`` header. As ``auth=`` it also wins over ``~/.netrc``."""

    def __init__(self, key: ApiKey) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["authorization"] = f"Apikey {self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"ApiKeyAuth({self._key!r})"


def _get_json(
    url: str,
    params: Mapping[str, str],
    key: ApiKey,
    session: requests.Session | None,
    timeout_s: float,
) -> tuple[int, dict[str, object]] | KeyCheck:
    """GET ``url`` with the query ``params``; a JSON object from a successful answer, or the failure
    as a KeyCheck."""
    logger.debug("GET %s %s", url, params)
    try:
        if session is None:
            with requests.Session() as own_session:
                http_status, body = _send(own_session, url, params, key, timeout_s)
        else:
            http_status, body = _send(session, url, params, key, timeout_s)
    except BodyTooLarge:
        return KeyCheck(KeyStatus.BAD_RESPONSE, detail=f"answer larger than {MAX_BODY_BYTES} bytes")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return _failure(exc, key)
    return _classify(http_status, body, key)


class BodyTooLarge(Exception):
    """A response body longer than the reader's cap (a hostile or broken server)."""


def read_capped(response: requests.Response, max_bytes: int) -> bytes:
    """A streamed response's body, read in chunks and given up on past ``max_bytes``: a server can
    never make ccdesk hold more than that (Content-Length is not trusted).

    Raises:
        BodyTooLarge: past ``max_bytes``.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _send(
    session: requests.Session, url: str, query: Mapping[str, str], key: ApiKey, timeout_s: float
) -> tuple[int, bytes]:
    # Redirects are not followed: min-api and the data API do not redirect these endpoints, and
    # not following them means the key can never be forwarded to another host.
    with session.get(
        url,
        params=query,
        auth=ApiKeyAuth(key),
        headers={"Accept": "application/json"},
        timeout=(timeout_s, timeout_s),
        allow_redirects=False,
        stream=True,
    ) as response:
        return response.status_code, read_capped(response, MAX_BODY_BYTES)


def _classify(http_status: int, body: bytes, key: ApiKey) -> tuple[int, dict[str, object]] | KeyCheck:
    parsed = True
    try:
        data: object = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        parsed, data = False, None
    if isinstance(data, dict):
        if data.get("Response") == "Error":
            return _classic_error(http_status, data, key)
        err = data.get("Err")
        if isinstance(err, dict) and err:
            return _err_object(http_status, err, key)
    if http_status in _KEY_REFUSED_HTTP:
        return KeyCheck(KeyStatus.INVALID_KEY, http_status=http_status)
    if http_status == _TOO_MANY_REQUESTS:
        return KeyCheck(KeyStatus.RATE_LIMITED, http_status=http_status)
    if http_status != _HTTP_OK:
        return KeyCheck(KeyStatus.BAD_RESPONSE, http_status=http_status, detail=f"HTTP {http_status}")
    if not isinstance(data, dict):
        what = "JSON but not an object" if parsed else "not JSON"
        start = _clean(body[:60].decode("utf-8", "replace"), key)
        return KeyCheck(
            KeyStatus.BAD_RESPONSE, http_status=http_status, detail=f"the answer is {what}: {start!r}"
        )
    return http_status, data


def _classic_error(http_status: int, data: Mapping[str, object], key: ApiKey) -> KeyCheck:
    """``{"Response": "Error", "Message": ..., "Type": 1|2|99, ...}``, usually with HTTP 200."""
    message = _clean(data.get("Message"), key)
    error_type = _as_int(data.get("Type"))
    param = data.get("ParamWithError")
    if http_status in _KEY_REFUSED_HTTP or (error_type != _TYPE_RATE_LIMIT and _mentions_key(message)):
        status = KeyStatus.INVALID_KEY
    elif error_type == _TYPE_RATE_LIMIT or http_status == _TOO_MANY_REQUESTS:
        status = KeyStatus.RATE_LIMITED
    elif error_type in _TYPES_BAD_REQUEST and http_status < _FIRST_SERVER_ERROR:
        status = KeyStatus.BAD_REQUEST
    else:
        status = KeyStatus.BAD_RESPONSE
    return KeyCheck(
        status,
        server_message=message,
        http_status=http_status,
        error_type=error_type,
        param_with_error=_clean(param, key) if status is KeyStatus.BAD_REQUEST else None,
        rate_limit=_rate_limit(data.get("RateLimit")) if status is KeyStatus.RATE_LIMITED else (),
        detail=f"error Type {error_type} with HTTP {http_status}"
        if status is KeyStatus.BAD_RESPONSE
        else None,
    )


def _err_object(http_status: int, err: Mapping[str, object], key: ApiKey) -> KeyCheck:
    """The newer ``{"Data": {}, "Err": {"type": 2, "message": ..., "http_status_code": 401}}`` (the
    data API's may name the parameter at fault in ``other_info.param``)."""
    message = _clean(err.get("message"), key)
    code = _as_int(err.get("http_status_code")) or http_status
    if code in _KEY_REFUSED_HTTP or http_status in _KEY_REFUSED_HTTP or _mentions_key(message):
        status = KeyStatus.INVALID_KEY
    elif _TOO_MANY_REQUESTS in (code, http_status):
        status = KeyStatus.RATE_LIMITED
    elif code >= _FIRST_SERVER_ERROR:
        status = KeyStatus.BAD_RESPONSE
    else:
        status = KeyStatus.BAD_REQUEST
    info = err.get("other_info")
    param = info.get("param") if isinstance(info, dict) and status is KeyStatus.BAD_REQUEST else None
    return KeyCheck(
        status,
        server_message=message,
        http_status=http_status,
        error_type=_as_int(err.get("type")),
        param_with_error=_clean(param, key),
    )


def _rate_limit(value: object) -> tuple[RateLimitPeriod, ...]:
    if not isinstance(value, dict):
        return ()
    made = value.get("calls_made")
    most = value.get("max_calls")
    made = made if isinstance(made, dict) else {}
    most = most if isinstance(most, dict) else {}
    names = [p for p in _RATE_PERIODS if p in made or p in most]
    names += sorted(p for p in most if isinstance(p, str) and p not in names)
    return tuple(RateLimitPeriod(p, _as_int(made.get(p)), _as_int(most.get(p))) for p in names)


def _failure(exc: BaseException, key: ApiKey) -> KeyCheck:
    """Map a requests/urllib3/socket exception to a KeyCheck, keeping only a scrubbed root cause.

    The exception itself is dropped: requests' exceptions carry the prepared request, and with
    it the ``authorization`` header.
    """
    root = root_cause(exc)
    detail = redact(str(root) or type(root).__name__, (key.reveal(),))[:_MAX_SERVER_MESSAGE_CHARS]
    status = _FAILURE_STATUS[classify(exc)]
    return KeyCheck(status, detail=detail)


_FAILURE_STATUS: Final = {
    HttpFailure.BAD_URL: KeyStatus.CONNECTION_FAILED,
    HttpFailure.DNS: KeyStatus.DNS_FAILURE,
    HttpFailure.TIMEOUT: KeyStatus.TIMEOUT,
    HttpFailure.TLS: KeyStatus.TLS_ERROR,
    HttpFailure.DECODE: KeyStatus.BAD_RESPONSE,
    HttpFailure.CONNECTION: KeyStatus.CONNECTION_FAILED,
}


# --- small helpers -----------------------------------------------------------------------------


def _endpoint(base_url: str | None, default: str, path: str, key: ApiKey) -> str:
    base = default if base_url is None else base_url.strip()
    shown = redact(base, (key.reveal(),))
    try:
        base = check_url(
            base, what=f"base URL {shown!r}", schemes=("http", "https"), sends_key=True, plain=True
        )
    except UrlError as exc:
        raise ValueError(redact(str(exc), (key.reveal(),))) from None
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))


def _symbol(text: str) -> str:
    symbol = text.strip().upper()
    if not _SYMBOL.fullmatch(symbol):
        raise ValueError(f"{text!r} is not a currency symbol (1-20 letters or digits)")
    return symbol


def _index_market(text: str) -> str:
    market = text.strip().lower()
    if not _INDEX_MARKET.fullmatch(market):
        raise ValueError(f"{text!r} is not an index market (like cadli: 1-30 letters, digits or _)")
    return market


def _instrument(text: str) -> str:
    base, dash, quote = text.strip().upper().partition("-")
    if not dash:
        raise ValueError(f"{text!r} is not an instrument (BASE-QUOTE, like BTC-USD)")
    return f"{_symbol(base)}-{_symbol(quote)}"


def _mentions_key(message: str | None) -> bool:
    return bool(message and _MENTIONS_KEY.search(message))


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except (ValueError, OverflowError):
            return None
    return None


def _clean(value: object, key: ApiKey) -> str | None:
    """Server-supplied text made safe to show: scrubbed of the key, no control characters, short."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _UNPRINTABLE.sub(" ", redact(value, (key.reveal(),))).strip()
    if len(text) > _MAX_SERVER_MESSAGE_CHARS:
        text = text[: _MAX_SERVER_MESSAGE_CHARS - 1] + "\u2026"
    return text


def _log_outcome(what: str, check: KeyCheck) -> None:
    if check.ok:
        logger.debug("%s: %s", what, check.status.name)
    else:
        logger.info(
            "%s failed: %s (HTTP %s, type %s): %s",
            what,
            check.status.name,
            check.http_status,
            check.error_type,
            check.detail or check.server_message,
        )
