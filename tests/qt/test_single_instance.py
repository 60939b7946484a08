"""Single instance: the first claims the name, later launches bring it forward, stale files are reclaimed."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, QProcess
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from ccdesk.qt.single_instance import SingleInstance, server_name, user_id


@pytest.fixture
def app_name() -> str:
    return f"ccdesk-test-si-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def instances(qapp) -> Iterator[list[SingleInstance]]:
    made: list[SingleInstance] = []
    yield made
    for inst in made:
        inst.release()
        inst.deleteLater()


def make(instances: list[SingleInstance], app_name: str) -> SingleInstance:
    inst = SingleInstance(app_name)
    instances.append(inst)
    return inst


def test_name_is_per_app_and_per_user(monkeypatch) -> None:
    assert user_id() == str(os.getuid())
    assert server_name("ccdesk") == f"ccdesk-{os.getuid()}"
    assert server_name("we/ird name") == f"we_ird_name-{os.getuid()}"
    assert server_name(env={"CCDESK_APP_NAME": "other"}) == f"other-{os.getuid()}"
    assert server_name(env={}) == f"ccdesk-{os.getuid()}"
    monkeypatch.setenv("CCDESK_APP_NAME", "ccdesk-test")
    assert SingleInstance().name == f"ccdesk-test-{os.getuid()}"


def test_second_launch_brings_the_first_forward(qtbot: QtBot, instances, app_name: str) -> None:
    first = make(instances, app_name)
    assert first.claim() is True
    path = first.full_server_path()
    assert path is not None
    assert Path(path).exists()

    second = make(instances, app_name)
    with qtbot.waitSignal(first.activation_requested, timeout=3000):
        assert second.claim() is False
    assert second.full_server_path() is None

    third = make(instances, app_name)  # and again: each launch is answered
    with qtbot.waitSignal(first.activation_requested, timeout=3000):
        assert third.claim() is False


def test_after_release_the_next_launch_becomes_first(qtbot: QtBot, instances, app_name: str) -> None:
    first = make(instances, app_name)
    assert first.claim()
    path = first.full_server_path()
    first.release()
    assert path is not None
    assert not Path(path).exists()
    assert make(instances, app_name).claim() is True


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files only")
def test_a_stale_socket_file_from_a_crash_is_reclaimed(qtbot: QtBot, instances, app_name: str) -> None:
    inst = make(instances, app_name)
    stale = Path(QDir.tempPath()) / inst.name
    # What a crashed instance leaves behind: a socket file nobody listens on.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    assert stale.exists()

    assert inst.claim() is True
    assert inst.full_server_path() == str(stale)
    later = make(instances, app_name)
    with qtbot.waitSignal(inst.activation_requested, timeout=3000):
        assert later.claim() is False


def test_unknown_messages_do_not_activate(qtbot: QtBot, instances, app_name: str) -> None:
    inst = make(instances, app_name)
    assert inst.claim()
    sock = QLocalSocket()
    sock.connectToServer(inst.name)
    assert sock.waitForConnected(1000)
    with qtbot.assertNotEmitted(inst.activation_requested, wait=200):
        sock.write(b"format c:\n")
        assert sock.waitForBytesWritten(1000)
    # The instance hangs up after one message.
    qtbot.waitUntil(lambda: sock.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=3000)


CHILD = """
import sys
from PySide6.QtCore import QCoreApplication
from ccdesk.qt.single_instance import SingleInstance
app = QCoreApplication(sys.argv)
print("first" if SingleInstance(sys.argv[1]).claim() else "handed over", flush=True)
"""


def test_a_second_process_hands_over(qtbot: QtBot, instances, app_name: str) -> None:
    inst = make(instances, app_name)
    assert inst.claim()
    proc = QProcess()
    proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
    with qtbot.waitSignal(inst.activation_requested, timeout=20000):
        proc.start(sys.executable, ["-c", CHILD, app_name])
        assert proc.waitForStarted(5000)
    # The event loop must run while the child talks to us, so wait for it without blocking.
    qtbot.waitUntil(lambda: proc.state() == QProcess.ProcessState.NotRunning, timeout=20000)
    assert proc.exitCode() == 0, bytes(proc.readAllStandardError().data()).decode()
    assert bytes(proc.readAllStandardOutput().data()).decode().strip() == "handed over"
