"""Alert webhooks: the JSON payload of an alert and one bounded POST of it. No Qt.

``post_alert`` blocks for up to about ``timeout_s`` per socket operation, so the caller runs it
off the GUI thread and off the stream thread. It never raises for network trouble: every outcome
is a :class:`WebhookResult`. Webhook URLs often carry a secret token in their path or query
(Slack, Discord, ntfy), so nothing here logs or returns more of the URL than its host and port.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

import requests

from ccdesk.core.alerts import Alert, LevelRule
from ccdesk.core.delivery import WebhookFailure, WebhookResult
from ccdesk.core.formatting import format_duration
from ccdesk.core.http_failure import HttpFailure, classify, exception_chain

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 5.0
USER_AGENT: Final = "ccdesk-webhook/1"
_MAX_DETAIL_CHARS: Final = 200


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON object posted for an alert.

    Keys: ``kind`` (always ``"alert"``), ``sub`` (``5~CCCAGG~BTC~USD``), ``pair`` (``BTC/USD``),
    ``label`` (``BTC/USD Coinbase``), ``rule`` (``"move"`` or ``"level"``), ``direction``
    (``"up"``/``"down"``), ``change_pct``, ``from_price``, ``to_price``, ``window_s`` (0 for level
    rules), ``level`` (level rules; else null), ``at`` (unix seconds).
    """
    is_level = isinstance(alert.rule, LevelRule)
    return {
        "kind": "alert",
        "sub": str(alert.sub),
        "pair": alert.sub.pair,
        "label": alert.sub.label,
        "rule": "level" if is_level else "move",
        "direction": alert.direction.value,
        "change_pct": alert.change_pct,
        "from_price": alert.from_price,
        "to_price": alert.to_price,
        "window_s": alert.window_s,
        "level": alert.level,
        "at": alert.at,
    }


def webhook_host(url: str) -> str:
    """``host:port`` of a URL for messages and logs (never its path or query), or ``?``."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "?"
    return f"{host}:{port}" if port is not None else host


def check_webhook_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL, in plain words, or None if it can (for settings)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "the webhook URL is not valid (bad host or port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the webhook URL must start with http:// or https:// and name a host"
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
        return _failed(WebhookFailure.BAD_URL, problem)
    try:
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        return _failed(WebhookFailure.BAD_PAYLOAD, f"the alert could not be written as JSON ({exc})")
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
        result = _failed(failure, _failure_words(failure, host, timeout_s, detail))
        log.info("webhook to %s failed: %s", host, failure.value)
        return result
    # stream=True and close(): the answer's body is never read, so a huge one costs nothing.
    with response:
        status = response.status_code
        reason = response.reason or ""
    if 200 <= status < 300:
        log.debug("webhook to %s: HTTP %d", host, status)
        return WebhookResult(ok=True, http_status=status)
    log.info("webhook to %s answered HTTP %d", host, status)
    words = f"the webhook at {host} answered HTTP {status}" + (f" {reason}" if reason else "")
    if 300 <= status < 400:
        words += " (a redirect; use the final URL)"
    return WebhookResult(ok=False, http_status=status, error=words, failure=WebhookFailure.HTTP_ERROR)


def _failed(failure: WebhookFailure, words: str) -> WebhookResult:
    return WebhookResult(ok=False, http_status=None, error=words, failure=failure)


def _failure_words(failure: WebhookFailure, host: str, timeout_s: float, detail: str) -> str:
    if failure is WebhookFailure.TIMEOUT:
        return f"the webhook at {host} did not answer within {_seconds(timeout_s)}"
    if failure is WebhookFailure.DNS_FAILURE:
        return f"the webhook host {host} could not be found (DNS lookup failed)"
    if failure is WebhookFailure.TLS_ERROR:
        return f"no secure connection to the webhook at {host} (certificate or TLS problem)"
    if failure is WebhookFailure.BAD_URL:
        return f"the webhook URL is not usable ({detail})"
    return f"could not connect to the webhook at {host} ({detail})"


def _seconds(seconds: float) -> str:
    """``0.5 s``, ``5 s``, ``2 min``: a timeout, without rounding short ones to 0."""
    return f"{seconds:.3g} s" if seconds < 60 else format_duration(seconds)


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
