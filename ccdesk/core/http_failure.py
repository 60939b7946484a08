"""What went wrong with an HTTP request: one classification of requests/urllib3/socket errors,
shared by the REST key check and the webhook. Pure: it only inspects exceptions."""

from __future__ import annotations

import enum
import socket
import ssl
from collections.abc import Iterator
from typing import Final

import requests
import urllib3.exceptions

_MAX_CHAIN: Final = 50


class HttpFailure(enum.Enum):
    """The kind of a failed request, most specific first."""

    BAD_URL = "bad_url"
    DNS = "dns"
    TIMEOUT = "timeout"
    TLS = "tls"
    DECODE = "decode"
    CONNECTION = "connection"


def classify(exc: BaseException) -> HttpFailure:
    """The kind of failure behind ``exc`` (looking through requests' and urllib3's wrapping)."""
    chain = exception_chain(exc)

    def caused_by(*types_: type[BaseException]) -> bool:
        return any(isinstance(link, types_) for link in chain)

    if caused_by(requests.exceptions.InvalidURL, requests.exceptions.MissingSchema):
        return HttpFailure.BAD_URL
    if caused_by(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return HttpFailure.DNS
    if any(_is_timeout(link) for link in chain):
        return HttpFailure.TIMEOUT
    if caused_by(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        return HttpFailure.TLS
    if caused_by(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
        return HttpFailure.DECODE
    return HttpFailure.CONNECTION


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception behind it, depth first, each once (bounded)."""
    seen: set[int] = set()
    out: list[BaseException] = []
    stack = [exc]
    while stack and len(seen) <= _MAX_CHAIN:
        link = stack.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        out.append(link)
        stack.extend(reversed(list(_links(link))))
    return out


def root_cause(exc: BaseException) -> BaseException:
    """The deepest exception behind ``exc`` along its first links."""
    seen = {id(exc)}
    while True:
        nxt = next((link for link in _links(exc) if id(link) not in seen), None)
        if nxt is None or len(seen) > _MAX_CHAIN:
            return exc
        seen.add(id(nxt))
        exc = nxt


def _is_timeout(exc: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for backwards compatibility,
    # so a refused connection would otherwise look like a timeout.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError | socket.timeout)


def _links(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions directly behind ``exc``, most specific first."""
    if exc.__cause__ is not None:
        yield exc.__cause__
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError / ProxyError
    if isinstance(reason, BaseException):
        yield reason
    for arg in exc.args:  # requests wraps urllib3's exception as its first argument
        if isinstance(arg, BaseException):
            yield arg
    if exc.__context__ is not None and not exc.__suppress_context__:
        yield exc.__context__
