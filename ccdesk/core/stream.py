"""The streamer client: connect, subscribe, merge quotes, reconnect, and report typed events.

``StreamClient.run()`` blocks the thread that calls it (the stream thread) and reports through
one callback, called on that thread. ``add``/``remove``/``stop``/``reconnect_now`` may be
called from any thread. The reconnect loop is a ``while`` loop, never recursion from a close
callback. No Qt, no printing, no user-facing text: events carry enums and raw server words.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import random
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import Backoff, BackoffPolicy
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.coalescer import Coalescer
from ccdesk.core.events import (
    NoticeKind,
    PriceArrived,
    QuotesChanged,
    Reason,
    ServerNotice,
    State,
    Status,
    StreamEvent,
    SubRejected,
    Subscribed,
)
from ccdesk.core.identity import DEFAULT_STREAM_URL
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import QuoteBook
from ccdesk.core.redaction import redact
from ccdesk.core.sources.base import Dialect
from ccdesk.core.sources.cryptocompare import CryptoCompare
from ccdesk.core.transport import (
    CloseCause,
    Closed,
    ConnectAttempt,
    ConnectError,
    ConnectFailure,
    Connection,
    TransportOptions,
)
from ccdesk.core.urls import is_loopback
from ccdesk.core.waker import Waker
from ccdesk.core.wire import (
    Batch,
    Event,
    ForceDisconnect,
    Heartbeat,
    InvalidSub,
    KeyWarning,
    LimitExceeded,
    LimitKind,
    Malformed,
    QuoteUpdate,
    Refusal,
    ServerError,
    SubscribeComplete,
    Trade,
    Unauthorized,
    Welcome,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Stream tuning. Defaults follow the servers' documented rules (PROTOCOL.md, SOURCES.md).

    Attributes:
        url: the source's WebSocket endpoint.
        dialect: the source's wire dialect (CryptoCompare's streamer v2 by default).
        silence_timeout_s: replace a socket that delivered nothing (not even a heartbeat) this long.
        ping_interval_s: send a WebSocket ping this often.
        pong_timeout_s: once the server has answered a ping on this socket, a later ping left
            unanswered this long (with nothing else received) marks the socket half-open.
        welcome_timeout_s: a connection that sends no welcome this long is replaced (dialects that
            wait for one).
        clock_jump_s: wall time moving this much more or less than monotonic time (suspend and
            resume, a clock step) forces a reconnect.
        clock_check_s: how often an otherwise idle loop wakes to look for such a jump.
        coalesce_s: emit ``QuotesChanged`` at most this often (0: after every change; None: never,
            for a consumer that needs only ``PriceArrived``). The flush is one of the loop's
            deadlines, so an idle client sleeps until data or a deadline.
    """

    url: str = DEFAULT_STREAM_URL
    dialect: Dialect = field(default_factory=CryptoCompare)
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    silence_timeout_s: float = 90.0
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 10.0
    welcome_timeout_s: float = 20.0
    clock_jump_s: float = 10.0
    clock_check_s: float = 5.0
    coalesce_s: float | None = 0.1
    transport: TransportOptions = field(default_factory=TransportOptions)


class _EndKind(enum.Enum):
    RETRY = "retry"
    ROTATE = "rotate"
    AUTH = "auth"
    LIMITED = "limited"
    BLOCKED = "blocked"
    FATAL = "fatal"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class _End:
    kind: _EndKind
    reason: Reason
    detail: str | None = None


# How a failed connect ends a session. Only the server's own 401 means the key was refused: a 403
# comes from proxies and firewalls as often as from the service, so it is retried.
_CONNECT_ENDS: dict[ConnectFailure, tuple[_EndKind, Reason]] = {
    ConnectFailure.HANDSHAKE_UNAUTHORIZED: (_EndKind.AUTH, Reason.UNAUTHORIZED),
    ConnectFailure.HANDSHAKE_RATE_LIMITED: (_EndKind.LIMITED, Reason.OPENING_TOO_FAST),
    ConnectFailure.FORBIDDEN: (_EndKind.RETRY, Reason.FORBIDDEN),
    ConnectFailure.REDIRECTED: (_EndKind.RETRY, Reason.REDIRECTED),
    ConnectFailure.NOT_WEBSOCKET: (_EndKind.RETRY, Reason.NOT_WEBSOCKET),
    ConnectFailure.GEO_BLOCKED: (_EndKind.BLOCKED, Reason.GEO_BLOCKED),
    ConnectFailure.CANCELLED: (_EndKind.STOP, Reason.STOP_REQUESTED),
}
_CONNECT_POLL_S = 0.05
_MIN_ASKED_ROTATE_S = 10.0
"""A server that asks for a new connection more often than this is answered with the backoff."""
"""How often a pending connect looks for stop(): the connect runs on its own thread (see transport)."""


class _LogLimiter:
    """Logs a repeated warning at most once per ``every_s``, with a count of the ones held back."""

    def __init__(self, clock: Clock, every_s: float = 10.0) -> None:
        self._clock = clock
        self._every = every_s
        self._last = -1e18
        self._held = 0

    def warning(self, msg: str, *args: object) -> None:
        now = self._clock.monotonic()
        if now - self._last < self._every:
            self._held += 1
            return
        if self._held:
            log.warning("%s (%d similar skipped)", msg % args, self._held)
        else:
            log.warning(msg, *args)
        self._last = now
        self._held = 0


@dataclass
class StreamStats:
    """Counters for diagnostics and benchmarks (written by the stream thread only)."""

    connects: int = 0
    frames: int = 0
    price_ticks: int = 0
    malformed: int = 0
    pongs: int = 0


class StreamClient:
    """A self-reconnecting streamer client.

    Threads: ``run()`` owns the socket on the thread that calls it (the stream thread); no other
    thread ever reads from, writes to or pings it. ``add``/``remove``/``reconnect_now``/``stop``
    (any thread) only record what is wanted and wake the loop through a self-pipe; the stream
    thread then acts. The connect itself runs on a short-lived thread of its own
    (``ConnectAttempt``), so ``stop()`` never waits on DNS, a black-holed route or a silent server.

    Supervision: ``run()`` is a ``while`` loop (never recursion) that outlives any one session. An
    unexpected exception in a session is logged with its traceback, reported as a status
    (``INTERNAL_ERROR``) and followed by the usual backoff and a reconnect; a consumer callback
    that raises is logged and does not end anything. ``run()`` returns only after ``stop()``, a
    refused key (401), or an endpoint the key must never be sent to.

    Args:
        api_key: sent as ``authorization: Apikey KEY``, never in the URL. None sends no key.
        subs: the initial watchlist, in order.
        on_event: called on the stream thread with every ``StreamEvent``. It must be quick and
            must not block (no GUI work, no keyring, no network): the server drops sockets
            whose pongs are slow.
        config: tuning; see StreamConfig.
        clock, rng: injected for tests.
    """

    def __init__(
        self,
        api_key: ApiKey | None,
        subs: Iterable[Pair],
        on_event: Callable[[StreamEvent], None],
        config: StreamConfig | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._key = api_key
        self._consumer = on_event
        self.config = config or StreamConfig()
        self._clock = clock or SystemClock()
        self._backoff = Backoff(self.config.backoff, rng or random.Random())
        self.book = QuoteBook(self._clock)
        """Merged quotes. Read only on the stream thread (i.e. inside ``on_event``)."""
        self.stats = StreamStats()
        coalesce_s = self.config.coalesce_s
        self._views: Coalescer[Pair] | None = None if coalesce_s is None else Coalescer(coalesce_s)
        self._flush_each = coalesce_s == 0
        self.last_rx_at: float | None = None
        """Monotonic time the socket last delivered data or a heartbeat (stream thread)."""
        self._dialect = self.config.dialect
        self._wire: dict[str, Pair] = {}  # wire key -> watched pair, for the parser (stream thread)
        self._parser = self._dialect.parser(self._wire, self.config.transport.max_message_bytes)
        self._last_sent = 0.0  # monotonic time of the last message sent (keep-alive, pacing)
        self._bad = _LogLimiter(self._clock)
        self._failing_consumer = _LogLimiter(self._clock)

        self._lock = threading.Lock()  # guards the watchlist and the commands; never held over I/O
        self._watch: list[Pair] = []
        self._watched: frozenset[Pair] = frozenset()  # replaced whole; read lock-free on the hot path
        self._invalid: set[Pair] = set()
        self._to_add: list[Pair] = []  # commands for the stream thread
        self._to_remove: list[Pair] = []
        self._forget: list[Pair] = []
        self._reconnect = False
        self._conn: Connection | None = None
        self._attempt: ConnectAttempt | None = None
        self._stop = threading.Event()
        self._stopping = False  # mirrors _stop as a plain attribute for the per-message check
        self._waker = Waker()
        self._active: set[Pair] = set()  # sent on the current socket (stream thread only)
        self._welcomed = False  # stream thread only
        self._live_since: float | None = None  # the start of the session prices count from
        self._rotating = False  # the next session replaces one that left at its lifetime
        self._asked_rotate_at = -math.inf  # when the server last asked for a new connection
        self._awaiting: dict[Pair, float] = {}  # pair -> when its first price is overdue (stream thread)
        self._status: Status | None = None
        self.add(subs)

    def __repr__(self) -> str:  # the key must never show up in a repr
        return f"<StreamClient {redact(self.config.url)} subs={len(self._watch)}>"

    # -- commands (any thread) ---------------------------------------------------------------

    @property
    def watchlist(self) -> list[Pair]:
        """The current watchlist, in order (a copy)."""
        with self._lock:
            return list(self._watch)

    @property
    def invalid(self) -> frozenset[Pair]:
        """Pairs the server rejected."""
        with self._lock:
            return frozenset(self._invalid)

    @property
    def status(self) -> Status | None:
        """The last reported status."""
        return self._status

    def add(self, subs: Iterable[Pair]) -> None:
        """Add pairs; on a live socket the stream thread subscribes them at once (no reconnect)."""
        with self._lock:
            new = [s for s in dict.fromkeys(subs) if s not in self._watched]
            if not new:
                return
            self._watch.extend(new)
            self._watched = frozenset(self._watch)
            self._to_add.extend(new)
            self._to_remove = [s for s in self._to_remove if s not in self._watched]
        self._waker.wake()

    def remove(self, subs: Iterable[Pair]) -> None:
        """Remove pairs; on a live socket the stream thread unsubscribes them at once."""
        with self._lock:
            gone = [s for s in dict.fromkeys(subs) if s in self._watched]
            if not gone:
                return
            gone_set = set(gone)
            self._watch = [s for s in self._watch if s not in gone_set]
            self._watched = frozenset(self._watch)
            self._invalid -= gone_set
            self._forget.extend(gone)
            self._to_add = [s for s in self._to_add if s not in gone_set]
            self._to_remove.extend(gone)
        self._waker.wake()

    def stop(self) -> None:
        """Stop: ``run()`` returns promptly, a pending connect is abandoned, the socket is closed.
        Any thread; does not wait. No events but the final STOPPED status are emitted after it."""
        self._stopping = True
        self._stop.set()
        with self._lock:
            conn, attempt = self._conn, self._attempt
        self._waker.wake()
        if attempt is not None:
            attempt.cancel()
        if conn is not None:
            conn.close()  # also unblocks a send stuck on a full buffer; the loop expects Closed

    def reconnect_now(self) -> None:
        """Drop the current socket and reconnect (e.g. the network changed). Still honours
        the minimum reconnect delay. A connect under way is abandoned and started again."""
        with self._lock:
            self._reconnect = True
        self._waker.wake()

    # -- the loop (stream thread) ------------------------------------------------------------

    def run(self) -> State:
        """Connect and stream until ``stop()``, a refused key, or an endpoint the key must not go to.

        Returns:
            State.STOPPED or State.AUTH_FAILED.
        """
        try:
            return self._supervise()
        finally:
            self._waker.close()

    def _supervise(self) -> State:
        self._emit_status(Status(State.CONNECTING, Reason.STARTING))
        if self._key is not None and _plain_to_another_host(self.config.url):
            # Settings and the CLI refuse such a URL already; the core makes sure as well.
            log.error("refusing to send the API key unencrypted to %s", redact(self.config.url))
            self._emit_status(Status(State.STOPPED, Reason.INSECURE_URL))
            return State.STOPPED
        while not self._stop.is_set():
            try:
                end, uptime = self._session()
            except Exception:
                log.exception("a stream session failed; reconnecting")
                end, uptime = _End(_EndKind.RETRY, Reason.INTERNAL_ERROR, "internal error"), 0.0
            self._backoff.session_ended(uptime)
            # Only a planned reconnect keeps the old session's start; after any other end the next
            # session's prices are new (a failed connect after a planned one included).
            self._rotating = end.kind is _EndKind.ROTATE
            if self._stop.is_set() or end.kind is _EndKind.STOP:
                break
            if end.kind is _EndKind.ROTATE:
                # A planned reconnect, not a failure: at once, and the prices stay live meanwhile
                # (the new session keeps the old one's start).
                continue
            if end.kind is _EndKind.AUTH:
                self._emit_status(Status(State.AUTH_FAILED, end.reason, end.detail))
                return State.AUTH_FAILED
            if end.kind is _EndKind.LIMITED:
                delay, state = self._backoff.next_rate_limited_delay(), State.RATE_LIMITED
            elif end.kind is _EndKind.BLOCKED:
                # Not available in this region: a long wait every time, never a loop.
                delay, state = self._backoff.next_rate_limited_delay(), State.BLOCKED
            else:
                delay, state = self._backoff.next_delay(), State.RECONNECTING
            now = self._clock.monotonic()
            self._emit_status(Status(state, end.reason, end.detail, delay, now + delay))
            if self._stop.wait(delay):
                break
            self._emit_status(Status(State.CONNECTING, end.reason, end.detail))
        self._emit_status(Status(State.STOPPED, Reason.STOP_REQUESTED))
        return State.STOPPED

    def _session(self) -> tuple[_End, float]:
        """One connection from open to close. Returns how it ended and how long it was welcomed."""
        headers = self._dialect.headers(self._key)
        self.stats.connects += 1
        conn = self._connect(headers)
        if isinstance(conn, _End):
            return conn, 0.0
        with self._lock:
            self._conn = conn
            self._reconnect = False
        self._active.clear()
        self._awaiting.clear()
        self._welcomed = False
        self._refresh_wire()
        self._parser = self._dialect.parser(self._wire, self.config.transport.max_message_bytes)
        welcomed_at: list[float] = []
        try:
            if self._stop.is_set():
                return _End(_EndKind.STOP, Reason.STOP_REQUESTED), 0.0
            if not self._dialect.welcome_gate:
                self._on_welcome(welcomed_at)  # no greeting to wait for: subscribe at once
            end = self._pump(conn, welcomed_at)
        finally:
            with self._lock:
                self._conn = None
            self._welcomed = False
            self._active.clear()
            conn.close()
        uptime = self._clock.monotonic() - welcomed_at[0] if welcomed_at else 0.0
        return end, uptime

    def _connect(self, headers: list[str]) -> Connection | _End:
        """Open the socket on a connect thread; wait for it or for ``stop()``, whichever is first."""
        attempt = self._start_attempt(headers)
        try:
            while not attempt.done.wait(_CONNECT_POLL_S):
                if self._stop.is_set():
                    attempt.cancel()
                    return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
                with self._lock:
                    again, self._reconnect = self._reconnect, False
                if again:
                    # The network changed while connecting: this attempt may wait on the old route
                    # until its timeout. Abandon it (a socket it gets later is closed unused).
                    log.info("reconnect asked for while connecting: starting the connect again")
                    attempt.cancel()
                    attempt = self._start_attempt(headers)
            try:
                return attempt.result()
            except ConnectError as exc:
                kind, reason = _CONNECT_ENDS.get(exc.failure, (_EndKind.RETRY, Reason.CONNECT_FAILED))
                detail = exc.detail if kind is not _EndKind.RETRY else exc.failure.value
                if exc.failure is ConnectFailure.REDIRECTED and exc.redirect_host:
                    detail = exc.redirect_host
                return _End(kind, reason, detail)
        finally:
            with self._lock:
                self._attempt = None

    def _start_attempt(self, headers: list[str]) -> ConnectAttempt:
        """Start a connect on its own thread, where ``stop()`` finds it to cancel."""
        attempt = ConnectAttempt.start(self.config.url, headers, self.config.transport)
        with self._lock:
            self._attempt = attempt
        return attempt

    def _pump(self, conn: Connection, welcomed_at: list[float]) -> _End:
        cfg = self.config
        clock = self._clock
        now = clock.monotonic()
        opened = now
        last_data = now  # liveness: data frames and heartbeats only, never pongs or stray bytes
        next_ping = now + cfg.ping_interval_s
        ping_sent: float | None = None
        pong_seen = False
        pongs = 0
        stats = self.stats
        alive = stats.frames - stats.malformed
        wall_offset = clock.time() - now
        handle = self._handle
        views = self._views
        waker = self._waker
        dialect = self._dialect
        keepalive_s = dialect.keepalive_s
        rotate_at = None if dialect.max_session_s is None else opened + dialect.max_session_s
        while True:
            deadlines = [next_ping, last_data + cfg.silence_timeout_s, now + cfg.clock_check_s]
            if ping_sent is not None and pong_seen:
                deadlines.append(ping_sent + cfg.pong_timeout_s)
            if not welcomed_at:
                deadlines.append(opened + cfg.welcome_timeout_s)
            if keepalive_s is not None:
                deadlines.append(self._last_sent + keepalive_s)
            if rotate_at is not None:
                deadlines.append(rotate_at)
            awaiting = self._awaiting
            if awaiting:
                deadlines.append(min(awaiting.values()))
            if views is not None:
                flush_at = views.due_at()
                if flush_at is not None:
                    deadlines.append(flush_at)
            timeout = min(deadlines) - now
            try:
                messages = conn.read(timeout, waker)
                for m in messages:
                    if self._stopping:  # stop() means no more events, even from this batch
                        return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
                    try:
                        end = handle(m, welcomed_at)
                    except Closed:
                        raise
                    except Exception:  # a consumer or a bug choked on this one message: skip it
                        self._failing_consumer.warning("a message could not be handled; skipped")
                        log.debug("message handling failed", exc_info=True)
                        continue
                    if end is not None:
                        return end
                now = clock.monotonic()
                waker.clear()  # before looking at the commands: a later wake() is never lost
                end = self._run_commands(conn)
                if end is not None:
                    return end
                seen = stats.frames - stats.malformed
                if seen != alive:
                    alive = seen
                    last_data = self.last_rx_at = now
                    ping_sent = None  # the socket answers: no half-open question
                if conn.pongs_received != pongs:
                    stats.pongs += conn.pongs_received - pongs
                    pongs = conn.pongs_received
                    pong_seen = True
                    ping_sent = None  # the socket is open; whether the feed is alive is data's call
                if now - last_data >= cfg.silence_timeout_s:
                    silent = f"{now - last_data:.0f}s"
                    self._emit_status(Status(State.STALE, Reason.SILENCE, silent))
                    return _End(_EndKind.RETRY, Reason.SILENCE, f"no data or heartbeat for {silent}")
                if ping_sent is not None and pong_seen and now - ping_sent >= cfg.pong_timeout_s:
                    self._emit_status(Status(State.STALE, Reason.PONG_TIMEOUT))
                    return _End(_EndKind.RETRY, Reason.PONG_TIMEOUT, "ping unanswered")
                if not welcomed_at and now - opened >= cfg.welcome_timeout_s:
                    return _End(_EndKind.RETRY, Reason.NO_WELCOME)
                if keepalive_s is not None and now - self._last_sent >= keepalive_s:
                    self._send_all(conn, [dialect.keepalive_text])
                if awaiting and min(awaiting.values()) <= now:
                    self._overdue(now)
                if rotate_at is not None and now >= rotate_at:
                    # The server ends every connection at its lifetime (Binance: 24 h): leave first.
                    return _End(_EndKind.ROTATE, Reason.ROTATED)
                if now >= next_ping:
                    conn.ping()
                    if ping_sent is None:
                        ping_sent = now
                    next_ping = now + cfg.ping_interval_s
                jump = clock.time() - now - wall_offset
                if abs(jump) >= cfg.clock_jump_s:
                    self._emit_status(Status(State.STALE, Reason.CLOCK_JUMP, f"{jump:+.0f}s"))
                    return _End(_EndKind.RETRY, Reason.CLOCK_JUMP, f"wall clock moved {jump:+.0f}s")
                if views is not None and views.is_due(now):
                    self._flush(now)
            except Closed as exc:
                return self._closed_end(exc)

    def _closed_end(self, exc: Closed) -> _End:
        if self._stop.is_set():
            return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
        if self._reconnect:
            return _End(_EndKind.RETRY, Reason.RECONNECT_REQUESTED)
        if exc.cause is CloseCause.PROTOCOL_ERROR:
            return _End(_EndKind.RETRY, Reason.PROTOCOL_ERROR, exc.reason)
        if exc.cause is CloseCause.TOO_BIG:
            return _End(_EndKind.RETRY, Reason.MESSAGE_TOO_BIG, exc.reason)
        if exc.cause is CloseCause.PEER:
            return _End(_EndKind.RETRY, Reason.CLOSED_BY_SERVER, exc.reason)
        return _End(_EndKind.RETRY, Reason.CONNECTION_LOST, exc.reason)

    def _run_commands(self, conn: Connection) -> _End | None:
        """Act on what other threads asked for: sends happen here, on the socket's own thread."""
        if self._stop.is_set():
            return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
        with self._lock:
            if self._reconnect:
                return _End(_EndKind.RETRY, Reason.RECONNECT_REQUESTED)
            add, self._to_add = self._to_add, []
            remove, self._to_remove = self._to_remove, []
            forget, self._forget = self._forget, []
            invalid = set(self._invalid)
        for sub in forget:
            if sub not in self._watched:
                self.book.forget(sub)
        if add or remove:
            self._refresh_wire()
        if not self._welcomed:
            return None  # everything watched goes out with the welcome's subscribe
        gone = [s for s in remove if s in self._active]
        if gone and self._send_all(conn, self._dialect.unsubscribe(gone)):
            self._active.difference_update(gone)
        new = [s for s in add if s not in self._active and s not in invalid]
        if new and self._send_all(conn, self._dialect.subscribe(new)):
            self._active.update(new)
            self._await_first_data(new)
        return None

    def _await_first_data(self, pairs: list[Pair]) -> None:
        """Expect a first price for ``pairs`` within the dialect's ``first_data_s`` (if it has one)."""
        wait = self._dialect.first_data_s
        if wait is None:
            return
        due = self._clock.monotonic() + wait
        for pair in pairs:
            self._awaiting.setdefault(pair, due)

    def _overdue(self, now: float) -> None:
        """Pairs accepted without a price in time: shown as not available (not refused for good)."""
        late = [p for p, due in self._awaiting.items() if due <= now]
        for pair in late:
            del self._awaiting[pair]
            if pair in self._watched and self.book.price(pair) is None:
                wait = self._dialect.first_data_s
                info = f"no price for it within {wait:g} s of subscribing"
                self._emit(SubRejected(pair, "NO_DATA", info, Refusal.SILENT))

    def _refresh_wire(self) -> None:
        """The parser's map from wire keys to watched pairs (stream thread)."""
        key = self._dialect.wire_key
        wanted = {key(p): p for p in self._watch}
        if wanted != self._wire:
            self._wire.clear()
            self._wire.update(wanted)

    def _handle(self, m: object, welcomed_at: list[float]) -> _End | None:
        """Handle one message. Hot path first: quote updates for watched pairs."""
        self.stats.frames += 1
        if type(m) is not bytes:
            self.stats.malformed += 1
            self._bad.warning("skipped a %s message of %d bytes", type(m).__name__, getattr(m, "size", 0))
            return None
        ev = self._parser.parse(m)
        if type(ev) is QuoteUpdate and not ev.dropped:
            # Most frames are a clean quote: it skips _dispatch's chain (speed).
            self._on_quote(ev)
            return None
        return self._dispatch(ev, welcomed_at)

    def _on_quote(self, ev: QuoteUpdate) -> None:
        """A quote update: merged into the book; a price goes to the consumer (alerts see every one)."""
        sub = ev.sub
        if sub not in self._watched:
            return
        prev, price = self.book.merge_update(ev)
        if price is not None:
            self.stats.price_ticks += 1
            if self._awaiting:
                self._awaiting.pop(sub, None)
            self._consumer(PriceArrived(sub, price, price != prev))
        if self._views is not None:  # None with coalesce_s=None: no call per frame for nothing
            self._changed(sub)

    def _dispatch(self, ev: Event, welcomed_at: list[float]) -> _End | None:
        """Act on one wire event (a clean quote update takes ``_handle``'s shortcut)."""
        t = type(ev)
        if t is QuoteUpdate:
            assert isinstance(ev, QuoteUpdate)
            if ev.dropped:
                # Only the bad fields were left out (the parser says why); the rest is used as ever.
                self.stats.malformed += 1
                self._bad.warning("skipped fields of a %s frame: %s", ev.sub, "; ".join(ev.dropped))
            self._on_quote(ev)
            return None
        if t is Heartbeat:
            assert isinstance(ev, Heartbeat)
            pair = ev.pair
            if pair is not None and pair in self._watched and self.book.touch(pair):
                # A per-pair heartbeat (Coinbase): no trade since, the last price still stands.
                self._changed(pair)
            elif self._views is not None:
                self._views.touch()
            return None
        if t is Trade:
            assert isinstance(ev, Trade)
            if ev.sub in self._watched:
                prev = self.book.price(ev.sub)
                price = self.book.apply_trade(ev)
                if price is None:  # a replayed trade: neither the price nor the alerts hear of it
                    return None
                self.stats.price_ticks += 1
                if self._awaiting:
                    self._awaiting.pop(ev.sub, None)
                self._consumer(PriceArrived(ev.sub, price, price != prev))
                self._changed(ev.sub)
            return None
        if t is Malformed:
            assert isinstance(ev, Malformed)
            self.stats.malformed += 1
            self._bad.warning("skipped a frame: %s", ev.reason)
            return None
        if t is Welcome:
            self._on_welcome(welcomed_at)
            return None
        if t is SubscribeComplete:
            assert isinstance(ev, SubscribeComplete)
            sub = self._watched_sub(ev.sub)
            if sub is not None:
                self._emit(Subscribed(sub))
            return None
        if t is InvalidSub:
            assert isinstance(ev, InvalidSub)
            self._on_invalid(ev)
            return None
        if t is Unauthorized:
            assert isinstance(ev, Unauthorized)
            return _End(_EndKind.AUTH, Reason.UNAUTHORIZED, ev.info)
        if t is KeyWarning:
            assert isinstance(ev, KeyWarning)
            log.warning("the server refused the key but goes on serving (%s)", ev.info)
            self._emit(ServerNotice(NoticeKind.KEY_REFUSED, "KEY_REFUSED", None, ev.info))
            return None
        if t is LimitExceeded:
            assert isinstance(ev, LimitExceeded)
            if ev.kind is LimitKind.TOO_MANY_SOCKETS:
                return _End(_EndKind.LIMITED, Reason.TOO_MANY_SOCKETS, ev.message)
            if ev.kind is LimitKind.OPENING_SOCKETS_TOO_FAST:
                return _End(_EndKind.LIMITED, Reason.OPENING_TOO_FAST, ev.message)
            if ev.kind is LimitKind.BACK_OFF:
                return _End(_EndKind.LIMITED, Reason.SERVER_BACK_OFF, ev.message)
            log.warning("server limit: %s", ev.message)
            kind = (
                NoticeKind.TOO_MANY_SUBSCRIPTIONS
                if ev.kind is LimitKind.TOO_MANY_SUBSCRIPTIONS
                else NoticeKind.LIMIT
            )
            self._emit(ServerNotice(kind, ev.message, ev.limit, ev.info))
            return None
        if t is ForceDisconnect:
            assert isinstance(ev, ForceDisconnect)
            now = self._clock.monotonic()
            if ev.planned and now - self._asked_rotate_at >= _MIN_ASKED_ROTATE_S:
                # A new socket at once, prices kept live; but a server that asks again within
                # seconds gets the ordinary backoff, never a reconnect loop.
                self._asked_rotate_at = now
                return _End(_EndKind.ROTATE, Reason.ROTATED, "the server asked for a new connection")
            return _End(_EndKind.RETRY, Reason.FORCE_DISCONNECT, "FORCE_DISCONNECT")
        if t is ServerError:
            assert isinstance(ev, ServerError)
            if ev.message == "SUBSCRIPTION_ALREADY_ACTIVE":  # a harmless race of a re-subscribe
                log.debug("server error %s (%s)", ev.message, ev.parameter)
                return None
            log.warning("server error %s (%s)", ev.message, ev.parameter)
            self._emit(ServerNotice(NoticeKind.SERVER_ERROR, ev.message, None, ev.info))
            return None
        if t is Batch:
            assert isinstance(ev, Batch)
            for one in ev.events:
                end = self._dispatch(one, welcomed_at)
                if end is not None:
                    return end
            return None
        return None  # LoadComplete, UnsubscribeComplete, UnsubscribeAllComplete, Ignored

    def _changed(self, sub: Pair) -> None:
        """A watched pair's merged quote changed: views hear of it (coalesced)."""
        views = self._views
        if views is not None:
            views.mark(sub)
            if self._flush_each:
                self._flush(self._clock.monotonic())

    def _flush(self, now: float) -> None:
        """Hand the changed quotes to the views (one ``QuotesChanged``)."""
        views = self._views
        assert views is not None
        book = self.book
        quotes = tuple(q for q in map(book.quote, views.take(now)) if q is not None)
        self._emit(QuotesChanged(quotes, self.last_rx_at))

    def _on_welcome(self, welcomed_at: list[float]) -> None:
        now = self._clock.monotonic()
        if welcomed_at:
            if self._dialect.welcome_gate:
                log.warning("second welcome on one socket; ignored")
            # else: a greeting after the subscribe went out at once (Kraken's status): nothing to do
            return
        welcomed_at.append(now)
        self._welcomed = True
        self._active.clear()
        if not self._rotating or self._live_since is None:
            self._live_since = now
        self._rotating = False
        with self._lock:
            # Subscriptions are per socket: send the whole current watchlist after every welcome.
            subs = [s for s in self._watch if s not in self._invalid]
            self._to_add, self._to_remove = [], []
        self._refresh_wire()  # the adds just taken never reach _run_commands, which would do it
        conn = self._conn
        if conn is not None and subs and self._send_all(conn, self._dialect.subscribe(subs)):
            self._active.update(subs)
            self._await_first_data(subs)
        self._emit_status(Status(State.CONNECTED, Reason.WELCOMED, at=self._live_since))

    def _on_invalid(self, ev: InvalidSub) -> None:
        sub = self._watched_sub(ev.sub)
        if sub is None:
            log.info("server rejected %s, which is not watched", ev.sub)
            return
        with self._lock:
            self._invalid.add(sub)
        self._active.discard(sub)
        self._emit(SubRejected(sub, "INVALID_SUB", ev.info, ev.refusal))

    def _watched_sub(self, key: str) -> Pair | None:
        """The watched pair a server's wire key names (as in an ack or a rejection), or None."""
        pair = self._wire.get(key)
        if pair is None:  # the server may write it in another case (Binance BTCUSDT vs btcusdt)
            pair = self._wire.get(key.lower()) or self._wire.get(key.upper())
        return pair if pair is not None and pair in self._watched else None

    def _send_all(self, conn: Connection, messages: list[str]) -> bool:
        """Send ``messages`` on the stream thread, no faster than the dialect allows; False if the
        connection has ended (the rest of the batch being handled still counts, and the next read
        says why it ended: a protocol error found further on, a reset...)."""
        interval = self._dialect.send_interval_s
        for message in messages:
            if interval:
                wait = self._last_sent + interval - self._clock.monotonic()
                if wait > 0 and self._stop.wait(wait):  # a few messages at most: batched
                    return False
            try:
                conn.send_text(message)
            except Closed as exc:
                log.debug("message not sent: %s; the watchlist goes out after the next welcome", exc.reason)
                return False
            self._last_sent = self._clock.monotonic()
        return True

    def _emit(self, ev: StreamEvent) -> None:
        """Hand an event to the consumer; a consumer that raises is logged, and nothing else happens."""
        try:
            self._consumer(ev)
        except Exception:
            self._failing_consumer.warning("the stream's consumer failed on %s", type(ev).__name__)
            log.debug("consumer failure", exc_info=True)

    def _emit_status(self, status: Status) -> None:
        views = self._views
        if views is not None and views.pending and not self._stopping:
            self._flush(self._clock.monotonic())  # the quotes from before a state change go first
        if status.at is None:
            status = dataclasses.replace(status, at=self._clock.monotonic())
        self._status = status
        log.info(
            "stream %s (%s)%s",
            status.state.value,
            status.reason.value,
            "" if status.retry_in_s is None else f", retry in {status.retry_in_s:.1f}s",
        )
        self._emit(status)


def _plain_to_another_host(url: str) -> bool:
    """True for a ``ws://`` URL to a host other than this machine (the key must not travel there)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return True
    return parts.scheme.lower() == "ws" and not is_loopback(parts.hostname)
