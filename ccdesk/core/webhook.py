"""Alert webhooks: the JSON payload of an alert and one bounded POST of it. No Qt.

``post_alert`` blocks for up to about ``timeout_s`` per socket operation, so the caller runs it
off the GUI thread and off the stream thread. It never raises for network trouble: every outcome
is a :class:`WebhookResult`. Webhook URLs often carry a secret token in their path or query
(Slack, Discord, ntfy), so nothing here logs or returns more of the URL than its host and port.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

import requests

from ccdesk.core.alerts import Alert, LevelRule, StepRule
from ccdesk.core.delivery import WebhookFailure, WebhookResult
from ccdesk.core.http_failure import HttpFailure, classify, exception_chain
from ccdesk.core.pairs import Source
from ccdesk.core.urls import UrlError, check_url, url_host

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 5.0
USER_AGENT: Final = "ccdesk-webhook/1"
_MAX_DETAIL_CHARS: Final = 200


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON object posted for an alert.

    Keys: ``kind`` (always ``"alert"``), ``sub`` (``5~CCCAGG~BTC~USD``), ``pair`` (``BTC/USD``),
    ``label`` (``BTC/USD Coinbase``), ``rule`` (``"move"``, ``"level"`` or ``"step"``), ``direction``
    (``"up"``/``"down"``), ``change_pct``, ``from_price``, ``to_price``, ``window_s`` (0 for level
    rules), ``level`` (level rules; else null), ``at`` (unix seconds), ``simulated`` (true for the
    demo's simulated prices), ``rule_id`` (the rule's stable id, as in the settings), and only for an
    alert on the portfolio's total (``sub`` ``portfolio:TOTAL-USD``) ``portfolio``: true.

    A portfolio alert carries the move (``change_pct``, ``direction``, ``window_s``) but not the
    total's value: ``from_price``, ``to_price`` and ``level`` are null. The holdings stay on this
    machine, and a webhook is often a chat room.
    """
    kind = (
        "level"
        if isinstance(alert.rule, LevelRule)
        else "step"
        if isinstance(alert.rule, StepRule)
        else "move"
    )
    private = alert.sub.source is Source.PORTFOLIO
    payload: dict[str, Any] = {
        "kind": "alert",
        "sub": str(alert.sub),
        "pair": alert.sub.pair,
        "label": alert.sub.label,
        "rule": kind,
        "direction": alert.direction.value,
        "change_pct": alert.change_pct,
        "from_price": None if private else alert.from_price,
        "to_price": None if private else alert.to_price,
        "window_s": alert.window_s,
        "level": None if private else alert.level,
        "at": alert.at,
        "simulated": alert.simulated,
        "rule_id": alert.rule.id,
    }
    if private:
        payload["portfolio"] = True
    return payload


def webhook_host(url: str) -> str:
    """``host:port`` of a webhook URL for messages and logs (never its path or query), or ``?``."""
    return url_host(url)


def check_webhook_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL, in plain words, or None if it can."""
    try:
        check_url(url, what="the webhook URL", schemes=("http", "https"))
    except UrlError as exc:
        return str(exc)
    return None


def post_alert(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    session: requests.Session | None = None,
) -> WebhookResult:
    """POST ``payload`` as JSON to ``url``; block for at most about ``timeout_s`` per socket step.

    Redirects are not followed (a POST redirected with 301/302/303 would arrive as a GET without
    its body), so a 3xx answer is reported as a failure.

    Args:
        url: An http:// or https:// URL.
        payload: A JSON-serialisable mapping, usually :func:`alert_payload`.
        timeout_s: Connect and read timeout, seconds.
        session: A ``requests.Session`` to reuse connections; a one-off request without it.

    Returns:
        The outcome. Network, TLS, HTTP and URL problems come back as a failed result; this
        function does not raise for them.
    """
    host = webhook_host(url)
    problem = check_webhook_url(url)
    if problem is not None:
        return WebhookResult(ok=False, failure=WebhookFailure.BAD_URL, host=host, reason=problem)
    try:
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        return WebhookResult(ok=False, failure=WebhookFailure.BAD_PAYLOAD, host=host, reason=str(exc))
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    timeout = (timeout_s, timeout_s)
    try:
        if session is None:
            response = requests.post(
                url.strip(), data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
        else:
            response = session.post(
                url.strip(), data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
    except requests.RequestException as exc:
        failure, detail = _classify(exc)
        log.info("webhook to %s failed: %s", host, failure.value)
        return WebhookResult(ok=False, failure=failure, host=host, reason=detail, timeout_s=timeout_s)
    # stream=True and close(): the answer's body is never read, so a huge one costs nothing.
    with response:
        status = response.status_code
        reason = response.reason or ""
    if 200 <= status < 300:
        log.debug("webhook to %s: HTTP %d", host, status)
        return WebhookResult(ok=True, http_status=status, host=host)
    log.info("webhook to %s answered HTTP %d", host, status)
    return WebhookResult(
        ok=False,
        http_status=status,
        failure=WebhookFailure.HTTP_ERROR,
        host=host,
        reason=reason[:100] or None,
    )


def _classify(exc: requests.RequestException) -> tuple[WebhookFailure, str]:
    """The failure kind and a short root cause, from requests' exception chain.

    The exception itself is not kept: requests' exceptions carry the prepared request, and with
    it the full URL.
    """
    return _FAILURES[classify(exc)], _cause_words(exception_chain(exc))


_FAILURES: Final = {
    HttpFailure.BAD_URL: WebhookFailure.BAD_URL,
    HttpFailure.DNS: WebhookFailure.DNS_FAILURE,
    HttpFailure.TIMEOUT: WebhookFailure.TIMEOUT,
    HttpFailure.TLS: WebhookFailure.TLS_ERROR,
    HttpFailure.DECODE: WebhookFailure.CONNECTION_FAILED,
    HttpFailure.CONNECTION: WebhookFailure.CONNECTION_FAILED,
}


def _cause_words(chain: list[BaseException]) -> str:
    """The OS's words for the deepest socket error (``connection refused``), else a type name."""
    for link in reversed(chain):
        if isinstance(link, OSError) and link.strerror:
            return link.strerror.lower()[:_MAX_DETAIL_CHARS]
    return type(chain[-1]).__name__ if chain else "unknown error"
