"""The user's settings: the typed value, its defaults and validation. No Qt, no files, no storage
(``settings_codec`` reads and writes them as strings).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Final

from ccdesk.core.alerts import RULE_KINDS, MoveDirection, MoveRule, Rule, new_rule_id
from ccdesk.core.composite import COMPOSITE_VENUES
from ccdesk.core.pairs import (
    AGGREGATE_MARKET,
    KEYLESS,
    Channel,
    Pair,
    PairError,
    Source,
    keyless_twin,
    parse_pair,
)
from ccdesk.core.urls import check_url

logger = logging.getLogger(__name__)

STALE_MIN_S: Final = 5.0
STALE_MAX_S: Final = 3600.0
# A watchlist longer than this is cut (and reported): the streamer and the window are not built
# for thousands of pairs, and a hand-edited file must not make loading slow.
MAX_WATCHLIST: Final = 500
MAX_RULES: Final = 500

DEFAULT_SOURCE: Final = Source.KRAKEN
"""Where a new install's prices come from: a keyless venue, live with no key and no sign-up."""
DEFAULT_WATCHLIST: Final[tuple[Pair, ...]] = tuple(
    Pair(DEFAULT_SOURCE, base, "USD") for base in ("BTC", "ETH", "SOL", "XRP", "DOGE")
)
DEFAULT_PINNED: Final[Pair] = DEFAULT_WATCHLIST[0]
# Useful without configuring anything: any watched coin moving 2 % within 5 minutes, either way,
# at most one alert per coin every 15 minutes.
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.EITHER, cooldown_s=900.0),
)
DEFAULT_STALE_AFTER_S: Final = 60.0
TRAY_CYCLE_MIN_S: Final = 2.0
"""The shortest a cycling tray icon shows one pair: long enough to read it."""
TRAY_CYCLE_MAX_S: Final = 3600.0
MINI_PANEL_OPACITY_MIN_PCT: Final = 30
MINI_PANEL_OPACITY_MAX_PCT: Final = 100
DEFAULT_MINI_PANEL_OPACITY_PCT: Final = 90


_SYMBOL: Final = re.compile(r"[A-Za-z0-9]{1,20}")
_EXCHANGE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class SettingsError(ValueError):
    """A :class:`Settings` value that is out of range or of the wrong type; ``str(err)`` says which."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the user can set, except the API key (that lives in the keyring).

    Construction validates every field and normalises two: duplicate subscriptions are dropped
    from ``watchlist`` (first kept), and a ``pinned`` pair that is not in the watchlist becomes
    the first pair (or None for an empty watchlist). Change a field with ``dataclasses.replace``.

    Attributes:
        watchlist: The pairs to stream, in display order.
        pinned: The pair shown in the tray icon's tooltip/title, one of ``watchlist``, or None.
        rules: The alert rules.
        stale_after_s: A price with no update for this long is shown as stale (5 to 3600 s).
        autostart: Start ccdesk at login.
        demo: Use the built-in market simulator instead of CryptoCompare.
        always_on_top: Keep the window above other windows.
        webhook_url: Alerts are POSTed here as JSON; an http(s) URL, or None.
        alerts_paused_until: No alerts until this unix wall time; ``math.inf``: until resumed;
            None: not paused.
        stream_url: CryptoCompare's streamer endpoint override (``ws://`` or ``wss://``), or None
            for the default.
        rest_url: min-api endpoint override (``http://`` or ``https://``), or None for the default.
        source: What a pair typed without a source means (``BTC-USD``): a new install's is a
            keyless venue (Kraken); a settings file from before there were sources keeps
            CryptoCompare.
        composite_venues: The keyless venues composite prices draw on (at least one).
        tray_price: Draw the pinned pair's price into the tray icon (else the state shape alone).
        tray_cycle_s: With the price in the icon, show each pair in turn for this many seconds
            (``TRAY_CYCLE_MIN_S`` to ``TRAY_CYCLE_MAX_S``); 0: the pinned pair only.
        mini_panel: Show the mini panel (the always-on-top strip of prices).
        mini_panel_opacity_pct: The mini panel's opacity, 30 to 100 %.
        mini_panel_pairs: The pairs the mini panel shows, in watchlist order; empty: it follows
            the watchlist. A pair no longer in the watchlist is dropped.

    Raises:
        SettingsError: (a ValueError) on construction, if a value is invalid.
    """

    watchlist: tuple[Pair, ...] = DEFAULT_WATCHLIST
    pinned: Pair | None = DEFAULT_PINNED
    rules: tuple[Rule, ...] = DEFAULT_RULES
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    autostart: bool = False
    demo: bool = False
    always_on_top: bool = False
    webhook_url: str | None = None
    alerts_paused_until: float | None = None
    stream_url: str | None = None
    rest_url: str | None = None
    source: Source = DEFAULT_SOURCE
    composite_venues: tuple[Source, ...] = COMPOSITE_VENUES
    tray_price: bool = True
    tray_cycle_s: float = 0.0
    mini_panel: bool = False
    mini_panel_opacity_pct: int = DEFAULT_MINI_PANEL_OPACITY_PCT
    mini_panel_pairs: tuple[Pair, ...] = ()

    def __post_init__(self) -> None:
        watchlist = tuple(self.watchlist)
        for sub in watchlist:
            if not isinstance(sub, Pair):
                raise SettingsError(f"the watchlist must hold subscriptions, not {sub!r}")
            if sub.source is Source.PORTFOLIO:
                raise SettingsError(f"{sub} is the portfolio's total, for alert rules: it is not watched")
        watchlist = tuple(dict.fromkeys(watchlist))
        object.__setattr__(self, "watchlist", watchlist)
        if self.pinned is not None and not isinstance(self.pinned, Pair):
            raise SettingsError(f"the pinned pair must be a subscription or None, not {self.pinned!r}")
        if self.pinned not in watchlist:
            object.__setattr__(self, "pinned", watchlist[0] if watchlist else None)
        rules = tuple(self.rules)
        for rule in rules:
            if not isinstance(rule, RULE_KINDS):
                raise SettingsError(f"not an alert rule: {rule!r}")
        object.__setattr__(self, "rules", _unique_rule_ids(rules))
        stale = self.stale_after_s
        if isinstance(stale, bool) or not isinstance(stale, int | float):
            raise SettingsError(f"the stale threshold must be a number of seconds, not {stale!r}")
        if not STALE_MIN_S <= stale <= STALE_MAX_S:
            raise SettingsError(
                f"the stale threshold must be from {STALE_MIN_S:g} to {STALE_MAX_S:g} seconds, not {stale}"
            )
        object.__setattr__(self, "stale_after_s", float(stale))
        for name in ("autostart", "demo", "always_on_top", "mini_panel"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.webhook_url is not None:
            try:
                object.__setattr__(self, "webhook_url", validate_webhook_url(self.webhook_url))
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        paused = self.alerts_paused_until
        if paused is not None:
            if isinstance(paused, bool) or not isinstance(paused, int | float) or not paused >= 0:
                raise SettingsError(
                    f"alerts_paused_until must be unix seconds >= 0, math.inf or None, not {paused!r}"
                )
            object.__setattr__(self, "alerts_paused_until", float(paused))
        if not isinstance(self.source, Source):
            raise SettingsError(f"the default source must be a Source, not {self.source!r}")
        venues = tuple(dict.fromkeys(self.composite_venues))
        if not venues or any(v not in KEYLESS for v in venues):
            raise SettingsError(
                "composite prices draw on one or more keyless venues: "
                + ", ".join(s.value for s in COMPOSITE_VENUES)
            )
        object.__setattr__(self, "composite_venues", tuple(v for v in COMPOSITE_VENUES if v in venues))
        for name, schemes in (("stream_url", ("ws", "wss")), ("rest_url", ("http", "https"))):
            value = getattr(self, name)
            if value is not None:
                try:
                    object.__setattr__(self, name, validate_endpoint_url(value, schemes))
                except ValueError as exc:
                    raise SettingsError(f"{name}: {exc}") from None
        self._check_mini_panel(watchlist)

    def _check_mini_panel(self, watchlist: tuple[Pair, ...]) -> None:
        opacity = self.mini_panel_opacity_pct
        if isinstance(opacity, bool) or not isinstance(opacity, int):
            raise SettingsError(f"the mini panel's opacity must be a whole percentage, not {opacity!r}")
        if not MINI_PANEL_OPACITY_MIN_PCT <= opacity <= MINI_PANEL_OPACITY_MAX_PCT:
            raise SettingsError(
                f"the mini panel's opacity must be from {MINI_PANEL_OPACITY_MIN_PCT} to "
                f"{MINI_PANEL_OPACITY_MAX_PCT} %, not {opacity}"
            )
        chosen = set(self.mini_panel_pairs)
        for sub in chosen:
            if not isinstance(sub, Pair):
                raise SettingsError(f"the mini panel's pairs must be subscriptions, not {sub!r}")
        # Watchlist order, and only watched pairs: a pair removed from the watchlist leaves the panel.
        object.__setattr__(self, "mini_panel_pairs", tuple(p for p in watchlist if p in chosen))

        if not isinstance(self.tray_price, bool):
            raise SettingsError(f"tray_price must be True or False, not {self.tray_price!r}")
        cycle = self.tray_cycle_s
        if isinstance(cycle, bool) or not isinstance(cycle, int | float):
            raise SettingsError(f"the tray's cycle must be a number of seconds, not {cycle!r}")
        if cycle != 0 and not TRAY_CYCLE_MIN_S <= cycle <= TRAY_CYCLE_MAX_S:
            raise SettingsError(
                f"the tray's cycle must be 0 (off) or from {TRAY_CYCLE_MIN_S:g} to "
                f"{TRAY_CYCLE_MAX_S:g} seconds, not {cycle}"
            )
        object.__setattr__(self, "tray_cycle_s", float(cycle))

    def alerts_paused(self, now: float) -> bool:
        """True if alerts are paused at wall time ``now`` (unix seconds)."""
        return self.alerts_paused_until is not None and now < self.alerts_paused_until


def _unique_rule_ids(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules`` with each id used once: a later rule with an id already taken gets a fresh one
    (rule commands find a rule by its id)."""
    seen: set[str] = set()
    out: list[Rule] = []
    for rule in rules:
        if rule.id in seen:
            rule = replace(rule, id=new_rule_id())
        seen.add(rule.id)
        out.append(rule)
    return tuple(out)


def without_keys(s: Settings) -> Settings:
    """``s`` watching without a key: an empty watchlist gets the default (Kraken) pairs; a pair that
    needs a key becomes its keyless twin (``pairs.keyless_twin``: an index the composite, an exchange
    its own feed), and so do the rules and the pinned pair that name it. Not the demo."""
    if not s.watchlist:
        return replace(s, watchlist=DEFAULT_WATCHLIST, pinned=DEFAULT_PINNED, demo=False)
    twins = {p: keyless_twin(p) for p in s.watchlist}
    rules = tuple(
        r if r.sub is None else replace(r, sub=twins.get(r.sub, keyless_twin(r.sub))) for r in s.rules
    )
    pinned = None if s.pinned is None else twins.get(s.pinned, keyless_twin(s.pinned))
    return replace(
        s, watchlist=tuple(twins.values()), pinned=pinned, rules=rules, source=DEFAULT_SOURCE, demo=False
    )


# --- validation helpers for the dialog ---------------------------------------------------------


def parse_pair_input(
    base: str, quote: str, exchange: str | None = None, channel: Channel | None = None
) -> Pair:
    """Build a subscription from the dialog's fields.

    Args:
        base: The coin, e.g. ``btc`` (case does not matter).
        quote: The currency it is priced in, e.g. ``USD``.
        exchange: An exchange name as CryptoCompare spells it (``Coinbase``); blank or None for
            the CCCAGG aggregate of all exchanges.
        channel: Force a channel; by default ``AGGREGATE`` without an exchange and ``TICKER``
            with one. ``TRADE`` needs an exchange.

    Returns:
        The validated subscription.

    Raises:
        PairError: with a plain message for the user.
    """
    base = (base or "").strip()
    quote = (quote or "").strip()
    market = (exchange or "").strip()
    for role, example, symbol in (("coin", "BTC", base), ("currency", "USD", quote)):
        if not symbol:
            raise PairError(f"Enter the {role} (for example {example}).")
        if not _SYMBOL.fullmatch(symbol):
            raise PairError(f"The {role} must be 1 to 20 letters or digits, like {example}.")
    if base.upper() == quote.upper():
        raise PairError("The coin and the currency must be different.")
    if market.upper() == AGGREGATE_MARKET:
        market = ""
    if market and not _EXCHANGE.fullmatch(market):
        raise PairError(
            "An exchange name is one word of letters, digits, '.', '_' or '-', like Coinbase. "
            "Leave it blank for the average of all exchanges."
        )
    if channel is None:
        channel = Channel.TICKER if market else Channel.AGGREGATE
    if channel is Channel.AGGREGATE and market:
        raise PairError("The all-exchange average has no exchange: leave the exchange blank.")
    if channel is not Channel.AGGREGATE and not market:
        raise PairError("Enter the exchange (for example Coinbase) for a single-exchange price.")
    return parse_pair(f"{int(channel)}~{market or AGGREGATE_MARKET}~{base}~{quote}")


def validate_webhook_url(text: str | None) -> str | None:
    """Check a webhook URL typed by the user: an http(s) URL with a host, or blank for none.

    Raises:
        ValueError: (``UrlError``) with a plain message starting "The webhook URL".
    """
    if text is None or not text.strip():
        return None
    return check_url(text, what="The webhook URL", schemes=("http", "https"))


def validate_endpoint_url(text: str, schemes: tuple[str, ...]) -> str:
    """Check an endpoint override (streamer or REST base URL): the API key is sent there.

    Raises:
        ValueError: (``UrlError``) with a plain message starting "The endpoint".
    """
    return check_url(text, what="The endpoint", schemes=schemes, sends_key=True)


# --- serialization -----------------------------------------------------------------------------
