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
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

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
from ccdesk.core.protocol import (
    ForceDisconnect,
    FrameParser,
    Heartbeat,
    InvalidSub,
    LimitExceeded,
    LimitKind,
    Malformed,
    QuoteUpdate,
    ServerError,
    SubscribeComplete,
    Trade,
    Unauthorized,
    Welcome,
)
from ccdesk.core.quotes import QuoteBook
from ccdesk.core.subs import Sub, SubError, parse_sub
from ccdesk.core.transport import (
    Closed,
    ConnectError,
    ConnectFailure,
    Connection,
    TransportOptions,
    open_connection,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Stream tuning. Defaults follow the server's documented rules (see PROTOCOL.md).

    Attributes:
        silence_timeout_s: replace a socket that delivered nothing (not even a heartbeat) this long.
        ping_interval_s: send a WebSocket ping this often.
        pong_timeout_s: once the server has answered a ping on this socket, a later ping left
            unanswered this long (with nothing else received) marks the socket half-open.
        welcome_timeout_s: a connection that sends no welcome this long is replaced.
        clock_jump_s: wall time moving this much more or less than monotonic time (suspend and
            resume, a clock step) forces a reconnect.
        clock_check_s: how often an otherwise idle loop wakes to look for such a jump.
        coalesce_s: emit ``QuotesChanged`` at most this often (0: after every change; None: never,
            for a consumer that needs only ``PriceArrived``). The flush is one of the loop's
            deadlines, so an idle client sleeps until data or a deadline.
    """

    url: str = DEFAULT_STREAM_URL
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
    AUTH = "auth"
    LIMITED = "limited"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class _End:
    kind: _EndKind
    reason: Reason
    detail: str | None = None


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
        subs: Iterable[Sub],
        on_event: Callable[[StreamEvent], None],
        config: StreamConfig | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._key = api_key
        self._on_event = on_event
        self.config = config or StreamConfig()
        self._clock = clock or SystemClock()
        self._backoff = Backoff(self.config.backoff, rng or random.Random())
        self.book = QuoteBook(self._clock)
        """Merged quotes. Read only on the stream thread (i.e. inside ``on_event``)."""
        self.stats = StreamStats()
        coalesce_s = self.config.coalesce_s
        self._views: Coalescer[Sub] | None = None if coalesce_s is None else Coalescer(coalesce_s)
        self._flush_each = coalesce_s == 0
        self.last_rx_at: float | None = None
        """Monotonic time anything (frame, heartbeat, pong) last arrived (stream thread)."""
        self._parser = FrameParser(self.config.transport.max_message_bytes)
        self._bad = _LogLimiter(self._clock)

        self._lock = threading.Lock()  # guards everything below, and every SubAdd/SubRemove
        self._watch: list[Sub] = []
        self._watched: frozenset[Sub] = frozenset()  # replaced whole; read lock-free on the hot path
        self._invalid: set[Sub] = set()
        self._active: set[Sub] = set()  # sent on the current socket
        self._forget: list[Sub] = []
        self._conn: Connection | None = None
        self._welcomed = False
        self._stop = threading.Event()
        self._stopping = False  # mirrors _stop as a plain attribute for the per-message check
        self._wake = threading.Event()
        self._reconnect = False
        self._status: Status | None = None
        self.add(subs)

    def __repr__(self) -> str:  # the key must never show up in a repr
        return f"<StreamClient {self.config.url} subs={len(self._watch)}>"

    # -- commands (any thread) ---------------------------------------------------------------

    @property
    def watchlist(self) -> list[Sub]:
        """The current watchlist, in order (a copy)."""
        with self._lock:
            return list(self._watch)

    @property
    def invalid(self) -> frozenset[Sub]:
        """Pairs the server rejected."""
        with self._lock:
            return frozenset(self._invalid)

    @property
    def status(self) -> Status | None:
        """The last reported status."""
        return self._status

    def add(self, subs: Iterable[Sub]) -> None:
        """Add pairs; on a live socket they are subscribed at once (no reconnect, no duplicates)."""
        with self._lock:
            new = [s for s in dict.fromkeys(subs) if s not in self._watched]
            if not new:
                return
            self._watch.extend(new)
            self._watched = frozenset(self._watch)
            self._send_locked("SubAdd", new)

    def remove(self, subs: Iterable[Sub]) -> None:
        """Remove pairs; on a live socket they are unsubscribed at once."""
        with self._lock:
            gone = [s for s in dict.fromkeys(subs) if s in self._watched]
            if not gone:
                return
            gone_set = set(gone)
            self._watch = [s for s in self._watch if s not in gone_set]
            self._watched = frozenset(self._watch)
            self._invalid -= gone_set
            self._forget.extend(gone)
            self._send_locked("SubRemove", [s for s in gone if s in self._active])

    def stop(self) -> None:
        """Stop: close the socket now and make ``run()`` return. Any thread; does not wait.
        No events but the final STOPPED status are emitted after it."""
        self._stopping = True
        self._stop.set()
        self._wake.set()
        with self._lock:
            conn = self._conn
        if conn is not None:
            conn.close()

    def reconnect_now(self) -> None:
        """Drop the current socket and reconnect (e.g. the network changed). Still honours
        the minimum reconnect delay."""
        with self._lock:
            self._reconnect = True
            conn = self._conn
        self._wake.set()
        if conn is not None:
            conn.close()

    # -- the loop (stream thread) ------------------------------------------------------------

    def run(self) -> State:
        """Connect and stream until ``stop()`` or until the key is rejected.

        Returns:
            State.STOPPED or State.AUTH_FAILED.
        """
        self._emit_status(Status(State.CONNECTING, Reason.STARTING))
        while not self._stop.is_set():
            end, uptime = self._session()
            self._backoff.session_ended(uptime)
            if self._stop.is_set():
                break
            if end.kind is _EndKind.AUTH:
                self._emit_status(Status(State.AUTH_FAILED, end.reason, end.detail))
                return State.AUTH_FAILED
            if end.kind is _EndKind.LIMITED:
                delay = self._backoff.next_rate_limited_delay()
                state = State.RATE_LIMITED
            else:
                delay = self._backoff.next_delay()
                state = State.RECONNECTING
            now = self._clock.monotonic()
            self._emit_status(Status(state, end.reason, end.detail, delay, now + delay))
            self._wake.clear()
            if self._stop.is_set() or self._wait(delay):
                break
            self._emit_status(Status(State.CONNECTING, end.reason, end.detail))
        self._emit_status(Status(State.STOPPED, Reason.STOP_REQUESTED))
        return State.STOPPED

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds unless stopped; True if stopped. ``reconnect_now`` does not
        shorten it: the server asks for >= 5 s between reconnects."""
        return self._stop.wait(delay)

    def _session(self) -> tuple[_End, float]:
        """One connection from open to close. Returns how it ended and how long it was welcomed."""
        headers = [] if self._key is None else [f"authorization: Apikey {self._key.reveal()}"]
        self.stats.connects += 1
        try:
            conn = open_connection(self.config.url, headers, self.config.transport)
        except ConnectError as exc:
            if exc.failure is ConnectFailure.HANDSHAKE_UNAUTHORIZED:
                return _End(_EndKind.AUTH, Reason.UNAUTHORIZED, exc.detail), 0.0
            if exc.failure is ConnectFailure.HANDSHAKE_RATE_LIMITED:
                return _End(_EndKind.LIMITED, Reason.OPENING_TOO_FAST, exc.detail), 0.0
            return _End(_EndKind.RETRY, Reason.CONNECT_FAILED, exc.failure.value), 0.0
        with self._lock:
            self._conn = conn
            self._active.clear()
            self._welcomed = False
            self._reconnect = False
        welcomed_at: list[float] = []
        try:
            if self._stop.is_set():
                return _End(_EndKind.STOP, Reason.STOP_REQUESTED), 0.0
            end = self._pump(conn, welcomed_at)
        finally:
            with self._lock:
                self._conn = None
                self._welcomed = False
                self._active.clear()
            conn.close()
        uptime = self._clock.monotonic() - welcomed_at[0] if welcomed_at else 0.0
        return end, uptime

    def _pump(self, conn: Connection, welcomed_at: list[float]) -> _End:
        cfg = self.config
        clock = self._clock
        now = clock.monotonic()
        opened = now
        last_rx = now
        rx_bytes = 0
        next_ping = now + cfg.ping_interval_s
        ping_sent: float | None = None
        pong_seen = False
        pongs = 0
        wall_offset = clock.time() - now
        handle = self._handle
        views = self._views
        while True:
            deadlines = [next_ping, last_rx + cfg.silence_timeout_s, now + cfg.clock_check_s]
            if ping_sent is not None and pong_seen:
                deadlines.append(ping_sent + cfg.pong_timeout_s)
            if not welcomed_at:
                deadlines.append(opened + cfg.welcome_timeout_s)
            if views is not None:
                flush_at = views.due_at()
                if flush_at is not None:
                    deadlines.append(flush_at)
            timeout = min(deadlines) - now
            try:
                messages = conn.read(timeout)
                for m in messages:
                    if self._stopping:  # stop() means no more events, even from this batch
                        return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
                    end = handle(conn, m, welcomed_at)
                    if end is not None:
                        return end
            except Closed as exc:
                if self._stop.is_set():
                    return _End(_EndKind.STOP, Reason.STOP_REQUESTED)
                if self._reconnect:
                    return _End(_EndKind.RETRY, Reason.RECONNECT_REQUESTED)
                reason = (
                    Reason.CLOSED_BY_SERVER if exc.reason == "closed by server" else Reason.CONNECTION_LOST
                )
                return _End(_EndKind.RETRY, reason, exc.reason)
            now = clock.monotonic()
            if self._forget:
                self._drain_forget()
            if conn.bytes_received != rx_bytes:
                rx_bytes = conn.bytes_received
                last_rx = self.last_rx_at = now
                if conn.pongs_received != pongs:
                    self.stats.pongs += conn.pongs_received - pongs
                    pongs = conn.pongs_received
                    pong_seen = True
                ping_sent = None  # anything received answers the liveness question
            if now - last_rx >= cfg.silence_timeout_s:
                self._emit_status(Status(State.STALE, Reason.SILENCE, f"{now - last_rx:.0f}s"))
                return _End(_EndKind.RETRY, Reason.SILENCE, f"nothing received for {now - last_rx:.0f}s")
            if ping_sent is not None and pong_seen and now - ping_sent >= cfg.pong_timeout_s:
                self._emit_status(Status(State.STALE, Reason.PONG_TIMEOUT))
                return _End(_EndKind.RETRY, Reason.PONG_TIMEOUT, "ping unanswered")
            if not welcomed_at and now - opened >= cfg.welcome_timeout_s:
                return _End(_EndKind.RETRY, Reason.NO_WELCOME)
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

    def _handle(self, conn: Connection, m: object, welcomed_at: list[float]) -> _End | None:
        """Handle one message. Hot path first: quote updates for watched pairs."""
        self.stats.frames += 1
        if type(m) is not bytes:
            self.stats.malformed += 1
            self._bad.warning("skipped a %s message of %d bytes", type(m).__name__, getattr(m, "size", 0))
            return None
        ev = self._parser.parse(m)
        t = type(ev)
        if t is QuoteUpdate:
            assert isinstance(ev, QuoteUpdate)
            if ev.sub in self._watched:
                prev = self.book.price(ev.sub)
                price = self.book.apply_update(ev)
                if price is not None:
                    self.stats.price_ticks += 1
                    self._on_event(PriceArrived(ev.sub, price, price != prev))
                self._changed(ev.sub)
            return None
        if t is Heartbeat:
            if self._views is not None:
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
                self._on_event(PriceArrived(ev.sub, price, price != prev))
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
                self._on_event(Subscribed(sub))
            return None
        if t is InvalidSub:
            assert isinstance(ev, InvalidSub)
            self._on_invalid(ev)
            return None
        if t is Unauthorized:
            assert isinstance(ev, Unauthorized)
            return _End(_EndKind.AUTH, Reason.UNAUTHORIZED, ev.info)
        if t is LimitExceeded:
            assert isinstance(ev, LimitExceeded)
            if ev.kind is LimitKind.TOO_MANY_SOCKETS:
                return _End(_EndKind.LIMITED, Reason.TOO_MANY_SOCKETS, ev.message)
            if ev.kind is LimitKind.OPENING_SOCKETS_TOO_FAST:
                return _End(_EndKind.LIMITED, Reason.OPENING_TOO_FAST, ev.message)
            log.warning("server limit: %s", ev.message)
            kind = (
                NoticeKind.TOO_MANY_SUBSCRIPTIONS
                if ev.kind is LimitKind.TOO_MANY_SUBSCRIPTIONS
                else NoticeKind.LIMIT
            )
            self._on_event(ServerNotice(kind, ev.message, ev.limit, ev.info))
            return None
        if t is ForceDisconnect:
            return _End(_EndKind.RETRY, Reason.FORCE_DISCONNECT, "FORCE_DISCONNECT")
        if t is ServerError:
            assert isinstance(ev, ServerError)
            if ev.message == "SUBSCRIPTION_ALREADY_ACTIVE":  # a harmless race of a re-subscribe
                log.debug("server error %s (%s)", ev.message, ev.parameter)
                return None
            log.warning("server error %s (%s)", ev.message, ev.parameter)
            self._on_event(ServerNotice(NoticeKind.SERVER_ERROR, ev.message, None, ev.info))
            return None
        return None  # LoadComplete, UnsubscribeComplete, UnsubscribeAllComplete, Ignored

    def _changed(self, sub: Sub) -> None:
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
        self._on_event(QuotesChanged(quotes, self.last_rx_at))

    def _on_welcome(self, welcomed_at: list[float]) -> None:
        now = self._clock.monotonic()
        if welcomed_at:
            log.warning("second welcome on one socket; ignored")
            return
        welcomed_at.append(now)
        with self._lock:
            self._welcomed = True
            self._active.clear()
            # Subscriptions are per socket: send the whole current watchlist after every welcome.
            self._send_locked("SubAdd", [s for s in self._watch if s not in self._invalid])
        self._emit_status(Status(State.CONNECTED, Reason.WELCOMED))

    def _on_invalid(self, ev: InvalidSub) -> None:
        sub = self._watched_sub(ev.sub)
        if sub is None:
            log.info("server rejected %s, which is not watched", ev.sub)
            return
        with self._lock:
            self._invalid.add(sub)
            self._active.discard(sub)
        self._on_event(SubRejected(sub, "INVALID_SUB", ev.info))

    def _watched_sub(self, text: str) -> Sub | None:
        try:
            sub = parse_sub(text)
        except SubError:
            return None
        return sub if sub in self._watched else None

    def _drain_forget(self) -> None:
        with self._lock:
            gone, self._forget = self._forget, []
        for sub in gone:
            if sub not in self._watched:
                self.book.forget(sub)

    def _send_locked(self, action: str, subs: list[Sub]) -> None:
        """Send SubAdd/SubRemove on the live socket, if welcomed. Caller holds ``_lock``."""
        conn = self._conn
        if not subs or conn is None or not self._welcomed:
            return
        if action == "SubAdd":
            subs = [s for s in subs if s not in self._active]
            if not subs:
                return
        payload = orjson.dumps({"action": action, "subs": [str(s) for s in subs]}).decode()
        try:
            conn.send_text(payload)
        except Closed:
            log.info("%s not sent: the socket closed; it is resent after the next welcome", action)
            return
        if action == "SubAdd":
            self._active.update(subs)
        else:
            self._active.difference_update(subs)

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
        self._on_event(status)
