"""Screenshots of the holdings (offscreen): the window with holdings, P/L and the totals per quote
currency in light and dark, and the holding dialog saying what is wrong. Run
``python -m tests.e2e.holdings_shots OUT_DIR`` and look at them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from ccdesk.core.holdings import Holding
from ccdesk.qt.holding_dialog import HoldingDialog
from tests.window_scene import NOW, WATCHLIST, dark_palette, filled_window

BTC, ETH, SOL, BTC_USDT, DOGE = WATCHLIST
HOLDINGS = {
    BTC: Holding(BTC, 0.5, 38_000.0),
    ETH: Holding(ETH, 4.0, 14_000.0),
    SOL: Holding(SOL, 25.0),
    BTC_USDT: Holding(BTC_USDT, 0.1, 8_000.0),
    DOGE: Holding(DOGE, 5_000.0, 600.0),
}


def shoot_dialog(window: QWidget, path: Path) -> None:
    """The dialog as a user who typed a negative cost basis sees it: what is wrong, said."""
    dialog = HoldingDialog(ETH, HOLDINGS[ETH], (3102.55, True), window)
    dialog.cost.setText("-14000")
    dialog.save_button.click()  # says what is wrong, keeps the text
    dialog.show()
    QApplication.processEvents()
    dialog.grab().save(str(path))
    dialog.close()


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    window = filled_window()
    window.model.set_holdings(HOLDINGS)
    for name, palette in (("holdings.png", None), ("holdings-dark.png", dark_palette())):
        if palette is not None:
            app.setPalette(palette)
        window.resize(860, 340)
        window.show()
        QApplication.processEvents()
        window.refresh(NOW)
        window.update_totals()
        QApplication.processEvents()
        window.grab().save(str(out / name))
        if palette is None:
            shoot_dialog(window, out / "holding-dialog.png")
    window.close_to_tray = True
    window.hide()
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/artifacts/holdings"))
