"""kill -9 during writes, in a real child process: every committed alert is there, the file is sound,
and what was written is a prefix of what was queued (one writer commits in order)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import Store

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
    from ccdesk.core.store import Store
    from ccdesk.core.pairs import parse_pair

    store = Store.open(Path(sys.argv[1]))
    store.ready.wait(5)
    rule, btc = MoveRule(pct=2.0), parse_pair("BTC-USD")
    for i in range(1_000_000):
        store.record_alert(
            Alert(btc, rule, MoveDirection.UP, 2.0, 100.0, 102.0, 300.0, float(i), id=f"a{i:07d}"),
            paused=False,
        )
        if i % 20 == 19:
            assert store.flush(30)  # timed out: what it prints next would not be known committed
            print(i, flush=True)  # every alert up to i is committed
    """
)


def test_kill_9_during_writes_loses_no_committed_alert(tmp_path: Path) -> None:
    db = tmp_path / "ccdesk.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert child.stdout is not None
    committed = -1
    try:
        for line in child.stdout:
            committed = int(line)
            if committed >= 400:
                break
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: it keeps writing until this moment
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    assert committed >= 400
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [row[0] for row in conn.execute("SELECT id FROM alerts ORDER BY at")]
    conn.close()
    assert len(ids) > committed
    assert ids == [f"a{i:07d}" for i in range(len(ids))]  # a prefix: no gap, nothing out of order
    # And the app opens it as usual.
    store = Store.open(db)
    assert store.ready.wait(5)
    assert store.status is None
    assert len(store.recent_alerts(limit=100_000)) == len(ids)
    store.close()


CANDLE_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ccdesk.core.candle_feed import CandleFeed
    from ccdesk.core.pairs import parse_pair
    from ccdesk.core.store import Store

    class Clock:  # simulated time: 20 prices a second, as fast as the machine goes
        t = 1_700_000_040.0
        def time(self):
            return self.t
        def monotonic(self):
            return self.t

    store = Store.open(Path(sys.argv[1]))
    store.ready.wait(5)
    clock, btc = Clock(), parse_pair("kraken:BTC-USD")
    feed = CandleFeed(store.record_candles, clock, save_every_s=5.0)
    for i in range(10_000_000):
        feed.on_price(btc, 100.0 + (i % 50) * 0.01)
        clock.t += 0.05
        if i % 100 == 99:
            assert store.flush(30)
            print(i + 1, flush=True)  # prices fed so far; what was handed over is committed
    """
)


def test_kill_9_while_candles_are_kept_loses_at_most_the_last_seconds(tmp_path: Path) -> None:
    db = tmp_path / "ccdesk.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CANDLE_CHILD, str(db)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert child.stdout is not None
    fed = 0
    try:
        for line in child.stdout:
            fed = int(line)
            if fed >= 12_000:  # ten simulated minutes
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    assert fed >= 12_000
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = Store.open(db)
    try:
        assert store.ready.wait(5)
        minutes = store.candles(parse_pair("kraken:BTC-USD"), 60, 0)
        kept = sum(c.count for c in minutes)
        # Everything but the open minute's last save interval (5 s = 100 prices) was committed.
        assert kept >= fed - 100 - 1
        starts = [c.start for c in minutes]
        assert starts == sorted(set(starts))
        assert starts == list(range(starts[0], starts[-1] + 60, 60))  # no minute missing
    finally:
        store.close()
