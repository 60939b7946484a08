"""A keyring backend whose reads never return, like a Secret Service waiting on an unlock prompt.

For tests/e2e/test_quit.py only: the app (a child process) selects it with
``PYTHON_KEYRING_BACKEND=hanging_keyring.HangingKeyring`` and this folder on ``PYTHONPATH``. Each
call first appends its name to the file named by ``CCDESK_TEST_KEYRING_CALLS``, so the test knows
the app is waiting on it.
"""

from __future__ import annotations

import os
import threading

from keyring.backend import KeyringBackend

_NEVER = threading.Event()


class HangingKeyring(KeyringBackend):
    """Every call records itself and then blocks forever."""

    priority = 1  # keyring reads it on the class

    def _hang(self, call: str) -> None:
        with open(os.environ["CCDESK_TEST_KEYRING_CALLS"], "a") as f:
            f.write(call + "\n")
        _NEVER.wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._hang("get_password")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang("set_password")

    def delete_password(self, service: str, username: str) -> None:
        self._hang("delete_password")
