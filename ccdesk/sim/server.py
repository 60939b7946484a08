"""SimServer: the simulator's WebSocket server, lifecycle, connection bookkeeping and test hooks.

The loopback CryptoCompare simulator: a real WebSocket ``/v2`` + HTTP ``/data/*`` server on one port,
run on its own event loop in a daemon thread, with hooks for tests to misbehave on purpose. Also
:func:`run`, the ``ccdesk sim`` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ccdesk.core.pairs import Channel, Pair, PairError, Source, parse_pair
from ccdesk.core.redaction import redact
from ccdesk.sim.config import SimConfig
from ccdesk.sim.firehose import FirehoseRun, build_cycle, pump
from ccdesk.sim.frames import (
    RATE_LIMIT_HORIZON_S,
    Frame,
    StreamView,
    already_subscribed,
    encode,
    force_disconnect,
    heartbeat,
    invalid_action,
    invalid_json,
    invalid_sub,
    invalid_subs,
    load_complete,
    not_subscribed,
    subscribe_complete,
    too_many_sockets,
    too_many_subscriptions,
    unauthorized,
    unsubscribe_all_complete,
    unsubscribe_complete,
    welcome,
)
from ccdesk.sim.history import HistoryHit, HistoryService
from ccdesk.sim.http import json_response, key_ok, mask_key, request_key, respond
from ccdesk.sim.market import Market, SharpMove
from ccdesk.sim.venues import Venue, VenueConn, make_venues

_log = logging.getLogger(__name__)

STREAM_PATH = "/v2"


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


@dataclass(eq=False)
class _Conn:
    conn_id: int
    ws: ServerConnection
    key: str
    path: str
    view: StreamView | None  # CryptoCompare's streamer; None on a venue's socket
    subs: dict[str, Pair] = field(default_factory=dict)
    venue: Venue | None = None
    vconn: VenueConn | None = None
    rr: int = 0
    frozen: bool = False
    last_rx: float = 0.0  # loop time of the last message received (a venue's idle timeout)
    frames_sent: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    firehose: asyncio.Task[None] | None = None
    # A venue's socket, from the subscribe that starts its firehose on (before the answers go out):
    # the burst's frames are its only prices, so its paced updates and heartbeats (Binance's are
    # tickers) stop.
    firehose_only: bool = False

    @property
    def pairs(self) -> dict[str, Pair]:
        """What is subscribed, by wire key, whatever the dialect (on a venue's socket, the venue
        keeps it)."""
        return self.subs if self.vconn is None else self.vconn.subs

    @property
    def subscribed(self) -> bool:
        """Whether anything is subscribed."""
        return bool(self.pairs)


class SimServer:
    """A CryptoCompare streamer v2 + min-api look-alike on 127.0.0.1.

    One port serves the WebSocket at ``/v2`` and ``GET /data/price`` and ``/data/pricemultifull``.
    It runs its own asyncio loop in a daemon thread; every public method is thread-safe and meant to
    be called from ordinary (test or CLI) code.

    Args:
        config: how it behaves (see :class:`~ccdesk.sim.config.SimConfig`); default: SimConfig().
        overrides: SimConfig fields that replace those of ``config``, so that
            ``SimServer(rate=50.0, seed=5)`` means ``SimServer(SimConfig(rate=50.0, seed=5))``.
    """

    def __init__(self, config: SimConfig | None = None, **overrides: Any) -> None:
        self._config = dataclasses.replace(config or SimConfig(), **overrides)
        cfg = self._config
        self.host = cfg.host
        # Both can change while running: the port once bound (port 0), the rate by set_rate().
        self._port = cfg.port
        self._rate = float(cfg.rate)
        self._market_paused = False
        self._wall = cfg.wall
        self._market = Market(
            cfg.seed, wall=cfg.wall, sharp_move_prob=cfg.sharp_move_prob, first_move_by_s=cfg.first_move_by_s
        )
        self._venues = make_venues(self._market, cfg)
        self._history = HistoryService(self._market, cfg)
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

    @property
    def config(self) -> SimConfig:
        """The settings it was made with (``port`` as asked, which may be 0; see :attr:`port`)."""
        return self._config

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
        _log.info(
            "simulator listening on %s (rate %s/s, seed %s)", self.stream_url, self._rate, self._config.seed
        )
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

    def url(self, source: Source | str) -> str:
        """The WebSocket URL of a source's dialect: ``ws://127.0.0.1:PORT/kraken/v2``; CryptoCompare's
        is ``stream_url``."""
        name = source if isinstance(source, str) else source.value
        if name == Source.CRYPTOCOMPARE.value:
            return self.stream_url
        for venue in self._venues.values():
            if venue.source.value == name:
                return f"ws://{self.host}:{self._port}{venue.path}"
        raise KeyError(f"the simulator does not play {name}")

    def urls(self) -> dict[Source, str]:
        """Every source's URL."""
        out = {Source.CRYPTOCOMPARE: self.stream_url}
        for venue in self._venues.values():
            out[venue.source] = f"ws://{self.host}:{self._port}{venue.path}"
        return out

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:PORT``: min-api's ``/data/price?...`` and CoinDesk Data's
        ``/index/cc/v1/latest/tick?...`` are both served there, and every venue's candle history
        at its own path (``ccdesk.sim.history``): the base URL of each source's history."""
        return f"http://{self.host}:{self._port}"

    # --- test hooks (thread-safe) -----------------------------------------------------------

    @property
    def history_hits(self) -> list[HistoryHit]:
        """Every candle-history request so far (monotonic time, path with query, status), oldest first."""
        return self._history.hits

    @property
    def sharp_moves(self) -> tuple[SharpMove, ...]:
        """The sharp moves the market has started so far, oldest first."""
        return tuple(self._market.sharp_moves)

    @property
    def connections(self) -> tuple[ConnectionInfo, ...]:
        """The open, welcomed sockets."""
        with self._cond:
            return tuple(
                ConnectionInfo(
                    c.conn_id,
                    c.key,
                    c.path,
                    tuple(c.pairs),
                    c.frozen,
                    c.frames_sent,
                )
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

    def newest_trade_price(self, sub: Pair) -> float | None:
        """The price of the market's newest trade of a type-0 ``sub`` (what a replay ends with);
        read it while the market is paused for a stable answer."""
        trades = self._market.trades(sub)
        return trades[-1].price if trades else None

    def pause_market(self, paused: bool = True) -> None:
        """Stop (or restart) the market model: no price moves and no new trades while paused."""
        self._market_paused = paused

    def send_raw(self, data: str | bytes) -> None:
        """Send ``data`` as one message to every open socket: ``str`` as a text frame, ``bytes`` as a
        binary frame. For hostile input: non-JSON text, binary frames, huge frames."""
        self._call(self._abroadcast(data))

    def send_frame(self, frame: Frame) -> None:
        """Send a JSON object as a text frame to every open socket."""
        self._call(self._abroadcast(encode(frame).decode()))

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
                await self._send(c, force_disconnect())
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
        path = urlsplit(request.path).path.rstrip("/")
        if path == STREAM_PATH:
            self._pending_ids[ws] = conn_id
            return None  # go on with the WebSocket handshake
        venue = self._venues.get(path)
        if venue is not None:
            if venue.source.value in self._config.geo_blocked:
                # Binance answers the upgrade itself with 451 in the regions it does not serve.
                return json_response(
                    451, {"code": 0, "msg": "Service unavailable from a restricted location"}
                )
            self._pending_ids[ws] = conn_id
            return None
        history = self._history.respond(request)
        if history is not None:
            return history
        return respond(request, self._market, self._config.keys, self._config.coindesk_unentitled_keys)

    # --- WebSocket --------------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        conn_id = self._pending_ids.pop(ws, None) or next(self._ids)
        request = ws.request
        assert request is not None
        venue = self._venues.get(urlsplit(request.path).path.rstrip("/"))
        if venue is not None:
            await self._venue_handler(ws, venue, conn_id)
            return
        key = request_key(request)
        if not key_ok(key, self._config.keys):
            _log.info("socket %d refused: bad key %s", conn_id, mask_key(key))
            with contextlib.suppress(ConnectionClosed):
                await ws.send(encode(unauthorized()), text=True)
                await ws.close()
            return
        assert key is not None
        with self._cond:
            # CryptoCompare's one-socket-per-key rule counts its own streamer's sockets only: the
            # CoinDesk Data Streamer is another service, whose limits are not published.
            in_use = sum(1 for c in self._conns.values() if c.key == key and not c.frozen and c.venue is None)
            if in_use < self._config.max_sockets_per_key:
                c = _Conn(conn_id, ws, key, request.path, StreamView(self._market))
                self._conns[conn_id] = c
                self._welcomed_total += 1
                opened = self._opened.setdefault(key, deque())
                opened.append(time.monotonic())
            self._cond.notify_all()
        if in_use >= self._config.max_sockets_per_key:
            _log.info("socket %d refused: key %s already has %d socket(s)", conn_id, mask_key(key), in_use)
            with contextlib.suppress(ConnectionClosed):
                await ws.send(encode(too_many_sockets(self._config.max_sockets_per_key)), text=True)
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

    async def _venue_handler(self, ws: ServerConnection, venue: Venue, conn_id: int) -> None:
        """One socket of a venue's dialect: greeting, answers, paced updates, heartbeats, traps."""
        request = ws.request
        assert request is not None
        key = request_key(request)
        vconn = VenueConn(
            conn_id, key=key, key_ok=key_ok(key, self._config.keys) if venue.needs_key else True
        )
        c = _Conn(conn_id, ws, key or "", request.path, None, venue=venue, vconn=vconn)
        with self._cond:
            self._conns[conn_id] = c
            self._welcomed_total += 1
            self._cond.notify_all()
        _log.info("%s socket %d open", venue.source.value, conn_id)
        loop = asyncio.get_running_loop()
        c.last_rx = loop.time()
        try:
            for text in venue.on_open(vconn):
                await self._send_text(c, text)
            if vconn.closing is not None:
                await ws.close(*vconn.closing)
                return
            c.tasks = [loop.create_task(self._venue_stream(c)), loop.create_task(self._keepalive(c))]
            beat = self._config.venue_heartbeat_s or venue.heartbeat_s
            if beat:
                c.tasks.append(loop.create_task(self._venue_heartbeat(c, beat)))
            if self._config.max_session_s is not None:
                c.tasks.append(loop.create_task(self._close_after(c, self._config.max_session_s)))
            deadline = venue.subscribe_deadline_s
            if deadline is not None:
                c.tasks.append(loop.create_task(self._subscribe_deadline(c, deadline)))
            if venue.idle_timeout_s is not None:
                c.tasks.append(loop.create_task(self._idle_close(c, venue.idle_timeout_s)))
            limit = venue.max_messages_per_s
            arrivals: deque[float] = deque(maxlen=limit or 1)  # the last `limit` messages' times
            async for message in ws:
                c.last_rx = loop.time()
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                with self._cond:
                    self._received.append(Received(conn_id, text, _json_or_none(text)))
                    self._cond.notify_all()
                if c.frozen:
                    c.ws.transport.pause_reading()
                    continue
                if limit is not None:
                    now = loop.time()
                    if len(arrivals) == limit and now - arrivals[0] < 1.0:
                        # One more than `limit` within a second: Binance disconnects, no error frame.
                        name = venue.source.value
                        _log.info("%s socket %d: over %d messages/s; closing", name, conn_id, limit)
                        await ws.close(1008, "Too many requests")
                        break
                    arrivals.append(now)
                with self._cond:  # the venue changes vconn.subs, which test hooks read
                    vconn.messages += 1
                    before = set(vconn.subs)
                    replies = venue.on_message(vconn, text)
                    subscribed = not vconn.subs.keys() <= before
                    if subscribed and self._config.firehose:
                        c.firehose_only = True
                    self._cond.notify_all()
                for reply in replies:
                    await self._send_text(c, reply)
                if vconn.closing is not None:
                    await ws.close(*vconn.closing)
                    break
                if subscribed:  # a new pair, not a ping: a burst ended by its limit stays ended
                    self._start_firehose(c)
        except ConnectionClosed:
            pass
        finally:
            for task in [*c.tasks, c.firehose]:
                if task is not None:
                    task.cancel()
            with self._cond:
                self._conns.pop(conn_id, None)
                self._cond.notify_all()
            _log.info("%s socket %d closed (%s)", venue.source.value, conn_id, ws.close_code)

    async def _send_text(self, c: _Conn, text: str) -> None:
        await c.ws.send(text, text=True)
        c.frames_sent += 1

    async def _venue_stream(self, c: _Conn) -> None:
        """A venue's ticker updates at ``rate`` per second, round robin over its pairs (none on a
        firehose's socket: ``firehose_only``)."""
        venue, vconn = c.venue, c.vconn
        assert venue is not None
        assert vconn is not None
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
                if c.frozen or c.firehose_only or not vconn.subs:
                    continue
                pairs = list(vconn.subs.values())
                for i in range(len(pairs)):
                    pair = pairs[(c.rr + i) % len(pairs)]
                    texts = venue.updates(vconn, pair)
                    if texts:
                        c.rr = (c.rr + i + 1) % len(pairs)
                        for text in texts:
                            await self._send_text(c, text)
                        break

    async def _venue_heartbeat(self, c: _Conn, every_s: float) -> None:
        """A venue's heartbeats (none on a firehose's socket: ``firehose_only``)."""
        venue, vconn = c.venue, c.vconn
        assert venue is not None
        assert vconn is not None
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(every_s)
                if not c.frozen and not c.firehose_only:
                    for text in venue.heartbeat(vconn):
                        await self._send_text(c, text)

    async def _close_after(self, c: _Conn, seconds: float) -> None:
        """A venue's connection lifetime (Binance: 24 h): the server closes the socket itself."""
        await asyncio.sleep(seconds)
        with contextlib.suppress(ConnectionClosed):
            await c.ws.close(1000, "connection lifetime reached")

    async def _subscribe_deadline(self, c: _Conn, seconds: float) -> None:
        """A venue that closes a socket which has not subscribed in time (Coinbase: 5 s)."""
        await asyncio.sleep(seconds)
        vconn = c.vconn
        if vconn is not None and not vconn.subs:
            _log.info("socket %d: no subscribe within %.1f s; closing", c.conn_id, seconds)
            with contextlib.suppress(ConnectionClosed):
                await c.ws.close(1000, "subscribe timeout")

    async def _idle_close(self, c: _Conn, seconds: float) -> None:
        """A venue that closes a socket on which the client sent nothing for ``seconds`` (OKX: 30 s)."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ConnectionClosed):
            while True:
                wait = c.last_rx + seconds - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                if c.frozen:  # a half-open socket reads nothing: its silence is the trap being played
                    c.last_rx = loop.time()
                    continue
                _log.info("socket %d: nothing received for %.1f s; closing", c.conn_id, seconds)
                await c.ws.close(1000, f"no message received for {seconds:g} s")
                return

    def _welcome(self, c: _Conn) -> Frame:
        now = time.monotonic()
        with self._cond:
            active = sum(1 for x in self._conns.values() if x.key == c.key)
            opened = self._opened[c.key]
            while opened and now - opened[0] > RATE_LIMIT_HORIZON_S:
                opened.popleft()
            times = list(opened)
        return welcome(
            conn_id=c.conn_id,
            uptime_s=now - self._started_mono,
            wall=self._wall(),
            active=active,
            max_sockets=self._config.max_sockets_per_key,
            opened=times,
            now=now,
        )

    async def _send(self, c: _Conn, frame: Frame) -> None:
        await c.ws.send(encode(frame), text=True)
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
            await self._send(c, invalid_json())
            return
        action = parsed.get("action") if isinstance(parsed, dict) else None
        if action not in ("SubAdd", "SubRemove"):
            await self._send(c, invalid_action())
            return
        subs = parsed.get("subs")
        if not isinstance(subs, list):
            await self._send(c, invalid_subs())
            return
        if action == "SubAdd":
            await self._sub_add(c, subs)
        else:
            await self._sub_remove(c, subs)

    def _lookup(self, text: Any) -> Pair | None:
        if not isinstance(text, str) or "~" not in text:
            return None
        try:
            sub = parse_pair(text)
        except PairError:
            return None
        # The real streamer takes subscriptions verbatim: no case folding, no shorthand.
        if str(sub) != text or not self._market.has(sub):
            return None
        return sub

    async def _sub_add(self, c: _Conn, subs: list[Any]) -> None:
        over_limit = False
        for text in subs:
            if text not in c.subs and len(c.subs) >= self._config.max_subs_per_socket:
                over_limit = True  # the real streamer refuses the excess and says so once
                continue
            sub = self._lookup(text)
            if sub is None:
                await self._send(c, invalid_sub(str(text)))
                continue
            if text in c.subs:
                await self._send(c, already_subscribed(text))
                continue
            if sub.channel is Channel.TRADE:
                for trade in _view(c).replay(sub):
                    await self._send(c, trade)
            else:
                await self._send(c, _view(c).snapshot(sub))
            await self._send(c, subscribe_complete(text))
            with self._cond:
                c.subs[text] = sub  # only now: no partial frame may precede the 16
                self._cond.notify_all()
        if over_limit:
            await self._send(c, too_many_subscriptions(self._config.max_subs_per_socket))
        await self._send(c, load_complete())
        self._start_firehose(c)

    async def _sub_remove(self, c: _Conn, subs: list[Any]) -> None:
        valid = invalid = 0
        for text in subs:
            if isinstance(text, str) and text in c.subs:
                with self._cond:
                    sub = c.subs.pop(text)
                    self._cond.notify_all()
                _view(c).forget(sub)
                valid += 1
                await self._send(c, unsubscribe_complete(text))
            else:
                invalid += 1
                await self._send(c, not_subscribed(str(text)))
        await self._send(c, unsubscribe_all_complete(valid, invalid))

    # --- per-connection tasks ----------------------------------------------------------------------

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self._config.market_step_s)
            now = loop.time()
            if self._market_paused:
                last = now
                continue
            # The coins someone watches, on any socket: CryptoCompare's and every venue's.
            focus = {sub.base for c in self._conns.values() for sub in c.pairs.values()}
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
                    frames = _view(c).update(sub)
                    if frames:
                        c.rr = (c.rr + i + 1) % len(subs)
                        for frame in frames:
                            await self._send(c, frame)
                        break

    async def _heartbeat(self, c: _Conn) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._config.heartbeat_s)
                if not c.frozen:
                    await self._send(c, heartbeat(self._wall()))

    async def _keepalive(self, c: _Conn) -> None:
        """WebSocket pings every ``ping_interval_s``; two pongs in a row slower than ``slow_pong_s``
        get FORCE_DISCONNECT, as the real streamer documents."""
        slow = 0
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._config.ping_interval_s)
                if c.frozen:
                    slow = 0
                    continue
                pong = await c.ws.ping()
                try:
                    await asyncio.wait_for(asyncio.shield(pong), self._config.slow_pong_s)
                    slow = 0
                except TimeoutError:
                    if c.frozen:
                        continue
                    slow += 1
                    _log.info("socket %d: slow pong (%d in a row)", c.conn_id, slow)
                if slow >= 2:
                    await self._send(c, force_disconnect())
                    await c.ws.close()
                    return

    def _start_firehose(self, c: _Conn) -> None:
        """With ``firehose``: a burst on a socket that has subscribed, unless one runs on it already."""
        if self._config.firehose and c.subscribed and (c.firehose is None or c.firehose.done()):
            c.firehose = asyncio.get_running_loop().create_task(self._firehose_loop(c))

    async def _firehose_loop(self, c: _Conn) -> None:
        """Update frames as fast as the socket takes them (or at ``firehose_rate``): see firehose.pump.
        The cycle is the dialect's: CryptoCompare's partials, or the venue's own update frames."""
        if c.venue is None:
            payloads = [encode(f) for f in build_cycle(self._market, list(c.subs.values()))]
        else:
            assert c.vconn is not None
            payloads = [text.encode() for text in c.venue.firehose(c.vconn)]
        cfg = self._config
        await pump(c, payloads, limit=cfg.firehose_limit, rate=cfg.firehose_rate, on_done=self._firehose_done)

    def _firehose_done(self, run: FirehoseRun) -> None:
        with self._cond:
            self._firehose_runs.append(run)
            self._cond.notify_all()
        _log.info("socket %d: firehose sent %d frames at %.0f/s", run.conn_id, run.frames, run.frames_per_s)


def run(
    port: int,
    keys: list[str] | None,
    rate: float,
    seed: int,
    out: TextIO = sys.stdout,
) -> None:
    """``ccdesk sim``: serve until SIGINT/SIGTERM. Prints one ``SOURCE: URL`` line per source it
    speaks (``cryptocompare: ws://127.0.0.1:PORT/v2``, ``kraken: ...``), then ``rest: URL``, and
    nothing else. ``keys`` None or empty accepts any non-empty key."""
    server = SimServer(port=port, keys=keys or None, rate=rate, seed=seed).start()
    previous: dict[signal.Signals, Any] = {}
    on_main = threading.current_thread() is threading.main_thread()

    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        if on_main:
            # SIGINT too, explicitly: a process started with SIGINT ignored (a background job of a
            # script, some test runners) would otherwise never stop on it.
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, _on_term)
        for source, url in server.urls().items():
            print(f"{source.value}: {url}", file=out)
        print(f"rest: {server.rest_url}", file=out)
        out.flush()
        forever = threading.Event()
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()


def _json_or_none(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _view(c: _Conn) -> StreamView:
    """The streamer view of a CryptoCompare socket (venue sockets have none)."""
    assert c.view is not None
    return c.view
