"""Desktop notification backends: org.freedesktop.Notifications over D-Bus (jeepney), plyer, a sound.

Everything here blocks (a D-Bus round trip, a child process): the notifier calls it on its background
lanes, never on the GUI thread. No Qt in this module: the notifier turns the D-Bus service's
signals (an action chosen, a notification closed) into Qt signals.

Why jeepney and not QtDBus (measured in tests/bench/notify.py, numbers in the notes and README):
PySide6 has no way to marshal a D-Bus ``uint32`` (a Python int always becomes ``int32``; there is
no QVariant to type it), and ``Notify``'s second argument, ``replaces_id``, is one. Every server
that checks signatures (dunst, GNOME Shell, anything on GDBus) refuses the call. jeepney is pure
Python, already installed on Linux with keyring (keyring -> SecretStorage -> jeepney), and types
every argument explicitly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

log = logging.getLogger(__name__)

NOTIFICATIONS_NAME: Final = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH: Final = "/org/freedesktop/Notifications"
CALL_TIMEOUT_S: Final = 5.0
"""A notification server that has not answered a call in this long is hung."""
_NO_SERVICE: Final = "no notification service is running on the D-Bus session bus"
SOUND_NAME: Final = "message-new-instant"
"""The freedesktop sound theme's name for an incoming message (the ``sound-name`` hint)."""

ACTION_DEFAULT: Final = "default"
"""The spec's key for clicking the notification itself; ccdesk treats it as ``ACTION_OPEN``."""
ACTION_OPEN: Final = "open"
ACTION_SNOOZE: Final = "snooze"
ACTION_MUTE: Final = "mute"


class NotificationUnavailable(RuntimeError):
    """No desktop notification service to hand a notification to; ``str(err)`` says why."""


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """One notification to show.

    Attributes:
        title: The summary line.
        body: The text under it (plain; no markup).
        app_name: The sending application's name.
        app_icon: An icon's file path, or "".
        timeout_s: Seconds until the notification expires (servers may ignore it).
        replace_key: Notifications with the same key replace each other instead of stacking
            (None: never replaced).
        actions: ``(key, label)`` buttons, offered only where the server supports actions.
        sound: Play a sound with it.
    """

    title: str
    body: str
    app_name: str = "ccdesk"
    app_icon: str = ""
    timeout_s: int = 10
    replace_key: Hashable | None = None
    actions: tuple[tuple[str, str], ...] = ()
    sound: bool = False


@dataclass(frozen=True, slots=True)
class Shown:
    """A notification handed over.

    Attributes:
        server_id: The server's id for it (action and close events name it), or None when the
            backend has no ids (plyer).
        sound_handled: The server was asked to play the sound (``sound-name``), so no other
            sound is needed.
    """

    server_id: int | None = None
    sound_handled: bool = False


@dataclass(frozen=True, slots=True)
class ActionInvoked:
    """The user chose ``action`` on notification ``server_id``."""

    server_id: int
    action: str


@dataclass(frozen=True, slots=True)
class NotificationClosed:
    """Notification ``server_id`` is gone: ``reason`` 1 expired, 2 dismissed, 3 closed by a call, 4 other."""

    server_id: int
    reason: int


NotificationEvent = ActionInvoked | NotificationClosed
EventSink = Callable[[NotificationEvent], None]


class NotificationBackend(Protocol):
    """Shows notifications; may block (runs on a background lane)."""

    def show(self, request: NotificationRequest) -> Shown:
        """Hand ``request`` over; raises ``NotificationUnavailable``, ``NotImplementedError`` or
        anything else when it could not."""
        ...

    def close(self) -> None:
        """Let go of connections and threads (idempotent)."""
        ...


def session_bus_address(env: Mapping[str, str]) -> str | None:
    """The session bus address, as GLib finds it: ``DBUS_SESSION_BUS_ADDRESS``, else
    ``$XDG_RUNTIME_DIR/bus``; None when there is none."""
    address = env.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = env.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return f"unix:path={os.path.join(runtime, 'bus')}"
    return None


def jeepney_available() -> bool:
    """True when jeepney can be imported (Linux installs get it with keyring)."""
    try:
        import jeepney  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


class FreedesktopNotifications:
    """``org.freedesktop.Notifications`` on the session bus, through one jeepney connection.

    ``show`` is blocking and thread-safe (the notifier calls it on its lane). The connection is
    opened on first use and again after it breaks (a restarted bus or notification daemon). Its
    ``ActionInvoked`` and ``NotificationClosed`` signals go to ``on_event`` on a daemon thread of
    this object's own: ``on_event`` must be thread-safe (the notifier emits a Qt signal).

    Notifications with the same ``replace_key`` replace each other (the spec's ``replaces_id``)
    until the server says the notification closed; then the next one is new.
    """

    def __init__(
        self,
        on_event: EventSink | None = None,
        env: Mapping[str, str] | None = None,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self._on_event = on_event
        self._timeout_s = call_timeout_s
        self._env = os.environ if env is None else env
        self._lock = threading.Lock()
        self._router: Any = None
        self._events: queue.Queue[Any] | None = None
        self._listener: threading.Thread | None = None
        self._caps: frozenset[str] = frozenset()
        self._caps_stale = False  # another server took the name: ask its capabilities again
        self._ids: dict[Hashable, int] = {}
        self._keys: dict[int, Hashable] = {}
        self._closed = False

    def set_event_sink(self, on_event: EventSink | None) -> None:
        """Send later action and close events to ``on_event``."""
        self._on_event = on_event

    def capabilities(self) -> frozenset[str]:
        """The server's capabilities (``actions``, ``sound``, ``body-markup`` …); connects if needed."""
        with self._lock:
            self._connect()
            return self._caps

    def show(self, request: NotificationRequest) -> Shown:
        """Send ``Notify``; returns the server's id. Raises ``NotificationUnavailable`` when there
        is no bus or no server, ``TimeoutError`` when the server does not answer."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse  # type: ignore[import-untyped]

        with self._lock:
            if self._closed:
                raise NotificationUnavailable("shutting down")
            for attempt in (1, 2):
                router = self._connect()
                if self._caps_stale:
                    self._refresh_caps(router)
                caps = self._caps
                replaces = self._ids.get(request.replace_key, 0) if request.replace_key is not None else 0
                actions: list[str] = []
                if "actions" in caps:
                    for key, label in request.actions:
                        actions += [key, label]
                hints: dict[str, tuple[str, Any]] = {
                    "urgency": ("y", 1),
                    "category": ("s", "x-ccdesk.alert"),
                    "desktop-entry": ("s", "ccdesk"),
                }
                sound_handled = request.sound and "sound" in caps
                if sound_handled:
                    hints["sound-name"] = ("s", SOUND_NAME)
                elif not request.sound:
                    hints["suppress-sound"] = ("b", True)
                address = DBusAddress(
                    NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_NAME, interface=NOTIFICATIONS_NAME
                )
                msg = new_method_call(
                    address,
                    "Notify",
                    "susssasa{sv}i",
                    (
                        request.app_name,
                        replaces,
                        request.app_icon,
                        request.title,
                        request.body,
                        actions,
                        hints,
                        int(request.timeout_s * 1000),
                    ),
                )
                try:
                    reply = router.send_and_get_reply(msg, timeout=self._timeout_s)
                except (
                    TimeoutError
                ) as exc:  # (an OSError too: caught first) the server hangs, the bus is fine
                    raise NotificationUnavailable(
                        f"the notification service did not answer within {self._timeout_s:g} s"
                    ) from exc
                except (OSError, RuntimeError) as exc:  # the bus went away (RouterClosed is a RuntimeError)
                    self._disconnect()
                    if attempt == 2:
                        raise NotificationUnavailable(
                            f"the session bus connection broke ({type(exc).__name__})"
                        ) from exc
                    continue
                try:
                    from jeepney.wrappers import unwrap_msg

                    (server_id,) = unwrap_msg(reply)
                except DBusErrorResponse as exc:
                    if exc.name == "org.freedesktop.DBus.Error.ServiceUnknown":
                        raise NotificationUnavailable(_NO_SERVICE) from exc
                    raise RuntimeError(f"{exc.name}: {exc.data}") from exc
                server_id = int(server_id)
                if request.replace_key is not None:
                    old = self._ids.get(request.replace_key)
                    if old is not None and old != server_id:
                        self._keys.pop(old, None)
                    self._ids[request.replace_key] = server_id
                    self._keys[server_id] = request.replace_key
                return Shown(server_id=server_id, sound_handled=sound_handled)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection and stop the listener (idempotent)."""
        with self._lock:
            self._closed = True
            self._disconnect()

    # --- under self._lock ---

    def _connect(self) -> Any:
        if self._router is not None:
            return self._router
        if not sys.platform.startswith("linux"):
            raise NotificationUnavailable("not a freedesktop desktop")
        address = session_bus_address(self._env)
        if address is None:
            raise NotificationUnavailable("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        try:
            from jeepney import MatchRule
            from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
            from jeepney.io.threading import DBusRouter, open_dbus_connection  # type: ignore[import-untyped]
        except ImportError as exc:
            raise NotificationUnavailable("jeepney is not installed") from exc
        try:
            conn = open_dbus_connection(address, auth_timeout=self._timeout_s)
        except Exception as exc:
            raise NotificationUnavailable(
                f"the D-Bus session bus could not be reached ({type(exc).__name__})"
            ) from exc
        router = _quiet_router(DBusRouter)(conn)
        try:
            owned = router.send_and_get_reply(
                message_bus.NameHasOwner(NOTIFICATIONS_NAME), timeout=self._timeout_s
            )
            if not owned.body[0]:
                names = router.send_and_get_reply(message_bus.ListActivatableNames(), timeout=self._timeout_s)
                if NOTIFICATIONS_NAME not in names.body[0]:
                    raise NotificationUnavailable(_NO_SERVICE)
            events: queue.Queue[Any] = queue.Queue()
            for member in ("ActionInvoked", "NotificationClosed"):
                rule = MatchRule(
                    type="signal", interface=NOTIFICATIONS_NAME, member=member, path=NOTIFICATIONS_PATH
                )
                router.filter(rule, queue=events)
                router.send_and_get_reply(message_bus.AddMatch(rule), timeout=self._timeout_s)
            # A restarted (or another) notification server: its ids and capabilities are new.
            owner = MatchRule(
                type="signal",
                sender="org.freedesktop.DBus",
                interface="org.freedesktop.DBus",
                member="NameOwnerChanged",
                path="/org/freedesktop/DBus",
            )
            owner.add_arg_condition(0, NOTIFICATIONS_NAME)
            router.filter(owner, queue=events)
            router.send_and_get_reply(message_bus.AddMatch(owner), timeout=self._timeout_s)
            caps = _get_capabilities(router, self._timeout_s)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                router.close()
                conn.close()
            if isinstance(exc, TimeoutError):
                raise NotificationUnavailable(
                    f"the notification service did not answer within {self._timeout_s:g} s"
                ) from exc
            raise
        self._router, self._events, self._caps, self._caps_stale = router, events, caps, False
        self._ids.clear()
        self._keys.clear()
        self._listener = threading.Thread(
            target=self._listen, args=(events,), name="ccdesk-notify-events", daemon=True
        )
        self._listener.start()
        log.info("notification server capabilities: %s", ", ".join(sorted(caps)) or "none")
        return router

    def _refresh_caps(self, router: Any) -> None:
        try:
            self._caps = _get_capabilities(router, self._timeout_s)
        except Exception as exc:  # keep the old ones; Notify itself will say if the server is gone
            log.info("could not ask the notification server's capabilities (%s)", type(exc).__name__)
            return
        self._caps_stale = False
        log.info("notification server capabilities: %s", ", ".join(sorted(self._caps)) or "none")

    def _disconnect(self) -> None:
        router, events = self._router, self._events
        self._router = self._events = None
        self._ids.clear()
        self._keys.clear()
        if events is not None:
            events.put(None)
        if router is not None:
            with contextlib.suppress(Exception):
                router.close()
                router.conn.close()

    # --- the listener thread ---

    def _listen(self, events: queue.Queue[Any]) -> None:
        while True:
            msg = events.get()
            if msg is None:
                return
            member = msg.header.fields.get(_MEMBER_FIELD)
            try:
                if member == "ActionInvoked":
                    server_id, action = int(msg.body[0]), str(msg.body[1])
                    event: NotificationEvent = ActionInvoked(server_id, action)
                elif member == "NotificationClosed":
                    server_id, reason = int(msg.body[0]), int(msg.body[1])
                    with self._lock:
                        key = self._keys.pop(server_id, None)
                        if key is not None and self._ids.get(key) == server_id:
                            del self._ids[key]
                    event = NotificationClosed(server_id, reason)
                elif member == "NameOwnerChanged":
                    with self._lock:
                        self._ids.clear()
                        self._keys.clear()
                        self._caps_stale = True
                    log.info(
                        "the notification server changed (%s -> %s)", msg.body[1] or "-", msg.body[2] or "-"
                    )
                    continue
                else:
                    continue
            except (IndexError, TypeError, ValueError):
                log.debug("ignored a malformed %s signal: %r", member, msg.body)
                continue
            sink = self._on_event
            if sink is not None:
                try:
                    sink(event)
                except Exception:
                    log.exception("notification event handler failed")


def _get_capabilities(router: Any, timeout_s: float) -> frozenset[str]:
    from jeepney import DBusAddress, new_method_call

    address = DBusAddress(NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_NAME, interface=NOTIFICATIONS_NAME)
    reply = router.send_and_get_reply(new_method_call(address, "GetCapabilities"), timeout=timeout_s)
    return frozenset(reply.body[0]) if reply.body else frozenset()


def _quiet_router(base: Any) -> Any:
    """jeepney's threaded router, minus a traceback on stderr when the bus goes away.

    jeepney 0.9's receiver thread lets ``ConnectionResetError`` escape when the bus daemon
    exits (logout, a test's private bus); here that ends the thread quietly, and the next
    ``show`` reconnects or reports the bus as unavailable.
    """

    class _QuietRouter(base):  # type: ignore[misc]
        def _receiver(self) -> None:
            try:
                super()._receiver()
            except (OSError, ValueError) as exc:  # ValueError: a socket closed under it
                log.info("the D-Bus session bus connection ended (%s)", type(exc).__name__)

    return _QuietRouter


def _member_field() -> Any:
    try:
        from jeepney import HeaderFields
    except ImportError:
        return None
    return HeaderFields.member


_MEMBER_FIELD: Final = _member_field()


class PlyerNotify:
    """plyer's desktop notification, as a plyer-shaped callable (``title``, ``message``, ``app_name``,
    ``app_icon``, ``timeout`` keywords): the fallback on platforms without org.freedesktop.Notifications.

    On Linux it first checks that a notification can arrive (plyer's ``notify-send`` fallback
    ignores the exit status, so with no service it "succeeds" and the alert is lost), and raises
    ``NotificationUnavailable`` when not.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        problem: Callable[[Mapping[str, str] | None], str | None] | None = None,
    ) -> None:
        self._env = env
        self._problem = problem
        self._resolved = False

    def __call__(self, *, title: str, message: str, app_name: str, app_icon: str, timeout: int) -> None:
        if self._problem is not None:
            problem = self._problem(self._env)
            if problem is not None:
                raise NotificationUnavailable(problem)
        from plyer import notification  # type: ignore[import-untyped]

        if self._resolved:
            _plyer_notify(notification, title, message, app_name, app_icon, timeout)
            return
        # plyer picks its backend on first use and warns (UserWarning) when dbus-python is missing
        # before settling on notify-send. That is expected, not a problem: log it instead. (The
        # warnings filter is process-wide, so this is done only once.)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                _plyer_notify(notification, title, message, app_name, app_icon, timeout)
            finally:
                self._resolved = True
        for w in caught:
            log.info("plyer: %s", str(w.message).splitlines()[0])


def _plyer_notify(
    notification: Any, title: str, message: str, app_name: str, app_icon: str, timeout: int
) -> None:
    # plyer 2.1's facade passes `timeout`, but its notify-send backend reads `expire_time` (default
    # "0": never expire) and `icon` instead, so every bubble stayed until clicked (issue 10). Call
    # that backend with the keywords it reads; every other backend gets the facade's call.
    facade = notification
    ensure = getattr(type(facade), "_ensure_obj", None)  # plyer's Proxy: resolves its backend once
    backend = ensure(facade) if callable(ensure) else facade
    if type(backend).__name__ == "NotifySendNotification":
        backend._notify(
            title=title,
            message=message,
            app_name=app_name,
            icon=app_icon,
            expire_time=str(int(timeout * 1000)),
        )
        return
    facade.notify(title=title, message=message, app_name=app_name, app_icon=app_icon, timeout=timeout)


class CallableBackend:
    """A plyer-shaped ``notify_fn`` as a backend: no ids, no actions, no server-side sound."""

    def __init__(self, notify_fn: Callable[..., object]) -> None:
        self._notify_fn = notify_fn

    def show(self, request: NotificationRequest) -> Shown:
        self._notify_fn(
            title=request.title,
            message=request.body,
            app_name=request.app_name,
            app_icon=request.app_icon,
            timeout=request.timeout_s,
        )
        return Shown()

    def close(self) -> None:
        return None


class DesktopBackend:
    """The default backend: org.freedesktop.Notifications where there is one (Linux with jeepney),
    plyer elsewhere (Windows, macOS, a Linux without jeepney)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        problem: Callable[[Mapping[str, str] | None], str | None] | None = None,
    ) -> None:
        self.freedesktop: FreedesktopNotifications | None = None
        if sys.platform.startswith("linux") and jeepney_available():
            self.freedesktop = FreedesktopNotifications(env=env)
        self._plyer = CallableBackend(PlyerNotify(env, problem))

    def set_event_sink(self, on_event: EventSink | None) -> None:
        """Send the D-Bus server's action and close events to ``on_event`` (plyer has none)."""
        if self.freedesktop is not None:
            self.freedesktop.set_event_sink(on_event)

    def show(self, request: NotificationRequest) -> Shown:
        if self.freedesktop is not None:
            return self.freedesktop.show(request)
        return self._plyer.show(request)

    def close(self) -> None:
        if self.freedesktop is not None:
            self.freedesktop.close()


# --- a sound, where the notification server plays none ---------------------------------------------

PLAYERS: Final = ("pw-play", "paplay", "aplay")
"""Linux sound players tried in order (PipeWire, PulseAudio, ALSA), whichever is on PATH."""
SOUND_TIMEOUT_S: Final = 5.0


def sound_command(path: Path, which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command that plays ``path`` here, or None when this platform offers none (Windows uses
    ``winsound`` instead, see :func:`play_sound`)."""
    if sys.platform == "darwin":
        player = which("afplay")
        return [player, str(path)] if player else None
    for name in PLAYERS:
        player = which(name)
        if player:
            return [player, str(path)] if name != "aplay" else [player, "-q", str(path)]
    return None


def play_sound(path: Path, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """Play ``path`` (a short WAV) and wait for it; returns None, or why it was not played.

    Blocks up to ``SOUND_TIMEOUT_S``: call it on a background lane. Never raises.
    """
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            import winsound

            winsound.PlaySound(str(path), winsound.SND_FILENAME)
        except Exception as exc:
            return f"winsound failed ({type(exc).__name__}: {exc})"
        return None
    cmd = sound_command(path, which)
    if cmd is None:
        return (
            "no sound player found (tried "
            + ", ".join(("afplay",) if sys.platform == "darwin" else PLAYERS)
            + ")"
        )
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SOUND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{Path(cmd[0]).name} failed ({type(exc).__name__})"
    if done.returncode != 0:
        return f"{Path(cmd[0]).name} exited with {done.returncode}: {done.stderr.strip()[-200:]}"
    return None
