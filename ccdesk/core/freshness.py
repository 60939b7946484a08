"""When a price may be shown as live: the one freshness rule every view uses (table, tray icon,
tooltip, menu, window title). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ccdesk.core.pairs import Source
from ccdesk.core.quotes import Quote


@dataclass(frozen=True, slots=True)
class Freshness:
    """A price is fresh when its source's connection is up, the pair's own data arrived in that
    connection's current session and it is no older than ``stale_after_s``.

    The session rule matters after a suspend or a reconnect: Linux's monotonic clock stops while
    asleep, so data from before a night's sleep can look seconds old; only data that arrived since
    the session began (stamped on the stream thread) counts. Each source has its own session: one
    source reconnecting does not make another's prices stale.

    A composite price is fresh while it has venues behind it (each of them fresh and at most
    ``COMPOSITE_FRESH_S`` old, see ``ccdesk.core.composite``) and it is within the threshold.

    Attributes:
        live_since: For each connected source, the monotonic time its current session began; a
            source absent from it is disconnected.
        stale_after_s: A pair's own data older than this is stale.
    """

    live_since: Mapping[Source, float] = field(default_factory=dict)
    stale_after_s: float = 60.0

    @classmethod
    def everywhere(cls, live_since: float, stale_after_s: float = 60.0) -> Freshness:
        """Every source connected since ``live_since`` (for tests and single-source callers)."""
        return cls(dict.fromkeys(Source, live_since), stale_after_s)

    def is_fresh(self, quote: Quote | None, now: float) -> bool:
        """True if ``quote`` may be shown as live at monotonic ``now``."""
        if quote is None or quote.price is None or now - quote.received_at > self.stale_after_s:
            return False
        source = quote.sub.source
        if source is Source.COMPOSITE:
            return bool(quote.basis)
        since = self.live_since.get(source)
        return since is not None and quote.received_at >= since

    def stale_at(self, quote: Quote | None, now: float) -> float | None:
        """The monotonic time a fresh ``quote`` turns stale, or None if it is not fresh now."""
        if quote is None or not self.is_fresh(quote, now):
            return None
        return quote.received_at + self.stale_after_s + 1e-3
