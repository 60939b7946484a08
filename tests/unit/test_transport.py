"""The buffered frame reader, over a real socketpair: framing, control frames, hostile sizes.

Over-the-wire tests against a scripted hostile server are in tests/integration/test_transport_hostile.py.
"""

import socket
import struct

import pytest
import websocket

from ccdesk.core.transport import Binary, CloseCause, Closed, Connection, Oversized, TransportOptions


def frame(payload: bytes, op: int = 0x1, fin: bool = True) -> bytes:
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    if n < 126:
        head = bytes([b0, n])
    elif n < 65536:
        head = bytes([b0, 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, 127]) + struct.pack("!Q", n)
    return head + payload


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
    ws.sock = ours
    ws.connected = True
    conn = Connection(ws, max_message_bytes=1024, fail_message_bytes=8192)
    yield conn, theirs
    conn.close()
    theirs.close()


def read_all(conn, n_expected, timeout=2.0):
    out = []
    while len(out) < n_expected:
        got = conn.read(timeout)
        assert got, "timed out"
        out.extend(got)
    return out


def test_many_frames_in_one_read_and_frames_split_across_reads(pair):
    conn, peer = pair
    blob = b"".join(frame(b'{"n":%d}' % i) for i in range(50))
    peer.sendall(blob[:777])
    first = conn.read(2.0)
    peer.sendall(blob[777:])
    rest = read_all(conn, 50 - len(first))
    assert [*first, *rest] == [b'{"n":%d}' % i for i in range(50)]


def test_16_and_64_bit_lengths(pair):
    conn, peer = pair
    conn._max = conn._fail_at = 1 << 20
    medium, large = b"m" * 300, b"L" * 70000
    peer.sendall(frame(medium) + frame(large))
    assert read_all(conn, 2) == [medium, large]


def test_fragmented_message_is_reassembled(pair):
    conn, peer = pair
    peer.sendall(frame(b'{"a":', fin=False) + frame(b"1", op=0x0, fin=False) + frame(b"}", op=0x0))
    assert read_all(conn, 1) == [b'{"a":1}']


def test_oversized_message_is_skipped_without_buffering_and_the_stream_goes_on(pair):
    conn, peer = pair
    peer.sendall(frame(b"x" * 5000)[:3000])  # header plus part of the payload
    first = conn.read(2.0)
    assert len(first) == 1
    assert isinstance(first[0], Oversized)
    assert first[0].size == 5000
    assert len(conn._buf) == 0
    peer.sendall(frame(b"x" * 5000)[3000:] + frame(b"after"))
    assert read_all(conn, 1) == [b"after"]


def test_oversized_fragmented_message_is_dropped_whole(pair):
    conn, peer = pair
    peer.sendall(
        frame(b"a" * 800, fin=False)
        + frame(b"b" * 800, op=0x0, fin=False)
        + frame(b"c", op=0x0)
        + frame(b"ok")
    )
    got = read_all(conn, 2)
    assert isinstance(got[0], Oversized)
    assert got[1] == b"ok"


def test_binary_messages_are_marked(pair):
    conn, peer = pair
    peer.sendall(frame(b"\x00\x01", op=0x2) + frame(b"t"))
    got = read_all(conn, 2)
    assert isinstance(got[0], Binary)
    assert got[1] == b"t"


def test_ping_is_answered_with_a_pong(pair):
    conn, peer = pair
    peer.sendall(frame(b"hi", op=0x9))
    assert conn.read(0.5) == []
    peer.settimeout(2)
    data = peer.recv(100)
    assert data[0] & 0x0F == 0xA  # pong
    mask = data[2:6]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(data[6:])) == b"hi"


def test_messages_before_a_close_frame_are_delivered_first(pair):
    conn, peer = pair
    peer.sendall(frame(b'{"TYPE":"401"}') + frame(struct.pack("!H", 1000), op=0x8))
    assert conn.read(2.0) == [b'{"TYPE":"401"}']
    with pytest.raises(Closed) as info:
        conn.read(2.0)
    assert info.value.code == 1000


def test_eof_without_close_frame(pair):
    conn, peer = pair
    peer.shutdown(socket.SHUT_WR)
    with pytest.raises(Closed, match="without a close frame"):
        conn.read(2.0)


def close_sent(peer: socket.socket) -> tuple[int, bytes]:
    """The close frame the client sent on ``peer``: (code, reason)."""
    peer.settimeout(2)
    data = b""
    while len(data) < 2 or len(data) < 6 + (data[1] & 0x7F):
        chunk = peer.recv(256)
        assert chunk, f"no close frame, got {data!r}"
        data += chunk
    assert data[0] == 0x88  # FIN + close
    n = data[1] & 0x7F
    mask = data[2:6]
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(data[6 : 6 + n]))
    return struct.unpack("!H", body[:2])[0], body[2:]


@pytest.mark.parametrize(
    "raw",
    [
        bytes([0x81 | 0x40, 1]) + b"x",  # RSV1 without an extension
        bytes([0x89, 126]) + struct.pack("!H", 200) + b"p" * 200,  # control frame > 125
        bytes([0x83, 1]) + b"x",  # reserved opcode
        frame(b"x", op=0x0),  # continuation with no start
        bytes([0x81, 0x82]) + b"abcd" + b"xy",  # masked by the server
        bytes([0x09, 0]),  # fragmented ping
        frame(b"\x03", op=0x8),  # close with a 1-byte body
        frame(b"a", fin=False) + frame(b"b"),  # a new message inside a fragmented one
        bytes([0x81, 127]) + struct.pack("!Q", 1 << 63),  # 64-bit length, top bit set
    ],
)
def test_protocol_violations_fail_the_connection_with_1002(pair, raw):
    conn, peer = pair
    peer.sendall(raw)
    with pytest.raises(Closed, match="protocol error") as info:
        conn.read(2.0)
    assert (info.value.code, info.value.cause) == (1002, CloseCause.PROTOCOL_ERROR)
    assert close_sent(peer)[0] == 1002
    with pytest.raises(Closed, match="closed locally"):
        conn.read(0.1)


def test_a_frame_over_the_hard_cap_fails_with_1009_from_its_header_alone(pair):
    conn, peer = pair
    peer.sendall(frame(b"ok") + bytes([0x81, 126]) + struct.pack("!H", 8193))  # no payload sent
    assert conn.read(2.0) == [b"ok"]
    with pytest.raises(Closed, match="message too big") as info:
        conn.read(2.0)
    assert (info.value.code, info.value.cause) == (1009, CloseCause.TOO_BIG)
    assert close_sent(peer)[0] == 1009


def test_skipping_is_bounded_by_the_hard_cap(pair):
    conn, peer = pair
    peer.sendall(frame(b"s" * 8192)[:100])  # at the cap: skipped as it arrives
    assert [type(m) for m in conn.read(2.0)] == [Oversized]
    assert conn._skip == 8192 - 96
    peer.sendall(b"s" * (8192 - 96) + frame(b"next"))
    assert read_all(conn, 1) == [b"next"]


def test_frames_fed_one_byte_per_read_are_reassembled(pair):
    conn, peer = pair
    blob = (
        frame(b"seven")
        + frame(b"m" * 300)
        + frame(b"frag", fin=False)
        + frame(b"hi", op=0x9)
        + frame(b"ment", op=0x0)
        + frame(b"\x00", op=0x2)
    )
    got = []
    for i in range(len(blob)):
        peer.sendall(blob[i : i + 1])
        got.extend(conn.read(2.0))  # returns once the byte is in; a frame completes on its last byte
    assert [m if isinstance(m, bytes) else type(m) for m in got] == [
        b"seven",
        b"m" * 300,
        b"fragment",
        Binary,
    ]


def test_options_keep_the_soft_limit_under_the_hard_cap():
    assert TransportOptions().fail_message_bytes == 1024 * 1024
    assert TransportOptions().max_message_bytes == 64 * 1024
    with pytest.raises(ValueError, match="max_message_bytes"):
        TransportOptions(max_message_bytes=2048, fail_message_bytes=1024)


def test_close_from_another_thread_wakes_the_reader(pair):
    import threading

    conn, _peer = pair
    threading.Timer(0.1, conn.close).start()
    with pytest.raises(Closed):
        conn.read(5.0)
