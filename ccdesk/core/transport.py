"""One WebSocket connection: connect (websocket-client), send, and a fast buffered frame reader.

websocket-client does the handshake, TLS, proxies and every send (masking, locking). Its
receive path costs three ``recv`` syscalls and a pure-Python frame object per message; at
the rates a busy watchlist (or a firehose) produces that path alone caps ingestion near
13k frames/s. So reading is done here: one large ``recv`` fills a buffer and every complete
RFC 6455 frame in it is cut out at once. Control frames are answered here (ping -> pong,
close -> close). Oversized messages are skipped without being buffered, up to a hard cap;
anything larger, and any violation of RFC 6455, fails the connection (close 1009 / 1002).

The upgrade is bounded too: redirects are never followed (they would carry the key to
another host), the answer's head is capped and its body never read, and the whole upgrade
shares one deadline. :class:`ConnectAttempt` runs a connect on its own thread so that the
caller can give up on it at once.

No Qt; blocking calls only on the thread that owns the connection (``send_text``/``close``
are safe from any thread).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import select
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import Final, NoReturn

import websocket
import websocket._http as ws_http  # connect() and proxy_info: the socket set-up without the upgrade

from ccdesk.core.redaction import redact
from ccdesk.core.urls import url_host
from ccdesk.core.waker import Waker

log = logging.getLogger(__name__)

_RECV_BYTES: Final = 256 * 1024
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_U64: Final = struct.Struct("!Q")

# RFC 6455 7.4: close codes this side may send (1004-1006 and 1015 are reserved, never on the wire).
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG = 1000, 1002, 1009
_UNSENDABLE_CODES: Final = frozenset({1004, 1005, 1006, 1015})

# The head of the upgrade answer (status line and headers). Real servers and CDNs send 1-2 KiB;
# websocket-client would read any amount, one byte per recv.
_MAX_UPGRADE_HEAD_BYTES: Final = 16 * 1024
_DETAIL_CHARS: Final = 200


class ConnectFailure(enum.Enum):
    """Why a connection could not be opened."""

    REFUSED = "refused"
    DNS = "dns"
    TIMEOUT = "timeout"
    TLS = "tls"
    HANDSHAKE_UNAUTHORIZED = "handshake_unauthorized"
    """The server itself answered the upgrade with 401: the key was refused."""
    HANDSHAKE_RATE_LIMITED = "handshake_rate_limited"
    """429 on the upgrade."""
    FORBIDDEN = "forbidden"
    """403: typically a proxy, firewall or CDN rule, not a verdict on the key."""
    GEO_BLOCKED = "geo_blocked"
    """451: the service is not available in this region."""
    REDIRECTED = "redirected"
    """A 3xx answer. Never followed: it would re-send the key to the host it names."""
    NOT_WEBSOCKET = "not_websocket"
    """Something answered that is not a WebSocket server: a 200 (a captive portal's page, a plain
    HTTP server), a 101 without a valid upgrade, or an answer that is not HTTP at all."""
    HANDSHAKE_REJECTED = "handshake_rejected"
    """Any other status on the upgrade."""
    NETWORK = "network"
    CANCELLED = "cancelled"
    """:meth:`ConnectAttempt.cancel` was called."""


class ConnectError(Exception):
    """Opening the connection failed; ``failure`` says how, ``detail`` is redacted text for logs.

    Attributes:
        http_status: the status of the upgrade answer, when there was one.
        redirect_host: for REDIRECTED, ``host[:port]`` of the Location (never its path or
            query, which may carry tokens); None when it named no host.
    """

    def __init__(
        self,
        failure: ConnectFailure,
        detail: str,
        http_status: int | None = None,
        redirect_host: str | None = None,
    ) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure
        self.detail = detail
        self.http_status = http_status
        self.redirect_host = redirect_host


class CloseCause(enum.Enum):
    """Who ended a connection, and how."""

    PEER = "peer"
    """The server sent a close frame (``Closed.code`` is its code)."""
    PROTOCOL_ERROR = "protocol_error"
    """This side found an RFC 6455 violation and failed the connection with close code 1002."""
    TOO_BIG = "too_big"
    """A message exceeded ``fail_message_bytes``; this side failed the connection with 1009."""
    LOST = "lost"
    """EOF without a close frame, a reset, or a send that failed."""
    LOCAL = "local"
    """:meth:`Connection.close` was called on this side."""


class Closed(Exception):
    """The connection ended: a close frame, EOF, a reset, or a protocol violation.

    Attributes:
        reason: short text for logs ("closed by server" exactly when the server sent a close frame).
        code: the server's close code (cause PEER), or the code this side sent when it failed the
            connection (PROTOCOL_ERROR: 1002, TOO_BIG: 1009); None otherwise.
        cause: who ended it; see :class:`CloseCause`.
    """

    def __init__(self, reason: str, code: int | None = None, cause: CloseCause = CloseCause.LOST) -> None:
        super().__init__(reason if code is None else f"{reason} (code {code})")
        self.reason = reason
        self.code = code
        self.cause = cause

    @property
    def failed_locally(self) -> bool:
        """True when this side failed the connection because of what the server sent."""
        return self.cause in (CloseCause.PROTOCOL_ERROR, CloseCause.TOO_BIG)


class Binary:
    """Marker for a binary message (the streamer only sends text; callers skip these)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class Oversized:
    """Marker for a message longer than the limit; its bytes were discarded unread."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


Message = bytes | Binary | Oversized


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Connection tuning.

    Attributes:
        connect_timeout_s: bounds each step of the socket set-up, and the upgrade as a whole.
        max_message_bytes: a longer message is skipped unread and reported as :class:`Oversized`.
        fail_message_bytes: a frame, or a fragmented message's running total, longer than this
            fails the connection (close 1009): skipping is bounded, so a bogus length can never
            make the reader discard the rest of the stream.
    """

    connect_timeout_s: float = 10.0
    max_message_bytes: int = 64 * 1024
    fail_message_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if not 0 < self.max_message_bytes <= self.fail_message_bytes:
            raise ValueError("need 0 < max_message_bytes <= fail_message_bytes")


def _classify(exc: BaseException) -> ConnectFailure:
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, socket.gaierror):
            return ConnectFailure.DNS
        if isinstance(e, ssl.SSLError | ssl.CertificateError):
            return ConnectFailure.TLS
        if isinstance(e, TimeoutError | socket.timeout | websocket.WebSocketTimeoutException):
            return ConnectFailure.TIMEOUT
        if isinstance(e, ConnectionRefusedError):
            return ConnectFailure.REFUSED
    return ConnectFailure.NETWORK


class Connection:
    """A connected WebSocket. Create with :func:`open_connection` or :class:`ConnectAttempt`."""

    def __init__(
        self, ws: websocket.WebSocket, max_message_bytes: int, fail_message_bytes: int = 1024 * 1024
    ) -> None:
        self._ws = ws
        sock = ws.sock
        assert sock is not None
        self._sock: socket.socket = sock
        self._ssl = isinstance(sock, ssl.SSLSocket)
        self._max = max_message_bytes
        self._fail_at = max(fail_message_bytes, max_message_bytes)
        self._buf = bytearray()
        self._skip = 0  # bytes of a skipped frame still to discard (never more than _fail_at)
        # The data message in progress (a fragmented one, or one whose payload is being skipped):
        self._msg_op: int | None = None  # its opcode; None: no message in progress
        self._msg_parts: list[bytes] = []  # the text kept so far
        self._msg_len = 0  # its running total
        self._msg_dropped = False  # over max_message_bytes: reported Oversized, the rest is skipped
        self._closed = False
        self._pending: Closed | None = None
        self._close_lock = threading.Lock()
        self.bytes_received = 0
        self.pongs_received = 0

    # -- sending (any thread) --------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Send a text message. Thread-safe (websocket-client locks sends)."""
        try:
            self._ws.send(text)
        except (OSError, websocket.WebSocketException) as exc:
            raise self._why_closed(f"send failed: {type(exc).__name__}") from None

    def ping(self) -> None:
        """Send a WebSocket ping."""
        try:
            self._ws.ping()
        except (OSError, websocket.WebSocketException) as exc:
            raise self._why_closed(f"ping failed: {type(exc).__name__}") from None

    def _why_closed(self, fallback: str) -> Closed:
        # A send after the reader failed the connection (a protocol error found in the batch the
        # owner is still handling) fails too: report the real cause, not the failed send.
        pending = self._pending
        return pending if pending is not None else Closed(fallback)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send a close frame with ``code`` (best effort, non-blocking) and close the socket.

        Idempotent (only the first call's code is sent), any thread; wakes a reader blocked in
        :meth:`read`.

        Raises:
            ValueError: ``code`` is not one an endpoint may send (RFC 6455 7.4), or ``reason``
                does not fit in a control frame.
        """
        if not 1000 <= code <= 4999 or code in _UNSENDABLE_CODES:
            raise ValueError(f"close code {code} may not be sent")
        reason_bytes = reason.encode()
        if len(reason_bytes) > 123:
            raise ValueError("close reason longer than 123 bytes")
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._sock.settimeout(0.2)
            self._ws.send_close(code, reason_bytes)
        except Exception:
            log.debug("close frame not sent")
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._ws.shutdown()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- receiving (owner thread) ----------------------------------------------------------

    def read(self, timeout_s: float, wake: Waker | None = None) -> list[Message]:
        """Wait up to ``timeout_s`` for data; return every complete message received.

        Returns an empty list on timeout, or at once when ``wake`` is woken (another thread has
        a command for the owner). Raises Closed when the connection ends; messages
        that arrived before the end (e.g. a 401 frame right before the close frame, or good
        frames before a protocol violation) are returned first.
        """
        if self._pending is not None:
            pending, self._pending = self._pending, None
            raise pending
        if self._closed:
            raise Closed("closed locally", cause=CloseCause.LOCAL)
        sock = self._sock
        if not (self._ssl and sock.pending()):  # type: ignore[attr-defined]
            watched: tuple[socket.socket | Waker, ...] = (sock,) if wake is None else (sock, wake)
            try:
                ready, _, _ = select.select(watched, (), (), max(0.0, timeout_s))
            except (OSError, ValueError):
                raise Closed("socket closed") from None
            if sock not in ready:
                return []
        try:
            chunk = sock.recv(_RECV_BYTES)
        except ssl.SSLWantReadError:
            return []
        except (OSError, ValueError) as exc:
            if self._closed:
                raise Closed("closed locally", cause=CloseCause.LOCAL) from None
            raise Closed(f"connection lost: {type(exc).__name__}") from None
        if not chunk:
            if self._closed:  # close() from another thread shut the socket down under us
                raise Closed("closed locally", cause=CloseCause.LOCAL)
            raise Closed("connection closed by peer without a close frame")
        self.bytes_received += len(chunk)
        out: list[Message] = []
        try:
            self._feed(chunk, out)
        except Closed as exc:
            self._buf.clear()  # nothing after a close or a violation is read
            if not out:
                raise
            self._pending = exc
        return out

    def _feed(self, chunk: bytes, out: list[Message]) -> None:
        if self._skip:
            if len(chunk) <= self._skip:
                self._skip -= len(chunk)
                return
            chunk = chunk[self._skip :]
            self._skip = 0
        buf = self._buf
        buf += chunk
        pos = 0
        end = len(buf)
        limit = self._max
        idle = self._msg_op is None
        # The hot path: a whole, unmasked text frame within the limit, no message in progress.
        # Every other frame (and every rule of RFC 6455 5.2-5.5) goes through _frame.
        while end - pos >= 2:
            b0 = buf[pos]
            n = buf[pos + 1]
            hdr = 2
            if n > 125:
                if n == 126:
                    if end - pos < 4:
                        break
                    n = (buf[pos + 2] << 8) | buf[pos + 3]
                    hdr = 4
                elif n == 127:
                    if end - pos < 10:
                        break
                    n = _U64.unpack_from(buf, pos + 2)[0]
                    hdr = 10
                else:  # the mask bit (RFC 6455 5.1: a client must fail on a masked frame)
                    self._fail(CLOSE_PROTOCOL_ERROR, "masked frame from the server")
            if b0 != 0x81 or n > limit or not idle:
                nxt = self._frame(buf, pos, end, b0, n, hdr, out)
                if nxt < 0:
                    break
                pos = nxt
                idle = self._msg_op is None
                continue
            if end - pos < hdr + n:
                break
            pos += hdr
            out.append(bytes(buf[pos : pos + n]))
            pos += n
        del buf[:pos]

    def _frame(
        self, buf: bytearray, pos: int, end: int, b0: int, n: int, hdr: int, out: list[Message]
    ) -> int:
        """Any frame but the hot path's: check it against RFC 6455 and the size caps, then handle it.

        Returns the position after the frame (``end`` when the rest of its payload will be
        skipped as it arrives), or -1 when its payload has not fully arrived (state unchanged).
        """
        if n >> 63:
            self._fail(CLOSE_PROTOCOL_ERROR, "64-bit frame length with its most significant bit set")
        if b0 & 0x70:
            self._fail(CLOSE_PROTOCOL_ERROR, "reserved bits set without a negotiated extension")
        op = b0 & 0x0F
        fin = b0 & 0x80
        if op >= 0x8:
            if op > OP_PONG:
                self._fail(CLOSE_PROTOCOL_ERROR, f"unknown opcode {op:#x}")
            if not fin:
                self._fail(CLOSE_PROTOCOL_ERROR, "fragmented control frame")
            if n > 125:
                self._fail(CLOSE_PROTOCOL_ERROR, "control frame longer than 125 bytes")
            if end - pos < hdr + n:
                return -1
            self._control(op, bytes(buf[pos + hdr : pos + hdr + n]))
            return pos + hdr + n
        if op == OP_CONT:
            if self._msg_op is None:
                self._fail(CLOSE_PROTOCOL_ERROR, "continuation frame with no message in progress")
            msg_op = self._msg_op
            total = self._msg_len + n
            dropped = self._msg_dropped
        elif op in (OP_TEXT, OP_BINARY):
            if self._msg_op is not None:
                self._fail(CLOSE_PROTOCOL_ERROR, "new data frame inside an unfinished fragmented message")
            msg_op = op
            total = n
            dropped = False
        else:
            self._fail(CLOSE_PROTOCOL_ERROR, f"unknown opcode {op:#x}")
        if total > self._fail_at:
            self._fail(CLOSE_TOO_BIG, f"message of {total} bytes, over the {self._fail_at}-byte cap")
        keep = msg_op == OP_TEXT and not dropped and total <= self._max
        if keep:
            if end - pos < hdr + n:
                return -1
            self._msg_parts.append(bytes(buf[pos + hdr : pos + hdr + n]))
            nxt = pos + hdr + n
        else:
            if not dropped and total > self._max:
                out.append(Oversized(total))
                dropped = True
                self._msg_parts.clear()
            have = end - pos - hdr
            if have >= n:
                nxt = pos + hdr + n
            else:
                self._skip = n - have  # bounded by the hard cap checked above
                nxt = end
        if fin:
            if not dropped:
                if msg_op == OP_TEXT:
                    parts = self._msg_parts
                    out.append(parts[0] if len(parts) == 1 else b"".join(parts))
                else:
                    out.append(Binary(total))
            self._msg_op = None
            self._msg_parts = []
            self._msg_len = 0
            self._msg_dropped = False
        else:
            self._msg_op = msg_op
            self._msg_len = total
            self._msg_dropped = dropped
        return nxt

    def _control(self, op: int, payload: bytes) -> None:
        if op == OP_PING:
            try:
                self._ws.pong(payload)
            except (OSError, websocket.WebSocketException):
                raise Closed("pong failed") from None
        elif op == OP_PONG:
            self.pongs_received += 1
        elif op == OP_CLOSE:
            if len(payload) == 1:  # RFC 6455 5.5.1: a body, if any, starts with a 2-byte code
                self._fail(CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload")
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.close()
            raise Closed("closed by server", code, CloseCause.PEER)
        else:
            self._fail(CLOSE_PROTOCOL_ERROR, f"unknown control opcode {op:#x}")

    def _fail(self, code: int, reason: str) -> NoReturn:
        """Fail the connection (RFC 6455 7.1.7): send a close frame with ``code``, drop the socket."""
        log.warning("failing the connection with close code %d: %s", code, reason)
        self.close(code)
        if code == CLOSE_TOO_BIG:
            raise Closed(f"message too big: {reason}", code, CloseCause.TOO_BIG)
        raise Closed(f"protocol error: {reason}", code, CloseCause.PROTOCOL_ERROR)


# -- connecting -------------------------------------------------------------------------------


class _Guard:
    """Lets another thread abandon a connect: the socket the attempt has now is shut down, and
    one it gets later is closed as soon as it has it. Owned by one attempt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.cancelled = False

    def adopt(self, sock: socket.socket) -> None:
        """Track the attempt's new socket. Raises CANCELLED (closing it) if already cancelled."""
        with self._lock:
            if not self.cancelled:
                self._sock = sock
                return
            sock.close()
        raise ConnectError(ConnectFailure.CANCELLED, "cancelled")

    def close(self, sock: socket.socket) -> None:
        """Close the attempt's socket. Under the lock, so cancel() never shuts down a reused fd."""
        with self._lock:
            if self._sock is sock:
                self._sock = None
            sock.close()

    def hand_over(self) -> None:
        """The socket now belongs to a Connection. Raises CANCELLED if cancel() came first."""
        with self._lock:
            self._sock = None
            if self.cancelled:
                raise ConnectError(ConnectFailure.CANCELLED, "cancelled")

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._sock is not None:
                # The owner thread closes it when its blocked call returns. socket.socket's own
                # shutdown, not SSLSocket's: that one also drops the TLS object under the reader.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)


class _StopUpgrade(Exception):
    """Raised through websocket-client's handshake to stop reading the answer."""


class _UpgradeSocket:
    """The socket as websocket-client sees it during the upgrade, and only then.

    websocket-client reads the answer's head one byte per ``recv`` with no size limit, and for an
    error status reads a whole ``Content-Length`` body into memory (a hostile server can announce
    2 GB). Seen through this wrapper, the head is recorded (the status is taken from it) and capped,
    the body is never read, and every ``recv``/``send`` shares one deadline.
    """

    def __init__(self, sock: socket.socket, deadline: float, guard: _Guard) -> None:
        self._sock = sock
        self._deadline = deadline
        self._guard = guard
        self.head = bytearray()
        self.head_done = False

    def fileno(self) -> int:
        return self._sock.fileno()

    def gettimeout(self) -> float:
        return max(0.001, self._deadline - time.monotonic())

    def settimeout(self, timeout: float | None) -> None:
        """Ignored: the deadline rules."""

    def _arm(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no upgrade answer within the connect timeout")
        self._sock.settimeout(left)

    def send(self, data: bytes) -> int:
        self._arm()
        return self._sock.send(data)

    def recv(self, bufsize: int) -> bytes:
        if self.head_done:
            raise _StopUpgrade("the body of an error answer is not read")
        self._arm()
        data = self._sock.recv(min(bufsize, _MAX_UPGRADE_HEAD_BYTES + 1 - len(self.head)))
        head = self.head
        head += data
        if b"\n\n" in head[-len(data) - 2 :] or b"\n\r\n" in head[-len(data) - 3 :]:
            self.head_done = True  # the empty line that ends the head, as websocket-client reads it
        elif len(head) > _MAX_UPGRADE_HEAD_BYTES:
            raise _StopUpgrade(f"upgrade answer head longer than {_MAX_UPGRADE_HEAD_BYTES} bytes")
        return data

    def close(self) -> None:
        self._guard.close(self._sock)

    @property
    def status_line(self) -> bytes | None:
        """The first line of the answer, once it is complete."""
        i = self.head.find(b"\n")
        return None if i < 0 else bytes(self.head[:i]).strip()

    def header(self, name: bytes) -> str | None:
        """A header of the (complete) head, or None."""
        for line in bytes(self.head).split(b"\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == name:
                return value.strip().decode("latin-1")
        return None


def _status(line: bytes) -> int | None:
    parts = line.split(None, 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and len(parts[1]) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def _answer_error(upgrade: _UpgradeSocket, exc: BaseException) -> ConnectError | None:
    """Classify a failed upgrade by the answer's status line; None if no answer line arrived."""
    line = upgrade.status_line
    if line is None:
        if isinstance(exc, _StopUpgrade):  # a head too long to hold even its first line
            return ConnectError(ConnectFailure.NOT_WEBSOCKET, str(exc))
        return None
    status = _status(line)
    if status is None:
        return ConnectError(ConnectFailure.NOT_WEBSOCKET, "the answer to the upgrade is not HTTP")
    if status == 101:
        if isinstance(exc, _StopUpgrade):
            return ConnectError(ConnectFailure.NOT_WEBSOCKET, f"HTTP 101, {exc}", status)
        if not upgrade.head_done:  # cut off or too slow mid-head: a network problem
            return None
        return ConnectError(ConnectFailure.NOT_WEBSOCKET, "HTTP 101 without a valid upgrade", status)
    if 300 <= status < 400:
        location = upgrade.header(b"location")
        host = url_host(location) if location else None
        if host == "?":
            host = None
        where = f" to {host}" if host else ""
        return ConnectError(
            ConnectFailure.REDIRECTED, f"HTTP {status} on upgrade: redirect{where} not followed", status, host
        )
    failure = {
        401: ConnectFailure.HANDSHAKE_UNAUTHORIZED,
        403: ConnectFailure.FORBIDDEN,
        429: ConnectFailure.HANDSHAKE_RATE_LIMITED,
        451: ConnectFailure.GEO_BLOCKED,
    }.get(status)
    if failure is None:
        failure = ConnectFailure.NOT_WEBSOCKET if status < 300 else ConnectFailure.HANDSHAKE_REJECTED
    return ConnectError(failure, f"HTTP {status} on upgrade", status)


def _detail(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")[:_DETAIL_CHARS]


def _open(url: str, headers: list[str], options: TransportOptions, guard: _Guard) -> Connection:
    if guard.cancelled:
        raise ConnectError(ConnectFailure.CANCELLED, "cancelled")
    timeout = options.connect_timeout_s
    deadline = time.monotonic() + timeout
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
    ws.settimeout(timeout)
    # DNS, TCP, an HTTP proxy's CONNECT tunnel and TLS, exactly as WebSocket.connect would do them,
    # but here, so that the upgrade can run over the bounding _UpgradeSocket.
    try:
        sock, _addrs = ws_http.connect(url, ws.sock_opt, ws_http.proxy_info(), None)
    except (OSError, websocket.WebSocketException, ValueError) as exc:
        raise ConnectError(_classify(exc), _detail(exc)) from None
    guard.adopt(sock)
    upgrade = _UpgradeSocket(sock, deadline, guard)
    try:
        # redirect_limit=0: websocket-client would otherwise follow a 3xx to any host, over plain
        # ws:// too, re-sending every header (the key included).
        ws.connect(
            url, header=headers, timeout=timeout, suppress_origin=True, redirect_limit=0, socket=upgrade
        )
    except (OSError, websocket.WebSocketException, ValueError, _StopUpgrade) as exc:
        upgrade.close()
        if guard.cancelled:
            raise ConnectError(ConnectFailure.CANCELLED, "cancelled") from None
        answered = _answer_error(upgrade, exc)
        if answered is not None:
            raise answered from None
        raise ConnectError(_classify(exc), _detail(exc)) from None
    except BaseException:
        upgrade.close()
        raise
    status = _status(upgrade.status_line or b"")
    if status != 101:  # websocket-client < 1.9 returned from a 3xx it did not follow
        upgrade.close()
        answered = _answer_error(upgrade, websocket.WebSocketException("not upgraded"))
        raise answered or ConnectError(ConnectFailure.NOT_WEBSOCKET, "no upgrade")
    ws.sock = sock
    try:
        guard.hand_over()
    except ConnectError:
        sock.close()
        raise
    sock.settimeout(10.0)  # select() gates reads; this only bounds a stuck TLS record or send
    return Connection(ws, options.max_message_bytes, options.fail_message_bytes)


def open_connection(url: str, headers: list[str], options: TransportOptions) -> Connection:
    """Open a WebSocket to ``url`` (blocking; bounded by ``options.connect_timeout_s`` per step of
    the socket set-up, and as a whole for the upgrade). Never follows a redirect.

    The API key belongs in ``headers`` (``authorization: Apikey KEY``), never in ``url``.

    Raises:
        ConnectError: with a classified failure; its text is redacted.
    """
    return _open(url, headers, options, _Guard())


class ConnectAttempt:
    """:func:`open_connection` on a daemon thread of its own, so that the waiting thread can give up.

    DNS, the TCP connect and the TLS handshake cannot be interrupted from another thread; a
    thread blocked in them cannot stop either. So the attempt runs here, and the caller waits
    on ``done`` (and on whatever else it must react to, e.g. its own stop event)::

        attempt = ConnectAttempt.start(url, headers, options)
        # ... wait until attempt.done or a stop is requested ...
        if stopping:
            attempt.cancel()
        else:
            conn = attempt.result()

    Attributes:
        done: set when the attempt has finished (``result()`` will not block) or was cancelled.
        settled: set when the attempt's thread has ended; by then every socket it opened is
            closed or belongs to the returned Connection.
    """

    def __init__(self, url: str, headers: list[str], options: TransportOptions) -> None:
        """Prepare an attempt; :meth:`start` (or :meth:`run` on a thread of one's own) runs it."""
        self.done = threading.Event()
        self.settled = threading.Event()
        self._url = url
        self._headers = headers
        self._options = options
        self._guard = _Guard()
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._error: ConnectError | None = None

    def __repr__(self) -> str:  # the headers carry the key: never show them
        return f"<ConnectAttempt {redact(self._url)} done={self.done.is_set()}>"

    @classmethod
    def start(cls, url: str, headers: list[str], options: TransportOptions) -> ConnectAttempt:
        """Start connecting on a new daemon thread (daemon: a thread stuck in DNS must not hold
        up the process's exit; it owns nothing that needs an orderly end)."""
        attempt = cls(url, headers, options)
        threading.Thread(target=attempt.run, name="ccdesk-connect", daemon=True).start()
        return attempt

    @property
    def cancelled(self) -> bool:
        return self._guard.cancelled

    def run(self) -> None:
        """Connect (blocking); the outcome goes to :meth:`result`. Called by :meth:`start`."""
        conn: Connection | None = None
        error: ConnectError | None = None
        try:
            conn = _open(self._url, self._headers, self._options, self._guard)
        except ConnectError as exc:
            error = exc
        except Exception as exc:  # a bug; the waiter must still learn that the attempt ended
            log.exception("connect attempt failed unexpectedly")
            error = ConnectError(ConnectFailure.NETWORK, _detail(exc))
        try:
            with self._lock:
                if not self._guard.cancelled:
                    self._conn, self._error, conn = conn, error, None
            if conn is not None:  # cancelled while the upgrade completed: nobody will use it
                conn.close()
        finally:
            self.done.set()
            self.settled.set()

    def result(self) -> Connection:
        """The connection, once ``done`` is set. Cancelling later closes it.

        Raises:
            ConnectError: the attempt failed, or was cancelled (``ConnectFailure.CANCELLED``).
            RuntimeError: the attempt has not finished.
        """
        with self._lock:
            if self._guard.cancelled:
                raise ConnectError(ConnectFailure.CANCELLED, "cancelled")
            if self._error is not None:
                raise self._error
            if self._conn is not None:
                return self._conn
        raise RuntimeError("the connect attempt has not finished")

    def cancel(self) -> None:
        """Give up on the attempt. Any thread, idempotent; returns at once (closing a connection
        that was already made may take up to 0.2 s if its send buffer is full).

        ``done`` is set at once. A socket the attempt holds is shut down now; one it opens later
        is closed as soon as it exists, before the upgrade request (with the key) is sent on it;
        a connection already made is closed. So no socket outlives its attempt unused: the
        venues allow one socket per key.
        """
        with self._lock:
            self._guard.cancel()
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self.done.set()
