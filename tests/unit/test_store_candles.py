"""Price candles in the local store, on a real SQLite file: merging without duplicates, the hourly
roll-up, retention, the size cap, and a version-1 file (alerts only) migrated with its alerts kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import ccdesk.core.store as store_mod
from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.store import MINUTE_RETENTION_S, SCHEMA_VERSION, Store
from tests.pairs import BTC, ETH_COINBASE

H0 = 1_700_002_800  # an hour boundary


def opened(path: Path) -> Store:
    store = Store.open(path)
    assert store.ready.wait(5)
    return store


def c(start: int, o: float, h: float, lo: float, close: float, n: int = 1) -> Candle:
    return Candle(start, o, h, lo, close, n)


def test_candles_round_trip_per_pair_and_period(tmp_path: Path) -> None:
    store = opened(tmp_path / "db.sqlite3")
    store.record_candles(BTC, [c(H0, 100, 101, 99, 100.5, 3), c(H0 + 60, 100.5, 102, 100, 101, 2)])
    store.record_candles(ETH_COINBASE, [c(H0, 3000, 3001, 2999, 3000, 1)])
    assert store.flush()
    assert store.candles(BTC, MINUTE_S, H0) == [
        c(H0, 100, 101, 99, 100.5, 3),
        c(H0 + 60, 100.5, 102, 100, 101, 2),
    ]
    assert store.candles(BTC, MINUTE_S, H0 + 60) == [c(H0 + 60, 100.5, 102, 100, 101, 2)]
    assert store.candles(BTC, MINUTE_S, H0, until=H0 + 60) == [c(H0, 100, 101, 99, 100.5, 3)]
    assert store.candles(ETH_COINBASE, MINUTE_S, 0) == [c(H0, 3000, 3001, 2999, 3000, 1)]
    store.close()


def test_minutes_roll_up_into_their_hour_as_they_come(tmp_path: Path) -> None:
    store = opened(tmp_path / "db.sqlite3")
    store.record_candles(BTC, [c(H0, 100, 101, 99, 100.5, 3)])
    store.record_candles(BTC, [c(H0 + 60, 100.5, 105, 100, 104, 2)])
    store.record_candles(BTC, [c(H0 + HOUR_S, 104, 104, 103, 103, 1)])
    assert store.flush()
    assert store.candles(BTC, HOUR_S, 0) == [
        c(H0, 100, 105, 99, 104, 5),
        c(H0 + HOUR_S, 104, 104, 103, 103, 1),
    ]
    store.close()


def test_the_same_minute_twice_is_merged_never_duplicated(tmp_path: Path) -> None:
    store = opened(tmp_path / "db.sqlite3")
    store.record_candles(BTC, [c(H0, 101, 106, 100.5, 102, 7)])  # live, from mid-minute
    store.record_candles(BTC, [c(H0, 100, 105, 99, 102.5, 0)])  # the venue's history for it
    store.record_candles(BTC, [c(H0, 100, 105, 99, 102.5, 0)])  # fetched again after a gap
    assert store.flush()
    assert store.candles(BTC, MINUTE_S, 0) == [c(H0, 100, 106, 99, 102.5, 7)]
    assert store.candles(BTC, HOUR_S, 0) == [c(H0, 100, 106, 99, 102.5, 7)]
    store.close()


def test_old_minutes_are_pruned_and_hours_kept(tmp_path: Path) -> None:
    store = opened(tmp_path / "db.sqlite3")
    old, recent = H0, H0 + MINUTE_RETENTION_S + HOUR_S
    store.record_candles(BTC, [c(old, 1, 1, 1, 1), c(recent, 2, 2, 2, 2)])
    store.prune(now=recent + 60)
    assert store.flush()
    assert [x.start for x in store.candles(BTC, MINUTE_S, 0)] == [recent]
    assert [x.start for x in store.candles(BTC, HOUR_S, 0)] == [old, recent]
    store.close()


def test_past_the_size_cap_the_oldest_minutes_go_first(tmp_path: Path) -> None:
    store = opened(tmp_path / "db.sqlite3")
    minutes = [c(H0 + i * 60, 100 + i, 101 + i, 99 + i, 100 + i) for i in range(30_000)]
    store.record_candles(BTC, minutes)
    assert store.flush(30)
    store.prune(now=H0 + 30_000 * 60, max_bytes=1_000_000)
    assert store.flush(30)
    kept = store.candles(BTC, MINUTE_S, 0)
    assert 0 < len(kept) < 30_000
    assert kept[-1].start == minutes[-1].start  # the newest stay
    assert [x.start for x in kept] == [m.start for m in minutes[-len(kept) :]]
    assert len(store.candles(BTC, HOUR_S, 0)) == 500  # every hour kept
    store.close()


def test_a_version_1_file_gains_candles_and_keeps_its_alerts(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(store_mod._MIGRATIONS[0])  # the released version 1: alerts only
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    store = opened(db)
    rule = MoveRule(pct=2.0)
    store.record_alert(Alert(BTC, rule, MoveDirection.UP, 2.5, 100.0, 102.5, 300.0, 5.0), paused=False)
    store.record_candles(BTC, [c(H0, 1, 1, 1, 1)])
    assert store.flush()
    assert [a.alert.at for a in store.recent_alerts()] == [5.0]
    assert store.candles(BTC, MINUTE_S, 0) == [c(H0, 1, 1, 1, 1)]
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_store_without_a_file_reads_no_candles() -> None:
    store = opened(None)  # type: ignore[arg-type]
    store.record_candles(BTC, [c(H0, 1, 1, 1, 1)])
    assert store.flush()
    assert store.candles(BTC, MINUTE_S, 0) == []
    store.close()
