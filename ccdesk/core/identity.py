"""The app's name, which keys its settings file, keyring entry and single-instance socket.

Tests set ``CCDESK_APP_NAME`` (e.g. ``ccdesk-test``) so they never touch the user's real ones.
Kept tiny and import-free: the window's first paint depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

ENV_APP_NAME: Final = "CCDESK_APP_NAME"
DEFAULT_APP_NAME: Final = "ccdesk"


def app_name_from_env(env: Mapping[str, str]) -> str:
    """The application name: ``CCDESK_APP_NAME`` if set and non-blank, else ``ccdesk``."""
    return env.get(ENV_APP_NAME, "").strip() or DEFAULT_APP_NAME
