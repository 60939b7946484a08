"""The simulator's firehose in every dialect, end to end: `ccdesk stream` as a user runs it (the
benchmark's command) reads exactly the frames the simulator sent, every one a new price. No timing
is asserted: a run ends when its count is reached, or the subprocess times out."""

from __future__ import annotations

import itertools
import json

import pytest
import websocket

from ccdesk.sim.firehose import CYCLE_FRAMES
from tests.integration.test_cli import ccdesk

KEY = "firehose-key-0123456789"
N = CYCLE_FRAMES + 904  # past the end of the cycle: its replay must hold up too

PAIRS = {
    "cryptocompare": "5~CCCAGG~BTC~USD",
    "kraken": "kraken:BTC-USD",
    "coinbase": "coinbase:BTC-USD",
    "binance": "binance:BTC-USDT",
    "okx": "okx:BTC-USDT",
    "coindesk": "coindesk:BTC-USD",
}


@pytest.fixture
def hose(make_sim):
    sim = make_sim(firehose=True, firehose_limit=N, heartbeat_s=3600)
    # A still market: the subscribe's snapshot and the burst's first frame come from one state.
    sim.pause_market()
    return sim


def stream(sim, source, *args):
    # CCDESK_API_KEY serves CryptoCompare and, without a key of its own, CoinDesk Data.
    return ccdesk(
        "stream",
        "--url",
        f"{source}={sim.url(source)}",
        *args,
        PAIRS[source],
        timeout=120,
        CCDESK_API_KEY=KEY,
    )


@pytest.mark.parametrize("source", PAIRS)
def test_quiet_count_ends_after_exactly_the_frames_sent(hose, source):
    # --count counts new prices: the subscribe's snapshot, then each of the N frames. Reaching N + 1
    # means every frame the simulator sent was read by the source's parser as a new price.
    r = stream(hose, source, "--quiet", "--count", str(N + 1))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"{source}: connected" in r.stderr
    assert hose.wait_for(lambda: len(hose.firehose_runs) == 1)
    (run,) = hose.firehose_runs
    assert run.frames == N
    assert len(hose.handshakes) == 1  # one connection: no reconnect on the way


@pytest.mark.parametrize("source", PAIRS)
def test_every_frame_is_printed_as_a_new_quote(hose, source):
    r = stream(hose, source, "--format", "jsonl", "--count", str(N + 1))
    assert r.returncode == 0, r.stderr
    quotes = [q for q in map(json.loads, r.stdout.splitlines()) if q["kind"] == "quote"]
    assert len(quotes) == N + 1
    assert {(q["source"], q["sub"]) for q in quotes} == {(source, PAIRS[source])}
    prices = [q["price"] for q in quotes]
    assert all(a != b for a, b in itertools.pairwise(prices))


def test_a_venue_s_burst_is_all_its_socket_gets_after_the_subscribe(make_sim):
    # Binance's heartbeat is a ticker, and a moving market makes paced updates: on a firehose's
    # socket neither may add a price to the burst, however often they would come.
    sim = make_sim(firehose=True, firehose_limit=N, rate=1000.0, venue_heartbeat_s=0.01)
    ws = websocket.create_connection(sim.url("binance"), timeout=10)
    try:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": 1}))
        ack, snapshot, *burst = (json.loads(ws.recv()) for _ in range(2 + N))
        assert ack == {"result": None, "id": 1}
        assert {f["e"] for f in [snapshot, *burst]} == {"24hrTicker"}
        assert sim.wait_for(lambda: len(sim.firehose_runs) == 1)
        (conn,) = sim.connections
        assert conn.frames_sent == 2 + N
    finally:
        ws.close(timeout=1)
