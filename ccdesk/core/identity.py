"""Who ccdesk is and where it talks to: the app's name (which keys its settings file, keyring entry
and single-instance socket), the default endpoints, and where API keys are made.

Tests set ``CCDESK_APP_NAME`` (e.g. ``ccdesk-test``) so they never touch the user's real ones.
Kept tiny and import-free: the window's first paint depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

ENV_APP_NAME: Final = "CCDESK_APP_NAME"
DEFAULT_APP_NAME: Final = "ccdesk"

DEFAULT_STREAM_URL: Final = "wss://streamer.cryptocompare.com/v2"
"""CryptoCompare's streamer v2."""
DEFAULT_REST_URL: Final = "https://min-api.cryptocompare.com"
"""CryptoCompare's min-api (the key check)."""
KEYS_URL: Final = "https://www.cryptocompare.com/cryptopian/api-keys"
"""Where a CryptoCompare API key is made."""
DEFAULT_COINDESK_REST_URL: Final = "https://data-api.coindesk.com"
"""CoinDesk Data's data API (its key check: ``/index/cc/v1/latest/tick``)."""
COINDESK_KEYS_URL: Final = "https://developers.coindesk.com/settings/api-keys"
"""Where a CoinDesk Data API key is made."""


def app_name_from_env(env: Mapping[str, str]) -> str:
    """The application name: ``CCDESK_APP_NAME`` if set and non-blank, else ``ccdesk``."""
    return env.get(ENV_APP_NAME, "").strip() or DEFAULT_APP_NAME
