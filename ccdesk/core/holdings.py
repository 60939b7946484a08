"""Holdings: how much of a pair the user has and what it cost, its value and profit or loss at a
price, and the portfolio's totals per quote currency. Pure, no Qt, no I/O.

Decisions:
- The cost basis is the *total* paid for the whole quantity, in the pair's quote currency (what a
  statement or an exchange's trade history shows: "bought 0.5 BTC for 30,000 USD"), not a price per
  unit. ``Holding.cost_per_unit`` gives the per-unit figure (for a chart's cost line).
- Totals are kept per quote currency, by the pair's quote symbol exactly: USD and USDT are
  different currencies (a stablecoin is not the dollar) and are never summed together; EUR apart.
- A holding counts in its total only at a *live* price (the caller says which prices are live, by
  the same freshness rule the table uses). One without a live price leaves its total incomplete:
  the total is the sum of what is known and says that it is incomplete, never a stale figure shown
  as a live one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ccdesk.core.pairs import Pair

MAX_AMOUNT = 1e15
"""The largest quantity or cost basis accepted: past this a number is a typing mistake (and the sums
would lose the cents)."""


class HoldingError(ValueError):
    """A holding that cannot be kept; ``str(err)`` says what is wrong in plain words."""


def quantity_problem(quantity: float) -> str | None:
    """What is wrong with a quantity, in plain words, or None."""
    if not math.isfinite(quantity):
        return "The quantity must be a number."
    if quantity <= 0:
        return "The quantity must be more than 0 (to remove a holding, use Remove)."
    if quantity > MAX_AMOUNT:
        return f"The quantity can be at most {MAX_AMOUNT:,.0f}."
    return None


def cost_basis_problem(cost_basis: float | None) -> str | None:
    """What is wrong with a cost basis (the total paid; None: not given), in plain words, or None."""
    if cost_basis is None:
        return None
    if not math.isfinite(cost_basis):
        return "The cost basis must be a number."
    if cost_basis < 0:
        return "The cost basis is what you paid in total: it cannot be below 0."
    if cost_basis > MAX_AMOUNT:
        return f"The cost basis can be at most {MAX_AMOUNT:,.0f}."
    return None


@dataclass(frozen=True, slots=True)
class Holding:
    """How much of ``sub``'s base coin the user holds, and optionally what it cost in total (in
    ``sub``'s quote currency). Raises ``HoldingError`` for a quantity that is not more than 0 and
    finite, or a cost basis below 0 or not finite."""

    sub: Pair
    quantity: float
    cost_basis: float | None = None

    def __post_init__(self) -> None:
        problem = quantity_problem(self.quantity) or cost_basis_problem(self.cost_basis)
        if problem is not None:
            raise HoldingError(problem)

    @property
    def currency(self) -> str:
        """The currency its value and cost basis are in: the pair's quote symbol."""
        return self.sub.quote

    @property
    def cost_per_unit(self) -> float | None:
        """The cost basis per unit of the coin, or None without a cost basis."""
        return None if self.cost_basis is None else self.cost_basis / self.quantity

    def value(self, price: float) -> float:
        """What it is worth at ``price``."""
        return self.quantity * price

    def profit(self, price: float) -> float | None:
        """Profit (or loss, below 0) at ``price`` against the cost basis; None without one."""
        return None if self.cost_basis is None else self.value(price) - self.cost_basis

    def profit_pct(self, price: float) -> float | None:
        """Profit or loss in percent of the cost basis; None without one or with a cost basis of 0
        (a gift has no percentage)."""
        if self.cost_basis is None or self.cost_basis == 0:
            return None
        return (self.value(price) - self.cost_basis) / self.cost_basis * 100.0


@dataclass(frozen=True, slots=True)
class Total:
    """The portfolio in one quote currency.

    Attributes:
        currency: The quote symbol (``USD``, ``USDT``, ``EUR``).
        value: The sum of the values of the holdings with a live price.
        cost: The sum of the cost bases of the holdings with a live price and a cost basis.
        profit: ``value - cost`` over those holdings (with a cost basis and a live price); None when
            none has both.
        profit_pct: ``profit`` in percent of ``cost``; None when there is no cost to compare with.
        holdings: How many holdings are in this currency.
        missing: The pairs of the holdings without a live price (their value is not in ``value``).
    """

    currency: str
    value: float
    cost: float
    profit: float | None
    profit_pct: float | None
    holdings: int
    missing: tuple[Pair, ...]

    @property
    def complete(self) -> bool:
        """True when every holding in this currency had a live price."""
        return not self.missing


def totals(holdings: Iterable[Holding], live_prices: Mapping[Pair, float]) -> list[Total]:
    """The totals per quote currency, in the order the currencies first appear in ``holdings``.

    Args:
        holdings: Every holding.
        live_prices: The price of each pair that has a *live* one (a stale price is left out by the
            caller: it would make a stale total look live).
    """
    groups: dict[str, list[Holding]] = {}
    for h in holdings:
        groups.setdefault(h.currency, []).append(h)
    out = []
    for currency, group in groups.items():
        value = cost = 0.0
        priced_with_cost = 0
        missing: list[Pair] = []
        for h in group:
            price = live_prices.get(h.sub)
            if price is None or not math.isfinite(price):
                missing.append(h.sub)
                continue
            value += h.value(price)
            if h.cost_basis is not None:
                cost += h.cost_basis
                priced_with_cost += 1
        profit: float | None = None
        pct: float | None = None
        if priced_with_cost:
            with_cost = [h for h in group if h.cost_basis is not None and h.sub not in missing]
            profit = sum(h.value(live_prices[h.sub]) for h in with_cost) - cost
            pct = profit / cost * 100.0 if cost > 0 else None
        out.append(Total(currency, value, cost, profit, pct, len(group), tuple(missing)))
    return out
