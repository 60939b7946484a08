"""The stream's Qt adapter: runs the core StreamClient on its own QThread and turns its events
into signals. Alerts see every price here; the GUI gets coalesced batches (<= ~10/s)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ccdesk.core.alerts import AlertEngine, Rule
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.quotes import Quote
from ccdesk.core.secrets import ApiKey
from ccdesk.core.stream import (
    PriceTick,
    Reason,
    State,
    Status,
    StreamClient,
    StreamConfig,
    StreamEvent,
    SubRejected,
    Tick,
)
from ccdesk.core.subs import Sub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What the worker needs to start streaming."""

    url: str
    key: ApiKey | None
    subs: tuple[Sub, ...]
    rules: tuple[Rule, ...]
    flush_interval_s: float = 0.1
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)


class StreamWorker(QObject):
    """Lives on the stream QThread (``moveToThread``); ``start_stream`` blocks that thread in the
    client's loop until ``stop()``. Only ``add``/``remove``/``set_rules``/``reconnect_now``/``stop``
    may be called from other threads; they are thread-safe.

    Signals:
        quotes_changed(tuple[Quote, ...]): changed pairs, at most once per flush interval.
        status_changed(Status): every connection state change.
        sub_rejected(SubRejected): the server refused a pair.
        alert_fired(Alert): an alert rule fired (evaluated on every price).
        finished(State): the client returned (STOPPED or AUTH_FAILED).
    """

    quotes_changed = Signal(object)
    status_changed = Signal(object)
    sub_rejected = Signal(object)
    alert_fired = Signal(object)
    finished = Signal(object)

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._client: StreamClient | None = None
        self._engine: AlertEngine | None = None
        self._pending_rules: tuple[Rule, ...] | None = None
        self._dirty: dict[Sub, None] = {}
        self._last_flush = 0.0
        self._flush_s = 0.1
        self._closed = False

    # -- any thread ---------------------------------------------------------------------------

    @property
    def last_rx_at(self) -> float | None:
        """Monotonic time anything last arrived on the socket (None before the first)."""
        client = self._client
        return None if client is None else client.last_rx_at

    def add(self, subs: Sequence[Sub]) -> None:
        """Subscribe more pairs on the live socket."""
        client = self._client
        if client is not None:
            client.add(subs)

    def remove(self, subs: Sequence[Sub]) -> None:
        """Unsubscribe pairs on the live socket."""
        client = self._client
        if client is not None:
            client.remove(subs)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Replace the alert rules; applied on the stream thread before the next price."""
        with self._lock:
            self._pending_rules = tuple(rules)

    def reconnect_now(self) -> None:
        """Replace the socket (e.g. after the network changed)."""
        client = self._client
        if client is not None:
            client.reconnect_now()

    def stop(self) -> None:
        """Stop the running client (e.g. to restart with a new key). Any thread, does not wait."""
        client = self._client
        if client is not None:
            client.stop()

    def shutdown(self) -> None:
        """Stop for good: the running client stops and a start still queued will not run."""
        with self._lock:
            self._closed = True
            client = self._client
        if client is not None:
            client.stop()

    # -- the stream thread --------------------------------------------------------------------

    @Slot(object)
    def start_stream(self, params: StreamParams) -> None:
        """Run the client until stopped (blocks this worker's thread)."""
        self._flush_s = params.flush_interval_s
        self._engine = AlertEngine(params.rules, self._clock)
        config = StreamConfig(url=params.url, backoff=params.backoff, tick_s=params.flush_interval_s)
        client = StreamClient(params.key, params.subs, self._on_event, config, clock=self._clock)
        with self._lock:
            closed = self._closed
            if not closed:
                self._client = client
        state = State.STOPPED
        if not closed:
            try:
                state = client.run()
            except Exception:
                log.exception("the stream thread failed")
                self.status_changed.emit(Status(State.STOPPED, Reason.STOP_REQUESTED, "internal error"))
            finally:
                with self._lock:
                    self._client = None
        self.finished.emit(state)

    def _on_event(self, ev: StreamEvent) -> None:
        # Called on the stream thread for every event: keep it quick.
        t = type(ev)
        if t is PriceTick:
            assert isinstance(ev, PriceTick)
            engine = self._engine
            if self._pending_rules is not None:
                self._apply_rules()
            if engine is not None:
                for alert in engine.on_price(ev.sub, ev.price):
                    self.alert_fired.emit(alert)
            self._dirty[ev.sub] = None
            now = self._clock.monotonic()
            if now - self._last_flush >= self._flush_s:
                self._flush(now)
            elif self._client is not None:
                self._client.wants_tick = True  # flush the rest on the next Tick
        elif t is Tick:
            assert isinstance(ev, Tick)
            if self._dirty and ev.now - self._last_flush >= self._flush_s:
                self._flush(ev.now)
        elif t is Status:
            assert isinstance(ev, Status)
            if ev.reason is Reason.CLOCK_JUMP and self._engine is not None:
                # Monotonic time stops during suspend: windows from before it would look recent.
                self._engine.reset()
            if self._dirty:
                self._flush(self._clock.monotonic())
            self.status_changed.emit(ev)
        elif t is SubRejected:
            assert isinstance(ev, SubRejected)
            if self._engine is not None:
                self._engine.forget(ev.sub)
            self.sub_rejected.emit(ev)

    def _apply_rules(self) -> None:
        with self._lock:
            rules, self._pending_rules = self._pending_rules, None
        if rules is not None and self._engine is not None:
            self._engine.set_rules(rules)

    def _flush(self, now: float) -> None:
        client = self._client
        if client is None:
            return
        book = client.book
        quotes: list[Quote] = []
        for sub in self._dirty:
            q = book.quote(sub)
            if q is not None:
                quotes.append(q)
        self._dirty.clear()
        self._last_flush = now
        client.wants_tick = False
        if quotes:
            self.quotes_changed.emit(tuple(quotes))


class StreamThread:
    """Owns the long-lived QThread and its worker; used by the main-thread controller."""

    def __init__(self, worker: StreamWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("ccdesk-stream")
        worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Stop the stream and end the thread cooperatively; True if it ended in time."""
        self.worker.shutdown()
        self.thread.quit()
        ended = self.thread.wait(timeout_ms)
        if not ended:
            log.warning("the stream thread did not end within %d ms", timeout_ms)
        return bool(ended)
