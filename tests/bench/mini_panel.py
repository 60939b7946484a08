"""Benchmark: the mini panel's GUI-thread cost per quote batch. Not a test; numbers go in the README.

Run from the repo root:
    .venv/bin/python tests/bench/mini_panel.py [--batches 5000] [--pairs 5]

Offscreen, the real price model and panel: each batch moves every pair's price by a random walk
(0.02 % a step, like a busy 100 ms batch), the model takes the batch, then the panel's ``refresh``
runs and Qt delivers whatever paint it asked for (``processEvents``). Timed: ``refresh`` plus that
paint, per batch; split by whether the shown text changed (only then does it lay out and paint).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--step-pct", type=float, default=0.02)
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from ccdesk.core.pairs import Source, parse_pair
    from ccdesk.core.quotes import PriceDirection, Quote
    from ccdesk.core.settings import Settings
    from ccdesk.qt.mini_panel import MiniPanel
    from ccdesk.qt.quote_model import QuoteTableModel

    app = QApplication.instance() or QApplication(["bench"])
    bases = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LTC", "DOT", "LINK", "AVAX"][: args.pairs]
    starts = [91_230.0, 3_102.0, 152.3, 0.61, 0.1706, 0.45, 84.0, 4.2, 13.1, 25.0]
    pairs = [parse_pair(f"KRAKEN:{b}-USD") for b in bases]
    model = QuoteTableModel(60.0)
    model.set_watchlist(pairs)
    t0 = time.monotonic()
    model.set_live_since(dict.fromkeys(Source, t0 - 1))
    panel = MiniPanel(model)
    panel.apply_settings(Settings(watchlist=tuple(pairs), rules=()))
    panel.show()
    app.processEvents()
    rng = random.Random(7)
    prices = starts[: len(pairs)]
    opens = list(prices)
    changed_ns: list[int] = []
    same_ns: list[int] = []
    for _ in range(args.batches):
        now = time.monotonic()
        prices = [p * (1 + rng.gauss(0, args.step_pct / 100)) for p in prices]
        batch = [
            Quote(sub=s, price=p, direction=PriceDirection.UP, open_24h=o, received_at=now)
            for s, p, o in zip(pairs, prices, opens, strict=True)
        ]
        model.update_quotes(batch)
        before = panel.repaints_requested
        start = time.perf_counter_ns()
        panel.refresh(now)
        app.processEvents()  # the paint, if one was asked for
        took = time.perf_counter_ns() - start
        (changed_ns if panel.repaints_requested != before else same_ns).append(took)
    every = changed_ns + same_ns

    def us(values: list[int], q: float = 0.5) -> str:
        if not values:
            return "—"
        ordered = sorted(values)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000:.0f} µs"

    print(f"# mini panel, {len(pairs)} pairs, {args.batches} batches, step {args.step_pct} %")
    print(f"  text changed in {len(changed_ns) / len(every):.0%} of batches")
    print(f"  every batch:   median {us(every)}, p95 {us(every, 0.95)}")
    print(f"  text changed:  median {us(changed_ns)} (refresh + layout + paint)")
    print(f"  text the same: median {us(same_ns)} (refresh only: no paint)")
    print(f"  at 10 batches/s: {statistics.fmean(every) * 10 / 1e7:.3f} % of one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
