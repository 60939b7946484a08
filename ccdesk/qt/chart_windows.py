"""The open chart windows, one per pair: opening or raising one, and keeping each current with live
prices, the rules' level lines, the holding's cost basis and a backfill's new candles."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Slot

from ccdesk.core.alerts import Alert, Rule
from ccdesk.core.candles import Candle
from ccdesk.core.clock import Clock
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import Quote
from ccdesk.core.store import Store
from ccdesk.qt.chart_window import ChartWindow
from ccdesk.qt.jobs import BackgroundJobs

log = logging.getLogger(__name__)


class ChartWindows(QObject):
    """Owns the open charts (``charts[pair]``, ``pair in charts``, ``len(charts)``).

    Each chart reads its history from the store on a background job (the store reads with a
    connection of its own); ``store`` is asked for the store each time, since it opens after start.
    ``cost_of`` gives a pair's cost per unit (its holding's), or None.
    """

    def __init__(
        self,
        jobs: BackgroundJobs,
        clock: Clock,
        store: Callable[[], Store | None],
        cost_of: Callable[[Pair], float | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._clock = clock
        self._store = store
        self._open: dict[Pair, ChartWindow] = {}
        self._rules: tuple[Rule, ...] = ()
        self._cost_of = cost_of

    def __getitem__(self, sub: Pair) -> ChartWindow:
        return self._open[sub]

    def __contains__(self, sub: object) -> bool:
        return sub in self._open

    def __len__(self) -> int:
        return len(self._open)

    def open(self, sub: Pair) -> ChartWindow:
        """Open ``sub``'s chart, or raise the one already open (one window per pair)."""
        chart = self._open.get(sub)
        if chart is None:
            chart = ChartWindow(
                sub, self._jobs, self._read_candles, self._read_alerts, rules=self._rules, clock=self._clock
            )
            chart.closed.connect(self._on_chart_closed)
            self._open[sub] = chart
            chart.set_cost_basis(self._cost_of(sub))
        chart.bring_forward()
        return chart

    def add_quotes(self, quotes: Sequence[Quote]) -> None:
        """A batch of live prices: each chart takes its own pair's."""
        for chart in self._open.values():
            chart.add_quotes(quotes)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """The rules in use: each chart draws its pair's level lines."""
        self._rules = tuple(rules)
        for chart in self._open.values():
            chart.set_rules(self._rules)

    def refresh_cost_bases(self) -> None:
        """The holdings changed: every chart redraws its cost line (``cost_of`` its pair)."""
        for sub, chart in self._open.items():
            chart.set_cost_basis(self._cost_of(sub))

    @Slot(object)
    def reload(self, pairs: Sequence[Pair]) -> None:
        """New history for ``pairs`` is in the store (a backfill wrote it): their open charts re-read it."""
        for sub in pairs:
            chart = self._open.get(sub)
            if chart is not None:
                log.debug("chart of %s re-read after a backfill", sub)
                chart.reload()

    def close_all(self) -> None:
        for chart in list(self._open.values()):
            chart.close()

    @Slot(object)
    def _on_chart_closed(self, sub: Pair) -> None:
        self._open.pop(sub, None)

    def _read_candles(self, sub: Pair, period_s: int, since: float, until: float) -> list[Candle]:
        store = self._store()  # a background thread: the store reads with its own connection
        return [] if store is None else store.candles(sub, period_s, since, until)

    def _read_alerts(self, sub: Pair, since: float) -> list[Alert]:
        store = self._store()
        return [] if store is None else store.alerts_for(sub, since)
