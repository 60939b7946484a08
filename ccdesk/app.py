"""Composition root: builds the real objects and wires them; holds no logic.

Start-up is ordered for a fast first paint: Qt and the window first; the stream, REST, keyring,
notifications and the simulator are imported and built right after the window is on screen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from typing import Any, NoReturn

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ccdesk.core.identity import app_name_from_env
from ccdesk.desktop import build_window
from ccdesk.process import end_process
from ccdesk.qt.settings_store import QtSettingsStore
from ccdesk.qt.single_instance import SingleInstance
from ccdesk.wording import settings_notice_text, startup_failed_text

log = logging.getLogger(__name__)

EXIT_STARTUP_FAILED = 1
"""The app's exit code when it could not finish starting (it said why in a dialog first)."""


def resource_path(name: str) -> str:
    """A file in ``resources/``: next to the package in a source tree or wheel, or in a frozen build."""
    base = getattr(sys, "_MEIPASS", None)
    if base:
        return os.path.join(base, "resources", name)
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (
        os.path.join(here, "resources", name),
        os.path.join(os.path.dirname(here), "resources", name),
    ):
        if os.path.exists(candidate):
            return candidate
    return os.path.join(here, "resources", name)


class App:
    """Holds the parts for the life of the process (so nothing is garbage-collected)."""

    def __init__(self, *, demo: bool, background: bool) -> None:
        self.demo = demo
        self.background = background
        self.controller: Any = None
        self.welcome: Any = None

    def run(self) -> int:
        # The X11 window class (WM_CLASS) comes from argv[0] and the application name: both are
        # "ccdesk" so launchers and checks find the window. A test-only app name separates only the
        # settings file, the keyring entry and the single-instance socket.
        app_name = app_name_from_env(os.environ)
        qapp = QApplication.instance() or QApplication(["ccdesk"])
        assert isinstance(qapp, QApplication)
        qapp.setApplicationName("ccdesk")
        qapp.setOrganizationName("ccdesk")
        qapp.setDesktopFileName("ccdesk")
        qapp.setQuitOnLastWindowClosed(False)
        qapp.setWindowIcon(QIcon(resource_path("ccdesk.svg")))
        # As early as Qt allows: SIGTERM before this kills the process (exit 143) without a clean quit.
        self._watch_signals()

        self.single = SingleInstance(app_name)
        if not self.single.claim():
            print("ccdesk is already running; its window was brought forward.", flush=True)
            return 0

        self.store = QtSettingsStore()
        self.first_run = not self.store.path.exists()
        self.settings, problems = self.store.load()  # each problem is logged there
        self.window = build_window(self.settings)
        # The file's own problems (unreadable, bad lines) and the values that fell back to their
        # defaults: shown, not only logged.
        notice = settings_notice_text(self.store.problems(), problems)
        if notice is not None:
            self.window.show_banner(notice)
        if not self.background:
            self.window.show()
        QTimer.singleShot(0, self._start_the_rest)
        try:
            code = int(qapp.exec())
        finally:
            self.single.release()
        if self.controller is not None and not self.controller.stream.ended:
            # Python must never destroy a running QThread: Qt aborts the process ("QThread: Destroyed
            # while thread is still running", exit 134). Quit gave the thread its bounded chance.
            log.error("the stream thread did not end; leaving without waiting for it")
        self._leave(code)

    def _leave(self, code: int) -> NoReturn:
        """End the process (``process.end_process``) once the settings are written; quit has
        stopped the parts that own threads and closed the store (bounded waits)."""
        self.store.sync()
        end_process(code)

    def _watch_signals(self) -> None:
        """SIGTERM/SIGINT quit cleanly. Python runs signal handlers only when it gets control, which
        Qt's event loop never gives it; a wakeup fd watched by a QSocketNotifier does, at no idle cost."""
        self._sig_read, sig_write = socket.socketpair()
        self._sig_read.setblocking(False)
        sig_write.setblocking(False)
        self._sig_write = sig_write
        signal.set_wakeup_fd(sig_write.fileno())
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)  # the wakeup fd does the work
        self._sig_notifier = QSocketNotifier(self._sig_read.fileno(), QSocketNotifier.Type.Read)
        self._sig_notifier.activated.connect(self._on_signal)

    def _on_signal(self) -> None:
        with contextlib.suppress(OSError):
            self._sig_read.recv(64)
        log.info("signal received; quitting")
        if self.controller is not None:
            self.controller.quit()
        else:
            QApplication.quit()

    def _start_the_rest(self) -> None:
        """Everything after the first paint. Should it fail (a broken install: a library missing),
        the window must not stay on "Starting…" for good: say so, and leave with exit 1."""
        try:
            self._finish_startup()
        except Exception as exc:
            log.exception("ccdesk could not start")
            QMessageBox.critical(self.window, "ccdesk", startup_failed_text(exc))
            if self.controller is not None:
                self.controller.quit()  # the parts that did start stop in order
            QApplication.exit(EXIT_STARTUP_FAILED)

    def _finish_startup(self) -> None:
        # Deferred imports: everything below pulls in websocket-client, requests, keyring, plyer.
        from ccdesk.core.autostart import Autostart
        from ccdesk.core.redaction import install_redaction
        from ccdesk.core.secrets import SecretStore
        from ccdesk.desktop import build_desktop
        from ccdesk.sim import start_demo

        self.desktop = build_desktop(
            self.settings,
            self.store,
            secrets=SecretStore(),
            env=os.environ,
            autostart=Autostart(),
            start_demo=start_demo,
            demo=self.demo,
            window=self.window,
        )
        self.controller = self.desktop.controller
        # A quit the controller did not start (the platform's: logout, the Dock's Quit, the
        # session ending) stops the parts in order too; a second quit() does nothing.
        qapp = QApplication.instance()
        assert isinstance(qapp, QApplication)
        qapp.aboutToQuit.connect(self.controller.quit)
        # Beyond the api_key=/Apikey forms, scrub the literal key from every log record.
        install_redaction(logging.getLogger(), self.controller.secrets_for_logs)
        self.controller.welcome_needed.connect(self._show_welcome)
        self.single.activation_requested.connect(self.controller.show_window)
        self.controller.start(show_window=not self.background)
        if self.first_run and not self.demo and not self.settings.demo:
            # A fresh install: the prices are live already; say from where, and the alternatives.
            self.controller.remember_settings()  # the next start is not a first run
            self._show_welcome(first_run=True)

    def _show_welcome(self, first_run: bool = False) -> None:
        from ccdesk.qt.welcome_dialog import WelcomeDialog

        if self.welcome is not None and self.welcome.isVisible():
            return
        needs_key = () if first_run else tuple(self.controller.sources_needing_a_key())
        self.welcome = WelcomeDialog(self.window, needs_key)
        self.welcome.keyless_chosen.connect(self.controller.use_keyless)
        self.welcome.demo_chosen.connect(self.controller.start_demo)
        self.welcome.key_chosen.connect(self.controller.open_settings)
        if self.window.isVisible():
            self.welcome.open()


def run_app(*, demo: bool = False, background: bool = False) -> int:
    """Run the desktop app until it quits, then end the process with its exit code (see
    ``App._leave``); returns only when another instance already runs (0)."""
    return App(demo=demo, background=background).run()
