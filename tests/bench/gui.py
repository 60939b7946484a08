"""Benchmark: the desktop app's costs on this machine. Not a test; numbers go in the README.

Run from the repo root (needs `bash .ci/bootstrap --test` for Xvfb/trayer/dbus):
    .venv/bin/python tests/bench/gui.py [--rounds 3] [--seconds 10] [--idle-seconds 60] [--rss-minutes 10]

1. GUI-thread CPU at 10,000 frames/s: the real desktop (``build_desktop``: controller, stream hub,
   window, workers; offscreen), fed by a paced simulator firehose. CryptoCompare (5 pairs, one
   connection) side by side with a naive design that emits one Qt signal per message (same worker,
   same model, no coalescing); and three keyless sources at once (Kraken, Coinbase and OKX in the
   simulator's own dialects, 2 pairs and one connection each, 10,000 frames/s split across them),
   with the hub's merge of the sources' batches and without it. Main-thread CPU time / wall time;
   rounds alternate.
2. Idle CPU of the whole app process under Xvfb with a tray host, nothing changing (a simulator
   that sends no updates): window visible, then hidden in the tray (--background). ``--mini-panel``
   shows the mini panel in both; ``--setting KEY=VALUE`` (repeatable) adds any other setting, e.g.
   the tray's price-in-icon option.
3. RSS of the app process over a run at 1,000 frames/s, sampled every 15 s.
4. First window painted: process start until its window is mapped (xdotool), cold then warm runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.sim import start_demo  # noqa: E402
from ccdesk.sim.server import SimServer  # noqa: E402

WATCH = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "DOGE-USD"]
KEY = "bench-key-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- 1. GUI thread under load (in process, offscreen) ---------------------------------------------

RATE = 10_000  # frames/s arriving, in all
# The 3-source scenario: keyless venues on the simulator's own dialects, two pairs each, one
# connection (and one stream thread) per source, RATE split evenly across them.
VENUE_WATCH = {
    "kraken": ("kraken:BTC-USD", "kraken:ETH-USD"),
    "coinbase": ("coinbase:BTC-USD", "coinbase:ETH-USD"),
    "okx": ("okx:BTC-USDT", "okx:ETH-USDT"),
}


def gui_thread_cpu(rounds: int, seconds: float) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ccdesk.core.autostart import Autostart
    from ccdesk.core.events import PriceArrived, QuotesChanged
    from ccdesk.core.pairs import parse_pair
    from ccdesk.core.secrets import SecretStore
    from ccdesk.core.settings import Settings
    from ccdesk.core.settings_codec import MemoryStore
    from ccdesk.desktop import build_desktop
    from ccdesk.qt.controller import AppController
    from ccdesk.qt.stream_worker import StreamWorker
    from tests.fakes import InMemoryKeyring

    class NaiveWorker(StreamWorker):
        """The per-message design: every price becomes its own cross-thread signal."""

        def _on_event(self, ev):  # type: ignore[no-untyped-def]
            if type(ev) is PriceArrived:
                feed = self._feed
                if feed is not None:
                    for alert in feed.on_event(ev):
                        self.alert_fired.emit(alert)
                client = self._client
                q = client.book.quote(ev.sub) if client is not None else None
                if q is not None:
                    self.quotes_changed.emit(QuotesChanged((q,), client.last_rx_at if client else None))
            elif type(ev) is not QuotesChanged:
                super()._on_event(ev)

    def cryptocompare(sim: SimServer) -> tuple[Settings, dict[str, str]]:
        """CryptoCompare's streamer, five CCCAGG pairs on one connection (the README's first number)."""
        watch = tuple(parse_pair(f"5~CCCAGG~{s.split('-')[0]}~USD") for s in WATCH)
        return Settings(watchlist=watch, pinned=watch[0], stream_url=sim.stream_url), {"CCDESK_API_KEY": KEY}

    def three_venues(sim: SimServer) -> tuple[Settings, dict[str, str]]:
        watch = tuple(parse_pair(p) for pairs in VENUE_WATCH.values() for p in pairs)
        env = {f"CCDESK_{name.upper()}_URL": sim.url(name) for name in VENUE_WATCH}
        return Settings(watchlist=watch, pinned=watch[0]), env

    def ticks(controller: AppController) -> int:
        """Prices the stream threads have taken in so far, every source's."""
        total = 0
        for session in controller.stream.sessions.values():
            client = session.worker._client
            total += client.stats.price_ticks if client is not None else 0
        return total

    app = QApplication.instance() or QApplication(["ccdesk"])
    from ccdesk.qt import stream_hub

    merged_s = stream_hub.FLUSH_S
    # (scenario, design) -> how to set it up: the settings and environment, the simulator's rate per
    # connection, the workers, the hub's merge interval (0: each source's batches go straight on).
    three = "kraken + coinbase + okx, 6 pairs, 3 connections"
    runs = {
        ("cryptocompare, 5 pairs, 1 connection", "coalesced (ccdesk)"): (cryptocompare, RATE, None, merged_s),
        ("cryptocompare, 5 pairs, 1 connection", "naive: one signal per message"): (
            cryptocompare,
            RATE,
            NaiveWorker,
            merged_s,
        ),
        (three, "coalesced (ccdesk)"): (three_venues, RATE / len(VENUE_WATCH), None, merged_s),
        (three, "each source's batches straight to the views"): (
            three_venues,
            RATE / len(VENUE_WATCH),
            None,
            0.0,
        ),
    }
    results: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    frames_in: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    for _ in range(rounds):
        for run, (setup, rate, worker_cls, flush_s) in runs.items():
            stream_hub.FLUSH_S = flush_s
            with SimServer(firehose=True, firehose_rate=rate, heartbeat_s=3600) as sim:
                settings, env = setup(sim)
                desktop = build_desktop(
                    settings,
                    MemoryStore(),
                    secrets=SecretStore("ccdesk-bench", backend=InMemoryKeyring()),
                    env=env,
                    autostart=Autostart(env={"XDG_CONFIG_HOME": tempfile.mkdtemp()}),
                    start_demo=start_demo,
                    notify_fn=lambda **_: None,
                    worker_factory=worker_cls,
                    store_path=None,
                )
                controller = desktop.controller
                controller.start()
                marks: dict[str, float] = {}

                def begin(marks=marks, controller=controller) -> None:
                    marks["cpu"], marks["wall"] = time.thread_time(), time.perf_counter()
                    marks["ticks"] = ticks(controller)

                def end(marks=marks, controller=controller) -> None:
                    marks["cpu"] = time.thread_time() - marks["cpu"]
                    marks["wall"] = time.perf_counter() - marks["wall"]
                    marks["ticks"] = ticks(controller) - marks["ticks"]
                    controller.quit()

                QTimer.singleShot(2000, begin)  # warm-up: connect, subscribe, first paint
                QTimer.singleShot(int(2000 + seconds * 1000), end)
                app.exec()
                results[run].append(marks["cpu"] / marks["wall"] * 100)
                frames_in[run].append(marks["ticks"] / marks["wall"])
                desktop.window.deleteLater()
            stream_hub.FLUSH_S = merged_s
    print(
        f"## GUI-thread CPU with the simulator sending {RATE:,} frames/s in all ({rounds} rounds x "
        f"{seconds:.0f} s, % of one core; target <= 3 %)"
    )
    print()
    print(
        f"| scenario | design | GUI thread, median of {rounds} | rounds | vs coalesced | frames ingested/s |"
    )
    print("|---|---|---:|---|---:|---:|")
    for (scenario, design), values in results.items():
        med = statistics.median(values)
        base = statistics.median(results[(scenario, "coalesced (ccdesk)")])
        print(
            f"| {scenario} | {design} | {med:.2f} % | {', '.join(f'{v:.2f}' for v in values)} | "
            f"{med / base:.1f}x | {statistics.median(frames_in[(scenario, design)]):,.0f} |"
        )


# --- helpers for the subprocess measurements ---------------------------------------------------


def proc_cpu_s(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_settings(home: Path, app_name: str, stream_url: str, extra: dict[str, str] | None = None) -> None:
    ini = home / ".config" / "ccdesk" / f"{app_name}.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    watch = ", ".join(f'\\"5~CCCAGG~{s.split("-")[0]}~USD\\"' for s in WATCH)
    lines = "".join(f"{k}={v}\n" for k, v in (extra or {}).items())
    ini.write_text(f'[General]\nstream_url={stream_url}\nwatchlist="[{watch}]"\n{lines}')


def desktop(stack: ExitStack) -> dict[str, str]:
    from tests.desktop import session_bus, tray_host, xvfb

    env = stack.enter_context(session_bus())
    env = stack.enter_context(xvfb(env))
    stack.enter_context(tray_host(env))
    return env


def launch(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ccdesk", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- 2. idle CPU --------------------------------------------------------------------------------


def idle_cpu(seconds: float, extra: dict[str, str]) -> None:
    from tests.desktop import wait_for_window

    print(f"## Idle CPU, no price updates (whole process, {seconds:.0f} s windows, % of one core)")
    if extra:
        print(f"   with {', '.join(f'{k}={v}' for k, v in extra.items())}")
    print(
        f"   'early': 10-{10 + seconds:.0f} s after start (the ages still count up at first); "
        f"'later': {10 + seconds:.0f}-{10 + 2 * seconds:.0f} s"
    )
    for label, args in (("window visible", ()), ("hidden in the tray", ("--background",))):
        with ExitStack() as stack, SimServer(rate=0.0, heartbeat_s=30) as sim:
            env = desktop(stack)
            env.update(CCDESK_APP_NAME="ccdesk-bench", CCDESK_API_KEY=KEY)
            write_settings(Path(env["HOME"]), "ccdesk-bench", sim.stream_url, extra)
            proc = launch(env, *args)
            try:
                if not args:
                    wait_for_window(env, ["--class", "ccdesk"], timeout_s=30)
                if extra.get("mini_panel") == "true":  # measured with it really on screen
                    wait_for_window(env, ["--name", "^ccdesk mini panel$"], timeout_s=30)
                time.sleep(10)
                cpus = []
                for _ in range(2):
                    c0, t0 = proc_cpu_s(proc.pid), time.monotonic()
                    time.sleep(seconds)
                    cpus.append((proc_cpu_s(proc.pid) - c0) / (time.monotonic() - t0) * 100)
                print(
                    f"  {label:<20} early {cpus[0]:6.3f} %, later {cpus[1]:6.3f} %   "
                    f"(RSS {rss_mb(proc.pid):.0f} MB)"
                )
            finally:
                stop(proc)


# --- 3. RSS over time -----------------------------------------------------------------------------


def rss_over_time(minutes: float) -> None:
    from tests.desktop import wait_for_window

    with ExitStack() as stack, SimServer(firehose=True, firehose_rate=1000, heartbeat_s=30) as sim:
        env = desktop(stack)
        env.update(CCDESK_APP_NAME="ccdesk-bench", CCDESK_API_KEY=KEY)
        write_settings(Path(env["HOME"]), "ccdesk-bench", sim.stream_url)
        proc = launch(env)
        try:
            wait_for_window(env, ["--class", "ccdesk"], timeout_s=30)
            samples: list[tuple[float, float]] = []
            c0 = proc_cpu_s(proc.pid)
            t0 = time.monotonic()
            while time.monotonic() - t0 < minutes * 60:
                time.sleep(15)
                samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
            cpu = (proc_cpu_s(proc.pid) - c0) / (time.monotonic() - t0) * 100
            values = [v for _, v in samples]
            after_warmup = [v for t, v in samples if t >= 60] or values
            print(f"## RSS at 1,000 frames/s for {minutes:.0f} min (sampled every 15 s)")
            growth = after_warmup[-1] - after_warmup[0]
            print(
                f"  first {values[0]:.1f} MB, at 1 min {after_warmup[0]:.1f} MB, max {max(values):.1f} MB, "
                f"last {values[-1]:.1f} MB; growth after the first minute {growth:+.1f} MB"
            )
            print(f"  whole-process CPU meanwhile {cpu:.1f} % of one core")
        finally:
            stop(proc)


# --- 4. first paint -----------------------------------------------------------------------------


def first_paint(runs: int) -> None:
    from tests.desktop import wait_for_window

    times = []
    with ExitStack() as stack, SimServer(rate=5.0) as sim:
        env = desktop(stack)
        env.update(CCDESK_APP_NAME="ccdesk-bench", CCDESK_API_KEY=KEY)
        write_settings(Path(env["HOME"]), "ccdesk-bench", sim.stream_url)
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            proc = launch(env)
            try:
                wait_for_window(env, ["--class", "ccdesk"], timeout_s=30, poll_s=0.005, proc=proc)
                times.append(time.perf_counter() - t0)
            finally:
                stop(proc)
    print(
        f"## First window mapped after process start: cold {times[0]:.2f} s; warm median "
        f"{statistics.median(times[1:]):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times[1:])})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--rss-minutes", type=float, default=10.0)
    parser.add_argument("--paint-runs", type=int, default=5)
    parser.add_argument("--only", choices=("gui", "idle", "rss", "paint"))
    parser.add_argument("--mini-panel", action="store_true", help="show the mini panel in the app runs")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    extra = {"mini_panel": "true"} if args.mini_panel else {}
    for item in args.setting:
        key, _, value = item.partition("=")
        extra[key.strip()] = value.strip()
    print(f"# ccdesk desktop benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.only in (None, "paint"):
        first_paint(args.paint_runs)
    if args.only in (None, "idle"):
        idle_cpu(args.idle_seconds, extra)
    if args.only in (None, "gui"):
        gui_thread_cpu(args.rounds, args.seconds)
    if args.only in (None, "rss"):
        rss_over_time(args.rss_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
