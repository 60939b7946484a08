"""Where each source is streamed from, and where each provider's key is checked: the default
endpoint, or an override from the command line, the environment (``CCDESK_<SOURCE>_URL``, e.g.
``CCDESK_KRAKEN_URL``; ``CCDESK_COINDESK_REST_URL``) or the settings. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ccdesk.core.api_key import KeyProvider
from ccdesk.core.pairs import Source

ENV_STREAM_URL: Final = "CCDESK_STREAM_URL"
"""The CryptoCompare streamer's override, from before there were other sources."""

ENV_REST_URLS: Final = {
    KeyProvider.CRYPTOCOMPARE: "CCDESK_REST_URL",
    KeyProvider.COINDESK: "CCDESK_COINDESK_REST_URL",
}
"""The variables that override where each provider's key is checked."""


def env_url_name(source: Source) -> str:
    """The environment variable that overrides ``source``'s endpoint: ``CCDESK_KRAKEN_URL``."""
    return f"CCDESK_{source.name}_URL"


def stream_url(
    source: Source,
    *,
    flag: str | None = None,
    env: Mapping[str, str] | None = None,
    setting: str | None = None,
) -> str:
    """The endpoint to stream ``source`` from: ``flag`` (the command line), else the environment
    (``CCDESK_<SOURCE>_URL``; for CryptoCompare also ``CCDESK_STREAM_URL``), else ``setting``,
    else the source's default. Not validated here (``ccdesk.core.urls.check_url`` does that)."""
    if flag:
        return flag
    env = env or {}
    for name in (env_url_name(source), ENV_STREAM_URL if source is Source.CRYPTOCOMPARE else ""):
        value = env.get(name, "").strip() if name else ""
        if value:
            return value
    if setting:
        return setting
    from ccdesk.core.sources import source_info

    return source_info(source).default_url


def key_check_url(
    provider: KeyProvider, *, env: Mapping[str, str] | None = None, setting: str | None = None
) -> str | None:
    """The REST base URL a ``provider``'s key is checked against: the environment
    (``CCDESK_REST_URL``, ``CCDESK_COINDESK_REST_URL``), else ``setting`` (the settings' min-api URL,
    CryptoCompare only), else None for the provider's default."""
    env = env or {}
    value = env.get(ENV_REST_URLS[provider], "").strip()
    if value:
        return value
    return setting if provider is KeyProvider.CRYPTOCOMPARE and setting else None
