"""Subscription strings ``TYPE~MARKET~BASE~QUOTE``: parse, validate, format. Pure; no I/O."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

AGGREGATE_MARKET = "CCCAGG"

_SYMBOL = re.compile(r"[A-Z0-9]{1,20}")
_MARKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_SHORTHAND = re.compile(r"\s*([A-Za-z0-9]{1,20})\s*[-/]\s*([A-Za-z0-9]{1,20})\s*")


class Channel(enum.IntEnum):
    """The streamer channels ccdesk understands (the TYPE part of a subscription)."""

    TRADE = 0
    TICKER = 2
    AGGREGATE = 5


class SubError(ValueError):
    """A subscription string that cannot be used; ``str(err)`` says what is wrong in plain words."""


@dataclass(frozen=True, slots=True)
class Sub:
    """One subscription: a channel, a market (exchange or CCCAGG), a base and a quote symbol."""

    channel: Channel
    market: str
    base: str
    quote: str
    # Subs key every per-pair dict on the hot path (several lookups per frame); the generated
    # __hash__ would rebuild a tuple and call Enum.__hash__ in Python each time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((int(self.channel), self.market, self.base, self.quote)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{int(self.channel)}~{self.market}~{self.base}~{self.quote}"

    @property
    def pair(self) -> str:
        """``BTC/USD``."""
        return f"{self.base}/{self.quote}"

    @property
    def label(self) -> str:
        """Short human label: ``BTC/USD`` for the aggregate, ``BTC/USD Coinbase`` for a ticker,
        ``BTC/USD Binance trades`` for trades."""
        if self.channel is Channel.AGGREGATE:
            return self.pair
        if self.channel is Channel.TICKER:
            return f"{self.pair} {self.market}"
        return f"{self.pair} {self.market} trades"


def aggregate(base: str, quote: str) -> Sub:
    """The CCCAGG aggregate subscription for a pair (validated)."""
    return parse_sub(f"5~{AGGREGATE_MARKET}~{base}~{quote}")


def parse_sub(text: str) -> Sub:
    """Parse ``TYPE~MARKET~BASE~QUOTE`` or the shorthand ``BTC-USD`` / ``btc/usd`` (aggregate).

    Both forms pass the same checks (:func:`_checked_sub`), so a subscription parsed from either
    form formats to a string that parses back to itself.

    Symbols are upper-cased; the market keeps its case (the server's exchange names are
    case-sensitive, e.g. ``Coinbase``) except that ``cccagg`` is normalised.

    Raises:
        SubError: with a message that names the part that is wrong.
    """
    if not isinstance(text, str) or not text.strip():
        raise SubError("empty subscription; expected TYPE~MARKET~BASE~QUOTE or BASE-QUOTE")
    text = text.strip()
    if "~" not in text:
        m = _SHORTHAND.fullmatch(text)
        if not m:
            raise SubError(
                f"{text!r} is not a subscription: expected TYPE~MARKET~BASE~QUOTE "
                "(e.g. 5~CCCAGG~BTC~USD) or BASE-QUOTE (e.g. BTC-USD)"
            )
        return _checked_sub(text, Channel.AGGREGATE, AGGREGATE_MARKET, m.group(1), m.group(2))
    parts = text.split("~")
    if len(parts) != 4:
        raise SubError(
            f"{text!r} has {len(parts)} parts; expected 4: TYPE~MARKET~BASE~QUOTE (e.g. 5~CCCAGG~BTC~USD)"
        )
    type_s, market, base, quote = (p.strip() for p in parts)
    try:
        # ASCII digits only: int() alone would also take "+5", "0_5" or full-width digits.
        if not (type_s.isascii() and type_s.isdigit()):
            raise ValueError(type_s)
        channel = Channel(int(type_s))
    except ValueError:
        raise SubError(
            f"{text!r}: type {type_s!r} is not supported; use 0 (trades), 2 (exchange ticker) "
            "or 5 (CCCAGG aggregate)"
        ) from None
    return _checked_sub(text, channel, market, base, quote)


def _checked_sub(text: str, channel: Channel, market: str, base: str, quote: str) -> Sub:
    """The one set of checks every parsed subscription passes, whichever form it was written in."""
    if market.upper() == AGGREGATE_MARKET:
        market = AGGREGATE_MARKET
    if not _MARKET.fullmatch(market):
        raise SubError(f"{text!r}: market {market!r} is not a valid exchange name")
    if channel is Channel.AGGREGATE and market != AGGREGATE_MARKET:
        raise SubError(f"{text!r}: type 5 (aggregate) only exists for market CCCAGG, not {market!r}")
    if channel is not Channel.AGGREGATE and market == AGGREGATE_MARKET:
        raise SubError(f"{text!r}: CCCAGG is the aggregate index; use type 5, or name an exchange")
    for role, sym in (("base", base), ("quote", quote)):
        # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII ones
        # (the German sharp s into "SS", the dotless i into "I"): a different symbol from the one written.
        if not (sym.isascii() and _SYMBOL.fullmatch(sym.upper())):
            raise SubError(f"{text!r}: {role} symbol {sym!r} must be 1-20 letters or digits")
    base, quote = base.upper(), quote.upper()
    if base == quote:
        raise SubError(f"{text!r}: base and quote are both {base}")
    return Sub(channel, market, base, quote)
