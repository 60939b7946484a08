"""Holdings in the local store, on a real SQLite file: kept, replaced, removed, back after a restart,
bad rows skipped without a quantity in the log, and a version-2 file migrated with its alerts and
candles kept."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

import ccdesk.core.store as store_mod
from ccdesk.core.candles import MINUTE_S, Candle
from ccdesk.core.holdings import Holding
from ccdesk.core.store import SCHEMA_VERSION, Store
from tests.pairs import BTC, ETH, ETH_COINBASE

H0 = 1_700_002_800


def opened(path: Path | None) -> Store:
    store = Store.open(path)
    assert store.ready.wait(5)
    return store


def test_holdings_are_kept_replaced_removed_and_back_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    store = opened(db)
    store.set_holding(Holding(BTC, 0.5, 30_000.0))
    store.set_holding(Holding(ETH, 2.0))
    store.set_holding(Holding(ETH_COINBASE, 1.0, 2_000.0))
    store.set_holding(Holding(BTC, 0.75, 45_000.0))  # replaces BTC's
    store.remove_holding(ETH_COINBASE)
    store.remove_holding(ETH_COINBASE)  # again: nothing happens
    assert store.flush()
    expected = {Holding(BTC, 0.75, 45_000.0), Holding(ETH, 2.0, None)}
    assert set(store.holdings()) == expected
    store.close()
    again = opened(db)
    assert set(again.holdings()) == expected
    again.close()


def test_a_version_2_file_gains_holdings_and_keeps_its_alerts_and_candles(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(db)
    for script in store_mod._MIGRATIONS[:2]:  # the released version 2: alerts and candles
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO alerts (id, at, sub, rule, direction, change_pct, from_price, to_price, window_s,"
        " elapsed_s, paused) VALUES ('a1', 5.0, ?, ?, 'up', 2.5, 100.0, 102.5, 300.0, 5.0, 0)",
        (str(BTC), '{"kind": "move", "pct": 2.0}'),
    )
    conn.execute("INSERT INTO candles VALUES (?, ?, ?, 1, 2, 0.5, 1.5, 3)", (str(BTC), MINUTE_S, H0))
    conn.commit()
    conn.close()
    store = opened(db)
    store.set_holding(Holding(BTC, 1.0, 10.0))
    assert store.flush()
    assert store.candles(BTC, MINUTE_S, 0) == [Candle(H0, 1, 2, 0.5, 1.5, 3)]
    assert [a.alert.id for a in store.recent_alerts()] == ["a1"]
    assert store.holdings() == [Holding(BTC, 1.0, 10.0)]
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    conn.close()


def test_a_row_that_cannot_be_read_is_skipped_and_its_quantity_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "db.sqlite3"
    store = opened(db)
    store.set_holding(Holding(BTC, 1.0))
    assert store.flush()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO holdings VALUES ('no such pair', 123.456, NULL)")
    conn.execute("INSERT INTO holdings VALUES (?, -987.654, NULL)", (str(ETH),))
    conn.commit()
    conn.close()
    with caplog.at_level(logging.DEBUG):
        assert store.holdings() == [Holding(BTC, 1.0)]
    assert "skipped a holding" in caplog.text
    assert "123.456" not in caplog.text
    assert "987.654" not in caplog.text
    store.close()


def test_a_store_without_a_file_has_no_holdings() -> None:
    store = opened(None)
    store.set_holding(Holding(BTC, 1.0))
    assert store.flush()
    assert store.holdings() == []
    store.close()
