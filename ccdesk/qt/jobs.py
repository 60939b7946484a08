"""Background jobs for the GUI: blocking work off the GUI thread, the outcome back on it.

One helper for every blocking call the GUI makes (keyring reads and writes, key checks over
REST, starting the demo simulator), in the manner of Anki's ``QueryOp``: the job body runs on a
background thread and never touches widgets; ``success`` or ``failure`` then runs on the GUI
thread. Each job gets its own daemon thread, which is never joined: a keyring that waits on an
unlock prompt, or a REST call to a black-holed host, must never hold up quitting.

Jobs given the same ``lane`` run one after another, in the order they were asked for, on one
thread of that lane (a save and then a delete of the same keyring entry must not swap places).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: int
    value: Any
    error: BaseException | None


class BackgroundJobs(QObject):
    """Runs jobs on daemon threads; their outcomes are delivered on the thread that owns this object.

    Signals:
        _finished(_Outcome): internal, a job's thread -> the GUI thread (queued).
    """

    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None] | None]] = {}
        self._closed = False
        self._lanes: dict[str, deque[tuple[int, Callable[[], Any]]]] = {}
        """Each busy lane's jobs still to run; a lane with a thread at work has an entry."""
        self._lanes_lock = threading.Lock()
        self._finished.connect(self._on_job_finished, Qt.ConnectionType.QueuedConnection)

    def run(
        self,
        name: str,
        fn: Callable[[], T],
        success: Callable[[T], None],
        failure: Callable[[Exception], None] | None = None,
        *,
        lane: str | None = None,
    ) -> None:
        """Run ``fn()`` on a background thread; then ``success(result)`` or ``failure(error)`` here.

        Args:
            name: names the thread (``ccdesk-<name>``), for logs and debuggers.
            fn: the blocking work; must not touch widgets.
            success: called with the result on this object's thread.
            failure: called with the exception on this object's thread; without one, the
                failure is logged.
            lane: jobs of the same lane run in order, one at a time (their outcomes come in that
                order too); None: at once, on a thread of its own.
        """
        if self._closed:
            return
        job = next(self._ids)
        self._callbacks[job] = (success, failure)
        if lane is not None:
            with self._lanes_lock:
                waiting = self._lanes.get(lane)
                if waiting is not None:  # the lane's thread is at work: it takes this one next
                    waiting.append((job, fn))
                    return
                self._lanes[lane] = deque()
            thread = threading.Thread(
                target=self._lane_body, args=(lane, job, fn), name=f"ccdesk-{name}", daemon=True
            )
        else:
            thread = threading.Thread(target=self._body, args=(job, fn), name=f"ccdesk-{name}", daemon=True)
        thread.start()

    def pending(self) -> int:
        """Jobs started whose outcome has not been delivered yet."""
        return len(self._callbacks)

    def shutdown(self) -> None:
        """Deliver nothing more. Running jobs are abandoned, not waited for."""
        self._closed = True
        self._callbacks.clear()

    def _lane_body(self, lane: str, job: int, fn: Callable[[], Any]) -> None:
        while True:
            self._body(job, fn)
            with self._lanes_lock:
                waiting = self._lanes[lane]
                if not waiting:
                    del self._lanes[lane]  # the next job of this lane starts a thread of its own
                    return
                job, fn = waiting.popleft()

    def _body(self, job: int, fn: Callable[[], Any]) -> None:
        try:
            outcome = _Outcome(job, fn(), None)
        except BaseException as exc:  # even SystemExit: a job's thread must end its lane's turn
            outcome = _Outcome(job, None, exc)
        if self._closed:  # the app is quitting: nothing to deliver, and no Qt call to be inside
            return
        try:
            self._finished.emit(outcome)
        except RuntimeError:  # this object was deleted while the job ran (the app quit)
            log.debug("job %d finished after its owner was gone", job)

    @Slot(object)
    def _on_job_finished(self, outcome: _Outcome) -> None:
        callbacks = self._callbacks.pop(outcome.job, None)
        if callbacks is None or self._closed:
            return
        success, failure = callbacks
        error = outcome.error
        if error is None:
            success(outcome.value)
        elif failure is not None and isinstance(error, Exception):
            failure(error)
        else:
            log.warning("background job failed: %s: %s", type(error).__name__, error)
