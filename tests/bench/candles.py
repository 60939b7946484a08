"""Benchmark: what keeping minute candles costs. Not a test; numbers go in the README.

    .venv/bin/python tests/bench/candles.py [--pairs 5] [--prices 200000] [--repeat 7]

1. Stream thread: ``CandleFeed.on_price`` per price (every price of every pair goes through it),
   beside ``AlertFeed.on_event`` with the default rule for scale. Best of ``--repeat``.
2. Writer thread: the store's work for a day of a watchlist, as the feed hands it over (a closed
   minute per pair per minute, the open minutes every 5 s), into a real SQLite file: CPU seconds of
   the writer thread per day of streaming, and per 10,000 prices a second (the feed's hand-overs do
   not grow with the price rate: only the minutes and the 5 s saves reach the store).
3. Growth: the file's pages in use per pair per day (1,440 minutes and 24 hours).
4. The writer thread in real time: 10,000 prices a second (``--rate``) for a minute (``--seconds``)
   through the feed into a real file, as the stream threads do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.candle_feed import CandleFeed
from ccdesk.core.candles import MINUTE_S, Candle
from ccdesk.core.events import PriceArrived
from ccdesk.core.pairs import parse_pair
from ccdesk.core.settings import DEFAULT_RULES
from ccdesk.core.store import Store


class SteppingClock:
    """Wall time that moves 1/rate s per call: the feed sees a realistic price rate."""

    def __init__(self, rate: float) -> None:
        self.t = 1_700_000_000.0
        self.step = 1.0 / rate

    def time(self) -> float:
        self.t += self.step
        return self.t

    def monotonic(self) -> float:
        return self.t


def stream_thread(pairs: int, prices: int, repeat: int) -> None:
    subs = [parse_pair(f"kraken:C{i}-USD") for i in range(pairs)]
    events = [PriceArrived(subs[i % pairs], 100.0 + (i % 97) * 0.01, True) for i in range(prices)]

    def run_candles() -> None:
        feed = CandleFeed(lambda _s, _c: None, SteppingClock(10_000))
        on_price = feed.on_price
        for ev in events:
            on_price(ev.sub, ev.price)

    def run_alerts() -> None:
        feed = AlertFeed(DEFAULT_RULES, SteppingClock(10_000))
        on_event = feed.on_event
        for ev in events:
            on_event(ev)

    c = min(timeit.repeat(run_candles, number=1, repeat=repeat)) / prices * 1e6
    a = min(timeit.repeat(run_alerts, number=1, repeat=repeat)) / prices * 1e6
    print(f"## Stream thread, per price (best of {repeat}, {prices} prices over {pairs} pairs)")
    print(f"  CandleFeed.on_price   {c:.3f} µs")
    print(f"  AlertFeed.on_event    {a:.3f} µs   (the default rule, for scale)")


def writer_thread(pairs: int) -> None:
    subs = [parse_pair(f"kraken:C{i}-USD") for i in range(pairs)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        store = Store.open(path)
        assert store.ready.wait(10)
        writer = store._writer
        assert writer is not None
        t0 = 1_700_000_040
        cpu0 = _thread_cpu(writer)
        jobs = 0
        for minute in range(1440):
            start = t0 + minute * MINUTE_S
            for sub in subs:
                for save in range(12):  # the open minute every 5 s, then the closed one
                    c = 100.0 + minute * 0.01
                    store.record_candles(
                        sub, [Candle(start, c, c + 0.5, c - 0.5, c + save * 0.01, 10 * save + 1)]
                    )
                    jobs += 1
        assert store.flush(600)
        cpu = _thread_cpu(writer) - cpu0
        store.close(10)
        size = path.stat().st_size
        print(f"## Writer thread: a day of {pairs} pairs ({jobs:,} hand-overs), real file")
        share = cpu / 86400 * 100
        print(f"  writer CPU   {cpu:.2f} s per day of streaming = {share:.4f} % of one core")
        print("               (the same at 10,000 prices/s: hand-overs come per minute and per 5 s)")
        per_pair = size / pairs / 1e3
        print(f"  file size    {size / 1e6:.2f} MB for {pairs} pairs = {per_pair:.0f} kB per pair per day")


def writer_at_rate(pairs: int, rate: float, seconds: float) -> None:
    """The real thing in real time: ``rate`` prices a second through a CandleFeed into a Store on
    disk, paced by the wall clock; the writer thread's CPU over the run."""
    from ccdesk.core.clock import SystemClock

    subs = [parse_pair(f"kraken:C{i}-USD") for i in range(pairs)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "rate.sqlite3")
        assert store.ready.wait(10)
        writer = store._writer
        assert writer is not None
        feed = CandleFeed(store.record_candles, SystemClock())
        cpu0, t0 = _thread_cpu(writer), time.monotonic()
        sent, batch = 0, max(1, int(rate / 100))  # 100 bursts a second
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                for _ in range(batch):
                    feed.on_price(subs[sent % pairs], 100.0 + (sent % 89) * 0.01)
                    sent += 1
            time.sleep(0.01)
        feed.save()
        assert store.flush(60)
        cpu = _thread_cpu(writer) - cpu0
        wall = time.monotonic() - t0
        store.close(10)
    print(f"## Writer thread at {rate:,.0f} prices/s for {wall:.0f} s, {pairs} pairs, real clock and file")
    print(f"  {sent:,} prices; writer CPU {cpu:.3f} s = {cpu / wall * 100:.3f} % of one core")


def _thread_cpu(thread: object) -> float:
    """CPU seconds of another Python thread, to the nanosecond (POSIX per-thread CPU clock)."""
    ident = thread.ident  # type: ignore[attr-defined]
    return time.clock_gettime(time.pthread_getcpuclockid(ident))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--prices", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rate", type=float, default=10_000.0, help="prices/s for the real-time writer run")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the real-time writer run")
    args = p.parse_args()
    print(f"# ccdesk candle benchmark: Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    stream_thread(args.pairs, args.prices, args.repeat)
    writer_thread(args.pairs)
    writer_at_rate(args.pairs, args.rate, args.seconds)


if __name__ == "__main__":
    main()
