"""Strict readers for numbers that arrive from the wire as JSON numbers or as text. Pure; never raises.

Why not ``float()`` and ``int()``: both are lenient in ways a price must not be. ``float()`` takes
``"nan"``, ``"inf"``, ``"1_000"``, ``" 12 "``, ``"+5"`` and digits of every script (``"١٢٣"`` is 123.0);
``int()`` takes the same digits, and ``str.isdigit()`` accepts characters that ``int()`` then refuses
(``"²"``). The readers here accept ASCII text only, in the JSON number grammar (RFC 8259 §6), and
return None for anything else, so a check and a conversion can never disagree.

The grammar, decided:
    - an optional leading ``-`` (``read_decimal`` only); no leading ``+``, which JSON does not allow
      and no exchange sends;
    - an integer part without superfluous leading zeros (``0``, ``7``, ``91230``; not ``007``, which
      some producers mean as octal), then optionally ``.`` and at least one digit (not ``1.``, ``.5``);
    - an optional exponent ``e``/``E``, optionally signed. Accepted because the usual serialisers
      switch to it for small values: Python's ``str(0.000012)`` is ``1.2e-05``, JavaScript's
      ``String(1e-7)`` is ``1e-7``, Java's ``BigDecimal.toString()`` gives ``1.2E-8``. Pair-cent token
      prices are exactly those values; refusing them would drop real prices;
    - at most ``MAX_DECIMAL_CHARS`` characters (a double carries 17 significant digits; exchanges
      pad to 8 or 18 decimals), and the value must be finite (``"1e999"`` is refused).
"""

from __future__ import annotations

import math
import re
from typing import Final

MAX_DECIMAL_CHARS: Final = 40
"""The longest decimal text read: ``0.000000000000000001`` (18 decimals) with room to spare."""

MAX_UNSIGNED_DIGITS: Final = 18
"""The default digit cap of ``read_unsigned``: below 2**63, so the value fits any int64 field."""

# [0-9], never \d: in a str pattern \d matches every Unicode decimal digit.
_DECIMAL: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_UNSIGNED_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_ISFINITE: Final = math.isfinite

UNSIGNED_DECIMAL_TEXT: Final = _UNSIGNED_DECIMAL
"""The text ``read_price`` accepts, before the value checks: for a parser's hot loop that reads many
decimal strings per frame and cannot afford two calls per field. Inlined, ``read_price(text)`` is
``len(text) <= MAX_DECIMAL_CHARS and UNSIGNED_DECIMAL_TEXT.fullmatch(text)``, then
``0 < float(text) < inf`` (the grammar has no NaN, but ``"1e999"`` is infinite)."""


def _read(value: object, pattern: re.Pattern[str], max_chars: int) -> float | None:
    # Exact types: bool (an int subclass) is not a number here.
    if type(value) is float:
        return value if _ISFINITE(value) else None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:  # an int beyond the double range (json.loads, unlike orjson, makes them)
            return None
    if type(value) is str:
        if len(value) > max_chars or pattern.fullmatch(value) is None:
            return None
        f = float(value)
        return f if _ISFINITE(f) else None
    return None


def read_decimal(value: object, max_chars: int = MAX_DECIMAL_CHARS) -> float | None:
    """A finite float from a JSON number (int or float) or a decimal string, or None.

    Strings must be ASCII in the JSON number grammar (see the module docstring): ``"91230.12"``,
    ``"-0.5"``, ``"1.2e-05"``; never ``"nan"``, ``"1_000"``, ``" 1"``, ``"+1"`` or ``"١٢٣"``.

    Args:
        value: The wire value; any type (non-numbers give None).
        max_chars: The longest string accepted.

    Returns:
        The value as a finite float, or None.
    """
    return _read(value, _DECIMAL, max_chars)


def read_price(value: object, max_chars: int = MAX_DECIMAL_CHARS) -> float | None:
    """Like ``read_decimal``, for prices: the value must be > 0, and text may carry no sign.

    Returns:
        The price as a finite float > 0, or None (zero, negative, not a number, malformed).
    """
    f = _read(value, _UNSIGNED_DECIMAL, max_chars)
    return f if f is not None and f > 0.0 else None


def read_unsigned(value: object, max_digits: int = MAX_UNSIGNED_DIGITS) -> int | None:
    """A non-negative int from a JSON integer or a string of ASCII digits, or None.

    For bitmasks (FLAGS, a trade's F) and counts (the N of ``..._MAX_{N}_...``). Leading zeros
    are allowed in text (``"0002"``: a bitmask is not read as octal by anyone).

    Args:
        value: The wire value; any type (non-integers, bool and floats give None).
        max_digits: The most digits accepted, in text and in an int's decimal form.

    Returns:
        The value, or None.
    """
    if type(value) is int:
        return value if 0 <= value < 10**max_digits else None
    if type(value) is str and 0 < len(value) <= max_digits and value.isascii() and value.isdigit():
        # ASCII first: among ASCII characters only 0-9 are digits, and int() takes exactly those.
        return int(value)
    return None
