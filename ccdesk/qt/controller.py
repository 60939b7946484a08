"""The main-thread controller: routes between the stream thread, the key session, the window, the tray,
the notifier and the settings. It holds no view logic and no protocol logic: each view refreshes
itself (``ViewClock`` only schedules), words come from ``ccdesk.wording``, blocking work runs as
background jobs, and the simulator is started through the ``start_demo`` callable it is given."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ccdesk.core import rule_edits
from ccdesk.core.alerts import Alert, Rule
from ccdesk.core.api_key import ApiKey, KeyProblem, KeyProvider, KeyState, SaveState
from ccdesk.core.autostart import Autostart, AutostartError
from ccdesk.core.clock import Clock, SystemClock
from ccdesk.core.connections import Connections
from ccdesk.core.demo import Demo, StartDemo
from ccdesk.core.endpoints import key_check_url, stream_url
from ccdesk.core.events import NoticeKind, QuotesChanged, Reason, ServerNotice, State, Status, SubRejected
from ccdesk.core.export import ExportRequest, run_export
from ccdesk.core.pairs import SOURCE_TITLES, Pair, Source, is_portfolio
from ccdesk.core.settings import Settings, without_keys
from ccdesk.core.settings_codec import KeyValueStore, save_settings
from ccdesk.core.sources import source_info
from ccdesk.core.store import Store, StoreStatus
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.alert_log import AlertLog
from ccdesk.qt.chart_window import ChartWindow
from ccdesk.qt.chart_windows import ChartWindows
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.key_session import ApiKeys
from ccdesk.qt.mini_panel import MiniPanel, PanelPlace
from ccdesk.qt.network_watch import NetworkWatch
from ccdesk.qt.notifier import ACTION_MUTE, ACTION_OPEN, ACTION_SNOOZE, SNOOZE_S, Notifier
from ccdesk.qt.portfolio import Portfolio
from ccdesk.qt.price_memory import PriceMemory
from ccdesk.qt.price_window import PriceWindow
from ccdesk.qt.quote_model import QuoteTableModel
from ccdesk.qt.settings_dialog.host import SettingsDialogHost
from ccdesk.qt.stream_hub import Endpoint, StreamHub
from ccdesk.qt.stream_worker import StreamWorker
from ccdesk.qt.tray import Tray
from ccdesk.qt.view_clock import ViewClock
from ccdesk.wording import (
    CLOSED_TO_TRAY_TEXT,
    CLOSED_TO_TRAY_TITLE,
    EMPTY_WATCHLIST_TEXT,
    KEY_SAVED_IN_DEMO_TEXT,
    NO_TRAY_TEXT,
    autostart_failed_text,
    blocked_reasons,
    demo_failed_text,
    empty_needs_key_text,
    export_delivery_words,
    export_done_text,
    export_failed_text,
    export_rule_words,
    key_not_saved_text,
    key_problem_text,
    notice_words,
    over_limit_words,
    refusal_words,
    settings_not_saved_text,
    store_problem_text,
)

log = logging.getLogger(__name__)

GEOMETRY_KEY = "window/geometry"
VIEW_STATE_KEYS = {"sort": "window/sort", "hidden_columns": "window/hidden_columns"}
"""The window's sort and hidden columns, kept beside its geometry (view state, not a setting the
settings dialog edits, so not a ``Settings`` field)."""
TRAY_HINT_KEY = "window/tray_hint_said"
"""Set once the first close to the tray has said that ccdesk keeps running there."""
MINI_PANEL_PLACE_KEY = "mini_panel/place"


class AppController(QObject):
    """Routes between the parts it is given; ``ccdesk.desktop.build_desktop`` connects the views'
    requests (menus, buttons) to its public commands.

    Signals:
        welcome_needed(): the watchlist needs a key that is nowhere (not in demo mode); the app
            shows the welcome with the ways out.
        mini_panel_shown_changed(bool): the mini panel was shown or hidden (the tray's checkable
            entry follows it).
    """

    welcome_needed = Signal()
    mini_panel_shown_changed = Signal(bool)

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
        keys: ApiKeys,
        jobs: BackgroundJobs,
        autostart: Autostart,
        start_demo: StartDemo,
        store_path: Path | None = None,
        demo: bool = False,
        clock: Clock | None = None,
        worker_factory: Callable[[], StreamWorker] | None = None,
        env: Mapping[str, str] | None = None,
        mini_panel: MiniPanel | None = None,
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
        self._demo_starting = False
        self.alerts = AlertLog(history, notifier, jobs, store_path, self)
        self.memory = PriceMemory(jobs, self._clock, model, self)
        self.alerts.problem.connect(self._on_store_problem)
        self._quitting = False
        self._env = dict(env or {})

        self.stream = StreamHub(self._clock, self._endpoint, worker_factory, self)
        self.stream.quotes_changed.connect(self._on_stream_quotes_changed)
        self.stream.connections_changed.connect(self._on_stream_connections_changed)
        self.stream.sub_rejected.connect(self._on_stream_sub_rejected)
        self.stream.alert_fired.connect(self._on_stream_alert_fired)
        self.stream.server_notice.connect(self._on_stream_server_notice)
        self.stream.key_rejected.connect(self._on_stream_key_rejected)
        self.portfolio = Portfolio(model, jobs, self._clock, self._alert_store, settings.rules, self)
        """The holdings and the rules on their totals."""
        self.portfolio.alert_fired.connect(self._on_stream_alert_fired)
        model.holdings_changed.connect(self._on_model_holdings_changed)

        keys.changed.connect(self._on_keys_changed)
        self.settings_dialog = SettingsDialogHost(window, keys, self._verify_url)
        self.settings_dialog.settings_accepted.connect(self._on_settings_dialog_settings_accepted)
        self._dialog_rules: tuple[Rule, ...] = settings.rules  # the rules the open dialog started from
        self.settings_dialog.remove_failed.connect(self.window.show_banner)
        notifier.banner_requested.connect(self._on_notifier_banner_requested)
        window.hidden.connect(self._on_window_hidden)
        window.view_state_changed.connect(self._on_window_view_state_changed)
        tray.follow(model)
        tray.set_portfolio_source(model.portfolio_totals)
        self.mini_panel = mini_panel if mini_panel is not None else MiniPanel(model)
        self.mini_panel.moved.connect(self._on_mini_panel_moved)
        self._mini_panel_shown = False
        self._view_clock = ViewClock(self._clock, (self.stream, window, tray, self.mini_panel, self), self)
        self.network = NetworkWatch(self)
        self.network.came_online.connect(self.stream.reconnect_now)
        self.charts = ChartWindows(jobs, self._clock, self._alert_store, self.portfolio.cost_per_unit, self)
        """The open chart windows, one per pair (``open_chart``)."""
        self.charts.set_rules(settings.rules)
        self.memory.history_changed.connect(self.charts.reload)  # a backfill's candles show at once

    def secrets_for_logs(self) -> tuple[str, ...]:
        """The key in use, for the log filter to scrub wherever it might appear."""
        return self.keys.secrets_for_logs()

    # -- start-up and the stream ---------------------------------------------------------------

    def start(self, *, show_window: bool = True) -> None:
        """Apply the settings to the parts, show the window (unless starting in the background)
        and find the key (or start the demo); the stream starts when that answers."""
        self._apply_to_views(self.settings)
        self.window.restore_geometry_text(self._settings_store.get(GEOMETRY_KEY))
        self.window.restore_view_state({k: self._settings_store.get(v) for k, v in VIEW_STATE_KEYS.items()})
        if self.tray.available():
            self.tray.show()
            self.window.close_to_tray = True
        else:
            self.window.show_banner(NO_TRAY_TEXT)
            show_window = True
        if show_window:
            self.window.show()
        self.tray.set_window_visible(show_window)
        self._view_clock.start()
        self.alerts.open()  # the alert history: opened and read on background threads
        self.portfolio.load()
        self._keep_candles()
        # Keyless sources start at once; a source that needs a key waits for the keyring's answer.
        self._show_demo()
        s = self.settings
        self.stream.configure(s.watchlist, s.rules, s.composite_venues)
        self._show_empty_state()  # an empty watchlist starts no stream: nothing else would say so
        if self._demo:
            self._start_demo()
        self.keys.resolve()

    def _start_demo(self) -> None:
        if self._sim is not None:
            self.stream.restart()
            return
        if self._demo_starting:
            return  # the start under way restarts the streams when it lands
        self._demo_starting = True
        self._jobs.run("demo", self._demo_job, self._on_demo_started, self._on_demo_failed)

    def _demo_job(self) -> Demo:
        """Start the simulator (on a job's thread). If the app began quitting meanwhile, nobody
        will take it (quit delivers no more job outcomes): it is stopped here."""
        sim = self._start_demo_fn()
        if self._quitting:
            sim.stop()
        return sim

    def _on_demo_started(self, sim: Demo) -> None:
        self._demo_starting = False
        self._sim = sim
        self.stream.restart()

    def _on_demo_failed(self, exc: Exception) -> None:
        self._demo_starting = False
        self.window.status_line.show_problem(demo_failed_text(exc), offer_settings=False)

    def _verify_url(self, provider: KeyProvider) -> str | None:
        # Always the key's real provider, in the demo too: the simulator accepts any key.
        return key_check_url(provider, env=self._env, setting=self.settings.rest_url)

    def _show_demo(self) -> None:
        """One state shown the same everywhere: the demo's label, and no key problem in it."""
        self.window.set_demo(self._demo)
        self.tray.set_connections(self.stream.connections, demo=self._demo)
        self._show_key_problem()

    def _keep_candles(self) -> None:
        """Every real price goes into the store's minute candles, and the store's gaps are filled
        from the venues' history; the demo's simulated prices are never kept. Takes effect from each
        stream's next run (the demo switch restarts them)."""
        store = self.alerts.store
        keep = not self._demo and store is not None
        self.stream.set_candle_sink(store.record_candles if keep and store is not None else None)
        if keep and store is not None and not self.memory.is_open:
            self.memory.open(
                store,
                lambda: self.settings.watchlist,
                self._history_key,
                self._env,
                stream_setting=self.settings.stream_url,
                rest_setting=self.settings.rest_url,
            )
        elif not keep:
            self.memory.close()

    def _history_key(self, source: Source) -> ApiKey | None:
        """A keyed source's key for its history (read on a backfill job's thread: a plain read)."""
        provider = source_info(source).key
        return None if provider is None else self.keys.key(provider)

    def _show_key_problem(self) -> None:
        """The tray's key-problem look, only while a source in use needs a key and cannot get it."""
        problems = [key_problem_text(self.keys.state(p)) for p in self._key_providers()]
        problem = next((p for p in problems if p is not None), None)
        self.tray.set_key_problem(None if self._demo else problem)

    @Slot()
    def leave_demo(self) -> None:
        """Real prices instead of the simulator's (one click, from the status line or the tray)."""
        if self._demo:
            self.apply_settings(replace(self.settings, demo=False))

    @Slot()
    def use_keyless(self) -> None:
        """Watch without a key (``settings.without_keys``: the same coins from keyless sources)."""
        self.apply_settings(without_keys(self.settings))

    @Slot()
    def start_demo(self) -> None:
        """Simulated prices (the welcome's and the empty window's "Try the demo")."""
        if not self._demo:
            self.apply_settings(replace(self.settings, demo=True))

    def _endpoint(self, source: Source) -> Endpoint | Status:
        """Where to stream ``source`` now, or the state that says why it cannot stream."""
        needs_key = source_info(source).needs_key
        if self._demo:
            if self._sim is None:
                return Status(State.CONNECTING, Reason.STARTING)
            return Endpoint(self._sim.url(source), ApiKey(self._sim.key) if needs_key else None)
        setting = self.settings.stream_url if source is Source.CRYPTOCOMPARE else None
        url = stream_url(source, env=self._env, setting=setting)
        if not needs_key:
            return Endpoint(url)
        provider = source_info(source).key
        key = None if provider is None else self.keys.key(provider)
        if key is None:
            known = provider is not None and self.keys[provider].answered
            reason = Reason.NO_KEY if known else Reason.WAITING_FOR_KEY
            return Status(State.STOPPED if known else State.CONNECTING, reason)
        return Endpoint(url, key)

    def _key_sources(self, provider: KeyProvider | None = None) -> list[Source]:
        """The sources in use that need a key (``provider``'s only, if given)."""
        keys = [(s, source_info(s).key) for s in self.stream.sources()]
        return [s for s, p in keys if p is not None and (provider is None or p is provider)]

    def _key_providers(self) -> list[KeyProvider]:
        """The providers whose keys the sources in use need."""
        return list(dict.fromkeys(p for s in self.stream.sources() if (p := source_info(s).key) is not None))

    # -- the key ---------------------------------------------------------------------------------

    @Slot(object)
    def _on_keys_changed(self, state: KeyState) -> None:
        problem = key_problem_text(state)
        self._show_key_problem()
        if state.save is SaveState.FAILED:
            self.window.show_banner(key_not_saved_text(state))
        if state.save in (SaveState.SAVED, SaveState.FAILED):
            return  # the key in use did not change: the stream already runs with it
        if self._demo:
            if state.save is SaveState.SAVING:
                self.window.show_banner(KEY_SAVED_IN_DEMO_TEXT)
            return
        sources = self._key_sources(state.provider)
        if state.problem is not KeyProblem.REJECTED:
            self.stream.restart(sources)
        if problem is not None and sources:
            if state.problem is KeyProblem.MISSING:
                self.welcome_needed.emit()
            else:
                self.window.status_line.show_problem(problem, offer_settings=True)

    # -- worker slots ----------------------------------------------------------------------------

    @Slot(object)
    def _on_stream_quotes_changed(self, changed: QuotesChanged) -> None:
        self.model.update_quotes(changed.quotes)
        if changed.quotes:
            self.portfolio.feed()
        self.charts.add_quotes(changed.quotes)
        if changed.quotes and self._mini_panel_shown:
            self.mini_panel.refresh(self._clock.monotonic())  # it repaints only if its text changed
        if changed.quotes:
            self._view_clock.poke()  # fresh data: its "now" turns into "1 s ago" in a second

    @Slot(object)
    def _on_stream_connections_changed(self, connections: Connections) -> None:
        self.model.set_live_since(connections.live_since())
        self.model.set_blocked(blocked_reasons(connections))
        self.portfolio.feed()  # a source gone: its totals are incomplete, their windows restart
        self.tray.set_connections(connections, demo=self._demo)
        self.window.status_line.show_connections(connections)
        self.memory.watch_connections(connections)
        self._show_key_problem()
        self._show_empty_state()
        self._view_clock.poke(0.0)

    def _show_empty_state(self) -> None:
        """No pairs, or none that can stream for want of a key: say so and offer the ways out."""
        text = None
        if not self.settings.watchlist:
            text = EMPTY_WATCHLIST_TEXT
        elif not self._demo:
            statuses = self.stream.connections.statuses
            if statuses and all(st.reason is Reason.NO_KEY for st in statuses.values()):
                text = empty_needs_key_text([SOURCE_TITLES[src] for src in statuses])
        self.window.show_empty_state(text)

    def sources_needing_a_key(self) -> list[str]:
        """The titles of the sources in use that cannot stream for want of a key (for the welcome)."""
        return [SOURCE_TITLES[src] for src, st in self.stream.connections if st.reason is Reason.NO_KEY]

    @Slot(object)
    def _on_stream_sub_rejected(self, rejected: SubRejected) -> None:
        self.model.mark_rejected(rejected.sub, refusal_words(rejected))

    def _on_stream_key_rejected(self, source: Source) -> None:
        provider = source_info(source).key
        if provider is not None:
            self.keys[provider].mark_rejected()

    def _on_stream_server_notice(self, source: Source, notice: ServerNotice) -> None:
        self.window.status_line.show_notice(source, notice_words(notice))
        if notice.kind is NoticeKind.TOO_MANY_SUBSCRIPTIONS:
            # The server does not say which pairs it refused: the ones still without data are the
            # ones over the limit, and say so instead of waiting on "…" forever.
            self.model.mark_waiting_rejected(over_limit_words(notice))

    @Slot(object)
    def _on_stream_alert_fired(self, alert: Alert) -> None:
        if rule_edits.is_spent(self.settings, alert.rule):
            return  # a "once" rule another source's engine fired before it heard that it was spent
        paused = self.settings.alerts_paused(self._clock.time())
        if self._demo:
            alert = replace(alert, simulated=True)  # said in the notification and the history
        self.alerts.record(alert, paused=paused)
        self._apply_rule_edit(rule_edits.mark_fired(self.settings, alert.rule, alert.at))

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
        self.window.set_paused(until)
        self._view_clock.refresh_now()

    @Slot()
    def resume_alerts(self) -> None:
        self._save(replace(self.settings, alerts_paused_until=None))
        self.tray.set_paused(None)
        self.window.set_paused(None)

    @Slot()
    def open_settings(self) -> None:
        if self.settings_dialog.dialog is None:
            self._dialog_rules = self.settings.rules
        self.settings_dialog.open(self.settings, self.model.refusals(), self.rule_price)
        if self.settings_dialog.dialog is not None:
            self.settings_dialog.dialog.alerts_tab.set_portfolio_pairs(self.portfolio.pairs())

    @Slot(object)
    def _on_settings_dialog_settings_accepted(self, new: Settings) -> None:
        # What happened to the rules while the dialog was open (a snooze from a notification, a
        # once rule spent) is kept for every rule the dialog did not change.
        rules = rule_edits.merge_dialog_rules(self._dialog_rules, new.rules, self.settings.rules)
        self.apply_settings(replace(new, rules=rules))

    @Slot(object)
    def apply_settings(self, new: Settings) -> None:
        """Apply changed settings live (watchlist via SubAdd/SubRemove, no reconnect) and save them."""
        old = self.settings
        self._save(new)
        streamed = (new.watchlist, new.rules, new.composite_venues)
        if streamed != (old.watchlist, old.rules, old.composite_venues):
            self.stream.configure(*streamed)
        added = [p for p in new.watchlist if p not in old.watchlist]
        if added:
            self.memory.seed(added)
            self.memory.fill(added)
        self._apply_to_views(new)
        if new.rules != old.rules:
            self.portfolio.set_rules(new.rules)
            self.charts.set_rules(new.rules)
        if new.watchlist != old.watchlist:
            self.portfolio.restart()
        self._show_empty_state()
        if new.autostart != old.autostart:
            try:
                if new.autostart:
                    self._autostart.enable()
                else:
                    self._autostart.disable()
            except AutostartError as exc:
                self.window.show_banner(autostart_failed_text(exc))
        if new.demo != old.demo:
            self._demo = new.demo
            self._show_demo()
            self._keep_candles()
            if self._demo:
                self._start_demo()
            else:
                self.stream.restart()
        elif new.stream_url != old.stream_url:
            self.stream.restart([Source.CRYPTOCOMPARE])
        self._view_clock.poke(0.0)

    def remember_settings(self) -> None:
        """Write the settings in use (a fresh install's defaults) so that the file exists."""
        self._save(self.settings)

    @Slot(object)
    def pin(self, sub: Pair) -> None:
        """Show ``sub`` in the tray (it must be in the watchlist; otherwise nothing happens)."""
        if sub in self.settings.watchlist and sub != self.settings.pinned:
            self.apply_settings(replace(self.settings, pinned=sub))

    @Slot(object)
    def remove_pair(self, sub: Pair) -> None:
        """Stop watching ``sub`` (unsubscribes live; the pin moves to the first pair left)."""
        if sub in self.settings.watchlist:
            watchlist = tuple(p for p in self.settings.watchlist if p != sub)
            self.apply_settings(replace(self.settings, watchlist=watchlist))

    @Slot(bool)
    def set_always_on_top(self, on: bool) -> None:
        self._save(replace(self.settings, always_on_top=on))
        self.window.set_always_on_top(on)

    @Slot(bool)
    def set_mini_panel_shown(self, shown: bool) -> None:
        """Show or hide the mini panel (the setting, the tray's entry, its own menu and Escape)."""
        if shown != self.settings.mini_panel:
            self._save(replace(self.settings, mini_panel=shown))
        self._show_mini_panel(shown)

    @Slot()
    def hide_mini_panel(self) -> None:
        """The panel's "Hide panel", Escape or close (not the close of every window at quit)."""
        if not self._quitting:
            self.set_mini_panel_shown(False)

    @Slot(int)
    def set_mini_panel_opacity(self, pct: int) -> None:
        """The mini panel's opacity, in percent (its menu's presets)."""
        if pct != self.settings.mini_panel_opacity_pct:
            self.apply_settings(replace(self.settings, mini_panel_opacity_pct=pct))

    @Slot(object)
    def set_mini_panel_pairs(self, pairs: tuple[Pair, ...]) -> None:
        """The pairs the mini panel shows (empty: it follows the watchlist)."""
        if tuple(pairs) != self.settings.mini_panel_pairs:
            self.apply_settings(replace(self.settings, mini_panel_pairs=tuple(pairs)))

    def _show_mini_panel(self, shown: bool) -> None:
        panel = self.mini_panel
        if shown and not panel.isVisible():
            if panel.place() is None:  # first shown: where it was left last time
                panel.restore_place(PanelPlace.from_text(self._settings_store.get(MINI_PANEL_PLACE_KEY)))
            panel.show()
            panel.refresh(self._clock.monotonic())
            panel.ensure_on_screen()  # its size is known now
            self._view_clock.poke(0.0)  # and when its prices turn stale
        elif not shown and panel.isVisible():
            self._save_mini_panel_place()
            panel.hide()
        if shown != self._mini_panel_shown:
            self._mini_panel_shown = shown
            self.mini_panel_shown_changed.emit(shown)

    def mini_panel_shown(self) -> bool:
        return self._mini_panel_shown

    @Slot()
    def _on_mini_panel_moved(self) -> None:
        self._save_mini_panel_place()

    def _save_mini_panel_place(self) -> None:
        place = self.mini_panel.place()
        log.debug("mini panel place: %s", place)
        if place is not None and self._settings_store.get(MINI_PANEL_PLACE_KEY) != place.to_text():
            self._settings_store.set(MINI_PANEL_PLACE_KEY, place.to_text())
            self._settings_store.sync()

    @Slot()
    def _on_window_hidden(self) -> None:
        self.tray.set_window_visible(False)
        self._save_geometry()
        if self._settings_store.get(TRAY_HINT_KEY) != "true":
            # Said once: the first close to the tray says where ccdesk went. Without balloons (some
            # trays), the window says it the next time it is opened.
            if not self.tray.show_message(CLOSED_TO_TRAY_TITLE, CLOSED_TO_TRAY_TEXT):
                self.window.show_banner(CLOSED_TO_TRAY_TEXT)
            self._settings_store.set(TRAY_HINT_KEY, "true")
            self._settings_store.sync()

    @Slot()
    def _on_window_view_state_changed(self) -> None:
        for name, value in self.window.view_state().items():
            self._settings_store.set(VIEW_STATE_KEYS[name], value)
        self._settings_store.sync()

    @Slot(str, object)
    def act_on_notification(self, action: str, alert: Alert) -> None:
        """What the user chose on an alert's desktop notification: open the window, snooze the
        rule that fired for an hour, or mute it (``Notifier.action_invoked``)."""
        if action == ACTION_OPEN:
            self.show_window()
        elif action == ACTION_SNOOZE:
            self.snooze_rule(alert.rule.id, SNOOZE_S)
        elif action == ACTION_MUTE:
            self.mute_rule(alert.rule.id)
        else:
            log.info("unknown notification action %r", action)

    @Slot()
    def quit(self) -> None:
        """Close the socket, end the thread (bounded), stop helpers, and leave the event loop."""
        if self._quitting:
            return
        self._quitting = True
        self._view_clock.stop()
        self._save_geometry()
        self._save_mini_panel_place()
        self.mini_panel.hide()  # the setting keeps it shown for the next start
        self.stream.stop(2000)
        self.charts.close_all()
        self.notifier.shutdown()
        self.tray.hide()
        self._jobs.shutdown()
        self.memory.close()
        self.alerts.close(1.0)
        if self._sim is not None:
            self._sim.stop()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    # -- alert rules (by id: the notification actions, the history and the Alerts tab call these) --

    @Slot(str, float)
    def snooze_rule(self, rule_id: str, seconds: float) -> None:
        """The rule fires nothing for ``seconds`` from now (an unknown id: nothing happens)."""
        if not seconds > 0 or not math.isfinite(seconds):
            log.warning("snooze of %r seconds ignored", seconds)
            return
        self._apply_rule_edit(rule_edits.snooze_rule(self.settings, rule_id, self._clock.time() + seconds))

    @Slot(str)
    def mute_rule(self, rule_id: str) -> None:
        """The rule fires nothing until re-armed."""
        self._apply_rule_edit(rule_edits.mute_rule(self.settings, rule_id))

    @Slot(str)
    def rearm_rule(self, rule_id: str) -> None:
        """The rule fires again: enabled, not snoozed, not spent, an expiry in the past cleared."""
        self._apply_rule_edit(rule_edits.rearm_rule(self.settings, rule_id, self._clock.time()))

    @Slot(str)
    def delete_rule(self, rule_id: str) -> None:
        """The rule removed from the settings."""
        self._apply_rule_edit(rule_edits.delete_rule(self.settings, rule_id))

    @Slot(str)
    def edit_rule(self, rule_id: str) -> None:
        """Open the settings on the Alerts tab with the rule's editor (the dialog alone if the rule
        is gone)."""
        self.open_settings()
        dialog = self.settings_dialog.dialog
        if dialog is not None:
            dialog.edit_rule(rule_id)

    @Slot(object)
    def new_rule_at_price(self, sub: Pair) -> None:
        """Open the rule editor with a level rule at ``sub``'s current price (a move rule for the
        pair if it has no price yet)."""
        price = self.current_price(sub)
        self.open_settings()
        dialog = self.settings_dialog.dialog
        if dialog is not None:
            dialog.new_rule_at_price(sub, price)

    def current_price(self, sub: Pair) -> float | None:
        """``sub``'s latest price as the window shows it, or None (not watched, no price yet)."""
        found = self.rule_price(sub)
        return None if found is None else found[0]

    def rule_price(self, sub: Pair) -> tuple[float, bool] | None:
        """``sub``'s latest price and whether the window shows it as live, or None: what the rule
        editor shows under the pair."""
        if is_portfolio(sub):
            return self.portfolio.total(sub)
        row = next((r for r in self.model.rows() if r.sub == sub), None)
        if row is None or row.quote is None or row.quote.price is None:
            return None
        return row.quote.price, self.model.is_live(row)

    def rule_id_for(self, rule: Rule) -> str | None:
        """The id of the rule in use that fired as ``rule`` (an alert's rule), or None if it is gone."""
        found = rule_edits.rule_for_alert(self.settings, rule)
        return None if found is None else found.id

    def _apply_rule_edit(self, new: Settings) -> None:
        if new is not self.settings:
            self.apply_settings(new)

    # -- holdings --------------------------------------------------------------------------------

    @Slot(object)
    def edit_holding(self, sub: Pair) -> None:
        """Open the holding dialog for ``sub`` with its price as the window shows it."""
        self.portfolio.edit(sub, self.rule_price(sub), self.window)

    @Slot()
    def _on_model_holdings_changed(self) -> None:
        self._view_clock.refresh_now()
        self.charts.refresh_cost_bases()

    # -- plumbing ------------------------------------------------------------------------------

    def _apply_to_views(self, s: Settings) -> None:
        self.model.apply_settings(s)
        self.window.set_always_on_top(s.always_on_top)
        self.notifier.set_webhook_url(s.webhook_url)
        self.tray.set_paused(s.alerts_paused_until)
        self.tray.set_price_in_icon(s.tray_price)
        self.tray.set_cycle(s.tray_cycle_s)
        self.window.set_paused(s.alerts_paused_until)
        self.mini_panel.apply_settings(s)
        if self._mini_panel_shown or s.mini_panel:
            self._show_mini_panel(s.mini_panel)
            self.mini_panel.refresh(self._clock.monotonic())

    def _save(self, new: Settings) -> None:
        old, self.settings = self.settings, new
        # previous=old: a stored value that could not be read stays as written unless this changes it.
        problem = save_settings(self._settings_store, new, previous=old)
        if problem is not None:
            self.window.show_banner(settings_not_saved_text(problem))

    def _save_geometry(self) -> None:
        self._settings_store.set(GEOMETRY_KEY, self.window.geometry_text())
        self._settings_store.sync()

    # -- export (issue 11) ------------------------------------------------------------------------

    def export(self, request: ExportRequest) -> None:
        """Write the CSV file ``request`` asks for on a background job; the banner then says where
        it went, or why it failed (nothing is written then)."""
        job = partial(run_export, self.alerts.store, request, export_rule_words, export_delivery_words)
        self._jobs.run("export", job, partial(self._on_export_done, request), self._on_export_failed)

    def _on_export_done(self, request: ExportRequest, rows: int) -> None:
        self.window.show_banner(export_done_text(str(request.path), rows, request.sub))

    def _on_export_failed(self, error: Exception) -> None:
        self.window.show_banner(export_failed_text(error))

    # -- charts (issue 11) ---------------------------------------------------------------------------

    @Slot(object)
    def open_chart(self, sub: Pair) -> ChartWindow:
        """Open ``sub``'s chart (one window per pair: a second request raises the open one). Its
        history is read from the store on a background job; live prices follow while it is open."""
        return self.charts.open(sub)

    def _alert_store(self) -> Store | None:
        return self.alerts.store
