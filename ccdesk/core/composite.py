"""The composite price: ``composite:BTC-USD`` is the median of the fresh last prices of BTC-USD on
the keyless venues the user has enabled, with the venues behind it. One venue's glitch or outage
then neither moves the price nor fires an alert. Pure; the GUI thread and the CLI each own a book.

Only the very same pair is combined: ``composite:BTC-USD`` takes ``kraken:BTC-USD``,
``coinbase:BTC-USD``... and never a USDT price (``composite:BTC-USDT`` is its own composite).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import replace
from typing import Final

from ccdesk.core.pairs import KEYLESS, Channel, Pair, Source
from ccdesk.core.quotes import PriceDirection, Quote

COMPOSITE_FRESH_S: Final = 10.0
"""A venue's price older than this is left out of the median."""
COMPOSITE_VENUES: Final = tuple(s for s in Source if s in KEYLESS)
"""The venues a composite draws on unless the user turned some off (Kraken, Coinbase, Binance, OKX)."""


def members(pair: Pair, venues: Sequence[Source]) -> tuple[Pair, ...]:
    """The venue pairs behind a composite pair: the same base and quote on each venue."""
    return tuple(Pair(v, pair.base, pair.quote, "", Channel.TICKER) for v in venues if v in KEYLESS)


def refused_composites(
    watchlist: Iterable[Pair], venues: Sequence[Source], refused: Set[Pair], rejected: Pair
) -> tuple[Pair, ...]:
    """The composites of ``watchlist`` that the refusal of ``rejected`` leaves with no venue: every
    venue pair behind them is in ``refused`` (which holds ``rejected``), and ``rejected`` is one of them.
    The GUI's hub and ``ccdesk stream`` refuse a composite the same way."""
    return tuple(
        c
        for c in dict.fromkeys(watchlist)
        if c.source is Source.COMPOSITE
        and rejected in (venue_pairs := members(c, venues))
        and all(m in refused for m in venue_pairs)
    )


class CompositeBook:
    """The latest member quotes and the composite quotes computed from them. Not thread-safe."""

    def __init__(
        self, venues: Sequence[Source] = COMPOSITE_VENUES, fresh_s: float = COMPOSITE_FRESH_S
    ) -> None:
        self._fresh_s = fresh_s
        self._venues = tuple(venues)
        self._members: dict[Pair, tuple[Pair, ...]] = {}
        self._of_member: dict[Pair, list[Pair]] = {}
        self._latest: dict[Pair, Quote] = {}
        self._shown: dict[Pair, Quote] = {}

    def watch(self, composites: Iterable[Pair], venues: Sequence[Source] | None = None) -> None:
        """Compute these composite pairs (from ``venues``, or the ones given before)."""
        if venues is not None:
            self._venues = tuple(venues)
        self._members = {c: members(c, self._venues) for c in dict.fromkeys(composites)}
        self._of_member = {}
        for c, ms in self._members.items():
            for m in ms:
                self._of_member.setdefault(m, []).append(c)
        self._latest = {m: q for m, q in self._latest.items() if m in self._of_member}
        self._shown = {c: q for c, q in self._shown.items() if c in self._members}

    def member_pairs(self) -> tuple[Pair, ...]:
        """Every venue pair some composite needs (to subscribe), in a stable order."""
        return tuple(self._of_member)

    def update(self, quotes: Iterable[Quote], live_since: Mapping[Source, float], now: float) -> list[Quote]:
        """Take new member quotes; returns the composite quotes that changed."""
        touched: dict[Pair, None] = {}
        for q in quotes:
            composites = self._of_member.get(q.sub)
            if composites is None:
                continue
            self._latest[q.sub] = q
            touched.update(dict.fromkeys(composites))
        return self._recompute(touched, live_since, now)

    def refresh(self, live_since: Mapping[Source, float], now: float) -> list[Quote]:
        """Recompute every composite for ``now`` (venues ageing out, a venue's connection lost)."""
        return self._recompute(self._members, live_since, now)

    def next_change(self, now: float) -> float | None:
        """The monotonic time the next member in a median turns too old, or None."""
        times = [
            m.received_at + self._fresh_s + 1e-3
            for c, shown in self._shown.items()
            if shown.basis
            for m in (self._latest.get(p) for p in self._members[c])
            if m is not None and m.received_at + self._fresh_s >= now
        ]
        return min(times) if times else None

    def quote(self, composite: Pair) -> Quote | None:
        return self._shown.get(composite)

    def _recompute(
        self, composites: Iterable[Pair], live_since: Mapping[Source, float], now: float
    ) -> list[Quote]:
        changed: list[Quote] = []
        for c in composites:
            fresh = [
                q
                for q in (self._latest.get(m) for m in self._members.get(c, ()))
                if q is not None
                and q.price is not None
                and (since := live_since.get(q.sub.source)) is not None
                and q.received_at >= since
                and now - q.received_at <= self._fresh_s
            ]
            before = self._shown.get(c)
            if not fresh:
                if before is not None and before.basis:
                    after = replace(before, basis=())
                    self._shown[c] = after
                    changed.append(after)
                continue
            after = _combine(c, fresh, before)
            if before is None or (after.price, after.basis, after.received_at, after.open_24h) != (
                before.price,
                before.basis,
                before.received_at,
                before.open_24h,
            ):
                self._shown[c] = after
                changed.append(after)
        return changed


def _combine(composite: Pair, fresh: list[Quote], before: Quote | None) -> Quote:
    prices = [q.price for q in fresh if q.price is not None]
    price = float(statistics.median(prices))
    pcts = [p for p in (q.change_pct_24h for q in fresh) if p is not None]
    open_24h = price / (1.0 + statistics.median(pcts) / 100.0) if pcts else None
    direction = before.direction if before is not None else None
    if before is not None and before.price is not None and before.price != price:
        direction = PriceDirection.UP if price > before.price else PriceDirection.DOWN
    return Quote(
        sub=composite,
        price=price,
        direction=direction,
        open_24h=open_24h,
        received_at=max(q.received_at for q in fresh),
        basis=tuple(s for s in Source if any(q.sub.source is s for q in fresh)),
    )


def subscriptions(watchlist: Iterable[Pair], venues: Sequence[Source]) -> dict[Source, tuple[Pair, ...]]:
    """What each source streams for a watchlist: its own pairs, plus the venue pairs behind the
    watchlist's composite prices (each pair once, in watchlist order). Composite is never streamed."""
    out: dict[Source, dict[Pair, None]] = {}
    for pair in watchlist:
        if pair.source is Source.PORTFOLIO:
            continue  # computed from the holdings on the GUI thread, never streamed
        for p in members(pair, venues) if pair.source is Source.COMPOSITE else (pair,):
            out.setdefault(p.source, {})[p] = None
    return {s: tuple(out[s]) for s in Source if s in out}
