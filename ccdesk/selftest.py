"""``ccdesk --self-test``: runs the real app offscreen on the embedded simulator and reports.

It checks what a packaged build most often gets wrong: the window, the tray menu and the icons
build; prices stream in from the simulator; an alert rule fires and reaches the notifier; the
modules loaded by name at run time (plyer's notifier, keyring's backends and their metadata,
Qt's platform plugins, QtDBus) are present; and a throwaway secret makes a round trip through the
OS keyring when there is one. It never shows a notification, never touches the user's settings
or API key, and finishes within 20 s. Composition only: every part is the app's own.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import logging
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import IO, Any, Final

from ccdesk import __version__
from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.delivery import DeliveryChannel
from ccdesk.core.identity import app_name_from_env
from ccdesk.core.pairs import aggregate
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore

log = logging.getLogger(__name__)

QT_PHASE_S: Final = 12.0
"""The app part (window, simulator, prices, alert) must finish within this."""
TOTAL_S: Final = 17.0
"""Everything, including waiting for the keyring, within this (the promise is 20 s)."""
WATCH: Final = ("BTC", "ETH", "SOL")
ICON_PNG: Final = "icons/ccdesk-256.png"

# The native keyring backend per platform (keyring's entry point name and module).
_KEYRING_BACKENDS: Final = {
    "linux": ("SecretService", "keyring.backends.SecretService"),
    "win32": ("Windows", "keyring.backends.Windows"),
    "darwin": ("macOS", "keyring.backends.macOS"),
}
# Qt platform plugins a build for each platform must carry (file names contain these).
_PLATFORM_PLUGINS: Final = {
    "linux": ("qoffscreen", "qxcb", "qwayland"),
    "win32": ("qoffscreen", "qwindows"),
    "darwin": ("qoffscreen", "qcocoa"),
}
# Qt says this every time a window with a layout is shown offscreen; it means nothing here.
_HARMLESS_QT: Final = ("propagateSizeHints",)


def _os_key() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


@dataclass
class _Report:
    out: IO[str]
    started: float = field(default_factory=time.monotonic)
    failures: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        # A closed pipe (`ccdesk --self-test | head`) must not turn the report into a traceback.
        with contextlib.suppress(OSError, ValueError):
            self.out.write(text)
            self.out.flush()

    def line(self, status: str, text: str) -> None:
        self.write(f"{status:<5} {text}\n")

    def ok(self, text: str) -> None:
        self.line("ok", text)

    def skip(self, text: str) -> None:
        self.line("skip", text)

    def fail(self, text: str) -> None:
        self.failures.append(text)
        self.line("FAIL", text)


# --- checks that need no Qt ----------------------------------------------------------------------


def _check_version(report: _Report) -> None:
    if __version__ == "0+unknown":
        if getattr(sys, "frozen", False):
            report.fail("version: ccdesk's package metadata is missing from this build")
        else:
            report.skip("version: running from a source tree that was never installed (no metadata)")
    else:
        report.ok(f"version {__version__} (from the package metadata)")


def _check_notifier_module(report: _Report) -> None:
    """plyer chooses its notification module by name at run time; a frozen build must carry it."""
    try:
        from plyer.utils import platform as plyer_platform  # type: ignore[import-untyped]
    except ImportError as exc:
        report.fail(f"notifications: plyer cannot be imported ({exc})")
        return
    name = f"plyer.platforms.{plyer_platform}.notification"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if getattr(exc, "name", None) in (name, f"plyer.platforms.{plyer_platform}"):
            report.fail(f"notifications: {name} is missing (the build must list it as a hidden import)")
        else:  # the module is there but needs something this machine lacks (pyobjus on macOS)
            report.skip(f"notifications: {name} needs {exc.name or exc}; alerts use the tray's messages")
        return
    backend = "?"
    if hasattr(module, "instance"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plyer warns when dbus-python is missing; expected
            try:
                backend = type(module.instance()).__name__
            except Exception as exc:
                backend = f"none ({type(exc).__name__})"
    if backend == "Notification":  # plyer's facade: no backend on this machine
        report.skip(f"notifications: {name} loads, but finds no backend here (install notify-send)")
    else:
        report.ok(f"notifications: {name} loads (backend {backend}; nothing is shown by the self-test)")


def _check_dbus_notifications(report: _Report) -> None:
    """On Linux, notifications go over D-Bus with jeepney (imported lazily: a frozen build must
    carry it), with a bundled sound for rules that ask for one."""
    from ccdesk.desktop import alert_sound_path

    sound = alert_sound_path()
    if sound is None:
        report.fail("alert sound: resources/alert.wav is missing")
    else:
        report.ok(f"alert sound: {sound.name} ({sound.stat().st_size} bytes)")
    if not sys.platform.startswith("linux"):
        return
    try:
        importlib.import_module("jeepney.io.threading")
    except ImportError as exc:
        report.fail(f"notifications: jeepney.io.threading is missing ({exc}); only plyer would be left")
        return
    report.ok("notifications: org.freedesktop.Notifications over D-Bus (jeepney) loads")


def _check_keyring_backends(report: _Report) -> None:
    """keyring finds its backends through entry points: the modules and the metadata must both be there."""
    wanted = _KEYRING_BACKENDS.get(_os_key())
    if wanted is None:
        report.skip(f"keyring backends: no native backend is known for {sys.platform}")
        return
    ep_name, module_name = wanted
    try:
        eps = importlib.metadata.entry_points(group="keyring.backends")
    except Exception as exc:
        report.fail(f"keyring backends: entry points unreadable ({type(exc).__name__}: {exc})")
        return
    names = sorted({ep.name for ep in eps})
    if ep_name not in names:
        report.fail(f"keyring backends: keyring's metadata lists {names or 'none'}, not {ep_name}")
        return
    try:
        importlib.import_module(module_name)
        if _os_key() == "linux":
            importlib.import_module("secretstorage")
            importlib.import_module("jeepney.io.blocking")
    except ImportError as exc:
        report.fail(f"keyring backends: {exc.name or exc} is missing from this build")
        return
    report.ok(f"keyring backends: {', '.join(names)} discoverable; {module_name} loads")


@dataclass
class _KeyringOutcome:
    status: str = "pending"  # ok / skip / fail
    text: str = ""


def _keyring_round_trip(outcome: _KeyringOutcome) -> None:
    """Store, read back and delete a random secret under a throwaway service name (a worker thread)."""
    from ccdesk.core.api_key import ApiKey
    from ccdesk.core.secrets import SecretsError, SecretsErrorKind, SecretStore

    service = f"{app_name_from_env(os.environ)}-self-test-{secrets.token_hex(4)}"
    store = SecretStore(service)
    value = ApiKey(secrets.token_hex(16))
    try:
        where = store.source()
        store.save(value)
        try:
            back = store.load()
        finally:
            removed = store.delete()
        if back != value:
            outcome.status, outcome.text = "fail", f"keyring: {where} gave back a different secret"
        elif not removed or store.load() is not None:
            outcome.status, outcome.text = "fail", f"keyring: {where} did not delete the throwaway secret"
        else:
            outcome.status, outcome.text = (
                "ok",
                f"keyring: a throwaway secret made the round trip through {where}",
            )
    except SecretsError as exc:
        if exc.kind in (SecretsErrorKind.NO_BACKEND, SecretsErrorKind.LOCKED):
            outcome.status, outcome.text = "skip", f"keyring: none available to test: {exc}"
        else:
            outcome.status, outcome.text = "fail", f"keyring: {exc}"
    except Exception as exc:  # a bug or a broken build; report it in words, not a traceback
        outcome.status, outcome.text = "fail", f"keyring: unexpected {type(exc).__name__}: {exc}"


# --- the app, offscreen --------------------------------------------------------------------------


@dataclass
class _AppOutcome:
    window_rows: int = 0
    menu_entries: list[str] = field(default_factory=list)
    tray_available: bool = False
    priced: dict[str, float] = field(default_factory=dict)
    priced_after_s: float | None = None
    pinned_text: str | None = None
    alert: Alert | None = None
    alert_channel: DeliveryChannel | None = None
    notified: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


def _qt_message_handler(mode: Any, context: Any, message: str) -> None:
    if not any(text in message for text in _HARMLESS_QT):
        log.info("qt: %s", message)


def _check_qt_runtime(report: _Report) -> None:
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, qVersion
    from PySide6.QtGui import QGuiApplication

    platform_name = QGuiApplication.platformName()
    report.ok(f"Qt {qVersion()} started on the {platform_name} platform")
    # Where Qt itself looks for plugins (a frozen build may move them away from the default).
    folders = [
        os.path.join(path, "platforms")
        for path in [
            *QCoreApplication.libraryPaths(),
            QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath),
        ]
    ]
    present: set[str] = set()
    for folder in folders:
        with contextlib.suppress(OSError):
            present.update(os.listdir(folder))
    wanted = _PLATFORM_PLUGINS.get(_os_key(), ("qoffscreen",))
    missing = [w for w in wanted if not any(w in name for name in present)]
    if missing:
        report.fail(
            f"Qt platform plugins: {', '.join(missing)} missing from {', '.join(dict.fromkeys(folders))}"
        )
    else:
        report.ok(f"Qt platform plugins: {', '.join(w.removeprefix('q') for w in wanted)} present")
    try:
        from PySide6.QtDBus import QDBusConnection
    except ImportError as exc:
        if _os_key() == "linux":
            report.fail(f"QtDBus (the tray's and notifications' D-Bus support) is missing: {exc}")
        return
    if _os_key() == "linux":
        bus = QDBusConnection.sessionBus()
        state = "connected to the session bus" if bus.isConnected() else "no session bus here"
        report.ok(f"QtDBus loads ({state})")


def _check_icons(report: _Report) -> None:
    from PySide6.QtGui import QIcon, QImage

    from ccdesk.app import resource_path

    svg, png = resource_path("ccdesk.svg"), resource_path(ICON_PNG)
    missing = [p for p in (svg, png) if not os.path.isfile(p)]
    if missing:
        report.fail(f"icons: {', '.join(missing)} not found")
        return
    pixmap = QIcon(svg).pixmap(64, 64)
    image = pixmap.toImage()
    drawn = not image.isNull() and any(
        image.pixelColor(x, y).alpha() > 0 for x in range(0, 64, 4) for y in range(0, 64, 4)
    )
    if not drawn:
        report.fail(f"icons: {svg} does not render (Qt's SVG icon engine plugin missing?)")
        return
    raster = QImage(png)
    if raster.isNull() or raster.width() != 256:
        report.fail(f"icons: {png} does not load as a 256 px image")
        return
    report.ok(f"icons: {os.path.dirname(svg)} (SVG renders, PNG sizes present)")


def _check_charts(report: _Report) -> None:
    """Qt Charts (PySide6-Addons) loads and draws a line: the chart window's library is bundled."""
    try:
        from PySide6.QtCharts import QChart, QChartView, QLineSeries
        from PySide6.QtCore import QPointF
    except ImportError as exc:
        report.fail(f"charts: Qt Charts does not load ({exc})")
        return
    chart = QChart()
    series = QLineSeries()
    series.append([QPointF(0, 0), QPointF(1, 1)])
    chart.addSeries(series)
    chart.createDefaultAxes()
    view = QChartView(chart)
    view.resize(120, 80)
    if view.grab().toImage().isNull():
        report.fail("charts: Qt Charts loads but draws nothing")
        return
    report.ok("charts: Qt Charts loads and draws")


def _run_app(report: _Report, deadline: float) -> _AppOutcome:
    """Build the real window, tray and controller on the simulator; wait for prices and an alert."""
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ccdesk.app import resource_path
    from ccdesk.core.autostart import Autostart
    from ccdesk.core.delivery import Delivery
    from ccdesk.core.secrets import SecretStore
    from ccdesk.desktop import build_desktop
    from ccdesk.sim import start_demo

    qInstallMessageHandler(_qt_message_handler)
    qapp = QApplication.instance() or QApplication(["ccdesk"])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("ccdesk")
    qapp.setWindowIcon(QIcon(resource_path("ccdesk.svg")))
    _check_qt_runtime(report)
    _check_icons(report)
    _check_charts(report)

    outcome = _AppOutcome()
    watch = tuple(aggregate(base, "USD") for base in WATCH)
    # Any move at all fires: the point is the path from a price to the notifier, not the market.
    rule = MoveRule(pct=0.0001, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=3600.0)
    settings = Settings(watchlist=watch, pinned=watch[0], rules=(rule,), demo=True)
    scratch = tempfile.mkdtemp(prefix="ccdesk-self-test-")

    def notify(**kwargs: Any) -> None:  # stands in for plyer: the self-test shows nothing
        outcome.notified.append(kwargs)

    desktop = build_desktop(
        settings,
        MemoryStore(),
        secrets=SecretStore(f"{app_name_from_env(os.environ)}-self-test"),  # demo mode never reads it
        env={},
        autostart=Autostart(env={"HOME": scratch, "XDG_CONFIG_HOME": scratch}, exec_args=["ccdesk"]),
        start_demo=start_demo,
        demo=True,
        notify_fn=notify,
    )
    controller, window, model, tray, notifier = (
        desktop.controller,
        desktop.window,
        desktop.model,
        desktop.tray,
        desktop.notifier,
    )
    outcome.menu_entries = [a.text() for a in tray.menu().menu.actions() if a.text() and a.isVisible()]
    outcome.tray_available = tray.available()
    started = time.monotonic()

    def on_delivered(delivery: Delivery) -> None:
        if outcome.alert is None:
            outcome.alert, outcome.alert_channel = delivery.alert, delivery.channel

    notifier.delivered.connect(on_delivered)
    loop = QEventLoop()

    def poll() -> None:
        now = time.monotonic()
        for row in model.rows():
            if row.quote is not None and row.quote.price is not None:
                outcome.priced[row.sub.label] = row.quote.price
        if outcome.priced_after_s is None and len(outcome.priced) == len(watch):
            outcome.priced_after_s = now - started
        outcome.pinned_text = tray.pinned_line()
        done = outcome.priced_after_s is not None and outcome.alert is not None and outcome.pinned_text
        if done or now >= deadline:
            if not done:
                outcome.problem = "timed out"
            timer.stop()
            controller.quit()  # closes the socket, ends the stream thread, stops the simulator
            loop.quit()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(poll)
    try:
        controller.start(show_window=True)
        outcome.window_rows = model.rowCount()
        if not window.isVisible():
            outcome.problem = "the window did not show"
        timer.start()
        loop.exec()
    finally:
        timer.stop()
        qInstallMessageHandler(None)
        with contextlib.suppress(OSError):
            os.rmdir(scratch)
    window.deleteLater()
    return outcome


def _report_app(report: _Report, outcome: _AppOutcome) -> None:
    if outcome.problem == "the window did not show" or outcome.window_rows != len(WATCH):
        report.fail(f"window: expected {len(WATCH)} rows, built {outcome.window_rows}")
    else:
        report.ok(f"window built with {outcome.window_rows} pairs")
    if not outcome.menu_entries:
        report.fail("tray menu: no entries were built")
    else:
        tray = "a system tray is available" if outcome.tray_available else "no system tray here: window-only"
        report.ok(f"tray menu built: {', '.join(outcome.menu_entries)} ({tray})")
    if outcome.priced_after_s is None:
        report.fail(f"prices: only {sorted(outcome.priced) or 'no pairs'} priced from the simulator in time")
    else:
        first = next(iter(outcome.priced.items()))
        report.ok(
            f"prices: {len(outcome.priced)} pairs from the embedded simulator in "
            f"{outcome.priced_after_s:.1f} s ({first[0]} {first[1]:,.2f})"
        )
    if outcome.pinned_text is None:
        report.fail("tray menu: the pinned pair's price never showed")
    else:
        report.ok(f"tray menu shows: {outcome.pinned_text}")
    if outcome.alert is None:
        report.fail("alert: no alert was evaluated and delivered in time")
    elif outcome.alert_channel is not DeliveryChannel.DESKTOP or not outcome.notified:
        channel = None if outcome.alert_channel is None else outcome.alert_channel.value
        report.fail(f"alert: fired but went to {channel!r}, not the desktop notifier")
    else:
        from ccdesk.wording import alert_title

        report.ok(f"alert evaluated and handed to the notifier: {alert_title(outcome.alert)}")


def run_self_test(out: IO[str]) -> int:
    """Run the self-test, writing a short report to ``out``.

    Starts Qt offscreen (whatever the display), so call it before anything else creates a
    QApplication and from the main thread. Never raises.

    Args:
        out: Where the report goes (``sys.stdout``).

    Returns:
        0 if every check passed (a keyring or notification service this machine lacks is
        reported as skipped, not failed), 1 otherwise; the report names each failure.
    """
    report = _Report(out)
    frozen = "a frozen build" if getattr(sys, "frozen", False) else "Python"
    report.write(
        f"ccdesk {__version__} self-test: {frozen}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}\n"
    )
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # read when the QApplication is created
    keyring_outcome = _KeyringOutcome()
    keyring_thread = threading.Thread(
        target=_keyring_round_trip, args=(keyring_outcome,), name="ccdesk-self-test-keyring", daemon=True
    )
    try:
        keyring_thread.start()
        _check_version(report)
        _check_notifier_module(report)
        _check_dbus_notifications(report)
        _check_keyring_backends(report)
        outcome = _run_app(report, report.started + QT_PHASE_S)
        _report_app(report, outcome)
        keyring_thread.join(max(0.5, report.started + TOTAL_S - time.monotonic()))
        if keyring_thread.is_alive():
            report.skip(
                "keyring: no answer within the time limit (a locked keyring may be waiting for its "
                "password); nothing was stored"
            )
        elif keyring_outcome.status == "ok":
            report.ok(keyring_outcome.text)
        elif keyring_outcome.status == "skip":
            report.skip(keyring_outcome.text)
        else:
            report.fail(keyring_outcome.text)
    except Exception as exc:  # the report, not a traceback; -v logs the details
        log.debug("self-test crashed", exc_info=True)
        report.fail(f"the self-test itself failed: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - report.started
    if report.failures:
        report.write(f"self-test FAILED in {elapsed:.1f} s: {len(report.failures)} problem(s)\n")
        return 1
    report.write(f"self-test passed in {elapsed:.1f} s\n")
    return 0
