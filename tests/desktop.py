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
    # Everything per-user lives under this bus's own HOME: the test session's XDG_DATA_HOME (set by
    # tests/conftest.py for the app's data) would share keyrings between buses.
    private = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in private}
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


E2E_TOOLS = ("Xvfb", "xdotool", "xprop", "import", "trayer", "dunst", "dunstctl", "secret-tool")


def missing_e2e_tools() -> list[str]:
    return missing_tools() + [t for t in E2E_TOOLS if shutil.which(t) is None]


@contextmanager
def xvfb(env: dict[str, str], size: str = "1280x800x24") -> Iterator[dict[str, str]]:
    """A real X server on a free display number; yields ``env`` plus DISPLAY."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            display = f.readline().strip()
        if not display:
            raise RuntimeError("Xvfb did not report a display")
        yield dict(env, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb")
    finally:
        _stop(proc)


@contextmanager
def background(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A helper program (tray host, notification daemon) for the duration of a block."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        _stop(proc)


@contextmanager
def tray_host(env: dict[str, str], attempts: int = 3, height: int = 32) -> Iterator[subprocess.Popen]:
    """trayer: an XEmbed system tray at the top right of the screen, ``height`` px tall.

    Under heavy load trayer has been seen (once in dozens of starts) not to map its window; a
    fresh start then works, so it gets a few attempts before the fixture gives up."""
    cmd = [
        "trayer",
        "--edge",
        "top",
        "--align",
        "right",
        "--widthtype",
        "pixel",
        "--width",
        "200",
        "--height",
        str(height),
        "--transparent",
        "false",
        "--SetDockType",
        "true",
    ]
    for attempt in range(1, attempts + 1):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_window(env, ["--class", "trayer"], timeout_s=5)
        except TimeoutError:
            _stop(proc)
            error = proc.stderr.read() if proc.stderr else ""
            proc.stderr.close()
            if attempt == attempts:
                raise TimeoutError(
                    f"trayer did not show a tray after {attempts} starts: {error[-300:]}"
                ) from None
            continue
        break
    try:
        yield proc
    finally:
        _stop(proc)
        proc.stderr.close()


@contextmanager
def notification_daemon(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """dunst, owning org.freedesktop.Notifications on the session bus."""
    with background(["dunst"], env) as proc:
        _wait_for_name(env, "org.freedesktop.Notifications")
        yield proc


def notifications(env: dict[str, str]) -> list[dict[str, str]]:
    """Every notification dunst has received so far: appname, summary, body."""
    import json

    subprocess.run(["dunstctl", "close-all"], env=env, check=True, timeout=10)
    out = subprocess.run(
        ["dunstctl", "history"], env=env, capture_output=True, text=True, check=True, timeout=10
    )
    data = json.loads(out.stdout)["data"]
    items = data[0] if data else []
    return [
        {k: v.get("data", "") for k, v in n.items() if k in ("appname", "summary", "body")} for n in items
    ]


def wait_for_window(
    env: dict[str, str],
    search: list[str],
    timeout_s: float = 15.0,
    poll_s: float = 0.1,
    proc: subprocess.Popen | None = None,
) -> str:
    """Poll xdotool for a visible window (never a fixed sleep); returns its id. A small ``poll_s``
    makes it a timer (the benchmarks); ``proc`` ends the wait early if that process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["xdotool", "search", "--onlyvisible", *search],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        ids = r.stdout.split()
        if ids:
            return ids[0]
        if proc is not None and proc.poll() is not None:
            raise TimeoutError(f"the process exited ({proc.returncode}) before a window for {search} showed")
        time.sleep(poll_s)
    raise TimeoutError(f"no visible window for {search}")


def keys(env: dict[str, str], wid: str, *keys: str) -> None:
    """Focus a window (XSetInputFocus: works without a window manager) and press keys in it."""
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=env, check=True, timeout=10)
    subprocess.run(["xdotool", "key", "--clearmodifiers", *keys], env=env, check=True, timeout=10)


def type_text(env: dict[str, str], wid: str, text: str) -> None:
    """Focus a window and type ``text`` into its focused widget."""
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=env, check=True, timeout=10)
    subprocess.run(["xdotool", "type", "--delay", "5", text], env=env, check=True, timeout=30)


def window_name(env: dict[str, str], wid: str) -> str:
    return subprocess.run(
        ["xdotool", "getwindowname", wid], env=env, capture_output=True, text=True, timeout=10
    ).stdout.strip()


def wm_class(env: dict[str, str], wid: str) -> str:
    return subprocess.run(
        ["xprop", "-id", wid, "WM_CLASS"], env=env, capture_output=True, text=True, timeout=10
    ).stdout.strip()


def screenshot(env: dict[str, str], path: Path, wid: str = "root", crop: str | None = None) -> Path:
    """Save a PNG of one window (or the whole screen, optionally cropped like ``200x32+1080+0``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["import", "-window", wid]
    if crop:
        cmd += ["-crop", crop, "+repage"]
    subprocess.run([*cmd, str(path)], env=env, check=True, timeout=30)
    return path
