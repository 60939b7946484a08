"""CPU of the whole app (demo: the in-process simulator streaming) with the price in the tray icon on
and off, under Xvfb with trayer: ``python -m tests.bench.tray_cpu``. Alternates the two, 30 s each
after 10 s of warm-up, twice. A benchmark, not a test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.desktop import tray_host, xvfb


def cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def run(tray_price: bool, secs: float = 30) -> float:
    home = Path(tempfile.mkdtemp())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS",) and not k.startswith("CCDESK_")
    }
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(home),
        CCDESK_APP_NAME="ccdesk-cpu",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    ini = home / ".config" / "ccdesk" / "ccdesk-cpu.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[General]\ntray_price={'true' if tray_price else 'false'}\n")
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(xvfb(env))
        stack.enter_context(tray_host(env, height=24))
        app = subprocess.Popen(
            [sys.executable, "-m", "ccdesk", "--demo", "--background"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(10)
        c0, t0 = cpu(app.pid), time.monotonic()
        time.sleep(secs)
        c1, t1 = cpu(app.pid), time.monotonic()
        app.terminate()
        app.wait(10)
    return (c1 - c0) / (t1 - t0) * 100


if __name__ == "__main__":
    for on in (True, False, True, False):
        print("tray_price", on, f"{run(on):.2f} % CPU")
