"""The main-thread controller: routes between the stream thread, the key session, the window, the tray,
the notifier and the settings. It holds no view logic and no protocol logic: each view refreshes
itself (``ViewClock`` only schedules), words come from ``ccdesk.wording``, blocking work runs as
background jobs, and the simulator is started through the ``start_demo`` callable it is given."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ccdesk.core.alerts import Alert
from ccdesk.core.api_key import ApiKey, KeyProblem, KeyState, SaveState
from ccdesk.core.autostart import Autostart, AutostartError
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.delivery import Delivery
from ccdesk.core.demo import Demo, StartDemo
from ccdesk.core.events import NoticeKind, QuotesChanged, Reason, ServerNotice, State, Status, SubRejected
from ccdesk.core.identity import DEFAULT_STREAM_URL
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import KeyValueStore, save_settings
from ccdesk.core.store import Store, StoreStatus
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.key_session import KeySession
from ccdesk.qt.network_watch import NetworkWatch
from ccdesk.qt.notifier import Notifier
from ccdesk.qt.price_window import PriceWindow
from ccdesk.qt.quote_model import QuoteTableModel
from ccdesk.qt.settings_dialog.host import SettingsDialogHost
from ccdesk.qt.stream_session import StreamSession
from ccdesk.qt.stream_worker import StreamParams, StreamWorker
from ccdesk.qt.tray import Tray
from ccdesk.qt.view_clock import ViewClock
from ccdesk.wording import (
    NO_TRAY_TEXT,
    autostart_failed_text,
    demo_failed_text,
    key_not_saved_text,
    key_problem_text,
    notice_words,
    over_limit_words,
    settings_not_saved_text,
    store_problem_text,
)

log = logging.getLogger(__name__)

GEOMETRY_KEY = "window/geometry"


class AppController(QObject):
    """Routes between the parts it is given; ``ccdesk.desktop.build_desktop`` connects the views'
    requests (menus, buttons) to its public commands.

    Signals:
        welcome_needed(): no key anywhere and not in demo mode; the app shows the welcome.
        _store_problem(StoreStatus): internal, from the store's writer thread (queued).
    """

    welcome_needed = Signal()
    _store_problem = Signal(object)

    def __init__(
        self,
        *,
        settings: Settings,
        store: KeyValueStore,
        window: PriceWindow,
        model: QuoteTableModel,
        history: AlertHistoryModel,
        tray: Tray,
        notifier: Notifier,
        keys: KeySession,
        jobs: BackgroundJobs,
        autostart: Autostart,
        start_demo: StartDemo,
        store_path: Path | None = None,
        demo: bool = False,
        clock: Clock | None = None,
        worker: StreamWorker | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._settings_store = store
        self.window, self.model, self.history, self.tray = window, model, history, tray
        self.notifier, self.keys, self._jobs, self._autostart = notifier, keys, jobs, autostart
        self._start_demo_fn = start_demo
        self._demo = demo or settings.demo
        self._clock = clock or SystemClock()
        self._sim: Demo | None = None
        self._store_path = store_path
        self._alert_store: Store | None = None
        self._quitting = False

        self.stream = StreamSession(self._clock, worker, self)
        self.stream.quotes_changed.connect(self._on_stream_quotes_changed)
        self.stream.status_changed.connect(self._on_stream_status_changed)
        self.stream.sub_rejected.connect(self._on_stream_sub_rejected)
        self.stream.alert_fired.connect(self._on_stream_alert_fired)
        self.stream.server_notice.connect(self._on_stream_server_notice)
        self.stream.key_rejected.connect(self.keys.mark_rejected)

        keys.changed.connect(self._on_keys_changed)
        self.settings_dialog = SettingsDialogHost(window, keys, self._verify_url)
        self.settings_dialog.settings_accepted.connect(self.apply_settings)
        notifier.delivered.connect(self._on_notifier_delivered)
        self._store_problem.connect(self._on_store_problem)
        notifier.banner_requested.connect(self._on_notifier_banner_requested)
        window.hidden.connect(self._on_window_hidden)
        tray.follow(model)
        self._view_clock = ViewClock(self._clock, (window, tray, self), self)
        self.network = NetworkWatch(self)
        self.network.came_online.connect(self.stream.reconnect_now)

    def secrets_for_logs(self) -> tuple[str, ...]:
        """The key in use, for the log filter to scrub wherever it might appear."""
        return self.keys.secrets_for_logs()

    # -- start-up and the stream ---------------------------------------------------------------

    def start(self, *, show_window: bool = True) -> None:
        """Apply the settings to the parts, show the window (unless starting in the background)
        and find the key (or start the demo); the stream starts when that answers."""
        self._apply_to_views(self.settings)
        self.window.restore_geometry_text(self._settings_store.get(GEOMETRY_KEY))
        if self.tray.available():
            self.tray.show()
            self.window.close_to_tray = True
        else:
            self.window.show_banner(NO_TRAY_TEXT)
            show_window = True
        if show_window:
            self.window.show()
        self.tray.set_window_visible(show_window)
        self.window.status_line.show_status(Status(State.CONNECTING, Reason.STARTING))
        self._view_clock.start()
        # The alert history: opened and read on background threads, never on this one.
        store = self._alert_store = Store.open(self._store_path, on_problem=self._store_problem.emit)
        self._jobs.run("history", store.recent_alerts, self.history.load)
        if self._demo:
            self._start_demo()
        else:
            self.keys.resolve()

    def _start_demo(self) -> None:
        if self._sim is not None:
            self._restart_stream()
            return
        self._jobs.run("demo", self._start_demo_fn, self._on_demo_started, self._on_demo_failed)

    def _on_demo_started(self, sim: Demo) -> None:
        if self._quitting:
            sim.stop()
            return
        self._sim = sim
        self._restart_stream()

    def _on_demo_failed(self, exc: Exception) -> None:
        self.window.status_line.show_problem(demo_failed_text(exc), offer_settings=False)

    def _verify_url(self) -> str | None:
        return self._sim.rest_url if self._demo and self._sim is not None else self.settings.rest_url

    def _stream_params(self) -> StreamParams | None:
        s = self.settings
        if self._demo:
            if self._sim is None:
                return None
            return StreamParams(self._sim.stream_url, ApiKey(self._sim.key), s.watchlist, s.rules)
        key = self.keys.key
        if key is None:
            return None
        return StreamParams(s.stream_url or DEFAULT_STREAM_URL, key, s.watchlist, s.rules)

    def _restart_stream(self) -> None:
        params = self._stream_params()
        if params is None or self._quitting:
            return
        self.model.set_connection(None)
        self.stream.run(params)

    # -- the key ---------------------------------------------------------------------------------

    @Slot(object)
    def _on_keys_changed(self, state: KeyState) -> None:
        problem = key_problem_text(state)
        self.tray.set_key_problem(problem is not None and not self._demo)
        if state.save is SaveState.FAILED:
            self.window.show_banner(key_not_saved_text(state))
        if state.save in (SaveState.SAVED, SaveState.FAILED):
            return  # the key in use did not change: the stream already runs with it
        if self._demo:
            return
        if problem is not None:
            self.window.status_line.show_problem(problem, offer_settings=True)
            if state.problem is KeyProblem.MISSING:
                self.welcome_needed.emit()
        if state.key is not None and state.problem is None:
            self._restart_stream()

    # -- worker slots ----------------------------------------------------------------------------

    @Slot(object)
    def _on_stream_quotes_changed(self, changed: QuotesChanged) -> None:
        self.model.update_quotes(changed.quotes)
        self.window.status_line.set_last_data(changed.last_data_at)
        if changed.quotes:
            self._view_clock.poke()  # fresh data: its "now" turns into "1 s ago" in a second

    @Slot(object)
    def _on_stream_status_changed(self, status: Status) -> None:
        connected = status.state is State.CONNECTED
        self.model.set_connection((status.at or self._clock.monotonic()) if connected else None)
        self.tray.set_connection(status)
        self.window.status_line.show_status(status)
        self._view_clock.poke(0.0)

    @Slot(object)
    def _on_stream_sub_rejected(self, rejected: SubRejected) -> None:
        self.model.mark_rejected(rejected.sub, "not available: rejected by the server (INVALID_SUB)")

    @Slot(object)
    def _on_stream_server_notice(self, notice: ServerNotice) -> None:
        self.window.status_line.show_notice(notice_words(notice))
        if notice.kind is NoticeKind.TOO_MANY_SUBSCRIPTIONS:
            # The server does not say which pairs it refused: the ones still without data are the
            # ones over the limit, and say so instead of waiting on "…" forever.
            self.model.mark_waiting_rejected(over_limit_words(notice))

    @Slot(object)
    def _on_stream_alert_fired(self, alert: Alert) -> None:
        paused = self.settings.alerts_paused(self._clock.time())
        self.history.add(alert, paused=paused)
        if self._alert_store is not None:
            self._alert_store.record_alert(alert, paused=paused)
        if not paused:
            self.notifier.deliver(alert)

    @Slot(object)
    def _on_notifier_delivered(self, delivery: Delivery) -> None:
        self.history.record_delivery(delivery)
        if self._alert_store is not None:
            self._alert_store.record_delivery(delivery)

    @Slot(object)
    def _on_store_problem(self, status: StoreStatus) -> None:
        self.window.show_banner(store_problem_text(status))

    @Slot(str, str)
    def _on_notifier_banner_requested(self, title: str, body: str) -> None:
        self.window.show_banner(f"<b>{title}</b><br>{body}")

    def refresh(self, now: float) -> float | None:
        """The view clock's hook for the end of an alert pause (a wall time)."""
        until = self.settings.alerts_paused_until
        if until is None or not math.isfinite(until):
            return None
        left = until - self._clock.time()
        if left <= 0:
            self.resume_alerts()
            return None
        return now + left

    # -- commands --------------------------------------------------------------------------------

    @Slot()
    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.close()
        else:
            self.show_window()

    @Slot()
    def show_window(self) -> None:
        self.window.bring_forward()
        self.tray.set_window_visible(True)
        self._view_clock.refresh_now()  # fresh ages at once

    @Slot(float)
    def pause_alerts(self, seconds: float) -> None:
        until = math.inf if math.isinf(seconds) else self._clock.time() + seconds
        self._save(replace(self.settings, alerts_paused_until=until))
        self.tray.set_paused(until)
        self._view_clock.refresh_now()

    @Slot()
    def resume_alerts(self) -> None:
        self._save(replace(self.settings, alerts_paused_until=None))
        self.tray.set_paused(None)

    @Slot()
    def open_settings(self) -> None:
        self.settings_dialog.open(self.settings)

    @Slot(object)
    def apply_settings(self, new: Settings) -> None:
        """Apply changed settings live (watchlist via SubAdd/SubRemove, no reconnect) and save them."""
        old = self.settings
        self._save(new)
        added = [s for s in new.watchlist if s not in old.watchlist]
        removed = [s for s in old.watchlist if s not in new.watchlist]
        if added:
            self.stream.add(added)
        if removed:
            self.stream.remove(removed)
        if new.rules != old.rules:
            self.stream.set_rules(new.rules)
        self._apply_to_views(new)
        if new.autostart != old.autostart:
            try:
                if new.autostart:
                    self._autostart.enable()
                else:
                    self._autostart.disable()
            except AutostartError as exc:
                self.window.show_banner(autostart_failed_text(exc))
        if new.demo != old.demo or new.stream_url != old.stream_url:
            self._demo = new.demo
            self.tray.set_key_problem(self.keys.state.problem is not None and not self._demo)
            if self._demo:
                self._start_demo()
            else:
                self._restart_stream()
        self._view_clock.poke(0.0)

    @Slot(bool)
    def set_always_on_top(self, on: bool) -> None:
        self._save(replace(self.settings, always_on_top=on))
        self.window.set_always_on_top(on)

    @Slot()
    def _on_window_hidden(self) -> None:
        self.tray.set_window_visible(False)
        self._save_geometry()

    @Slot()
    def quit(self) -> None:
        """Close the socket, end the thread (bounded), stop helpers, and leave the event loop."""
        if self._quitting:
            return
        self._quitting = True
        self._view_clock.stop()
        self._save_geometry()
        self.stream.stop(2000)
        self.notifier.shutdown()
        self.tray.hide()
        self._jobs.shutdown()
        if self._alert_store is not None:
            self._alert_store.close(1.0)  # bounded: a stuck disk does not hold up quitting
        if self._sim is not None:
            self._sim.stop()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    # -- plumbing ------------------------------------------------------------------------------

    def _apply_to_views(self, s: Settings) -> None:
        self.model.apply_settings(s)
        self.window.set_always_on_top(s.always_on_top)
        self.notifier.set_webhook_url(s.webhook_url)
        self.tray.set_paused(s.alerts_paused_until)

    def _save(self, new: Settings) -> None:
        old, self.settings = self.settings, new
        # previous=old: a stored value that could not be read stays as written unless this changes it.
        problem = save_settings(self._settings_store, new, previous=old)
        if problem is not None:
            self.window.show_banner(settings_not_saved_text(problem))

    def _save_geometry(self) -> None:
        self._settings_store.set(GEOMETRY_KEY, self.window.geometry_text())
        self._settings_store.sync()
