"""Scrubbing API keys out of text and log records. Pure string work: no I/O, no Qt, no keyring."""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable

REDACTED = "***"

# `api_key=VALUE` in a query string (also percent-encoded `api_key%3DVALUE`), and header or
# mapping forms such as `x-api-key: VALUE` or `'api_key': 'VALUE'`.
_API_KEY_PARAM = re.compile(
    r"""(?ix)
    ((?:x-)?api[-_]?key["']?\s*(?:=|%3D|:)\s*["']?)   # name and separator (and an opening quote)
    ([^\s&#"',;)}\]]+)                                  # the value
    """
)
# A header line or a mapping entry `authorization: ...` / `'Authorization': '...'`: everything up to
# the end of the line or the closing quote is the credential, whatever its scheme.
_AUTHORIZATION = re.compile(
    r"""(?ix)
    (\b(?:proxy-)?authorization(?P<q>["']?)\s*[:=]\s*)
    (?:
        (?P<quote>["'])[^"'\r\n]*(?P=quote)     # quoted value: keep the quotes
      | [^\r\n,;}\]]+                           # bare value: up to the end of the line
    )
    """
)
# The scheme form `Apikey VALUE` wherever it appears (e.g. in a tuple of headers).
_APIKEY_SCHEME = re.compile(r"(?i)(\bapikey\s+)([^\s\"',;)}\]]+)")


def _authorization_sub(match: re.Match[str]) -> str:
    quote = match.group("quote") or ""
    return f"{match.group(1)}{quote}{REDACTED}{quote}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credentials from ``text``.

    Removes the values of ``api_key=`` query parameters, ``authorization`` headers and
    ``Apikey`` credentials, and every occurrence of each given literal secret (also in its
    percent-encoded form). Over-redacting is preferred to leaking: the patterns are broad.

    Args:
        text: Any text: a log message, an exception string, a URL.
        secrets: Literal secret values to remove wherever they appear. Empty strings are ignored.

    Returns:
        The text with every credential replaced by ``***``. Idempotent.
    """
    literals: set[str] = set()
    for secret in secrets:
        if secret:
            literals.add(secret)
            literals.add(urllib.parse.quote(secret, safe=""))
            literals.add(urllib.parse.quote_plus(secret, safe=""))
    # Longest first, so a secret that contains another is removed whole.
    for literal in sorted(literals, key=len, reverse=True):
        text = text.replace(literal, REDACTED)
    text = _AUTHORIZATION.sub(_authorization_sub, text)
    text = _APIKEY_SCHEME.sub(rf"\1{REDACTED}", text)
    return _API_KEY_PARAM.sub(rf"\1{REDACTED}", text)


def _no_secrets() -> Iterable[str]:
    return ()


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record it sees, in place; it never drops a record.

    The message is formatted with its arguments first (so a secret passed as an argument is
    caught) and the arguments are cleared. Exception and stack text is rendered, redacted and
    stored in ``exc_text`` / ``stack_info``; ``exc_info`` is then cleared so that no formatter
    can render the raw exception again.

    Attach it to handlers, not only to loggers: a logger's filters do not see records that
    propagate up from child loggers (``ccdesk.core.rest`` -> root).
    """

    def __init__(self, secrets_provider: Callable[[], Iterable[str]] = _no_secrets) -> None:
        """Create the filter.

        Args:
            secrets_provider: Returns the literal secrets to remove. Called for every record, so it
                must be cheap and must not block (return a cached value; never call the keyring).
        """
        super().__init__()
        self._secrets_provider = secrets_provider

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and let it through."""
        try:
            secrets = tuple(self._secrets_provider())
        except Exception:
            # A failing provider must not break logging, nor leave the record unredacted:
            # the pattern-based redaction still applies.
            secrets = ()
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string would make the handler print msg and args raw to stderr
            # (logging.Handler.handleError); render them ourselves instead.
            message = f"{record.msg!s} [unformattable log arguments: {record.args!r}]"
        record.msg = redact(message, secrets)
        record.args = ()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install_redaction(
    logger: logging.Logger | None = None,
    secrets_provider: Callable[[], Iterable[str]] = _no_secrets,
) -> RedactingFilter:
    """Redact everything ``logger`` and its handlers emit.

    Adds one :class:`RedactingFilter` to the logger and to each handler it has now. Handlers
    added later are not covered: call this after logging is configured.

    Args:
        logger: The logger to protect; the root logger when ``None``.
        secrets_provider: See :class:`RedactingFilter`.

    Returns:
        The installed filter (remove it with ``removeFilter`` on the logger and its handlers).
    """
    target = logger if logger is not None else logging.getLogger()
    redacting = RedactingFilter(secrets_provider)
    target.addFilter(redacting)
    for handler in target.handlers:
        handler.addFilter(redacting)
    return redacting
