"""Holdings in the window (offscreen): the columns appear with a holding, value and P/L with their
colours in light and dark, the totals line per quote currency (incomplete with a stale price), the
holding columns give way first in a narrow window, sorting still works, the dialog says what is wrong,
and the tray tooltip adds the totals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.freshness import Freshness
from ccdesk.core.holdings import Holding
from ccdesk.core.pairs import Source
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.holding_dialog import HoldingDialog
from ccdesk.qt.quote_model import DARK_COLORS, LIGHT_COLORS, QuoteTableModel
from ccdesk.qt.tray import Tray
from ccdesk.wording import tooltip_text
from tests.window_scene import NOW, WATCHLIST, dark_palette, filled_window

M = QuoteTableModel
BTC, ETH, SOL, BTC_USDT, DOGE = WATCHLIST


def cell(window, sub, col):
    model = window.model
    row = [r.sub for r in model.rows()].index(sub)
    return model.index(row, col)


def price(window, sub) -> float:
    p = cell(window, sub, M.PRICE).data(Qt.ItemDataRole.DisplayRole)
    return float(p.replace(",", ""))


@pytest.fixture
def window(qtbot):
    w = filled_window()
    qtbot.addWidget(w)
    w.resize(900, 330)
    w.show()
    w.refresh(NOW)
    return w


def shown_columns(window) -> set[int]:
    header = window.table.horizontalHeader()
    return {c for c in range(window.model.columnCount()) if not header.isSectionHidden(c)}


def test_the_holding_columns_appear_only_with_a_holding(qtbot, window):
    assert not shown_columns(window) & set(M.HOLDING_COLUMNS)
    assert not window.totals_line.isVisibleTo(window)
    window.model.set_holdings({BTC: Holding(BTC, 0.5, 30_000.0)})
    assert set(M.HOLDING_COLUMNS) <= shown_columns(window)
    assert window.totals_line.isVisible()
    # After the 24 h change, before the trend.
    header = window.table.horizontalHeader()
    assert [header.logicalIndex(v) for v in range(M.LAST + 1)] == [
        M.PAIR, M.PRICE, M.CHANGE, M.HOLDING, M.VALUE, M.PL, M.TREND, M.AGE
    ]  # fmt: skip
    window.model.set_holdings({})
    assert not shown_columns(window) & set(M.HOLDING_COLUMNS)
    assert not window.totals_line.isVisibleTo(window)


def test_value_and_profit_or_loss_with_colours_in_light_and_dark(qtbot, window):
    btc, eth = price(window, BTC), price(window, ETH)
    window.model.set_holdings(
        {BTC: Holding(BTC, 0.5, 30_000.0), ETH: Holding(ETH, 2.0, 2 * eth + 1000.0), SOL: Holding(SOL, 3.0)}
    )
    text = lambda sub, col: cell(window, sub, col).data(Qt.ItemDataRole.DisplayRole)  # noqa: E731
    color = lambda sub, col: cell(window, sub, col).data(Qt.ItemDataRole.ForegroundRole)  # noqa: E731
    assert text(BTC, M.HOLDING) == "0.5 BTC"
    assert text(BTC, M.VALUE) == f"{0.5 * btc:,.2f}"
    profit = 0.5 * btc - 30_000
    assert text(BTC, M.PL) == f"+{profit:,.2f} (+{profit / 30_000 * 100:.2f}%)"
    assert text(ETH, M.PL).startswith("-1,000.00 (")
    assert text(SOL, M.PL) == ""  # no cost basis, no P/L
    assert text(SOL, M.VALUE) != ""
    assert text(DOGE, M.HOLDING) == ""  # no holding
    tip = cell(window, BTC, M.PRICE).data(Qt.ItemDataRole.ToolTipRole)
    assert f"holding 0.5 BTC, worth {0.5 * btc:,.2f} USD; P/L +{profit:,.2f}" in tip
    assert "against 30,000.00 USD paid" in tip
    assert "cost basis" in window.model.headerData(
        M.PL, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    assert color(BTC, M.PL) == LIGHT_COLORS.up
    assert color(ETH, M.PL) == LIGHT_COLORS.down
    window.setPalette(dark_palette())
    window.follow_color_scheme()
    assert window.is_dark()
    assert color(BTC, M.PL) == DARK_COLORS.up
    assert color(ETH, M.PL) == DARK_COLORS.down
    assert DARK_COLORS.up.name() in window.totals_text()


def test_totals_per_quote_currency_and_a_stale_price_makes_its_total_incomplete(qtbot, window):
    btc, usdt = price(window, BTC), price(window, BTC_USDT)
    window.model.set_holdings(
        {BTC: Holding(BTC, 1.0, 50_000.0), BTC_USDT: Holding(BTC_USDT, 2.0), DOGE: Holding(DOGE, 1000.0)}
    )
    window.update_totals()
    lines = window.totals_text().split("<br>")
    assert len(lines) == 2  # USD and USDT, never summed
    assert lines[0].startswith(f"Total USD {btc:,.2f} · P/L ")
    assert "incomplete: no live price for DOGE/USD · Kraken" in lines[0]  # DOGE is stale in the scene
    assert lines[1] == f"Total USDT {2 * usdt:,.2f}"
    (usd, tether) = window.model.portfolio_totals()
    assert (usd.currency, usd.value, usd.complete) == ("USD", btc, False)
    assert (tether.currency, tether.complete) == ("USDT", True)


def test_a_holding_of_a_pair_not_watched_is_kept_but_not_counted(qtbot, window):
    other = Holding(BTC_USDT.__class__(Source.COINBASE, "ETH", "EUR"), 1.0)
    window.model.set_holdings({BTC: Holding(BTC, 1.0), other.sub: other})
    window.update_totals()
    assert "Not counted (not watched): ETH/EUR · Coinbase" in window.totals_text()
    assert [t.currency for t in window.model.portfolio_totals()] == ["USD"]


def test_the_holding_columns_give_way_first_and_price_and_age_stay(qtbot, window):
    window.model.set_holdings({BTC: Holding(BTC, 0.5, 30_000.0)})
    window.resize(1100, 330)
    qtbot.waitUntil(lambda: set(M.HOLDING_COLUMNS) <= shown_columns(window), timeout=1000)
    window.resize(560, 330)
    qtbot.waitUntil(lambda: not shown_columns(window) & {M.HOLDING, M.PL}, timeout=1000)
    assert {M.PRICE, M.AGE, M.CHANGE} <= shown_columns(window)
    window.resize(250, 330)
    qtbot.waitUntil(lambda: not shown_columns(window) & set(M.HOLDING_COLUMNS), timeout=1000)
    assert {M.PRICE, M.AGE} <= shown_columns(window)


def test_sorting_by_value_puts_the_pairs_without_a_holding_last(qtbot, window):
    window.model.set_holdings({BTC: Holding(BTC, 0.01), ETH: Holding(ETH, 10.0), SOL: Holding(SOL, 1.0)})
    order = lambda: [  # noqa: E731
        window.proxy.index(r, M.PAIR).data(Qt.ItemDataRole.DisplayRole).split(" · ")[0]
        for r in range(window.proxy.rowCount())
    ]
    window.set_sort(M.VALUE, Qt.SortOrder.DescendingOrder)
    assert order()[:3] == ["ETH/USD", "BTC/USD", "SOL/USD"]  # 31k, 912, 152
    assert set(order()[3:]) == {"BTC/USDT", "DOGE/USD"}
    window.set_sort(M.VALUE, Qt.SortOrder.AscendingOrder)
    assert order()[:3] == ["SOL/USD", "BTC/USD", "ETH/USD"]
    assert window.view_state()["sort"] == "value:asc"
    window.set_sort(M.PRICE, Qt.SortOrder.DescendingOrder)  # the other columns still sort
    assert order()[0] == "BTC/USDT"


def test_the_row_menu_asks_for_the_holding_of_its_row(qtbot, window):
    window.select_pair(ETH)
    with qtbot.waitSignal(window.holding_requested, timeout=1000) as blocker:
        window.holding_action.trigger()
    assert blocker.args == [ETH]
    assert "&Holding…" in [a.text() for a in window.row_menu().actions()]


def new_holding_dialog(qtbot) -> tuple[HoldingDialog, list[Holding]]:
    """A shown dialog for a new BTC holding at 80,000, and the list of what it saved."""
    dialog = HoldingDialog(BTC, None, (80_000.0, True))
    qtbot.addWidget(dialog)
    dialog.show()
    saved: list[Holding] = []
    dialog.saved.connect(saved.append)
    return dialog, saved


def test_the_dialog_says_what_is_wrong_and_never_corrects_a_number(qtbot):
    dialog, saved = new_holding_dialog(qtbot)
    assert not dialog.remove_button.isEnabled()  # nothing to remove yet
    for typed, problem in (
        ("", "Enter how much"),
        ("abc", "not a number"),
        ("-1", "more than 0"),
        ("0", "more than 0"),
    ):
        dialog.quantity.setText(typed)
        dialog.save_button.click()
        assert saved == []
        assert dialog.quantity_problem.isVisible()
        assert problem in dialog.quantity_problem.text()
        assert dialog.quantity.text() == typed  # left as typed
    dialog.quantity.setText("0.5")
    assert not dialog.quantity_problem.isVisible()  # checked again as it is typed
    dialog.cost.setText("-10")
    dialog.save_button.click()
    assert saved == []
    assert "below 0" in dialog.cost_problem.text()
    assert "Worth" not in dialog.preview.text()  # nothing worked out from a wrong number
    dialog.cost.setText("30,000")
    assert "Worth 40,000.00 USD" in dialog.preview.text()
    assert "P/L +10,000.00 (+33.33%)" in dialog.preview.text()
    dialog.save_button.click()
    assert saved == [Holding(BTC, 0.5, 30_000.0)]
    assert dialog.result() == dialog.DialogCode.Accepted


def test_a_decimal_comma_is_half_a_coin_and_a_long_problem_is_shown_whole(qtbot):
    dialog, saved = new_holding_dialog(qtbot)
    dialog.quantity.setText("abc")
    dialog.save_button.click()
    # The message wraps to two lines; the dialog grows so that neither is cut off.
    label = dialog.quantity_problem
    assert label.height() >= label.heightForWidth(label.width()) > label.fontMetrics().height()
    assert label.geometry().bottom() < dialog.preview.geometry().top()
    assert dialog.layout().totalHeightForWidth(dialog.width()) <= dialog.height()
    dialog.quantity.setText("0,5")  # a decimal comma: 0.5, never 5 (the comma dropped)
    assert "Worth 40,000.00 USD" in dialog.preview.text()
    dialog.save_button.click()
    assert saved == [Holding(BTC, 0.5, None)]


def test_the_dialog_edits_and_removes_an_existing_holding(qtbot):
    dialog = HoldingDialog(BTC, Holding(BTC, 1.25, 1_000.0), None)
    qtbot.addWidget(dialog)
    assert (dialog.quantity.text(), dialog.cost.text()) == ("1.25", "1000")
    assert "No price" in dialog.preview.text()
    with qtbot.waitSignal(dialog.removed, timeout=1000) as blocker:
        dialog.remove_button.click()
    assert blocker.args == [BTC]
    cleared = HoldingDialog(BTC, Holding(BTC, 1.0, 5.0), None)
    qtbot.addWidget(cleared)
    got: list[Holding] = []
    cleared.saved.connect(got.append)
    cleared.cost.setText("")  # the cost basis is optional
    cleared.save_button.click()
    assert got == [Holding(BTC, 1.0, None)]


def test_the_tray_tooltip_adds_the_portfolio_totals(qtbot):
    model = QuoteTableModel()
    model.set_watchlist([BTC, BTC_USDT])
    model.set_live_since({Source.KRAKEN: 0.0, Source.BINANCE: 0.0})
    model.update_quotes(
        [
            Quote(BTC, 80_000.0, PriceDirection.UP, open_24h=79_000.0, received_at=NOW - 1),
            Quote(BTC_USDT, 80_100.0, PriceDirection.UP, open_24h=79_000.0, received_at=NOW - 1),
        ]
    )
    model.refresh(NOW)
    model.set_holdings({BTC: Holding(BTC, 0.5, 30_000.0), BTC_USDT: Holding(BTC_USDT, 1.0)})
    tray = Tray()
    tray.follow(model)
    tray.set_portfolio_source(model.portfolio_totals)
    tray.set_connections(
        Connections({s: Status(State.CONNECTED, Reason.WELCOMED) for s in (Source.KRAKEN, Source.BINANCE)})
    )
    tray.refresh(NOW)
    lines = tray.tooltip().splitlines()
    assert "Portfolio USD 40,000.00 · P/L ▲ +33.33%" in lines
    assert "Portfolio USDT 80,100.00" in lines
    tray.refresh(NOW + 120)  # stale now: said, never a stale total passed off as live
    assert "Portfolio USD: no live price" in tray.tooltip().splitlines()
    assert "40,000" not in tray.tooltip()
    plain = tooltip_text([], Connections({}), NOW, Freshness.everywhere(0.0, 60.0), portfolio=["Portfolio X"])
    assert plain == "ccdesk\nNo prices yet\nPortfolio X"


def test_fit_columns_drops_the_holding_columns_first_and_keeps_price_and_age_last():
    from ccdesk.qt.price_table import ColumnSpec, fit_columns

    specs = {
        M.PAIR: ColumnSpec(120, 70),
        M.PRICE: ColumnSpec(90, 80),
        M.CHANGE: ColumnSpec(80, 80),
        M.TREND: ColumnSpec(90, 48),
        M.AGE: ColumnSpec(70, 40),
        M.HOLDING: ColumnSpec(80, 80),
        M.VALUE: ColumnSpec(90, 90),
        M.PL: ColumnSpec(140, 140),
    }
    every = sum(s.preferred for s in specs.values())
    assert set(fit_columns(every, specs)) == set(specs)
    assert set(fit_columns(every - 42, specs)) == set(specs)  # the sparkline shrinks first
    assert M.HOLDING not in fit_columns(every - 43, specs)
    assert set(fit_columns(every - 42 - 80, specs)) == set(specs) - {M.HOLDING}
    assert set(fit_columns(every - 42 - 81, specs)) == set(specs) - {M.HOLDING, M.PL}
    narrow = fit_columns(every - 42 - 80 - 140 - 91, specs)
    assert not set(narrow) & set(M.HOLDING_COLUMNS)
    assert M.TREND not in narrow
    assert {M.PRICE, M.AGE} <= set(fit_columns(200, specs))
