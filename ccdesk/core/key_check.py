"""The typed outcome of checking an API key over REST, for any key provider. Pure data; words are
``wording``'s.

Kept apart from the REST client (``rest.py``, which loads ``requests``) so that the dialog and the
words can use these types without it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccdesk.core.api_key import KeyProvider


class KeyStatus(enum.Enum):
    """The outcome of a key check (min-api or CoinDesk Data), one member per thing the user must do."""

    VALID = "valid"
    """The server accepted the key and answered as expected."""
    INVALID_KEY = "invalid_key"
    """Key missing, wrong or revoked: Type 1 "valid auth key" message, or HTTP 401 (and 403 on min-api)."""
    NOT_ENTITLED = "not_entitled"
    """The key is not what is wrong, its plan is: the server will not serve this data with it (no
    plan or subscription that includes it, no permission, or HTTP 403 forbidden). CoinDesk Data's
    check only; min-api's keeps its old reading (INVALID_KEY)."""
    RATE_LIMITED = "rate_limited"
    """Type 99 or HTTP 429; ``KeyCheck.rate_limit`` says which period is used up."""
    BAD_REQUEST = "bad_request"
    """The key is not the problem: Type 2 (``ParamWithError``) or another Type 1, e.g. no such market."""
    TIMEOUT = "timeout"
    """Connecting or reading took longer than ``timeout_s``."""
    DNS_FAILURE = "dns_failure"
    """The server's host name could not be resolved."""
    CONNECTION_FAILED = "connection_failed"
    """Refused, reset, unreachable, or a proxy failure."""
    TLS_ERROR = "tls_error"
    """The TLS handshake failed, typically an untrusted certificate (an intercepting proxy)."""
    BAD_RESPONSE = "bad_response"
    """Non-JSON body, an unexpected shape, an HTTP 5xx or another status nothing above explains."""


@dataclass(frozen=True, slots=True)
class RateLimitPeriod:
    """Usage in one rate-limit window, from a Type 99 answer's ``RateLimit`` object."""

    period: str
    calls_made: int | None
    max_calls: int | None

    @property
    def exhausted(self) -> bool:
        """True if this window's calls reached its maximum."""
        return (
            self.calls_made is not None and self.max_calls is not None and self.calls_made >= self.max_calls
        )


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """A typed REST outcome. Never contains the key; turn it into words with ``wording.key_check_words``.

    Attributes:
        status: What happened.
        server_message: The server's own words (``Message`` or ``Err.message``), scrubbed and
            shortened, or ``None``.
        http_status: The HTTP status, or ``None`` if no answer arrived.
        error_type: The classic ``Type`` (1, 2, 99) or ``Err.type``, if the server sent one.
        param_with_error: The ``ParamWithError`` of a Type 2 answer (e.g. ``tsyms``).
        rate_limit: The windows of a Type 99 answer, in order second..month.
        detail: A short technical cause for logs (e.g. ``[Errno 111] Connection refused``), scrubbed.
        provider: Whose service answered (or was asked): words name it.
    """

    status: KeyStatus
    server_message: str | None = None
    http_status: int | None = None
    error_type: int | None = None
    param_with_error: str | None = None
    rate_limit: tuple[RateLimitPeriod, ...] = ()
    detail: str | None = None
    provider: KeyProvider = KeyProvider.CRYPTOCOMPARE

    @property
    def ok(self) -> bool:
        """True if the call succeeded (status VALID)."""
        return self.status is KeyStatus.VALID
