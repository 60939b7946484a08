"""The desktop app's parts and how they are wired: one assembly, used by the app, ``--self-test``
and the tests, so there is no second hand-wired copy.

``build_window`` is import-light (Qt widgets and the settings model only) so that the window can be
painted first; ``build_desktop`` imports the rest (websocket-client, requests, keyring, plyer) when
it is called, after the first paint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import KeyValueStore
from ccdesk.qt.alert_history import AlertHistoryModel, HistoryActions
from ccdesk.qt.price_window import PriceWindow
from ccdesk.qt.quote_model import QuoteTableModel

if TYPE_CHECKING:
    from ccdesk.core.autostart import Autostart
    from ccdesk.core.clock import Clock
    from ccdesk.core.demo import StartDemo
    from ccdesk.core.secrets import SecretStore
    from ccdesk.qt.controller import AppController
    from ccdesk.qt.jobs import BackgroundJobs
    from ccdesk.qt.key_session import ApiKeys, CheckFn
    from ccdesk.qt.notifier import Notifier, NotifyFn
    from ccdesk.qt.stream_worker import StreamWorker
    from ccdesk.qt.tray import Tray


def build_window(settings: Settings) -> PriceWindow:
    """The price window with its table and history models, ready to show before anything else."""
    model = QuoteTableModel(settings.stale_after_s)
    model.set_watchlist(list(settings.watchlist))
    model.set_pinned(settings.pinned)
    return PriceWindow(model, AlertHistoryModel())


@dataclass(frozen=True)
class Desktop:
    """Every part of the running desktop app; the controller routes between them."""

    controller: AppController
    window: PriceWindow
    model: QuoteTableModel
    history: AlertHistoryModel
    tray: Tray
    notifier: Notifier
    keys: ApiKeys
    jobs: BackgroundJobs
    history_actions: HistoryActions | None = None


def build_desktop(
    settings: Settings,
    store: KeyValueStore,
    *,
    secrets: SecretStore,
    env: Mapping[str, str],
    autostart: Autostart,
    start_demo: StartDemo,
    demo: bool = False,
    window: PriceWindow | None = None,
    notify_fn: NotifyFn | None = None,
    check_key: CheckFn | None = None,
    clock: Clock | None = None,
    worker_factory: Callable[[], StreamWorker] | None = None,
    app_icon: str = "",
    store_path: Path | Literal["default"] | None = "default",
) -> Desktop:
    """Build and wire the desktop app.

    Args:
        settings: The loaded settings.
        store: Where settings (and the window geometry) are saved.
        secrets: The keyring store of the API keys (any provider's entry).
        env: The environment (``CCDESK_API_KEY``, ``CCDESK_COINDESK_API_KEY``, endpoint overrides).
        autostart: Start-at-login entries.
        start_demo: Starts the demo simulator (the controller never imports it).
        demo: Start in demo mode whatever the settings say (``ccdesk --demo``).
        window: A window built earlier with ``build_window`` (for the first paint); else one is built.
        notify_fn: The desktop notification call (plyer's by default; the self-test and tests
            pass their own).
        check_key: One REST key check for every provider (tests); by default each provider's own.
        clock: The clock (the system's by default; tests inject one).
        worker_factory: Makes each source's stream worker (tests and benchmarks inject a variant).
        app_icon: The notification icon's path.
        store_path: The alert history's SQLite file: by default in the user's data folder
            (``XDG_DATA_HOME``), None for none kept.

    Returns:
        The parts; call ``desktop.controller.start()`` to run.
    """
    from ccdesk.core.store import FILE_NAME, data_dir
    from ccdesk.qt.controller import AppController
    from ccdesk.qt.export_actions import ExportActions
    from ccdesk.qt.jobs import BackgroundJobs
    from ccdesk.qt.key_session import ApiKeys
    from ccdesk.qt.mini_panel import MiniPanel
    from ccdesk.qt.notifier import Notifier
    from ccdesk.qt.tray import Tray

    window = window or build_window(settings)
    if store_path == "default":
        store_path = data_dir() / FILE_NAME
    jobs = BackgroundJobs()
    keys = ApiKeys(secrets, jobs, env, check_key)
    tray = Tray()
    mini_panel = MiniPanel(window.model)
    notifier = Notifier(tray, notify_fn=notify_fn, app_icon=app_icon, sound_path=alert_sound_path())
    controller = AppController(
        settings=settings,
        store=store,
        window=window,
        model=window.model,
        history=window.history_model,
        tray=tray,
        notifier=notifier,
        keys=keys,
        jobs=jobs,
        autostart=autostart,
        start_demo=start_demo,
        store_path=store_path,
        demo=demo,
        clock=clock,
        worker_factory=worker_factory,
        env=env,
        mini_panel=mini_panel,
    )
    # What the user asks for, from the window's menu and the tray's: the controller's commands.
    window.settings_requested.connect(controller.open_settings)
    window.keyless_requested.connect(controller.use_keyless)
    window.demo_requested.connect(controller.start_demo)
    window.leave_demo_requested.connect(controller.leave_demo)
    window.always_on_top_changed.connect(controller.set_always_on_top)
    window.quit_requested.connect(controller.quit)
    window.pin_requested.connect(controller.pin)
    window.remove_requested.connect(controller.remove_pair)
    window.resume_requested.connect(controller.resume_alerts)
    window.alert_at_price_requested.connect(controller.new_rule_at_price)
    window.holding_requested.connect(controller.edit_holding)
    window.chart_requested.connect(controller.open_chart)
    tray.toggle_window_requested.connect(controller.toggle_window)
    tray.show_window_requested.connect(controller.show_window)
    tray.settings_requested.connect(controller.open_settings)
    tray.quit_requested.connect(controller.quit)
    tray.pause_requested.connect(controller.pause_alerts)
    tray.resume_requested.connect(controller.resume_alerts)
    notifier.action_invoked.connect(controller.act_on_notification)
    # The alert history's actions on the rule that fired an entry.
    history_actions = HistoryActions(window.history, window.history_model, controller.rule_id_for, window)
    history_actions.rearm_requested.connect(controller.rearm_rule)
    history_actions.edit_requested.connect(controller.edit_rule)
    history_actions.delete_requested.connect(controller.delete_rule)
    history_actions.new_rule_requested.connect(controller.new_rule_at_price)
    tray.pin_requested.connect(controller.pin)
    tray.mini_panel_toggled.connect(controller.set_mini_panel_shown)
    controller.mini_panel_shown_changed.connect(tray.set_mini_panel_visible)
    mini_panel.hide_requested.connect(controller.hide_mini_panel)
    mini_panel.open_window_requested.connect(controller.show_window)
    mini_panel.opacity_chosen.connect(controller.set_mini_panel_opacity)
    mini_panel.pairs_chosen.connect(controller.set_mini_panel_pairs)
    # CSV export from the ccdesk menu: the window asks where, the controller writes off the GUI thread.
    # The items are the window's children: window.findChild(ExportActions) finds them.
    export_actions = ExportActions(window, window.app_menu, before=window.hide_action)
    export_actions.export_requested.connect(controller.export)
    return Desktop(
        controller, window, window.model, window.history_model, tray, notifier, keys, jobs, history_actions
    )


def alert_sound_path() -> Path | None:
    """The bundled alert sound (resources/alert.wav), or None if this build lacks it."""
    from ccdesk.app import resource_path

    path = Path(resource_path("alert.wav"))
    return path if path.is_file() else None
