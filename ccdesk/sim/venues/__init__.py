"""The venues the simulator plays besides CryptoCompare's streamer: one dialect each on one market."""

from __future__ import annotations

from ccdesk.sim.config import SimConfig
from ccdesk.sim.market import Market
from ccdesk.sim.venues.base import Venue, VenueConn
from ccdesk.sim.venues.binance import BinanceVenue
from ccdesk.sim.venues.coinbase import CoinbaseVenue
from ccdesk.sim.venues.coindesk import CoinDeskVenue
from ccdesk.sim.venues.kraken import KrakenVenue
from ccdesk.sim.venues.okx import OkxVenue

VENUE_TYPES: tuple[type[Venue], ...] = (KrakenVenue, CoinbaseVenue, BinanceVenue, OkxVenue, CoinDeskVenue)
"""Every venue served, each at its own path (``Venue.path``)."""


def make_venues(market: Market, config: SimConfig) -> dict[str, Venue]:
    """One instance of each venue on ``market``, by path."""
    return {cls.path: cls(market, config) for cls in VENUE_TYPES}


__all__ = ["VENUE_TYPES", "Venue", "VenueConn", "make_venues"]
