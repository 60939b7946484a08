"""The app's memory of prices: backfills the store's minute candles from each venue's history
(at start, for a pair added, after a suspend or a long outage) and starts the sparklines full
from the store. GUI thread; every read and request runs as a background job.

The demo never gets here: simulated prices are neither kept nor backfilled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ccdesk.core.api_key import ApiKey
from ccdesk.core.candles import HOUR_S, MINUTE_S
from ccdesk.core.clock import Clock
from ccdesk.core.connections import Connections
from ccdesk.core.pairs import Pair, Source
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.quote_model import QuoteTableModel

if TYPE_CHECKING:
    from ccdesk.core.backfill import BackfillResult, BackfillRunner, SuspendDetector
    from ccdesk.core.store import Store

log = logging.getLogger(__name__)

SPARKLINE_S: Final = 900.0
"""How much of the store's history starts a sparkline (the sparkline's own window)."""
OUTAGE_S: Final = 60.0
"""A source down for longer than this is backfilled when it comes back."""
SUSPEND_CHECK_MS: Final = 10_000


class PriceMemory(QObject):
    """Keeps the store's candles whole and seeds the sparklines from them.

    Signals:
        history_changed(tuple[Pair, ...]): a backfill added candles for these pairs (charts reload).
    """

    history_changed = Signal(object)

    def __init__(
        self, jobs: BackgroundJobs, clock: Clock, model: QuoteTableModel, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._jobs, self._clock, self._model = jobs, clock, model
        self._store: Store | None = None
        self._runner: BackfillRunner | None = None
        self._suspend: SuspendDetector | None = None
        self._bases: dict[Source, str | None] = {}
        self._cancel = threading.Event()
        self._pairs: Callable[[], Iterable[Pair]] = tuple
        self._down_since: dict[Source, float] = {}
        self._queued: dict[Source, list[tuple[Pair, int]]] = {}
        """Per source, the pairs and periods still to backfill: every pair's minutes before any hours."""
        self._running: set[Source] = set()  # sources with a backfill job under way
        self._was_live: set[Source] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(SUSPEND_CHECK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def open(
        self,
        store: Store,
        pairs: Callable[[], Iterable[Pair]],
        key_for: Callable[[Source], ApiKey | None],
        env: Mapping[str, str],
        *,
        stream_setting: str | None = None,
        rest_setting: str | None = None,
    ) -> None:
        """Start keeping ``pairs()`` (the watched pairs, asked each time) whole in ``store``.

        ``key_for`` gives a keyed source's key (called on a job's thread: it must only read).
        Which sources are backfilled, and from where: ``history_rest.backfill_bases``.
        """
        # requests comes with the history client: imported here, after the window is up.
        from ccdesk.core.backfill import Backfill, BackfillRunner, HostPacer, SuspendDetector
        from ccdesk.core.history_rest import RequestsGet, backfill_bases

        self._store, self._pairs = store, pairs
        self._cancel = cancel = threading.Event()  # a fresh one: a closed memory may be opened again
        self._bases = backfill_bases(env, stream_setting=stream_setting, rest_setting=rest_setting)
        urls = {s: u for s, u in self._bases.items() if u is not None}
        backfill = Backfill(
            RequestsGet(),
            store.record_candles,
            self._clock,
            HostPacer(self._clock),
            lambda s: not cancel.wait(s),
            key_for=key_for,
            urls=urls,
        )
        self._runner = BackfillRunner(backfill, store.candles, self._clock, cancel)
        self._suspend = SuspendDetector(self._clock)
        self._timer.start()
        wanted = tuple(pairs())
        self.seed(wanted)
        self.fill(wanted)

    def close(self) -> None:
        """Stop: running backfills end at their next wait (their threads are never joined)."""
        self._cancel.set()
        self._timer.stop()
        self._runner = None
        self._queued.clear()
        self._store = None  # nor seeds: the demo's sparklines never start with real prices

    @property
    def is_open(self) -> bool:
        return self._runner is not None

    # --- commands --------------------------------------------------------------------------

    def fill(self, pairs: Iterable[Pair]) -> None:
        """Backfill what the store is missing of ``pairs`` (of the sources it may ask). Sources run
        side by side; a source's pairs one after the other (one job at a time per source, so one
        thread per venue), each reported, and its sparkline reseeded, as soon as it is done."""
        if self._runner is None:
            return
        for pair in pairs:
            if pair.source not in self._bases:
                continue
            queue = self._queued.setdefault(pair.source, [])
            if (pair, MINUTE_S) not in queue:
                # Before any hours waiting: the minutes are what the sparklines and 24 h need.
                at = next((i for i, (_, period) in enumerate(queue) if period != MINUTE_S), len(queue))
                queue.insert(at, (pair, MINUTE_S))
        for source in list(self._queued):
            if source not in self._running:
                self._next(source)

    def _next(self, source: Source) -> None:
        runner, queue = self._runner, self._queued.get(source)
        if runner is None or not queue:
            self._queued.pop(source, None)
            self._running.discard(source)
            return
        pair, period = queue.pop(0)
        self._running.add(source)
        self._jobs.run(
            f"backfill-{source.value}",
            partial(_written, partial(runner.run_pair, pair, period), self._store),
            partial(self._on_backfill_done, source),
            partial(self._on_backfill_failed, source),
        )

    def seed(self, pairs: Iterable[Pair]) -> None:
        """Start ``pairs``' sparklines with the store's last minutes (read off this thread)."""
        store = self._store
        if store is None:
            return
        wanted = tuple(pairs)
        since = self._clock.time() - SPARKLINE_S - MINUTE_S

        def read() -> list[tuple[Pair, list[tuple[int, float]]]]:
            return [(p, [(c.start, c.close) for c in store.candles(p, MINUTE_S, since)]) for p in wanted]

        # In order: an older read (at start) must not land after a newer one (after a backfill).
        self._jobs.run("sparklines", read, self._on_minutes_read, lane="sparklines")

    @Slot(object)
    def watch_connections(self, connections: Connections) -> None:
        """A source back after more than ``OUTAGE_S`` down: backfill its pairs (the gap is in the store)."""
        now = self._clock.monotonic()
        live = set(connections.live_since())
        for source in self._was_live - live:
            self._down_since.setdefault(source, now)
        back = []
        for source in live - self._was_live:
            down = self._down_since.pop(source, None)
            if down is not None and now - down > OUTAGE_S:
                back.append(source)
        self._was_live = live
        if back:
            log.info("backfilling after an outage: %s", ", ".join(s.value for s in back))
            self.fill(p for p in self._pairs() if p.source in back)

    # --- results -----------------------------------------------------------------------------

    def _on_minutes_read(self, read: list[tuple[Pair, list[tuple[int, float]]]]) -> None:
        wall, mono = self._clock.time(), self._clock.monotonic()
        for pair, closes in read:
            # A minute's close is its last price: at the minute's end (or now, for the open one).
            points = [(mono - (wall - min(start + MINUTE_S, wall)), close) for start, close in closes]
            self._model.seed_history(pair, points)

    def _on_backfill_done(self, source: Source, result: BackfillResult | None) -> None:
        if result is not None:
            if result.candles:
                self.seed((result.pair,))
                self.history_changed.emit((result.pair,))
            runner, queue = self._runner, self._queued.get(source)
            if runner is not None and queue is not None and runner.hours_next(result):
                queue.append((result.pair, HOUR_S))  # after every pair's minutes
        self._next(source)

    def _on_backfill_failed(self, source: Source, exc: Exception) -> None:
        log.warning("a backfill job failed: %s", exc)  # a bug: the job itself returns typed results
        self._next(source)

    @Slot()
    def _on_timer_timeout(self) -> None:
        suspend = self._suspend
        if suspend is not None and (jumped := suspend.check()) is not None:
            log.info("back from a suspend of about %.0f s: backfilling", jumped)
            self.fill(self._pairs())


def _written(job: Callable[[], BackfillResult | None], store: Store | None) -> BackfillResult | None:
    """Run one backfill, then wait (on its own thread) until the store has written what it handed
    over, so that whoever reloads on ``history_changed`` reads the new candles."""
    result = job()
    if store is not None and result is not None and result.candles:
        store.flush(30.0)
    return result
