"""Every source's stream as the GUI thread sees it: one ``StreamSession`` (one QThread, one connection)
per source in use, each independent of the others, plus the composite prices computed from the
keyless venues' quotes on this thread.

A source that is down, rate-limited, geo-blocked or without its key never stalls or restarts another:
the hub only ever starts, changes or stops the sources a change concerns.

Each source's worker coalesces its own quotes (at most ~10 batches a second); the hub merges the
sources' batches once more, so that the views take at most ~10 batches a second however many
sources stream (three sources, each on its own schedule, would otherwise triple the GUI thread's
repaints). A batch that arrives when none went out for ``FLUSH_S`` goes out at once: one source
adds no delay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import Rule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.candle_feed import CandleSink
from ccdesk.core.clock import Clock
from ccdesk.core.composite import COMPOSITE_VENUES, CompositeBook, refused_composites, subscriptions
from ccdesk.core.connections import Connections
from ccdesk.core.events import PriceArrived, QuotesChanged, Reason, ServerNotice, State, Status, SubRejected
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.quotes import Quote
from ccdesk.core.wire import Refusal
from ccdesk.qt.stream_session import StreamSession
from ccdesk.qt.stream_worker import StreamParams, StreamWorker

log = logging.getLogger(__name__)

FLUSH_S = 0.1
"""At most one merged batch of quotes to the views per this many seconds (the workers' own rate)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to stream one source: its URL and the key it needs (None for a keyless one)."""

    url: str
    key: ApiKey | None = None


EndpointFor = Callable[[Source], "Endpoint | Status"]
"""Answers where to stream a source, or the status that says why it cannot stream (no key yet...)."""


class StreamHub(QObject):
    """The sources in use and their sessions. Main thread only.

    Signals:
        quotes_changed(QuotesChanged): changed quotes of one source, or of composite prices.
        connections_changed(Connections): a source's state changed, or the sources in use did.
        sub_rejected(SubRejected): a source refused a pair (a composite: every venue refused it).
        server_notice(Source, ServerNotice): a source's complaint that is not about one pair.
        alert_fired(Alert): an alert rule fired on a watched pair or a composite price.
        key_rejected(Source): the source's latest run ended because it refused the key.
    """

    quotes_changed = Signal(object)
    connections_changed = Signal(object)
    sub_rejected = Signal(object)
    server_notice = Signal(object, object)
    alert_fired = Signal(object)
    key_rejected = Signal(object)

    def __init__(
        self,
        clock: Clock,
        endpoint: EndpointFor,
        worker_factory: Callable[[], StreamWorker] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._endpoint = endpoint
        self._worker_factory = worker_factory
        self._candle_sink: CandleSink | None = None
        self.sessions: dict[Source, StreamSession] = {}
        self._plan: dict[Source, tuple[Pair, ...]] = {}
        self._watchlist: tuple[Pair, ...] = ()
        self._venues: tuple[Source, ...] = COMPOSITE_VENUES
        self._rules: tuple[Rule, ...] = ()
        self._streaming: set[Source] = set()
        self.connections = Connections()
        self._composite = CompositeBook(self._venues)
        self._composite_alerts = AlertFeed((), clock)
        self._refused: set[Pair] = set()
        self._closed = False
        self._pending: dict[Pair, Quote] = {}  # the sources' latest quotes not yet sent to the views
        self._pending_data_at: float | None = None
        self._flushed_at = -FLUSH_S
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)

    # -- what to stream ------------------------------------------------------------------------

    def configure(
        self, watchlist: Sequence[Pair], rules: Sequence[Rule], venues: Sequence[Source] | None = None
    ) -> None:
        """Stream ``watchlist`` (and what its composite prices need) with ``rules``. Only the
        sources this changes are touched: pairs are added and removed on live sockets, a source
        newly used starts, a source no longer used stops; the others go on undisturbed."""
        if self._closed:
            return
        self._watchlist = tuple(dict.fromkeys(watchlist))
        self._rules = tuple(rules)
        if venues is not None:
            self._venues = tuple(venues)
        composites = [p for p in self._watchlist if p.source is Source.COMPOSITE]
        self._composite.watch(composites, self._venues)
        self._composite_alerts.set_rules(self._rules)
        old, self._plan = self._plan, subscriptions(self._watchlist, self._venues)
        for source in list(self._streaming):
            if source not in self._plan:
                self._halt(source)
            else:
                self._update(source, old.get(source, ()))
        for source in self._plan:
            if source not in self._streaming:
                self._start(source)
        self._set_connections(self.connections.only(set(self._plan)))

    def restart(self, sources: Iterable[Source] | None = None) -> None:
        """Start these sources afresh (all in use by default), asking ``endpoint`` again: a key,
        an endpoint or the demo changed. The others are not touched."""
        if self._closed:
            return
        for source in list(self._plan) if sources is None else list(sources):
            if source in self._plan:
                self._start(source)

    def reconnect_now(self) -> None:
        """Replace every socket (the network came back)."""
        for source in self._streaming:
            self.sessions[source].reconnect_now()

    def sources(self) -> tuple[Source, ...]:
        """The sources in use, in ``Source`` order."""
        return tuple(self._plan)

    @property
    def ended(self) -> bool:
        """True once every stream thread has finished (after ``stop``)."""
        return all(s.ended for s in self.sessions.values())

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Stop every source and end their threads, waiting at most ``timeout_ms`` in all."""
        self._closed = True
        self._flush_timer.stop()
        for session in self.sessions.values():
            session.close()
        deadline = self._clock.monotonic() + timeout_ms / 1000.0
        ended = True
        for session in self.sessions.values():
            left = int((deadline - self._clock.monotonic()) * 1000)
            if not session.wait(left):
                log.warning("the %s stream thread did not end in time", session.source.value)
                ended = False
        return ended

    def refresh(self, now: float) -> float | None:
        """The view clock's hook: composite prices drop venues whose price grew too old."""
        self._emit_composite(self._composite.refresh(self.connections.live_since(), now))
        return self._composite.next_change(now)

    def set_candle_sink(self, sink: CandleSink | None) -> None:
        """Every source's prices become minute candles handed to ``sink`` (None: none, as in the
        demo), from each source's next run on; a source already streaming restarts its run only
        when it next reconnects, so call this before the streams start."""
        self._candle_sink = sink
        for session in self.sessions.values():
            session.worker.set_candle_sink(sink)

    # -- sessions ------------------------------------------------------------------------------

    def _session(self, source: Source) -> StreamSession:
        session = self.sessions.get(source)
        if session is None:
            worker = self._worker_factory() if self._worker_factory is not None else None
            session = self.sessions[source] = StreamSession(source, self._clock, worker, self)
            session.worker.set_candle_sink(self._candle_sink)
            session.quotes_changed.connect(self._on_quotes_changed)
            session.status_changed.connect(partial(self._on_status_changed, source))
            session.sub_rejected.connect(self._on_sub_rejected)
            session.server_notice.connect(partial(self._on_server_notice, source))
            session.alert_fired.connect(self.alert_fired)
            session.key_rejected.connect(partial(self._on_key_rejected, source))
        return session

    def _watched(self, source: Source) -> frozenset[Pair] | None:
        subs = self._plan.get(source, ())
        watched = frozenset(p for p in subs if p in self._watchlist)
        return None if len(watched) == len(subs) else watched

    def _start(self, source: Source) -> None:
        endpoint = self._endpoint(source)
        session = self._session(source)
        if isinstance(endpoint, Status):  # cannot stream it now (no key): say why
            if source in self._streaming:
                session.halt()
                self._streaming.discard(source)
            self._set_connections(self.connections.with_status(source, endpoint))
            return
        self._refused -= set(self._plan[source])
        params = StreamParams(
            endpoint.url,
            endpoint.key,
            self._plan[source],
            self._rules,
            source=source,
            watched=self._watched(source),
        )
        self._streaming.add(source)
        session.run(params)
        self._set_connections(
            self.connections.with_status(
                source, Status(State.CONNECTING, Reason.STARTING, at=self._clock.monotonic())
            )
        )

    def _update(self, source: Source, before: tuple[Pair, ...]) -> None:
        session = self.sessions[source]
        now = self._plan[source]
        added = [p for p in now if p not in before]
        removed = [p for p in before if p not in now]
        if added:
            session.add(added)
        if removed:
            session.remove(removed)
        session.set_watched(self._watched(source))
        session.set_rules(self._rules)

    def _halt(self, source: Source) -> None:
        self.sessions[source].halt()
        self._streaming.discard(source)

    def _set_connections(self, connections: Connections) -> None:
        if connections != self.connections:
            self.connections = connections
            self.connections_changed.emit(connections)

    # -- what the sessions report --------------------------------------------------------------

    @Slot(object)
    def _on_quotes_changed(self, changed: QuotesChanged) -> None:
        pending = self._pending
        for q in changed.quotes:
            pending[q.sub] = q  # the latest quote, in first-changed order
        at = changed.last_data_at
        if at is not None and (self._pending_data_at is None or at > self._pending_data_at):
            self._pending_data_at = at
        if self._flush_timer.isActive():
            return  # a flush is already due
        wait_s = self._flushed_at + FLUSH_S - self._clock.monotonic()
        if wait_s <= 0:
            self._flush()
        else:
            self._flush_timer.start(max(1, round(wait_s * 1000)))

    @Slot()
    def _flush(self) -> None:
        """Send the merged batch to the views, then the composite prices it moves."""
        if self._closed:
            return
        now = self._flushed_at = self._clock.monotonic()
        quotes, self._pending = tuple(self._pending.values()), {}
        data_at, self._pending_data_at = self._pending_data_at, None
        self.quotes_changed.emit(QuotesChanged(quotes, data_at))
        if self._composite.member_pairs():
            self._emit_composite(self._composite.update(quotes, self.connections.live_since(), now))

    def _on_status_changed(self, source: Source, status: Status) -> None:
        if source not in self._streaming:
            return  # a late word from a source no longer used
        self._set_connections(self.connections.with_status(source, status))
        if self._composite.member_pairs():
            self.refresh(self._clock.monotonic())

    @Slot(object)
    def _on_sub_rejected(self, rejected: SubRejected) -> None:
        if rejected.sub in self._watchlist:
            self.sub_rejected.emit(rejected)
        self._refused.add(rejected.sub)
        for c in refused_composites(self._watchlist, self._venues, self._refused, rejected.sub):
            self.sub_rejected.emit(SubRejected(c, "NOT_LISTED", None, Refusal.NOT_LISTED))

    def _on_server_notice(self, source: Source, notice: ServerNotice) -> None:
        self.server_notice.emit(source, notice)

    def _on_key_rejected(self, source: Source) -> None:
        self.key_rejected.emit(source)

    def _emit_composite(self, quotes: list[Quote]) -> None:
        if not quotes:
            return
        self.quotes_changed.emit(QuotesChanged(tuple(quotes), None))
        for q in quotes:
            if q.price is not None and q.basis:
                for alert in self._composite_alerts.on_event(PriceArrived(q.sub, q.price, True)):
                    self.alert_fired.emit(alert)
