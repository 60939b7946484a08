"""CSV export of the store: one pair's candles, or the alert history, streamed and written atomically.

The files are for spreadsheets and scripts alike:
- a header row; times as ISO 8601 UTC (``2026-12-03T05:21:00Z``) and as unix seconds;
- numbers as the store holds them (the shortest text that reads back as the same float, never an
  exponent), ``.`` as the decimal point and no thousands separators whatever the locale;
- text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a line break) get a leading ``'`` (OWASP's CSV injection advice); numbers are left as numbers;
- rows are streamed from the store a page at a time into the file (a 30-day minute file is 43,200
  rows: never one big string), and the file appears whole or not at all (a temporary file beside it,
  renamed over it at the end);
- an export with no rows writes nothing: no header-only file is created and an existing file is left
  as it was (``export_file`` returns 0; ``peek_rows`` lets a stream writer know before its header).

No Qt, and no user interface words: the alert export takes the caller's wording for the rule and
for how an alert was delivered (the codes are written beside them).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import enum
import errno
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, TextIO

from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.pairs import Pair
from ccdesk.core.settings_codec import rule_to_json
from ccdesk.core.store import ReadProblem, Store, StoredAlert, StoreReadError

Cell = str | int
Row = Sequence[Cell]

CANDLE_HEADER: Final[tuple[str, ...]] = (
    "time_utc",
    "unix_s",
    "open",
    "high",
    "low",
    "close",
    "count",
    "pair",
)
"""The candle file's columns; ``pair`` is the pair and source (``kraken:BTC-USD``), one per file."""
ALERT_HEADER: Final[tuple[str, ...]] = (
    "time_utc",
    "unix_s",
    "pair",
    "rule",
    "rule_json",
    "direction",
    "change_pct",
    "from_price",
    "to_price",
    "level",
    "paused",
    "delivered",
    "channel",
    "not_shown",
    "detail",
)
"""The alert file's columns: ``rule`` and ``delivered`` in words, ``rule_json``, ``channel`` and
``not_shown`` as codes for scripts."""
PERIOD_NAMES: Final = {MINUTE_S: "minute", HOUR_S: "hour"}
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")


class ExportProblem(enum.Enum):
    """Why an export could not be written."""

    UNWRITABLE = "unwritable"
    """The output file or its folder cannot be written (no such folder, permissions, full disk)."""


class ExportError(Exception):
    """An export that failed; nothing was left behind. ``detail`` names the path and the OS's reason."""

    def __init__(self, problem: ExportProblem, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.problem = problem
        self.path = path
        self.reason = reason


def number_text(value: float) -> str:
    """A float as stored, for a CSV cell: ``91234.5``, ``0.00001234`` (never ``1.234e-05``), ``-2.1``."""
    if value != value or value in (float("inf"), float("-inf")):
        return ""  # never stored; an empty cell beats a word a spreadsheet cannot sum
    text = format(Decimal(repr(float(value))), "f")
    return text[:-2] if text.endswith(".0") else text


def safe_text(text: str) -> str:
    """A text cell a spreadsheet will not run: a leading ``=``, ``+``, ``-``, ``@``, tab or line
    break gets a ``'`` before it (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def iso_utc(at: float) -> str:
    """``2026-12-03T05:21:00Z``: unix seconds as ISO 8601 UTC, to the second."""
    return dt.datetime.fromtimestamp(int(at // 1), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def candle_rows(sub: Pair | str, candles: Iterable[Candle]) -> Iterator[Row]:
    """The rows (no header) of ``sub``'s candles, as they come."""
    name = safe_text(str(sub))
    for c in candles:
        yield (
            iso_utc(c.start),
            c.start,
            number_text(c.open),
            number_text(c.high),
            number_text(c.low),
            number_text(c.close),
            c.count,
            name,
        )


def _delivery_codes(stored: StoredAlert) -> str:
    if stored.paused:
        return "paused"
    return "" if stored.delivery is None else stored.delivery.channel.value


def alert_rows(
    alerts: Iterable[StoredAlert],
    rule_words: Callable[[StoredAlert], str] | None = None,
    delivery_words: Callable[[StoredAlert], str] | None = None,
) -> Iterator[Row]:
    """The rows (no header) of the alert history, as they come.

    Args:
        alerts: The alerts, in the order to write them.
        rule_words: The rule in words (the UI's ``describe_rule``); without it, the column repeats
            the rule's JSON.
        delivery_words: How the alert was delivered or why not, in words; without it, the channel code.
    """
    for stored in alerts:
        a = stored.alert
        rule_json = json.dumps(rule_to_json(a.rule), separators=(",", ":"), sort_keys=True)
        d = stored.delivery
        yield (
            iso_utc(a.at),
            number_text(a.at),
            safe_text(str(a.sub)),
            safe_text(rule_words(stored) if rule_words else rule_json),
            safe_text(rule_json),
            a.direction.value,
            number_text(a.change_pct),
            number_text(a.from_price),
            number_text(a.to_price),
            "" if a.level is None else number_text(a.level),
            int(stored.paused),
            safe_text(delivery_words(stored) if delivery_words else _delivery_codes(stored)),
            "" if d is None else d.channel.value,
            "" if d is None or d.not_shown is None else d.not_shown.value,
            "" if d is None or d.detail is None else safe_text(d.detail),
        )


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Row]) -> int:
    """Write the header and every row to ``out`` (opened with ``newline=""``); returns the rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def peek_rows(rows: Iterable[Row]) -> Iterator[Row] | None:
    """``rows`` whole again, or None when there are none; reads only the first row to know (the rest
    stay streamed)."""
    it = iter(rows)
    try:
        first = next(it)
    except StopIteration:
        return None
    return itertools.chain((first,), it)


def export_file(path: Path, header: Sequence[str], rows: Iterable[Row]) -> int:
    """Write a CSV file at ``path`` whole or not at all: rows go to a temporary file beside it,
    which replaces ``path`` only once every row is on the disk. Returns the rows written; 0 means
    there were none and nothing was written (no file is created, an existing one is left as it was).

    Raises:
        ExportError: the folder or file cannot be written (the temporary file is removed).
        Whatever ``rows`` raises (e.g. ``StoreReadError``), after removing the temporary file.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ExportError(ExportProblem.UNWRITABLE, path, exc.strerror or str(exc)) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            # The target is tried first (a folder that cannot be written, or a folder as the file,
            # is said even with no rows); then the temporary file is dropped when there is nothing
            # to put in it: no header-only file, an existing file left as it was.
            some = peek_rows(rows)
            if some is None:
                if path.is_dir():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
                f.close()
                tmp.unlink()
                return 0
            n = write_csv(f, header, some)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            # mkstemp makes the file private; an export is an ordinary document.
            tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ExportError(ExportProblem.UNWRITABLE, path, exc.strerror or str(exc)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return n


def default_file_name(sub: Pair | None, period_s: int | None, now: float) -> str:
    """A file name that says what is in it: ``ccdesk-kraken-BTC-USD-minute-2026-12-03.csv``,
    ``ccdesk-alerts-2026-12-03.csv``."""
    day = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")
    if sub is None:
        return f"ccdesk-alerts-{day}.csv"
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in str(sub))
    period = PERIOD_NAMES.get(period_s or MINUTE_S, f"{period_s}s")
    return f"ccdesk-{name}-{period}-{day}.csv"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One export the user asked for: ``sub``'s candles of ``period_s`` (all that are kept), or the
    alert history when ``sub`` is None, to the file ``path``."""

    path: Path
    sub: Pair | None
    period_s: int = MINUTE_S


def run_export(
    store: Store | None,
    request: ExportRequest,
    rule_words: Callable[[StoredAlert], str] | None = None,
    delivery_words: Callable[[StoredAlert], str] | None = None,
) -> int:
    """Carry out ``request`` from ``store`` (None: no history kept); returns the rows written (0:
    nothing to export, no file was written). Blocks on the disk: call it off the GUI thread.

    Raises:
        StoreReadError: the store cannot be read (nothing was written).
        ExportError: the file cannot be written (nothing was written).
    """
    if store is None:
        raise StoreReadError(ReadProblem.NO_STORE, "")
    if request.sub is None:
        rows = alert_rows(store.all_alerts(), rule_words, delivery_words)
        return export_file(request.path, ALERT_HEADER, rows)
    return export_file(
        request.path,
        CANDLE_HEADER,
        candle_rows(request.sub, store.iter_candles(request.sub, request.period_s)),
    )
