"""The buffered frame reader, over a real socketpair: framing, control frames, hostile sizes."""

import socket
import struct

import pytest
import websocket

from ccdesk.core.transport import Binary, Closed, Connection, Oversized


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
    conn = Connection(ws, max_message_bytes=1024)
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
    conn._max = 1 << 20
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


@pytest.mark.parametrize(
    "raw",
    [
        bytes([0x81 | 0x40, 1]) + b"x",  # RSV1 without an extension
        bytes([0x89, 126]) + struct.pack("!H", 200) + b"p" * 200,  # control frame > 125
        bytes([0x83, 1]) + b"x",  # reserved opcode
        frame(b"x", op=0x0),  # continuation with no start
    ],
)
def test_protocol_violations_end_the_connection(pair, raw):
    conn, peer = pair
    peer.sendall(raw)
    with pytest.raises(Closed, match="protocol error"):
        conn.read(2.0)


def test_close_from_another_thread_wakes_the_reader(pair):
    import threading

    conn, _peer = pair
    threading.Timer(0.1, conn.close).start()
    with pytest.raises(Closed):
        conn.read(5.0)
