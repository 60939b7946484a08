"""The main-thread controller: owns the stream thread, settings, key, tray, notifier and window,
and routes between them. Widgets talk to it through signals and its public commands; anything
that can block (keyring, REST, simulator start-up) runs on a background pool, never here."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QNetworkInformation

from ccdesk.core.alerts import Alert
from ccdesk.core.autostart import Autostart, AutostartError
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.demo import Demo, StartDemo
from ccdesk.core.formatting import format_age, format_duration, format_price, next_age_change
from ccdesk.core.quotes import Quote
from ccdesk.core.rest import check_key, describe
from ccdesk.core.secrets import ApiKey, KeySource, ResolvedKey, SecretsError, SecretStore, resolve_key
from ccdesk.core.settings import KeyValueStore, Settings, save_settings
from ccdesk.core.stream import DEFAULT_STREAM_URL, QuotesChanged, Reason, State, Status, SubRejected
from ccdesk.qt.notifier import Delivery, Notifier
from ccdesk.qt.price_window import PriceWindow, state_color
from ccdesk.qt.quote_model import QuoteTableModel
from ccdesk.qt.stream_worker import StreamParams, StreamThread, StreamWorker
from ccdesk.qt.tray import Tray
from ccdesk.wording import alert_body, alert_title, reason_words, state_title

log = logging.getLogger(__name__)

KEYS_URL = "https://www.cryptocompare.com/cryptopian/api-keys"


@dataclass(frozen=True, slots=True)
class _Job:
    """A finished background job on its way back to the GUI thread."""

    future: Future[Any]
    on_done: Callable[[Any], None]


class AppController(QObject):
    """Routes everything; holds no widgets' logic and no protocol logic.

    Signals:
        welcome_needed(): no key anywhere and not in demo mode; the app shows the welcome.
        _start_stream(StreamParams): internal, queued to the worker's thread.
        _job_done(_Job): internal, a background job finished.
    """

    welcome_needed = Signal()
    _start_stream = Signal(object)
    _job_done = Signal(object)

    def __init__(
        self,
        *,
        settings: Settings,
        store: KeyValueStore,
        secrets: SecretStore,
        window: PriceWindow,
        model: QuoteTableModel,
        tray: Tray,
        notifier: Notifier,
        autostart: Autostart,
        start_demo: StartDemo,
        demo: bool = False,
        clock: Clock | None = None,
        env: dict[str, str] | None = None,
        worker: StreamWorker | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._store = store
        self._secrets = secrets
        self.window = window
        self.model = model
        self.tray = tray
        self.notifier = notifier
        self._autostart = autostart
        self._demo = demo or settings.demo
        self._clock = clock or SystemClock()
        self._env = dict(os.environ) if env is None else env
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ccdesk-bg")
        self._key: ApiKey | None = None
        self._key_note = "No API key yet"
        self._start_demo_fn = start_demo
        self._sim: Demo | None = None
        self._status = Status(State.CONNECTING, Reason.STARTING)
        self._quotes: dict[Any, Quote] = {}
        self._history_items: dict[int, Any] = {}
        self._dialog: Any = None
        self._quitting = False
        self._streaming = False
        self._tray_dirty = True
        self._tray_at = -1e9
        self._last_data_at: float | None = None

        self.worker = worker or StreamWorker(self._clock)
        self.worker.quotes_changed.connect(self._on_worker_quotes_changed)
        self.worker.status_changed.connect(self._on_worker_status_changed)
        self.worker.sub_rejected.connect(self._on_worker_sub_rejected)
        self.worker.alert_fired.connect(self._on_worker_alert_fired)
        self.worker.finished.connect(self._on_worker_finished)
        self._start_stream.connect(self.worker.start_stream)
        self._job_done.connect(self._on_job_done)
        self._thread = StreamThread(self.worker)

        window.settings_requested.connect(self.open_settings)
        window.always_on_top_changed.connect(self._on_window_always_on_top_changed)
        window.quit_requested.connect(self.quit)
        window.hidden.connect(self._on_window_hidden)
        tray.toggle_window_requested.connect(self.toggle_window)
        tray.show_window_requested.connect(self.show_window)
        tray.settings_requested.connect(self.open_settings)
        tray.quit_requested.connect(self.quit)
        tray.pause_requested.connect(self.pause_alerts)
        tray.resume_requested.connect(self.resume_alerts)
        notifier.delivered.connect(self._on_notifier_delivered)
        notifier.banner_requested.connect(self._on_notifier_banner_requested)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)  # rescheduled for the next visible change each time
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._watch_network()

    def _watch_network(self) -> None:
        """Reconnect at once when the network comes back (Wi-Fi switch, VPN, cable): a socket
        from the old network would otherwise only be found dead by the liveness checks."""
        try:
            if not QNetworkInformation.loadDefaultBackend():
                return
        except RuntimeError:  # no backend on this platform
            return
        info = QNetworkInformation.instance()
        if info is not None:
            info.reachabilityChanged.connect(self._on_network_reachability_changed)

    @Slot(QNetworkInformation.Reachability)
    def _on_network_reachability_changed(self, reachability: QNetworkInformation.Reachability) -> None:
        log.info("network reachability: %s", reachability.name)
        if reachability == QNetworkInformation.Reachability.Online and self._streaming:
            self.worker.reconnect_now()

    def secrets_for_logs(self) -> tuple[str, ...]:
        """The key in use, for the log filter to scrub wherever it might appear."""
        key = self._key
        return () if key is None else (key.reveal(),)

    # -- start-up ------------------------------------------------------------------------------

    def start(self, *, show_window: bool = True) -> None:
        """Apply the settings to the parts, show the window (unless starting in the background)
        and begin resolving the key; the stream starts when that answers."""
        s = self.settings
        self.model.set_watchlist(list(s.watchlist))
        self.model.set_stale_after(s.stale_after_s)
        self._restore_geometry()
        self.window.set_always_on_top(s.always_on_top)
        self.notifier.set_webhook_url(s.webhook_url)
        self.tray.set_paused(s.alerts_paused_until)
        if self.tray.available():
            self.tray.show()
            self.window.close_to_tray = True
        else:
            self.window.show_banner("No system tray was found: ccdesk runs in this window only.")
            show_window = True
        if show_window:
            self.window.show()
        self.tray.set_window_visible(show_window)
        self._show_status(self._status)
        self._timer.start()
        if self._demo:
            self._start_demo()
        else:
            self._run_in_background(lambda: self._resolve_key(), self._on_key_resolved)

    def _resolve_key(self) -> ResolvedKey | SecretsError | Exception | None:
        try:
            return resolve_key(self._env, self._secrets)
        except (SecretsError, ValueError) as exc:
            return exc

    def _on_key_resolved(self, result: Any) -> None:
        if isinstance(result, ResolvedKey):
            self._key = result.key
            where = "the CCDESK_API_KEY variable" if result.source is KeySource.ENV else "the keyring"
            self._key_note = f"Using the key {result.key.masked()} from {where}."
            self._restart_stream()
        elif isinstance(result, SecretsError):
            self._key_note = f"Keyring unavailable: {result}"
            self._show_problem(f"The keyring could not be read: {result}", offer_settings=True)
        elif isinstance(result, Exception):
            self._key_note = f"The key could not be used: {result}"
            self._show_problem(self._key_note, offer_settings=True)
        else:
            self._show_problem(
                "No API key yet: add one in the settings, or try the demo.", offer_settings=True
            )
            self.welcome_needed.emit()

    def _start_demo(self) -> None:
        self._show_status(Status(State.CONNECTING, Reason.STARTING, "starting the simulator"))
        self._run_in_background(self._launch_sim, self._on_sim_ready)

    def _launch_sim(self) -> Demo:
        if self._sim is not None:
            return self._sim
        return self._start_demo_fn()

    def _on_sim_ready(self, sim: Any) -> None:
        if isinstance(sim, Exception):
            self._show_problem(f"The demo simulator could not start: {sim}", offer_settings=False)
            return
        self._sim = sim
        self._restart_stream()

    def _stream_params(self) -> StreamParams | None:
        s = self.settings
        if self._demo and self._sim is not None:
            return StreamParams(self._sim.stream_url, ApiKey(self._sim.key), s.watchlist, s.rules)
        if self._key is None:
            return None
        return StreamParams(s.stream_url or DEFAULT_STREAM_URL, self._key, s.watchlist, s.rules)

    def _restart_stream(self) -> None:
        params = self._stream_params()
        if params is None or self._quitting:
            return
        self.worker.stop()  # a running client returns; the queued start then runs on the same thread
        self._quotes.clear()
        self.model.set_connection(None)
        self._streaming = True
        self._start_stream.emit(params)

    # -- worker slots --------------------------------------------------------------------------

    @Slot(object)
    def _on_worker_quotes_changed(self, changed: QuotesChanged) -> None:
        quotes = changed.quotes
        self._last_data_at = changed.last_data_at
        for q in quotes:
            self._quotes[q.sub] = q
        self._tray_dirty = True
        self.model.update_quotes(quotes)
        if quotes and self._timer.remainingTime() > 1000 and not self._quitting:
            self._timer.start(1000)  # fresh data: its "now" turns into "1 s ago" in a second

    @Slot(object)
    def _on_worker_status_changed(self, status: Status) -> None:
        self._status = status
        if status.state is State.CONNECTED:
            self.model.set_connection(status.at if status.at is not None else self._clock.monotonic())
        else:
            self.model.set_connection(None)
        self.tray.set_connection(status)
        self._show_status(status)

    @Slot(object)
    def _on_worker_sub_rejected(self, rejected: SubRejected) -> None:
        self.model.mark_rejected(rejected.sub, "not available: rejected by the server (INVALID_SUB)")

    @Slot(object)
    def _on_worker_alert_fired(self, alert: Alert) -> None:
        paused = self._alerts_paused()
        clock_time = time.strftime("%H:%M:%S", time.localtime(alert.at))
        text = f"{clock_time}  {alert_title(alert)}  ·  {alert_body(alert)}"
        self.window.add_history(text + ("  ·  paused, not shown" if paused else "  ·  delivering…"))
        self._history_items[id(alert)] = self.window.history.item(0)
        if not paused:
            self.notifier.deliver(alert)

    @Slot(object)
    def _on_worker_finished(self, state: State) -> None:
        self._streaming = False
        if state is State.AUTH_FAILED:
            self._show_problem("The API key was rejected by the server.", offer_settings=True)

    @Slot(object)
    def _on_notifier_delivered(self, delivery: Delivery) -> None:
        item = self._history_items.pop(id(delivery.alert), None)
        if item is None:
            return
        channel = {"desktop": "notified", "tray": "shown by the tray", "banner": "shown in the window"}.get(
            delivery.channel, "not delivered"
        )
        text = item.text().rsplit("  ·  ", 1)[0] + f"  ·  {channel}"
        if delivery.webhook is not None and not delivery.webhook.ok:
            text += f"; webhook failed: {delivery.webhook.error}"
        elif delivery.webhook is not None:
            text += "; webhook sent"
        if delivery.error:
            item.setToolTip(delivery.error)
        item.setText(text)

    @Slot(str, str)
    def _on_notifier_banner_requested(self, title: str, body: str) -> None:
        self.window.show_banner(f"<b>{title}</b><br>{body}")

    # -- status --------------------------------------------------------------------------------

    def _show_status(self, status: Status, retry_in_s: float | None = None) -> None:
        state = status.state
        kind = {
            State.CONNECTED: "live",
            State.CONNECTING: "busy",
            State.RECONNECTING: "busy",
            State.STALE: "stale",
            State.RATE_LIMITED: "error",
            State.AUTH_FAILED: "error",
            State.STOPPED: "stale",
        }[state]
        text = f"{state_title(state)} — {reason_words(status)}" if state is not State.CONNECTED else "Live"
        retry = status.retry_in_s if retry_in_s is None else retry_in_s
        if retry is not None and state in (State.RECONNECTING, State.RATE_LIMITED):
            text += f"; retrying in {format_duration(retry)}"
        self.window.status_line.show_state(text, state_color(kind), state is State.AUTH_FAILED)

    def _show_problem(self, text: str, *, offer_settings: bool) -> None:
        self.window.status_line.show_state(text, state_color("error"), offer_settings)
        self.tray.set_key_problem(True)

    @Slot()
    def _on_timer_timeout(self) -> None:
        """Refresh what depends on the clock, then sleep until the next visible change: an age
        text moving on, a row turning stale, the retry countdown. Hidden, only the tray's
        staleness and the pause expiry need the clock, and every 5 s is plenty for them."""
        now = self._clock.monotonic()
        wake = now + 5.0
        if self.window.isVisible():
            self.model.tick(now)
            # Heartbeats arrive every 30 s on a healthy socket, so seconds would only flicker;
            # the exact age appears once nothing has come for a minute, when it matters.
            last = self._last_data_at
            if last is None:
                activity = ""
            elif now - last < 60:
                activity = "last message under a minute ago"
                wake = min(wake, last + 60)
            else:
                activity = f"last message {format_age(now - last)}"
                wake = min(wake, last + next_age_change(now - last))
            self.window.status_line.show_activity(activity)
            status = self._status
            if status.retry_at is not None and status.state in (State.RECONNECTING, State.RATE_LIMITED):
                self._show_status(status, max(0.0, status.retry_at - now))
                wake = min(wake, now + 1.0)
            self._update_title()
            rows = self.model.next_change(now)
            if rows is not None:
                wake = min(wake, rows)
        # The tray needs new quotes when they changed, and the clock only for staleness, which
        # turns over slowly: rebuilding its tooltip every second would be idle work.
        if self._tray_dirty or now - self._tray_at >= 5.0:
            self._tray_dirty = False
            self._tray_at = now
            quotes = list(self._quotes.values())
            self.tray.set_quotes(quotes, self.settings.pinned, now, self.settings.stale_after_s)
        until = self.settings.alerts_paused_until
        if until is not None and math.isfinite(until) and self._clock.time() >= until:
            self.resume_alerts()
        if not self._quitting:
            self._timer.start(max(200, int((wake - now) * 1000) + 5))

    def _update_title(self) -> None:
        pinned = self.settings.pinned
        q = self._quotes.get(pinned) if pinned is not None else None
        title = "ccdesk" if q is None or q.price is None else f"ccdesk — {q.sub.pair} {format_price(q.price)}"
        if self.window.windowTitle() != title:
            self.window.setWindowTitle(title)

    # -- commands ------------------------------------------------------------------------------

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
        self._on_timer_timeout()  # fresh ages at once, and back to ticking every second

    @Slot(float)
    def pause_alerts(self, seconds: float) -> None:
        until = math.inf if math.isinf(seconds) else self._clock.time() + seconds
        self._save(replace(self.settings, alerts_paused_until=until))
        self.tray.set_paused(until)

    @Slot()
    def resume_alerts(self) -> None:
        self._save(replace(self.settings, alerts_paused_until=None))
        self.tray.set_paused(None)

    def _alerts_paused(self) -> bool:
        until = self.settings.alerts_paused_until
        return until is not None and (math.isinf(until) or self._clock.time() < until)

    @Slot()
    def open_settings(self) -> None:
        from ccdesk.qt.settings_dialog import SettingsDialog  # deferred: not needed for first paint

        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return
        dialog = SettingsDialog(self.settings, self._key_note, self.window)
        dialog.verify_requested.connect(self._on_dialog_verify_requested)
        dialog.settings_accepted.connect(self.apply_settings)
        dialog.key_entered.connect(self._on_dialog_key_entered)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    @Slot(object)
    def _on_dialog_verify_requested(self, key: ApiKey) -> None:
        rest_url = self.settings.rest_url
        if self._demo and self._sim is not None:
            rest_url = self._sim.rest_url
        dialog = self._dialog

        def done(check: Any) -> None:
            if dialog is not None and dialog is self._dialog:
                if isinstance(check, Exception):
                    dialog.show_verify_result(f"The check could not run: {check}", False)
                else:
                    dialog.show_verify_result(describe(check), check.ok)

        self._run_in_background(lambda: check_key(rest_url, key), done)

    @Slot(object)
    def _on_dialog_key_entered(self, key: ApiKey) -> None:
        self._key = key
        self._key_note = f"Using the key {key.masked()} (saving to the keyring…)"
        self.tray.set_key_problem(False)
        if not self._demo:
            self._restart_stream()
        self._run_in_background(lambda: self._secrets.save(key), self._on_key_saved)

    def _on_key_saved(self, result: Any) -> None:
        key = self._key
        masked = key.masked() if key is not None else ""
        if isinstance(result, Exception):
            self._key_note = f"Using the key {masked} for this session only: {result}"
            self.window.show_banner(
                f"The API key could not be saved to the keyring ({result}). "
                "It is used for this session only; nothing was written to disk."
            )
        else:
            self._key_note = f"The key {masked} is stored in the keyring."

    @Slot(object)
    def apply_settings(self, new: Settings) -> None:
        """Apply changed settings live (watchlist via SubAdd/SubRemove, no reconnect) and save them."""
        old = self.settings
        self._save(new)
        added = [s for s in new.watchlist if s not in old.watchlist]
        removed = [s for s in old.watchlist if s not in new.watchlist]
        if added:
            self.worker.add(added)
        if removed:
            self.worker.remove(removed)
            for sub in removed:
                self._quotes.pop(sub, None)
        if new.watchlist != old.watchlist:
            self.model.set_watchlist(list(new.watchlist))
        if new.rules != old.rules:
            self.worker.set_rules(new.rules)
        self.model.set_stale_after(new.stale_after_s)
        self.window.set_always_on_top(new.always_on_top)
        self.notifier.set_webhook_url(new.webhook_url)
        if new.autostart != old.autostart:
            try:
                if new.autostart:
                    self._autostart.enable()
                else:
                    self._autostart.disable()
            except AutostartError as exc:
                self.window.show_banner(f"Start at login could not be changed: {exc}")
        if new.demo != old.demo or new.stream_url != old.stream_url:
            self._demo = new.demo
            if self._demo:
                self._start_demo()
            else:
                self._restart_stream()

    @Slot(bool)
    def _on_window_always_on_top_changed(self, on: bool) -> None:
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
        self._timer.stop()
        self._save_geometry()
        self._thread.stop(2000)
        self.notifier.shutdown()
        self.tray.hide()
        if self._sim is not None:
            self._sim.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    # -- plumbing ------------------------------------------------------------------------------

    def _save(self, new: Settings) -> None:
        self.settings = new
        save_settings(self._store, new)

    def _save_geometry(self) -> None:
        self._store.set(
            "window/geometry", bytes(self.window.saveGeometry().toBase64().data()).decode("ascii")
        )
        self._store.sync()

    def _restore_geometry(self) -> None:
        text = self._store.get("window/geometry")
        if text:
            self.window.restoreGeometry(QByteArray.fromBase64(text.encode("ascii")))

    def _run_in_background(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """Run ``fn`` on the pool; ``on_done(result or exception)`` runs back on the GUI thread."""
        if self._quitting:
            return
        future = self._pool.submit(fn)
        future.add_done_callback(lambda f: self._job_done.emit(_Job(f, on_done)))

    @Slot(object)
    def _on_job_done(self, job: _Job) -> None:
        if self._quitting or job.future.cancelled():
            return
        exc = job.future.exception()
        if exc is not None:
            log.warning("background job failed: %s", exc)
        job.on_done(exc if exc is not None else job.future.result())
