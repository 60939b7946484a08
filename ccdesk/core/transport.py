"""One WebSocket connection: connect (websocket-client), send, and a fast buffered frame reader.

websocket-client does the handshake, TLS, proxies and every send (masking, locking). Its
receive path costs three ``recv`` syscalls and a pure-Python frame object per message; at
the rates a busy watchlist (or a firehose) produces that path alone caps ingestion near
13k frames/s. So reading is done here: one large ``recv`` fills a buffer and every complete
RFC 6455 frame in it is cut out at once. Control frames are answered here (ping -> pong,
close -> close). Oversized messages are skipped without being buffered.

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
from dataclasses import dataclass
from typing import Final

import websocket

from ccdesk.core.redaction import redact

log = logging.getLogger(__name__)

_RECV_BYTES: Final = 256 * 1024
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class ConnectFailure(enum.Enum):
    """Why a connection could not be opened."""

    REFUSED = "refused"
    DNS = "dns"
    TIMEOUT = "timeout"
    TLS = "tls"
    HANDSHAKE_UNAUTHORIZED = "handshake_unauthorized"
    HANDSHAKE_RATE_LIMITED = "handshake_rate_limited"
    HANDSHAKE_REJECTED = "handshake_rejected"
    NETWORK = "network"


class ConnectError(Exception):
    """Opening the connection failed; ``failure`` says how, ``detail`` is redacted text for logs."""

    def __init__(self, failure: ConnectFailure, detail: str, http_status: int | None = None) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure
        self.detail = detail
        self.http_status = http_status


class Closed(Exception):
    """The connection ended: a close frame, EOF, a reset, or a protocol violation."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason if code is None else f"{reason} (code {code})")
        self.reason = reason
        self.code = code


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
    """Connection tuning."""

    connect_timeout_s: float = 10.0
    max_message_bytes: int = 64 * 1024


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
    """A connected WebSocket. Create with :func:`open_connection`."""

    def __init__(self, ws: websocket.WebSocket, max_message_bytes: int) -> None:
        self._ws = ws
        sock = ws.sock
        assert sock is not None
        self._sock: socket.socket = sock
        self._ssl = isinstance(sock, ssl.SSLSocket)
        self._max = max_message_bytes
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized frame still to discard
        self._frag: list[bytes] | None = None  # fragments of a message in progress
        self._frag_len = 0
        self._frag_op = OP_TEXT
        self._frag_oversized = False
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
            raise Closed(f"send failed: {type(exc).__name__}") from None

    def ping(self) -> None:
        """Send a WebSocket ping."""
        try:
            self._ws.ping()
        except (OSError, websocket.WebSocketException) as exc:
            raise Closed(f"ping failed: {type(exc).__name__}") from None

    def close(self) -> None:
        """Send a close frame (best effort, non-blocking) and close the socket. Idempotent,
        any thread; wakes a reader blocked in :meth:`read`."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._sock.settimeout(0.2)
            self._ws.send_close()
        except Exception:
            log.debug("close frame not sent")
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._ws.shutdown()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- receiving (owner thread) ----------------------------------------------------------

    def read(self, timeout_s: float) -> list[Message]:
        """Wait up to ``timeout_s`` for data; return every complete message received.

        Returns an empty list on timeout. Raises Closed when the connection ends; messages
        that arrived before the end (e.g. a 401 frame right before the close frame) are
        returned first.
        """
        if self._pending is not None:
            pending, self._pending = self._pending, None
            raise pending
        if self._closed:
            raise Closed("closed locally")
        sock = self._sock
        if not (self._ssl and sock.pending()):  # type: ignore[attr-defined]
            try:
                ready, _, _ = select.select((sock,), (), (), max(0.0, timeout_s))
            except (OSError, ValueError):
                raise Closed("socket closed") from None
            if not ready:
                return []
        try:
            chunk = sock.recv(_RECV_BYTES)
        except ssl.SSLWantReadError:
            return []
        except (OSError, ValueError) as exc:
            if self._closed:
                raise Closed("closed locally") from None
            raise Closed(f"connection lost: {type(exc).__name__}") from None
        if not chunk:
            raise Closed("connection closed by peer without a close frame")
        self.bytes_received += len(chunk)
        out: list[Message] = []
        try:
            self._feed(chunk, out)
        except Closed as exc:
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
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            hdr = 2
            if n == 126:
                if end - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                hdr = 4
            elif n == 127:
                if end - pos < 10:
                    break
                n = struct.unpack_from("!Q", buf, pos + 2)[0]
                hdr = 10
            masked = b1 & 0x80
            if masked:
                hdr += 4
            if end - pos < hdr:
                break
            if b0 & 0x70:
                raise Closed("protocol error: reserved bits set")
            op = b0 & 0x0F
            if op >= 0x8 and n > 125:
                raise Closed("protocol error: control frame longer than 125 bytes")
            if n > self._max:
                # Too big to be a real streamer frame: discard its bytes as they arrive,
                # and the rest of its message if it is fragmented.
                have = end - pos - hdr
                if have >= n:
                    pos += hdr + n
                else:
                    self._skip = n - have
                    pos = end
                if op == OP_CONT:
                    self._frag = None
                self._frag_oversized = not (b0 & 0x80)
                out.append(Oversized(n))
                continue
            if end - pos < hdr + n:
                break
            payload = bytes(buf[pos + hdr : pos + hdr + n])
            if masked:  # servers must not mask; tolerate it rather than drop the connection
                key = buf[pos + hdr - 4 : pos + hdr]
                payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
            pos += hdr + n
            fin = b0 & 0x80
            if op >= 0x8:
                if op == OP_CLOSE:
                    del buf[:pos]
                self._control(op, payload, out)
            elif op == OP_CONT:
                self._continuation(payload, fin, out)
            elif not fin:
                self._frag, self._frag_len, self._frag_op, self._frag_oversized = [payload], n, op, False
            elif op == OP_TEXT:
                out.append(payload)
            elif op == OP_BINARY:
                out.append(Binary(n))
            else:
                del buf[:pos]
                raise Closed(f"protocol error: opcode {op}")
        del buf[:pos]

    def _continuation(self, payload: bytes, fin: int, out: list[Message]) -> None:
        if self._frag is None:
            if self._frag_oversized:  # tail of a message whose start was discarded
                self._frag_oversized = not fin
                return
            raise Closed("protocol error: continuation without a start")
        self._frag.append(payload)
        self._frag_len += len(payload)
        if self._frag_len > self._max:
            out.append(Oversized(self._frag_len))
            self._frag = None
            self._frag_oversized = not fin
            return
        if fin:
            data = b"".join(self._frag)
            out.append(data if self._frag_op == OP_TEXT else Binary(len(data)))
            self._frag = None

    def _control(self, op: int, payload: bytes, out: list[Message]) -> None:
        if op == OP_PING:
            try:
                self._ws.pong(payload)
            except (OSError, websocket.WebSocketException):
                raise Closed("pong failed") from None
        elif op == OP_PONG:
            self.pongs_received += 1
        elif op == OP_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.close()
            raise Closed("closed by server", code)
        else:
            raise Closed(f"protocol error: control opcode {op}")


def open_connection(url: str, headers: list[str], options: TransportOptions) -> Connection:
    """Open a WebSocket to ``url`` (blocking, bounded by ``options.connect_timeout_s``).

    The API key belongs in ``headers`` (``authorization: Apikey KEY``), never in ``url``.

    Raises:
        ConnectError: with a classified failure; its text is redacted.
    """
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
    try:
        ws.connect(url, header=headers, timeout=options.connect_timeout_s, suppress_origin=True)
    except websocket.WebSocketBadStatusException as exc:
        ws.shutdown()
        status = exc.status_code
        failure = (
            ConnectFailure.HANDSHAKE_UNAUTHORIZED
            if status in (401, 403)
            else ConnectFailure.HANDSHAKE_RATE_LIMITED
            if status == 429
            else ConnectFailure.HANDSHAKE_REJECTED
        )
        raise ConnectError(failure, f"HTTP {status} on upgrade", status) from None
    except (OSError, websocket.WebSocketException, ValueError) as exc:
        ws.shutdown()
        raise ConnectError(_classify(exc), redact(f"{type(exc).__name__}: {exc}")) from None
    assert ws.sock is not None
    ws.sock.settimeout(10.0)  # select() gates reads; this only bounds a stuck TLS record or send
    return Connection(ws, options.max_message_bytes)
