"""The stream as the GUI thread sees it: one long-lived QThread with its worker, started, restarted
and stopped from here, and the worker's signals passed on to whoever routes them (the controller).

Runs are serialised on the one thread: a restart stops the running client and queues the next
start behind it under a new generation, so the last request wins, a start that was superseded while
queued does nothing, and a late ``finished`` of an old run is not mistaken for the end of the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ccdesk.core.alerts import Rule
from ccdesk.core.clock import Clock
from ccdesk.core.events import State
from ccdesk.core.pairs import Pair, Source
from ccdesk.qt.stream_worker import StreamParams, StreamWorker

log = logging.getLogger(__name__)


class StreamSession(QObject):
    """Owns one source's stream thread and its worker. Main thread only.

    Signals:
        quotes_changed(QuotesChanged), status_changed(Status), sub_rejected(SubRejected),
        server_notice(ServerNotice), alert_fired(Alert): the worker's, passed on.
        key_rejected(): the latest run ended because the server refused the key.
        _start(int): internal, the generation to run, queued to the worker's thread.
    """

    quotes_changed = Signal(object)
    status_changed = Signal(object)
    sub_rejected = Signal(object)
    server_notice = Signal(object)
    alert_fired = Signal(object)
    key_rejected = Signal()
    _start = Signal(object)

    def __init__(
        self,
        source: Source,
        clock: Clock,
        worker: StreamWorker | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.worker = worker or StreamWorker(clock)
        for name in ("quotes_changed", "status_changed", "sub_rejected", "server_notice", "alert_fired"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.worker.finished.connect(self._on_worker_finished)
        self._start.connect(self.worker.start_stream)
        self.qthread = QThread()
        self.qthread.setObjectName(f"ccdesk-stream-{source.value}")
        self.worker.moveToThread(self.qthread)
        self.qthread.start()
        self._latest = 0
        self._running = False
        self._closed = False

    @property
    def running(self) -> bool:
        """True from a request until the latest run ends (the client reconnects by itself meanwhile)."""
        return self._running

    @property
    def ended(self) -> bool:
        """True once the stream thread has finished (after ``stop``)."""
        return self.qthread.isFinished()

    def run(self, params: StreamParams) -> None:
        """Stream with ``params``, replacing a running stream (it stops; this one starts after it)."""
        if self._closed:
            return
        self._latest = self.worker.request(params)
        self._running = True
        self._start.emit(self._latest)

    def halt(self) -> None:
        """Stop streaming (the source is no longer used); the thread waits for the next ``run``."""
        self._latest = self.worker.halt()  # a late finish of the halted run is not the latest run's
        self._running = False

    def add(self, subs: Sequence[Pair]) -> None:
        self.worker.add(subs)

    def remove(self, subs: Sequence[Pair]) -> None:
        self.worker.remove(subs)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        self.worker.set_rules(rules)

    def set_watched(self, watched: frozenset[Pair] | None) -> None:
        self.worker.set_watched(watched)

    def reconnect_now(self) -> None:
        if self.running:
            self.worker.reconnect_now()

    def close(self) -> None:
        """Ask the stream and its thread to end, without waiting (``wait`` does)."""
        self._closed = True
        self.worker.shutdown()
        self.qthread.quit()

    def wait(self, timeout_ms: int) -> bool:
        """Wait for the thread to end after ``close``; True if it ended in time."""
        return bool(self.qthread.wait(max(0, timeout_ms)))

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Stop the stream and end the thread cooperatively; True if it ended in time."""
        self.close()
        ended = self.wait(timeout_ms)
        if not ended:
            log.warning("the stream thread did not end within %d ms", timeout_ms)
        return bool(ended)

    @Slot(object)
    def _on_worker_finished(self, outcome: tuple[int, State]) -> None:
        generation, state = outcome
        if generation != self._latest:
            return  # an older run, replaced by a restart: the latest one goes on
        self._running = False
        if state is State.AUTH_FAILED:
            self.key_rejected.emit()
