"""Holdings: validation in plain words, value and profit or loss, totals per quote currency (USD and
USDT never summed), incomplete totals without a live price, and the words the views show."""

from __future__ import annotations

import math

import pytest

from ccdesk.core.formatting import format_amount, format_quantity, format_signed_amount
from ccdesk.core.holdings import MAX_AMOUNT, Holding, HoldingError, Total, totals
from ccdesk.core.pairs import parse_pair
from ccdesk.wording import (
    cost_field_problem,
    portfolio_lines,
    profit_text,
    quantity_field_problem,
    total_line,
)
from tests.pairs import BTC, BTC_TRADES, ETH, SOL

BTC_EUR = parse_pair("kraken:BTC-EUR")
ETH_USDT = parse_pair("binance:ETH-USDT")


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf, -math.inf, MAX_AMOUNT * 2])
def test_a_quantity_must_be_more_than_zero_and_finite(quantity: float) -> None:
    with pytest.raises(HoldingError) as err:
        Holding(BTC, quantity)
    assert "quantity" in str(err.value)


@pytest.mark.parametrize("cost", [-0.01, math.nan, math.inf, MAX_AMOUNT * 2])
def test_a_cost_basis_must_be_zero_or_more_and_finite(cost: float) -> None:
    with pytest.raises(HoldingError) as err:
        Holding(BTC, 1.0, cost)
    assert "cost basis" in str(err.value)


def test_value_and_profit_against_the_total_cost_basis() -> None:
    h = Holding(BTC, 0.5, 30_000.0)  # paid 30,000 in total for half a coin
    assert h.value(80_000.0) == 40_000.0
    assert h.profit(80_000.0) == 10_000.0
    assert h.profit_pct(80_000.0) == pytest.approx(33.333333)
    assert h.profit(50_000.0) == -5_000.0
    assert h.profit_pct(50_000.0) == pytest.approx(-16.666667)
    assert h.cost_per_unit == 60_000.0
    assert h.currency == "USD"


def test_without_a_cost_basis_there_is_no_profit_and_a_gift_has_no_percentage() -> None:
    assert Holding(BTC, 1.0).profit(100.0) is None
    assert Holding(BTC, 1.0).profit_pct(100.0) is None
    gift = Holding(BTC, 2.0, 0.0)
    assert gift.profit(100.0) == 200.0
    assert gift.profit_pct(100.0) is None


def test_totals_are_per_quote_currency_and_usd_and_usdt_are_never_summed() -> None:
    holdings = [
        Holding(BTC, 1.0, 50_000.0),
        Holding(ETH, 2.0, 4_000.0),
        Holding(ETH_USDT, 10.0, 20_000.0),
        Holding(BTC_EUR, 0.1),
    ]
    prices = {BTC: 60_000.0, ETH: 3_000.0, ETH_USDT: 3_001.0, BTC_EUR: 55_000.0}
    by = {t.currency: t for t in totals(holdings, prices)}
    assert list(by) == ["USD", "USDT", "EUR"]
    usd = by["USD"]
    assert (usd.value, usd.cost, usd.profit) == (66_000.0, 54_000.0, 12_000.0)
    assert usd.profit_pct == pytest.approx(12_000 / 54_000 * 100)
    assert usd.complete
    assert usd.holdings == 2
    assert by["USDT"].value == 30_010.0
    assert by["USDT"].profit == 10_010.0
    eur = by["EUR"]
    assert eur.value == 5_500.0
    assert eur.profit is None
    assert eur.profit_pct is None


def test_a_pair_without_a_live_price_makes_its_total_incomplete_and_is_left_out() -> None:
    holdings = [Holding(BTC, 1.0, 50_000.0), Holding(SOL, 10.0, 1_000.0), Holding(BTC_TRADES, 1.0)]
    # SOL has no live price (stale or none yet): the caller leaves it out.
    usd, usdt = totals(holdings, {BTC: 60_000.0, BTC_TRADES: 61_000.0})
    assert not usd.complete
    assert usd.missing == (SOL,)
    assert usd.value == 60_000.0  # what is known, never SOL's stale value
    assert usd.profit == 10_000.0
    assert usd.cost == 50_000.0
    assert usdt.complete
    assert usdt.value == 61_000.0
    assert "incomplete" in total_line(usd)
    assert "SOL/USD" in total_line(usd)
    assert "incomplete" not in total_line(usdt)


def test_a_mix_of_holdings_with_and_without_cost_counts_profit_only_where_there_is_a_cost() -> None:
    (t,) = totals([Holding(BTC, 1.0, 50_000.0), Holding(ETH, 1.0)], {BTC: 55_000.0, ETH: 3_000.0})
    assert t.value == 58_000.0
    assert t.profit == 5_000.0
    assert t.profit_pct == pytest.approx(10.0)


def test_a_total_with_no_live_price_at_all_says_so_instead_of_a_sum() -> None:
    (t,) = totals([Holding(BTC, 1.0, 5.0), Holding(ETH, 1.0)], {})
    assert t.value == 0.0
    assert t.missing == (BTC, ETH)
    assert total_line(t) == "Total USD: no live price"
    assert portfolio_lines([t]) == ["Portfolio USD: no live price"]


def test_no_holdings_no_totals() -> None:
    assert totals([], {BTC: 1.0}) == []


def test_the_words() -> None:
    assert format_quantity(0.5) == "0.5"
    assert format_quantity(1234.5678) == "1,234.5678"
    assert format_quantity(0.00012345) == "0.00012345"
    assert format_amount(12345.678) == "12,345.68"
    assert format_amount(0.001234) == "0.001234"
    assert format_signed_amount(-12.3) == "-12.30"
    assert format_signed_amount(1234.561) == "+1,234.56"
    assert format_signed_amount(0.001) == "+0.001000"
    assert format_signed_amount(0.0) == "0.00"
    assert profit_text(None, None) == ""
    assert profit_text(1234.56, 11.1) == "+1,234.56 (+11.10%)"
    assert profit_text(-5.0, None) == "-5.00"
    t = Total("USD", 12345.67, 11111.0, 1234.67, 11.11, 2, ())
    assert total_line(t) == "Total USD 12,345.67 · P/L +1,234.67 (+11.11%)"
    assert portfolio_lines([t]) == ["Portfolio USD 12,345.67 · P/L ▲ +11.11%"]
    partial = Total("USDT", 10.0, 0.0, None, None, 2, (ETH_USDT,))
    assert portfolio_lines([partial]) == ["Portfolio USDT 10.00 (incomplete: 1 without a live price)"]


def test_the_dialog_fields_say_what_is_wrong() -> None:
    assert quantity_field_problem("", None) is not None
    assert "not a number" in (quantity_field_problem("abc", None) or "")
    assert "more than 0" in (quantity_field_problem("0", 0.0) or "")
    assert "more than 0" in (quantity_field_problem("-1", -1.0) or "")
    assert quantity_field_problem("0.5", 0.5) is None
    assert cost_field_problem("", None, "USD") is None  # optional
    assert "USD" in (cost_field_problem("x", None, "USD") or "")
    assert "below 0" in (cost_field_problem("-3", -3.0, "USD") or "")
    assert cost_field_problem("0", 0.0, "USD") is None
