"""The holdings and the alerts on their totals (GUI thread): loading and keeping holdings in the local
store (never in the settings, a webhook or a log), the holding dialog, and the rules on each quote
currency's portfolio total, fed with the totals at the latest prices."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from ccdesk.core.alerts import Rule
from ccdesk.core.clock import Clock
from ccdesk.core.holdings import Holding
from ccdesk.core.pairs import Pair, PairError, portfolio_pair
from ccdesk.core.portfolio_alerts import PortfolioAlerts
from ccdesk.core.store import Store
from ccdesk.qt.holding_dialog import HoldingDialog
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.quote_model import QuoteTableModel

PriceOf = Callable[[Pair], "tuple[float, bool] | None"]
"""A pair's latest price and whether it is live, or None (what the holding dialog shows)."""


class Portfolio(QObject):
    """The holdings shown by ``model`` and kept in the store, and the rules on their totals.

    Signals:
        alert_fired(Alert): a rule on a portfolio total fired (it goes the way of any alert).
    """

    alert_fired = Signal(object)

    def __init__(
        self,
        model: QuoteTableModel,
        jobs: BackgroundJobs,
        clock: Clock,
        store: Callable[[], Store | None],
        rules: Sequence[Rule],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._jobs = jobs
        self._clock = clock
        self._store = store
        self.alerts = PortfolioAlerts(tuple(rules), clock)
        """The rules on the portfolio's totals, fed after each batch of quotes (``feed``)."""
        self.dialog: HoldingDialog | None = None
        """The open holding dialog (one at a time), or None."""
        model.holdings_changed.connect(self._on_model_holdings_changed)

    # -- holdings ------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the kept holdings on a background job (the store is open by now)."""
        store = self._store()
        if store is not None:
            self._jobs.run("holdings", store.holdings, self._on_holdings_loaded)

    def _on_holdings_loaded(self, loaded: list[Holding]) -> None:
        # One set while the store was being read wins over the stored one.
        self._model.set_holdings({h.sub: h for h in loaded} | self._model.holdings())

    @Slot(object)
    def set_holding(self, holding: Holding) -> None:
        """Keep ``holding`` (replacing its pair's) and show it."""
        store = self._store()
        if store is not None:
            store.set_holding(holding)
        self._model.set_holdings({**self._model.holdings(), holding.sub: holding})

    @Slot(object)
    def remove_holding(self, sub: Pair) -> None:
        """Forget ``sub``'s holding."""
        store = self._store()
        if store is not None:
            store.remove_holding(sub)
        self._model.set_holdings({p: h for p, h in self._model.holdings().items() if p != sub})

    def edit(self, sub: Pair, price: tuple[float, bool] | None, parent: QWidget) -> HoldingDialog:
        """Open the holding dialog for ``sub`` at ``price`` (as the window shows it); one at a time."""
        if self.dialog is not None:
            self.dialog.close()
        dialog = self.dialog = HoldingDialog(sub, self._model.holding(sub), price, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self.set_holding)
        dialog.removed.connect(self.remove_holding)
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()
        return dialog

    @Slot()
    def _on_dialog_finished(self) -> None:
        self.dialog = None

    def cost_per_unit(self, sub: Pair) -> float | None:
        """What was paid per unit of ``sub`` (its chart's cost line), or None."""
        holding = self._model.holding(sub)
        return None if holding is None else holding.cost_per_unit

    # -- the totals and the rules on them --------------------------------------------------------

    def feed(self) -> None:
        """Feed the totals at the latest prices to the rules on them (after a batch of quotes or a
        change of connections: a source gone leaves its totals incomplete, and their windows restart)."""
        if not self.alerts.rules:
            return
        for alert in self.alerts.on_totals(self._model.portfolio_totals(self._clock.monotonic())):
            self.alert_fired.emit(alert)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        self.alerts.set_rules(tuple(rules))

    def restart(self) -> None:
        """Which holdings count changed (the watchlist), not the market: the rules' windows restart."""
        self.alerts.restart()

    def pairs(self) -> list[Pair]:
        """The totals a rule may watch: one pseudo-pair per quote currency with holdings (of watched
        pairs), ``portfolio:TOTAL-USD``."""
        out = []
        for total in self._model.portfolio_totals(self._clock.monotonic()):
            try:
                out.append(portfolio_pair(total.currency))
            except PairError:
                continue
        return out

    def total(self, sub: Pair) -> tuple[float, bool] | None:
        """The total ``sub`` (a portfolio pair) stands for and whether it is complete, or None
        without holdings in its currency."""
        now = self._clock.monotonic()
        total = next((t for t in self._model.portfolio_totals(now) if t.currency == sub.quote), None)
        return None if total is None or not total.holdings else (total.value, total.complete)

    @Slot()
    def _on_model_holdings_changed(self) -> None:
        self.alerts.restart()  # the user's own change of the total is not a move
