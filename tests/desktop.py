"""Real desktop services for tests: a private D-Bus session bus and a real Secret Service
(gnome-keyring). Each lives in throwaway HOME/XDG_RUNTIME_DIR folders and is stopped after use."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUIRED = ("dbus-daemon", "dbus-send", "gnome-keyring-daemon")


def missing_tools() -> list[str]:
    return [t for t in REQUIRED if shutil.which(t) is None]


def _wait_for_name(env: dict[str, str], name: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if "boolean true" in r.stdout:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not appear on the session bus")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def session_bus() -> Iterator[dict[str, str]]:
    """A private session bus; yields an environment (HOME, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS)."""
    root = Path(tempfile.mkdtemp(prefix="ccdesk-bus-"))
    home, runtime = root / "home", root / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = bus.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        yield env
    finally:
        _stop(bus)
        bus.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def secret_service(env: dict[str, str], unlock: bool = True) -> Iterator[subprocess.Popen]:
    """gnome-keyring's Secret Service on the bus in ``env``; unlocked with a password unless told not to."""
    cmd = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
    if unlock:
        cmd.insert(2, "--unlock")
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    try:
        if unlock:
            proc.stdin.write("test-password")
        proc.stdin.close()
        _wait_for_name(env, "org.freedesktop.secrets")
        yield proc
    finally:
        _stop(proc)
