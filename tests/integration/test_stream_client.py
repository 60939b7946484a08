"""The stream client over real loopback sockets against the simulator: reconnects, liveness,
server errors, hostile frames, runtime watchlist changes, clean stop, no key anywhere."""

from __future__ import annotations

import inspect
import logging
import threading
import time

import pytest

from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.events import (
    NoticeKind,
    PriceArrived,
    Reason,
    ServerNotice,
    State,
    Status,
    SubRejected,
    Subscribed,
)
from ccdesk.core.pairs import parse_pair
from ccdesk.core.stream import StreamClient, StreamConfig
from tests.fakes import JumpyClock
from tests.pairs import BTC, BTC_TRADES, ETH, SOL

FOO = parse_pair("5~CCCAGG~FOO~USD")
KEY = "test-key-0123456789abcdef"
FAST = BackoffPolicy(min_s=0.05, max_s=0.2, jitter=0.1, healthy_after_s=0.5, rate_limited_min_s=60.0)


class Recorder:
    """Collects a client's events (called on the stream thread) and lets the test wait on them."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.cond = threading.Condition()
        self.stack_depths: list[int] = []

    def __call__(self, ev: object) -> None:
        if isinstance(ev, Status) and ev.state is State.CONNECTED:
            self.stack_depths.append(len(inspect.stack(0)))
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def wait(self, predicate, timeout_s: float = 10.0) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.events), timeout_s)
        assert ok, f"timed out; last events: {self.events[-8:]}"

    def statuses(self) -> list[Status]:
        with self.cond:
            return [e for e in self.events if isinstance(e, Status)]

    def ticks(self, sub=None) -> list[PriceArrived]:
        with self.cond:
            return [e for e in self.events if isinstance(e, PriceArrived) and (sub is None or e.sub == sub)]

    def count(self, state: State) -> int:
        return sum(1 for s in self.statuses() if s.state is state)


def connected(n: int = 1):
    return lambda evs: sum(1 for e in evs if isinstance(e, Status) and e.state is State.CONNECTED) >= n


def ticks_for(*subs, after: int = 0):
    def pred(evs):
        seen = {e.sub for e in evs[after:] if isinstance(e, PriceArrived)}
        return all(s in seen for s in subs)

    return pred


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=200.0, seed=7, heartbeat_s=0.5)


@pytest.fixture
def run_client():
    """Start clients on their own threads; every one is stopped and joined after the test."""
    started: list[tuple[StreamClient, threading.Thread, dict]] = []

    def start(url, subs, key=KEY, **config):
        rec = Recorder()
        cfg = StreamConfig(url=url, backoff=config.pop("backoff", FAST), **config)
        client = StreamClient(None if key is None else ApiKey(key), subs, rec, cfg)
        result: dict = {}
        thread = threading.Thread(target=lambda: result.setdefault("state", client.run()), daemon=True)
        thread.start()
        started.append((client, thread, result))
        return client, rec, thread, result

    yield start
    for client, thread, _ in started:
        client.stop()
        thread.join(5)
        assert not thread.is_alive(), "a stream thread leaked"


def eventually(predicate, timeout_s: float = 5.0) -> bool:
    """Poll a condition on the client's own counters (they notify nothing) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def subadds(sim, conn_id=None):
    return [
        r.message["subs"]
        for r in sim.received
        if isinstance(r.message, dict)
        and r.message.get("action") == "SubAdd"
        and (conn_id is None or r.conn_id == conn_id)
    ]


def test_streams_merged_quotes_for_every_pair(sim, run_client):
    client, rec, _, _ = run_client(sim.stream_url, [BTC, ETH, SOL])
    rec.wait(ticks_for(BTC, ETH, SOL))
    assert client.status.state is State.CONNECTED
    # Quotes are read on the stream thread in real use; the client is idle enough here to peek.
    rec.wait(lambda evs: len([e for e in evs if isinstance(e, Subscribed)]) == 3)
    assert subadds(sim) == [[str(BTC), str(ETH), str(SOL)]]


def test_restart_resubscribes_everything_exactly_once(sim, run_client):
    _, rec, _, _ = run_client(sim.stream_url, [BTC, ETH, SOL])
    rec.wait(ticks_for(BTC, ETH, SOL))
    first_conn = sim.connections[0].conn_id
    sim.restart(down_s=0.3)
    mark = len(rec.events)
    rec.wait(connected(2))
    rec.wait(ticks_for(BTC, ETH, SOL, after=mark))
    second_conn = sim.connections[0].conn_id
    assert second_conn != first_conn
    assert subadds(sim, first_conn) == [[str(BTC), str(ETH), str(SOL)]]
    assert subadds(sim, second_conn) == [[str(BTC), str(ETH), str(SOL)]]
    assert sim.active_sockets() == 1
    states = [s.state for s in rec.statuses()]
    assert State.RECONNECTING in states
    # No "already active" errors and never a second socket (no 429 seen).
    assert rec.count(State.RATE_LIMITED) == 0


def test_tcp_abort_is_noticed_and_recovered(sim, run_client):
    _, rec, _, _ = run_client(sim.stream_url, [BTC])
    rec.wait(ticks_for(BTC))
    sim.drop_all(reset=True)
    rec.wait(connected(2))
    lost = [s for s in rec.statuses() if s.state is State.RECONNECTING]
    assert lost
    assert lost[0].reason is Reason.CONNECTION_LOST
    assert lost[0].retry_in_s is not None
    assert lost[0].retry_in_s >= FAST.min_s


def test_half_open_socket_is_replaced_via_unanswered_ping(sim, run_client):
    client, rec, _, _ = run_client(
        sim.stream_url, [BTC], ping_interval_s=0.2, pong_timeout_s=0.6, silence_timeout_s=30.0
    )
    rec.wait(ticks_for(BTC))
    # An answered ping proves the server pongs, which arms the half-open check.
    rec.wait(lambda evs: client.stats.pongs >= 1, 5)
    sim.freeze(True)
    t0 = time.monotonic()
    rec.wait(lambda evs: any(isinstance(e, Status) and e.reason is Reason.PONG_TIMEOUT for e in evs), 10)
    assert time.monotonic() - t0 < 5  # far sooner than the 30 s silence timeout
    rec.wait(connected(2))
    stale = [s for s in rec.statuses() if s.state is State.STALE]
    assert stale[0].reason is Reason.PONG_TIMEOUT


def test_silence_watchdog_replaces_a_socket_that_sends_nothing(sim, run_client):
    # Pings never answered from the start (no pong ever seen): the silence watchdog must act.
    _, rec, _, _ = run_client(sim.stream_url, [BTC], ping_interval_s=100.0, silence_timeout_s=1.0)
    rec.wait(ticks_for(BTC))
    sim.freeze(True)
    rec.wait(lambda evs: any(isinstance(e, Status) and e.reason is Reason.SILENCE for e in evs), 10)
    rec.wait(connected(2))


def test_wrong_key_stops_retrying(run_client, make_sim):
    sim = make_sim(keys=["good-key-0123456789"])
    _, rec, thread, result = run_client(sim.stream_url, [BTC], key="wrong-key-0123456789")
    thread.join(5)
    assert result["state"] is State.AUTH_FAILED
    assert rec.statuses()[-1].state is State.AUTH_FAILED
    assert rec.statuses()[-1].reason is Reason.UNAUTHORIZED
    assert len([h for h in sim.handshakes if h.path.startswith("/v2")]) == 1  # no retry loop


def test_second_socket_with_the_same_key_backs_off_for_a_minute(sim, run_client):
    _, rec1, _, _ = run_client(sim.stream_url, [BTC])
    rec1.wait(connected(1))
    second, rec2, _, _ = run_client(sim.stream_url, [ETH])
    rec2.wait(lambda evs: any(isinstance(e, Status) and e.state is State.RATE_LIMITED for e in evs))
    limited = next(s for s in rec2.statuses() if s.state is State.RATE_LIMITED)
    assert limited.reason is Reason.TOO_MANY_SOCKETS
    assert limited.retry_in_s >= 60
    t0 = time.monotonic()
    second.stop()  # interrupts the long wait at once
    rec2.wait(lambda evs: isinstance(evs[-1], Status) and evs[-1].state is State.STOPPED, 2)
    assert time.monotonic() - t0 < 1.0
    assert rec1.count(State.RECONNECTING) == 0  # the first client is undisturbed


def test_invalid_sub_is_isolated_and_not_resent(sim, run_client):
    client, rec, _, _ = run_client(sim.stream_url, [BTC, FOO, ETH])
    rec.wait(lambda evs: any(isinstance(e, SubRejected) for e in evs))
    rejected = next(e for e in rec.events if isinstance(e, SubRejected))
    assert rejected.sub == FOO
    assert rejected.reason == "INVALID_SUB"
    mark = len(rec.events)
    rec.wait(ticks_for(BTC, ETH, after=mark))
    assert client.invalid == {FOO}
    sim.restart(down_s=0.1)
    rec.wait(connected(2))
    second = sim.connections[0].conn_id
    assert sim.wait_for(lambda: bool(subadds(sim, second)))  # the server logs it a moment later
    assert subadds(sim, second) == [[str(BTC), str(ETH)]]


def test_hostile_frames_are_skipped_and_the_stream_goes_on(sim, run_client, caplog):
    caplog.set_level(logging.WARNING, logger="ccdesk.core.stream")
    client, rec, _, _ = run_client(sim.stream_url, [BTC])
    rec.wait(ticks_for(BTC))
    good_price = rec.ticks(BTC)[-1].price
    hostile = [
        "not json at all",
        "[1,2,3]",
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":-1}',
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":NaN}',
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":"1"}',
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":0}',
        '{"TYPE":"77777"}',
        "{}",
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"BTC","TOSYMBOL":"USD","FLAGS":1,"PRICE":1e-300,"PAD":"'
        + "x" * 100_000
        + '"}',
    ]
    for frame in hostile:
        sim.send_raw(frame)
    sim.send_raw(b"\x00\x01binary")
    # Sent, not yet read: the client reads them on its own thread, after the prices before them.
    assert eventually(lambda: client.stats.malformed >= len(hostile), 10.0)
    mark = len(rec.events)
    rec.wait(ticks_for(BTC, after=mark))
    prices = [t.price for t in rec.ticks(BTC)]
    assert all(p > good_price * 0.5 for p in prices), "a hostile frame produced a price"
    assert client.stats.malformed >= len(hostile)
    assert client.status.state is State.CONNECTED
    assert rec.count(State.RECONNECTING) == 0
    assert any("skipped" in r.getMessage() for r in caplog.records)
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) <= 2  # rate-limited


def test_runtime_add_and_remove_on_the_live_socket(sim, run_client):
    client, rec, _, _ = run_client(sim.stream_url, [BTC])
    rec.wait(ticks_for(BTC))
    conn_id = sim.connections[0].conn_id
    client.add([ETH, BTC])  # BTC is already watched: must not be re-sent
    rec.wait(ticks_for(ETH))
    assert subadds(sim, conn_id) == [[str(BTC)], [str(ETH)]]
    client.remove([BTC])
    assert sim.wait_for(lambda: sim.connections and sim.connections[0].subs == (str(ETH),))
    removes = [r.message["subs"] for r in sim.received if r.message.get("action") == "SubRemove"]
    assert removes == [[str(BTC)]]
    mark = len(rec.events)
    rec.wait(lambda evs: len([e for e in evs[mark:] if isinstance(e, PriceArrived) and e.sub == ETH]) >= 5)
    assert not [e for e in rec.events[mark:] if isinstance(e, PriceArrived) and e.sub == BTC]
    assert sim.connections[0].conn_id == conn_id  # no reconnect
    assert client.watchlist == [ETH]


def test_adds_during_a_disconnect_go_out_with_the_next_welcome(sim, run_client):
    client, rec, _, _ = run_client(sim.stream_url, [BTC], backoff=BackoffPolicy(min_s=0.5, max_s=0.5))
    rec.wait(ticks_for(BTC))
    sim.drop_all()
    rec.wait(lambda evs: any(isinstance(e, Status) and e.state is State.RECONNECTING for e in evs))
    client.add([ETH])
    rec.wait(connected(2))
    rec.wait(ticks_for(ETH))
    last = sim.connections[0].conn_id
    assert subadds(sim, last) == [[str(BTC), str(ETH)]]


def test_force_disconnect_reconnects(sim, run_client):
    _, rec, _, _ = run_client(sim.stream_url, [BTC])
    rec.wait(ticks_for(BTC))
    sim.force_disconnect()
    rec.wait(connected(2))
    assert any(s.reason is Reason.FORCE_DISCONNECT for s in rec.statuses())


def test_stop_from_another_thread_is_prompt_and_closes_the_socket(sim, run_client):
    client, rec, thread, result = run_client(sim.stream_url, [BTC, ETH])
    rec.wait(ticks_for(BTC, ETH))
    assert sim.active_sockets() == 1
    t0 = time.monotonic()
    client.stop()
    stop_s = time.monotonic() - t0
    thread.join(1.0)
    assert stop_s < 1.0
    assert not thread.is_alive()
    assert result["state"] is State.STOPPED
    assert sim.wait_for(lambda: sim.active_sockets() == 0, 10.0)  # seen by the server's own thread


def test_reconnect_loop_does_not_grow_the_stack(sim, run_client):
    _, rec, _, _ = run_client(
        sim.stream_url, [BTC], backoff=BackoffPolicy(min_s=0.01, max_s=0.02, healthy_after_s=99)
    )
    for i in range(1, 16):
        rec.wait(connected(i))
        sim.drop_all()
    rec.wait(connected(16))
    assert len(set(rec.stack_depths)) == 1, rec.stack_depths


def test_key_travels_in_the_header_and_never_in_the_url_or_logs(sim, run_client, caplog):
    caplog.set_level(logging.DEBUG)
    client, rec, _, _ = run_client(sim.stream_url, [BTC])
    rec.wait(ticks_for(BTC))
    sim.drop_all()
    rec.wait(connected(2))
    upgrades = [h for h in sim.handshakes if h.path.startswith("/v2")]
    assert len(upgrades) == 2
    for h in upgrades:
        assert KEY not in h.path
        assert "api_key" not in h.path
        assert h.header("authorization") == f"Apikey {KEY}"
    assert KEY not in caplog.text
    assert KEY not in repr(client)
    assert all(KEY not in repr(e) for e in rec.events)


def test_wall_clock_jump_forces_a_reconnect(sim):
    clock = JumpyClock()
    rec = Recorder()
    client = StreamClient(
        ApiKey(KEY), [BTC], rec, StreamConfig(url=sim.stream_url, backoff=FAST), clock=clock
    )
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        rec.wait(ticks_for(BTC))
        clock.offset += 3600  # the laptop slept for an hour
        rec.wait(lambda evs: any(isinstance(e, Status) and e.reason is Reason.CLOCK_JUMP for e in evs))
        rec.wait(connected(2))
        stale = next(s for s in rec.statuses() if s.reason is Reason.CLOCK_JUMP)
        assert stale.state is State.STALE
    finally:
        client.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_reconnect_now_replaces_the_socket_and_keeps_the_watchlist(sim, run_client):
    client, rec, _, _ = run_client(sim.stream_url, [BTC, ETH])
    rec.wait(ticks_for(BTC, ETH))
    first = sim.connections[0].conn_id
    client.reconnect_now()
    rec.wait(connected(2))
    assert any(s.reason is Reason.RECONNECT_REQUESTED for s in rec.statuses())
    second = sim.connections[0].conn_id
    assert second != first
    assert sim.wait_for(lambda: bool(subadds(sim, second)))
    assert subadds(sim, second) == [[str(BTC), str(ETH)]]


def test_server_notices_reach_the_consumer_typed(make_sim, run_client):
    sim = make_sim(rate=50.0, seed=7, max_subs_per_socket=1)
    _, rec, _, _ = run_client(sim.stream_url, [BTC, ETH])
    rec.wait(lambda evs: any(isinstance(e, ServerNotice) for e in evs))
    notice = next(e for e in rec.events if isinstance(e, ServerNotice))
    assert notice == ServerNotice(
        NoticeKind.TOO_MANY_SUBSCRIPTIONS,
        "TOO_MANY_SUBSCRIPTIONS_MAX_1_PER_SOCKET",
        1,
        "You have reached the maximum number of subscriptions for this socket",
    )
    rec.wait(ticks_for(BTC))
    sim.send_frame({"TYPE": "500", "MESSAGE": "INVALID_JSON", "INFO": "bad"})
    rec.wait(lambda evs: any(isinstance(e, ServerNotice) and e.kind is NoticeKind.SERVER_ERROR for e in evs))


def test_trades_replayed_after_a_reconnect_are_not_news(sim, run_client):
    # The server replays a pair's last ~20 trades on every subscribe. Before, each reconnect moved
    # the price back to old trades and fed them to the alerts as if they were happening now.
    client, rec, _, _ = run_client(sim.stream_url, [BTC_TRADES])
    rec.wait(ticks_for(BTC_TRADES))
    sim.set_rate(0)
    sim.pause_market()  # no new trades from now on
    newest = sim.newest_trade_price(BTC_TRADES)
    # A first reconnect's replay brings the client up to date with every trade there is (some may
    # have been made but not sent before the pause: those are news, once).
    sim.restart(down_s=0.1)
    rec.wait(connected(2))
    rec.wait(lambda evs: [e.price for e in evs if isinstance(e, PriceArrived)][-1:] == [newest])
    seen = len(rec.ticks(BTC_TRADES))
    mark = len(rec.events)
    frames_before = client.stats.frames
    sim.restart(down_s=0.1)
    rec.wait(connected(3))
    # The same replay arrives again (positive control) and moves nothing.
    assert eventually(lambda: client.stats.frames >= frames_before + 20)
    assert [e for e in rec.events[mark:] if isinstance(e, PriceArrived)] == []
    assert len(rec.ticks(BTC_TRADES)) == seen
