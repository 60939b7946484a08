"""`ccdesk history pairs` and `ccdesk history export` as a user runs them: real processes on a real
SQLite file (the app's data folder, or --db), while a writer holds the file, and on a corrupt file,
a missing one and an output that cannot be written (exit codes, plain words, never a traceback)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.candles import Candle
from ccdesk.core.delivery import Delivery, DeliveryChannel
from ccdesk.core.export import ALERT_HEADER, CANDLE_HEADER
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import FILE_NAME, Store

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
OKX_ETH = parse_pair("okx:ETH-USDT")
H0 = 1_764_738_000  # 2025-12-03T05:00:00Z


def run(*args: str, cwd: Path, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    env.update(CCDESK_APP_NAME="ccdesk-test", XDG_DATA_HOME=str(data or cwd / "nodata"))
    result = subprocess.run(
        [sys.executable, "-m", "ccdesk", "history", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    return result


def fill(path: Path, minutes: int = 90) -> None:
    store = Store.open(path)
    assert store.ready.wait(5)
    store.record_candles(
        KRAKEN_BTC,
        [Candle(H0 + i * 60, 91000 + i, 91000.5 + i, 90999 + i, 91000.25 + i, 3) for i in range(minutes)],
    )
    store.record_candles(OKX_ETH, [Candle(H0, 3000.5, 3001, 3000, 3000.75, 2)])
    alert = Alert(
        KRAKEN_BTC,
        MoveRule(pct=2.0, window_s=300.0),
        MoveDirection.UP,
        2.2,
        90000.0,
        91980.0,
        300.0,
        H0 + 30.0,
    )
    store.record_alert(alert, paused=False)
    store.record_delivery(Delivery(alert, DeliveryChannel.DESKTOP))
    assert store.flush()
    store.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """An XDG_DATA_HOME whose app data folder holds a filled store."""
    root = tmp_path / "xdg"
    fill(root / "ccdesk" / "ccdesk-test" / FILE_NAME)
    return root


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_pairs_lists_what_the_app_data_folder_holds(tmp_path: Path, data: Path) -> None:
    r = run("pairs", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr
    assert "kraken:BTC-USD  (BTC/USD · Kraken)" in r.stdout
    assert "minute      90 candles, 2025-12-03 05:00 to 2025-12-03 06:29 UTC" in r.stdout
    assert "hour         2 candles" in r.stdout
    assert "okx:ETH-USDT  (ETH/USDT · OKX)" in r.stdout
    got = json.loads(run("pairs", "--format", "json", cwd=tmp_path, data=data).stdout)
    assert {(x["pair"], x["period"], x["candles"]) for x in got} == {
        ("kraken:BTC-USD", "minute", 90),
        ("kraken:BTC-USD", "hour", 2),
        ("okx:ETH-USDT", "minute", 1),
        ("okx:ETH-USDT", "hour", 1),
    }


def test_export_a_pair_to_a_file_named_for_it(tmp_path: Path, data: Path) -> None:
    r = run("export", "--pair", "BTC-USD", cwd=tmp_path, data=data)  # a bare pair is Kraken's
    assert r.returncode == 0, r.stderr
    (out,) = tmp_path.glob("ccdesk-kraken-BTC-USD-minute-*.csv")
    assert r.stdout.strip() == f"Wrote 90 rows to {out.name}"
    rows = rows_of(out.read_text(encoding="utf-8"))
    assert rows[0] == list(CANDLE_HEADER)
    assert rows[1] == [
        "2025-12-03T05:00:00Z",
        str(H0),
        "91000",
        "91000.5",
        "90999",
        "91000.25",
        "3",
        "kraken:BTC-USD",
    ]
    assert len(rows) == 91


def test_export_hours_since_a_time_to_stdout(tmp_path: Path, data: Path) -> None:
    r = run(
        "export", "--pair", "kraken:BTC-USD", "--period", "hour", "--since", "2025-12-03T06:00Z",
        "--out", "-", cwd=tmp_path, data=data,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = rows_of(r.stdout)
    assert rows == [
        list(CANDLE_HEADER),
        [
            "2025-12-03T06:00:00Z",
            str(H0 + 3600),
            "91060",
            "91089.5",
            "91059",
            "91089.25",
            "90",
            "kraken:BTC-USD",
        ],
    ]
    assert r.stderr.strip() == "1 row"


def test_export_the_alert_history_with_words(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "alerts.csv"
    r = run("export", "--alerts", "--out", str(out), cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr
    header, row = rows_of(out.read_text(encoding="utf-8"))
    got = dict(zip(header, row, strict=True))
    assert header == list(ALERT_HEADER)
    assert got["rule"] == "All pairs: up or down 2 % within 5 min (then quiet 10 min)"
    assert (got["pair"], got["direction"], got["change_pct"], got["to_price"]) == (
        "kraken:BTC-USD",
        "up",
        "2.2",
        "91980",
    )
    assert (got["delivered"], got["channel"]) == ("notified", "desktop")


def test_export_works_while_the_app_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    fill(db, minutes=10)
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the app's writer, mid-transaction, holding the write lock
        writer.execute("INSERT INTO candles VALUES ('kraken:BTC-USD', 60, ?, 1, 1, 1, 1, 1)", (H0 + 600,))
        r = run("export", "--pair", "kraken:BTC-USD", "--db", str(db), "--out", "-", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert len(rows_of(r.stdout)) == 11  # what is committed, not the open transaction
        writer.execute("COMMIT")
    finally:
        writer.close()
    r = run("export", "--pair", "kraken:BTC-USD", "--db", str(db), "--out", "-", cwd=tmp_path)
    assert len(rows_of(r.stdout)) == 12


def test_no_store_yet_exits_5_and_writes_nothing(tmp_path: Path) -> None:
    r = run("export", "--pair", "kraken:BTC-USD", cwd=tmp_path)
    assert r.returncode == 5
    assert r.stderr.startswith("ccdesk: no price history yet: ")
    assert "ccdesk-test/ccdesk.sqlite3 does not exist" in r.stderr
    assert not list(tmp_path.glob("*.csv"))
    assert run("pairs", cwd=tmp_path).returncode == 5


def test_a_pair_not_stored_exits_5_and_a_pair_typed_wrong_exits_2(tmp_path: Path, data: Path) -> None:
    r = run("export", "--pair", "binance:BTC-USDT", cwd=tmp_path, data=data)
    assert r.returncode == 5
    assert "no prices of BTC/USDT · Binance (binance:BTC-USDT) are stored; `ccdesk history pairs`" in r.stderr
    r = run("export", "--pair", "krakn:BTC-USD", cwd=tmp_path, data=data)
    assert r.returncode == 2
    assert r.stderr.startswith("ccdesk: --pair: 'krakn' is not a source; the sources are kraken,")
    r = run("export", "--pair", "BTCUSD", cwd=tmp_path, data=data)
    assert r.returncode == 2
    assert "'BTCUSD' is not a pair: write BASE-QUOTE (BTC-USD)" in r.stderr
    r = run("export", "--alerts", "--since", "last week", cwd=tmp_path, data=data)
    assert (r.returncode, "is not a date or time" in r.stderr) == (2, True)
    assert not list(tmp_path.glob("*.csv"))


def test_an_output_that_cannot_be_written_exits_1_and_leaves_nothing(tmp_path: Path, data: Path) -> None:
    r = run(
        "export", "--pair", "kraken:BTC-USD", "--out", str(tmp_path / "no" / "x.csv"), cwd=tmp_path, data=data
    )
    assert r.returncode == 1
    where = tmp_path / "no" / "x.csv"
    assert r.stderr == f"ccdesk: cannot write {where}: No such file or directory; nothing was written\n"
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    r = run("export", "--alerts", "--out", str(folder), cwd=tmp_path, data=data)
    assert r.returncode == 1
    assert "Is a directory; nothing was written" in r.stderr
    assert list(folder.iterdir()) == []
    assert not [p for p in tmp_path.rglob("*.part")]


def test_a_corrupt_database_exits_1_in_words_and_is_left_as_it_was(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"\x00garbage" * 4096)
    for args in (("pairs",), ("export", "--pair", "kraken:BTC-USD"), ("export", "--alerts")):
        r = run(*args, "--db", str(junk), cwd=tmp_path)
        assert r.returncode == 1, args
        assert r.stderr.startswith("ccdesk: the history database cannot be read (file is not a database)")
    assert junk.read_bytes() == b"\x00garbage" * 4096
    # A real database with damaged pages in the middle of its candles.
    db = tmp_path / "damaged.sqlite3"
    fill(db, minutes=20_000)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size // 3)
        f.write(random.Random(7).randbytes(size // 3))
    out = tmp_path / "prices.csv"
    out.write_text("the previous export\n")
    r = run("export", "--pair", "kraken:BTC-USD", "--db", str(db), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("ccdesk: the history database cannot be read (")
    assert "moves a damaged file aside" in r.stderr
    assert out.read_text() == "the previous export\n"
    assert not [p for p in tmp_path.rglob("*.part")]


def test_days_and_since_limit_the_rows(tmp_path: Path, data: Path) -> None:
    r = run("export", "--pair", "kraken:BTC-USD", "--days", "1", "--out", "-", cwd=tmp_path, data=data)
    assert (r.returncode, r.stdout) == (5, "")
    assert r.stderr.startswith(
        "ccdesk: nothing to export: no minute prices of BTC/USD · Kraken (kraken:BTC-USD)"
    )
    r = run("export", "--pair", "kraken:BTC-USD", "--days", "100000", "--out", "-", cwd=tmp_path, data=data)
    assert len(rows_of(r.stdout)) == 91
    r = run("export", "--alerts", "--since", "2025-12-03T05:00:31", "--out", "-", cwd=tmp_path, data=data)
    assert (r.returncode, r.stdout) == (5, "")  # the alert came at 05:00:30
    r = run(
        "export", "--alerts", "--since", "2025-12-03T06:00:30+01:00", "--out", "-", cwd=tmp_path, data=data
    )
    assert len(rows_of(r.stdout)) == 2


def test_no_rows_in_the_range_exits_5_and_leaves_no_file(tmp_path: Path, data: Path) -> None:
    r = run("export", "--pair", "kraken:BTC-USD", "--since", "2030-01-01", cwd=tmp_path, data=data)
    assert (r.returncode, r.stdout) == (5, "")
    assert r.stderr == (
        "ccdesk: nothing to export: no minute prices of BTC/USD · Kraken (kraken:BTC-USD) are stored"
        " since 2030-01-01 00:00 UTC; nothing was written\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xdg"]  # no CSV, no temporary file
    kept = tmp_path / "prices.csv"
    kept.write_text("the previous export\n")
    r = run(
        "export", "--pair", "kraken:BTC-USD", "--period", "hour", "--since", "2030-01-01T08:30:15Z",
        "--out", str(kept), cwd=tmp_path, data=data,
    )  # fmt: skip
    assert r.returncode == 5
    assert "no hour prices of BTC/USD · Kraken (kraken:BTC-USD) are stored since 2030-01-01 08:30:15 UTC" in (
        r.stderr
    )
    assert kept.read_text() == "the previous export\n"  # not replaced by a header-only file
    assert not list(tmp_path.rglob("*.part"))


def test_no_rows_to_stdout_writes_nothing_at_all_and_exits_5(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()  # a 0-byte file: SQLite reads it as a database with nothing in it
    r = run("export", "--alerts", "--out", "-", "--db", str(empty), cwd=tmp_path)
    assert (r.returncode, r.stdout) == (5, "")
    assert r.stderr == "ccdesk: nothing to export: no alerts are kept; nothing was written\n"
    r = run("export", "--alerts", "--db", str(empty), cwd=tmp_path)
    assert (r.returncode, r.stdout) == (5, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]
    assert empty.read_bytes() == b""


def test_a_folder_as_db_says_it_is_a_folder_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "somedir"
    folder.mkdir()
    for args in (("pairs",), ("export", "--pair", "kraken:BTC-USD"), ("export", "--alerts", "--out", "-")):
        r = run(*args, "--db", str(folder), cwd=tmp_path)
        assert (r.returncode, r.stdout) == (1, ""), args
        assert r.stderr == (
            f"ccdesk: {folder} is a folder, not a history database file"
            " (give the database file itself, ccdesk.sqlite3)\n"
        )
        assert "does not exist" not in r.stderr
    assert list(folder.iterdir()) == []
    assert not list(tmp_path.glob("*.csv"))
