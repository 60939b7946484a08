"""When a price may be shown as live: the one freshness rule every view uses (table, tray icon,
tooltip, menu, window title). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from ccdesk.core.quotes import Quote


@dataclass(frozen=True, slots=True)
class Freshness:
    """A price is fresh when the connection is up, the pair's own data arrived in the current session
    and it is no older than ``stale_after_s``.

    The session rule matters after a suspend or a reconnect: Linux's monotonic clock stops while
    asleep, so data from before a night's sleep can look seconds old; only data that arrived since
    the session began (stamped on the stream thread) counts.

    Attributes:
        live_since: Monotonic time the current session began, or None while disconnected.
        stale_after_s: A pair's own data older than this is stale.
    """

    live_since: float | None = None
    stale_after_s: float = 60.0

    def is_fresh(self, quote: Quote | None, now: float) -> bool:
        """True if ``quote`` may be shown as live at monotonic ``now``."""
        since = self.live_since
        return (
            quote is not None
            and quote.price is not None
            and since is not None
            and quote.received_at >= since
            and now - quote.received_at <= self.stale_after_s
        )

    def stale_at(self, quote: Quote | None, now: float) -> float | None:
        """The monotonic time a fresh ``quote`` turns stale, or None if it is not fresh now."""
        if quote is None or not self.is_fresh(quote, now):
            return None
        return quote.received_at + self.stale_after_s + 1e-3
