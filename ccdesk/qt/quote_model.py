"""The price table's model: one row per watched pair, with freshness decided in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from ccdesk.core.formatting import (
    change_arrow,
    change_sign,
    format_age,
    format_amount,
    format_pct,
    format_price,
    format_quantity,
    format_signed_amount,
    next_age_change,
)
from ccdesk.core.freshness import Freshness
from ccdesk.core.holdings import Holding, Total, totals
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.price_history import PriceHistory
from ccdesk.core.quotes import Quote
from ccdesk.core.settings import Settings
from ccdesk.wording import (
    HOLDING_HEADERS,
    basis_words,
    change_period_words,
    pair_cell_text,
    pair_label,
    profit_text,
)

UP_COLOR = QColor("#1a9e55")
DOWN_COLOR = QColor("#d0342c")
STALE_COLOR = QColor("#8a8f98")


@dataclass(frozen=True)
class TableColors:
    """The colours that carry meaning in the table (text and sparkline): up, down, stale. Each
    scheme's are chosen to read on that scheme's background (contrast >= 3:1 against the window
    colour of Fusion and of the common desktop themes)."""

    up: QColor
    down: QColor
    stale: QColor


LIGHT_COLORS = TableColors(UP_COLOR, DOWN_COLOR, STALE_COLOR)
DARK_COLORS = TableColors(QColor("#4cd787"), QColor("#ff7a70"), QColor("#9aa0aa"))

HISTORY_ROLE = Qt.ItemDataRole.UserRole + 1
"""The sparkline's segments: a list of runs of ``(t, price)``, split where prices stopped coming."""
STALE_ROLE = Qt.ItemDataRole.UserRole + 2
SORT_ROLE = Qt.ItemDataRole.UserRole + 3
"""A value to sort the column by (the pair's label, the price, the change, the age; None last)."""
PAIR_ROLE = Qt.ItemDataRole.UserRole + 4
"""The row's ``Pair``."""
LINE_COLOR_ROLE = Qt.ItemDataRole.UserRole + 5
"""The sparkline's colour: up or down over its span, stale grey."""
NOW_ROLE = Qt.ItemDataRole.UserRole + 6
"""For a row that is not live, the monotonic time the model was last refreshed: its sparkline's time
axis ends there, so a pair that went quiet shows a line that stops short of the right edge. None for
a live row (its line ends at its newest sample, at most one history step behind)."""

Index = QModelIndex | QPersistentModelIndex
CHANGE_HEADER_TIP = (
    "The change over the last 24 hours (a rolling window, not the calendar day); each pair's "
    "tooltip says where its figure comes from"
)
HOLDING_HEADER_TIPS = {
    0: "How much of the coin you hold (kept on this computer only)",
    1: "What it is worth at the price shown, in the pair's quote currency",
    2: "Profit or loss against the cost basis (what you paid in total), and in percent of it",
}
_SERVED_ROLES = frozenset(
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.AccessibleTextRole,
        HISTORY_ROLE,
        STALE_ROLE,
        SORT_ROLE,
        PAIR_ROLE,
        LINE_COLOR_ROLE,
        NOW_ROLE,
    )
)


@dataclass
class Row:
    """One watched pair as the table shows it."""

    sub: Pair
    quote: Quote | None = None
    rejected: str | None = None
    history: PriceHistory = field(default_factory=PriceHistory)


class QuoteTableModel(QAbstractTableModel):
    """Rows follow the watchlist order. A row is *live* only when the connection is up, its data
    arrived after the current session began (monotonic time stops during suspend, so older data
    could look young) and its age is within the stale threshold; otherwise it is greyed with its age.

    The holding columns (quantity, value, profit or loss) are empty for a pair without a holding;
    the window shows them only while some watched pair has one.

    Signals:
        holdings_changed(): the holdings were set (the window shows or hides their columns and totals).
    """

    holdings_changed = Signal()

    PAIR, PRICE, CHANGE, TREND, AGE, HOLDING, VALUE, PL = range(8)
    HEADERS: ClassVar[tuple[str, ...]] = ("Pair", "Price", "24 h", "Trend", "Updated", *HOLDING_HEADERS)
    LAST = PL
    HOLDING_COLUMNS: ClassVar[tuple[int, ...]] = (HOLDING, VALUE, PL)

    def __init__(self, stale_after_s: float = 60.0) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._index: dict[Pair, int] = {}
        self._freshness = Freshness({}, stale_after_s)  # no source connected yet
        self._blocked: dict[Source, str] = {}
        """Sources that cannot stream until the user acts (no key, a rejected key), and why."""
        self._now = 0.0
        self._shown: dict[Pair, tuple[bool, str | None]] = {}  # what refresh() last showed per row
        self._pinned: Pair | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._colors = LIGHT_COLORS
        self._holdings: dict[Pair, Holding] = {}

    # -- feeding -------------------------------------------------------------------------------

    def set_watchlist(self, subs: list[Pair]) -> None:
        """Rows for exactly these pairs, in this order; existing rows keep their data."""
        old = {r.sub: r for r in self._rows}
        self.beginResetModel()
        gap_s = self._freshness.stale_after_s  # the line breaks where the price turned stale
        self._rows = [old.get(s) or Row(s, history=PriceHistory(gap_after_s=gap_s)) for s in subs]
        self._index = {r.sub: i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def update_quotes(self, quotes: tuple[Quote, ...] | list[Quote]) -> None:
        """Take a coalesced batch of changed quotes."""
        top, bottom = len(self._rows), -1
        for q in quotes:
            i = self._index.get(q.sub)
            if i is None:
                continue
            row = self._rows[i]
            row.quote = q
            row.rejected = None
            self._shown.pop(q.sub, None)
            if q.price is not None:
                row.history.add(q.received_at, q.price, self._freshness.live_since.get(q.sub.source))
            top, bottom = min(top, i), max(bottom, i)
        if bottom >= 0:
            self.dataChanged.emit(self.index(top, 0), self.index(bottom, self.LAST))

    def seed_history(self, sub: Pair, points: list[tuple[float, float]]) -> None:
        """Older prices for ``sub``'s sparkline (``(monotonic t, price)``, e.g. the store's minute
        closes after a restart), put before its live samples."""
        i = self._index.get(sub)
        if i is None or not points:
            return
        self._rows[i].history.seed(points)
        self.dataChanged.emit(self.index(i, self.TREND), self.index(i, self.TREND))

    def mark_rejected(self, sub: Pair, info: str | None) -> None:
        """The server refused this pair."""
        i = self._index.get(sub)
        if i is None:
            return
        self._rows[i].rejected = info or "rejected by the server"
        self.dataChanged.emit(self.index(i, 0), self.index(i, self.LAST))

    def mark_waiting_rejected(self, info: str) -> None:
        """Every pair still without data is not available (for ``info``'s reason) until data comes."""
        for i, row in enumerate(self._rows):
            if row.quote is None and row.rejected is None:
                row.rejected = info
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.LAST))

    def set_blocked(self, blocked: Mapping[Source, str]) -> None:
        """The sources that cannot stream until the user acts, each with its reason in words
        (``"no API key"``): their rows without a price say it, instead of looking as if loading."""
        if dict(blocked) == self._blocked:
            return
        old, self._blocked = self._blocked, dict(blocked)
        changed = {src for src in set(old) | set(blocked) if old.get(src) != blocked.get(src)}
        for i, row in enumerate(self._rows):
            if row.sub.source in changed:
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.LAST))

    def set_live_since(self, live_since: Mapping[Source, float]) -> None:
        """For each connected source, the monotonic time its current session began."""
        if dict(live_since) != dict(self._freshness.live_since):
            lost = set(self._freshness.live_since) - set(live_since)
            for row in self._rows:
                if row.sub.source in lost:
                    row.history.break_line()  # no line across the outage
            self._freshness = replace(self._freshness, live_since=dict(live_since))
            self._refresh_all()

    def set_stale_after(self, seconds: float) -> None:
        if seconds != self._freshness.stale_after_s:
            for row in self._rows:
                row.history.gap_after_s = seconds  # the line breaks where the price turned stale
            self._freshness = replace(self._freshness, stale_after_s=seconds)
            self._refresh_all()

    def apply_settings(self, settings: Settings) -> None:
        """Follow the watchlist (in order; rows keep their data), the pinned pair and the stale threshold."""
        if [r.sub for r in self._rows] != list(settings.watchlist):
            self.set_watchlist(list(settings.watchlist))
        self.set_pinned(settings.pinned)
        self.set_stale_after(settings.stale_after_s)

    def set_colors(self, colors: TableColors) -> None:
        """Use these colours (the window follows the system's light or dark scheme)."""
        if colors != self._colors:
            self._colors = colors
            self._refresh_all()

    @property
    def colors(self) -> TableColors:
        return self._colors

    def newest_update_at(self) -> float | None:
        """The monotonic time the newest price arrived (any pair), or None before any."""
        times = [r.quote.received_at for r in self._rows if r.quote is not None and r.quote.price is not None]
        return max(times, default=None)

    def pair_at(self, row: int) -> Pair | None:
        """The pair shown in ``row`` (of this model), or None."""
        return self._rows[row].sub if 0 <= row < len(self._rows) else None

    def price_at(self, row: int) -> float | None:
        """The price shown in ``row``, or None when there is none (yet, or refused)."""
        if not 0 <= row < len(self._rows):
            return None
        r = self._rows[row]
        return None if r.rejected is not None or r.quote is None else r.quote.price

    # -- holdings --------------------------------------------------------------------------------

    def set_holdings(self, holdings: Mapping[Pair, Holding]) -> None:
        """Show these holdings (every one kept; only the watched pairs' are shown and counted)."""
        new = dict(holdings)
        if new == self._holdings:
            return
        self._holdings = new
        self._refresh_all()
        self.holdings_changed.emit()

    def holdings(self) -> dict[Pair, Holding]:
        """Every holding given (the watched pairs' and the others')."""
        return dict(self._holdings)

    def holding(self, sub: Pair) -> Holding | None:
        return self._holdings.get(sub)

    def has_holdings(self) -> bool:
        """True when some watched pair has a holding (the window shows the holding columns)."""
        return any(r.sub in self._holdings for r in self._rows)

    def unwatched_holdings(self) -> list[Pair]:
        """The pairs with a holding that are not watched (kept, but neither shown nor counted)."""
        return [sub for sub in self._holdings if sub not in self._index]

    def portfolio_totals(self, now: float | None = None) -> list[Total]:
        """The watched holdings' totals per quote currency at the latest prices; a price that is not
        live at monotonic ``now`` (default: the model's last refresh) leaves its total incomplete
        (``holdings.totals``). The tray passes its own ``now``: it refreshes while the window is hidden."""
        at = self._now if now is None else now
        held = [self._holdings[r.sub] for r in self._rows if r.sub in self._holdings]
        live = {
            r.sub: r.quote.price
            for r in self._rows
            if r.sub in self._holdings
            and r.rejected is None
            and r.quote is not None
            and r.quote.price is not None
            and self._freshness.is_fresh(r.quote, at)
        }
        return totals(held, live)

    def set_pinned(self, sub: Pair | None) -> None:
        """The pair the window title and the tray follow."""
        self._pinned = sub

    def pinned_quote(self) -> Quote | None:
        """The pinned pair's quote (the first row's when none is pinned), or None before any data."""
        if self._pinned is None:
            return self._rows[0].quote if self._rows else None
        i = self._index.get(self._pinned)
        return None if i is None else self._rows[i].quote

    def refusals(self) -> dict[Pair, str]:
        """What the sources said about the pairs they refused."""
        return {r.sub: r.rejected for r in self._rows if r.rejected is not None}

    def quotes(self) -> list[Quote]:
        """Every pair's latest quote, in watchlist order (pairs with no data yet are left out)."""
        return [r.quote for r in self._rows if r.quote is not None]

    @property
    def freshness(self) -> Freshness:
        """The rule that decides which prices are shown as live (the tray and the title use it too)."""
        return self._freshness

    def refresh(self, now: float) -> float | None:
        """Advance the clock used for ages and staleness; returns when a row next changes (see
        ``next_change``). Repaints only the cells that changed: an age cell when its text moved on
        ("4 s ago" -> "5 s ago"), a whole row when it went stale. An idle window therefore repaints
        a few small cells a second, not every sparkline."""
        self._tick(now)
        return self.next_change(now)

    def _tick(self, now: float) -> None:
        self._now = now
        for i, row in enumerate(self._rows):
            shown = (self.is_live(row), self._text(row, self.AGE))
            before = self._shown.get(row.sub)
            if before == shown:
                continue
            self._shown[row.sub] = shown
            if before is None or before[0] != shown[0]:
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.LAST))
            else:
                age = self.index(i, self.AGE)
                self.dataChanged.emit(age, age)

    def next_change(self, now: float) -> float | None:
        """The monotonic time at which some row's age text or freshness will next change, or None."""
        soonest: float | None = None
        for row in self._rows:
            q = row.quote
            if q is None or row.rejected is not None:
                continue
            age = max(0.0, now - q.received_at)
            at = q.received_at + next_age_change(age)
            stale_at = self._freshness.stale_at(q, now) if row.rejected is None else None
            if stale_at is not None:  # it will turn stale at the threshold
                at = min(at, stale_at)
            soonest = at if soonest is None else min(soonest, at)
        return soonest

    def _refresh_all(self) -> None:
        self._shown.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.LAST))

    # -- reading -------------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        return list(self._rows)

    def is_live(self, row: Row) -> bool:
        return row.rejected is None and self._freshness.is_fresh(row.quote, self._now)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            if section == self.CHANGE:
                return CHANGE_HEADER_TIP
            return HOLDING_HEADER_TIPS.get(section - self.HOLDING) if section >= self.HOLDING else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Views ask for a dozen roles per cell on every repaint; answer the unused ones first.
        if role not in _SERVED_ROLES or not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (self.PRICE, self.CHANGE, self.AGE, self.HOLDING, self.VALUE, self.PL):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == self.PRICE:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == HISTORY_ROLE and col == self.TREND:
            return row.history.segments()
        if role == STALE_ROLE:
            return not self.is_live(row)
        if role == SORT_ROLE:
            return self._sort_key(row, col)
        if role == PAIR_ROLE:
            return row.sub
        if role == LINE_COLOR_ROLE:
            return self._line_color(row)
        if role == NOW_ROLE:
            return None if self.is_live(row) else self._now
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._tooltip(row)
        return None

    def _text(self, row: Row, col: int) -> str | None:
        q = row.quote
        if col == self.PAIR:
            return pair_cell_text(row.sub, q)
        if col in self.HOLDING_COLUMNS:
            return self._holding_text(row, col)
        if row.rejected is not None:
            return "not available" if col == self.PRICE else ""
        if q is None or q.price is None:
            blocked = self._blocked.get(row.sub.source)
            if blocked is not None:  # not loading: waiting on the user
                return {self.PRICE: "—", self.AGE: blocked}.get(col, "")
            return "…" if col == self.PRICE else ""
        if col == self.PRICE:
            return format_price(q.price)
        if col == self.CHANGE:
            pct = q.change_pct_24h
            if pct is None:
                return "—"
            return f"{change_arrow(pct)} {format_pct(pct)}"
        if col == self.AGE:
            age = format_age(q.age_s(self._now))
            return age if self.is_live(row) else f"stale · {age}"
        return None

    def _row_price(self, row: Row) -> float | None:
        q = row.quote
        return None if row.rejected is not None or q is None else q.price

    def _holding_text(self, row: Row, col: int) -> str:
        h = self._holdings.get(row.sub)
        if h is None:
            return ""
        if col == self.HOLDING:
            return f"{format_quantity(h.quantity)} {row.sub.base}"
        price = self._row_price(row)
        if price is None:
            return ""
        if col == self.VALUE:
            return format_amount(h.value(price))
        return profit_text(h.profit(price), h.profit_pct(price))

    def _profit_sign(self, row: Row) -> int:
        """The sign of the row's profit as shown (a profit that rounds to 0.00 is neither)."""
        h, price = self._holdings.get(row.sub), self._row_price(row)
        profit = None if h is None or price is None else h.profit(price)
        if profit is None:
            return 0
        text = format_signed_amount(profit)
        return 1 if text.startswith("+") else -1 if text.startswith("-") else 0

    def _color(self, row: Row, col: int) -> QColor | None:
        if not self.is_live(row):
            return self._colors.stale
        if col == self.PL:  # the colour agrees with the sign shown, as the 24 h change's does
            held = self._profit_sign(row)
            return self._colors.up if held > 0 else self._colors.down if held < 0 else None
        q = row.quote
        sign = change_sign(q.change_pct_24h) if col == self.CHANGE and q is not None else None
        if sign:  # the colour agrees with the number shown: a change that rounds to 0.00% is neither
            return self._colors.up if sign > 0 else self._colors.down
        return None

    def _line_color(self, row: Row) -> QColor:
        if not self.is_live(row):
            return self._colors.stale
        points = row.history.points()
        up = len(points) < 2 or points[-1][1] >= points[0][1]
        return self._colors.up if up else self._colors.down

    def _sort_key(self, row: Row, col: int) -> str | float | None:
        """What the column sorts by: numbers as numbers (``9,000`` before ``10,000``); None (no
        data) is placed last by the view's proxy."""
        if col == self.PAIR:
            return pair_label(row.sub).casefold()
        if col in self.HOLDING_COLUMNS:
            h, price = self._holdings.get(row.sub), self._row_price(row)
            if h is None:
                return None
            if col == self.HOLDING:
                return h.quantity
            if price is None:
                return None
            return h.value(price) if col == self.VALUE else h.profit(price)
        q = row.quote
        if row.rejected is not None or q is None or q.price is None:
            return None
        if col == self.PRICE:
            return q.price
        if col == self.CHANGE:
            return q.change_pct_24h
        if col == self.AGE:
            return -q.received_at  # newest first when ascending: "now" before "5 min ago"
        return None

    def _tooltip(self, row: Row) -> str:
        q = row.quote
        if row.rejected is not None:
            return f"{pair_label(row.sub)}: {row.rejected}"
        if q is None or q.price is None:
            blocked = self._blocked.get(row.sub.source)
            return f"{pair_label(row.sub)}: {blocked or 'waiting for data'}"
        parts = [
            f"{pair_label(row.sub)}: {format_price(q.price)}",
            f"24 h {format_pct(q.change_pct_24h)} ({change_period_words(row.sub.source)})",
        ]
        if row.sub.source is Source.COMPOSITE:
            parts.append(basis_words(q))
        if q.high_24h is not None and q.low_24h is not None:
            parts.append(f"24 h range {format_price(q.low_24h)} to {format_price(q.high_24h)}")
        if q.last_market:
            parts.append(f"last trade on {q.last_market}")
        parts.append(f"updated {format_age(q.age_s(self._now))}" + ("" if self.is_live(row) else " (stale)"))
        h = self._holdings.get(row.sub)
        if h is not None:
            worth = format_amount(h.value(q.price))
            held = f"holding {format_quantity(h.quantity)} {row.sub.base}, worth {worth} {row.sub.quote}"
            pl = profit_text(h.profit(q.price), h.profit_pct(q.price))
            if pl and h.cost_basis is not None:
                held += f"; P/L {pl} against {format_amount(h.cost_basis)} {row.sub.quote} paid"
            parts.append(held)
        return "\n".join(parts)
