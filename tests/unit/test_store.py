"""The local store on a real SQLite file: round trips, reopening, a corrupt file, an unwritable folder,
a full database, a newer schema, retention, and where the file lives."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import ccdesk.core.store as store_mod
from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.store import SCHEMA_VERSION, Store, StoreProblem, StoreStatus, data_dir
from tests.pairs import BTC, ETH_COINBASE

MOVE = MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.EITHER, cooldown_s=900.0)
LEVEL = LevelRule(level=95_000.0, above=True, sub=BTC)


def alert(at: float, sub=BTC, rule=MOVE, **kw) -> Alert:
    return Alert(sub, rule, MoveDirection.UP, 2.5, 100.0, 102.5, 300.0, at, elapsed_s=42.0, **kw)


def opened(path: Path | None, problems: list | None = None) -> Store:
    store = Store.open(path, on_problem=None if problems is None else problems.append)
    assert store.ready.wait(5)
    return store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ccdesk.sqlite3"


def test_alerts_and_their_deliveries_round_trip_and_survive_a_reopen(db: Path):
    store = opened(db)
    moved = alert(1_700_000_000.0)
    level = alert(1_700_000_060.0, rule=LEVEL, level=95_000.0)
    paused = alert(1_700_000_120.0, sub=ETH_COINBASE)
    store.record_alert(moved, paused=False)
    store.record_alert(level, paused=False)
    store.record_alert(paused, paused=True)
    hook = WebhookResult(
        ok=False, http_status=500, failure=WebhookFailure.HTTP_ERROR, host="h:1", reason="Oops"
    )
    store.record_delivery(Delivery(moved, DeliveryChannel.DESKTOP, hook))
    store.record_delivery(Delivery(level, DeliveryChannel.TRAY, None, NotShownReason.NO_BACKEND, "x"))
    assert store.flush()
    store.close()
    again = opened(db)
    got = again.recent_alerts()
    assert [(s.alert, s.alert.id, s.paused) for s in got] == [
        (paused, paused.id, True),
        (level, level.id, False),
        (moved, moved.id, False),
    ]
    assert got[0].delivery is None
    assert got[1].delivery == Delivery(level, DeliveryChannel.TRAY, None, NotShownReason.NO_BACKEND, "x")
    assert got[2].delivery == Delivery(moved, DeliveryChannel.DESKTOP, hook)
    assert again.status is None
    again.close()


def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_used(db: Path):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    problems: list[StoreStatus] = []
    store = opened(db, problems)
    assert store.status is not None
    assert store.status.problem is StoreProblem.MOVED_ASIDE
    assert problems == [store.status]
    kept = Path(store.status.detail)
    assert kept.name.startswith("ccdesk.sqlite3.unreadable-")
    assert kept.read_bytes() == b"this is not a database" * 100  # kept, never deleted
    store.record_alert(alert(1.0), paused=False)
    assert store.flush()
    assert [s.alert.at for s in store.recent_alerts()] == [1.0]
    store.close()


def test_an_unwritable_folder_is_reported_and_nothing_raises(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    problems: list[StoreStatus] = []
    store = opened(blocker / "data" / "ccdesk.sqlite3", problems)  # a folder under a file: as root too
    assert store.status is not None
    assert store.status.problem is StoreProblem.UNWRITABLE
    assert problems == [store.status]
    store.record_alert(alert(1.0), paused=False)
    assert store.flush()
    assert store.recent_alerts() == []
    store.close()


def test_a_full_disk_is_reported_once_and_what_was_kept_stays(db: Path):
    problems: list[StoreStatus] = []
    store = opened(db, problems)
    store.record_alert(alert(1.0), paused=False)
    assert store.flush()
    # SQLite's own "database or disk is full" (SQLITE_FULL), without filling a real disk.
    pages = {}

    def cap(conn: sqlite3.Connection) -> None:
        pages["n"] = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages['n']}")

    store._submit(cap)
    for i in range(200):
        store.record_alert(alert(10.0 + i, id=f"big-{i}-" + "x" * 2000), paused=False)
    assert store.flush()
    assert [p.problem for p in problems] == [StoreProblem.UNWRITABLE]
    assert "full" in problems[0].detail
    assert 1.0 in [s.alert.at for s in store.recent_alerts(1000)]
    store.close()


def test_a_bug_in_one_write_is_reported_and_the_writer_lives_on(db: Path):
    problems: list[StoreStatus] = []
    store = opened(db, problems)

    def bug(_conn: sqlite3.Connection) -> None:
        raise ValueError("a bug in one job")

    store._submit(bug)
    store.record_alert(alert(2.0), paused=False)
    assert store.flush(10.0)  # the writer thread took the next job: it did not die
    assert [s.alert.at for s in store.recent_alerts(10)] == [2.0]
    assert [p.problem for p in problems] == [StoreProblem.UNWRITABLE]
    store.close()


def test_a_file_from_a_newer_ccdesk_is_left_alone(db: Path):
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    store = opened(db)
    assert store.status is not None
    assert store.status.problem is StoreProblem.NEWER_SCHEMA
    store.record_alert(alert(1.0), paused=False)
    assert store.flush()
    store.close()
    assert db.read_bytes() == before


def test_an_empty_file_is_migrated_to_the_current_schema(db: Path):
    db.parent.mkdir(parents=True)
    sqlite3.connect(db).close()
    store = opened(db)
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_retention_keeps_the_newest_alerts(db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(store_mod, "MAX_ALERTS", 5)
    store = opened(db)
    for i in range(12):
        store.record_alert(alert(float(i)), paused=False)
    assert store.flush()
    assert [s.alert.at for s in store.recent_alerts()] == [11.0, 10.0, 9.0, 8.0, 7.0]
    store.close()


def test_writes_never_run_on_the_callers_thread(db: Path):
    store = opened(db)
    threads: list[str] = []
    store._submit(lambda _c: threads.append(threading.current_thread().name))
    assert store.flush()
    assert threads == ["ccdesk-store"]
    store.close()


def test_the_data_folder_follows_the_platform_and_honours_xdg_data_home():
    env = {"HOME": "/home/u", "CCDESK_APP_NAME": "ccdesk-test"}
    assert data_dir(env, "linux") == Path("/home/u/.local/share/ccdesk/ccdesk-test")
    assert data_dir({**env, "XDG_DATA_HOME": "/x"}, "linux") == Path("/x/ccdesk/ccdesk-test")
    assert data_dir({"HOME": "/Users/u"}, "darwin") == Path(
        "/Users/u/Library/Application Support/ccdesk/ccdesk"
    )
    assert data_dir({"APPDATA": "C:/Users/u/AppData/Roaming"}, "win32") == Path(
        "C:/Users/u/AppData/Roaming/ccdesk/ccdesk"
    )
