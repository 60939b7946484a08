"""What one tray refresh costs on the GUI thread: the median of many, prices moving every time.

Run: ``QT_QPA_PLATFORM=offscreen python -m tests.bench.tray_refresh [--pairs 5] [--runs 3000]``.
Reports the median and 95th percentile in microseconds with the menu closed and open, and how many
icons were painted. A benchmark, not a test: numbers for the README, no assertion.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtWidgets import QApplication

from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.tray import Tray


class Source_:
    def __init__(self, quotes: list[Quote]) -> None:
        self._quotes = quotes
        self.freshness = Freshness.everywhere(0.0, 60.0)

    def quotes(self) -> Sequence[Quote]:
        return self._quotes

    pinned = 0

    def pinned_quote(self) -> Quote | None:
        return self._quotes[self.pinned]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--pinned", type=int, default=0, help="which pair the icon shows (4: 0.1706)")
    parser.add_argument("--shape-only", action="store_true", help="no price in the icon")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    rnd = random.Random(7)
    bases = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "DOT", "LTC", "AVAX", "LINK"]
    prices = [91_230.0, 3_102.0, 152.3, 2.31, 0.1706, 0.45, 7.1, 88.0, 35.2, 14.9]
    quotes = [
        Quote(
            Pair(Source.KRAKEN, bases[i % 10], "USD"),
            prices[i % 10],
            PriceDirection.UP,
            open_24h=prices[i % 10] * 1.06,
            received_at=999.0,
        )
        for i in range(args.pairs)
    ]
    source = Source_(quotes)
    source.pinned = args.pinned
    tray = Tray()
    tray.follow(source)
    if hasattr(tray, "set_price_in_icon"):  # absent before issue 10
        tray.set_price_in_icon(not args.shape_only)
    for label, menu_open in (("menu closed", False), ("menu open", True)):
        # The bench cannot pop up a real menu offscreen; "open" is what the tray does while it is.
        tray._menu_open = menu_open  # type: ignore[attr-defined]  # absent before issue 10
        times = []
        now = 1000.0
        renders_before = getattr(tray._icons, "renders", 0)
        for _ in range(args.runs):
            now += 0.1
            for i, q in enumerate(quotes):  # every pair moves a little, as at 10 updates a second
                quotes[i] = replace(q, price=q.price * (1 + rnd.gauss(0, 0.0002)), received_at=now)
            t0 = time.perf_counter()
            tray.refresh(now)
            times.append(time.perf_counter() - t0)
        times.sort()
        renders = getattr(tray._icons, "renders", 0) - renders_before
        print(
            f"{label}: {args.pairs} pairs, {args.runs} refreshes: "
            f"median {statistics.median(times) * 1e6:.0f} µs, "
            f"p95 {times[int(len(times) * 0.95)] * 1e6:.0f} µs, icons painted {renders}"
        )
    try:
        from ccdesk.qt.tray_icon import IconFace, TrayLook, render_face_icon
    except ImportError:  # before issue 10
        return
    paint = []
    for i in range(50):
        t0 = time.perf_counter()
        render_face_icon(IconFace(TrayLook.UP, f"{91.0 + i / 10:.1f}k"))
        paint.append(time.perf_counter() - t0)
    print(f"painting one price icon (every size and ratio): median {statistics.median(paint) * 1e3:.2f} ms")
    del app


if __name__ == "__main__":
    main()
