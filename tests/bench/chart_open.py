"""Benchmark and screenshots of ccdesk's chart window (issue 11). Not a test; numbers go in the README.

    .venv/bin/python tests/bench/chart_open.py [--runs 5] [--live-seconds 20] [--rate 10]
    .venv/bin/python tests/bench/chart_open.py --screenshots tests/e2e/screenshots

1. Open: a real store file with 30 days of BTC minute candles (43,200) and 10 alerts. Each run is a
   fresh process (offscreen unless DISPLAY is set): the real ``ChartWindow`` on the real ``Store``
   and ``BackgroundJobs``, 30-day line view, timed from constructing the window until the plot's
   viewport has painted with the data (read + build + first paint), the store read reported apart.
   Median of ``--runs``.
2. Live: the 30-day chart open, a price every 1/rate s for ``--live-seconds`` (as the controller
   forwards them); the process's CPU time over that span, as a share of one core, and paints done.
3. ``--screenshots DIR``: chart-24h.png (line, an alert marker, a level line, the crosshair),
   chart-candles.png (24 h of 15-minute candles), chart-dark.png (dark palette).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule
from ccdesk.core.candles import MINUTE_S, Candle, period_start
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import Store

BTC = parse_pair("kraken:BTC-USD")
DAYS = 30


def price_path(n: int, seed: int = 11) -> list[float]:
    """A made-up but lively price path: a slow wave plus a random walk (deterministic)."""
    rnd = random.Random(seed)
    walk, out = 0.0, []
    for i in range(n):
        walk += rnd.gauss(0, 18)
        out.append(64_000 + 2_500 * math.sin(i / 6000) + walk)
    return out


def make_store(path: Path, now: float) -> None:
    store = Store.open(path)
    try:
        first = period_start(now, MINUTE_S) - DAYS * 1440 * MINUTE_S
        path_ = price_path(DAYS * 1440 + 1)
        candles = []
        for i in range(DAYS * 1440):
            o, cl = path_[i], path_[i + 1]
            candles.append(Candle(first + i * MINUTE_S, o, max(o, cl) + 25, min(o, cl) - 25, cl, 5))
        for k in range(0, len(candles), 5000):
            store.record_candles(BTC, candles[k : k + 5000])
        for j in range(10):
            i = 43_200 - 600 - j * 4000
            at = first + i * MINUTE_S
            rule = MoveRule(2.0, sub=BTC)
            p = path_[i + 1]
            store.record_alert(Alert(BTC, rule, MoveDirection.UP, 2.0, p / 1.02, p, 300.0, at), paused=False)
        if not store.flush(60.0):
            raise SystemExit("the store did not write")
    finally:
        store.close()


def _app():  # type: ignore[no-untyped-def]
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


class _PaintWatch:
    def __init__(self, widget) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QEvent, QObject

        self.count = 0
        self.first_at: float | None = None
        watch = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # type: ignore[no-untyped-def]
                if event.type() == QEvent.Type.Paint:
                    watch.count += 1
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)


def child_open(path: Path) -> dict[str, float]:
    app = _app()
    from PySide6.QtCore import QCoreApplication

    from ccdesk.core.chart_data import ChartRange
    from ccdesk.qt.chart_window import ChartWindow
    from ccdesk.qt.jobs import BackgroundJobs

    store = Store.open(path)
    store.ready.wait(5)
    jobs = BackgroundJobs()
    read_s: list[float] = []

    def read_candles(sub, period, since, until):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = store.candles(sub, period, since, until)
        read_s.append(time.perf_counter() - t0)
        return out

    t0 = time.perf_counter()
    w = ChartWindow(BTC, jobs, read_candles, store.alerts_for, chart_range=ChartRange.D30)
    watch = _PaintWatch(w.view.viewport())
    w.show()
    while not w.loaded():
        app.processEvents()
        time.sleep(0.0005)
    loaded = time.perf_counter()
    painted_before = watch.count
    while watch.count == painted_before:
        app.processEvents()
    done = time.perf_counter()
    points = len(w.line_points())
    w.close()
    QCoreApplication.processEvents()
    store.close()
    return {
        "open_ms": (done - t0) * 1000,
        "read_ms": sum(read_s) * 1000,
        "loaded_ms": (loaded - t0) * 1000,
        "points": points,
    }


def child_live(path: Path, seconds: float, rate: float) -> dict[str, float]:
    app = _app()
    from PySide6.QtCore import QTimer

    from ccdesk.core.chart_data import ChartRange
    from ccdesk.qt.chart_window import ChartWindow
    from ccdesk.qt.jobs import BackgroundJobs

    store = Store.open(path)
    store.ready.wait(5)
    w = ChartWindow(BTC, BackgroundJobs(), store.candles, store.alerts_for, chart_range=ChartRange.D30)
    w.show()
    while not w.loaded():
        app.processEvents()
        time.sleep(0.001)
    watch = _PaintWatch(w.view.viewport())
    last = w.line_points()[-1][1]
    n = [0]

    def tick() -> None:
        n[0] += 1
        w.add_price(time.time(), last * (1 + 0.001 * math.sin(n[0] / 7)))

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(int(1000 / rate))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    end = wall0 + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    timer.stop()
    w.close()
    store.close()
    return {"cpu_pct": 100 * cpu / wall, "prices": n[0], "paints": watch.count, "seconds": wall}


def screenshots(out: Path, path: Path) -> None:
    app = _app()
    from PySide6.QtWidgets import QStyleFactory

    from ccdesk.qt.chart_window import ChartWindow
    from ccdesk.qt.jobs import BackgroundJobs
    from tests.window_scene import dark_palette

    app.setStyle(QStyleFactory.create("Fusion"))
    store = Store.open(path)
    store.ready.wait(5)
    out.mkdir(parents=True, exist_ok=True)
    last = store.candles(BTC, MINUTE_S, time.time() - 3600)[-1].close
    rules = (LevelRule(round(last * 1.004, -1), above=True, sub=BTC),)

    def shot(name: str, candles: bool, dark: bool) -> None:
        if dark:
            app.setPalette(dark_palette())  # the one the window's dark screenshots use
        w = ChartWindow(BTC, BackgroundJobs(), store.candles, store.alerts_for, rules=rules)
        w.set_cost_basis(round(last * 0.993, -1))
        w.resize(820, 460)
        w.show()
        while not w.loaded():
            app.processEvents()
            time.sleep(0.001)
        w.set_candle_view(candles)
        for _ in range(20):
            app.processEvents()
        lo, hi = w.x_axis.min(), w.x_axis.max()
        t = lo + (hi - lo) * 0.62
        points = w.line_points() or [(c.timestamp(), c.close()) for c in w.candle_sets()]
        near = min(points, key=lambda p: abs(p[0] - t))
        w.crosshair_at(near[0], near[1])
        for _ in range(10):
            app.processEvents()
        print(name, "markers", w.marker_points(), "levels", w.level_lines())
        w.grab().save(str(out / name))
        print(f"saved {out / name}")
        w.close()

    shot("chart-24h.png", candles=False, dark=False)
    shot("chart-candles.png", candles=True, dark=False)
    shot("chart-dark.png", candles=False, dark=True)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--live-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--child", choices=["open", "live"])
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    if args.child == "open":
        print(json.dumps(child_open(args.store)))
        return
    if args.child == "live":
        print(json.dumps(child_live(args.store, args.live_seconds, args.rate)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        t0 = time.perf_counter()
        make_store(path, time.time())
        size_mb = path.stat().st_size / 1e6
        print(f"store: {DAYS * 1440} minute candles, {size_mb:.1f} MB, {time.perf_counter() - t0:.1f} s")
        if args.screenshots is not None:
            screenshots(args.screenshots, path)
            return
        me = [sys.executable, __file__, "--store", str(path)]
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([*me, "--child", "open"], capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        for key in ("open_ms", "read_ms", "loaded_ms"):
            values = sorted(r[key] for r in runs)
            each = ", ".join(f"{v:.0f}" for v in values)
            print(f"{key}: median {statistics.median(values):.0f} ms  (runs: {each})")
        print(f"line points drawn: {runs[0]['points']}")
        live_cmd = [
            *me,
            "--child",
            "live",
            "--live-seconds",
            str(args.live_seconds),
            "--rate",
            str(args.rate),
        ]
        out = subprocess.run(live_cmd, capture_output=True, text=True, check=True).stdout
        live = json.loads(out.strip().splitlines()[-1])
        print(
            f"live: {live['prices']} prices at {args.rate}/s over {live['seconds']:.0f} s: "
            f"CPU {live['cpu_pct']:.1f} % of a core, {live['paints']} paints"
        )


if __name__ == "__main__":
    main()
