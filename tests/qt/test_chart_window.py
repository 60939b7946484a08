"""The chart window: ranges, views, crosshair, markers, level lines, live prices, empty state."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule, Rule
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.chart_data import ChartRange, crosshair_time
from ccdesk.core.formatting import format_price
from ccdesk.core.pairs import Pair, parse_pair
from ccdesk.core.quotes import Quote
from ccdesk.qt.chart_window import ChartWindow
from ccdesk.qt.jobs import BackgroundJobs
from tests.fakes import FakeClock

BTC = parse_pair("kraken:BTC-USD")
ETH = parse_pair("kraken:ETH-USD")
NOW = 1_764_000_000.0  # a minute boundary


def minutes(n: int, end: float = NOW, skip: range = range(0)) -> list[Candle]:
    """``n`` minute candles up to ``end``: a slow sine around 60,000, minutes in ``skip`` missing."""
    first = int(end) - n * MINUTE_S
    out = []
    for i in range(n):
        if i in skip:
            continue
        p = 60_000 + 1_000 * math.sin(i / 200)
        out.append(Candle(first + i * MINUTE_S, p, p + 20, p - 20, p + 5, 3))
    return out


class FakeStore:
    def __init__(self, candles: list[Candle], alerts: tuple[Alert, ...] = ()) -> None:
        self.candles_by_period = {MINUTE_S: candles, HOUR_S: []}
        self.alerts = list(alerts)
        self.reads: list[tuple[int, float, float]] = []

    def read_candles(self, sub: Pair, period_s: int, since: float, until: float) -> list[Candle]:
        self.reads.append((period_s, since, until))
        if sub != BTC:
            return []
        return [c for c in self.candles_by_period[period_s] if since <= c.start < until]

    def read_alerts(self, sub: Pair, since: float) -> list[Alert]:
        return [a for a in self.alerts if a.sub == sub and a.at >= since]


def alert_at(at: float, price: float) -> Alert:
    rule = MoveRule(2.0, sub=BTC)
    return Alert(BTC, rule, MoveDirection.UP, 2.0, price / 1.02, price, 300.0, at)


def utc(_t: float) -> float:
    return 0.0


@pytest.fixture
def jobs() -> BackgroundJobs:
    return BackgroundJobs()


def open_chart(
    qtbot: QtBot, jobs: BackgroundJobs, store: FakeStore, rules: tuple[Rule, ...] = ()
) -> ChartWindow:
    clock = FakeClock(wall=NOW)
    w = ChartWindow(BTC, jobs, store.read_candles, store.read_alerts, rules=rules, clock=clock, tz_offset=utc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.loaded, timeout=5000)
    return w


def test_ranges_switch_the_data(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    store = FakeStore(minutes(30 * 1440))
    w = open_chart(qtbot, jobs, store)
    assert w.chart_range() is ChartRange.H24
    day = w.line_points()
    assert day
    assert min(t for t, _ in day) >= NOW - 86_400
    assert len(day) <= 2 * 1440  # decimated to at most 2 points per bucket
    w.set_range(ChartRange.D30)
    qtbot.waitUntil(w.loaded)
    month = w.line_points()
    assert min(t for t, _ in month) < NOW - 29 * 86_400
    # 43,200 minutes drawn as 2 points per bucket, a bucket per pixel column (within 15 %)
    assert len(month) <= 2 * 1.15 * w.chart.plotArea().width() + 4
    w.set_range(ChartRange.H1)
    qtbot.waitUntil(w.loaded)
    hour = w.line_points()
    assert len(hour) == 60
    assert min(t for t, _ in hour) >= NOW - 3600
    assert w.x_axis.min() == NOW - 3600
    assert w.x_axis.max() == NOW
    assert w.x_axis.categoriesLabels()[:2] == ["15:00", "15:10"]  # every 10 minutes, aligned


def test_candle_view(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    w = open_chart(qtbot, jobs, FakeStore(minutes(3 * 1440)))
    w.set_candle_view(True)
    sets = w.candle_sets()
    assert len(sets) == 96  # 24 h of 15-minute candles
    assert not w.line_points()
    w.set_range(ChartRange.D7)
    qtbot.waitUntil(w.loaded)
    assert len(w.candle_sets()) == 72  # 3 days of hourly candles stored
    w.set_candle_view(False)
    assert w.line_points()
    assert not w.candle_sets()


def test_gaps_break_the_line(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    w = open_chart(qtbot, jobs, FakeStore(minutes(60, skip=range(20, 25))))
    w.set_range(ChartRange.H1)
    qtbot.waitUntil(w.loaded)
    assert [s.count() for s in w.line_series] == [20, 35]


def test_crosshair_label(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    stored = minutes(1440)
    w = open_chart(qtbot, jobs, FakeStore(stored))
    qtbot.waitUntil(lambda: w.chart.plotArea().width() > 100)
    t = NOW - 6 * 3600
    w.crosshair_at(t, 60_123.5)
    # The stored close of the minute the line's bucket there ends with, at that minute's time
    # (a bucket is about two minutes wide on 24 h): not the pointer's height, 60,123.50.
    assert w._line is not None
    near = [c for c in stored if abs(c.start - t) <= w._line.bucket_s]
    assert w.crosshair_label.text() in {
        f"{crosshair_time(ChartRange.H24, c.start)}  {format_price(c.close)}" for c in near
    }
    assert w.crosshair_label.text().startswith("Mon 10:0")
    assert w._cross_label.isVisible()
    assert w._cross_label.text() == w.crosshair_label.text()


def test_crosshair_reads_the_stored_minute_not_the_pointer_height(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    stored = minutes(60, skip=range(20, 25))  # 15:20 to 15:24 missing
    w = open_chart(qtbot, jobs, FakeStore(stored))
    w.set_range(ChartRange.H1)
    qtbot.waitUntil(w.loaded)
    at_1530 = next(c for c in stored if c.start == NOW - 1800)
    w.crosshair_at(NOW - 1800 + 25, 60_999.0)  # mid-minute, the pointer well above the line
    assert w.crosshair_label.text() == f"15:30  {format_price(at_1530.close)}"
    # The vertical line snaps to the minute read.
    snapped = w.chart.mapToPosition(QPointF(NOW - 1800, at_1530.close)).x()
    assert w._cross_v.line().x1() == pytest.approx(snapped)
    w.crosshair_at(NOW - 3600 + 22 * 60 + 10, 60_000.0)  # in the gap
    assert w.crosshair_label.text() == "15:22  no prices stored"
    assert w._cross_label.text() == "15:22  no prices stored"


def test_crosshair_on_a_candle_reads_its_open_high_low_and_close(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    stored = minutes(60, skip=range(20, 25))
    w = open_chart(qtbot, jobs, FakeStore(stored))
    w.set_range(ChartRange.H1)
    qtbot.waitUntil(w.loaded)
    w.set_candle_view(True)
    c = next(c for c in stored if c.start == NOW - 1800)
    w.crosshair_at(NOW - 1800 + 25, 60_999.0)
    assert w.crosshair_label.text() == (
        f"15:30  O {format_price(c.open)}  H {format_price(c.high)}  L {format_price(c.low)}"
        f"  C {format_price(c.close)}"
    )
    snapped = w.chart.mapToPosition(QPointF(NOW - 1800 + 30, c.close)).x()  # the candle's middle
    assert w._cross_v.line().x1() == pytest.approx(snapped)
    w.crosshair_at(NOW - 3600 + 22 * 60 + 10, 60_000.0)
    assert w.crosshair_label.text() == "15:22  no prices stored"


def test_crosshair_over_days_with_nothing_stored_says_so(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    stored = minutes(2 * 1440)  # the last two days of the 30
    w = open_chart(qtbot, jobs, FakeStore(stored))
    w.set_range(ChartRange.D30)
    qtbot.waitUntil(w.loaded)
    w.crosshair_at(NOW - 5 * 86_400 - 38 * 60, 60_500.0)
    assert w.crosshair_label.text() == "19 Nov 15:22  no prices stored"
    w.crosshair_at(NOW - 3600, 60_500.0)
    assert w._line is not None
    near = [c for c in stored if abs(c.start - (NOW - 3600)) <= w._line.bucket_s]
    assert w.crosshair_label.text() in {
        f"{crosshair_time(ChartRange.D30, c.start)}  {format_price(c.close)}" for c in near
    }


def test_markers_level_lines_and_cost_basis(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    store = FakeStore(minutes(1440), (alert_at(NOW - 3600, 60_500.0), alert_at(NOW - 3 * 86_400, 59_000.0)))
    rules = (LevelRule(61_200.0, above=True, sub=BTC), LevelRule(10.0, above=False, sub=ETH))
    w = open_chart(qtbot, jobs, store, rules=rules)
    assert w.marker_points() == [(NOW - 3600, 60_500.0)]  # the older one is outside 24 h
    assert w.level_lines() == [61_200.0]  # ETH's rule is not drawn on BTC
    assert w.y_axis.max() > 61_200.0
    w.set_cost_basis(59_500.0)
    assert w.cost_series is not None
    assert w.cost_series.at(0).y() == 59_500.0
    w.set_cost_basis(None)
    assert w.cost_series is None
    w.set_rules(())
    assert w.level_lines() == []


def test_live_prices_append(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    clock = FakeClock(wall=NOW)
    store = FakeStore(minutes(1440))
    w = ChartWindow(BTC, jobs, store.read_candles, store.read_alerts, clock=clock, tz_offset=utc)
    qtbot.addWidget(w)
    w.set_range(ChartRange.H1)
    w.show()
    qtbot.waitUntil(w.loaded)
    before = w.line_points()
    clock.jump_wall(30)
    w.add_quotes([Quote(BTC, 63_000.0, None), Quote(ETH, 1.0, None)])
    qtbot.waitUntil(lambda: w.line_points() != before, timeout=2000)
    assert w.line_points()[-1] == (NOW + 30, 63_000.0)
    assert w.x_axis.max() == NOW + 30
    w.set_candle_view(True)
    last = w.candle_sets()[-1]
    assert (last.timestamp(), last.close(), last.high()) == (NOW + 30.0, 63_000.0, 63_000.0)
    clock.jump_wall(60)  # the next minute: a new candle
    w.add_price(NOW + 90, 62_000.0)
    qtbot.waitUntil(lambda: len(w.candle_sets()) == 62, timeout=2000)
    assert w.candle_sets()[-1].close() == 62_000.0


def test_empty_history_says_so(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    w = open_chart(qtbot, jobs, FakeStore([]))
    assert w.message_text() == "No history yet for BTC/USD · Kraken: prices are kept from now on"
    w.add_price(NOW - 30, 1.0)  # the first live price: drawn within REPAINT_MS, the words go
    assert w.message_text() is not None
    qtbot.waitUntil(lambda: w.message_text() is None, timeout=2000)
    assert w.line_points() == [(NOW - 60, 1.0)]  # its minute


def test_escape_closes(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    w = open_chart(qtbot, jobs, FakeStore(minutes(10)))
    with qtbot.waitSignal(w.closed) as closed:
        qtbot.keyClick(w, "\x1b")
    assert closed.args == [BTC]


def test_dark(qtbot: QtBot, jobs: BackgroundJobs) -> None:
    from PySide6.QtGui import QColor, QPalette

    w = open_chart(qtbot, jobs, FakeStore(minutes(100)))
    pal = w.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    w.setPalette(pal)
    assert w.is_dark()
    assert w.chart.backgroundBrush().color().lightness() < 60


def test_an_unreadable_store_reads_as_no_history(qtbot: QtBot, jobs: BackgroundJobs, caplog) -> None:
    store = FakeStore(minutes(10))

    def broken(sub: Pair, period_s: int, since: float, until: float) -> list[Candle]:
        raise OSError("disk gone")

    w = ChartWindow(BTC, jobs, broken, store.read_alerts, clock=FakeClock(wall=NOW), tz_offset=utc)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.loaded)
    assert w.message_text() == "No history yet for BTC/USD · Kraken: prices are kept from now on"
    assert "disk gone" in caplog.text


def test_lines_move_with_the_window_and_a_far_level_stays_off_the_axis(
    qtbot: QtBot, jobs: BackgroundJobs
) -> None:
    clock = FakeClock(wall=NOW)
    store = FakeStore(minutes(120))
    rules = (LevelRule(61_000.0, above=True, sub=BTC), LevelRule(200_000.0, above=True, sub=BTC))
    w = ChartWindow(BTC, jobs, store.read_candles, store.read_alerts, rules=rules, clock=clock, tz_offset=utc)
    qtbot.addWidget(w)
    w.set_range(ChartRange.H1)
    w.show()
    qtbot.waitUntil(w.loaded)
    assert w.y_axis.max() < 200_000.0  # drawn, but off the axis: it would flatten the prices
    first = w.level_series[0]
    clock.jump_wall(120)
    w.add_price(NOW + 120, 60_100.0)
    qtbot.waitUntil(lambda: w.x_axis.max() == NOW + 120, timeout=2000)
    assert w.level_series[0] is first  # the same line, moved along
    assert (first.at(0).x(), first.at(1).x()) == (NOW + 120 - 3600, NOW + 120)
