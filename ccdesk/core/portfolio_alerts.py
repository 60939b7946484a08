"""Alerts on the portfolio's total per quote currency: the rules on a portfolio pair
(``portfolio:TOTAL-USD``) fed with the complete totals. Pure, no Qt; the caller runs it on one thread.

Decisions:
- Only rules whose ``sub`` is a portfolio pair apply: a rule for "every pair" (``sub=None``) is about
  the prices of coins, not the value of the holdings, and is never fed the total.
- Only a *complete* total is fed (every holding in its currency has a live price). An incomplete
  one feeds nothing and restarts that total's move windows: a price going stale and coming back, or a
  pair refused, must not read as a move of the total.
- A change of the holdings (or of which of them are counted: the watchlist) is a jump in the total
  that is not a market move: ``restart`` restarts every move window (level arming and cooldowns are
  kept, as after a suspend).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ccdesk.core.alerts import Alert, AlertEngine, Rule
from ccdesk.core.clock import Clock
from ccdesk.core.holdings import Total
from ccdesk.core.pairs import Pair, PairError, is_portfolio, portfolio_pair


def portfolio_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """The rules on a portfolio total (``sub`` is a portfolio pair), in their order."""
    return tuple(r for r in rules if is_portfolio(r.sub))


class PortfolioAlerts:
    """Turns the portfolio's totals into fired alerts, by the rules on portfolio pairs."""

    def __init__(self, rules: Iterable[Rule], clock: Clock) -> None:
        self._engine = AlertEngine(portfolio_rules(rules), clock)
        self._fed: set[Pair] = set()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules it applies (only those on a portfolio pair)."""
        return self._engine.rules

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Apply these rules (those not on a portfolio pair are left out); windows of unchanged
        rules carry on, as on a pair."""
        self._engine.set_rules(portfolio_rules(rules))

    def restart(self) -> None:
        """The holdings changed (not the market): restart every total's move windows."""
        self._engine.reset()

    def on_totals(self, totals: Iterable[Total]) -> tuple[Alert, ...]:
        """Feed the totals of one moment; returns the alerts they fired, usually none."""
        if not self._engine.rules:
            return ()
        fired: list[Alert] = []
        seen: set[Pair] = set()
        for total in totals:
            try:
                pair = portfolio_pair(total.currency)
            except PairError:
                continue  # a quote symbol that is no currency a rule could name
            seen.add(pair)
            if not total.complete or not total.holdings or not 0.0 < total.value < math.inf:
                self._stop(pair)
                continue
            self._fed.add(pair)
            fired.extend(self._engine.on_price(pair, total.value))
        for pair in self._fed - seen:
            self._stop(pair)  # no holding in that currency any more
        return tuple(fired)

    def _stop(self, pair: Pair) -> None:
        """Restart ``pair``'s move windows: its next complete total starts them afresh."""
        if pair in self._fed:
            self._fed.discard(pair)
            self._engine.reset_sub(pair)
