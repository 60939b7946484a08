"""Where one alert went: the typed outcome of delivering it (desktop, tray, banner, webhook). Pure data."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccdesk.core.alerts import Alert


class WebhookFailure(enum.Enum):
    """Why a webhook delivery failed."""

    BAD_URL = "bad_url"
    """The URL is not an absolute http:// or https:// URL with a host."""
    BAD_PAYLOAD = "bad_payload"
    """The payload cannot be written as strict JSON (NaN, infinity, an unknown type)."""
    TIMEOUT = "timeout"
    """Connecting or reading took longer than the timeout."""
    DNS_FAILURE = "dns_failure"
    """The host name could not be resolved."""
    CONNECTION_FAILED = "connection_failed"
    """Refused, reset, unreachable, or a proxy failure."""
    TLS_ERROR = "tls_error"
    """The TLS handshake failed (typically an untrusted certificate)."""
    HTTP_ERROR = "http_error"
    """The server answered with a status outside 2xx (redirects are not followed)."""
    BACKLOG = "backlog"
    """Not sent: earlier deliveries are still waiting for an answer."""
    FAILED = "failed"
    """The POST raised something unexpected (``reason`` names it)."""


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """The outcome of one webhook POST.

    Words for it are ``wording.webhook_words``. Nothing here holds more of the URL than its host:
    the rest may hold a token.

    Attributes:
        ok: True if the server answered with a 2xx status.
        http_status: The server's HTTP status, or None if no answer arrived.
        failure: What went wrong (None when ``ok``).
        host: ``host:port`` of the webhook.
        reason: The HTTP reason phrase of a non-2xx answer, or a short technical cause (the OS's
            words for a socket error, a validation message), or None.
        timeout_s: The timeout that applied (for ``TIMEOUT``).
    """

    ok: bool
    http_status: int | None = None
    failure: WebhookFailure | None = None
    host: str = "?"
    reason: str | None = None
    timeout_s: float | None = None


class DeliveryChannel(enum.Enum):
    """How an alert was shown."""

    DESKTOP = "desktop"
    """A desktop notification was handed to the notification service."""
    TRAY = "tray"
    """The tray icon's balloon message."""
    BANNER = "banner"
    """A banner in the window (no notification service and no tray)."""
    NONE = "none"
    """Not shown: ccdesk was shutting down, or too many pop-ups this minute (``not_shown`` says which)."""


class NotShownReason(enum.Enum):
    """Why the desktop notification was not used (the alert then fell back to the tray or a banner,
    except for ``SHUTTING_DOWN`` and ``RATE_LIMITED``: then it was not shown)."""

    NO_BACKEND = "no_backend"
    """plyer has no notification backend on this machine."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """No notification service on the session bus (``detail`` says what was found)."""
    SERVICE_STUCK = "service_stuck"
    """Earlier notifications are still waiting on a service that does not answer."""
    FAILED = "failed"
    """The notification call raised (``detail`` names the error)."""
    SHUTTING_DOWN = "shutting_down"
    """ccdesk was quitting."""
    RATE_LIMITED = "rate_limited"
    """Not shown at all (no tray balloon, no banner): the cap on pop-ups per minute was reached.
    The alert is in the history; a webhook, if set, was still sent."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where one alert went, for the alert history.

    Attributes:
        alert: The alert.
        channel: How it was shown.
        webhook: The webhook POST's outcome, or None when no webhook URL is set.
        not_shown: Why the desktop notification was not used, or None when it was.
        detail: A few machine words about ``not_shown`` (an exception name, a bus state), or None.
    """

    alert: Alert
    channel: DeliveryChannel
    webhook: WebhookResult | None = None
    not_shown: NotShownReason | None = None
    detail: str | None = None
