"""Reading a venue's ticker fields that arrive as decimal strings (Coinbase, Binance): strictly, one
field at a time, fast. Pure; never raises.

Each value goes through the strict readers of ``ccdesk.core.numbers`` (ASCII digits in the JSON
number grammar, finite; prices > 0, amounts >= 0). A bad field costs only itself: it is named in the
list of dropped fields and never repaired, and a price is never taken from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ccdesk.core.numbers import read_decimal, read_price

_MAX_MEMO: Final = 4096
_UNSEEN: Final = object()


class DecimalTextReader:
    """Reads named string fields of a ticker object into quote-book fields. One per connection.

    Prices repeat from frame to frame (a 24 h open, high and low change rarely; a quiet price not at
    all), so the strict reader's answer for each price text is remembered (a pure function of the
    text; bounded). Amounts (volumes) change on every trade and are read each time.

    Args:
        prices: (wire name, book name) of the fields that must be prices (> 0).
        amounts: (wire name, book name) of the fields that must be amounts (>= 0).
    """

    def __init__(self, prices: Sequence[tuple[str, str]], amounts: Sequence[tuple[str, str]]) -> None:
        self._prices = tuple(prices)
        self._amounts = tuple(amounts)
        self._memo: dict[str, float | None] = {}

    def read(self, obj: Mapping[str, Any], fields: dict[str, Any]) -> list[str] | None:
        """Adds ``obj``'s good fields to ``fields`` (by book name); absent fields are skipped.

        Strings only: these venues write every number as a decimal string (exact text); a JSON
        number in such a field would be a changed protocol, not a price to guess at.

        Returns:
            Why each bad field was left out (``"price is not a positive decimal string"``, never the
            value), or None when every field present was good.
        """
        dropped: list[str] | None = None
        memo = self._memo
        for name, key in self._prices:
            value = obj.get(name)
            if value is None:
                continue
            number: object = None
            if type(value) is str:
                number = memo.get(value, _UNSEEN)
                if number is _UNSEEN:
                    if len(memo) >= _MAX_MEMO:
                        memo.clear()
                    memo[value] = number = read_price(value)
            if number is None:
                if dropped is None:
                    dropped = []
                dropped.append(f"{name} is not a positive decimal string")
            else:
                fields[key] = number
        for name, key in self._amounts:
            value = obj.get(name)
            if value is None:
                continue
            amount = read_decimal(value) if type(value) is str else None
            if amount is None or amount < 0.0:
                if dropped is None:
                    dropped = []
                dropped.append(f"{name} is not a non-negative decimal string")
            else:
                fields[key] = amount
        return dropped
