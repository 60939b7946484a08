"""The price sources: one dialect per source on the shared stream engine (see ``base``)."""

from __future__ import annotations

from ccdesk.core.pairs import Source
from ccdesk.core.sources.base import Dialect, SourceInfo


def dialect_for(source: Source) -> Dialect:
    """The dialect that streams ``source``'s pairs.

    Raises:
        ValueError: for the composite source, which is computed from the others, not streamed.
    """
    # Imported here: each dialect module is loaded only when its source is used.
    if source is Source.CRYPTOCOMPARE:
        from ccdesk.core.sources.cryptocompare import CryptoCompare

        return CryptoCompare()
    if source is Source.KRAKEN:
        from ccdesk.core.sources.kraken import Kraken

        return Kraken()
    if source is Source.COINBASE:
        from ccdesk.core.sources.coinbase import Coinbase

        return Coinbase()
    if source is Source.BINANCE:
        from ccdesk.core.sources.binance import Binance

        return Binance()
    if source is Source.OKX:
        from ccdesk.core.sources.okx import Okx

        return Okx()
    if source is Source.COINDESK:
        from ccdesk.core.sources.coindesk import CoinDesk

        return CoinDesk()
    raise ValueError(f"no dialect streams {source.value}")


def source_info(source: Source) -> SourceInfo:
    """The facts about a streamed source."""
    return dialect_for(source).info


__all__ = ["Dialect", "SourceInfo", "dialect_for", "source_info"]
