"""Alert delivery: desktop -> tray -> banner, webhooks, never blocking the GUI thread.

The last tests run plyer for real (its notify-send backend) against a private D-Bus bus with a
stand-in notification service, so the default chain is exercised end to end without a desktop.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import subprocess
import threading
import weakref
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.pairs import parse_pair
from ccdesk.core.webhook import alert_payload, webhook_host
from ccdesk.qt.notifier import Notifier, PlyerNotify, notification_service_problem
from ccdesk.wording import history_tooltip, webhook_words

TITLE = "BTC/USD · CCCAGG up 1.3 % in 5 min"  # the window's pair label (wording.alert_pair_words)
BODY = "91,000.00 → 92,183.00 (+1.30 %)"


def make_alert(pct: float = 1.3) -> Alert:
    return Alert(
        sub=parse_pair("BTC-USD"),
        rule=MoveRule(pct=1.0, window_s=300.0),
        direction=MoveDirection.UP,
        change_pct=pct,
        from_price=91_000.0,
        to_price=91_000.0 * (1 + pct / 100),
        window_s=300.0,
        at=1_700_000_000.0,
    )


class RecordingNotify:
    """A plyer-like notify: records its calls and the thread they ran on; can fail or block."""

    def __init__(self, error: Exception | None = None, block: threading.Event | None = None) -> None:
        self.calls: list[dict] = []
        self.threads: list[str] = []
        self.started = threading.Event()
        self._error = error
        self._block = block

    def __call__(self, **kwargs: object) -> None:
        self.calls.append(kwargs)
        self.threads.append(threading.current_thread().name)
        self.started.set()
        if self._block is not None:
            self._block.wait(2.0)
        if self._error is not None:
            raise self._error


class FakeTray:
    def __init__(self, shows: bool) -> None:
        self.shows = shows
        self.messages: list[tuple[str, str, str]] = []

    def show_message(self, title: str, body: str) -> bool:
        self.messages.append((title, body, threading.current_thread().name))
        return self.shows


@pytest.fixture
def make_notifier(qapp) -> Iterator:
    made: list[Notifier] = []

    def make(*args, **kwargs) -> Notifier:
        n = Notifier(*args, **kwargs)
        made.append(n)
        return n

    yield make
    for n in made:
        n.shutdown(timeout_s=3.0)


def delivered(qtbot: QtBot, notifier: Notifier, alert: Alert) -> Delivery:
    with qtbot.waitSignal(notifier.delivered, timeout=5000) as blocker:
        notifier.deliver(alert)
    return blocker.args[0]


def test_desktop_notification_off_the_gui_thread(qtbot: QtBot, make_notifier) -> None:
    notify = RecordingNotify()
    tray = FakeTray(shows=True)
    notifier = make_notifier(tray, notify_fn=notify)
    alert = make_alert()
    delivery = delivered(qtbot, notifier, alert)
    assert delivery == Delivery(alert, DeliveryChannel.DESKTOP, None, None)
    assert notify.calls == [
        {"title": TITLE, "message": BODY, "app_name": "ccdesk", "app_icon": "", "timeout": 10}
    ]
    assert notify.threads == ["ccdesk-notify"]
    assert tray.messages == []


def test_plyer_failure_falls_back_to_the_tray_on_the_gui_thread(qtbot: QtBot, make_notifier) -> None:
    tray = FakeTray(shows=True)
    notifier = make_notifier(tray, notify_fn=RecordingNotify(error=NotImplementedError()))
    with qtbot.assertNotEmitted(notifier.banner_requested):
        delivery = delivered(qtbot, notifier, make_alert())
    assert delivery.channel is DeliveryChannel.TRAY
    assert history_tooltip(delivery) == "no desktop notification backend is available (plyer has none here)"
    assert tray.messages == [(TITLE, BODY, threading.main_thread().name)]


@pytest.mark.parametrize("tray", [None, FakeTray(shows=False)], ids=["no tray object", "tray not shown"])
def test_without_a_tray_the_window_gets_a_banner(qtbot: QtBot, make_notifier, tray) -> None:
    notifier = make_notifier(tray, notify_fn=RecordingNotify(error=OSError("dbus said no")))
    with qtbot.waitSignal(notifier.banner_requested, timeout=5000) as banner:
        delivery = delivered(qtbot, notifier, make_alert())
    assert banner.args == [TITLE, BODY]
    assert delivery.channel is DeliveryChannel.BANNER
    assert history_tooltip(delivery) == "the desktop notification failed (OSError: dbus said no)"


class HookServer:
    def __init__(self, status: int) -> None:
        self.bodies: list[dict] = []
        self.status = status


@pytest.fixture
def hook() -> Iterator[tuple[str, HookServer]]:
    state = HookServer(204)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_webhook_success_is_reported_with_the_delivery(qtbot: QtBot, make_notifier, hook) -> None:
    url, server = hook
    notifier = make_notifier(FakeTray(True), notify_fn=RecordingNotify())
    notifier.set_webhook_url(f"  {url}  ")
    assert notifier.webhook_url() == url
    alert = make_alert()
    delivery = delivered(qtbot, notifier, alert)
    assert delivery.channel is DeliveryChannel.DESKTOP
    assert delivery.webhook == WebhookResult(ok=True, http_status=204, host=webhook_host(url))
    assert server.bodies == [alert_payload(alert)]


def test_webhook_failure_is_recorded(qtbot: QtBot, make_notifier, hook) -> None:
    url, server = hook
    server.status = 500
    notifier = make_notifier(FakeTray(True), notify_fn=RecordingNotify())
    notifier.set_webhook_url(url)
    delivery = delivered(qtbot, notifier, make_alert())
    assert delivery.channel is DeliveryChannel.DESKTOP
    assert delivery.webhook is not None
    assert not delivery.webhook.ok
    assert delivery.webhook.failure is WebhookFailure.HTTP_ERROR
    assert delivery.webhook.failure is not None
    assert "answered HTTP 500" in webhook_words(delivery.webhook)

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    notifier.set_webhook_url(refused)
    delivery = delivered(qtbot, notifier, make_alert())
    assert delivery.webhook is not None
    assert delivery.webhook.failure is WebhookFailure.CONNECTION_FAILED
    assert "connection refused" in webhook_words(delivery.webhook)

    notifier.set_webhook_url("")  # off again
    assert delivered(qtbot, notifier, make_alert()).webhook is None


def test_deliver_returns_while_the_notification_still_blocks(qtbot: QtBot, make_notifier) -> None:
    release = threading.Event()
    notify = RecordingNotify(block=release)
    notifier = make_notifier(FakeTray(True), notify_fn=notify)
    seen: list[Delivery] = []
    notifier.delivered.connect(seen.append)
    notifier.deliver(make_alert())
    # deliver() has returned; the notification has started on its lane and is still blocked in it.
    assert notify.started.wait(2.0)
    assert not release.is_set()
    assert seen == []
    # The GUI event loop keeps running meanwhile: a timer fires.
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=1000):
        timer.start(10)
    assert seen == []
    with qtbot.waitSignal(notifier.delivered, timeout=5000) as done:
        release.set()
    assert done.args[0].channel is DeliveryChannel.DESKTOP


def test_a_slow_webhook_does_not_hold_up_notifications(qtbot: QtBot, make_notifier) -> None:
    release = threading.Event()
    posted: list[str] = []

    def slow_post(url: str, payload: dict, *, timeout_s: float) -> WebhookResult:
        posted.append(url)
        release.wait(2.0)
        return WebhookResult(ok=True, http_status=200)

    notify = RecordingNotify()
    notifier = make_notifier(FakeTray(True), notify_fn=notify, post_fn=slow_post)
    notifier.set_webhook_url("http://127.0.0.1:9/hook")
    notifier.deliver(make_alert(1.3))
    notifier.deliver(make_alert(2.6))
    qtbot.waitUntil(lambda: len(notify.calls) == 2, timeout=2000)  # both shown while the POST hangs
    assert posted == ["http://127.0.0.1:9/hook"]
    with qtbot.waitSignals([notifier.delivered, notifier.delivered], timeout=5000):
        release.set()


def test_shutdown_is_bounded_and_later_alerts_are_not_shown(qtbot: QtBot, make_notifier) -> None:
    release = threading.Event()
    notify = RecordingNotify(block=release)
    notifier = make_notifier(FakeTray(True), notify_fn=notify)
    notifier.deliver(make_alert())
    assert notify.started.wait(2.0)
    notifier.shutdown(timeout_s=0.2)  # returns although the notification is still blocked
    assert not release.is_set()
    alert = make_alert(5.0)
    with qtbot.waitSignal(notifier.delivered, timeout=1000) as late:
        notifier.deliver(alert)
    assert late.args == [Delivery(alert, DeliveryChannel.NONE, None, NotShownReason.SHUTTING_DOWN)]
    assert history_tooltip(late.args[0]) == "not shown: ccdesk is shutting down"
    release.set()


def test_an_abandoned_delivery_neither_keeps_the_notifier_alive_nor_reaches_it_once_gone(
    qtbot: QtBot,
) -> None:
    # A job that outlives its notifier used to emit on it from the lane thread, and could drop the
    # last reference to it there: a QObject destroyed off its thread with an event queued for it
    # crashed the process (seen once in ten full runs). The job now holds only what it needs.
    release = threading.Event()
    notify = RecordingNotify(block=release)
    notifier = Notifier(FakeTray(True), notify_fn=notify)
    notifier.deliver(make_alert())
    assert notify.started.wait(2.0)
    notifier.shutdown(timeout_s=0.1)  # abandoned: the notification is still blocked
    gone = weakref.ref(notifier)
    del notifier
    gc.collect()
    assert gone() is None  # destroyed here, on the GUI thread, while the job still runs
    others = Notifier(FakeTray(True), notify_fn=RecordingNotify())
    seen: list[Delivery] = []
    others.delivered.connect(seen.append)
    release.set()  # the abandoned job finishes and reports to no one
    delivery = delivered(qtbot, others, make_alert(5.0))
    assert delivery.channel is DeliveryChannel.DESKTOP
    assert seen == [delivery]  # only its own outcome: the abandoned one went nowhere
    others.shutdown(timeout_s=3.0)


# --- the default notify function: plyer, after asking the session bus ------------------------------


def test_no_session_bus_means_the_tray_shows_it(qtbot: QtBot, make_notifier) -> None:
    tray = FakeTray(True)
    notifier = make_notifier(tray, notify_fn=PlyerNotify(env={}))
    delivery = delivered(qtbot, notifier, make_alert())
    assert delivery.channel is DeliveryChannel.TRAY
    assert history_tooltip(delivery) == (
        "desktop notifications are unavailable: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    )


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[str]:
    """A private session bus with no services at all (no activation directories)."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("needs dbus-daemon")
    sock = tmp_path / "bus"
    config = tmp_path / "bus.conf"
    config.write_text(BUS_CONFIG.format(path=sock))
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address.startswith("unix:path=")
        yield address
    finally:
        proc.terminate()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


class FakeNotificationService:
    """Owns org.freedesktop.Notifications on a bus and records every Notify call (jeepney)."""

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.notes: list[tuple[str, str, str]] = []  # app name, summary, body
        self.received = threading.Event()
        self._conn = open_dbus_connection(address)
        reply = self._conn.send_and_get_reply(
            message_bus.RequestName("org.freedesktop.Notifications"), timeout=2
        )
        assert reply.body == (1,)  # primary owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import MessageType, new_error, new_method_return
        from jeepney.low_level import HeaderFields

        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            if msg.header.message_type is not MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member)
            if member == "Notify":
                app_name, _replaces, _icon, summary, body = msg.body[:5]
                self.notes.append((app_name, summary, body))
                self._conn.send(new_method_return(msg, "u", (1,)))
                self.received.set()
            elif member == "GetCapabilities":
                self._conn.send(new_method_return(msg, "as", (["body"],)))
            elif member == "GetServerInformation":
                self._conn.send(new_method_return(msg, "ssss", ("fake", "ccdesk-test", "1", "1.2")))
            else:
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._conn.close()


def test_bus_without_a_notification_service(private_bus: str) -> None:
    assert notification_service_problem({"DBUS_SESSION_BUS_ADDRESS": private_bus}) == (
        "no notification service is running on the D-Bus session bus"
    )
    assert notification_service_problem({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}) == (
        "the D-Bus session bus could not be reached (FileNotFoundError)"
    )


@pytest.mark.skipif(not shutil.which("notify-send"), reason="plyer's Linux fallback needs notify-send")
def test_plyer_reaches_a_real_notification_service(
    qtbot: QtBot, make_notifier, private_bus: str, monkeypatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", private_bus)  # notify-send reads the environment
    service = FakeNotificationService(private_bus)
    try:
        assert notification_service_problem(os.environ) is None
        tray = FakeTray(True)
        notifier = make_notifier(tray, notify_fn=PlyerNotify())
        delivery = delivered(qtbot, notifier, make_alert())
        assert delivery.channel is DeliveryChannel.DESKTOP, history_tooltip(delivery)
        assert service.received.wait(5)
        assert service.notes == [("ccdesk", TITLE, BODY)]
        assert tray.messages == []
    finally:
        service.close()
