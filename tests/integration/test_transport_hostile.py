"""The transport against a hostile server (tests/hostile.py) over real loopback sockets.

RFC 6455 violations and absurd lengths fail the connection with the right close code (read back
from what the server received) and later frames are never silently lost; trickled and fragmented
frames are reassembled; the upgrade's outcomes are typed; a redirect is never followed, so the
key never reaches the host it names; an error answer cannot make the client read without bound;
and a stuck connect can be abandoned at once without leaving a socket open.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from ccdesk.core.sources.cryptocompare import CryptoCompareParser
from ccdesk.core.transport import (
    CloseCause,
    Closed,
    ConnectAttempt,
    ConnectError,
    ConnectFailure,
    Connection,
    Message,
    TransportOptions,
    open_connection,
)
from ccdesk.core.wire import Malformed
from tests.hostile import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    HostileServer,
    Peer,
    close_frame,
    frame,
)

KEY = "hostile-key-0123456789abcdef"
AUTH = [f"authorization: Apikey {KEY}"]
FAST = TransportOptions(connect_timeout_s=5.0)
SLOW = TransportOptions(connect_timeout_s=30.0)  # longer than any wait below: a hang would show
BEFORE, AFTER = b'{"before":1}', b'{"after":1}'


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


@pytest.fixture
def key_watch(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log record of the test, at every level, must be free of the key."""
    caplog.set_level(logging.DEBUG)
    yield
    assert KEY not in caplog.text


def upgrade_then(*data: bytes) -> Callable[[Peer], None]:
    """A handler: accept the upgrade, then send ``data`` (each item in one write)."""

    def handler(peer: Peer) -> None:
        peer.accept()
        for d in data:
            peer.send(d)

    return handler


def answer(raw: bytes, *, then_wait_eof: bool = False) -> Callable[[Peer], None]:
    """A handler: wait for the request, send ``raw`` as the whole answer."""

    def handler(peer: Peer) -> None:
        peer.request()
        peer.send(raw)
        if then_wait_eof:
            peer.wait_eof(SLOW.connect_timeout_s)

    return handler


def read_until_closed(conn: Connection, timeout_s: float = 5.0) -> tuple[list[Message], Closed]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got.extend(conn.read(deadline - time.monotonic()))
        except Closed as exc:
            return got, exc
    raise AssertionError(f"the connection stayed open; got {got!r}")


def read_n(conn: Connection, n: int, timeout_s: float = 5.0) -> list[Message]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {got!r}"
        got.extend(conn.read(left))
    return got


def sizes(messages: list[Message]) -> list[object]:
    """Messages as comparable values: bytes as they are, markers as (type name, size)."""
    return [m if isinstance(m, bytes) else (type(m).__name__, m.size) for m in messages]


def connect_error(url: str, options: TransportOptions = FAST) -> ConnectError:
    with pytest.raises(ConnectError) as info:
        open_connection(url, AUTH, options)
    return info.value


# --- the reader: RFC 6455 violations fail the connection with 1002 ---------------------------

VIOLATIONS = [
    pytest.param(frame(b"hi", mask=b"\x01\x02\x03\x04"), "masked frame", id="masked-frame"),
    pytest.param(frame(b"x", rsv=0x40), "reserved bits", id="rsv1"),
    pytest.param(frame(b"x", rsv=0x20), "reserved bits", id="rsv2"),
    pytest.param(frame(b"x", OP_PING, rsv=0x10), "reserved bits", id="rsv3-on-a-ping"),
    pytest.param(
        frame(b'{"a":', fin=False) + frame(b'{"b":2}'), "unfinished fragmented", id="text-inside-fragmented"
    ),
    pytest.param(
        frame(b'{"a":', fin=False) + frame(b"\x00", OP_BINARY),
        "unfinished fragmented",
        id="binary-inside-fragmented",
    ),
    pytest.param(frame(b"p", OP_PING, fin=False), "fragmented control", id="fragmented-ping"),
    pytest.param(frame(b"p" * 126, OP_PING), "longer than 125", id="ping-of-126-bytes"),
    pytest.param(frame(b"\x03", OP_CLOSE), "1-byte payload", id="close-with-1-byte-payload"),
    pytest.param(frame(b"tail", OP_CONT), "no message in progress", id="continuation-without-a-start"),
    pytest.param(frame(b"x", 0x3), "unknown opcode", id="data-opcode-3"),
    pytest.param(frame(b"x", 0xB), "unknown opcode", id="control-opcode-0xb"),
    pytest.param(frame(b"", length=1 << 63), "most significant bit", id="64-bit-length-msb-set"),
    pytest.param(frame(b"", length=(1 << 64) - 1), "most significant bit", id="64-bit-length-all-ones"),
]


@pytest.mark.parametrize(("raw", "why"), VIOLATIONS)
def test_a_protocol_violation_fails_the_connection_with_1002(
    server: HostileServer, raw: bytes, why: str, key_watch: None
) -> None:
    server.handler = upgrade_then(frame(BEFORE) + raw + frame(AFTER))
    conn = open_connection(server.url(), AUTH, FAST)
    got, closed = read_until_closed(conn)
    assert got == [BEFORE]  # what came before the violation is delivered; nothing after it is trusted
    assert closed.code == 1002
    assert closed.cause is CloseCause.PROTOCOL_ERROR
    assert closed.failed_locally
    assert closed.reason.startswith("protocol error:")
    assert why in closed.reason
    assert closed.reason != "closed by server"  # the stream tells the two apart by this
    peer = server.wait_peer()
    assert peer.wait_close().close_code == 1002
    assert peer.wait_eof()
    assert conn.closed


# --- the reader: size caps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(1 << 62, id="2^62"),
        pytest.param(2 * 1024 * 1024, id="2MiB"),
        pytest.param(1024 * 1024 + 1, id="cap+1"),
    ],
)
def test_a_frame_over_the_hard_cap_fails_with_1009_instead_of_swallowing_the_stream(
    server: HostileServer, declared: int
) -> None:
    # Before: the reader set out to skip `declared` bytes and silently ate every later frame.
    server.handler = upgrade_then(frame(BEFORE) + frame(b"", length=declared) + frame(AFTER) * 100)
    conn = open_connection(server.url(), AUTH, FAST)
    got, closed = read_until_closed(conn)
    assert got == [BEFORE]
    assert closed.code == 1009
    assert closed.cause is CloseCause.TOO_BIG
    assert closed.failed_locally
    assert server.wait_peer().wait_close().close_code == 1009


def test_a_fragmented_message_whose_running_total_passes_the_hard_cap_fails_with_1009(
    server: HostileServer,
) -> None:
    options = TransportOptions(connect_timeout_s=5.0, max_message_bytes=1024, fail_message_bytes=4096)
    server.handler = upgrade_then(
        frame(BEFORE)
        + frame(b"a" * 3000, fin=False)  # over the soft limit: skipped, reported once
        + frame(b"ping", OP_PING)
        + frame(b"b" * 1000, OP_CONT, fin=False)  # 4000 in all: still skipped
        + frame(b"c" * 97, OP_CONT)  # 4097: over the hard cap
        + frame(AFTER)
    )
    conn = open_connection(server.url(), AUTH, options)
    got, closed = read_until_closed(conn)
    assert sizes(got) == [BEFORE, ("Oversized", 3000)]
    assert closed.code == 1009
    peer = server.wait_peer()
    assert peer.wait_close().close_code == 1009
    assert [f.payload for f in peer.frames if f.opcode == OP_PONG] == [b"ping"]  # answered mid-message


def test_oversized_messages_up_to_the_hard_cap_are_skipped_and_every_later_frame_arrives(
    server: HostileServer,
) -> None:
    options = TransportOptions(connect_timeout_s=5.0, max_message_bytes=1024, fail_message_bytes=300_000)
    server.handler = upgrade_then(
        frame(BEFORE),
        frame(b"x" * 300_000),  # exactly at the hard cap: skipped, not failed
        frame(b"a" * 800, fin=False) + frame(b"p1", OP_PING) + frame(b"b" * 800, OP_CONT),
        frame(b"\x00" * 2000, OP_BINARY),
        frame(AFTER),
        frame(b'{"last":1}'),
    )
    conn = open_connection(server.url(), AUTH, options)
    got = read_n(conn, 6)
    assert sizes(got) == [
        BEFORE,
        ("Oversized", 300_000),
        ("Oversized", 1600),
        ("Oversized", 2000),
        AFTER,
        b'{"last":1}',
    ]
    peer = server.wait_peer()
    assert peer.wait_frame(lambda f: f.opcode == OP_PONG).payload == b"p1"
    conn.close()


# --- the reader: trickled and fragmented frames ----------------------------------------------------

MIXED = [
    frame(b'{"seven":1}'),  # 7-bit length
    frame(b'{"sixteen":"' + b"s" * 300 + b'"}'),  # 16-bit length
    frame(b'{"sixty-four":1}', length_bytes=8),  # 64-bit length encoding of a small payload
    frame(b'{"frag', fin=False)
    + frame(b"p1", OP_PING)
    + frame(b'mented":', OP_CONT, fin=False)
    + frame(b"", OP_PONG)
    + frame(b"", OP_CONT, fin=False)  # an empty continuation
    + frame(b"p2", OP_PING)
    + frame(b"1}", OP_CONT),
    frame(b"\x00\x01", OP_BINARY),
    frame(b'{"end":1}'),
]
EXPECTED = [
    b'{"seven":1}',
    b'{"sixteen":"' + b"s" * 300 + b'"}',
    b'{"sixty-four":1}',
    b'{"fragmented":1}',
    ("Binary", 2),
    b'{"end":1}',
]


@pytest.mark.parametrize("trickled", [False, True], ids=["whole", "one-byte-per-write"])
def test_trickled_and_fragmented_frames_with_pings_inside_are_reassembled(
    server: HostileServer, trickled: bool
) -> None:
    blob = b"".join(MIXED)

    def handler(peer: Peer) -> None:
        peer.accept()
        if trickled:
            peer.trickle(blob, delay_s=0.0005)
        else:
            peer.send(blob)

    server.handler = handler
    conn = open_connection(server.url(), AUTH, FAST)
    assert sizes(read_n(conn, len(EXPECTED), timeout_s=20.0)) == EXPECTED
    assert conn.pongs_received == 1
    peer = server.wait_peer()
    peer.wait_frame(lambda f: f.opcode == OP_PONG and f.payload == b"p2")
    pongs = [f for f in peer.frames if f.opcode == OP_PONG]
    assert [f.payload for f in pongs] == [b"p1", b"p2"]
    assert all(f.masked for f in pongs)  # a client masks every frame
    conn.close()


def test_invalid_utf8_text_is_passed_up_intact_and_the_stream_goes_on(server: HostileServer) -> None:
    # The reader does not validate UTF-8 (that would cost the hot path); the parser reports it.
    server.handler = upgrade_then(frame(b'{"bad":"\xff\xfe"}') + frame(AFTER))
    conn = open_connection(server.url(), AUTH, FAST)
    got = read_n(conn, 2)
    assert got == [b'{"bad":"\xff\xfe"}', AFTER]
    assert isinstance(CryptoCompareParser(1024).parse(got[0]), Malformed)
    conn.close()


# --- closing ------------------------------------------------------------------------------------


def test_a_close_frame_from_the_server_is_reported_as_closed_by_server(server: HostileServer) -> None:
    server.handler = upgrade_then(frame(BEFORE) + close_frame(1001, b"going away") + frame(AFTER))
    conn = open_connection(server.url(), AUTH, FAST)
    got, closed = read_until_closed(conn)
    assert got == [BEFORE]
    assert (closed.reason, closed.code, closed.cause) == ("closed by server", 1001, CloseCause.PEER)
    assert not closed.failed_locally
    assert server.wait_peer().wait_close().close_code == 1000


def test_close_sends_the_code_and_reason_given(server: HostileServer) -> None:
    server.handler = upgrade_then()
    conn = open_connection(server.url(), AUTH, FAST)
    with pytest.raises(ValueError, match="1005"):
        conn.close(1005)  # reserved: never sent on the wire
    assert not conn.closed
    conn.close(4001, "bye")
    conn.close(1000)  # idempotent: the first code stands
    peer = server.wait_peer()
    close = peer.wait_close()
    assert (close.close_code, close.close_reason) == (4001, b"bye")
    assert peer.wait_eof()
    assert [f.opcode for f in peer.frames] == [OP_CLOSE]


# --- the upgrade: typed outcomes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (401, ConnectFailure.HANDSHAKE_UNAUTHORIZED),
        (403, ConnectFailure.FORBIDDEN),
        (429, ConnectFailure.HANDSHAKE_RATE_LIMITED),
        (451, ConnectFailure.GEO_BLOCKED),
        (404, ConnectFailure.HANDSHAKE_REJECTED),
        (407, ConnectFailure.HANDSHAKE_REJECTED),
        (500, ConnectFailure.HANDSHAKE_REJECTED),
        (503, ConnectFailure.HANDSHAKE_REJECTED),
        (200, ConnectFailure.NOT_WEBSOCKET),
        (204, ConnectFailure.NOT_WEBSOCKET),
        (300, ConnectFailure.REDIRECTED),
        (304, ConnectFailure.REDIRECTED),
    ],
)
def test_upgrade_answers_map_to_typed_failures(
    server: HostileServer, status: int, failure: ConnectFailure, key_watch: None
) -> None:
    def handler(peer: Peer) -> None:
        peer.request()
        peer.reply(status, headers=[("Content-Type", "text/html")], body=b"<html><p>nope</p></html>")

    server.handler = handler
    err = connect_error(server.url())
    assert err.failure is failure
    assert err.http_status == status
    assert err.detail == f"HTTP {status} on upgrade" or failure is ConnectFailure.REDIRECTED
    assert KEY not in str(err)
    assert server.wait_peer().wait_eof()  # the client hung up: no socket left behind


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 44\r\nConnection: close\r\n\r\n"
            b"<html><body>Log in to the Wi-Fi</body></html>",
            id="captive-portal",
        ),
        pytest.param(
            b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\n\r\n<!DOCTYPE html>", id="plain-http-server"
        ),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", id="not-http-at-all"),
    ],
)
def test_an_answer_that_is_not_a_websocket_upgrade_is_not_websocket(
    server: HostileServer, raw: bytes
) -> None:
    server.handler = answer(raw, then_wait_eof=True)
    err = connect_error(server.url())
    assert err.failure is ConnectFailure.NOT_WEBSOCKET
    assert server.wait_peer().wait_eof()


def test_a_101_with_a_wrong_accept_key_is_not_websocket(server: HostileServer) -> None:
    server.handler = lambda peer: (peer.accept(accept="d3JvbmcgYWNjZXB0IGtleQ=="), None)[1]
    err = connect_error(server.url())
    assert err.failure is ConnectFailure.NOT_WEBSOCKET
    assert err.http_status == 101


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_so_the_key_never_reaches_its_target(
    status: int, key_watch: None
) -> None:
    with HostileServer(upgrade_then()) as target, HostileServer() as origin:
        location = f"ws://127.0.0.1:{target.port}/steal?token=SECRET-TOKEN"

        def handler(peer: Peer) -> None:
            peer.request()
            peer.reply(status, headers=[("Location", location)])

        origin.handler = handler
        err = connect_error(origin.url())
        assert err.failure is ConnectFailure.REDIRECTED
        assert err.http_status == status
        assert err.redirect_host == f"127.0.0.1:{target.port}"  # the host alone: no path, no token
        assert "SECRET-TOKEN" not in str(err)
        assert "/steal" not in str(err)
        peer = origin.wait_peer()
        assert peer.request().header("authorization") == f"Apikey {KEY}"  # the intended server
        assert peer.wait_eof()
        with pytest.raises(TimeoutError):
            target.wait_peer(timeout_s=0.5)  # not even a TCP connection
        assert target.peers == []
        assert len(origin.peers) == 1


def test_an_error_answer_announcing_2_gb_is_not_read(server: HostileServer) -> None:
    # websocket-client reads a whole Content-Length body of an error answer into memory. Here the
    # body never ends: a client that tried to read it would hang until its 30 s timeout.
    head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 2000000000\r\n\r\n"
    server.handler = answer(head + b"x" * 65536, then_wait_eof=True)
    attempt = ConnectAttempt.start(server.url(), AUTH, SLOW)
    try:
        assert attempt.done.wait(5.0), "the client is reading the body"
        with pytest.raises(ConnectError) as info:
            attempt.result()
        assert info.value.failure is ConnectFailure.FORBIDDEN
        assert server.wait_peer().wait_eof()
    finally:
        attempt.cancel()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 200_000, id="endless-header-line"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\n" + b"X-A: b\r\n" * 20_000, id="endless-headers"),
        pytest.param(b"A" * 200_000, id="endless-status-line"),
    ],
)
def test_an_endless_answer_head_is_cut_off(server: HostileServer, raw: bytes) -> None:
    server.handler = answer(raw, then_wait_eof=True)
    attempt = ConnectAttempt.start(server.url(), AUTH, SLOW)
    try:
        assert attempt.done.wait(5.0), "the client is still reading the head"
        with pytest.raises(ConnectError) as info:
            attempt.result()
        assert info.value.failure is ConnectFailure.NOT_WEBSOCKET
        assert server.wait_peer().wait_eof()
    finally:
        attempt.cancel()


def test_the_whole_upgrade_shares_one_deadline(server: HostileServer) -> None:
    # One byte every 0.2 s never trips a per-read timeout of 1 s; the upgrade's deadline does.
    def handler(peer: Peer) -> None:
        peer.request()
        peer.trickle(b"HTTP/1.1 101 Switching Protocols\r\n" + b"X-Slow: yes\r\n" * 20, delay_s=0.2)

    server.handler = handler
    attempt = ConnectAttempt.start(server.url(), AUTH, TransportOptions(connect_timeout_s=1.0))
    try:
        assert attempt.done.wait(5.0)
        with pytest.raises(ConnectError) as info:
            attempt.result()
        assert info.value.failure is ConnectFailure.TIMEOUT
    finally:
        attempt.cancel()


# --- ConnectAttempt ----------------------------------------------------------------------------------


def test_a_connect_attempt_delivers_a_working_connection_and_cancel_closes_it(server: HostileServer) -> None:
    server.handler = upgrade_then(frame(b'{"TYPE":"20"}'))
    attempt = ConnectAttempt.start(server.url(), AUTH, FAST)
    assert attempt.done.wait(5.0)
    conn = attempt.result()
    assert attempt.result() is conn
    assert read_n(conn, 1) == [b'{"TYPE":"20"}']
    conn.send_text('{"action":"SubAdd"}')
    peer = server.wait_peer()
    sent = peer.wait_frame(lambda f: f.opcode == OP_TEXT)
    assert (sent.payload, sent.masked) == (b'{"action":"SubAdd"}', True)
    attempt.cancel()  # the caller gave up after all: the connection is closed, not leaked
    assert conn.closed
    assert peer.wait_close().close_code == 1000
    assert peer.wait_eof()
    with pytest.raises(ConnectError) as info:
        attempt.result()
    assert info.value.failure is ConnectFailure.CANCELLED
    assert attempt.settled.wait(5.0)


def test_a_silent_server_can_be_abandoned_at_once_and_the_socket_is_closed(server: HostileServer) -> None:
    # No handler: the server accepts TCP, reads, and never answers the upgrade.
    attempt = ConnectAttempt.start(server.url(), AUTH, SLOW)
    assert not attempt.done.is_set()
    peer = server.wait_peer()
    assert peer.request().header("authorization") == f"Apikey {KEY}"  # now waiting for an answer
    started = time.monotonic()
    attempt.cancel()
    assert attempt.done.is_set()
    assert time.monotonic() - started < 0.5
    with pytest.raises(ConnectError) as info:
        attempt.result()
    assert info.value.failure is ConnectFailure.CANCELLED
    assert peer.wait_eof(10.0), "the abandoned socket is still open"
    assert attempt.settled.wait(10.0)
    assert "hostile-key" not in repr(attempt)


def _syn_sent_to(port: int) -> bool:
    """A local socket is in SYN_SENT towards 127.0.0.1:``port`` (Linux: /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return any(r[2] == f"0100007F:{port:04X}" and r[3] == "02" for r in rows)


def test_a_socket_the_abandoned_attempt_gets_later_is_closed_before_the_key_is_sent() -> None:
    # A listener whose accept queue is full drops SYNs: the attempt's TCP connect hangs until
    # a retransmitted SYN finds room, long after the cancel.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    accepted: list[socket.socket] = []
    try:
        attempt = ConnectAttempt.start(f"ws://127.0.0.1:{port}/v2", AUTH, SLOW)
        deadline = time.monotonic() + 5.0
        while not _syn_sent_to(port):  # waits on the kernel's own state, bounded
            assert time.monotonic() < deadline, "the attempt never started its TCP connect"
            time.sleep(0.01)
        started = time.monotonic()
        attempt.cancel()
        assert attempt.done.is_set()
        assert time.monotonic() - started < 0.5
        listener.settimeout(10.0)
        accepted.append(listener.accept()[0])  # the filler: makes room for the attempt's SYN
        accepted.append(listener.accept()[0])  # the attempt's connection, completed after the cancel
        late = accepted[1]
        late.settimeout(5.0)
        assert late.recv(4096) == b"", "the late socket was used"  # EOF, and no request: no key
        assert attempt.settled.wait(5.0)
        with pytest.raises(ConnectError) as info:
            attempt.result()
        assert info.value.failure is ConnectFailure.CANCELLED
    finally:
        for s in (*accepted, filler, listener):
            s.close()


def test_result_before_the_attempt_finished_is_an_error(server: HostileServer) -> None:
    attempt = ConnectAttempt.start(server.url(), AUTH, SLOW)
    try:
        server.wait_peer().request()
        with pytest.raises(RuntimeError, match="not finished"):
            attempt.result()
    finally:
        attempt.cancel()
    assert attempt.settled.wait(5.0)


def test_open_connection_still_classifies_a_refused_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    err = connect_error(f"ws://127.0.0.1:{port}/v2")
    assert err.failure is ConnectFailure.REFUSED
