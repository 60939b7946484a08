"""The loopback CryptoCompare simulator: a real WebSocket ``/v2`` + HTTP ``/data/*`` server on one port,
run on its own event loop in a daemon thread, with hooks for tests to misbehave on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import itertools
import logging
import signal
import socket
import struct
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from ccdesk.core.redaction import redact
from ccdesk.core.subs import Channel, Sub, SubError, parse_sub
from ccdesk.sim.market import DEFAULT_SHARP_MOVE_PROB, Frame, Market, StreamView

_log = logging.getLogger(__name__)

STREAM_PATH = "/v2"
REST_PATHS = ("/data/price", "/data/pricemultifull")
SERVER_NAME = "ccdesk-sim"
# Limits on opening sockets that the real streamer reports in its welcome (free tier).
RATE_LIMITS = {"SECOND": (30, 1), "MINUTE": (60, 60), "HOUR": (1200, 3600), "DAY": (10_000, 86_400)}
RATE_LIMIT_MONTH = (20_000, 30 * 86_400)
FIREHOSE_CYCLE = 4096


def mask_key(key: str | None) -> str:
    """A form of ``key`` that is safe to log: its first two characters and its length at most."""
    if not key:
        return "<none>"
    if len(key) < 8:
        return "***"
    return f"{key[:2]}***({len(key)} chars)"


PACE_S = 0.02  # paced firehose: one write every 20 ms


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs request lines and headers at DEBUG; this keeps keys out of them."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            kwargs.pop("stacklevel", None)
            self.logger.log(level, "%s", redact(text), **kwargs)


@dataclass(frozen=True, slots=True)
class Handshake:
    """One HTTP request as the server saw it (WebSocket upgrade or REST call)."""

    conn_id: int
    path: str  # with the query string, exactly as sent
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True, slots=True)
class Received:
    """One message a client sent: ``text`` as received, ``message`` parsed (None if not JSON)."""

    conn_id: int
    text: str
    message: Any


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """An open, welcomed socket."""

    conn_id: int
    key: str
    path: str
    subs: tuple[str, ...]
    frozen: bool
    frames_sent: int


@dataclass(frozen=True, slots=True)
class FirehoseRun:
    """One finished firehose burst on one connection (times from the server's monotonic clock)."""

    conn_id: int
    frames: int
    bytes: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


@dataclass(eq=False)
class _Conn:
    conn_id: int
    ws: ServerConnection
    key: str
    path: str
    view: StreamView
    subs: dict[str, Sub] = field(default_factory=dict)
    rr: int = 0
    frozen: bool = False
    frames_sent: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    firehose: asyncio.Task[None] | None = None


def ws_text_frame(payload: bytes) -> bytes:
    """An unmasked RFC 6455 text frame (FIN set, no extensions): what a server sends."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65_536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def _json(frame: Frame) -> bytes:
    return orjson.dumps(frame)


class SimServer:
    """A CryptoCompare streamer v2 + min-api look-alike on 127.0.0.1.

    One port serves the WebSocket at ``/v2`` and ``GET /data/price`` and ``/data/pricemultifull``.
    It runs its own asyncio loop in a daemon thread; every public method is thread-safe and meant to
    be called from ordinary (test or CLI) code.

    Args:
        host: interface to listen on.
        port: 0 for an ephemeral port; kept across :meth:`restart`.
        keys: the only API keys accepted; None accepts any non-empty key.
        rate: update frames per second per connection, across its subscriptions (0 = none).
        seed: seeds the market model.
        heartbeat_s: interval of the TYPE 999 heartbeat frames.
        max_sockets_per_key: more concurrent sockets on one key get ``429 TOO_MANY_SOCKETS_MAX_N_PER_CLIENT``.
        sharp_move_prob: probability per second that a sharp 1.5-4 % move starts (see market.py).
        firehose: after a SubAdd, send update frames as fast as the socket takes them instead of at ``rate``.
        firehose_limit: with ``firehose``, stop after exactly this many frames per connection.
        firehose_rate: with ``firehose``, send this many frames per second (paced every 20 ms)
            instead of as fast as the socket takes them.
        ping_interval_s: interval of WebSocket pings to clients (the real streamer: 30 s).
        slow_pong_s: two pongs in a row slower than this get ``500 FORCE_DISCONNECT`` (real: 10 s).
        market_step_s: how often the market model moves on.
        wall: unix-seconds clock for LASTUPDATE/TIMEMS/SERVER_TIME_MS.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: Iterable[str] | None = None,
        rate: float = 5.0,
        seed: int = 0,
        heartbeat_s: float = 30.0,
        max_sockets_per_key: int = 1,
        sharp_move_prob: float = DEFAULT_SHARP_MOVE_PROB,
        firehose: bool = False,
        firehose_limit: int | None = None,
        firehose_rate: float | None = None,
        ping_interval_s: float = 30.0,
        slow_pong_s: float = 10.0,
        market_step_s: float = 0.1,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self._port = port
        self._keys = frozenset(keys) if keys is not None else None
        self._rate = float(rate)
        self._seed = seed
        self._heartbeat_s = heartbeat_s
        self._max_sockets = max_sockets_per_key
        self._firehose = firehose
        self._firehose_limit = firehose_limit
        self._firehose_rate = firehose_rate
        self._ping_interval_s = ping_interval_s
        self._slow_pong_s = slow_pong_s
        self._market_step_s = market_step_s
        self._wall = wall
        self._market = Market(seed, wall=wall, sharp_move_prob=sharp_move_prob)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._market_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._started_mono = time.monotonic()
        self._ids = itertools.count(1)
        self._pending_ids: weakref.WeakKeyDictionary[ServerConnection, int] = weakref.WeakKeyDictionary()
        # Shared with the caller's threads: guarded by _cond (an RLock-based Condition).
        self._cond = threading.Condition()
        self._conns: dict[int, _Conn] = {}
        self._handshakes: list[Handshake] = []
        self._received: list[Received] = []
        self._firehose_runs: list[FirehoseRun] = []
        self._welcomed_total = 0
        self._opened: dict[str, deque[float]] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> SimServer:
        """Start listening; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("SimServer already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, name="ccdesk-sim", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._astart(), loop).result(timeout=10)
        except BaseException:
            # E.g. the port is taken: leave no thread or loop behind.
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            self._thread = None
            raise
        _log.info("simulator listening on %s (rate %s/s, seed %s)", self.stream_url, self._rate, self._seed)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every connection and the listener, and end the thread (bounded by ``timeout_s``)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), loop).result(timeout=timeout_s)
        except Exception:
            _log.warning("simulator did not stop cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if thread.is_alive():
            _log.warning("simulator thread still running after %.1f s", timeout_s)
        else:
            self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def stream_url(self) -> str:
        """``ws://127.0.0.1:PORT/v2``."""
        return f"ws://{self.host}:{self._port}{STREAM_PATH}"

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/data/price?...``)."""
        return f"http://{self.host}:{self._port}"

    # --- test hooks (thread-safe) -----------------------------------------------------------

    @property
    def connections(self) -> tuple[ConnectionInfo, ...]:
        """The open, welcomed sockets."""
        with self._cond:
            return tuple(
                ConnectionInfo(c.conn_id, c.key, c.path, tuple(c.subs), c.frozen, c.frames_sent)
                for c in self._conns.values()
            )

    def active_sockets(self, key: str | None = None) -> int:
        """How many welcomed sockets are open (for ``key`` only, if given). Frozen ones count."""
        with self._cond:
            return sum(1 for c in self._conns.values() if key is None or c.key == key)

    @property
    def welcomed_total(self) -> int:
        """How many welcomes were sent since start (grows with every successful reconnect)."""
        with self._cond:
            return self._welcomed_total

    @property
    def handshakes(self) -> list[Handshake]:
        """Every HTTP request seen (upgrades and REST calls), oldest first."""
        with self._cond:
            return list(self._handshakes)

    @property
    def received(self) -> list[Received]:
        """Every message clients sent, oldest first."""
        with self._cond:
            return list(self._received)

    @property
    def firehose_runs(self) -> list[FirehoseRun]:
        """Finished firehose bursts (only with ``firehose_limit``, or ended by SubRemove/close)."""
        with self._cond:
            return list(self._firehose_runs)

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Block until ``predicate()`` is true (re-checked on every connect, disconnect, message,
        handshake or subscription change); returns its last value."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout_s)

    def set_rate(self, rate: float) -> None:
        """Change the update rate (frames per second per connection) at once."""
        self._rate = float(rate)

    def send_raw(self, data: str | bytes) -> None:
        """Send ``data`` as one message to every open socket: ``str`` as a text frame, ``bytes`` as a
        binary frame. For hostile input: non-JSON text, binary frames, huge frames."""
        self._call(self._abroadcast(data))

    def send_frame(self, frame: Frame) -> None:
        """Send a JSON object as a text frame to every open socket."""
        self._call(self._abroadcast(_json(frame).decode()))

    def drop_all(self, reset: bool = False) -> None:
        """Abort every TCP connection at once: no close frame, no closing handshake
        (``transport.abort()``). With ``reset``, send a TCP RST instead of a FIN."""
        self._call(self._adrop_all(reset))

    def freeze(self, frozen: bool = True) -> None:
        """Half-open simulation on the sockets open now: while frozen, send nothing (no frames,
        heartbeats or pings) and read nothing (so client pings get no pong), but keep the TCP
        connection. ``freeze(False)`` resumes them. New connections are not frozen, and frozen
        sockets do not count toward ``max_sockets_per_key`` (so a client that gave up on one can
        reconnect)."""
        self._call(self._afreeze(frozen))

    def force_disconnect(self) -> None:
        """Send ``{"TYPE":"500","MESSAGE":"FORCE_DISCONNECT"}`` to every socket, then close it."""
        self._call(self._aforce_disconnect())

    def restart(self, down_s: float = 0.3) -> None:
        """Close every connection and the listener, refuse connections for ``down_s`` seconds, then
        listen again on the same port. Returns once listening again."""
        self._call(self._arestart(down_s), timeout_s=10 + down_s)

    # --- loop plumbing ------------------------------------------------------------------------

    def _run_loop(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _call(self, coro: Any, timeout_s: float = 10.0) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed() or self._thread is None:
            coro.close()
            raise RuntimeError("SimServer is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=timeout_s)

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    async def _astart(self) -> None:
        await self._listen()
        self._market_task = asyncio.get_running_loop().create_task(self._market_loop())

    async def _listen(self) -> None:
        self._server = await serve(
            self._handler,
            self.host,
            self._port,
            process_request=self._process_request,
            compression=None,
            # Our own keepalive (below) emulates the real streamer's slow-pong rule and can be frozen.
            ping_interval=None,
            # RECIPES: a short close timeout, or websocket-client holds sockets after a server close.
            close_timeout=1,
            max_size=2**20,
            logger=_RedactingLogger(logging.getLogger(__name__ + ".ws"), {}),
        )
        sock = self._server.sockets[0]
        self._port = sock.getsockname()[1]

    async def _close_listener(self) -> None:
        server = self._server
        if server is None:
            return
        # A frozen socket does not read, so it would never answer the close frame: abort it.
        for c in list(self._conns.values()):
            if c.frozen:
                c.ws.transport.abort()
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), timeout=5)
        except TimeoutError:
            _log.warning("connections did not close in time; aborting them")
            for c in list(self._conns.values()):
                c.ws.transport.abort()
        self._server = None

    async def _astop(self) -> None:
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._market_task
            self._market_task = None
        await self._close_listener()

    async def _arestart(self, down_s: float) -> None:
        await self._close_listener()
        _log.info("simulator down for %.2f s (restart)", down_s)
        await asyncio.sleep(down_s)
        await self._listen()
        _log.info("simulator listening again on port %d", self._port)

    async def _abroadcast(self, data: str | bytes) -> None:
        for c in list(self._conns.values()):
            if c.frozen:
                continue
            with contextlib.suppress(ConnectionClosed):
                await c.ws.send(data)
                c.frames_sent += 1

    async def _adrop_all(self, reset: bool) -> None:
        for c in list(self._conns.values()):
            if reset:
                sock = c.ws.transport.get_extra_info("socket")
                if sock is not None:
                    # SO_LINGER on, timeout 0: close() sends RST.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.ws.transport.abort()
        _log.info("dropped every connection without a close frame")

    async def _afreeze(self, frozen: bool) -> None:
        with self._cond:
            conns = list(self._conns.values())
            for c in conns:
                if c.frozen == frozen:
                    continue
                c.frozen = frozen
                if frozen:
                    c.ws.transport.pause_reading()
                else:
                    c.ws.transport.resume_reading()
            self._cond.notify_all()
        _log.info("%s %d connection(s)", "froze" if frozen else "unfroze", len(conns))

    async def _aforce_disconnect(self) -> None:
        loop = asyncio.get_running_loop()
        for c in list(self._conns.values()):
            if c.frozen:
                c.frozen = False
                c.ws.transport.resume_reading()
            with contextlib.suppress(ConnectionClosed):
                await self._send(c, {"TYPE": "500", "MESSAGE": "FORCE_DISCONNECT"})
            # Don't wait for the closing handshake: the caller's client may only answer it later.
            task = loop.create_task(c.ws.close())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # --- HTTP -----------------------------------------------------------------------------------

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        conn_id = next(self._ids)
        with self._cond:
            self._handshakes.append(Handshake(conn_id, request.path, tuple(request.headers.raw_items())))
            self._cond.notify_all()
        url = urlsplit(request.path)
        if url.path.rstrip("/") == STREAM_PATH:
            self._pending_ids[ws] = conn_id
            return None  # go on with the WebSocket handshake
        if url.path.rstrip("/") not in REST_PATHS:
            return _json_response(
                404, {"Response": "Error", "Message": "Path does not exist", "Type": 1, "Data": {}}
            )
        key = _request_key(request)
        if not self._key_ok(key):
            _log.info("REST %s refused: bad key %s", url.path, mask_key(key))
            return _json_response(
                401,
                {
                    "Data": {},
                    "Err": {
                        "type": 2,
                        "message": "API key required, please refer to the documentation at "
                        "https://developers.coindesk.com/",
                        "http_status_code": 401,
                    },
                },
            )
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        tsyms = query.get("tsyms", "").split(",")
        if url.path.rstrip("/") == "/data/price":
            body = self._market.rest_price(query.get("fsym", ""), tsyms)
        else:
            body = self._market.rest_pricemultifull(query.get("fsyms", "").split(","), tsyms)
        return _json_response(200, body)

    def _key_ok(self, key: str | None) -> bool:
        if not key:
            return False
        return self._keys is None or key in self._keys

    # --- WebSocket --------------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        conn_id = self._pending_ids.pop(ws, None) or next(self._ids)
        request = ws.request
        assert request is not None
        key = _request_key(request)
        if not self._key_ok(key):
            _log.info("socket %d refused: bad key %s", conn_id, mask_key(key))
            with contextlib.suppress(ConnectionClosed):
                await ws.send(
                    _json(
                        {
                            "TYPE": "401",
                            "MESSAGE": "UNAUTHORIZED",
                            "PARAMETER": "api_key",
                            "INFO": "We only support JSON format with a valid api_key.",
                        }
                    ),
                    text=True,
                )
                await ws.close()
            return
        assert key is not None
        with self._cond:
            in_use = sum(1 for c in self._conns.values() if c.key == key and not c.frozen)
            if in_use < self._max_sockets:
                c = _Conn(conn_id, ws, key, request.path, StreamView(self._market))
                self._conns[conn_id] = c
                self._welcomed_total += 1
                opened = self._opened.setdefault(key, deque())
                opened.append(time.monotonic())
            self._cond.notify_all()
        if in_use >= self._max_sockets:
            _log.info("socket %d refused: key %s already has %d socket(s)", conn_id, mask_key(key), in_use)
            with contextlib.suppress(ConnectionClosed):
                await ws.send(
                    _json(
                        {
                            "TYPE": "429",
                            "MESSAGE": f"TOO_MANY_SOCKETS_MAX_{self._max_sockets}_PER_CLIENT",
                            "INFO": "You have reached your maximum sockets open for your subscription",
                        }
                    ),
                    text=True,
                )
                await ws.close()
            return
        _log.info("socket %d open (key %s)", conn_id, mask_key(key))
        loop = asyncio.get_running_loop()
        try:
            await self._send(c, self._welcome(c))
            c.tasks = [
                loop.create_task(self._stream(c)),
                loop.create_task(self._heartbeat(c)),
                loop.create_task(self._keepalive(c)),
            ]
            async for message in ws:
                await self._on_message(c, message)
        except ConnectionClosed:
            pass
        finally:
            for task in [*c.tasks, c.firehose]:
                if task is not None:
                    task.cancel()
            with self._cond:
                self._conns.pop(conn_id, None)
                self._cond.notify_all()
            _log.info("socket %d closed (%s)", conn_id, ws.close_code)

    def _welcome(self, c: _Conn) -> Frame:
        now = time.monotonic()
        with self._cond:
            active = sum(1 for x in self._conns.values() if x.key == c.key)
            opened = self._opened[c.key]
            while opened and now - opened[0] > RATE_LIMIT_MONTH[1]:
                opened.popleft()
            times = list(opened)
        frame: Frame = {
            "TYPE": "20",
            "MESSAGE": "STREAMERWELCOME",
            "SERVER_UPTIME_SECONDS": int(now - self._started_mono),
            "SERVER_NAME": SERVER_NAME,
            "SERVER_TIME_MS": int(self._wall() * 1000),
            "CLIENT_ID": c.conn_id,
            "DATA_FORMAT": "JSON",
            "SOCKET_ID": f"sim-{c.conn_id}",
            "SOCKETS_ACTIVE": active,
            "SOCKETS_REMAINING": max(0, self._max_sockets - active),
        }
        windows = {**RATE_LIMITS, "MONTH": RATE_LIMIT_MONTH}
        for name, (limit, _) in windows.items():
            frame[f"RATELIMIT_MAX_{name}"] = limit
        for name, (limit, span) in windows.items():
            used = sum(1 for t in times if now - t <= span)
            frame[f"RATELIMIT_REMAINING_{name}"] = max(0, limit - used)
        return frame

    async def _send(self, c: _Conn, frame: Frame) -> None:
        await c.ws.send(_json(frame), text=True)
        c.frames_sent += 1

    async def _on_message(self, c: _Conn, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        try:
            parsed: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        with self._cond:
            self._received.append(Received(c.conn_id, text, parsed))
            self._cond.notify_all()
        if c.frozen:
            # Half-open: the message would never have arrived. (Reading was paused; this one was
            # already buffered.) Re-pause in case websockets' flow control resumed reading.
            c.ws.transport.pause_reading()
            return
        if parsed is None:
            await self._send(c, _error("INVALID_JSON", "", "We only accept JSON messages."))
            return
        action = parsed.get("action") if isinstance(parsed, dict) else None
        if action not in ("SubAdd", "SubRemove"):
            await self._send(
                c, _error("INVALID_PARAMETER", "action", "The action must be SubAdd or SubRemove.")
            )
            return
        subs = parsed.get("subs")
        if not isinstance(subs, list):
            await self._send(c, _error("INVALID_PARAMETER", "subs", "subs must be a list of strings."))
            return
        if action == "SubAdd":
            await self._sub_add(c, subs)
        else:
            await self._sub_remove(c, subs)

    def _lookup(self, text: Any) -> Sub | None:
        if not isinstance(text, str) or "~" not in text:
            return None
        try:
            sub = parse_sub(text)
        except SubError:
            return None
        # The real streamer takes subscriptions verbatim: no case folding, no shorthand.
        if str(sub) != text or not self._market.has(sub):
            return None
        return sub

    async def _sub_add(self, c: _Conn, subs: list[Any]) -> None:
        for text in subs:
            sub = self._lookup(text)
            if sub is None:
                await self._send(
                    c,
                    _error(
                        "INVALID_SUB",
                        str(text),
                        "We have not integrated any of the exchanges this pair trades on "
                        "or we have not currently mapped it.",
                    ),
                )
                continue
            if text in c.subs:
                await self._send(
                    c, _error("SUBSCRIPTION_ALREADY_ACTIVE", text, "You are already subscribed to this.")
                )
                continue
            if sub.channel is Channel.TRADE:
                for trade in c.view.replay(sub):
                    await self._send(c, trade)
            else:
                await self._send(c, c.view.snapshot(sub))
            await self._send(c, {"TYPE": "16", "MESSAGE": "SUBSCRIBECOMPLETE", "SUB": text})
            with self._cond:
                c.subs[text] = sub  # only now: no partial frame may precede the 16
                self._cond.notify_all()
        await self._send(
            c, {"TYPE": "3", "MESSAGE": "LOADCOMPLETE", "INFO": "All your valid subs have been loaded."}
        )
        if self._firehose and c.subs and (c.firehose is None or c.firehose.done()):
            c.firehose = asyncio.get_running_loop().create_task(self._firehose_loop(c))

    async def _sub_remove(self, c: _Conn, subs: list[Any]) -> None:
        valid = invalid = 0
        for text in subs:
            if isinstance(text, str) and text in c.subs:
                with self._cond:
                    sub = c.subs.pop(text)
                    self._cond.notify_all()
                c.view.forget(sub)
                valid += 1
                await self._send(c, {"TYPE": "17", "MESSAGE": "UNSUBSCRIBECOMPLETE", "SUB": text})
            else:
                invalid += 1
                await self._send(
                    c, _error("SUBSCRIPTION_UNRECOGNIZED", str(text), "You are not subscribed to this.")
                )
        await self._send(
            c,
            {
                "TYPE": "18",
                "MESSAGE": "UNSUBSCRIBEALLCOMPLETE",
                "INFO": f"Removed {valid} subs.",
                "INFO_OBJ": {"valid": valid, "invalid": invalid},
            },
        )

    # --- per-connection tasks ----------------------------------------------------------------------

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self._market_step_s)
            now = loop.time()
            focus = {sub.base for c in self._conns.values() for sub in c.subs.values()}
            # Cap a step after a stall (debugger, suspended machine) so prices do not jump.
            self._market.advance(min(now - last, 1.0), focus)
            last = now

    async def _stream(self, c: _Conn) -> None:
        """Partial frames at ``rate`` per second: one subscription per slot, round robin, skipping
        those with nothing new. A trade subscription's slot carries all its new trades."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        with contextlib.suppress(ConnectionClosed):
            while True:
                rate = self._rate
                if rate <= 0:
                    await asyncio.sleep(0.1)
                    due = loop.time()
                    continue
                due = max(due + 1.0 / rate, loop.time() - 1.0)
                await asyncio.sleep(max(0.0, due - loop.time()))
                if c.frozen or c.firehose is not None or not c.subs:
                    continue
                subs = list(c.subs.values())
                for i in range(len(subs)):
                    sub = subs[(c.rr + i) % len(subs)]
                    frames = c.view.update(sub)
                    if frames:
                        c.rr = (c.rr + i + 1) % len(subs)
                        for frame in frames:
                            await self._send(c, frame)
                        break

    async def _heartbeat(self, c: _Conn) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._heartbeat_s)
                if not c.frozen:
                    await self._send(
                        c, {"TYPE": "999", "MESSAGE": "HEARTBEAT", "TIMEMS": int(self._wall() * 1000)}
                    )

    async def _keepalive(self, c: _Conn) -> None:
        """WebSocket pings every ``ping_interval_s``; two pongs in a row slower than ``slow_pong_s``
        get FORCE_DISCONNECT, as the real streamer documents."""
        slow = 0
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._ping_interval_s)
                if c.frozen:
                    slow = 0
                    continue
                pong = await c.ws.ping()
                try:
                    await asyncio.wait_for(asyncio.shield(pong), self._slow_pong_s)
                    slow = 0
                except TimeoutError:
                    if c.frozen:
                        continue
                    slow += 1
                    _log.info("socket %d: slow pong (%d in a row)", c.conn_id, slow)
                if slow >= 2:
                    await self._send(c, {"TYPE": "500", "MESSAGE": "FORCE_DISCONNECT"})
                    await c.ws.close()
                    return

    async def _firehose_loop(self, c: _Conn) -> None:
        """Update frames as fast as the socket takes them.

        Generating frames in Python would be the bottleneck, so a cycle of FIREHOSE_CYCLE distinct
        frames is built and encoded once, and written straight to the transport as pre-built,
        unmasked RFC 6455 text frames, thousands per write(), with flow control through the
        connection's drain(). This bypasses websockets' send(); it is safe because every write()
        holds whole frames and the event loop is single-threaded, so anything websockets writes
        (pongs, heartbeats, the close frame) lands between two of our frames, never inside one.
        We stop before writing once the connection is no longer OPEN (nothing may follow a close).
        """
        subs = list(c.subs.values())
        frames = self._market.firehose_frames(subs, FIREHOSE_CYCLE)
        encoded = [ws_text_frame(_json(f)) for f in frames]
        offsets = [0, *itertools.accumulate(len(e) for e in encoded)]
        blob = b"".join(encoded)
        limit = self._firehose_limit
        loop = asyncio.get_running_loop()
        sent = nbytes = 0
        started = loop.time()
        transport = c.ws.transport
        cycle = len(encoded)
        # Paced: firehose_rate frames/s, sent every PACE_S; unpaced: a whole cycle per write.
        per_write = cycle if self._firehose_rate is None else max(1, round(self._firehose_rate * PACE_S))
        pos = 0
        next_at = started
        try:
            while c.subs and c.ws.protocol.state is State.OPEN:
                if limit is not None and sent >= limit:
                    break
                if c.frozen:
                    await asyncio.sleep(0.05)
                    continue
                n = per_write if limit is None else min(per_write, limit - sent)
                chunk = b""
                todo = n
                while todo:  # frames pos.. in the cycle, wrapping around
                    take = min(todo, cycle - pos)
                    chunk += blob[offsets[pos] : offsets[pos + take]]
                    pos = (pos + take) % cycle
                    todo -= take
                transport.write(chunk)
                sent += n
                c.frames_sent += n
                nbytes += len(chunk)
                await c.ws.drain()  # waits while the transport's buffer is above the high-water mark
                if self._firehose_rate is None:
                    await asyncio.sleep(0)  # let the loop breathe when the reader keeps up
                else:
                    next_at += PACE_S
                    await asyncio.sleep(max(0.0, next_at - loop.time()))
        finally:
            run = FirehoseRun(c.conn_id, sent, nbytes, loop.time() - started)
            with self._cond:
                self._firehose_runs.append(run)
                self._cond.notify_all()
            _log.info("socket %d: firehose sent %d frames at %.0f/s", c.conn_id, sent, run.frames_per_s)


def _error(message: str, parameter: str, info: str) -> Frame:
    frame: Frame = {"TYPE": "500", "MESSAGE": message}
    if parameter:
        frame["PARAMETER"] = parameter
    frame["INFO"] = info
    return frame


def _request_key(request: Request) -> str | None:
    """The API key from ``authorization: Apikey KEY`` (preferred) or ``?api_key=KEY``."""
    for value in request.headers.get_all("authorization"):
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() == "apikey" and key.strip():
            return key.strip()
    values = parse_qs(urlsplit(request.path).query).get("api_key")
    return values[0] if values and values[0] else None


def _json_response(status: int, body: Frame) -> Response:
    data = _json(body)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Content-Length", str(len(data))),
            ("Access-Control-Allow-Origin", "*"),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def run(
    port: int,
    keys: list[str] | None,
    rate: float,
    seed: int,
    out: TextIO = sys.stdout,
) -> None:
    """``ccdesk sim``: serve until SIGINT/SIGTERM. Prints exactly two lines, ``stream: URL`` and
    ``rest: URL``. ``keys`` None or empty accepts any non-empty key."""
    server = SimServer(port=port, keys=keys or None, rate=rate, seed=seed).start()
    previous: Any = None
    on_main = threading.current_thread() is threading.main_thread()

    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        if on_main:
            previous = signal.signal(signal.SIGTERM, _on_term)
        print(f"stream: {server.stream_url}", file=out)
        print(f"rest: {server.rest_url}", file=out)
        out.flush()
        forever = threading.Event()
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if on_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
