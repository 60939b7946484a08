"""Store.alerts_for: one pair's alerts since a time, for the chart's markers (a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.store import Store
from tests.pairs import BTC, ETH_COINBASE


def alert(sub, at: float, price: float) -> Alert:
    return Alert(sub, MoveRule(2.0, sub=sub), MoveDirection.UP, 2.0, price / 1.02, price, 300.0, at)


def test_alerts_for_one_pair_since_a_time_oldest_first(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    try:
        for at, price in ((300.0, 3.0), (100.0, 1.0), (200.0, 2.0)):
            store.record_alert(alert(BTC, at, price), paused=False)
        store.record_alert(alert(ETH_COINBASE, 250.0, 9.0), paused=True)
        assert store.flush()
        got = store.alerts_for(BTC, 150.0)
        assert [(a.at, a.to_price, a.sub) for a in got] == [(200.0, 2.0, BTC), (300.0, 3.0, BTC)]
        assert [a.to_price for a in store.alerts_for(ETH_COINBASE, 0)] == [9.0]
        assert [a.at for a in store.alerts_for(BTC, 0, limit=2)] == [200.0, 300.0]  # the newest 2
    finally:
        store.close()


def test_no_store_file_reads_as_no_alerts(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = Store.open(blocker / "sub" / "s.sqlite3")
    try:
        assert store.alerts_for(BTC, 0, timeout_s=2.0) == []
    finally:
        store.close()
