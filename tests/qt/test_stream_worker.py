"""The stream worker on a real QThread against the simulator: coalesced quotes, every price
seen by alerts, status signals, clean bounded stop, no leaked thread."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal, Slot

from ccdesk.core.alerts import MoveRule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import SystemClock
from ccdesk.core.events import State
from ccdesk.qt.stream_session import StreamSession
from ccdesk.qt.stream_worker import StreamParams, StreamWorker
from tests.pairs import BTC, ETH


class Starter(QObject):
    start = Signal(object)


class Collector(QObject):
    """Main-thread receiver with @Slot methods, as the controller is: worker signals then arrive
    queued on this thread (pytest-qt's waitSignal on a cross-thread signal would connect directly
    and stop its timer from the stream thread)."""

    def __init__(self, worker: StreamWorker) -> None:
        super().__init__()
        self.batches, self.alerts, self.statuses, self.finished = [], [], [], []
        worker.quotes_changed.connect(self.on_quotes)
        worker.alert_fired.connect(self.on_alert)
        worker.status_changed.connect(self.on_status)
        worker.finished.connect(self.on_finished)

    @Slot(object)
    def on_quotes(self, changed):
        if changed.quotes:  # a heartbeat alone brings none
            self.batches.append(changed.quotes)

    @Slot(object)
    def on_alert(self, alert):
        self.alerts.append(alert)

    @Slot(object)
    def on_status(self, status):
        self.statuses.append(status)

    @Slot(object)
    def on_finished(self, state):
        self.finished.append(state)


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=50.0, seed=11)


@pytest.fixture
def stream(qtbot):
    worker = StreamWorker()
    thread = StreamSession(SystemClock(), worker)
    starter = Starter()
    starter.start.connect(worker.start_stream)
    yield worker, thread, starter, Collector(worker)
    assert thread.stop(3000), "the stream thread did not end"
    assert thread.qthread.isFinished()


def test_quotes_arrive_coalesced_and_alerts_see_every_price(qtbot, make_sim, stream):
    worker, _, starter, got = stream
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=0)
    firehose = make_sim(firehose=True, seed=11)
    params = StreamParams(
        firehose.stream_url, ApiKey("k-0123456789ab"), (BTC, ETH), (rule,), flush_interval_s=0.1
    )
    starter.start.emit(params)
    qtbot.waitUntil(lambda: len(got.batches) >= 10, timeout=10000)
    worker.stop()
    qtbot.waitUntil(lambda: bool(got.finished), timeout=3000)
    assert got.statuses[0].state is State.CONNECTING
    assert any(s.state is State.CONNECTED for s in got.statuses)
    assert {q.sub for batch in got.batches for q in batch} == {BTC, ETH}
    # Thousands of prices a second in (each one fires an alert here), ~10 batches a second out.
    assert len(got.alerts) > 50 * len(got.batches)
    for batch in got.batches:
        assert len({q.sub for q in batch}) == len(batch)  # one quote per pair per batch


def test_stop_is_bounded_and_finishes(qtbot, sim, stream):
    worker, _, starter, got = stream
    starter.start.emit(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    worker.stop()
    qtbot.waitUntil(lambda: bool(got.finished), timeout=3000)
    assert got.finished == [State.STOPPED]
    assert sim.wait_for(lambda: sim.active_sockets() == 0, 2)


def test_restart_with_new_params_on_the_same_thread(qtbot, sim, stream):
    worker, _, starter, got = stream
    starter.start.emit(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    worker.stop()
    starter.start.emit(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (ETH,), ()))
    qtbot.waitUntil(lambda: any(q.sub == ETH for b in got.batches for q in b), timeout=5000)
    assert got.finished == [State.STOPPED]


def test_runtime_rule_change_applies_on_the_stream_thread(qtbot, sim, stream):
    worker, _, starter, got = stream
    starter.start.emit(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    assert got.alerts == []
    worker.set_rules([MoveRule(pct=0.0001, window_s=60, cooldown_s=0)])
    qtbot.waitUntil(lambda: bool(got.alerts), timeout=5000)


def test_wrong_key_finishes_with_auth_failed(qtbot, make_sim, stream):
    _, _, starter, got = stream
    sim = make_sim(keys=["right-key-0123456789"])
    starter.start.emit(
        StreamParams(sim.stream_url, ApiKey("wrong-key-0123456"), (BTC,), (), backoff=BackoffPolicy())
    )
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    assert got.finished == [State.AUTH_FAILED]
