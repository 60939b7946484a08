"""Quitting at any moment (issue 8, "Quitting can crash"): the real app process, stuck at one moment
at a time, is asked to quit (SIGTERM, or Ctrl+Q in its window) and must exit 0 within 3 s, with no
"QThread: Destroyed", no traceback and no process of its own left behind.

Each moment is produced for real and checked before quitting:

* connecting, the upgrade never answered: a server that accepts TCP and stays silent
  (tests/hostile.py with no handler); it has received the upgrade request.
* connecting, a black-holed route: a loopback listener with a full accept queue (backlog 0 and
  one connection waiting in it) drops the app's SYNs; the app has a socket in SYN_SENT to it.
* connecting, a resolver that never answers: simulated (quit_fakes/sitecustomize.py), because a
  name that does not exist fails here within milliseconds; the app's getaddrinfo was called.
* the TLS handshake: ``wss://`` to a plain TCP server that never answers; it has the ClientHello.
* the backoff wait: a refused port (bound, not listening); the app logged its reconnect delay.
* a keyring read that never returns (an unlock prompt nobody answers): quit_fakes/hanging_keyring.py
  selected with ``PYTHON_KEYRING_BACKEND``; the app has called its ``get_password``.
* a desktop notification in flight: demo mode, a rule that fires at once, and a ``notify-send``
  that never returns first on PATH (plyer runs it when dbus-python is absent); it was started.

Every process the app starts inherits a marker in its environment; "left behind" means a process
with the marker still alive once the app has exited. One is known and reported as an expected
failure rather than fixed here: the ``notify-send`` that plyer started outlives the app (plyer runs
it with ``subprocess.call``, without a timeout or a handle, on the notifier's lane, which quitting
abandons after 1 s).

Quit through the UI is Ctrl+Q sent with xdotool to the window (the menu's Quit action); the tray's
menu leads to the same ``AppController.quit``. Each test's exit time is appended to
tests/artifacts/quit-times.jsonl.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.desktop import keys, wait_for_window
from tests.hostile import HostileServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

QUIT_BUDGET_S = 3.0
REACH_TIMEOUT_S = 20.0
REPO = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "quit_fakes"
TIMES = REPO / "tests" / "artifacts" / "quit-times.jsonl"
KEY = "quit-test-key-0123456789abcdef"
MARKER_VAR = "CCDESK_QUIT_TEST_RUN"
# A rule that fires on the first price move the simulator makes: the smallest move a rule may ask for
# (smaller ones are raised to it on load); the demo's sharp moves on watched coins pass it in seconds.
FIRE_AT_ONCE = (
    '[{"kind": "move", "pct": 0.1, "window_s": 60, "direction": "either", "cooldown_s": 3600, "sub": null}]'
)


class RunningApp:
    """``python -m ccdesk -v`` from this checkout; stdout and stderr go to one log file."""

    def __init__(self, env: dict[str, str], args: tuple[str, ...], log: Path) -> None:
        self.env = env
        token = uuid.uuid4().hex
        self.marker = f"{MARKER_VAR}={token}".encode()
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccdesk", "-v", *args],
            cwd=REPO,
            env=dict(env, **{MARKER_VAR: token}),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def marked_processes(self) -> list[int]:
        """Live processes started by the app (or by them): they carry its marker."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # gone, or a kernel thread
                continue
            if self.marker in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    def socket_inodes(self) -> set[str]:
        inodes = set()
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        return inodes

    def close(self) -> None:
        """Kill whatever is still running: the app, then what it left behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in self.marked_processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


@dataclass
class Stage:
    """How to put the app at one moment, and how to tell that it is there.

    Attributes:
        settings: the app's INI file.
        reached: what shows that the app is there (for the test's output), or None.
        env: added to the desktop's environment.
        args: the app's command line.
        known_leftovers: processes of the app's that are known to outlive it (see the test).
    """

    settings: dict[str, str]
    reached: Callable[[RunningApp], str | None]
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    known_leftovers: Callable[[], set[int]] = set


def _settings(stream_url: str) -> dict[str, str]:
    return {"stream_url": stream_url, "watchlist": '["5~CCCAGG~BTC~USD"]', "demo": "false"}


def _upgrade_received(server: HostileServer) -> str | None:
    peers = server.peers
    if peers and peers[0].received.startswith(b"GET ") and b"\r\n\r\n" in peers[0].received:
        return "the silent server holds the upgrade request"
    return None


def _client_hello_received(server: HostileServer) -> str | None:
    peers = server.peers
    # A TLS record of type 22 (handshake), version 3.x: the ClientHello.
    if peers and peers[0].received[:2] == b"\x16\x03":
        return f"the silent server holds a ClientHello ({len(peers[0].received)} bytes)"
    return None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


@contextmanager
def upgrade_unanswered(tmp: Path) -> Iterator[Stage]:
    with HostileServer() as server:
        yield Stage(_settings(server.url()), lambda app: _upgrade_received(server), {"CCDESK_API_KEY": KEY})


@contextmanager
def route_black_holed(tmp: Path) -> Iterator[Stage]:
    # Linux queues backlog + 1 connections: with backlog 0 the filler takes the only place, and
    # every later SYN is dropped, as on a route that loses packets; the connect waits for its timeout.
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):

            def reached(app: RunningApp) -> str | None:
                ours = app.socket_inodes()
                for line in Path(f"/proc/{app.proc.pid}/net/tcp").read_text().splitlines()[1:]:
                    cols = line.split()
                    # rem_address is HEXIP:HEXPORT; state 02 is SYN_SENT; column 9 the inode.
                    if int(cols[2].split(":")[1], 16) == port and cols[3] == "02" and cols[9] in ours:
                        return f"the app's socket to port {port} is in SYN_SENT"
                return None

            yield Stage(_settings(f"ws://127.0.0.1:{port}/v2"), reached, {"CCDESK_API_KEY": KEY})


@contextmanager
def resolver_silent(tmp: Path) -> Iterator[Stage]:
    name = "stream.quit-test.invalid"
    calls = tmp / "dns-calls"
    env = {
        "CCDESK_API_KEY": KEY,
        "PYTHONPATH": str(FAKES),
        "CCDESK_TEST_HANG_DNS": name,
        "CCDESK_TEST_DNS_CALLS": str(calls),
    }
    yield Stage(
        _settings(f"wss://{name}/v2"),
        lambda app: f"getaddrinfo({name}) is waiting" if name in _lines(calls) else None,
        env,
    )


@contextmanager
def tls_handshake(tmp: Path) -> Iterator[Stage]:
    with HostileServer() as server:
        yield Stage(
            _settings(server.url(scheme="wss")),
            lambda app: _client_hello_received(server),
            {"CCDESK_API_KEY": KEY},
        )


@contextmanager
def backoff_wait(tmp: Path) -> Iterator[Stage]:
    # Bound but not listening: connecting is refused, and no other program can take the port.
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]

        def reached(app: RunningApp) -> str | None:
            waiting = [line for line in app.log().splitlines() if "stream reconnecting (" in line]
            return waiting[0].partition("stream ")[2] if waiting else None

        yield Stage(_settings(f"ws://127.0.0.1:{port}/v2"), reached, {"CCDESK_API_KEY": KEY})


@contextmanager
def keyring_pending(tmp: Path) -> Iterator[Stage]:
    calls = tmp / "keyring-calls"
    env = {
        "PYTHONPATH": str(FAKES),
        "PYTHON_KEYRING_BACKEND": "hanging_keyring.HangingKeyring",
        "CCDESK_TEST_KEYRING_CALLS": str(calls),
    }
    yield Stage(
        _settings("wss://streamer.example.com/v2"),
        lambda app: "the keyring's get_password is waiting" if "get_password" in _lines(calls) else None,
        env,
    )


@contextmanager
def notification_in_flight(tmp: Path) -> Iterator[Stage]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    calls = tmp / "notify-calls"
    fake = bin_dir / "notify-send"
    fake.write_text(f'#!/bin/sh\necho "$$ $*" >> "{calls}"\nexec sleep 3600\n')
    fake.chmod(0o755)
    yield Stage(
        {"rules": FIRE_AT_ONCE},
        lambda app: "notify-send is running" if _lines(calls) else None,
        {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        ("--demo",),
        lambda: {int(line.split()[0]) for line in _lines(calls)},
    )


MOMENTS = {
    "upgrade-unanswered": upgrade_unanswered,
    "route-black-holed": route_black_holed,
    "resolver-silent": resolver_silent,
    "tls-handshake": tls_handshake,
    "backoff-wait": backoff_wait,
    "keyring-pending": keyring_pending,
    "notification-in-flight": notification_in_flight,
}


@pytest.fixture
def app_name() -> str:
    """This module's own app name (settings file, single-instance socket), apart from test_desktop's."""
    return f"ccdesk-e2e-quit-{os.getpid()}"


def write_settings(env: dict[str, str], values: dict[str, str]) -> None:
    """The app's INI file, each value written as given (JSON stays JSON)."""
    path = Path(env["HOME"]) / ".config" / "ccdesk" / f"{env['CCDESK_APP_NAME']}.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["[General]", *(f"{k}={v}" for k, v in values.items())]) + "\n")


def wait_until_reached(app: RunningApp, stage: Stage) -> str:
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while time.monotonic() < deadline:
        assert app.proc.poll() is None, f"the app exited ({app.proc.returncode}) early:\n{app.log()}"
        evidence = stage.reached(app)
        if evidence is not None:
            return evidence
        time.sleep(0.05)
    raise AssertionError(f"the app never got there in {REACH_TIMEOUT_S:.0f} s; log:\n{app.log()}")


@pytest.mark.parametrize("how", ["sigterm", "ctrl+q"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_quit_exits_cleanly(moment: str, how: str, desktop: dict[str, str], tmp_path: Path) -> None:
    with ExitStack() as stack:
        stage = stack.enter_context(MOMENTS[moment](tmp_path))
        env = dict(desktop, **stage.env)
        write_settings(env, stage.settings)
        app = RunningApp(env, stage.args, tmp_path / "app.log")
        stack.callback(app.close)
        wid = wait_for_window(env, ["--class", "ccdesk"], timeout_s=REACH_TIMEOUT_S, proc=app.proc)
        evidence = wait_until_reached(app, stage)
        started = [pid for pid in app.marked_processes() if pid != app.proc.pid]

        t0 = time.monotonic()
        if how == "sigterm":
            app.proc.send_signal(signal.SIGTERM)
        else:
            keys(env, wid, "ctrl+q")
        try:
            code = app.proc.wait(QUIT_BUDGET_S + 7)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {QUIT_BUDGET_S + 7:.0f} s after {how}; log:\n{app.log()}")
        took = time.monotonic() - t0
        left = app.marked_processes()
    log = app.log()
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with TIMES.open("a") as f:
        f.write(json.dumps({"moment": moment, "how": how, "code": code, "s": round(took, 3)}) + "\n")
    print(f"{moment} / {how}: {evidence}; exit {code} after {took:.2f} s; children then: {started}")

    assert code == 0, log
    assert took <= QUIT_BUDGET_S, f"exit took {took:.2f} s; log:\n{log}"
    for bad in ("QThread: Destroyed", "Traceback", "Fatal Python error"):
        assert bad not in log, log
    assert "the stream thread did not end" not in log, log  # it ended: os._exit was not needed
    known = stage.known_leftovers()
    assert [pid for pid in left if pid not in known] == [], f"left behind: {left}; log:\n{log}"
    if left:
        # Known, not fixed here: plyer runs notify-send with subprocess.call (no handle, no
        # timeout) on the notifier's lane, which quitting abandons after 1 s; the child lives on.
        # A real notify-send facing a notification service that never answers exits ~75 s later.
        pytest.xfail(f"notify-send {left} outlived the app (plyer's child; see the test)")
