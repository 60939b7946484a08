"""``ccdesk history``: what the local store holds (``pairs``) and CSV export of a pair's candles or
of the alert history (``export``). The argument parsing is ``cli``'s.

It reads the store's file read-only, so it works while the app runs (WAL readers) and never
changes, migrates or moves a file, whatever it finds. Exit codes: 0 done, 1 the database cannot be
read (a damaged file, a folder given as --db) or the output cannot be written, 2 usage (a pair typed
wrong, a bad date), 5 nothing to export (no store yet, a pair with no stored prices, no rows in the
range asked for: then no file is written, and nothing goes to stdout).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from ccdesk.core.candles import HOUR_S, MINUTE_S
from ccdesk.core.export import (
    ALERT_HEADER,
    CANDLE_HEADER,
    ExportError,
    Row,
    alert_rows,
    candle_rows,
    default_file_name,
    export_file,
    peek_rows,
    write_csv,
)
from ccdesk.core.pairs import Pair, PairError, Source, parse_pair
from ccdesk.core.store import (
    FILE_NAME,
    CandleSeries,
    ReadProblem,
    StoreReadError,
    data_dir,
    iter_alerts,
    iter_candles,
    open_reader,
    read_candle_series,
)
from ccdesk.wording import (
    export_delivery_words,
    export_nothing_words,
    export_rule_words,
    pair_label,
    read_problem_words,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 5
PERIODS = {"minute": MINUTE_S, "hour": HOUR_S}


class UsageError(Exception):
    """Bad input; ``cli`` exits 2 with the message."""


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``history pairs`` and ``history export`` to the command line."""
    h = sub.add_parser(
        "history",
        help="the price history and alert history this machine keeps: list, export as CSV",
        description=(
            "Read the local history database (in the user's data folder, or --db). Works while the app runs."
        ),
    )
    hs: Any = h.add_subparsers(
        dest="history_command", metavar="ACTION", parser_class=parser_class, required=True
    )
    pairs = hs.add_parser("pairs", help="the pairs with stored prices: how many candles, from when to when")
    pairs.add_argument("--format", choices=("text", "json"), default="text")
    e = hs.add_parser(
        "export",
        help="a pair's candles or the alert history as CSV",
        description=(
            "Write CSV: a pair's candles (time in ISO 8601 UTC and unix seconds, open, high, low, close, "
            "count, pair) or the alert history. Numbers use '.' and no thousands separators; text a "
            "spreadsheet would run as a formula gets a leading '. The file appears whole or not at all; "
            "with no rows in the range, nothing is written and the exit code is 5."
        ),
    )
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--pair", metavar="PAIR", help="kraken:BTC-USD (a bare BTC-USD is Kraken's)")
    what.add_argument("--alerts", action="store_true", help="the alert history")
    e.add_argument(
        "--period",
        choices=tuple(PERIODS),
        default="minute",
        help="candle length (minute: kept 30 days; hour: kept for good)",
    )
    when = e.add_mutually_exclusive_group()
    when.add_argument(
        "--since", metavar="ISO", help="from this time (2026-12-01 or 2026-12-01T08:00; UTC unless it says)"
    )
    when.add_argument("--days", type=_days, metavar="N", help="the last N days")
    e.add_argument(
        "--out",
        metavar="FILE",
        help="where to write ('-' for stdout); default: a file named for its contents in this folder",
    )
    for p in (pairs, e):
        p.add_argument("--db", type=Path, metavar="PATH", help="the history database (default: the app's)")


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def parse_since(text: str) -> float:
    """``2026-12-01``, ``2026-12-01T08:00``, ``2026-12-01T08:00:00+01:00``, ``...Z`` as unix seconds
    (UTC when no offset is given).

    Raises:
        UsageError: not such a time.
    """
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date or time; write 2026-12-01 or 2026-12-01T08:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def run(args: argparse.Namespace) -> int:
    """Run ``history pairs`` or ``history export``; errors are printed in plain words."""
    path: Path = args.db if args.db is not None else data_dir() / FILE_NAME
    try:
        if args.history_command == "pairs":
            return _pairs(path, args.format)
        return _export(path, args)
    except StoreReadError as exc:
        _err(read_problem_words(exc))
        return EXIT_NOTHING if exc.problem is ReadProblem.NO_STORE else EXIT_ERROR
    except ExportError as exc:
        _err(f"cannot write {exc.path}: {exc.reason}; nothing was written")
        return EXIT_ERROR


def _err(message: str) -> None:
    print(f"ccdesk: {message}", file=sys.stderr, flush=True)


def _utc(start: int) -> str:
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _pairs(path: Path, fmt: str) -> int:
    series = read_candle_series(path)
    if fmt == "json":
        rows = [
            {
                "pair": s.sub,
                "label": None if s.pair is None else pair_label(s.pair),
                "period": {MINUTE_S: "minute", HOUR_S: "hour"}.get(s.period_s, str(s.period_s)),
                "candles": s.count,
                "first": s.first,
                "last": s.last,
            }
            for s in series
        ]
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(), flush=True)
        return EXIT_OK
    if not series:
        print(f"No prices are stored yet in {path}.", flush=True)
        return EXIT_OK
    by_sub: dict[str, list[CandleSeries]] = {}
    for s in series:
        by_sub.setdefault(s.sub, []).append(s)
    for sub, items in by_sub.items():
        pair = items[0].pair
        print(f"{sub}  ({pair_label(pair) if pair is not None else 'not a pair this ccdesk knows'})")
        for s in items:
            name = {MINUTE_S: "minute", HOUR_S: "hour"}.get(s.period_s, f"{s.period_s} s")
            print(f"  {name:<6} {s.count:>7,} candles, {_utc(s.first)} to {_utc(s.last)} UTC")
    print(f"From {path}. Export one with `ccdesk history export --pair PAIR`.", flush=True)
    return EXIT_OK


def _export(path: Path, args: argparse.Namespace) -> int:
    now = time.time()
    since = 0.0
    if args.since is not None:
        since = parse_since(args.since)
    elif args.days is not None:
        since = now - args.days * 86400
    header: Sequence[str]
    rows: Iterable[Row]
    pair: Pair | None = None
    period_s: int | None = None
    if args.alerts:
        open_reader(path).close()  # no store, a corrupt file: said before any output
        header = ALERT_HEADER
        rows = alert_rows(
            iter_alerts(path, None if since == 0.0 else since), export_rule_words, export_delivery_words
        )
        name = default_file_name(None, None, now)
    else:
        try:
            pair = parse_pair(args.pair, Source.KRAKEN)
        except PairError as exc:
            raise UsageError(f"--pair: {exc}") from None
        period_s = PERIODS[args.period]
        stored = [s for s in read_candle_series(path) if s.sub == str(pair)]
        if not stored:
            _err(
                f"no prices of {pair_label(pair)} ({pair}) are stored; "
                "`ccdesk history pairs` lists the pairs that are"
            )
            return EXIT_NOTHING
        header = CANDLE_HEADER
        rows = candle_rows(pair, iter_candles(path, pair, period_s, since))
        name = default_file_name(pair, period_s, now)
    nothing = export_nothing_words(pair, period_s, None if since == 0.0 else since)
    if args.out == "-":
        some = peek_rows(rows)  # no header either when there are no rows: stdout stays empty
        if some is None:
            _err(nothing)
            return EXIT_NOTHING
        sys.stdout.reconfigure(newline="")  # type: ignore[union-attr]  # the CSV's own \r\n, as written
        n = write_csv(sys.stdout, header, some)
        sys.stdout.flush()
        print(f"{n:,} {'row' if n == 1 else 'rows'}", file=sys.stderr, flush=True)
        return EXIT_OK
    target = Path(args.out) if args.out else Path(name)
    n = export_file(target, header, rows)
    if n == 0:
        _err(nothing)
        return EXIT_NOTHING
    print(f"Wrote {n:,} {'row' if n == 1 else 'rows'} to {target}", flush=True)
    return EXIT_OK
