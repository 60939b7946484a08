"""A byte-level WebSocket server for tests: it does exactly what a test tells it to, including
everything a real server must never do.

The simulator (``ccdesk.sim``) is a well-behaved server built on ``websockets``; it cannot send a
masked frame, an absurd length or half a header. This one is a plain ``socket`` server on
127.0.0.1 (an ephemeral port), one thread per connection, and a test scripts each connection
with a *handler*::

    def handler(peer: Peer) -> None:
        peer.accept()                                   # reads the request, answers 101
        peer.send(frame(b'{"TYPE":"20"}'))              # any bytes: frames or garbage
        peer.send(frame(b"x", opcode=OP_TEXT, rsv=0x4))  # RSV1 without an extension
        peer.trickle(frame(b"slow"), delay_s=0.001)     # one byte per write

    with HostileServer(handler) as server:
        conn = open_connection(server.url(), headers, options)
        ...
        peer = server.wait_peer()
        assert peer.wait_close().close_code == 1002      # what the client sent back
        assert peer.request().header("authorization") == "Apikey ..."

A handler may also answer the upgrade with anything (``peer.reply(403, body=b"...")``), say
nothing at all (an empty handler, or none: the connection is held open and silent), or close
(``peer.close()``, ``peer.reset()``). With no handler the server accepts TCP and stays silent.

What the server saw is recorded per connection (:class:`Peer`): every byte received, the parsed
upgrade request, every frame the client sent (unmasked), and whether the client closed (EOF).
Pings from the client are answered unless ``answer_pings=False``. Waits are bounded and wake on
the event itself (a condition variable), never on a poll interval.

A handler's exception fails the test at :meth:`HostileServer.close` (unless it is the client going
away: a reset or a broken pipe).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_WAIT_S = 5.0


def frame(
    payload: bytes = b"",
    opcode: int = OP_TEXT,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
    length_bytes: int | None = None,
) -> bytes:
    """One RFC 6455 frame, as a server would send it, or broken on purpose.

    Args:
        payload: the payload (sent as given; masked with ``mask`` if one is set).
        opcode: 0x0-0xF, unknown ones included.
        fin: the FIN bit.
        rsv: RSV bits as they sit in the first byte (0x40, 0x20, 0x10, or a combination).
        mask: a 4-byte masking key: sets the MASK bit (a server must never do this).
        length: the length to declare, if not ``len(payload)`` (absurd lengths, lies).
        length_bytes: force the length encoding: 0 (7-bit), 2 (16-bit) or 8 (64-bit); by default
            the shortest that fits.
    """
    n = len(payload) if length is None else length
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n < 65536 else 8
    b0 = (0x80 if fin else 0) | (rsv & 0x70) | (opcode & 0x0F)
    mask_bit = 0x80 if mask is not None else 0
    if length_bytes == 0:
        head = bytes([b0, mask_bit | n])
    elif length_bytes == 2:
        head = bytes([b0, mask_bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mask_bit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        head += mask
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + payload


def close_frame(code: int | None = 1000, reason: bytes = b"") -> bytes:
    """A close frame with ``code`` and ``reason`` (``code=None``: an empty body)."""
    return frame(b"" if code is None else struct.pack("!H", code) + reason, OP_CLOSE)


def accept_key(client_key: str) -> str:
    """``Sec-WebSocket-Accept`` for a request's ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(client_key.encode() + _GUID).digest()).decode()


@dataclass(frozen=True)
class Request:
    """The client's HTTP upgrade request, as received."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]  # in order, names as sent
    raw: bytes

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class ClientFrame:
    """A frame the client sent, unmasked."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes

    @property
    def close_code(self) -> int | None:
        """For a close frame: its status code (None when the body is empty)."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:]


@dataclass
class _Seen:
    raw: bytearray = field(default_factory=bytearray)
    request: Request | None = None
    frames: list[ClientFrame] = field(default_factory=list)
    eof: bool = False
    frames_from: int = -1  # where frames start in raw (after the request head)


class Peer:
    """One accepted connection: what the client sent, and the means to answer it anything."""

    def __init__(self, sock: socket.socket, answer_pings: bool) -> None:
        self.sock = sock
        self.answer_pings = answer_pings
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._seen = _Seen()
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="hostile-peer-reader", daemon=True)

    # -- what the client sent --------------------------------------------------------------

    @property
    def received(self) -> bytes:
        """Every byte received so far."""
        with self._cond:
            return bytes(self._seen.raw)

    @property
    def frames(self) -> list[ClientFrame]:
        """Every frame received so far, in order."""
        with self._cond:
            return list(self._seen.frames)

    @property
    def eof(self) -> bool:
        """The client closed its side (or the connection broke)."""
        with self._cond:
            return self._seen.eof

    def request(self, timeout_s: float = _WAIT_S) -> Request:
        """The upgrade request, waiting for it.

        Raises:
            TimeoutError: no complete request in time. ConnectionAbortedError: EOF first.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._seen.request is not None or self._seen.eof, timeout_s)
            if self._seen.request is not None:
                return self._seen.request
            if self._seen.eof:
                raise ConnectionAbortedError("the client closed before a complete request")
        raise TimeoutError("no upgrade request")

    def wait_frame(
        self, predicate: Callable[[ClientFrame], bool] = lambda f: True, timeout_s: float = _WAIT_S
    ) -> ClientFrame:
        """The first received frame matching ``predicate``, waiting for it.

        Raises:
            TimeoutError: none arrived in time (or the client closed without sending one).
        """

        def found() -> ClientFrame | None:
            return next((f for f in self._seen.frames if predicate(f)), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None or self._seen.eof, timeout_s)
            hit = found()
        if hit is None:
            raise TimeoutError("no such frame from the client")
        return hit

    def wait_close(self, timeout_s: float = _WAIT_S) -> ClientFrame:
        """The client's close frame (its code is ``.close_code``)."""
        return self.wait_frame(lambda f: f.opcode == OP_CLOSE, timeout_s)

    def wait_eof(self, timeout_s: float = _WAIT_S) -> bool:
        """True once the client has closed its side; False if it had not within ``timeout_s``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._seen.eof, timeout_s)

    # -- answering ---------------------------------------------------------------------------

    def accept(self, headers: Iterable[tuple[str, str]] = (), accept: str | None = None) -> Request:
        """Wait for the request and answer ``101 Switching Protocols``.

        Args:
            headers: extra answer headers.
            accept: the ``Sec-WebSocket-Accept`` to send instead of the right one.
        """
        req = self.request()
        key = req.header("sec-websocket-key") or ""
        self.reply(
            101,
            "Switching Protocols",
            [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", accept_key(key) if accept is None else accept),
                *headers,
            ],
        )
        return req

    def reply(
        self,
        status: int,
        reason: str = "",
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        content_length: bool = True,
    ) -> None:
        """Send an HTTP answer: status line, headers, a blank line and ``body``.

        ``Content-Length`` is added for a non-empty body unless given in ``headers`` or
        ``content_length=False`` (a lying or absent length is then up to the test).
        """
        names = {k.lower() for k, _ in headers}
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if body and content_length and "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def send(self, data: bytes) -> None:
        """Send raw bytes (frames, garbage, anything)."""
        with self._send_lock:
            self.sock.sendall(data)

    def trickle(self, data: bytes, delay_s: float = 0.001) -> None:
        """Send ``data`` one byte per write, ``delay_s`` apart (pacing, so that the client's
        reads see partial headers and payloads). Holds the send lock: a pong never lands in the
        middle of a trickled frame."""
        with self._send_lock:
            for i in range(len(data)):
                self.sock.sendall(data[i : i + 1])
                if delay_s:
                    time.sleep(delay_s)

    def close(self) -> None:
        """Close the connection (a FIN; no close frame unless the test sent one)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (the socket is unusable afterwards)."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # SHUT_RD wakes the reader thread (a close() alone would not) and sends nothing;
            # close() with a zero linger then sends the RST.
            self.sock.shutdown(socket.SHUT_RD)
            self.sock.close()

    # -- the reader thread --------------------------------------------------------------------

    def _start(self) -> None:
        self._reader.start()

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                self._absorb(data)
        finally:
            with self._cond:
                self._seen.eof = True
                self._cond.notify_all()

    def _absorb(self, data: bytes) -> None:
        new: list[ClientFrame] = []
        with self._cond:
            seen = self._seen
            seen.raw += data
            if seen.request is None:
                end = seen.raw.find(b"\r\n\r\n")
                if end >= 0:
                    seen.request = _parse_request(bytes(seen.raw[: end + 4]))
                    seen.frames_from = end + 4
            while seen.request is not None:
                parsed = _parse_frame(seen.raw, seen.frames_from)
                if parsed is None:
                    break
                f, seen.frames_from = parsed
                new.append(f)
            self._cond.notify_all()
        # Pongs go out before the frames are published: a handler that waits for the client's
        # ping and then sends something knows that the pong went first.
        for f in new:
            if f.opcode == OP_PING and self.answer_pings:
                with contextlib.suppress(OSError):
                    self.send(frame(f.payload, OP_PONG))
        if new:
            with self._cond:
                self._seen.frames.extend(new)
                self._cond.notify_all()

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._reader.join(_WAIT_S)
        self.sock.close()


_REASONS = {
    101: "Switching Protocols",
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _parse_request(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rpartition(" ")[0]
    headers = []
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers.append((key.strip(), value.strip()))
    return Request(method, target, tuple(headers), head)


def _parse_frame(buf: bytearray, pos: int) -> tuple[ClientFrame, int] | None:
    """One client frame at ``pos`` of ``buf``, and the position after it; None if incomplete."""
    if len(buf) - pos < 2:
        return None
    b0, b1 = buf[pos], buf[pos + 1]
    n = b1 & 0x7F
    i = pos + 2
    if n == 126:
        if len(buf) - i < 2:
            return None
        n = struct.unpack_from("!H", buf, i)[0]
        i += 2
    elif n == 127:
        if len(buf) - i < 8:
            return None
        n = struct.unpack_from("!Q", buf, i)[0]
        i += 8
    masked = bool(b1 & 0x80)
    key = b""
    if masked:
        if len(buf) - i < 4:
            return None
        key = bytes(buf[i : i + 4])
        i += 4
    if len(buf) - i < n:
        return None
    payload = bytes(buf[i : i + n])
    if masked:
        payload = bytes(b ^ key[j & 3] for j, b in enumerate(payload))
    return ClientFrame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, masked, payload), i + n


Handler = Callable[[Peer], None]


class HostileServer:
    """A scripted WebSocket (or not) server on 127.0.0.1; see the module docstring.

    Args:
        handler: run on its own thread for each accepted connection; None: accept and stay silent.
            May be replaced (``server.handler = ...``) before the next connection.
        answer_pings: answer the client's pings with pongs.
    """

    def __init__(self, handler: Handler | None = None, *, answer_pings: bool = True) -> None:
        self.handler = handler
        self.answer_pings = answer_pings
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._cond = threading.Condition()
        self._peers: list[Peer] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._closing = False
        self._acceptor = threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True)
        self._acceptor.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str = "/v2", scheme: str = "ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def peers(self) -> list[Peer]:
        """Every connection accepted so far, in order."""
        with self._cond:
            return list(self._peers)

    def wait_peer(self, index: int = 0, timeout_s: float = _WAIT_S) -> Peer:
        """The ``index``-th accepted connection, waiting for it.

        Raises:
            TimeoutError: fewer connections in time.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._peers) > index, timeout_s):
                raise TimeoutError(f"connection {index} never came")
            return self._peers[index]

    def close(self) -> None:
        """Stop accepting, drop every connection, wait for the threads; then raise the first
        handler error (the client going away does not count)."""
        with self._cond:
            self._closing = True
        self._wake_w.send(b"x")
        self._acceptor.join(_WAIT_S)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        for peer in self.peers:
            peer._shutdown()
        for t in self._threads:
            t.join(_WAIT_S)
        real = [e for e in self._errors if not isinstance(e, ConnectionError)]
        if real:
            raise AssertionError(f"a hostile handler failed: {real[0]!r}") from real[0]

    def _accept_loop(self) -> None:
        while True:
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                sock, _addr = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = Peer(sock, self.answer_pings)
            with self._cond:
                if self._closing:
                    sock.close()
                    return
                self._peers.append(peer)
                handler = self.handler
                worker = None
                if handler is not None:
                    worker = threading.Thread(
                        target=self._run_handler, args=(handler, peer), name="hostile-handler", daemon=True
                    )
                    self._threads.append(worker)
                self._cond.notify_all()
            peer._start()
            if worker is not None:
                worker.start()

    def _run_handler(self, handler: Handler, peer: Peer) -> None:
        try:
            handler(peer)
        except BaseException as exc:
            with self._cond:
                if not self._closing:  # a handler cut short by close() is not a failure
                    self._errors.append(exc)
