"""A flood past the per-minute cap: the alerts not shown are in the history, marked, and stay
marked after a restart (the store keeps the reason)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import Store
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.notifier import Notifier
from tests.fakes import FakeClock

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
RULE = MoveRule(pct=0.5, window_s=60.0, id="flood")
PAIRS = ("BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "DOGE-USD", "ADA-USD", "DOT-USD", "LTC-USD")


def alert(pair: str, i: int) -> Alert:
    return Alert(parse_pair(pair), RULE, MoveDirection.UP, 0.6, 100.0, 100.6, 60.0, 1_700_000_000.0 + i)


def test_capped_alerts_read_well_in_the_history_and_survive_a_restart(qtbot: QtBot, tmp_path: Path) -> None:
    clock = FakeClock()
    notifier = Notifier(None, notify_fn=lambda **kw: None, clock=clock.monotonic)
    history = AlertHistoryModel()
    store = Store.open(tmp_path / "h.sqlite3", on_problem=None)
    assert store.ready.wait(5)
    notifier.delivered.connect(history.record_delivery)
    notifier.delivered.connect(store.record_delivery)
    deliveries: list[Delivery] = []
    notifier.delivered.connect(deliveries.append)
    try:
        for i, pair in enumerate(PAIRS):  # eight alerts in eight seconds
            a = alert(pair, i)
            history.add(a, paused=False)
            store.record_alert(a, paused=False)
            notifier.deliver(a)
            clock.advance(1.0)
        qtbot.waitUntil(lambda: len(deliveries) == len(PAIRS), timeout=5000)
    finally:
        notifier.shutdown(timeout_s=3.0)
    lines = [history.data(history.index(row, 0)) for row in range(history.rowCount())]  # newest first
    outcomes = [line.rsplit("  ·  ", 1)[1] for line in lines]
    assert outcomes == ["not shown (over 6 notifications a minute)"] * 2 + ["notified"] * 6
    tip = history.data(history.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("not shown: ccdesk shows at most 6 notifications a minute")
    assert history.data(history.index(2, 0), Qt.ItemDataRole.ToolTipRole) is None

    view = QListView()
    view.setModel(history)
    view.setWordWrap(True)
    view.setAlternatingRowColors(True)
    view.resize(760, 132)
    qtbot.addWidget(view)
    view.show()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert view.grab().save(str(SHOTS / "history-rate-limited.png"))

    assert store.flush()
    store.close()
    again = Store.open(tmp_path / "h.sqlite3", on_problem=None)
    assert again.ready.wait(5)
    try:
        kept = {s.alert.id: s.delivery for s in again.recent_alerts()}
    finally:
        again.close()
    capped = [d for d in kept.values() if d is not None and d.not_shown is NotShownReason.RATE_LIMITED]
    assert len(capped) == 2
    assert all(d.channel is DeliveryChannel.NONE for d in capped)
