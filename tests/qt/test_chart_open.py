"""The chart opened from the real window (double-click, "Chart…") over a real store file, with the
real controller, stream thread and simulator (offscreen)."""

from __future__ import annotations

import math
import time

import pytest
from PySide6.QtCore import Qt

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule
from ccdesk.core.candles import MINUTE_S, Candle, period_start
from ccdesk.core.settings import Settings
from ccdesk.core.store import Store
from ccdesk.qt.quote_model import QuoteTableModel
from tests.pairs import BTC, ETH
from tests.qt.test_controller import Harness


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=50.0, seed=5)


def fill_store(path, now: float) -> None:
    store = Store.open(path)
    try:
        first = period_start(now, MINUTE_S) - 1440 * MINUTE_S
        candles = []
        for i in range(1440 - 3):
            p = 60_000 + 800 * math.sin(i / 90)
            candles.append(Candle(first + i * MINUTE_S, p, p + 15, p - 15, p + 3, 2))
        store.record_candles(BTC, candles)
        rule = MoveRule(2.0, sub=BTC)
        store.record_alert(
            Alert(BTC, rule, MoveDirection.UP, 2.0, 59_000.0, 60_200.0, 300.0, now - 7200), paused=False
        )
        assert store.flush()
    finally:
        store.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # offscreen cannot raise a window
def test_a_double_click_opens_the_pairs_chart_from_the_store_and_it_follows_live_prices(qtbot, sim, tmp_path):
    path = tmp_path / "history.sqlite3"
    fill_store(path, time.time())
    settings = Settings(
        watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=(LevelRule(61_000.0, above=True, sub=BTC),)
    )
    h = Harness(qtbot, tmp_path, sim=sim, settings=settings, store_path=path)
    try:
        h.controller.start()
        qtbot.waitUntil(lambda: BTC in h.live_rows(), timeout=5000)
        assert h.window.select_pair(BTC)
        index = h.window.table.currentIndex().siblingAtColumn(QuoteTableModel.PRICE)
        pos = h.window.table.visualRect(index).center()
        with qtbot.waitSignal(h.window.chart_requested, timeout=2000) as requested:
            # QTest's double-click carries no press of its own: the view wants one on the same row.
            qtbot.mousePress(h.window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
            qtbot.mouseDClick(h.window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        assert requested.args == [BTC]
        chart = h.controller.charts[BTC]
        qtbot.waitUntil(chart.loaded, timeout=5000)
        assert chart.isVisible()
        assert chart.windowTitle().startswith("BTC/USD")
        points = chart.line_points()
        assert len(points) > 200  # the stored day, decimated
        assert len(chart.marker_points()) == 1
        assert chart.marker_points()[0][1] == 60_200.0
        assert chart.level_lines() == [61_000.0]
        # Live prices join the last minute (the simulator's, not the stored ones).
        last_t = points[-1][0]
        qtbot.waitUntil(lambda: chart.line_points()[-1][0] > last_t + 60, timeout=5000)
        # "Chart…" on the same row raises the same window: one per pair.
        h.window.chart_action.trigger()
        assert h.controller.charts[BTC] is chart
        assert len(h.controller.charts) == 1
        chart.close()
        assert BTC not in h.controller.charts
    finally:
        h.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_the_charts_cost_line_follows_the_pairs_holding(qtbot, sim, tmp_path):
    from ccdesk.core.holdings import Holding

    settings = Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=())
    h = Harness(qtbot, tmp_path, sim=sim, settings=settings, store_path=tmp_path / "h.sqlite3")
    try:
        h.controller.start()
        h.controller.portfolio.set_holding(Holding(BTC, 0.5, 30_000.0))
        chart = h.controller.open_chart(BTC)
        assert chart.cost_basis() == 60_000.0  # the cost per unit: what was paid / how much is held
        h.controller.portfolio.set_holding(Holding(BTC, 2.0, 30_000.0))
        assert chart.cost_basis() == 15_000.0
        h.controller.portfolio.remove_holding(BTC)
        assert chart.cost_basis() is None
        other = h.controller.open_chart(ETH)
        assert other.cost_basis() is None
    finally:
        h.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_an_open_chart_shows_a_backfill_as_soon_as_it_is_stored(qtbot, sim, tmp_path):
    from tests.qt.test_controller import KRAKEN_BTC

    env = {"CCDESK_KRAKEN_URL": sim.url("kraken"), "CCDESK_KRAKEN_REST_URL": sim.rest_url}
    settings = Settings(watchlist=(KRAKEN_BTC,), rules=())
    h = Harness(qtbot, tmp_path, sim=sim, settings=settings, env=env, store_path=tmp_path / "h.sqlite3")
    try:
        # Opened before the store is even open: the chart has nothing to read but live prices.
        chart = h.controller.open_chart(KRAKEN_BTC)
        qtbot.waitUntil(chart.loaded, timeout=5000)
        assert chart.line_points() == []
        filled: list[tuple] = []
        h.controller.memory.history_changed.connect(filled.append)
        h.controller.start()
        qtbot.waitUntil(lambda: bool(filled), timeout=20000)  # Kraken's 720 minutes, written

        # The chart re-reads the store: the backfilled day's hours are drawn, not only the live minute.
        def span_h() -> float:
            points = chart.line_points()
            return (points[-1][0] - points[0][0]) / 3600 if points else 0.0

        qtbot.waitUntil(lambda: span_h() > 6, timeout=5000)
        assert len(chart.line_points()) > 200
    finally:
        h.close()
