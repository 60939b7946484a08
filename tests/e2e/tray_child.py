"""A tray icon showing a given price, for the tray e2e tests: ``python tray_child.py PRICE OPEN SCHEME
[menu] [tick]``. Prints ``shown`` once the icon is in the tray (``menu``: and its menu is open; ``tick``:
then BTC's price rises by 1 every 100 ms), then runs until its stdin closes."""

from __future__ import annotations

import sys
import threading
from dataclasses import replace

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication

from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.tray import Tray
from ccdesk.qt.tray_icon import Scheme


def main() -> None:
    price, open_24h, scheme = float(sys.argv[1]), float(sys.argv[2]), Scheme(sys.argv[3])
    menu = "menu" in sys.argv[4:]
    tick = "tick" in sys.argv[4:]
    app = QApplication(sys.argv[:1])
    tray = Tray()
    tray.set_scheme(scheme)
    tray.set_price_in_icon(True)
    quotes = [
        Quote(
            Pair(Source.KRAKEN, "BTC", "USD"), price, PriceDirection.UP, open_24h=open_24h, received_at=0.0
        ),
        Quote(
            Pair(Source.KRAKEN, "ETH", "USD"), 3102.4, PriceDirection.DOWN, open_24h=3180.0, received_at=0.0
        ),
        Quote(Pair(Source.KRAKEN, "SOL", "USD"), 152.31, PriceDirection.UP, open_24h=149.9, received_at=0.0),
    ]
    freshness = Freshness.everywhere(0.0, 1e9)
    tray.set_quotes(quotes, quotes[0].sub, 1.0, freshness)
    tray.set_paused(None)

    def rise() -> None:
        first = quotes[0]
        assert first.price is not None
        quotes[0] = replace(first, price=first.price + 1.0)
        tray.set_quotes(quotes, quotes[0].sub, 1.0, freshness)

    ticker = QTimer()
    ticker.timeout.connect(rise)

    def show() -> None:
        if not tray.available():
            QTimer.singleShot(50, show)
            return
        tray.show()
        if menu:
            QTimer.singleShot(300, lambda: tray._menu.popup(QPoint(900, 40)))
        QTimer.singleShot(800 if menu else 500, lambda: print("shown", flush=True))
        if tick:
            ticker.start(100)

    QTimer.singleShot(0, show)
    threading.Thread(target=lambda: (sys.stdin.read(), app.quit()), daemon=True).start()
    app.exec()


if __name__ == "__main__":
    main()
