"""Number and time formatting shared by the CLI and the window. Pure functions, no locale state."""

from __future__ import annotations

import math


def format_price(price: float) -> str:
    """Format a price for its magnitude: ``91,230.12``, ``152.30``, ``1.2345``, ``0.1723``,
    ``0.00001234`` (four significant digits below 1)."""
    if not math.isfinite(price):
        return "—"
    a = abs(price)
    if a >= 100:
        return f"{price:,.2f}"
    if a >= 1:
        return f"{price:,.4f}"
    if a == 0:
        return "0"
    decimals = min(12, 3 - math.floor(math.log10(a)))
    return f"{price:.{decimals}f}"


def format_pct(pct: float | None) -> str:
    """``+2.14%``, ``-0.42%``; ``n/a`` when unknown."""
    if pct is None or not math.isfinite(pct):
        return "n/a"
    if abs(pct) < 0.005:
        return "0.00%"
    return f"{pct:+.2f}%"


def format_duration(seconds: float) -> str:
    """A short duration: ``45 s``, ``5 min``, ``1 h 30 min``, ``2 d``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m} min" if rest == 0 or m >= 10 else f"{m} min {rest} s"
    if s < 86400:
        h, rest = divmod(s, 3600)
        m = rest // 60
        return f"{h} h" if m == 0 else f"{h} h {m} min"
    return f"{s // 86400} d"


def format_age(seconds: float) -> str:
    """How old data is: ``now``, ``4 s ago``, ``25 s ago``, ``3 min ago``, ``2 h ago``.

    Second by second below 10 s, then in 5-second steps up to a minute, then whole minutes and
    hours: an age is read at a glance, and a coarser text changes (and repaints) less often.
    """
    if seconds < 1:
        return "now"
    if seconds < 10:
        return f"{int(seconds)} s ago"
    if seconds < 60:
        return f"{int(seconds) // 5 * 5} s ago"
    if seconds < 3600:
        return f"{int(seconds) // 60} min ago"
    return f"{int(seconds) // 3600} h ago"


def next_age_change(seconds: float) -> float:
    """The age at which ``format_age`` will next show a different text (for scheduling repaints:
    a display need not wake before then)."""
    if seconds < 1:
        return 1.0
    if seconds < 10:
        return float(math.floor(seconds) + 1)
    if seconds < 60:
        return float((math.floor(seconds) // 5 + 1) * 5)
    if seconds < 3600:
        return float((math.floor(seconds) // 60 + 1) * 60)
    return float((math.floor(seconds) // 3600 + 1) * 3600)
