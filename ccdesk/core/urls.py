"""The one URL validator: endpoints (streamer, REST), webhooks and command-line URLs. Pure; no I/O.

Every URL a user can type goes through ``check_url``. Its rules: text without spaces or control
characters and of sane length; a scheme from the allowed ones and a host; a valid port; never
``api_key=`` (the key travels only in a header); and, where the API key would be sent, never plain
``ws://``/``http://`` to a host other than this machine.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Final

MAX_URL_LENGTH: Final = 2048
_UNSAFE_CHARS: Final = re.compile(r"[\x00-\x20\x7f-\x9f]")
_SECURE: Final = {"ws": "wss", "http": "https"}


class UrlError(ValueError):
    """A URL that cannot be used; ``str(err)`` says why in plain words, starting with what it is."""


def check_url(
    text: str,
    *,
    what: str,
    schemes: tuple[str, ...],
    sends_key: bool = False,
    plain: bool = False,
) -> str:
    """Validate a URL; returns it without surrounding whitespace.

    Args:
        text: The URL.
        what: How messages name it: ``The webhook URL``, ``--stream-url``.
        schemes: The accepted schemes, lower case (``("ws", "wss")``).
        sends_key: The API key would be sent to it: plain ``ws``/``http`` is then refused for any
            host but loopback, and credentials in the URL are refused.
        plain: Refuse a query and a fragment too (a base URL that paths are appended to).

    Raises:
        UrlError: with a plain message naming the problem. It never repeats a query string (a
            webhook URL may hold a token).
    """
    if not isinstance(text, str) or not text.strip():
        raise UrlError(f"{what} is empty")
    url = text.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"{what} is too long (at most {MAX_URL_LENGTH} characters)")
    if _UNSAFE_CHARS.search(url):
        raise UrlError(f"{what} must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise UrlError(f"{what} is not a valid URL (invalid port or host)") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes or not parts.hostname:
        names = " or ".join(f"{s}://" for s in schemes)
        raise UrlError(f"{what} must be a {names} URL with a host")
    if any(k.strip().lower() == "api_key" for k, _ in urllib.parse.parse_qsl(parts.query)):
        raise UrlError(f"{what} must not contain the API key (api_key=); the key is sent in a header")
    if sends_key and (parts.username is not None or parts.password is not None):
        raise UrlError(f"{what} must not contain credentials (user:password@)")
    if plain and (parts.query or parts.fragment):
        raise UrlError(f"{what} must not contain a query or a fragment")
    if sends_key and scheme in _SECURE and not is_loopback(parts.hostname):
        raise UrlError(
            f"{what}: refusing to send the API key unencrypted to {parts.hostname!r}: use "
            f"{_SECURE[scheme]}:// (plain {scheme}:// is allowed only for this machine's loopback addresses)"
        )
    return url


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str:
    """``host:port`` of a URL, for messages and logs (never its path or query), or ``?``."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "?"
    return f"{host}:{port}" if port is not None else host
