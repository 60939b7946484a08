"""The stream's Qt adapter: runs the core StreamClient on its own QThread and turns its events
into signals. Alerts see every price (core AlertFeed); the GUI gets coalesced batches (<= ~10/s)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from PySide6.QtCore import QObject, Signal, Slot

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import Rule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.candle_feed import CandleFeed, CandleSink
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
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.sources import dialect_for
from ccdesk.core.stream import StreamClient, StreamConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What the worker needs to start streaming one source.

    Attributes:
        watched: The pairs alerts watch (None: all of ``subs``); the others are streamed only for
            a composite price.
    """

    url: str
    key: ApiKey | None
    subs: tuple[Pair, ...]
    rules: tuple[Rule, ...]
    flush_interval_s: float = 0.1
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    source: Source = Source.CRYPTOCOMPARE
    watched: frozenset[Pair] | None = None


class StreamWorker(QObject):
    """Lives on the stream QThread (``moveToThread``); ``start_stream`` blocks that thread in the
    client's loop until the client stops. It only turns core events into signals: the coalescing is
    the client's, the alerts the ``AlertFeed``'s.

    Restarts are serialised and the last request wins: ``request`` (any thread) records the wanted
    run under a generation number and stops the running client; a queued ``start_stream`` for an
    older generation does nothing. The watchlist and rules a run starts with are the latest ones
    (``add``/``remove``/``set_rules`` update them even while no client runs), so an edit made
    during a restart is never lost. Every method but ``start_stream`` is thread-safe.

    Signals:
        quotes_changed(QuotesChanged): changed quotes, at most once per flush interval.
        status_changed(Status): every connection state change.
        sub_rejected(SubRejected): the server refused a pair.
        server_notice(ServerNotice): a server complaint that is not about one pair.
        alert_fired(Alert): an alert rule fired (evaluated on every price).
        finished(tuple[int, State]): the run of that generation returned (STOPPED or AUTH_FAILED).
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
        self._lock = threading.Lock()  # guards everything below; never held while calling out
        self._client: StreamClient | None = None
        self._feed: AlertFeed | None = None
        self._closed = False
        self._latest = 0
        self._params: StreamParams | None = None
        self._subs: list[Pair] = []
        self._rules: tuple[Rule, ...] = ()
        self._watched: frozenset[Pair] | None = None
        self._candle_sink: CandleSink | None = None
        self._candles: CandleFeed | None = None

    # -- any thread ---------------------------------------------------------------------------

    def request(self, params: StreamParams) -> int:
        """Want a run with ``params``: the running client stops; returns the run's generation, to
        pass to ``start_stream`` (queued to this worker's thread)."""
        with self._lock:
            self._latest += 1
            self._params = params
            self._subs = list(dict.fromkeys(params.subs))
            self._rules = tuple(params.rules)
            self._watched = params.watched
            client = self._client
        if client is not None:
            client.stop()
        return self._latest

    def add(self, subs: Sequence[Pair]) -> None:
        """Watch more pairs (subscribed on the live socket at once)."""
        with self._lock:
            new = [s for s in dict.fromkeys(subs) if s not in self._subs]
            self._subs.extend(new)
            client = self._client
        if client is not None and new:
            client.add(new)

    def remove(self, subs: Sequence[Pair]) -> None:
        """Stop watching pairs (unsubscribed on the live socket at once)."""
        with self._lock:
            gone = set(subs)
            self._subs = [s for s in self._subs if s not in gone]
            client = self._client
        if client is not None and gone:
            client.remove(list(gone))

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Replace the alert rules; applied on the stream thread before the next price."""
        with self._lock:
            self._rules = tuple(rules)
            feed = self._feed
        if feed is not None:
            feed.set_rules(rules)

    def set_candle_sink(self, sink: CandleSink | None) -> None:
        """Build minute candles from every price of the next runs and hand them to ``sink`` (it must
        not block: ``Store.record_candles`` queues); None: no candles (the demo's prices are never
        kept). Takes effect when the next run starts."""
        with self._lock:
            self._candle_sink = sink

    def set_watched(self, watched: frozenset[Pair] | None) -> None:
        """Replace the pairs alerts watch (None: every pair streamed)."""
        with self._lock:
            self._watched = watched
            feed = self._feed
        if feed is not None:
            feed.set_watched(watched)

    def halt(self) -> int:
        """Stop streaming until the next ``request`` (the source left the watchlist); returns the
        generation that stands for "not streaming"."""
        with self._lock:
            self._latest += 1
            self._params = None
            client = self._client
        if client is not None:
            client.stop()
        return self._latest

    def reconnect_now(self) -> None:
        """Replace the socket (e.g. after the network changed)."""
        client = self._client
        if client is not None:
            client.reconnect_now()

    def stop(self) -> None:
        """Stop the running client. Any thread, does not wait."""
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
    def start_stream(self, generation: int) -> None:
        """Run the client of ``generation`` until it stops (blocks this worker's thread); an
        older generation than the latest requested is skipped."""
        with self._lock:
            params = self._params
            if self._closed or generation != self._latest or params is None:
                return
            feed = self._feed = AlertFeed(self._rules, self._clock, self._watched)
            sink = self._candle_sink
            candles = self._candles = None if sink is None else CandleFeed(sink, self._clock)
            config = StreamConfig(
                url=params.url,
                dialect=dialect_for(params.source),
                backoff=params.backoff,
                coalesce_s=params.flush_interval_s,
            )
            client = StreamClient(params.key, self._subs, self._on_event, config, clock=self._clock)
            self._client = client
        state = State.STOPPED
        try:
            state = client.run()
        except Exception:  # run() supervises its sessions; this would be a bug in the loop itself
            log.exception("the stream thread failed")
            self.status_changed.emit(Status(State.STOPPED, Reason.STOP_REQUESTED, "internal error"))
        finally:
            if candles is not None:
                candles.save()  # the open minutes, so a stop or restart loses none of them
            with self._lock:
                self._client = None
                if self._feed is feed:
                    self._feed = None
                if self._candles is candles:
                    self._candles = None
        self.finished.emit((generation, state))

    def _on_event(self, ev: StreamEvent) -> None:
        # Called on the stream thread for every event: keep it quick.
        t = type(ev)
        if t is PriceArrived:
            feed = self._feed
            if feed is not None:
                for alert in feed.on_event(ev):
                    self.alert_fired.emit(alert)
            candles = self._candles
            if candles is not None:
                price = cast(PriceArrived, ev)
                candles.on_price(price.sub, price.price)
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
