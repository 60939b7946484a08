"""Every alert on its way to the user: shown in the history, kept in the local store, delivered
unless alerts are paused, with each delivery's outcome recorded. Simulated (demo) alerts are shown
and delivered, never kept."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ccdesk.core.alerts import Alert
from ccdesk.core.delivery import Delivery
from ccdesk.core.store import Store
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.notifier import Notifier


class AlertLog(QObject):
    """The history model, the store and the notifier, as one path for every alert. Main thread.

    Signals:
        problem(StoreStatus): the store's file is unreadable, moved aside or cannot be written
            (from its writer thread; queued to the main thread).
    """

    problem = Signal(object)

    def __init__(
        self,
        history: AlertHistoryModel,
        notifier: Notifier,
        jobs: BackgroundJobs,
        store_path: Path | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._history, self._notifier, self._jobs = history, notifier, jobs
        self._store_path = store_path
        self.store: Store | None = None
        notifier.delivered.connect(self._on_delivered)

    def open(self) -> None:
        """Open the store and load its recent alerts into the history, off the main thread."""
        store = self.store = Store.open(self._store_path, on_problem=self.problem.emit)
        self._jobs.run("history", store.recent_alerts, self._history.load)

    def record(self, alert: Alert, *, paused: bool) -> None:
        """An alert fired: show it, keep it (unless simulated) and deliver it (unless ``paused``)."""
        self._history.add(alert, paused=paused)
        if self.store is not None and not alert.simulated:
            self.store.record_alert(alert, paused=paused)
        if not paused:
            self._notifier.deliver(alert)

    def close(self, timeout_s: float) -> None:
        """Flush and close the store, waiting at most ``timeout_s`` (a stuck disk never holds up quitting)."""
        if self.store is not None:
            self.store.close(timeout_s)

    def _on_delivered(self, delivery: Delivery) -> None:
        self._history.record_delivery(delivery)
        if self.store is not None and not delivery.alert.simulated:
            self.store.record_delivery(delivery)
