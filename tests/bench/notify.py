"""Benchmark: four ways to show a desktop notification on Linux, against a real dunst. Not a test.

Run from the repo root (needs `bash .ci/bootstrap --test` for Xvfb/dbus/dunst; desktop-notifier is
measured only if installed: `pip install desktop-notifier` in a scratch venv, it is not a dependency):
    .venv/bin/python tests/bench/notify.py [--n 40]

Each candidate runs in a fresh Python process on a private session bus with dunst on Xvfb, so its
import time and memory are its own. Per candidate:
- import: wall time of importing what it needs (PySide6.QtCore is imported first and not counted:
  the app has it loaded anyway);
- rss: resident memory added by the import, the connection and N notifications;
- handover: median and p90 of N notifications, from the call until it returns (the server has
  the notification; for plyer, until notify-send exits);
- replaces: two notifications for one (rule, pair) leave one bubble (``dunstctl count displayed``);
- expires: a notification with a 1 s timeout is gone 2.5 s later;
- actions / sound hint / close reason: what the API lets the app pass and hear.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

CANDIDATES = ("jeepney", "qtdbus", "desktop-notifier", "plyer")


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def displayed(env: dict[str, str] | None = None) -> int:
    out = subprocess.run(
        ["dunstctl", "count", "displayed"], capture_output=True, text=True, env=env, check=True
    )
    return int(out.stdout.strip())


def close_all() -> None:
    subprocess.run(["dunstctl", "close-all"], check=True)


def worker(name: str, n: int) -> dict[str, object]:
    """Runs inside the private session; prints one JSON line."""
    from PySide6 import QtCore  # noqa: F401  (the app has Qt loaded before any notification)

    base_rss = rss_kb()
    t0 = time.perf_counter()
    send, replace_pair, supports = _load(name)
    import_s = time.perf_counter() - t0
    times = []
    for i in range(n):
        t = time.perf_counter()
        send(f"{name} {i}", "91,000.00 → 92,183.00 (+1.30 %)", 10, None)
        times.append(time.perf_counter() - t)
    rss_added = rss_kb() - base_rss
    close_all()
    time.sleep(0.3)
    replaced = None
    if replace_pair is not None:
        replace_pair()
        time.sleep(0.3)
        replaced = displayed() == 1
        close_all()
        time.sleep(0.3)
    send(f"{name} short", "expires in 1 s", 1, None)
    time.sleep(0.3)
    shown = displayed()
    time.sleep(2.5)
    expires = shown == 1 and displayed() == 0
    close_all()
    return {
        "name": name,
        "import_ms": round(import_s * 1000, 1),
        "rss_added_mb": round(rss_added / 1024, 1),
        "handover_median_ms": round(statistics.median(times) * 1000, 2),
        "handover_p90_ms": round(sorted(times)[int(0.9 * len(times)) - 1] * 1000, 2),
        "replaces": replaced,
        "expires": expires,
        **supports,
    }


def _load(name: str):  # type: ignore[no-untyped-def]
    if name == "jeepney":
        from ccdesk.qt.desktop_notifications import FreedesktopNotifications, NotificationRequest

        backend = FreedesktopNotifications()

        def send(title: str, body: str, timeout_s: int, key: object) -> None:
            backend.show(NotificationRequest(title, body, timeout_s=timeout_s, replace_key=key))

        def replace_pair() -> None:
            send("replace 1", "first", 10, ("rule", "BTC"))
            send("replace 2", "second", 10, ("rule", "BTC"))

        caps = backend.capabilities()
        return (
            send,
            replace_pair,
            {
                "actions": "yes (ActionInvoked on the same connection)",
                "replaces_id": "yes",
                "sound_hint": "yes",
                "close_reason": "yes (NotificationClosed)",
                "server_caps": sorted(caps),
            },
        )
    if name == "qtdbus":
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtDBus import QDBusConnection, QDBusMessage

        app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841
        bus = QDBusConnection.sessionBus()
        path, iface = "/org/freedesktop/Notifications", "org.freedesktop.Notifications"
        probe = QDBusMessage.createMethodCall(iface, path, iface, "Notify")
        probe.setArguments(["ccdesk", 0, "", "t", "b", [], {}, 1000])
        refused = bus.call(probe)
        error = refused.errorMessage() if refused.type() == QDBusMessage.MessageType.ErrorMessage else None

        def send(title: str, body: str, timeout_s: int, key: object) -> None:
            # Notify cannot be sent (replaces_id must be uint32; PySide6 sends int32): time the
            # same round trip with GetCapabilities, to show the transport's cost.
            reply = bus.call(QDBusMessage.createMethodCall(iface, path, iface, "GetCapabilities"))
            assert reply.type() == QDBusMessage.MessageType.ReplyMessage

        return (
            send,
            None,
            {
                "actions": "n/a: Notify refused",
                "replaces_id": "no: cannot marshal uint32 from Python",
                "sound_hint": "n/a",
                "close_reason": "yes (signals), but no notification to close",
                "notify_error": error,
                "note": "handover times GetCapabilities, not Notify",
            },
        )
    if name == "desktop-notifier":
        from desktop_notifier import DesktopNotifierSync

        notifier = DesktopNotifierSync(app_name="ccdesk")

        def send(title: str, body: str, timeout_s: int, key: object) -> None:
            notifier.send(title=title, message=body, timeout=timeout_s)

        def replace_pair() -> None:  # no replaces_id in its API: it always sends 0
            send("replace 1", "first", 10, None)
            send("replace 2", "second", 10, None)

        return (
            send,
            replace_pair,
            {
                "actions": "yes (buttons; callbacks need a running asyncio loop)",
                "replaces_id": "no (always 0)",
                "sound_hint": "yes",
                "close_reason": "yes (on_dismissed; asyncio loop)",
            },
        )
    if name == "plyer":
        from ccdesk.qt.desktop_notifications import PlyerNotify

        notify = PlyerNotify()

        def send(title: str, body: str, timeout_s: int, key: object) -> None:
            notify(title=title, message=body, app_name="ccdesk", app_icon="", timeout=timeout_s)

        return (
            send,
            None,
            {
                "actions": "no",
                "replaces_id": "no",
                "sound_hint": "no",
                "close_reason": "no",
                "note": "notify-send, one process per notification (no dbus-python)",
            },
        )
    raise SystemExit(f"unknown candidate {name}")


def sizes() -> dict[str, str]:
    """Installed size of each candidate's own files (the PySide6 QtDBus parts for qtdbus)."""
    import importlib.util

    def du(paths: list[Path]) -> float:
        total = 0
        for p in paths:
            if p.is_file():
                total += p.stat().st_size
            elif p.is_dir():
                total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return total / 1e6

    out: dict[str, str] = {}

    def pkg(name: str) -> Path | None:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            return None
        return Path(spec.origin).parent

    jeepney = pkg("jeepney")
    out["jeepney"] = f"{du([jeepney]):.2f} MB (already installed with keyring)" if jeepney else "missing"
    pyside = pkg("PySide6")
    if pyside:
        qt = list(pyside.glob("QtDBus*")) + list((pyside / "Qt" / "lib").glob("libQt6DBus*"))
        out["qtdbus"] = f"{du(qt):.2f} MB (already in PySide6-Essentials)"
    parts = [pkg(n) for n in ("desktop_notifier", "dbus_fast", "bidict")]
    if all(parts):
        out["desktop-notifier"] = (
            f"{du([p for p in parts if p]):.2f} MB new (desktop_notifier + dbus_fast + bidict)"
        )
    plyer = pkg("plyer")
    out["plyer"] = f"{du([plyer]):.2f} MB (already a dependency)" if plyer else "missing"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n)))
        return
    from tests.desktop import notification_daemon, session_bus, xvfb

    results = []
    for name in CANDIDATES:
        if name == "desktop-notifier":
            try:
                import desktop_notifier  # noqa: F401
            except ImportError:
                print("desktop-notifier not installed: skipped")
                continue
        with session_bus() as env0, xvfb(dict(env0)) as env, notification_daemon(env):
            env = dict(env, QT_QPA_PLATFORM="offscreen")
            done = subprocess.run(
                [sys.executable, __file__, "--worker", name, "--n", str(args.n)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-2000:]}")
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    size = sizes()
    for r in results:
        r["size"] = size.get(str(r["name"]), "?")
        print(json.dumps(r, ensure_ascii=False))
    print(
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus,"
        f" runner max rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB)"
    )


if __name__ == "__main__":
    main()
