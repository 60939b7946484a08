"""One ccdesk per user: the first instance listens on a local socket; later launches ask it to come forward.

The socket name is per user (the app name plus the user id), so two users on one machine each get
their own instance, and tests (``CCDESK_APP_NAME=ccdesk-test``) never meet the user's real one.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ccdesk.core.identity import app_name_from_env

log = logging.getLogger(__name__)

SHOW_MESSAGE = b"show\n"
CONNECT_TIMEOUT_MS = 500
WRITE_TIMEOUT_MS = 1000
_MAX_MESSAGE_BYTES = 256
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def user_id() -> str:
    """The numeric user id on POSIX, the user name elsewhere (Windows)."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    try:
        return _UNSAFE.sub("_", getpass.getuser()) or "user"
    except OSError:  # no user name in the environment or password database
        return "user"


def server_name(app_name: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The local socket name for ``app_name`` (default: ``CCDESK_APP_NAME`` or ``ccdesk``) and this user.

    A plain name: Qt puts it in the temporary directory on Unix, and makes a named pipe on Windows.
    """
    name = app_name if app_name is not None else app_name_from_env(os.environ if env is None else env)
    safe = _UNSAFE.sub("_", name.strip()) or "ccdesk"
    return f"{safe}-{user_id()}"


class _Peer(QObject):
    """One later launch talking to us: reads its one-line message, then goes away."""

    def __init__(self, socket: QLocalSocket, owner: SingleInstance) -> None:
        super().__init__(owner)
        self._socket = socket
        self._owner = owner
        self._buffer = b""
        socket.setParent(self)
        socket.readyRead.connect(self._on_socket_ready_read)
        socket.disconnected.connect(self._on_socket_disconnected)
        self._on_socket_ready_read()  # the message may have arrived before we connected

    @Slot()
    def _on_socket_ready_read(self) -> None:
        self._buffer += bytes(self._socket.readAll().data())
        if b"\n" not in self._buffer and len(self._buffer) < _MAX_MESSAGE_BYTES:
            return
        line = self._buffer.split(b"\n", 1)[0].strip()
        self._buffer = b""
        if line == SHOW_MESSAGE.strip():
            self._owner._on_peer_show()
        else:
            log.info("ignored an unknown message from another launch (%d bytes)", len(line))
        self._socket.disconnectFromServer()

    @Slot()
    def _on_socket_disconnected(self) -> None:
        self.deleteLater()


class SingleInstance(QObject):
    """Makes sure one instance runs per user and app name.

    Call :meth:`claim` early at start-up (it blocks for at most ~1.5 s, and normally for well
    under a millisecond).

    Signals:
        activation_requested(): a later launch asked this instance to show its window.
    """

    activation_requested = Signal()

    def __init__(self, app_name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = server_name(app_name)
        self._server: QLocalServer | None = None

    @property
    def name(self) -> str:
        """The local socket's name."""
        return self._name

    def full_server_path(self) -> str | None:
        """Where we listen (a socket file on Unix, a pipe on Windows), or None if we do not."""
        return self._server.fullServerName() if self._server is not None else None

    def claim(self) -> bool:
        """Become the one instance, or hand over to the running one.

        Returns:
            True if this is the first instance: it now listens for later launches. Also True,
            with a warning logged, if neither listening nor reaching a running instance worked,
            so that a broken socket directory never stops the app from starting.
            False if another instance is running: it has been asked to come forward, and this
            process should exit.
        """
        if self._server is not None:
            return True
        if self._ask_running_instance():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # Nobody answered: any socket file with our name is left over from a crash. Without
        # removing it, listen() fails with AddressInUseError.
        QLocalServer.removeServer(self._name)
        if not server.listen(self._name):
            error = server.errorString()
            # Another launch may have won the race between our connect and our listen.
            if self._ask_running_instance():
                server.deleteLater()
                return False
            log.warning("cannot listen for later launches on %s: %s; running anyway", self._name, error)
            server.deleteLater()
            return True
        server.newConnection.connect(self._on_server_new_connection)
        self._server = server
        log.debug("single instance: listening on %s", server.fullServerName())
        return True

    @Slot()
    def release(self) -> None:
        """Stop listening (at quit); on Unix this also removes the socket file."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None

    def _ask_running_instance(self) -> bool:
        """True if an instance answered on our name and was sent the show message."""
        sock = QLocalSocket()
        sock.connectToServer(self._name)
        if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        sock.write(SHOW_MESSAGE)
        sent = sock.waitForBytesWritten(WRITE_TIMEOUT_MS)
        sock.disconnectFromServer()
        if sock.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            sock.waitForDisconnected(CONNECT_TIMEOUT_MS)
        if not sent:
            log.warning("another instance is running but did not take the show message")
        return True

    @Slot()
    def _on_server_new_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            if sock is not None:
                _Peer(sock, self)

    def _on_peer_show(self) -> None:
        log.info("another launch asked us to come forward")
        self.activation_requested.emit()
