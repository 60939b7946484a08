"""The stream worker on a real QThread against the simulator: coalesced quotes, every price
seen by alerts, status signals, clean bounded stop, no leaked thread."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Slot

from ccdesk.core.alerts import MoveRule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import SystemClock
from ccdesk.core.events import State
from ccdesk.core.pairs import Source
from ccdesk.qt.stream_session import StreamSession
from ccdesk.qt.stream_worker import StreamParams, StreamWorker
from tests.pairs import BTC, ETH


class Collector(QObject):
    """Main-thread receiver with @Slot methods, as the controller is: worker signals then arrive
    queued on this thread (pytest-qt's waitSignal on a cross-thread signal would connect directly
    and stop its timer from the stream thread)."""

    def __init__(self, worker: StreamWorker) -> None:
        super().__init__()
        self.batches, self.alerts, self.statuses, self.finished, self.generations = [], [], [], [], []
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
    def on_finished(self, outcome):
        self.generations.append(outcome[0])
        self.finished.append(outcome[1])


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=50.0, seed=11)


@pytest.fixture
def stream(qtbot):
    worker = StreamWorker()
    session = StreamSession(Source.CRYPTOCOMPARE, SystemClock(), worker)
    yield worker, session, Collector(worker)
    assert session.stop(3000), "the stream thread did not end"
    assert session.qthread.isFinished()


def test_quotes_arrive_coalesced_and_alerts_see_every_price(qtbot, make_sim, stream):
    worker, session, got = stream
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=0)
    firehose = make_sim(firehose=True, seed=11)
    params = StreamParams(
        firehose.stream_url, ApiKey("k-0123456789ab"), (BTC, ETH), (rule,), flush_interval_s=0.1
    )
    session.run(params)
    qtbot.waitUntil(lambda: len(got.batches) >= 10, timeout=10000)
    worker.stop()
    qtbot.waitUntil(lambda: bool(got.finished), timeout=10000)
    assert got.statuses[0].state is State.CONNECTING
    assert any(s.state is State.CONNECTED for s in got.statuses)
    assert {q.sub for batch in got.batches for q in batch} == {BTC, ETH}
    # Thousands of prices a second in (each one fires an alert here), ~10 batches a second out.
    assert len(got.alerts) > 50 * len(got.batches)
    for batch in got.batches:
        assert len({q.sub for q in batch}) == len(batch)  # one quote per pair per batch


def test_stop_is_bounded_and_finishes(qtbot, sim, stream):
    worker, session, got = stream
    session.run(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    worker.stop()
    qtbot.waitUntil(lambda: bool(got.finished), timeout=10000)
    assert got.finished == [State.STOPPED]
    assert sim.wait_for(lambda: sim.active_sockets() == 0, 10)


def test_restart_with_new_params_on_the_same_thread(qtbot, sim, stream):
    worker, session, got = stream
    session.run(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    worker.stop()
    session.run(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (ETH,), ()))
    qtbot.waitUntil(lambda: any(q.sub == ETH for b in got.batches for q in b), timeout=5000)
    assert got.finished == [State.STOPPED]


def test_runtime_rule_change_applies_on_the_stream_thread(qtbot, sim, stream):
    worker, session, got = stream
    session.run(StreamParams(sim.stream_url, ApiKey("k-0123456789ab"), (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    assert got.alerts == []
    worker.set_rules([MoveRule(pct=0.0001, window_s=60, cooldown_s=0)])
    qtbot.waitUntil(lambda: bool(got.alerts), timeout=5000)


def test_wrong_key_finishes_with_auth_failed(qtbot, make_sim, stream):
    _, session, got = stream
    sim = make_sim(keys=["right-key-0123456789"])
    session.run(
        StreamParams(sim.stream_url, ApiKey("wrong-key-0123456"), (BTC,), (), backoff=BackoffPolicy())
    )
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    assert got.finished == [State.AUTH_FAILED]


KEY = ApiKey("k-0123456789ab")


def test_the_last_of_two_quick_restarts_wins(qtbot, make_sim, stream):
    # A new key and a new URL saved in one OK press restart twice in a row: the first start, still
    # queued behind nothing or a stopping client, must not keep the app on the old URL.
    _, session, got = stream
    old, new = make_sim(rate=50.0, seed=1), make_sim(rate=50.0, seed=2)
    session.run(StreamParams(old.stream_url, KEY, (BTC,), ()))
    session.run(StreamParams(new.stream_url, KEY, (BTC,), ()))
    assert new.wait_for(lambda: new.active_sockets() == 1, 10.0)
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    assert old.wait_for(lambda: old.active_sockets() == 0, 10.0)
    assert session.running


def test_a_late_finished_of_the_old_run_does_not_end_the_new_one(qtbot, sim, stream):
    _, session, got = stream
    fast = BackoffPolicy(min_s=0.05, max_s=0.2, jitter=0.1)
    session.run(StreamParams(sim.stream_url, KEY, (BTC,), (), backoff=fast))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    session.run(StreamParams(sim.stream_url, KEY, (ETH,), (), backoff=fast))
    qtbot.waitUntil(lambda: got.finished == [State.STOPPED], timeout=5000)  # the first run's end
    assert session.running  # the second run goes on: a network change must still reconnect it

    def second_runs_socket() -> int | None:
        conns = [c for c in sim.connections if c.subs == (str(ETH),)]
        return conns[0].conn_id if len(conns) == 1 and len(sim.connections) == 1 else None

    assert sim.wait_for(lambda: second_runs_socket() is not None, 10.0)  # the old socket gone, ETH on
    conn = second_runs_socket()
    session.reconnect_now()
    assert sim.wait_for(lambda: second_runs_socket() not in (None, conn), 10.0)


def test_watchlist_edits_during_a_restart_land(qtbot, sim, stream):
    _, session, got = stream
    session.run(StreamParams(sim.stream_url, KEY, (BTC,), ()))
    qtbot.waitUntil(lambda: bool(got.batches), timeout=5000)
    session.run(StreamParams(sim.stream_url, KEY, (BTC,), ()))
    session.add([ETH])  # while the old client stops and the new one is not there yet
    qtbot.waitUntil(lambda: any(q.sub == ETH for b in got.batches for q in b), timeout=5000)
    # The server sends a pair's snapshot before it notes the subscription: wait for its list.
    assert sim.wait_for(lambda: [c.subs for c in sim.connections] == [(str(BTC), str(ETH))], 10.0)
