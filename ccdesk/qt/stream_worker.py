"""The stream's Qt adapter: runs the core StreamClient on its own QThread and turns its events
into signals. Alerts see every price (core AlertFeed); the GUI gets coalesced batches (<= ~10/s)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal, Slot

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import Rule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.events import (
    PriceArrived,
    QuotesChanged,
    Reason,
    ServerNotice,
    State,
    Status,
    StreamEvent,
    SubRejected,
)
from ccdesk.core.stream import StreamClient, StreamConfig
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
    client's loop until ``stop()``. It only turns core events into signals: the coalescing is the
    client's, the alerts the ``AlertFeed``'s. Only ``add``/``remove``/``set_rules``/
    ``reconnect_now``/``stop``/``shutdown`` may be called from other threads; they are thread-safe.

    Signals:
        quotes_changed(QuotesChanged): changed quotes, at most once per flush interval.
        status_changed(Status): every connection state change.
        sub_rejected(SubRejected): the server refused a pair.
        server_notice(ServerNotice): a server complaint that is not about one pair.
        alert_fired(Alert): an alert rule fired (evaluated on every price).
        finished(State): the client returned (STOPPED or AUTH_FAILED).
    """

    quotes_changed = Signal(object)
    status_changed = Signal(object)
    sub_rejected = Signal(object)
    server_notice = Signal(object)
    alert_fired = Signal(object)
    finished = Signal(object)

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._client: StreamClient | None = None
        self._feed: AlertFeed | None = None
        self._closed = False

    # -- any thread ---------------------------------------------------------------------------

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
        feed = self._feed
        if feed is not None:
            feed.set_rules(rules)

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
        self._feed = AlertFeed(params.rules, self._clock)
        config = StreamConfig(url=params.url, backoff=params.backoff, coalesce_s=params.flush_interval_s)
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
        if t is PriceArrived:
            feed = self._feed
            if feed is not None:
                for alert in feed.on_event(ev):
                    self.alert_fired.emit(alert)
        elif t is QuotesChanged:
            self.quotes_changed.emit(ev)
        elif t is Status:
            if self._feed is not None:
                self._feed.on_event(ev)
            self.status_changed.emit(ev)
        elif t is SubRejected:
            if self._feed is not None:
                self._feed.on_event(ev)
            self.sub_rejected.emit(ev)
        elif t is ServerNotice:
            self.server_notice.emit(ev)
