"""Holdings through the controller with the real simulator, stream thread and store (offscreen): a
holding set from the dialog is kept in the store, its value follows the live price, the tray's
tooltip adds the total, and after a restart the holding is back from the store. Never in the settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ccdesk.core.holdings import Holding
from ccdesk.core.settings import Settings
from ccdesk.core.store import Store
from ccdesk.qt.quote_model import QuoteTableModel as M
from tests.pairs import BTC, ETH
from tests.qt.test_controller import Harness


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=50.0, seed=5)


def value_text(h: Harness, sub) -> str:
    row = [r.sub for r in h.model.rows()].index(sub)
    return str(h.model.index(row, M.VALUE).data(Qt.ItemDataRole.DisplayRole) or "")


def test_a_holding_follows_the_price_and_is_back_after_a_restart(qtbot, sim, tmp_path):
    path = tmp_path / "kept.sqlite3"
    settings = Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=())
    first = Harness(qtbot, tmp_path, sim=sim, settings=settings, store_path=path)
    try:
        first.controller.start()
        qtbot.waitUntil(lambda: set(first.live_rows()) == {BTC, ETH}, timeout=5000)
        first.window.select_pair(BTC)
        first.window.holding_action.trigger()  # the row menu's "Holding…"
        dialog = first.controller.portfolio.dialog
        assert dialog is not None
        assert dialog.sub == BTC
        assert "is at" in dialog.preview.text()  # the price from the controller
        dialog.quantity.setText("0.5")
        dialog.cost.setText("20000")
        dialog.save_button.click()
        assert first.model.holding(BTC) == Holding(BTC, 0.5, 20_000.0)
        # The value follows the price as it ticks.
        seen: set[str] = set()

        def moved() -> bool:
            price = first.controller.current_price(BTC)
            text = value_text(first, BTC)
            seen.add(text)
            return price is not None and text == f"{0.5 * price:,.2f}" and len(seen) >= 3

        qtbot.waitUntil(moved, timeout=10000)
        first.window.refresh(first.controller._clock.monotonic())
        assert first.window.totals_text().startswith("Total USD ")
        first.tray.refresh(first.controller._clock.monotonic())
        assert any(line.startswith("Portfolio USD ") for line in first.tray.tooltip().splitlines())
        # Never in the settings file.
        saved = " ".join(f"{k}={v}" for k, v in first.store.values.items())
        assert "20000" not in saved
        assert "holding" not in saved.lower()
        first.controller.portfolio.set_holding(Holding(ETH, 3.0))
        first.controller.portfolio.remove_holding(ETH)
        assert first.model.holding(ETH) is None
    finally:
        first.close()
    kept = Store.open(path)
    assert kept.holdings() == [Holding(BTC, 0.5, 20_000.0)]
    kept.close()
    second = Harness(qtbot, tmp_path, sim=sim, settings=settings, store_path=path)
    try:
        second.controller.start()
        qtbot.waitUntil(lambda: second.model.holding(BTC) == Holding(BTC, 0.5, 20_000.0), timeout=5000)
        qtbot.waitUntil(lambda: value_text(second, BTC) != "", timeout=5000)
        assert second.model.holding(ETH) is None
    finally:
        second.close()
