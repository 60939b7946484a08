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
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.notify_rate import NotificationRateCap
from ccdesk.core.pairs import parse_pair
from ccdesk.core.webhook import alert_payload, webhook_host
from ccdesk.desktop import alert_sound_path
from ccdesk.qt.desktop_notifications import (
    DesktopBackend,
    FreedesktopNotifications,
    play_sound,
    sound_command,
)
from ccdesk.qt.notifier import (
    ACTION_MUTE,
    ACTION_OPEN,
    ACTION_SNOOZE,
    Notifier,
    PlyerNotify,
    notification_service_problem,
)
from ccdesk.wording import delivery_words, history_tooltip, webhook_words
from tests.fakes import FakeClock

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
            self._block.wait(10.0)  # longer than any test holds it: released explicitly
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
    with qtbot.waitSignal(notifier.delivered, timeout=10000) as blocker:
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
    assert notify.started.wait(10.0)
    assert not release.is_set()
    assert seen == []
    # The GUI event loop keeps running meanwhile: a timer fires.
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=5000):
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
        release.wait(10.0)
        return WebhookResult(ok=True, http_status=200)

    notify = RecordingNotify()
    notifier = make_notifier(FakeTray(True), notify_fn=notify, post_fn=slow_post)
    notifier.set_webhook_url("http://127.0.0.1:9/hook")
    notifier.deliver(make_alert(1.3))
    notifier.deliver(make_alert(2.6))
    qtbot.waitUntil(lambda: len(notify.calls) == 2, timeout=10000)  # both shown while the POST hangs
    assert posted == ["http://127.0.0.1:9/hook"]
    with qtbot.waitSignals([notifier.delivered, notifier.delivered], timeout=5000):
        release.set()


def test_shutdown_is_bounded_and_later_alerts_are_not_shown(qtbot: QtBot, make_notifier) -> None:
    release = threading.Event()
    notify = RecordingNotify(block=release)
    notifier = make_notifier(FakeTray(True), notify_fn=notify)
    notifier.deliver(make_alert())
    assert notify.started.wait(10.0)
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
    assert notify.started.wait(10.0)
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
    """Owns org.freedesktop.Notifications on a bus and records every Notify call (jeepney).

    Gives out ids like a real server (a ``replaces_id`` it knows keeps its id), answers
    ``GetCapabilities`` with ``caps``, and can emit ``ActionInvoked``/``NotificationClosed``.
    """

    def __init__(self, address: str, caps: tuple[str, ...] = ("body",), hang: bool = False) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.notes: list[tuple[str, str, str]] = []  # app name, summary, body
        self.calls: list[dict] = []  # every Notify call's arguments, by name
        self.caps = caps
        self.hang = hang  # take Notify calls and never answer them
        self.received = threading.Event()
        self._next_id = 100
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
                app_name, replaces, icon, summary, body, actions, hints, timeout = msg.body
                self.notes.append((app_name, summary, body))
                if replaces == 0:
                    self._next_id += 1
                    nid = self._next_id
                else:
                    nid = replaces
                self.calls.append(
                    {
                        "id": nid,
                        "replaces_id": replaces,
                        "app_icon": icon,
                        "summary": summary,
                        "actions": list(actions),
                        "hints": {k: v[1] for k, v in hints.items()},
                        "expire_timeout": timeout,
                        "signature": msg.header.fields.get(HeaderFields.signature),
                    }
                )
                if not self.hang:
                    self._conn.send(new_method_return(msg, "u", (nid,)))
                self.received.set()
            elif member == "GetCapabilities":
                self._conn.send(new_method_return(msg, "as", (list(self.caps),)))
            elif member == "GetServerInformation":
                self._conn.send(new_method_return(msg, "ssss", ("fake", "ccdesk-test", "1", "1.2")))
            else:
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def emit(self, member: str, signature: str, body: tuple) -> None:
        """Broadcast a signal of the Notifications interface, as a server does."""
        from jeepney import DBusAddress, new_signal

        where = DBusAddress("/org/freedesktop/Notifications", interface="org.freedesktop.Notifications")
        self._conn.send(new_signal(where, member, signature, body))

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
        # plyer's notify-send backend used to get no timeout at all (`-t 0`: never expire).
        assert service.calls[0]["expire_timeout"] == 10_000
        assert tray.messages == []
    finally:
        service.close()


# --- org.freedesktop.Notifications, spoken directly (jeepney) -----------------------------------------


def rule_alert(rule: MoveRule, pair: str = "BTC-USD", pct: float = 1.3) -> Alert:
    return replace(make_alert(pct), rule=rule, sub=parse_pair(pair))


@pytest.fixture
def fd_service(
    private_bus: str,
) -> Iterator[Callable[..., tuple[FakeNotificationService, FreedesktopNotifications]]]:
    made: list[FakeNotificationService] = []

    def make(
        caps: tuple[str, ...] = ("body", "actions"),
    ) -> tuple[FakeNotificationService, FreedesktopNotifications]:
        service = FakeNotificationService(private_bus, caps)
        made.append(service)
        return service, FreedesktopNotifications(env={"DBUS_SESSION_BUS_ADDRESS": private_bus})

    yield make
    for service in made:
        service.close()


def test_freedesktop_notify_replaces_per_rule_and_pair_and_expires(
    qtbot: QtBot, make_notifier, fd_service
) -> None:
    service, backend = fd_service()
    tray = FakeTray(True)
    notifier = make_notifier(tray, backend=backend)
    rule, other = MoveRule(pct=1.0, window_s=300.0, id="r1"), MoveRule(pct=2.0, window_s=300.0, id="r2")
    for alert in (
        rule_alert(rule),
        rule_alert(rule, pct=1.4),
        rule_alert(rule, "ETH-USD"),
        rule_alert(other),
    ):
        assert delivered(qtbot, notifier, alert).channel is DeliveryChannel.DESKTOP
    first, again, eth, other_rule = service.calls
    assert first["signature"] == "susssasa{sv}i"  # replaces_id a real uint32: GDBus servers check
    assert (first["replaces_id"], again["replaces_id"]) == (0, first["id"])  # the same bubble, updated
    assert again["id"] == first["id"]
    assert again["summary"] == "BTC/USD · CCCAGG up 1.4 % in 5 min"
    assert eth["replaces_id"] == 0
    assert other_rule["replaces_id"] == 0
    assert {c["expire_timeout"] for c in service.calls} == {10_000}
    assert tray.messages == []


def test_a_closed_notification_is_not_replaced_but_shown_anew(
    qtbot: QtBot, make_notifier, fd_service
) -> None:
    service, backend = fd_service()
    notifier = make_notifier(FakeTray(True), backend=backend)
    alert = rule_alert(MoveRule(pct=1.0, window_s=300.0, id="r1"))
    delivered(qtbot, notifier, alert)
    service.emit("NotificationClosed", "uu", (service.calls[0]["id"], 1))  # expired
    qtbot.waitUntil(lambda: not backend._ids, timeout=10000)  # the listener heard it
    delivered(qtbot, notifier, alert)
    assert service.calls[1]["replaces_id"] == 0
    assert service.calls[1]["id"] != service.calls[0]["id"]


def test_actions_offered_when_the_server_has_them_and_reported_with_the_alert(
    qtbot: QtBot, make_notifier, fd_service
) -> None:
    service, backend = fd_service(caps=("body", "actions"))
    notifier = make_notifier(FakeTray(True), backend=backend)
    alert = rule_alert(MoveRule(pct=1.0, window_s=300.0, id="r1"))
    delivered(qtbot, notifier, alert)
    nid = service.calls[0]["id"]
    assert service.calls[0]["actions"] == [
        "default", "Open ccdesk", "snooze", "Snooze 1 h", "mute", "Mute this rule"
    ]  # fmt: skip
    for key, expected in (("snooze", ACTION_SNOOZE), ("default", ACTION_OPEN), ("mute", ACTION_MUTE)):
        with qtbot.waitSignal(notifier.action_invoked, timeout=10000) as blocker:
            service.emit("ActionInvoked", "us", (nid, key))
        assert blocker.args == [expected, alert]
    # Another app's notification, or one this notifier forgot: nothing happens.
    with qtbot.assertNotEmitted(notifier.action_invoked, wait=300):
        service.emit("ActionInvoked", "us", (nid + 50, "snooze"))


def test_no_actions_where_the_server_has_none(qtbot: QtBot, make_notifier, fd_service) -> None:
    service, backend = fd_service(caps=("body",))
    notifier = make_notifier(FakeTray(True), backend=backend)
    delivered(qtbot, notifier, rule_alert(MoveRule(pct=1.0, window_s=300.0, id="r1")))
    assert service.calls[0]["actions"] == []


def test_sound_by_the_server_where_it_can_else_played_here(
    qtbot: QtBot, make_notifier, fd_service, tmp_path
) -> None:
    played: list[tuple[Path, str]] = []
    done = threading.Event()

    def play(path: Path) -> str | None:
        played.append((path, threading.current_thread().name))
        done.set()
        return "no sound player found"  # logged, never shown

    wav = tmp_path / "alert.wav"
    loud = rule_alert(MoveRule(pct=1.0, window_s=300.0, id="r1", sound=True))
    service, backend = fd_service(caps=("body", "sound"))
    notifier = make_notifier(FakeTray(True), backend=backend, sound_path=wav, play_sound_fn=play)
    delivered(qtbot, notifier, loud)
    assert service.calls[0]["hints"]["sound-name"] == "message-new-instant"
    delivered(qtbot, notifier, make_alert())  # a silent rule: the server is told to keep quiet
    assert service.calls[1]["hints"].get("suppress-sound") is True
    assert "sound-name" not in service.calls[1]["hints"]
    assert played == []
    service.close()

    service2, backend2 = fd_service(caps=("body",))
    notifier2 = make_notifier(FakeTray(True), backend=backend2, sound_path=wav, play_sound_fn=play)
    delivery = delivered(qtbot, notifier2, loud)
    assert delivery.channel is DeliveryChannel.DESKTOP
    assert delivery.not_shown is None
    assert "sound-name" not in service2.calls[0]["hints"]
    assert done.wait(10)
    assert played == [(wav, "ccdesk-sound")]


def test_a_sound_plays_with_the_tray_fallback_too(qtbot: QtBot, make_notifier) -> None:
    played = threading.Event()
    notifier = make_notifier(
        FakeTray(True),
        notify_fn=RecordingNotify(error=NotImplementedError()),
        sound_path=Path("alert.wav"),
        play_sound_fn=lambda path: played.set(),
    )
    loud = rule_alert(MoveRule(pct=1.0, window_s=300.0, id="r1", sound=True))
    assert delivered(qtbot, notifier, loud).channel is DeliveryChannel.TRAY
    assert played.wait(10)


def test_no_bus_is_unavailable_not_an_error(qtbot: QtBot, make_notifier) -> None:
    tray = FakeTray(True)
    notifier = make_notifier(tray, backend=FreedesktopNotifications(env={}))
    delivery = delivered(qtbot, notifier, make_alert())
    assert delivery.channel is DeliveryChannel.TRAY
    assert delivery.not_shown is NotShownReason.SERVICE_UNAVAILABLE
    assert history_tooltip(delivery) == (
        "desktop notifications are unavailable: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    )


def test_a_bus_without_a_server_is_unavailable(qtbot: QtBot, make_notifier, private_bus: str) -> None:
    tray = FakeTray(True)
    notifier = make_notifier(
        tray, backend=FreedesktopNotifications(env={"DBUS_SESSION_BUS_ADDRESS": private_bus})
    )
    delivery = delivered(qtbot, notifier, make_alert())
    assert (delivery.channel, delivery.detail) == (
        DeliveryChannel.TRAY,
        "no notification service is running on the D-Bus session bus",
    )


# --- the cap on pop-ups per minute ------------------------------------------------------------------


def test_past_the_cap_alerts_go_to_the_history_only_and_webhooks_still_go(
    qtbot: QtBot, make_notifier
) -> None:
    clock = FakeClock()
    notify = RecordingNotify()
    tray = FakeTray(True)
    posted: list[str] = []

    def post(url: str, payload: object, *, timeout_s: float) -> WebhookResult:
        posted.append(url)
        return WebhookResult(ok=True, http_status=204, host="hooks.example")

    notifier = make_notifier(
        tray, notify_fn=notify, post_fn=post, clock=clock.monotonic, rate_cap=NotificationRateCap(3, 60.0)
    )
    notifier.set_webhook_url("http://hooks.example/x")
    outcomes = []
    for _ in range(5):
        outcomes.append(delivered(qtbot, notifier, make_alert()))
        clock.advance(1.0)
    assert [d.channel for d in outcomes] == [DeliveryChannel.DESKTOP] * 3 + [DeliveryChannel.NONE] * 2
    capped = outcomes[3]
    assert capped.not_shown is NotShownReason.RATE_LIMITED
    assert capped.webhook is not None
    assert capped.webhook.ok
    assert len(notify.calls) == 3
    assert tray.messages == []
    assert len(posted) == 5
    assert delivery_words(capped) == "not shown (over 6 notifications a minute); webhook sent"
    assert history_tooltip(capped) == (
        "not shown: ccdesk shows at most 6 notifications a minute, so that a flood of alerts cannot bury the"
        " desktop; this one is kept here"
    )
    clock.advance(60.0 - 5.0)  # a minute after the first: room again
    assert delivered(qtbot, notifier, make_alert()).channel is DeliveryChannel.DESKTOP


# --- the bundled sound and the players that play it ---------------------------------------------------


def fake_player(tmp_path: Path, name: str, code: int = 0) -> Path:
    script = tmp_path / name
    script.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/played"\necho "no sink" >&2\nexit {code}\n')
    script.chmod(0o755)
    return script


def test_the_bundled_sound_is_a_short_small_wav() -> None:
    import wave

    path = alert_sound_path()
    assert path is not None
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
    assert 0.1 <= seconds <= 0.5
    assert path.stat().st_size < 16_000


def test_players_in_order_and_a_real_one_runs(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    have = {"paplay": str(fake_player(tmp_path, "paplay")), "aplay": "/usr/bin/aplay"}
    assert sound_command(wav, have.get) == [have["paplay"], str(wav)]  # PulseAudio before ALSA
    assert sound_command(wav, {"aplay": "/usr/bin/aplay"}.get) == ["/usr/bin/aplay", "-q", str(wav)]
    assert sound_command(wav, {}.get) is None
    assert play_sound(wav, have.get) is None
    assert (tmp_path / "played").read_text() == f"{wav}\n"


def test_a_failing_or_missing_player_is_a_reason_not_an_exception(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    broken = str(fake_player(tmp_path, "pw-play", code=3))
    assert play_sound(wav, {"pw-play": broken}.get) == "pw-play exited with 3: no sink"
    assert play_sound(wav, {}.get) == "no sound player found (tried pw-play, paplay, aplay)"


def test_the_default_backend_uses_the_bus_and_hears_its_actions(
    qtbot: QtBot, make_notifier, private_bus
) -> None:
    service = FakeNotificationService(private_bus, caps=("body", "actions"))
    try:
        backend = DesktopBackend(env={"DBUS_SESSION_BUS_ADDRESS": private_bus})
        notifier = make_notifier(FakeTray(True), backend=backend)
        alert = make_alert()
        assert delivered(qtbot, notifier, alert).channel is DeliveryChannel.DESKTOP
        with qtbot.waitSignal(notifier.action_invoked, timeout=10000) as blocker:
            service.emit("ActionInvoked", "us", (service.calls[0]["id"], "default"))
        assert blocker.args == [ACTION_OPEN, alert]
    finally:
        service.close()


def test_a_restarted_server_gets_new_bubbles_and_is_asked_its_capabilities_again(
    qtbot: QtBot, make_notifier, private_bus: str
) -> None:
    first = FakeNotificationService(private_bus, caps=("body",))
    backend = FreedesktopNotifications(env={"DBUS_SESSION_BUS_ADDRESS": private_bus})
    notifier = make_notifier(FakeTray(True), backend=backend)
    alert = make_alert()
    delivered(qtbot, notifier, alert)
    assert first.calls[0]["actions"] == []
    first.close()  # the name has no owner now: the listener hears NameOwnerChanged
    qtbot.waitUntil(lambda: backend._caps_stale, timeout=10000)
    second = FakeNotificationService(private_bus, caps=("body", "actions"))
    try:
        assert delivered(qtbot, notifier, alert).channel is DeliveryChannel.DESKTOP
        (call,) = second.calls
        assert call["replaces_id"] == 0  # the old server's id means nothing to this one
        assert "snooze" in call["actions"]
    finally:
        second.close()


def test_a_server_that_never_answers_is_unavailable_and_the_tray_shows_it(
    qtbot: QtBot, make_notifier, private_bus: str
) -> None:
    service = FakeNotificationService(private_bus, caps=("body",), hang=True)
    try:
        backend = FreedesktopNotifications(env={"DBUS_SESSION_BUS_ADDRESS": private_bus}, call_timeout_s=0.3)
        tray = FakeTray(True)
        notifier = make_notifier(tray, backend=backend)
        delivery = delivered(qtbot, notifier, make_alert())
        assert delivery.channel is DeliveryChannel.TRAY
        assert history_tooltip(delivery) == (
            "desktop notifications are unavailable: the notification service did not answer within 0.3 s"
        )
        # It got the call and never answered (its thread may take the call after the client gave up).
        assert service.received.wait(10)
    finally:
        service.close()
