"""The local store: one SQLite file under the user's data folder, written by one writer thread.

It holds the alert history (every alert, how it was delivered or why not, paused or not) so that it
survives a restart and a kill -9, and price candles per pair and source: minute candles (kept
``MINUTE_RETENTION_S``, the oldest dropped first past ``MAX_BYTES``) and hourly candles rolled up
from them (kept for good), and the holdings (this machine only: never in the settings file, a
webhook or a log line with a quantity).

Rules it keeps:
- One writer: a daemon thread owns the writing connection; callers only queue work, so neither the
  GUI thread nor the stream thread ever waits on the disk. Each alert is committed on its own
  (WAL, ``synchronous=NORMAL``): a crash of the process loses nothing that was committed.
- Readers open their own connection (WAL lets them read while the writer writes).
- A schema version with ordered migrations (``PRAGMA user_version``).
- Nothing is lost or crashes on a bad file: a corrupt or unreadable database is moved aside (kept,
  never deleted) and a fresh one is made; a folder that cannot be written (read-only, full disk) is
  reported and the app goes on without a store. Every problem is a typed ``StoreProblem``.

No Qt.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import math
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ccdesk.core.alerts import Alert, MoveDirection
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, merge, period_start, roll_up
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.holdings import Holding, HoldingError
from ccdesk.core.identity import app_name_from_env
from ccdesk.core.pairs import Pair, PairError, parse_pair
from ccdesk.core.settings_codec import rule_from_json, rule_to_json

log = logging.getLogger(__name__)

FILE_NAME: Final = "ccdesk.sqlite3"
ORGANIZATION: Final = "ccdesk"
MAX_ALERTS: Final = 10_000
"""Alert rows kept; older ones are dropped as new ones come (the window shows the newest 500)."""

# Each entry takes the schema from version i to i + 1. Never edit a released entry: add one.
_MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        at REAL NOT NULL,
        sub TEXT NOT NULL,
        rule TEXT NOT NULL,
        direction TEXT NOT NULL,
        change_pct REAL NOT NULL,
        from_price REAL NOT NULL,
        to_price REAL NOT NULL,
        window_s REAL NOT NULL,
        level REAL,
        elapsed_s REAL NOT NULL,
        paused INTEGER NOT NULL,
        channel TEXT,
        not_shown TEXT,
        detail TEXT,
        webhook TEXT
    );
    CREATE INDEX alerts_at ON alerts (at);
    """,
    """
    CREATE TABLE candles (
        sub TEXT NOT NULL,
        period INTEGER NOT NULL,
        start INTEGER NOT NULL,
        open REAL NOT NULL,
        high REAL NOT NULL,
        low REAL NOT NULL,
        close REAL NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (sub, period, start)
    ) WITHOUT ROWID;
    CREATE INDEX candles_age ON candles (period, start);
    """,
    """
    CREATE TABLE holdings (
        sub TEXT PRIMARY KEY,
        quantity REAL NOT NULL,
        cost_basis REAL
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)
MINUTE_RETENTION_S: Final = 30 * 86400
"""Minute candles older than this are dropped; hourly candles are kept for good."""
MAX_BYTES: Final = 256 * 1024 * 1024
"""Past this file size the oldest minute candles go first (hourly candles and alerts stay)."""


class StoreProblem(enum.Enum):
    """Why the store is not (fully) working."""

    MOVED_ASIDE = "moved_aside"
    """The file was corrupt or unreadable: it was renamed (``detail`` names the copy) and a fresh one made."""
    UNWRITABLE = "unwritable"
    """The folder or file cannot be written (read-only, full disk): alerts are not kept."""
    NEWER_SCHEMA = "newer_schema"
    """The file was written by a newer ccdesk: it is left alone and not used."""


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """A problem with the store, for a banner. ``detail`` names a path or the error, never data."""

    problem: StoreProblem
    detail: str


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """One alert of the history, as read back."""

    alert: Alert
    paused: bool
    delivery: Delivery | None


def data_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's data folder for this app, as Qt's ``QStandardPaths.AppDataLocation`` names it
    (``$XDG_DATA_HOME/ccdesk/<app name>`` on Linux), with the test-only app name honoured."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    name = app_name_from_env(env)
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_DATA_HOME", "").strip() or home / ".local" / "share")
    return base / ORGANIZATION / name


class Store:
    """The store of one file. ``open`` never raises; writes are queued and never raise either.

    Opening (checking the file, migrating, moving a bad file aside) is the writer thread's first
    job, so creating a Store does no I/O on the caller's thread; writes queued meanwhile wait their
    turn, and reads wait (bounded) until it is open.

    Args:
        path: The database file (``data_dir() / FILE_NAME``), or None for no file at all (an
            in-memory store that keeps nothing).
        on_problem: Called on the writer thread with each problem: found when opening (a file
            moved aside, a folder that cannot be written) or when a write fails (a full disk). It
            must not block.
        clock: Wall time for the name of a moved-aside file.
    """

    def __init__(
        self,
        path: Path | None,
        on_problem: Callable[[StoreStatus], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._on_problem = on_problem
        self._clock = clock
        self.status: StoreStatus | None = None
        """The problem found when opening, or None."""
        self._jobs: queue.SimpleQueue[Callable[[sqlite3.Connection], None] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._failed = False
        self.ready = threading.Event()
        """Set once the file is open (or found unusable)."""

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None,
        on_problem: Callable[[StoreStatus], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Start the store at ``path``: its writer thread opens (or creates) the file. Returns at once."""
        store = cls(path, on_problem, clock)
        store._writer = threading.Thread(target=store._run, name="ccdesk-store", daemon=True)
        store._writer.start()
        return store

    def _open_file(self) -> None:
        conn: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                conn = self._connect_checked(self.path)
            except _Corrupt as exc:
                moved = self._move_aside(self.path)
                self.status = StoreStatus(StoreProblem.MOVED_ASIDE, str(moved))
                log.warning("the store %s could not be read (%s); moved to %s", self.path, exc, moved)
                try:
                    conn = self._connect_checked(self.path)
                except (_Corrupt, sqlite3.Error, OSError) as again:
                    self.status = StoreStatus(StoreProblem.UNWRITABLE, _short(again))
                    conn = None
            except _NewerSchema as exc:
                self.status = StoreStatus(StoreProblem.NEWER_SCHEMA, str(exc))
                conn = None
            except (sqlite3.Error, OSError) as exc:
                self.status = StoreStatus(StoreProblem.UNWRITABLE, _short(exc))
                log.warning("the store %s cannot be written: %s", self.path, exc)
                conn = None
        if conn is None:
            self.path = None
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            _migrate(conn)
        self._conn = conn
        if self.status is not None:
            self._tell(self.status)

    def _connect_checked(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=5.0)
        try:
            # Read-only checks first: a file this ccdesk must not use is left exactly as it was.
            ok = conn.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                raise _Corrupt(str(ok[0] if ok else "no answer"))
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _NewerSchema(f"schema {version}; this ccdesk knows {SCHEMA_VERSION}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            _migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
                raise
            raise _Corrupt(_short(exc)) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self, path: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        target = path.with_name(f"{path.name}.unreadable-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                with contextlib.suppress(OSError):
                    source.rename(Path(f"{target}{suffix}"))
        return target

    # --- writing (queued, on the writer thread) ------------------------------------------------

    def record_alert(self, alert: Alert, *, paused: bool) -> None:
        """Keep an alert that just fired (queued; committed on its own)."""
        row = _alert_row(alert, paused)
        self._submit(lambda c: _insert_alert(c, row))

    def record_delivery(self, delivery: Delivery) -> None:
        """Keep where an alert went (queued)."""
        values = _delivery_values(delivery)
        self._submit(lambda c: _update_delivery(c, delivery.alert.id, values))

    def record_candles(self, sub: Pair, candles: Sequence[Candle], period_s: int = MINUTE_S) -> None:
        """Keep candles of ``sub`` (queued). A period already stored is merged, never duplicated
        (``candles.merge``); minute candles also update their hours' roll-up."""
        if candles:
            rows = tuple(candles)
            self._submit(lambda c: _upsert_candles(c, str(sub), period_s, rows))

    def set_holding(self, holding: Holding) -> None:
        """Keep ``holding`` (queued), replacing the pair's previous one."""
        row = (str(holding.sub), holding.quantity, holding.cost_basis)
        self._submit(lambda c: _upsert_holding(c, row))

    def remove_holding(self, sub: Pair) -> None:
        """Forget the holding of ``sub`` (queued); nothing happens if there is none."""
        key = str(sub)
        self._submit(lambda c: _delete_holding(c, key))

    def prune(self, now: float, max_bytes: int = MAX_BYTES) -> None:
        """Drop minute candles older than ``MINUTE_RETENTION_S`` at wall time ``now``, then the
        oldest ones until the file is under ``max_bytes`` (queued)."""
        self._submit(lambda c: _prune_candles(c, int(now) - MINUTE_RETENTION_S, max_bytes))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued write is done (for tests and an orderly quit); True if it was."""
        done = threading.Event()
        self._submit(lambda _c: done.set())
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Finish queued writes (bounded) and stop the writer; a stuck disk is not waited for."""
        writer = self._writer
        if writer is None:
            return
        self._jobs.put(None)
        writer.join(timeout_s)
        self._writer = None

    def _submit(self, job: Callable[[sqlite3.Connection], None]) -> None:
        if self._writer is not None:
            self._jobs.put(job)

    def _run(self) -> None:
        try:
            self._open_file()
        finally:
            self.ready.set()
        conn = self._conn
        assert conn is not None
        while True:
            job = self._jobs.get()
            if job is None:
                break
            try:
                job(conn)
            except sqlite3.Error as exc:
                self._report_failure(exc)
            except Exception as exc:  # a bug in one job: said, and the writer lives on for the rest
                log.exception("store write job failed")
                self._report_failure(exc)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def _report_failure(self, exc: Exception) -> None:
        log.warning("store write failed: %s", exc)
        if self._failed:
            return  # said once; a full disk does not need a banner per alert
        self._failed = True
        self.status = StoreStatus(StoreProblem.UNWRITABLE, _short(exc))
        self._tell(self.status)

    def _tell(self, status: StoreStatus) -> None:
        if self._on_problem is not None:
            try:
                self._on_problem(status)
            except Exception:
                log.exception("the store's problem callback failed")

    # --- reading (the caller's thread, its own connection) -------------------------------------

    def recent_alerts(self, limit: int = 500, timeout_s: float = 5.0) -> list[StoredAlert]:
        """The newest alerts, newest first (waits until the store is open). Rows that cannot be
        read back are skipped. Blocks on the disk: call it off the GUI thread."""
        rows = self._read(
            f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY at DESC, rowid DESC LIMIT ?", (limit,), timeout_s
        )
        return _alerts_from(rows)

    def candles(
        self, sub: Pair, period_s: int, since: float, until: float = math.inf, timeout_s: float = 5.0
    ) -> list[Candle]:
        """``sub``'s candles of ``period_s`` starting in [since, until), oldest first. Blocks on the
        disk: call it off the GUI thread. An unreadable store reads as no candles."""
        hi = 2**62 if math.isinf(until) else int(until)
        rows = self._read(
            "SELECT start, open, high, low, close, count FROM candles"
            " WHERE sub = ? AND period = ? AND start >= ? AND start < ? ORDER BY start",
            (str(sub), period_s, int(since), hi),
            timeout_s,
        )
        return [
            Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5])) for r in rows
        ]

    def alerts_for(self, sub: Pair, since: float, limit: int = 1000, timeout_s: float = 5.0) -> list[Alert]:
        """``sub``'s alerts from wall time ``since``, oldest first (the chart's markers). Blocks on
        the disk: call it off the GUI thread. An unreadable store reads as no alerts."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE sub = ? AND at >= ?"
        rows = self._read(sql + " ORDER BY at DESC, rowid DESC LIMIT ?", (str(sub), since, limit), timeout_s)
        return [stored.alert for stored in _alerts_from(reversed(rows))]

    def holdings(self, timeout_s: float = 5.0) -> list[Holding]:
        """Every kept holding, by pair text. Rows that cannot be read back (an unknown pair, a bad
        number) are skipped. Blocks on the disk: call it off the GUI thread."""
        rows = self._read("SELECT sub, quantity, cost_basis FROM holdings ORDER BY sub", (), timeout_s)
        out: list[Holding] = []
        for sub, quantity, cost in rows:
            try:
                out.append(
                    Holding(parse_pair(str(sub)), float(quantity), None if cost is None else float(cost))
                )
            except (ValueError, TypeError, PairError, HoldingError):
                # Never the quantity in a log: holdings stay on this machine, logs may be shared.
                log.warning("skipped a holding row that cannot be read")
        return out

    def _read(self, sql: str, params: tuple[object, ...], timeout_s: float) -> list[tuple[Any, ...]]:
        """Rows of one query on a read-only connection of its own, once the store is open; none when
        there is no file or it cannot be read (said in the log)."""
        self.ready.wait(timeout_s)
        if self.path is None:
            return []
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error as exc:
            log.warning("store not readable: %s", exc)
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            log.warning("store not readable: %s", exc)
            return []
        finally:
            conn.close()

    # --- export reads (issue 11, export): streamed, read-only, problems raised as StoreReadError ---

    def candle_pairs(self, timeout_s: float = 5.0) -> list[CandleSeries]:
        """Which pairs have candles, per period (see ``read_candle_series``). Blocks on the disk."""
        return read_candle_series(self._export_path(timeout_s))

    def iter_candles(
        self, sub: Pair, period_s: int, since: float = 0.0, until: float = math.inf, timeout_s: float = 5.0
    ) -> Iterator[Candle]:
        """``sub``'s candles, oldest first, streamed (see ``iter_candles``). Blocks on the disk."""
        return iter_candles(self._export_path(timeout_s), sub, period_s, since, until)

    def all_alerts(self, since: float | None = None, timeout_s: float = 5.0) -> Iterator[StoredAlert]:
        """Every kept alert, oldest first, streamed (see ``iter_alerts``). Blocks on the disk."""
        return iter_alerts(self._export_path(timeout_s), since)

    def _export_path(self, timeout_s: float) -> Path:
        self.ready.wait(timeout_s)
        if self.path is None:
            raise StoreReadError(ReadProblem.NO_STORE, "")  # kept nowhere (the file could not be used)
        return self.path


class _Corrupt(Exception):
    pass


class _NewerSchema(Exception):
    pass


def _looks_corrupt(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for step in range(version, SCHEMA_VERSION):
        with conn:
            conn.executescript(_MIGRATIONS[step])
            conn.execute(f"PRAGMA user_version = {step + 1}")
        log.info("store schema migrated to version %d", step + 1)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "\u2026"


# --- rows -----------------------------------------------------------------------------------------


def _alert_row(alert: Alert, paused: bool) -> tuple[object, ...]:
    return (
        alert.id,
        alert.at,
        str(alert.sub),
        json.dumps(rule_to_json(alert.rule)),
        alert.direction.value,
        alert.change_pct,
        alert.from_price,
        alert.to_price,
        alert.window_s,
        alert.level,
        alert.elapsed_s,
        int(paused),
    )


def _insert_alert(conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
    with conn:
        conn.execute(
            "INSERT OR IGNORE INTO alerts (id, at, sub, rule, direction, change_pct, from_price, to_price,"
            " window_s, level, elapsed_s, paused) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        conn.execute(
            "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts ORDER BY at DESC, rowid DESC"
            " LIMIT -1 OFFSET ?)",
            (MAX_ALERTS,),
        )


def _delivery_values(delivery: Delivery) -> tuple[object, ...]:
    hook = delivery.webhook
    webhook = (
        None
        if hook is None
        else json.dumps(
            {
                "ok": hook.ok,
                "http_status": hook.http_status,
                "failure": None if hook.failure is None else hook.failure.value,
                "host": hook.host,
                "reason": hook.reason,
                "timeout_s": hook.timeout_s,
            }
        )
    )
    not_shown = None if delivery.not_shown is None else delivery.not_shown.value
    return (delivery.channel.value, not_shown, delivery.detail, webhook)


def _update_delivery(conn: sqlite3.Connection, alert_id: str, values: tuple[object, ...]) -> None:
    with conn:
        conn.execute(
            "UPDATE alerts SET channel = ?, not_shown = ?, detail = ?, webhook = ? WHERE id = ?",
            (*values, alert_id),
        )


def _upsert_candles(conn: sqlite3.Connection, sub: str, period_s: int, candles: tuple[Candle, ...]) -> None:
    with conn:
        _merge_into(conn, sub, period_s, candles)
        if period_s == MINUTE_S:
            hours = sorted({period_start(c.start, HOUR_S) for c in candles})
            for hour in hours:
                minutes = [
                    Candle(*row)
                    for row in conn.execute(
                        "SELECT start, open, high, low, close, count FROM candles"
                        " WHERE sub = ? AND period = ? AND start >= ? AND start < ?",
                        (sub, MINUTE_S, hour, hour + HOUR_S),
                    )
                ]
                # The hour as its minutes make it now (merged like any candle, so never duplicated).
                rolled = roll_up(minutes, HOUR_S)
                _merge_into(conn, sub, HOUR_S, rolled)


def _merge_into(conn: sqlite3.Connection, sub: str, period_s: int, candles: Sequence[Candle]) -> None:
    starts = [c.start for c in candles]
    stored: dict[int, Candle] = {}
    for chunk in range(0, len(starts), 500):
        part = starts[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for row in conn.execute(
            f"SELECT start, open, high, low, close, count FROM candles"
            f" WHERE sub = ? AND period = ? AND start IN ({marks})",
            (sub, period_s, *part),
        ):
            stored[int(row[0])] = Candle(*row)
    rows = []
    for c in candles:
        old = stored.get(c.start)
        new = c if old is None else merge(old, c)
        rows.append((sub, period_s, new.start, new.open, new.high, new.low, new.close, new.count))
    conn.executemany("INSERT OR REPLACE INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _upsert_holding(conn: sqlite3.Connection, row: tuple[str, float, float | None]) -> None:
    with conn:
        conn.execute("INSERT OR REPLACE INTO holdings (sub, quantity, cost_basis) VALUES (?, ?, ?)", row)


def _delete_holding(conn: sqlite3.Connection, sub: str) -> None:
    with conn:
        conn.execute("DELETE FROM holdings WHERE sub = ?", (sub,))


def _prune_candles(conn: sqlite3.Connection, oldest_start: int, max_bytes: int) -> None:
    with conn:
        conn.execute("DELETE FROM candles WHERE period = ? AND start < ?", (MINUTE_S, oldest_start))
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]

    def used() -> int:
        pages, free = (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA freelist_count").fetchone()[0],
        )
        return int((pages - free) * page_size)

    # Deleted pages are reused, not returned to the disk (no VACUUM on a live file): the cap is on
    # the pages in use, so the file stops growing at about max_bytes.
    while used() > max_bytes:
        cut = conn.execute(
            "SELECT start FROM candles WHERE period = ? ORDER BY start LIMIT 1 OFFSET 10000", (MINUTE_S,)
        ).fetchone()
        with conn:
            if cut is None:
                gone = conn.execute("DELETE FROM candles WHERE period = ?", (MINUTE_S,)).rowcount
            else:
                gone = conn.execute(
                    "DELETE FROM candles WHERE period = ? AND start < ?", (MINUTE_S, cut[0])
                ).rowcount
        if gone == 0:
            break


_ALERT_COLUMNS: Final = (
    "id, at, sub, rule, direction, change_pct, from_price, to_price, window_s, level,"
    " elapsed_s, paused, channel, not_shown, detail, webhook"
)
"""The alerts table's columns in the order ``_stored_alert`` reads them."""


def _alerts_from(rows: Iterable[tuple[Any, ...]]) -> list[StoredAlert]:
    """The alerts of ``rows`` (``_ALERT_COLUMNS``), skipping the ones that cannot be read back."""
    out: list[StoredAlert] = []
    for row in rows:
        try:
            out.append(_stored_alert(row))
        except (ValueError, TypeError, KeyError, PairError) as exc:
            log.warning("skipped an alert row that cannot be read: %s", _short(exc))
    return out


def _stored_alert(row: tuple[object, ...]) -> StoredAlert:
    (aid, at, sub, rule, direction, change, from_p, to_p, window, level, elapsed, paused, channel, not_shown,
     detail, webhook) = row  # fmt: skip
    alert = Alert(
        sub=parse_pair(str(sub)),
        rule=rule_from_json(json.loads(str(rule))),
        direction=MoveDirection(direction),
        change_pct=float(change),  # type: ignore[arg-type]
        from_price=float(from_p),  # type: ignore[arg-type]
        to_price=float(to_p),  # type: ignore[arg-type]
        window_s=float(window),  # type: ignore[arg-type]
        at=float(at),  # type: ignore[arg-type]
        level=None if level is None else float(level),  # type: ignore[arg-type]
        elapsed_s=float(elapsed),  # type: ignore[arg-type]
        id=str(aid),
    )
    delivery = None
    if channel is not None:
        hook = None
        if webhook is not None:
            w = json.loads(str(webhook))
            hook = WebhookResult(
                ok=bool(w["ok"]),
                http_status=w.get("http_status"),
                failure=None if w.get("failure") is None else WebhookFailure(w["failure"]),
                host=str(w.get("host", "?")),
                reason=w.get("reason"),
                timeout_s=w.get("timeout_s"),
            )
        delivery = Delivery(
            alert,
            DeliveryChannel(channel),
            hook,
            None if not_shown is None else NotShownReason(not_shown),
            None if detail is None else str(detail),
        )
    return StoredAlert(alert, bool(paused), delivery)


# --- export reads (issue 11, export) --------------------------------------------------------------
# Module-level so that ``ccdesk history`` reads a file without starting a Store (whose writer would
# migrate it or move a bad file aside): a reader never changes the file, whatever it finds.

_PAGE: Final = 2000
"""Rows fetched at a time: an export's memory is one page, however long the file."""


class ReadProblem(enum.Enum):
    """Why the store cannot be read for an export."""

    NO_STORE = "no_store"
    """There is no database file (``detail`` is its path: ccdesk has not run yet), or none is kept
    (``detail`` is empty: the app's store could not use its file)."""
    FOLDER = "folder"
    """The path is a folder, not a database file (``detail`` is its path): a ``--db`` given the
    data folder instead of the file in it."""
    CORRUPT = "corrupt"
    """The file is not a database ccdesk can read (damaged, or something else)."""
    NEWER_SCHEMA = "newer_schema"
    """The file was written by a newer ccdesk."""
    UNREADABLE = "unreadable"
    """The file is there but cannot be opened (permissions, a lock held too long)."""


class StoreReadError(Exception):
    """A store that cannot be read; ``problem`` says why, ``detail`` in a few words (a path or
    SQLite's message, never data)."""

    def __init__(self, problem: ReadProblem, detail: str) -> None:
        super().__init__(f"{problem.value}: {detail}")
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """What is stored of one pair in one period: ``sub`` as stored (``kraken:BTC-USD``), the
    parsed pair (None if it no longer parses), the number of candles and the first and last start."""

    sub: str
    pair: Pair | None
    period_s: int
    count: int
    first: int
    last: int


def _read_problem(exc: sqlite3.Error) -> StoreReadError:
    if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
        return StoreReadError(ReadProblem.UNREADABLE, _short(exc))
    return StoreReadError(ReadProblem.CORRUPT, _short(exc))


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to the store at ``path``, checked (it is a database of a schema this
    ccdesk knows). Readers share the file with the running app (WAL).

    Raises:
        StoreReadError: no file, a folder, not a database, a newer schema, or not openable.
    """
    if path.is_dir():
        raise StoreReadError(ReadProblem.FOLDER, str(path))
    if not path.is_file():
        raise StoreReadError(ReadProblem.NO_STORE, str(path))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise _read_problem(exc) from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise _read_problem(exc) from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise StoreReadError(
            ReadProblem.NEWER_SCHEMA, f"schema {version}; this ccdesk knows {SCHEMA_VERSION}"
        )
    return conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None


def read_candle_series(path: Path) -> list[CandleSeries]:
    """Every pair and period with candles in the store at ``path``, sorted by pair then period.

    Raises:
        StoreReadError: see ``open_reader``; a damaged page met while reading is CORRUPT.
    """
    conn = open_reader(path)
    try:
        if not _has_table(conn, "candles"):
            return []
        rows = conn.execute(
            "SELECT sub, period, count(*), min(start), max(start) FROM candles GROUP BY sub, period"
            " ORDER BY sub, period"
        ).fetchall()
    except sqlite3.Error as exc:
        raise _read_problem(exc) from None
    finally:
        conn.close()
    out = []
    for sub, period, count, first, last in rows:
        try:
            pair: Pair | None = parse_pair(str(sub))
        except PairError:
            pair = None
        out.append(CandleSeries(str(sub), pair, int(period), int(count), int(first), int(last)))
    return out


def iter_candles(
    path: Path, sub: Pair | str, period_s: int, since: float = 0.0, until: float = math.inf
) -> Iterator[Candle]:
    """``sub``'s candles of ``period_s`` starting in [since, until), oldest first, a page at a time
    (a 30-day minute export never sits in memory whole). The file is opened on the first ``next``.

    Raises:
        StoreReadError: see ``open_reader``; raised from the iteration, also midway.
    """
    conn = open_reader(path)
    hi = 2**62 if math.isinf(until) else int(until)
    try:
        if not _has_table(conn, "candles"):
            return
        cursor = conn.execute(
            "SELECT start, open, high, low, close, count FROM candles"
            " WHERE sub = ? AND period = ? AND start >= ? AND start < ? ORDER BY start",
            (str(sub), period_s, max(0, int(since)), hi),
        )
        while page := cursor.fetchmany(_PAGE):
            for r in page:
                yield Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5]))
    except sqlite3.Error as exc:
        raise _read_problem(exc) from None
    finally:
        conn.close()


def iter_alerts(path: Path, since: float | None = None) -> Iterator[StoredAlert]:
    """Every kept alert at or after ``since``, oldest first, a page at a time. Rows that cannot be
    read back are skipped (logged), as ``Store.recent_alerts`` does.

    Raises:
        StoreReadError: see ``open_reader``; raised from the iteration, also midway.
    """
    conn = open_reader(path)
    try:
        if not _has_table(conn, "alerts"):
            return
        cursor = conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE at >= ? ORDER BY at, rowid",
            (-math.inf if since is None else since,),
        )
        while page := cursor.fetchmany(_PAGE):
            yield from _alerts_from(page)
    except sqlite3.Error as exc:
        raise _read_problem(exc) from None
    finally:
        conn.close()
