"""A price window as a user sees it a while after start: five pairs with half an hour of prices, one
venue back from a reconnect, one pair stale; and a dark palette. For the window's tests and the
screenshots (``tests/e2e/window_shots.py``)."""

from __future__ import annotations

import random

from PySide6.QtGui import QColor, QPalette

from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.price_window import PriceWindow
from ccdesk.qt.quote_model import QuoteTableModel

NOW = 1000.0
WATCHLIST = (
    Pair(Source.KRAKEN, "BTC", "USD"),
    Pair(Source.KRAKEN, "ETH", "USD"),
    Pair(Source.KRAKEN, "SOL", "USD"),
    Pair(Source.BINANCE, "BTC", "USDT"),
    Pair(Source.KRAKEN, "DOGE", "USD"),
)
PRICES = {
    "BTC": (91230.12, 89100.0),
    "ETH": (3102.55, 3150.0),
    "SOL": (152.31, 149.0),
    "DOGE": (0.1706, 0.1711),
}


def filled_window(*, gap: bool = True) -> PriceWindow:
    """A window with five pairs, half an hour of prices each (BTC/USD with a reconnect gap), live."""
    model = QuoteTableModel()
    model.set_watchlist(list(WATCHLIST))
    sessions = {Source.KRAKEN: 0.0, Source.BINANCE: 0.0}
    model.set_live_since(sessions)
    times = list(range(100, 1000, 6))
    rng = random.Random(10)
    walks: dict[Pair, list[float]] = {}
    for i, sub in enumerate(WATCHLIST):
        drift = 0.0009 if i % 2 else -0.0007  # some pairs rise over the half hour, some fall
        walk = [PRICES[sub.base][0] * (1.0004 if sub.source is Source.BINANCE else 1)]
        for _ in times[1:]:
            walk.append(walk[-1] * (1 - drift + rng.gauss(0, 0.0016)))
        walks[sub] = walk[::-1]  # ends at the price shown
    for k, t in enumerate(times):
        if gap and t == 500:
            model.set_live_since({Source.BINANCE: 0.0})  # Kraken dropped...
        skip = gap and 500 <= t < 600
        if gap and t == 600:
            model.set_live_since({Source.KRAKEN: 600.0, Source.BINANCE: 0.0})  # ...and came back
        quotes = []
        for sub in WATCHLIST:
            stale = sub.base == "DOGE" and t > NOW - 95
            if (skip and sub.source is Source.KRAKEN) or stale:
                continue
            quotes.append(
                Quote(
                    sub, walks[sub][k], PriceDirection.UP, open_24h=PRICES[sub.base][1], received_at=float(t)
                )
            )
        model.update_quotes(quotes)
    final = [
        Quote(
            sub,
            walks[sub][-1],
            PriceDirection.UP,
            open_24h=PRICES[sub.base][1],
            received_at=NOW - (0.4 + i if sub.base != "DOGE" else 95),
        )
        for i, sub in enumerate(WATCHLIST)
    ]
    model.update_quotes(final)
    window = PriceWindow(model, AlertHistoryModel())
    window.close_to_tray = True
    window.status_line.show_connections(
        Connections(
            {
                Source.KRAKEN: Status(State.CONNECTED, Reason.WELCOMED),
                Source.BINANCE: Status(State.CONNECTED, Reason.WELCOMED),
            }
        )
    )
    return window


def dark_palette() -> QPalette:
    p = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#202226"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#17181b"),
        (QPalette.ColorRole.AlternateBase, "#222429"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#2b2d32"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#2f6fb5"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.Mid, "#3a3d42"),
    ):
        p.setColor(role, QColor(color))
    return p
