"""History in the real app on Xvfb: the app backfills its store from the venue's history (the
simulator playing Kraken, REST and stream), a holding kept in the store shows its value and profit
in the window, and the pair's chart opens from the keyboard with that history and the cost line.
Screenshots of both, looked at, are the README's."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from ccdesk.core.holdings import Holding
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import FILE_NAME, Store, data_dir
from tests.desktop import keys, screenshot, wait_for_window
from tests.e2e.test_desktop import SHOTS, RunningApp, write_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(200)]
BTC = parse_pair("kraken:BTC-USD")


def stored_candles(path: Path, period_s: int) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM candles WHERE sub = ? AND period = ?", (str(BTC), period_s)
            ).fetchone()[0]
        )
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def test_backfilled_history_a_holding_and_the_chart_in_the_real_app(desktop, make_sim):
    env = dict(desktop)
    sim = make_sim(rate=20.0, seed=11)
    env["CCDESK_KRAKEN_URL"] = sim.url("kraken")
    env["CCDESK_KRAKEN_REST_URL"] = sim.rest_url  # the history of the same (simulated) venue
    write_settings(env, {"source": "kraken"})  # a returning user: no welcome
    path = data_dir(env) / FILE_NAME
    store = Store.open(path)  # a holding kept from an earlier run
    assert store.ready.wait(10)
    store.set_holding(Holding(BTC, 0.5, 30_000.0))
    assert store.flush()
    store.close()

    app = RunningApp(env)
    try:
        wid = app.window()
        app.wait_title(wid, "ccdesk — BTC/USD ", timeout_s=20)
        deadline = time.monotonic() + 60
        # Kraken serves its 720 latest minutes, then its 720 latest hours (30 days).
        while stored_candles(path, 3600) < 700 and time.monotonic() < deadline:
            assert app.proc.poll() is None, app.log.read_text()
            time.sleep(0.5)
        assert stored_candles(path, 60) >= 700, app.log.read_text()
        assert stored_candles(path, 3600) >= 700, app.log.read_text()
        assert any(h.path.startswith("/0/public/OHLC") for h in sim.history_hits)
        time.sleep(2.0)  # the sparklines seeded from the store, a few live prices
        screenshot(env, SHOTS / "holdings-e2e.png", wid)
        # A double-click on the first row (BTC, 77 px down: menu bar, tabs, header) opens its chart.
        subprocess.run(
            [
                "xdotool",
                "mousemove",
                "--window",
                wid,
                "200",
                "77",
                "click",
                "--repeat",
                "2",
                "--delay",
                "80",
                "1",
            ],
            env=env,
            check=True,
            timeout=10,
        )
        chart = wait_for_window(env, ["--name", "BTC/USD · Kraken · ccdesk chart"], timeout_s=20)
        time.sleep(2.0)  # the read job, the first paint and a live repaint
        screenshot(env, SHOTS / "chart-e2e.png", chart)
        # 30 days: the venue's hours were backfilled too, so the month is there on the first day.
        # A click on its "30 d" button (the fourth, 303 px in).
        click = ["xdotool", "mousemove", "--window", chart, "303", "16", "click", "1"]
        subprocess.run(click, env=env, check=True, timeout=10)
        time.sleep(2.0)  # the read job and the repaint
        screenshot(env, SHOTS / "chart-30d-e2e.png", chart)
        keys(env, chart, "Escape")
        time.sleep(0.5)
    finally:
        code = app.stop()
    log = app.log.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert "backfill kraken:BTC-USD minutes: done" in log, log
    assert "backfill kraken:BTC-USD hours: done" in log, log
    # Every pair's minutes (the sparklines, the 24 h chart) before any pair's hours.
    kinds = re.findall(r"ccdesk\.core\.backfill: backfill \S+ (minutes|hours):", log)
    assert kinds.count("minutes") >= 5, log
    assert kinds == sorted(kinds, key=lambda kind: kind == "hours"), kinds
