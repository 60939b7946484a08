"""``ccdesk stream``'s handling of the stream's events (ccdesk/cli_stream.py), without sockets: the
events go straight to each source's consumer, on threads of the test's own, as each source's stream
thread would hand them over."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator

import pytest

from ccdesk.cli import build_parser
from ccdesk.cli_stream import Feed, Printer, Run, parse_pairs
from ccdesk.core.composite import COMPOSITE_VENUES, subscriptions
from ccdesk.core.events import PriceArrived, QuotesChanged, StreamEvent, SubRejected
from ccdesk.core.pairs import Pair, Source, parse_pair
from ccdesk.core.quotes import Quote
from ccdesk.core.wire import Refusal

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
COINBASE_BTC = parse_pair("coinbase:BTC-USD")


MakeRun = Callable[..., tuple[Run, Printer, io.StringIO]]


@pytest.fixture
def make_run() -> Iterator[MakeRun]:
    """A Run of ``ccdesk stream ARGS`` that is never started (no sockets, no threads of its own)."""
    runs: list[Run] = []

    def make(*args: str) -> tuple[Run, Printer, io.StringIO]:
        parsed = build_parser().parse_args(["stream", *args])
        pairs = parse_pairs(parsed.subs, Source.KRAKEN)
        feeds = [
            Feed(source, "ws://127.0.0.1:9/", None, subs, frozenset(pairs))
            for source, subs in subscriptions(pairs, COMPOSITE_VENUES).items()
        ]
        out = io.StringIO()
        printer = Printer(out, parsed.format, parsed.quiet)
        runs.append(Run(feeds, printer, parsed))
        return runs[-1], printer, out

    yield make
    for run in runs:
        for _, client, _ in run._clients:
            client.stop()
            client.run()  # returns at once once stopped, and closes what the client holds


def consumer(run: Run, source: Source) -> Callable[[StreamEvent], None]:
    """The consumer ``run`` gave ``source``'s stream client (what its stream thread calls)."""
    return next(client._consumer for feed, client, _ in run._clients if feed.source is source)


def prices(on_event: Callable[[StreamEvent], None], pair: Pair, n: int, start: float = 100.0) -> None:
    for i in range(n):
        on_event(PriceArrived(pair, start + i, True))


def in_thread(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def test_a_price_is_counted_without_waiting_for_the_printer_s_lock(make_run: MakeRun) -> None:
    run, printer, out = make_run("--quiet", "--count", "2", "kraken:BTC-USD")
    on_event = consumer(run, Source.KRAKEN)
    with printer.lock:  # another source's thread printing, for as long as it takes
        thread = in_thread(lambda: prices(on_event, KRAKEN_BTC, 2))
        thread.join(5)
        assert not thread.is_alive()
        assert run.done.is_set()  # --count reached: the run ends
    assert out.getvalue() == ""


def test_a_repeated_or_unwatched_price_is_not_counted(make_run: MakeRun) -> None:
    run, _, _ = make_run("--quiet", "--count", "2", "kraken:BTC-USD")
    on_event = consumer(run, Source.KRAKEN)
    on_event(PriceArrived(KRAKEN_BTC, 100.0, True))
    on_event(PriceArrived(KRAKEN_BTC, 100.0, False))  # the same price again
    on_event(PriceArrived(parse_pair("kraken:ETH-USD"), 5.0, True))  # not the user's
    assert not run.done.is_set()
    on_event(PriceArrived(KRAKEN_BTC, 101.0, True))
    assert run.done.is_set()


def test_the_count_over_every_source_s_thread_is_exact(make_run: MakeRun) -> None:
    n = 20_000
    run, _, _ = make_run("--quiet", "--count", str(n), "kraken:BTC-USD", "coinbase:BTC-USD")
    kraken, coinbase = consumer(run, Source.KRAKEN), consumer(run, Source.COINBASE)
    threads = [
        in_thread(lambda: prices(kraken, KRAKEN_BTC, n // 2)),
        in_thread(lambda: prices(coinbase, COINBASE_BTC, n // 2 - 1)),
    ]
    for thread in threads:
        thread.join(30)
    assert not run.done.is_set()  # one short: no count was lost, and none counted twice
    coinbase(PriceArrived(COINBASE_BTC, 1.0, True))
    assert run.done.is_set()


def test_an_alert_a_price_fires_is_printed_under_the_printer_s_lock(make_run: MakeRun) -> None:
    run, printer, out = make_run("--alert-pct", "1", "--alert-window", "60", "kraken:BTC-USD")
    on_event = consumer(run, Source.KRAKEN)
    on_event(PriceArrived(KRAKEN_BTC, 100.0, True))
    with printer.lock:  # another source's thread printing a line
        thread = in_thread(lambda: on_event(PriceArrived(KRAKEN_BTC, 102.0, True)))
        thread.join(0.2)
        assert thread.is_alive()  # its alert waits for the line to be written
        assert out.getvalue() == ""
    thread.join(5)
    assert not thread.is_alive()
    (line,) = out.getvalue().splitlines()
    assert line.startswith("ALERT BTC/USD · Kraken up 2.0 %")


def test_the_run_ends_once_every_pair_asked_for_is_refused(make_run: MakeRun) -> None:
    run, _, out = make_run("--format", "jsonl", "kraken:FOO-BAR", "composite:FOO-BAR")
    kraken, binance = consumer(run, Source.KRAKEN), consumer(run, Source.BINANCE)
    kraken(SubRejected(parse_pair("kraken:FOO-BAR"), "INVALID_SUB", None, Refusal.NOT_LISTED))
    for source in (Source.COINBASE, Source.OKX):
        consumer(run, source)(SubRejected(parse_pair(f"{source.value}:FOO-BAR"), "INVALID_SUB", None))
    assert not run.done.is_set()  # Binance has not said yet
    # Binance's answer to a pair it does not list is silence: that completes the composite's refusal.
    binance(SubRejected(parse_pair("binance:FOO-BAR"), "NO_DATA", None, Refusal.SILENT))
    assert run.done.is_set()
    assert run.nothing_left
    refused = [line for line in out.getvalue().splitlines() if '"sub_error"' in line]
    assert len(refused) == 2
    assert '"sub":"composite:FOO-BAR"' in refused[1]


def test_a_silent_pair_that_sends_a_price_after_all_keeps_the_run_going(make_run: MakeRun) -> None:
    run, _, _ = make_run("--quiet", "binance:FOO-BAR", "kraken:FOO-BAR")
    binance_foo = parse_pair("binance:FOO-BAR")
    consumer(run, Source.BINANCE)(SubRejected(binance_foo, "NO_DATA", None, Refusal.SILENT))
    consumer(run, Source.BINANCE)(QuotesChanged((Quote(binance_foo, 1.0, None),), None))
    consumer(run, Source.KRAKEN)(SubRejected(parse_pair("kraken:FOO-BAR"), "INVALID_SUB", None))
    assert not run.done.is_set()
    assert not run.nothing_left
