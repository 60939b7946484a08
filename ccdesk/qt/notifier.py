"""Alert delivery: desktop notification, else the tray's balloon, else a window banner; and webhooks.

Nothing here blocks the GUI thread or the stream thread. Desktop notifications (org.freedesktop.
Notifications over D-Bus on Linux, plyer elsewhere: ``desktop_notifications``), webhook POSTs and
sounds run on small background lanes, so a slow webhook never delays a notification and a hung
notification service never delays a webhook. Their outcomes come back to the GUI thread through
queued signals; the tray and banner fallbacks run there, and one ``Delivery`` per alert reports
where it went. A global cap (``core.notify_rate``) keeps a flood of alerts off the desktop: the
excess goes to the history only. A notification for the same rule and pair replaces the previous
one, expires after ``NOTIFICATION_TIMEOUT_S``, and offers actions where the server shows them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ccdesk.core.alerts import Alert
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.notify_rate import NotificationRateCap
from ccdesk.core.webhook import alert_payload, post_alert, webhook_host
from ccdesk.qt.desktop_notifications import (
    ACTION_DEFAULT,
    ACTION_MUTE,
    ACTION_OPEN,
    ACTION_SNOOZE,
    CallableBackend,
    DesktopBackend,
    NotificationBackend,
    NotificationClosed,
    NotificationEvent,
    NotificationRequest,
    NotificationUnavailable,
    Shown,
    play_sound,
)
from ccdesk.qt.desktop_notifications import PlyerNotify as _PlyerNotify
from ccdesk.wording import NOTIFICATION_ACTION_WORDS, alert_body, alert_log_words, alert_title, webhook_words

__all__ = [
    "ACTION_MUTE",
    "ACTION_OPEN",
    "ACTION_SNOOZE",
    "SNOOZE_S",
    "MessageSink",
    "NotificationUnavailable",
    "Notifier",
    "NotifyFn",
    "PlyerNotify",
    "notification_service_problem",
]

log = logging.getLogger(__name__)

APP_NAME: Final = "ccdesk"
NOTIFICATION_TIMEOUT_S: Final = 10
MAX_QUEUED: Final = 32
"""Per lane. Past this, a lane is stuck (a hung notification service): deliver by the fallback."""
SHUTDOWN_WAIT_S: Final = 1.0
SNOOZE_S: Final = 3600.0
"""What "Snooze 1 h" asks the controller for."""
MAX_REMEMBERED: Final = 64
"""Shown notifications remembered for their actions (a server that never says "closed" cannot grow it)."""

_NOTIFICATIONS_NAME: Final = "org.freedesktop.Notifications"
_DBUS_PROBE_TIMEOUT_S: Final = 2.0

NotifyFn = Callable[..., object]
"""plyer's ``notification.notify``: called with ``title``, ``message``, ``app_name``, ``app_icon``
and ``timeout`` keywords; returns normally when the notification was handed over, raises otherwise."""
PostFn = Callable[..., WebhookResult]
"""``post_alert``'s shape: ``(url, payload, *, timeout_s) -> WebhookResult``."""


class MessageSink(Protocol):
    """What the notifier needs of the tray: a balloon message that says whether it was shown."""

    def show_message(self, title: str, body: str) -> bool: ...


def notification_service_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why a freedesktop notification cannot be shown on this Linux session, or None if it can.

    plyer cannot tell: its ``notify-send`` fallback ignores the program's exit status, so with no
    session bus or no notification daemon it "succeeds" and the alert is lost. So, on Linux outside
    Flatpak, ask the session bus (with jeepney, when installed) whether anyone owns, or could be
    started as, ``org.freedesktop.Notifications``. Blocks for up to ~2 s: call it off the GUI thread.
    Other platforms, Flatpak, and a missing jeepney all answer None (let plyer try).
    """
    if not sys.platform.startswith("linux") or os.path.isdir("/app"):
        return None
    env = os.environ if env is None else env
    address = env.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if not address:
        # GLib (notify-send, GNOME) falls back to $XDG_RUNTIME_DIR/bus; so do we.
        runtime = env.get("XDG_RUNTIME_DIR", "").strip()
        if not runtime or not os.path.exists(os.path.join(runtime, "bus")):
            return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        address = f"unix:path={os.path.join(runtime, 'bus')}"
    try:
        from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
        from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        with open_dbus_connection(address, auth_timeout=_DBUS_PROBE_TIMEOUT_S) as conn:
            owned = conn.send_and_get_reply(
                message_bus.NameHasOwner(_NOTIFICATIONS_NAME), timeout=_DBUS_PROBE_TIMEOUT_S
            )
            if owned.body and owned.body[0]:
                return None
            names = conn.send_and_get_reply(message_bus.ListActivatableNames(), timeout=_DBUS_PROBE_TIMEOUT_S)
            if names.body and _NOTIFICATIONS_NAME in names.body[0]:
                return None
    except Exception as exc:  # any failure to talk to the bus means the same thing here
        log.debug("D-Bus session bus probe failed: %r", exc)
        return f"the D-Bus session bus could not be reached ({type(exc).__name__})"
    return "no notification service is running on the D-Bus session bus"


class PlyerNotify(_PlyerNotify):
    """plyer's notification (the fallback where org.freedesktop.Notifications is not used), after
    checking with :func:`notification_service_problem` that it can arrive.

    Raises ``NotificationUnavailable`` when there is no service, and whatever plyer raises
    (``NotImplementedError`` when it has no backend).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env, notification_service_problem)


class _Lane:
    """One daemon thread running jobs in order.

    Not a ThreadPoolExecutor and not a QThreadPool: both join their threads at exit (interpreter
    shutdown, ~QThreadPool), so a notification service that never answers would hang quitting.
    A daemon thread is simply abandoned after ``stop``'s bounded wait.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=MAX_QUEUED + 1)
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue ``job``; False when the lane is full (stuck) or stopped."""
        if self._abandoned.is_set():
            return False
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    def stop(self, deadline: float) -> bool:
        """Let queued jobs finish until monotonic ``deadline``; True if the thread ended in time."""
        with contextlib.suppress(queue.Full):
            self._jobs.put(None, timeout=max(0.0, deadline - time.monotonic()))
        self._thread.join(max(0.0, deadline - time.monotonic()))
        ended = not self._thread.is_alive()
        if not ended:
            self._abandoned.set()  # the running job finishes on its own; nothing after it runs
        return ended

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._abandoned.is_set():
                return
            try:
                job()
            except Exception:  # a job reports its own outcome; this is a bug, keep the lane alive
                log.exception("%s job failed", self.name)


@dataclass(frozen=True, slots=True)
class _DesktopOutcome:
    seq: int
    not_shown: NotShownReason | None
    detail: str | None
    shown: Shown | None = None


@dataclass(frozen=True, slots=True)
class _WebhookOutcome:
    seq: int
    result: WebhookResult


@dataclass(slots=True)
class _Pending:
    alert: Alert
    title: str
    body: str
    channel: DeliveryChannel | None = None
    not_shown: NotShownReason | None = None
    detail: str | None = None
    awaiting_webhook: bool = False
    webhook: WebhookResult | None = None


def replace_key(alert: Alert) -> Hashable:
    """Notifications with equal keys replace each other: one bubble per rule and pair. The rule's
    stable ``id``, not its value: a rule changes when it is snoozed or re-anchored."""
    return (alert.rule.id, alert.sub)


def wants_sound(alert: Alert) -> bool:
    """The rule asks for a sound with its notification."""
    return alert.rule.sound


def notification_actions(alert: Alert) -> tuple[tuple[str, str], ...]:
    """The actions on ``alert``'s notification: "Open ccdesk" as the spec's ``default`` action
    (what a click on the bubble does; menu-style servers such as dunst list it by its label), then
    "Snooze 1 h" and "Mute this rule" (buttons on GNOME and KDE). No separate "open" button:
    dunst would list "Open ccdesk" twice, and elsewhere a click already opens."""
    return tuple(
        (key, NOTIFICATION_ACTION_WORDS[ACTION_OPEN if key == ACTION_DEFAULT else key])
        for key in (ACTION_DEFAULT, ACTION_SNOOZE, ACTION_MUTE)
    )


class Notifier(QObject):
    """Delivers alerts to the desktop, the tray or the window, and to an optional webhook.

    ``deliver`` returns at once. Past the per-minute cap an alert is not shown at all (its
    ``Delivery`` says so). Otherwise the desktop notification runs on a background lane; when it
    fails, the tray's balloon is tried on the GUI thread, and without a tray the window is asked
    for a banner. The webhook POST (when a URL is set) runs on its own lane, cap or not; a sound
    the server does not play runs on a third. When all are done, ``delivered`` reports the
    outcome. Lives on, and is called from, the GUI thread.

    Signals:
        delivered(object): a :class:`Delivery`, once per alert, after every channel has finished.
        banner_requested(str, str): title and body, to show in the window when neither a desktop
            notification nor the tray could show the alert.
        action_invoked(str, object): the user chose an action on an alert's notification:
            ``ACTION_OPEN``, ``ACTION_SNOOZE`` or ``ACTION_MUTE``, and the :class:`Alert`.
    """

    delivered = Signal(object)
    banner_requested = Signal(str, str)
    action_invoked = Signal(str, object)

    def __init__(
        self,
        tray: MessageSink | None = None,
        parent: QObject | None = None,
        *,
        notify_fn: NotifyFn | None = None,
        backend: NotificationBackend | None = None,
        post_fn: PostFn = post_alert,
        webhook_timeout_s: float = 5.0,
        app_icon: str = "",
        clock: Callable[[], float] = time.monotonic,
        rate_cap: NotificationRateCap | None = None,
        sound_path: Path | None = None,
        play_sound_fn: Callable[[Path], str | None] = play_sound,
    ) -> None:
        super().__init__(parent)
        self._tray = tray
        if backend is None:
            backend = (
                CallableBackend(notify_fn)
                if notify_fn is not None
                else DesktopBackend(problem=notification_service_problem)
            )
        self._backend: NotificationBackend = backend
        self._post_fn = post_fn
        self._webhook_timeout_s = webhook_timeout_s
        self._app_icon = app_icon
        self._clock = clock
        self._cap = rate_cap if rate_cap is not None else NotificationRateCap()
        self._sound_path = sound_path
        self._play_sound_fn = play_sound_fn
        self._webhook_url: str | None = None
        self._pending: dict[int, _Pending] = {}
        self._shown: dict[int, Alert] = {}  # server id -> the alert it shows, for its actions
        self._seq = itertools.count(1)
        self._closed = False
        self._desktop_lane = _Lane("ccdesk-notify")
        self._webhook_lane = _Lane("ccdesk-webhook")
        self._sound_lane: _Lane | None = None  # made on the first sound
        # Lanes report through the relay, never through this object: a job that outlives the
        # notifier (abandoned at shutdown) must neither emit on it nor hold the last reference to
        # it (a QObject destroyed on a lane thread while an event for it is queued crashes Qt).
        self._token = next(_TOKENS)
        _relay().finished.connect(self._on_lane_finished, Qt.ConnectionType.QueuedConnection)
        _relay().notification_event.connect(self._on_backend_event, Qt.ConnectionType.QueuedConnection)
        set_sink = getattr(backend, "set_event_sink", None)
        if callable(set_sink):
            set_sink(_EventForwarder(self._token))

    # --- commands ---

    @Slot(object)
    def set_tray(self, tray: MessageSink | None) -> None:
        """Use ``tray`` for the balloon fallback (None: no tray)."""
        self._tray = tray

    @Slot(object)
    def set_webhook_url(self, url: str | None) -> None:
        """POST every later alert to ``url`` too; None or blank turns webhooks off."""
        self._webhook_url = url.strip() if url and url.strip() else None

    def webhook_url(self) -> str | None:
        """The webhook URL in use, or None."""
        return self._webhook_url

    @Slot(object)
    def deliver(self, alert: Alert) -> None:
        """Start delivering ``alert``; returns at once. ``delivered`` follows."""
        title, body = alert_title(alert), alert_body(alert)
        if self._closed:
            self.delivered.emit(Delivery(alert, DeliveryChannel.NONE, None, NotShownReason.SHUTTING_DOWN))
            return
        seq = next(self._seq)
        url = self._webhook_url
        pending = self._pending[seq] = _Pending(alert, title, body, awaiting_webhook=url is not None)
        if url is not None:
            payload = alert_payload(alert)
            post = _WebhookJob(self._post_fn, self._token, seq, url, payload, self._webhook_timeout_s)
            if not self._webhook_lane.submit(post):
                pending.awaiting_webhook = False
                pending.webhook = WebhookResult(
                    ok=False, failure=WebhookFailure.BACKLOG, host=webhook_host(url)
                )
        if not self._cap.admit(self._clock()):
            log.info(
                "alert not shown: over %d notifications a minute (%s)",
                self._cap.max_count,
                alert_log_words(alert),
            )
            pending.channel, pending.not_shown = DeliveryChannel.NONE, NotShownReason.RATE_LIMITED
            self._finish_if_done(seq)
            return
        request = NotificationRequest(
            title=title,
            body=body,
            app_name=APP_NAME,
            app_icon=self._app_icon,
            timeout_s=NOTIFICATION_TIMEOUT_S,
            replace_key=replace_key(alert),
            actions=notification_actions(alert),
            sound=wants_sound(alert),
        )
        show = _DesktopJob(self._backend, self._token, seq, request)
        if not self._desktop_lane.submit(show):
            self._fall_back(seq, NotShownReason.SERVICE_STUCK, None)
        self._finish_if_done(seq)

    def shutdown(self, timeout_s: float = SHUTDOWN_WAIT_S) -> None:
        """Stop taking alerts and wait up to ``timeout_s`` in all for deliveries under way.

        Deliveries still running after that are abandoned (their threads are daemons).
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout_s
        # The backend is closed on its own lane, after the notifications queued before it: closing
        # it here could wait on a call in progress.
        self._desktop_lane.submit(self._backend.close)
        lanes = [self._desktop_lane, self._webhook_lane]
        if self._sound_lane is not None:
            lanes.append(self._sound_lane)
        stuck = [lane.name for lane in lanes if not lane.stop(deadline)]
        if stuck:
            log.warning("gave up waiting for %s after %.1f s", ", ".join(stuck), timeout_s)

    # --- GUI thread ---

    @Slot(int, object)
    def _on_lane_finished(self, token: int, outcome: _DesktopOutcome | _WebhookOutcome) -> None:
        if token != self._token:
            return  # another notifier's
        if isinstance(outcome, _DesktopOutcome):
            self._on_lane_desktop_finished(outcome)
        else:
            self._on_lane_webhook_finished(outcome)

    @Slot(int, object)
    def _on_backend_event(self, token: int, event: NotificationEvent) -> None:
        if token != self._token:
            return
        if isinstance(event, NotificationClosed):
            self._shown.pop(event.server_id, None)
            return
        alert = self._shown.get(event.server_id)
        if alert is None:
            log.debug("action %r on an unknown notification %d", event.action, event.server_id)
            return
        action = ACTION_OPEN if event.action == ACTION_DEFAULT else event.action
        if action not in (ACTION_OPEN, ACTION_SNOOZE, ACTION_MUTE):
            log.debug("unknown notification action %r", event.action)
            return
        log.info("notification action %s on %s", action, alert_log_words(alert))
        self.action_invoked.emit(action, alert)

    def _on_lane_desktop_finished(self, outcome: _DesktopOutcome) -> None:
        pending = self._pending.get(outcome.seq)
        if pending is None:
            return
        shown = outcome.shown
        if outcome.not_shown is None:
            pending.channel = DeliveryChannel.DESKTOP
            if shown is not None and shown.server_id is not None:
                self._remember(shown.server_id, pending.alert)
        else:
            self._fall_back(outcome.seq, outcome.not_shown, outcome.detail)
        if wants_sound(pending.alert) and not (shown is not None and shown.sound_handled):
            self._play_sound()
        self._finish_if_done(outcome.seq)

    def _remember(self, server_id: int, alert: Alert) -> None:
        self._shown.pop(server_id, None)  # a replaced notification keeps its id: newest last
        self._shown[server_id] = alert
        while len(self._shown) > MAX_REMEMBERED:
            del self._shown[next(iter(self._shown))]

    def _play_sound(self) -> None:
        path = self._sound_path
        if path is None:
            log.info("no alert sound file; not played")
            return
        if self._sound_lane is None:
            self._sound_lane = _Lane("ccdesk-sound")
        if not self._sound_lane.submit(_SoundJob(self._play_sound_fn, path)):
            log.info("alert sound skipped: earlier sounds are still playing")

    def _on_lane_webhook_finished(self, outcome: _WebhookOutcome) -> None:
        pending = self._pending.get(outcome.seq)
        if pending is None:
            return
        pending.webhook = outcome.result
        pending.awaiting_webhook = False
        if not outcome.result.ok:
            log.info("alert webhook failed: %s", webhook_words(outcome.result))
        self._finish_if_done(outcome.seq)

    def _fall_back(self, seq: int, reason: NotShownReason, detail: str | None) -> None:
        """The desktop notification failed: the tray's balloon, else a banner in the window."""
        pending = self._pending[seq]
        pending.not_shown, pending.detail = reason, detail
        tray = self._tray
        if tray is not None and tray.show_message(pending.title, pending.body):
            pending.channel = DeliveryChannel.TRAY
        else:
            pending.channel = DeliveryChannel.BANNER
            self.banner_requested.emit(pending.title, pending.body)

    def _finish_if_done(self, seq: int) -> None:
        pending = self._pending[seq]
        if pending.channel is None or pending.awaiting_webhook:
            return
        del self._pending[seq]
        self.delivered.emit(
            Delivery(pending.alert, pending.channel, pending.webhook, pending.not_shown, pending.detail)
        )


class _Relay(QObject):
    """Carries lane outcomes and notification events to the GUI thread. One for the process,
    never deleted before exit."""

    finished = Signal(int, object)  # the notifier's token, the outcome
    notification_event = Signal(int, object)  # the notifier's token, a NotificationEvent


_TOKENS = itertools.count(1)
_RELAY: _Relay | None = None


def _relay() -> _Relay:
    """The relay, made on first use (on the GUI thread, by the first Notifier)."""
    global _RELAY
    if _RELAY is None:
        _RELAY = _Relay()
    return _RELAY


def _report(token: int, outcome: _DesktopOutcome | _WebhookOutcome) -> None:
    relay = _RELAY
    if relay is None:
        return
    try:
        relay.finished.emit(token, outcome)
    except RuntimeError:  # interpreter shutdown: Qt is gone
        log.debug("no relay; dropped %r", outcome)


class _EventForwarder:
    """The backend's event sink: forwards action and close events (on the backend's thread) to
    the notifier (on the GUI thread) through the relay. Holds the token, not the notifier."""

    __slots__ = ("_token",)

    def __init__(self, token: int) -> None:
        self._token = token

    def __call__(self, event: NotificationEvent) -> None:
        relay = _RELAY
        if relay is None:
            return
        try:
            relay.notification_event.emit(self._token, event)
        except RuntimeError:  # interpreter shutdown: Qt is gone
            log.debug("no relay; dropped %r", event)


class _DesktopJob:
    """A desktop notification job for the lane. It holds what it needs, not the notifier."""

    __slots__ = ("_backend", "_request", "_seq", "_token")

    def __init__(
        self, backend: NotificationBackend, token: int, seq: int, request: NotificationRequest
    ) -> None:
        self._backend, self._token, self._seq, self._request = backend, token, seq, request

    def __call__(self) -> None:
        try:
            shown = self._backend.show(self._request)
        except NotImplementedError:
            outcome = _DesktopOutcome(self._seq, NotShownReason.NO_BACKEND, None)
        except NotificationUnavailable as exc:
            outcome = _DesktopOutcome(self._seq, NotShownReason.SERVICE_UNAVAILABLE, str(exc))
        except Exception as exc:
            outcome = _DesktopOutcome(self._seq, NotShownReason.FAILED, f"{type(exc).__name__}: {exc}")
        else:
            outcome = _DesktopOutcome(self._seq, None, None, shown)
        if outcome.not_shown is not None:
            log.info("desktop notification not shown: %s (%s)", outcome.not_shown.value, outcome.detail)
        _report(self._token, outcome)


class _SoundJob:
    """Plays the alert sound on the sound lane; a failure is logged, never shown."""

    __slots__ = ("_path", "_play")

    def __init__(self, play: Callable[[Path], str | None], path: Path) -> None:
        self._play, self._path = play, path

    def __call__(self) -> None:
        try:
            problem = self._play(self._path)
        except Exception as exc:  # play_sound does not raise; an injected one might
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            log.info("alert sound not played: %s", problem)


class _WebhookJob:
    """A webhook POST job for the lane. It holds what it needs, not the notifier."""

    __slots__ = ("_payload", "_post_fn", "_seq", "_timeout_s", "_token", "_url")

    def __init__(
        self, post_fn: PostFn, token: int, seq: int, url: str, payload: Mapping[str, Any], timeout_s: float
    ) -> None:
        self._post_fn, self._token, self._seq, self._url = post_fn, token, seq, url
        self._payload, self._timeout_s = payload, timeout_s

    def __call__(self) -> None:
        try:
            result = self._post_fn(self._url, self._payload, timeout_s=self._timeout_s)
        except Exception as exc:  # post_alert does not raise; an injected post_fn might
            result = WebhookResult(
                ok=False,
                failure=WebhookFailure.FAILED,
                host=webhook_host(self._url),
                reason=type(exc).__name__,
            )
        _report(self._token, _WebhookOutcome(self._seq, result))
