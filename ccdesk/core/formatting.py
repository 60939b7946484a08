"""Number and time formatting shared by the CLI and the window. Pure functions, no locale state."""

from __future__ import annotations

import math

UP_ARROW = "▲"
DOWN_ARROW = "▼"
FLAT_MARK = "■"

_FLAT_PCT = 0.005
"""A change whose absolute value is below this shows as 0.00%: ``f"{0.0049:+.2f}"`` is "+0.00" (and
the double nearest 0.005 lies above it, so ``f"{0.005:+.2f}"`` is "+0.01"): the threshold and the
two-decimal rounding agree to the last bit."""


def format_price(price: float) -> str:
    """Format a price for its magnitude: ``91,230.12``, ``152.30``, ``1.2345``, ``0.1723``,
    ``0.00001234`` (four significant digits below 1).

    The magnitude is that of the price as rounded for display, so a price that rounds up across a
    power of ten reads like the prices just above it: 0.099995 gives ``0.1000`` (not ``0.10000``),
    0.99995 gives ``1.0000`` (as 1.0 does), 99.99996 gives ``100.00`` (not ``100.0000``).
    """
    if not math.isfinite(price):
        return "—"
    a = abs(price)
    if a == 0:
        return "0"
    if a < 1:
        # Round to four significant digits first and take the exponent of the result; the
        # exponent of `a` itself is one too small when the rounding carries (0.099995 -> 1.000e-01).
        exp = int(f"{a:.3e}".partition("e")[2])
        if exp < 0:
            return f"{price:.{min(12, 3 - exp)}f}"
        # It rounded up to 1.000: show it as the prices near 1 are shown.
    if a < 100 and float(f"{a:.4f}") < 100:
        return f"{price:,.4f}"
    return f"{price:,.2f}"


def format_pct(pct: float | None) -> str:
    """``+2.14%``, ``-0.42%``; ``0.00%`` for a change that rounds to zero; ``n/a`` when unknown."""
    if pct is None or not math.isfinite(pct):
        return "n/a"
    if abs(pct) < _FLAT_PCT:
        return "0.00%"
    return f"{pct:+.2f}%"


def change_sign(pct: float | None) -> int | None:
    """The sign of a percentage change *as ``format_pct`` shows it*: 1, -1, or 0 for a change that
    rounds to 0.00% (-0.001 % is flat, not down); None when it shows ``n/a``.

    For colours and arrows, so that they never contradict the number next to them.
    """
    if pct is None or not math.isfinite(pct):
        return None
    if pct >= _FLAT_PCT:
        return 1
    if pct <= -_FLAT_PCT:
        return -1
    return 0


def change_arrow(pct: float | None) -> str:
    """The mark before a percentage change: ``▲`` up, ``▼`` down, ``■`` for a change that rounds to
    0.00% (a tiny fall is flat, never "▼ 0.00%"), and ``""`` when the change is unknown (n/a).

    Example: ``f"{change_arrow(pct)} {format_pct(pct)}"`` -> ``▲ +2.14%``, ``■ 0.00%``.
    """
    sign = change_sign(pct)
    if sign is None:
        return ""
    return UP_ARROW if sign > 0 else DOWN_ARROW if sign < 0 else FLAT_MARK


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


_COMPACT_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def _three_digits(v: float) -> str:
    """``v`` (1 <= v < 1000) with three significant digits: ``91.2``, ``912``, ``1.25``."""
    decimals = 0 if v >= 99.95 else 1 if v >= 9.995 else 2
    return f"{v:.{decimals}f}"


def compact_price(price: float) -> str:
    """A price in five characters or fewer, for the tray icon and the mini panel: ``91.2k``,
    ``3,102``, ``152.3``, ``12.35``, ``1.234``, ``0.1706``, ``1.25M``; ``—`` when not finite.

    Four significant digits up to 9,999 (the glance reads the leading digits), three with a ``k``,
    ``M`` or ``B`` above that; below 0.001, two significant digits in e-notation (``1.2e-5``).
    A value that rounds up across a unit reads like the values above it (999,960 is ``1.00M``).
    """
    if not math.isfinite(price):
        return "—"
    sign = "-" if price < 0 else ""
    a = abs(price)
    if a >= 9999.5:
        for i, (scale, suffix) in enumerate(_COMPACT_UNITS):
            if a >= scale * 0.9995 or i == len(_COMPACT_UNITS) - 1:
                text = _three_digits(a / scale)
                if float(text) >= 1000 and i > 0:  # rounded up into the next unit
                    scale, suffix = _COMPACT_UNITS[i - 1]
                    text = _three_digits(a / scale)
                return f"{sign}{text}{suffix}"
    if a >= 999.95:
        return f"{sign}{a:,.0f}"
    if a >= 1:
        decimals = 1 if a >= 99.995 else 2 if a >= 9.9995 else 3
        return f"{sign}{a:.{decimals}f}"
    if a == 0:
        return "0"
    if a >= 0.00095:
        return f"{sign}{a:.4f}"
    mantissa, _, exp = f"{a:.1e}".partition("e")
    return f"{sign}{mantissa}e{int(exp)}"


def plain_price(price: float) -> str:
    """The price as a plain number for the clipboard: no grouping separators, the decimals that
    ``format_price`` shows (``91230.12``, ``0.1706``), ``""`` when not finite."""
    if not math.isfinite(price):
        return ""
    return format_price(price).replace(",", "")


_APART_MAX_DECIMALS = 12


def _decimals(text: str) -> int:
    return len(text.partition(".")[2])


def format_prices_apart(first: float, second: float) -> tuple[str, str]:
    """Two prices formatted alike (``format_price``'s style), with as many more decimals as it takes
    to tell them apart: ``0.1590 → 0.1590`` becomes ``0.15902 → 0.15897``.

    Both get the same number of decimals: the more of what ``format_price`` gives either, then more
    until the two texts differ, at most 12. Prices that are equal (or differ only beyond 12
    decimals) keep ``format_price``'s decimals. A price that is not finite is ``—``.
    """
    if not (math.isfinite(first) and math.isfinite(second)):
        return format_price(first), format_price(second)
    base = max(_decimals(format_price(first)), _decimals(format_price(second)))
    for decimals in range(base, _APART_MAX_DECIMALS + 1):
        a, b = f"{first:,.{decimals}f}", f"{second:,.{decimals}f}"
        if a != b:
            return a, b
    return f"{first:,.{base}f}", f"{second:,.{base}f}"


_COMPACT_FLAT_PCT = 0.05
"""Below this a change shows as ``■0.0%``: the one-decimal twin of ``_FLAT_PCT``."""


def compact_pct(pct: float | None) -> str:
    """A 24 h change in the fewest characters, direction by shape: ``▲2.1%``, ``▼0.4%``, ``■0.0%``
    for a change that rounds to 0.0 % (never "▲0.0%"), ``""`` when unknown. For the mini panel:
    one decimal changes (and repaints) about ten times less often than ``format_pct``'s two."""
    if pct is None or not math.isfinite(pct):
        return ""
    if abs(pct) < _COMPACT_FLAT_PCT:
        return f"{FLAT_MARK}0.0%"
    return f"{UP_ARROW if pct > 0 else DOWN_ARROW}{abs(pct):.1f}%"


def format_quantity(quantity: float) -> str:
    """A holding's quantity as typed, without trailing zeros: ``0.5``, ``1,234.5678``, ``12``,
    ``0.00012345`` (up to eight decimals, the satoshi)."""
    if not math.isfinite(quantity):
        return "—"
    text = f"{quantity:,.8f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def format_amount(amount: float) -> str:
    """A sum of money in a quote currency: two decimals from 1 up (``12,345.67``), the price's
    significant digits below (``0.001234``)."""
    if not math.isfinite(amount):
        return "—"
    return f"{amount:,.2f}" if abs(amount) >= 1 or amount == 0 else format_price(amount)


def format_signed_amount(amount: float) -> str:
    """A profit or loss: ``+1,234.56``, ``-12.30``, ``0.00`` for one that rounds to nothing."""
    text = format_amount(abs(amount))
    if text.strip("0.,") == "":
        return "0.00"
    return ("+" if amount > 0 else "-") + text
