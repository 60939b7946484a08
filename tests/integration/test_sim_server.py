"""The loopback simulator as a client written for CryptoCompare sees it: real sockets, ephemeral ports."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket
from websockets.sync.client import connect as websockets_connect

from ccdesk.sim.server import SimServer

KEY = "K-test-key-123"
BTC = "5~CCCAGG~BTC~USD"
ETH = "5~CCCAGG~ETH~USD"
ETH_COINBASE = "2~Coinbase~ETH~USD"
TRADES = "0~Binance~BTC~USDT"


@pytest.fixture
def sim(make_sim: Callable[..., SimServer]) -> SimServer:
    return make_sim(keys=[KEY], rate=20.0, seed=1)


@pytest.fixture
def clients() -> Iterator[list[websocket.WebSocket]]:
    """Sockets a test opens; closed at teardown whatever happened."""
    opened: list[websocket.WebSocket] = []
    yield opened
    for ws in opened:
        ws.close(timeout=1)
        ws.shutdown()  # close() does nothing once the server has closed, leaving the socket open


def connect(
    clients: list[websocket.WebSocket], url: str, key: str | None = KEY, timeout: float = 5.0
) -> websocket.WebSocket:
    header = [f"authorization: Apikey {key}"] if key is not None else []
    ws = websocket.create_connection(url, header=header, timeout=timeout)
    clients.append(ws)
    return ws


def recv(ws: websocket.WebSocket) -> dict[str, Any]:
    frame = json.loads(ws.recv())
    assert isinstance(frame, dict)
    return frame


def recv_until(ws: websocket.WebSocket, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Frames up to and including the first one ``done`` accepts (socket timeout bounds the wait)."""
    frames = []
    while True:
        frames.append(recv(ws))
        if done(frames[-1]):
            return frames


def recv_until_closed(ws: websocket.WebSocket) -> tuple[list[dict[str, Any]], int | None]:
    """Frames until the server's close frame; returns them and the close code."""
    frames = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return frames, code
        frames.append(json.loads(data))


def drain_until_quiet(ws: websocket.WebSocket, quiet_s: float, at_most: int = 100) -> int:
    """Read until nothing arrives for ``quiet_s`` (frames in flight are fine); fail if it never
    goes quiet. Returns how many frames were drained."""
    ws.settimeout(quiet_s)
    for drained in range(at_most):
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            return drained
    raise AssertionError(f"still receiving after {at_most} frames")


def read_until_error(ws: websocket.WebSocket) -> None:
    """Read until the socket fails; a close frame on the way fails the test (it was no abort)."""
    while True:
        opcode, _ = ws.recv_data()
        assert opcode != websocket.ABNF.OPCODE_CLOSE, "got a close frame: not an abort"


def subscribe(ws: websocket.WebSocket, *subs: str) -> list[dict[str, Any]]:
    ws.send(json.dumps({"action": "SubAdd", "subs": list(subs)}))
    return recv_until(ws, lambda f: f["TYPE"] == "3")


def test_welcome_first_then_snapshot_16_and_3(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    ws = connect(clients, sim.stream_url)
    welcome = recv(ws)
    assert welcome["TYPE"] == "20"
    assert welcome["MESSAGE"] == "STREAMERWELCOME"
    assert (welcome["SOCKETS_ACTIVE"], welcome["SOCKETS_REMAINING"]) == (1, 0)
    assert welcome["RATELIMIT_MAX_MINUTE"] == 60
    assert welcome["RATELIMIT_REMAINING_MINUTE"] == 59

    frames = subscribe(ws, BTC, ETH_COINBASE, TRADES)
    kinds = [(f["TYPE"], f.get("SUB")) for f in frames if f["TYPE"] != "0"]
    assert kinds == [("5", None), ("16", BTC), ("2", None), ("16", ETH_COINBASE), ("16", TRADES), ("3", None)]
    btc = frames[0]
    assert (btc["MARKET"], btc["FROMSYMBOL"], btc["TOSYMBOL"]) == ("CCCAGG", "BTC", "USD")
    assert {"PRICE", "OPEN24HOUR", "HIGH24HOUR", "VOLUME24HOUR", "LASTMARKET", "MEDIAN"} <= set(btc)
    trades = [f for f in frames if f["TYPE"] == "0"]
    assert len(trades) == 20, "the last trades are replayed on subscribe"
    assert frames.index(trades[-1]) < frames.index(
        {"TYPE": "16", "MESSAGE": "SUBSCRIBECOMPLETE", "SUB": TRADES}
    )
    assert frames[-1]["INFO"] == "All your valid subs have been loaded."

    # Then partial frames: fewer fields than the snapshot, the identity always there.
    partial = recv_until(ws, lambda f: f["TYPE"] == "5")[-1]
    assert {"TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL", "FLAGS"} <= set(partial)
    assert isinstance(partial["FLAGS"], int)
    assert len(partial) < len(btc)


def test_a_guide_style_script_works_with_only_the_url_changed(sim: SimServer) -> None:
    """websocket-client's WebSocketApp, key in the URL, SubAdd in on_open, print in on_message."""
    messages: list[dict[str, Any]] = []

    def on_open(app: websocket.WebSocketApp) -> None:
        app.send(json.dumps({"action": "SubAdd", "subs": [BTC, "5~CCCAGG~FOO~USD", ETH]}))

    def on_message(app: websocket.WebSocketApp, message: str) -> None:
        messages.append(json.loads(message))
        updates_after_error = [m for m in messages[_index_of_invalid(messages) :] if m["TYPE"] == "5"]
        if len(updates_after_error) >= 6:
            app.close()

    app = websocket.WebSocketApp(f"{sim.stream_url}?api_key={KEY}", on_open=on_open, on_message=on_message)
    runner = threading.Thread(target=app.run_forever, kwargs={"ping_timeout": 1, "ping_interval": 2})
    runner.start()
    runner.join(20)
    if runner.is_alive():
        app.close()
        runner.join(5)
    assert messages[0]["TYPE"] == "20"
    invalid = [m for m in messages if m["TYPE"] == "500"]
    assert invalid == [
        {
            "TYPE": "500",
            "MESSAGE": "INVALID_SUB",
            "PARAMETER": "5~CCCAGG~FOO~USD",
            "INFO": invalid[0]["INFO"],
        }
    ]
    subscribed = [m["SUB"] for m in messages if m["TYPE"] == "16"]
    assert subscribed == [BTC, ETH]
    after = messages[_index_of_invalid(messages) :]
    assert {m["FROMSYMBOL"] for m in after if m["TYPE"] == "5"} >= {"BTC"}, "valid pairs keep streaming"
    assert "api_key=" in sim.handshakes[-1].path


def _index_of_invalid(messages: list[dict[str, Any]]) -> int:
    return next((i for i, m in enumerate(messages) if m["TYPE"] == "500"), len(messages))


def test_the_websockets_library_client_works_too(sim: SimServer) -> None:
    with websockets_connect(sim.stream_url, additional_headers={"authorization": f"Apikey {KEY}"}) as ws:
        assert json.loads(ws.recv(timeout=5))["TYPE"] == "20"
        ws.send(json.dumps({"action": "SubAdd", "subs": [ETH]}))
        assert json.loads(ws.recv(timeout=5))["FROMSYMBOL"] == "ETH"


def test_handshake_log_shows_the_key_in_the_header_not_the_url(
    sim: SimServer, clients: list[websocket.WebSocket]
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    shake = sim.handshakes[-1]
    assert shake.path == "/v2"
    assert shake.header("Authorization") == f"Apikey {KEY}"
    subscribe(ws, BTC)
    assert sim.wait_for(lambda: any(r.message == {"action": "SubAdd", "subs": [BTC]} for r in sim.received))
    assert sim.received[-1].conn_id == shake.conn_id
    assert sim.connections[0].subs == (BTC,)


def test_resubscribing_an_active_sub_is_refused(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    subscribe(ws, BTC)
    frames = subscribe(ws, BTC)
    errors = [f for f in frames if f["TYPE"] == "500"]
    assert [(e["MESSAGE"], e["PARAMETER"]) for e in errors] == [("SUBSCRIPTION_ALREADY_ACTIVE", BTC)]
    assert not [f for f in frames if f["TYPE"] == "16"]


def test_unsubscribe_sends_17_then_18_and_stops_that_pair(
    sim: SimServer, clients: list[websocket.WebSocket]
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    subscribe(ws, BTC, ETH)
    ws.send(json.dumps({"action": "SubRemove", "subs": [BTC, "5~CCCAGG~LTC~USD"]}))
    frames = recv_until(ws, lambda f: f["TYPE"] == "18")
    control = [f for f in frames if f["TYPE"] in ("17", "18", "500")]
    assert control == [
        {"TYPE": "17", "MESSAGE": "UNSUBSCRIBECOMPLETE", "SUB": BTC},
        {
            "TYPE": "500",
            "MESSAGE": "SUBSCRIPTION_UNRECOGNIZED",
            "PARAMETER": "5~CCCAGG~LTC~USD",
            "INFO": control[1]["INFO"],
        },
        {
            "TYPE": "18",
            "MESSAGE": "UNSUBSCRIBEALLCOMPLETE",
            "INFO": "Removed 1 subs.",
            "INFO_OBJ": {"valid": 1, "invalid": 1},
        },
    ]
    later = [f for f in (recv(ws) for _ in range(8)) if f["TYPE"] == "5"]
    assert later
    assert {f["FROMSYMBOL"] for f in later} == {"ETH"}


def test_bad_messages_get_500s_and_the_socket_stays_open(
    sim: SimServer, clients: list[websocket.WebSocket]
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    ws.send("this is not json")
    assert recv(ws)["MESSAGE"] == "INVALID_JSON"
    ws.send(json.dumps({"action": "Subscribe", "subs": [BTC]}))
    error = recv(ws)
    assert (error["TYPE"], error["MESSAGE"]) == ("500", "INVALID_PARAMETER")
    ws.send(json.dumps({"action": "SubAdd", "subs": ["btc-usd", "5~cccagg~btc~usd", "11~BTC", 5]}))
    frames = recv_until(ws, lambda f: f["TYPE"] == "3")
    assert [f["MESSAGE"] for f in frames[:-1]] == ["INVALID_SUB"] * 4
    assert subscribe(ws, BTC)[0]["FROMSYMBOL"] == "BTC"


@pytest.mark.parametrize("key", ["wrong", None, ""])
def test_a_wrong_or_missing_key_gets_a_401_frame_then_close(
    sim: SimServer, clients: list[websocket.WebSocket], key: str | None
) -> None:
    url = sim.stream_url if key is None else f"{sim.stream_url}?api_key={key}"
    ws = connect(clients, url, key=None)
    frames, _ = recv_until_closed(ws)
    assert len(frames) == 1
    assert frames[0]["TYPE"] == "401"
    assert frames[0]["MESSAGE"] == "UNAUTHORIZED"
    assert frames[0]["PARAMETER"] == "api_key"
    assert sim.active_sockets() == 0


def test_without_a_key_list_any_non_empty_key_is_accepted(
    make_sim: Callable[..., SimServer], clients: list[websocket.WebSocket]
) -> None:
    open_sim = make_sim()
    ws = connect(clients, open_sim.stream_url, key="anything")
    assert recv(ws)["TYPE"] == "20"
    frames, _ = recv_until_closed(connect(clients, open_sim.stream_url, key=None))
    assert frames[0]["TYPE"] == "401"
    ws.close()


def test_a_second_socket_on_the_same_key_gets_429(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    first = connect(clients, sim.stream_url)
    assert recv(first)["TYPE"] == "20"
    second = connect(clients, sim.stream_url)
    frames, _ = recv_until_closed(second)
    assert frames == [
        {
            "TYPE": "429",
            "MESSAGE": "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT",
            "INFO": "You have reached your maximum sockets open for your subscription",
        }
    ]
    # The first socket is unaffected, and once it is gone the key may connect again.
    assert subscribe(first, BTC)[0]["FROMSYMBOL"] == "BTC"
    first.close()
    assert sim.wait_for(lambda: sim.active_sockets() == 0)
    assert recv(connect(clients, sim.stream_url))["TYPE"] == "20"


def test_heartbeats(make_sim: Callable[..., SimServer], clients: list[websocket.WebSocket]) -> None:
    fast = make_sim(keys=[KEY], heartbeat_s=0.2)
    ws = connect(clients, fast.stream_url)
    recv(ws)
    beats = [recv(ws) for _ in range(3)]
    ws.close()
    assert [b["TYPE"] for b in beats] == ["999"] * 3
    assert {b["MESSAGE"] for b in beats} == {"HEARTBEAT"}
    assert all(isinstance(b["TIMEMS"], int) and b["TIMEMS"] > 1_600_000_000_000 for b in beats)


def test_two_slow_pongs_get_force_disconnect(clients: list[websocket.WebSocket]) -> None:
    with SimServer(keys=[KEY], ping_interval_s=0.2, slow_pong_s=0.1) as strict:
        ws = connect(clients, strict.stream_url)
        recv(ws)
        # websocket-client answers pings only while reading: not reading makes every pong late.
        assert strict.wait_for(lambda: strict.active_sockets() == 0, 10)
    # Read raw frames (no automatic pong: the server has gone by now).
    texts = []
    while (frame := ws.recv_frame()).opcode != websocket.ABNF.OPCODE_CLOSE:
        if frame.opcode == websocket.ABNF.OPCODE_TEXT:
            texts.append(json.loads(frame.data))
    assert texts[-1] == {"TYPE": "500", "MESSAGE": "FORCE_DISCONNECT"}


def test_rest_price_with_the_key_in_the_header(sim: SimServer) -> None:
    r = requests.get(
        f"{sim.rest_url}/data/price?fsym=BTC&tsyms=USD",
        headers={"authorization": f"Apikey {KEY}"},
        timeout=5,
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["USD"]
    assert isinstance(body["USD"], float)
    assert 50_000 < body["USD"] < 150_000
    assert sim.handshakes[-1].path == "/data/price?fsym=BTC&tsyms=USD"


def test_rest_price_with_the_key_in_the_query(sim: SimServer) -> None:
    r = requests.get(
        f"{sim.rest_url}/data/price", params={"fsym": "ETH", "tsyms": "USD,EUR", "api_key": KEY}, timeout=5
    )
    assert set(r.json()) == {"USD", "EUR"}


@pytest.mark.parametrize("headers", [{}, {"authorization": "Apikey nope"}])
def test_rest_with_a_wrong_key_is_http_401_with_the_err_shape(
    sim: SimServer, headers: dict[str, str]
) -> None:
    r = requests.get(f"{sim.rest_url}/data/price?fsym=BTC&tsyms=USD", headers=headers, timeout=5)
    assert r.status_code == 401
    body = r.json()
    assert body["Data"] == {}
    assert body["Err"]["type"] == 2
    assert body["Err"]["http_status_code"] == 401
    assert body["Err"]["message"].startswith("API key required")


def test_rest_unknown_pair_is_http_200_with_a_classic_error(sim: SimServer) -> None:
    r = requests.get(
        f"{sim.rest_url}/data/price?fsym=FOO&tsyms=USD", headers={"authorization": f"Apikey {KEY}"}, timeout=5
    )
    assert r.status_code == 200
    body = r.json()
    assert body["Response"] == "Error"
    assert body["Type"] == 1
    assert body["Message"] == "cccagg_or_exchange market does not exist for this coin pair (FOO-USD)"


def test_rest_pricemultifull(sim: SimServer) -> None:
    r = requests.get(
        f"{sim.rest_url}/data/pricemultifull?fsyms=BTC,ETH&tsyms=USD",
        headers={"authorization": f"Apikey {KEY}"},
        timeout=5,
    )
    raw = r.json()["RAW"]
    assert set(raw) == {"BTC", "ETH"}
    btc = raw["BTC"]["USD"]
    assert btc["CHANGEPCT24HOUR"] == (btc["PRICE"] - btc["OPEN24HOUR"]) / btc["OPEN24HOUR"] * 100
    assert isinstance(btc["FLAGS"], str)


def test_unknown_paths_are_404(sim: SimServer) -> None:
    assert requests.get(f"{sim.rest_url}/data/nothing", timeout=5).status_code == 404


def test_restart_refuses_connections_for_a_moment_then_listens_on_the_same_port(
    sim: SimServer, clients: list[websocket.WebSocket]
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    port = sim.port
    restarter = threading.Thread(target=sim.restart, kwargs={"down_s": 0.5})
    restarter.start()
    _, code = recv_until_closed(ws)  # the server closed it (the listener was closed before)
    assert code == 1001
    refused = 0
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "the simulator never came back"
        try:
            again = connect(clients, sim.stream_url, timeout=2)
            break
        except ConnectionRefusedError:
            refused += 1
            time.sleep(0.05)  # a client's reconnect loop
    restarter.join(10)
    assert refused > 0
    assert recv(again)["TYPE"] == "20"
    assert sim.port == port
    assert sim.welcomed_total == 2


@pytest.mark.parametrize("reset", [False, True])
def test_drop_all_aborts_without_a_close_frame(
    sim: SimServer, clients: list[websocket.WebSocket], reset: bool
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    subscribe(ws, BTC)
    sim.drop_all(reset=reset)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionResetError)):
        read_until_error(ws)
    assert sim.wait_for(lambda: sim.active_sockets() == 0)


def test_freeze_stops_all_traffic_and_pongs_without_closing(
    sim: SimServer, clients: list[websocket.WebSocket]
) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    subscribe(ws, BTC, ETH)
    recv(ws)
    sim.freeze()
    # Frames already in flight may still arrive; then nothing, not even a pong.
    drain_until_quiet(ws, 0.5)
    ws.ping(b"are you there")
    ws.settimeout(1.0)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv_data(control_frame=True)
    assert sim.connections[0].frozen
    assert ws.connected
    # A half-open socket does not hold the key's socket slot: the client can reconnect.
    assert recv(connect(clients, sim.stream_url))["TYPE"] == "20"
    sim.freeze(False)
    ws.settimeout(5)
    opcode, frame = ws.recv_data(control_frame=True)
    while opcode != websocket.ABNF.OPCODE_PONG:
        opcode, frame = ws.recv_data(control_frame=True)
    assert frame == b"are you there"
    assert recv_until(ws, lambda f: f["TYPE"] == "5")


def test_stop_is_prompt_with_a_frozen_client(clients: list[websocket.WebSocket]) -> None:
    server = SimServer(keys=[KEY]).start()
    ws = connect(clients, server.stream_url)
    recv(ws)
    server.freeze()
    server.stop()
    ws.settimeout(5)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()


def test_keys_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, clients: list[websocket.WebSocket]
) -> None:
    secret = "s3cr3t-key-value"
    caplog.set_level(logging.DEBUG)
    with SimServer(keys=[secret]) as server:
        recv(connect(clients, f"{server.stream_url}?api_key={secret}", key=None))
        recv(connect(clients, server.stream_url, key="other-wrong-key"))
        requests.get(f"{server.rest_url}/data/price?fsym=BTC&tsyms=USD&api_key={secret}", timeout=5)
        requests.get(
            f"{server.rest_url}/data/price?fsym=BTC&tsyms=USD",
            headers={"authorization": f"Apikey {secret}"},
            timeout=5,
        )
        for ws in clients:
            ws.close()
    # Only the simulator's records: the clients (urllib3 here) log URLs with keys themselves.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ccdesk.sim"))
    assert "GET /v2" in ours, "websockets' debug log was not captured"
    assert "authorization: ***" in ours
    assert secret not in ours
    assert "other-wrong-key" not in ours


def test_force_disconnect(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    sim.force_disconnect()
    frames, _ = recv_until_closed(ws)
    assert frames[-1] == {"TYPE": "500", "MESSAGE": "FORCE_DISCONNECT"}


def test_send_raw_delivers_hostile_frames(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    huge = "x" * 3_000_000
    sim.send_raw("not json at all {")
    sim.send_raw(b"\x00\xffbinary")
    sim.send_raw(huge)
    sim.send_frame({"TYPE": 5, "MARKET": "CCCAGG"})
    got = [ws.recv() for _ in range(4)]
    assert got == ["not json at all {", b"\x00\xffbinary", huge, '{"TYPE":5,"MARKET":"CCCAGG"}']


def test_set_rate_zero_stops_updates(sim: SimServer, clients: list[websocket.WebSocket]) -> None:
    ws = connect(clients, sim.stream_url)
    recv(ws)
    subscribe(ws, BTC)
    recv(ws)
    sim.set_rate(0)
    drain_until_quiet(ws, 0.5)
    sim.set_rate(50)
    ws.settimeout(5)
    assert recv(ws)["TYPE"] == "5"


def test_firehose_sends_exactly_the_limit_each_with_a_new_price(
    make_sim: Callable[..., SimServer], clients: list[websocket.WebSocket]
) -> None:
    limit = 10_000
    hose = make_sim(keys=[KEY], firehose=True, firehose_limit=limit)
    ws = connect(clients, hose.stream_url)
    recv(ws)
    snapshot = subscribe(ws, BTC)[0]
    last = snapshot["PRICE"]
    for _ in range(limit):
        frame = recv(ws)
        assert frame["TYPE"] == "5"
        assert frame["FROMSYMBOL"] == "BTC"
        assert frame["PRICE"] != last
        assert frame["FLAGS"] & 3 in (1, 2)
        last = frame["PRICE"]
    assert hose.wait_for(lambda: len(hose.firehose_runs) == 1)
    run = hose.firehose_runs[0]
    assert run.frames == limit
    assert run.bytes > limit * 100


def test_run_prints_its_urls_and_stops_on_sigterm(tmp_path: Any) -> None:
    code = "from ccdesk.sim.server import run; run(0, ['K'], 5.0, 0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        # One SOURCE: URL line per dialect (CryptoCompare's streamer first), then the REST base.
        names = ["cryptocompare", "kraken", "coinbase", "binance", "okx", "coindesk", "rest"]
        lines = [proc.stdout.readline().strip() for _ in names]
        assert [line.split(": ")[0] for line in lines] == names
        stream_line, rest_line = lines[0], lines[-1]
        assert stream_line.startswith("cryptocompare: ws://127.0.0.1:")
        assert stream_line.endswith("/v2")
        assert rest_line.startswith("rest: http://127.0.0.1:")
        port = int(rest_line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
