"""Pairs: which price of which coin from which source. Parse, validate, format. Pure; no I/O.

A pair is written ``SOURCE:BASE-QUOTE`` (``kraken:BTC-USD``, ``binance:BTC-USDT``), with an index
market for CoinDesk (``coindesk:ccix:BTC-USD``; ``cadli`` is the default and is not written), and
CryptoCompare's own subscription strings keep working exactly as before: ``5~CCCAGG~BTC~USD`` (the
CCCAGG aggregate), ``2~Coinbase~ETH~USD`` (one exchange's ticker), ``0~Binance~BTC~USDT`` (its
trades). A bare ``BTC-USD`` means the caller's default source.

Entry is forgiving (``parse_pair``): ``BTC/USD``, ``btc-usd``, ``ETH USD``, ``ETH USD Binance``
(a third word names a source, or else one of CryptoCompare's better-known exchanges),
``kraken:xbt-usd`` (Kraken's old name for bitcoin). Every form goes through the same checks, so a
parsed pair formats to a string that parses back to itself. What cannot be parsed says which part
is wrong and what would work.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Final

AGGREGATE_MARKET: Final = "CCCAGG"
"""CryptoCompare's aggregate index, the market of its type-5 subscriptions."""
COINDESK_MARKETS: Final = ("cadli", "ccix", "ccixbe")
"""CoinDesk Data's index families; ``cadli`` is the default."""

_SYMBOL = re.compile(r"[A-Z0-9]{1,20}")
_MARKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_WORDS = re.compile(r"[\s/\-]+")
_ALIASES: Final = {"XBT": "BTC", "XDG": "DOGE"}
"""Kraken's old symbols, accepted from the user and sent as the current ones."""
# CryptoCompare's exchange names are case-sensitive on the wire; the ones a user is likely to type
# are matched regardless of case. Others are kept as typed (the server says if it knows them).
_CC_EXCHANGES: Final = {
    name.lower(): name
    for name in (
        "Binance", "Bitfinex", "Bitget", "Bitstamp", "Bybit", "Coinbase", "Gemini", "HitBTC", "Huobi",
        "Kraken", "KuCoin", "LMAX", "OKX", "Poloniex", "Upbit", "bitFlyer", "itBit",
    )
}  # fmt: skip


class Source(enum.Enum):
    """Where prices come from."""

    KRAKEN = "kraken"
    COINBASE = "coinbase"
    BINANCE = "binance"
    OKX = "okx"
    COINDESK = "coindesk"
    CRYPTOCOMPARE = "cryptocompare"
    COMPOSITE = "composite"
    """The median of the keyless venues' fresh prices of the same pair."""
    PORTFOLIO = "portfolio"
    """The total value of the user's holdings in one quote currency (``portfolio:TOTAL-USD``): a
    pseudo-pair for alert rules, computed from the holdings; never streamed, backfilled or charted."""


SOURCE_NAMES: Final = tuple(s.value for s in Source)
KEYLESS: Final = frozenset({Source.KRAKEN, Source.COINBASE, Source.BINANCE, Source.OKX})
NOT_STREAMED: Final = frozenset({Source.COMPOSITE, Source.PORTFOLIO})
"""The sources computed on this machine from other prices: no stream, no endpoint, no history."""
PORTFOLIO_BASE: Final = "TOTAL"
"""The base symbol of every portfolio pair: ``portfolio:TOTAL-USD``."""


class Channel(enum.IntEnum):
    """What kind of price: one exchange's trades, one exchange's ticker, or an aggregate index.

    The values are CryptoCompare's subscription TYPEs; the other sources' pairs are tickers
    (the exchanges) or aggregates (CoinDesk's indices and the composite).
    """

    TRADE = 0
    TICKER = 2
    AGGREGATE = 5


class PairError(ValueError):
    """A pair that cannot be used; ``str(err)`` says what is wrong in plain words."""


@dataclass(frozen=True, slots=True)
class Pair:
    """One pair: a source, a base and a quote symbol, and for some sources a market and a channel.

    Attributes:
        source: Where the price comes from.
        base: The coin (``BTC``), upper case.
        quote: What it is priced in (``USD``), upper case.
        market: CryptoCompare: the exchange (``Coinbase``) or ``CCCAGG``; CoinDesk: the index
            market (``cadli``); empty for the other sources.
        channel: CryptoCompare: its subscription TYPE; CoinDesk and composite: AGGREGATE; the
            exchanges: TICKER.
    """

    source: Source
    base: str
    quote: str
    market: str = ""
    channel: Channel = Channel.TICKER
    # Pairs key every per-pair dict on the hot path (several lookups per frame); the generated
    # __hash__ would rebuild a tuple and call Enum.__hash__ in Python each time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.source.value, self.base, self.quote, self.market, int(self.channel))
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        """The canonical text: ``kraken:BTC-USD``, ``coindesk:ccix:BTC-USD``, ``5~CCCAGG~BTC~USD``."""
        if self.source is Source.CRYPTOCOMPARE:
            return f"{int(self.channel)}~{self.market}~{self.base}~{self.quote}"
        if self.source is Source.COINDESK and self.market != COINDESK_MARKETS[0]:
            return f"coindesk:{self.market}:{self.base}-{self.quote}"
        return f"{self.source.value}:{self.base}-{self.quote}"

    @property
    def pair(self) -> str:
        """``BTC/USD``."""
        return f"{self.base}/{self.quote}"

    @property
    def venue(self) -> str:
        """Where the price comes from, short: ``Kraken``, ``CoinDesk CCIX``, ``composite``; for
        CryptoCompare the market (``CCCAGG``, ``Coinbase``, ``Binance trades``)."""
        if self.source is Source.CRYPTOCOMPARE:
            return f"{self.market} trades" if self.channel is Channel.TRADE else self.market
        if self.source is Source.COINDESK and self.market != COINDESK_MARKETS[0]:
            return f"CoinDesk {self.market.upper()}"
        return SOURCE_TITLES[self.source]

    @property
    def label(self) -> str:
        """A short name that says where the price comes from: ``BTC/USD`` (CryptoCompare's
        aggregate), ``BTC/USD Coinbase`` (an exchange's ticker), ``BTC/USD Binance trades``,
        ``BTC/USD Kraken``, ``BTC/USD CoinDesk``, ``BTC/USD composite``; ``Portfolio USD``."""
        if self.source is Source.PORTFOLIO:
            return f"Portfolio {self.quote}"
        if self.source is Source.CRYPTOCOMPARE:
            if self.channel is Channel.AGGREGATE:
                return self.pair
            if self.channel is Channel.TICKER:
                return f"{self.pair} {self.market}"
            return f"{self.pair} {self.market} trades"
        if self.source is Source.COINDESK:
            index = "" if self.market == COINDESK_MARKETS[0] else f" {self.market.upper()}"
            return f"{self.pair} CoinDesk{index}"
        return f"{self.pair} {SOURCE_TITLES[self.source]}"


SOURCE_TITLES: Final = {
    Source.KRAKEN: "Kraken",
    Source.COINBASE: "Coinbase",
    Source.BINANCE: "Binance",
    Source.OKX: "OKX",
    Source.COINDESK: "CoinDesk",
    Source.CRYPTOCOMPARE: "CryptoCompare",
    Source.COMPOSITE: "composite",
    Source.PORTFOLIO: "Portfolio",
}


def aggregate(base: str, quote: str) -> Pair:
    """CryptoCompare's CCCAGG aggregate of a pair (validated)."""
    return parse_pair(f"5~{AGGREGATE_MARKET}~{base}~{quote}")


def parse_source(text: str) -> Source:
    """A source by name, in any case.

    Raises:
        PairError: naming the word and listing the sources.
    """
    name = text.strip().lower()
    for source in Source:
        if source.value == name:
            return source
    raise PairError(f"{text.strip()!r} is not a source; the sources are {', '.join(SOURCE_NAMES)}")


def parse_pair(text: str, default: Source = Source.CRYPTOCOMPARE) -> Pair:
    """Parse a pair in any accepted form (see the module docstring).

    Args:
        text: What was typed or stored.
        default: The source of a bare ``BTC-USD``. CryptoCompare (its CCCAGG aggregate) is the
            meaning such text had before there were other sources, and what old settings files
            mean by it; the command line and the app pass their own default source.

    Raises:
        PairError: with a message that names the part that is wrong and says what would work.
    """
    if not isinstance(text, str) or not text.strip():
        raise PairError("empty pair; expected SOURCE:BASE-QUOTE (e.g. kraken:BTC-USD) or BASE-QUOTE")
    text = text.strip()
    if "~" in text:
        return _parse_cryptocompare(text)
    if ":" in text:
        head, _, rest = text.partition(":")
        source = parse_source(head)
        market = ""
        if source is Source.COINDESK and ":" in rest:
            market, _, rest = rest.partition(":")
        elif ":" in rest:
            raise PairError(f"{text!r}: expected {source.value}:BASE-QUOTE (e.g. {source.value}:BTC-USD)")
        words = [w for w in _WORDS.split(rest.strip()) if w]
        if len(words) != 2:
            raise PairError(f"{text!r}: expected {source.value}:BASE-QUOTE (e.g. {source.value}:BTC-USD)")
        return _checked(text, source, words[0], words[1], market)
    words = [w for w in _WORDS.split(text) if w]
    if len(words) == 2:
        return _checked(text, default, words[0], words[1], "")
    if len(words) == 3:
        base, quote, place = words
        try:
            source = parse_source(place)
        except PairError:
            # Not one of the sources: one of CryptoCompare's exchanges (which needs a key).
            exchange = _CC_EXCHANGES.get(place.lower())
            if exchange is None:
                raise PairError(
                    f"{text!r}: {place!r} is neither a source ({', '.join(SOURCE_NAMES)}) nor an "
                    f"exchange ccdesk knows; for another CryptoCompare exchange write "
                    f"2~EXCHANGE~{base.upper()}~{quote.upper()}"
                ) from None
            return _checked_cryptocompare(text, Channel.TICKER, exchange, base, quote)
        return _checked(text, source, base, quote, "")
    raise PairError(
        f"{text!r} is not a pair: write BASE-QUOTE (BTC-USD), SOURCE:BASE-QUOTE (kraken:BTC-USD), "
        f"BASE QUOTE EXCHANGE (ETH USD Binance) or TYPE~MARKET~BASE~QUOTE (5~CCCAGG~BTC~USD)"
    )


def _parse_cryptocompare(text: str) -> Pair:
    parts = text.split("~")
    if len(parts) != 4:
        raise PairError(
            f"{text!r} has {len(parts)} parts; expected 4: TYPE~MARKET~BASE~QUOTE (e.g. 5~CCCAGG~BTC~USD)"
        )
    type_s, market, base, quote = (p.strip() for p in parts)
    try:
        # ASCII digits only: int() alone would also take "+5", "0_5" or full-width digits.
        if not (type_s.isascii() and type_s.isdigit()):
            raise ValueError(type_s)
        channel = Channel(int(type_s))
    except ValueError:
        raise PairError(
            f"{text!r}: type {type_s!r} is not supported; use 0 (trades), 2 (exchange ticker) "
            "or 5 (CCCAGG aggregate)"
        ) from None
    return _checked_cryptocompare(text, channel, market, base, quote)


def _checked(text: str, source: Source, base: str, quote: str, market: str) -> Pair:
    """The checks every pair of a source passes, whichever form it was written in."""
    if source is Source.CRYPTOCOMPARE:
        return _checked_cryptocompare(text, Channel.AGGREGATE, market or AGGREGATE_MARKET, base, quote)
    base, quote = _symbols(text, base, quote, aliases=source in (Source.KRAKEN, Source.COMPOSITE))
    if source is Source.COINDESK:
        market = (market or COINDESK_MARKETS[0]).strip().lower()
        if market not in COINDESK_MARKETS:
            raise PairError(
                f"{text!r}: {market!r} is not a CoinDesk index; use {', '.join(COINDESK_MARKETS)}"
            )
        return Pair(source, base, quote, market, Channel.AGGREGATE)
    if market:
        raise PairError(f"{text!r}: {source.value} pairs have no market; write {source.value}:BASE-QUOTE")
    if source is Source.PORTFOLIO and base != PORTFOLIO_BASE:
        raise PairError(
            f"{text!r}: the portfolio's total is written portfolio:TOTAL-{quote} (e.g. portfolio:TOTAL-USD)"
        )
    channel = Channel.AGGREGATE if source in NOT_STREAMED else Channel.TICKER
    return Pair(source, base, quote, "", channel)


def _checked_cryptocompare(text: str, channel: Channel, market: str, base: str, quote: str) -> Pair:
    if market.upper() == AGGREGATE_MARKET:
        market = AGGREGATE_MARKET
    if not (market.isascii() and _MARKET.fullmatch(market)):
        raise PairError(f"{text!r}: market {market!r} is not a valid exchange name")
    if channel is Channel.AGGREGATE and market != AGGREGATE_MARKET:
        raise PairError(f"{text!r}: type 5 (aggregate) only exists for market CCCAGG, not {market!r}")
    if channel is not Channel.AGGREGATE and market == AGGREGATE_MARKET:
        raise PairError(f"{text!r}: CCCAGG is the aggregate index; use type 5, or name an exchange")
    base, quote = _symbols(text, base, quote, aliases=False)
    return Pair(Source.CRYPTOCOMPARE, base, quote, market, channel)


def _symbols(text: str, base: str, quote: str, *, aliases: bool) -> tuple[str, str]:
    for role, sym in (("base", base), ("quote", quote)):
        # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII ones
        # (the German sharp s into "SS", the dotless i into "I"): a different symbol from the one written.
        if not (sym.isascii() and _SYMBOL.fullmatch(sym.upper())):
            raise PairError(f"{text!r}: {role} symbol {sym!r} must be 1-20 letters or digits")
    base, quote = base.upper(), quote.upper()
    if aliases:
        base, quote = _ALIASES.get(base, base), _ALIASES.get(quote, quote)
    if base == quote:
        raise PairError(f"{text!r}: base and quote are both {base}")
    return base, quote


def keyless_twin(pair: Pair) -> Pair:
    """The nearest price a keyless source gives for ``pair``: an index (CryptoCompare's CCCAGG,
    CoinDesk's) becomes the composite of the keyless venues, an exchange ccdesk streams directly
    becomes that exchange's own feed, any other exchange the composite. Keyless pairs stay."""
    if pair.source in KEYLESS or pair.source in NOT_STREAMED:
        return pair
    if pair.source is Source.CRYPTOCOMPARE and pair.channel is not Channel.AGGREGATE:
        for venue in KEYLESS:
            if venue.value == pair.market.lower():
                return _checked(str(pair), venue, pair.base, pair.quote, "")
    return _checked(str(pair), Source.COMPOSITE, pair.base, pair.quote, "")


def portfolio_pair(currency: str) -> Pair:
    """The pseudo-pair of the portfolio's total in ``currency`` (``portfolio:TOTAL-USD``), validated.

    Raises:
        PairError: for a currency that is not 1-20 letters or digits, or is ``TOTAL``.
    """
    return parse_pair(f"{Source.PORTFOLIO.value}:{PORTFOLIO_BASE}-{currency}")


def is_portfolio(pair: Pair | None) -> bool:
    """True for a portfolio pair (the total of the holdings in one quote currency)."""
    return pair is not None and pair.source is Source.PORTFOLIO
