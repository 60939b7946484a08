"""The user's settings: the typed value, defaults, validation, string key/value form. No Qt, no files.

Storage is abstracted as a :class:`KeyValueStore` of strings (``ccdesk.qt.settings_store`` puts it in
QSettings; :class:`MemoryStore` keeps it in a dict). Every value is one string; lists and rules are
JSON. Loading never fails: each bad value falls back to its default and is reported as a typed
:class:`SettingsProblem`, and every other value is kept.

Stored keys (format version ``"1"``):

* ``version``: ``"1"``.
* ``watchlist``: JSON list of subscription strings, e.g. ``["5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD"]``.
  A hand-written comma list (``BTC-USD, ETH-USD``) is accepted too.
* ``pinned``: one subscription string, or ``""`` for none.
* ``rules``: JSON list of rule objects:
  ``{"kind": "move", "pct": 2.0, "window_s": 300.0, "direction": "either", "cooldown_s": 900.0, "sub": null}``
  or ``{"kind": "level", "level": 95000.0, "above": true, "cooldown_s": 600.0, "hysteresis_pct": 0.1,
  "sub": "5~CCCAGG~BTC~USD"}``; ``"sub": null`` means every pair.
* ``stale_after_s``: a number of seconds, 5 to 3600.
* ``autostart``, ``demo``, ``always_on_top``: ``"true"`` or ``"false"``.
* ``webhook_url``, ``stream_url``, ``rest_url``: a URL, or ``""`` for none (the default endpoint).
* ``alerts_paused_until``: ``""`` (not paused), ``"until_resumed"``, or unix wall seconds.

Other keys in the same store (window geometry, for example) are left alone.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from ccdesk.core.alerts import Direction, LevelRule, MoveRule, Rule
from ccdesk.core.subs import AGGREGATE_MARKET, Channel, Sub, SubError, aggregate, parse_sub
from ccdesk.core.urls import check_url

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = "1"
STALE_MIN_S: Final = 5.0
STALE_MAX_S: Final = 3600.0
# A watchlist longer than this is cut (and reported): the streamer and the window are not built
# for thousands of pairs, and a hand-edited file must not make loading slow.
MAX_WATCHLIST: Final = 500
MAX_RULES: Final = 500

DEFAULT_WATCHLIST: Final[tuple[Sub, ...]] = tuple(
    aggregate(base, "USD") for base in ("BTC", "ETH", "SOL", "XRP", "DOGE")
)
DEFAULT_PINNED: Final[Sub] = DEFAULT_WATCHLIST[0]
# Useful without configuring anything: any watched coin moving 2 % within 5 minutes, either way,
# at most one alert per coin every 15 minutes.
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    MoveRule(pct=2.0, window_s=300.0, direction=Direction.EITHER, cooldown_s=900.0),
)
DEFAULT_STALE_AFTER_S: Final = 60.0

KEY_VERSION: Final = "version"
KEY_WATCHLIST: Final = "watchlist"
KEY_PINNED: Final = "pinned"
KEY_RULES: Final = "rules"
KEY_STALE_AFTER_S: Final = "stale_after_s"
KEY_AUTOSTART: Final = "autostart"
KEY_DEMO: Final = "demo"
KEY_ALWAYS_ON_TOP: Final = "always_on_top"
KEY_WEBHOOK_URL: Final = "webhook_url"
KEY_ALERTS_PAUSED_UNTIL: Final = "alerts_paused_until"
KEY_STREAM_URL: Final = "stream_url"
KEY_REST_URL: Final = "rest_url"
SETTINGS_KEYS: Final = (
    KEY_VERSION,
    KEY_WATCHLIST,
    KEY_PINNED,
    KEY_RULES,
    KEY_STALE_AFTER_S,
    KEY_AUTOSTART,
    KEY_DEMO,
    KEY_ALWAYS_ON_TOP,
    KEY_WEBHOOK_URL,
    KEY_ALERTS_PAUSED_UNTIL,
    KEY_STREAM_URL,
    KEY_REST_URL,
)
PAUSED_UNTIL_RESUMED: Final = "until_resumed"

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})
_SYMBOL: Final = re.compile(r"[A-Za-z0-9]{1,20}")
_EXCHANGE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")

_T = TypeVar("_T")


class SettingsError(ValueError):
    """A :class:`Settings` value that is out of range or of the wrong type; ``str(err)`` says which."""


@dataclass(frozen=True, slots=True)
class SettingsProblem:
    """One stored value that could not be used and was replaced by its default.

    Attributes:
        key: The stored key, with an index for one entry of a list (``rules[2]``).
        reason: A few words for a log or warning line (``not valid JSON``). It never repeats
            stored text (a webhook URL may hold a token); at most an out-of-range number.
    """

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


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
        stream_url: Streamer endpoint override (``ws://`` or ``wss://``), or None for the default.
        rest_url: min-api endpoint override (``http://`` or ``https://``), or None for the default.

    Raises:
        SettingsError: (a ValueError) on construction, if a value is invalid.
    """

    watchlist: tuple[Sub, ...] = DEFAULT_WATCHLIST
    pinned: Sub | None = DEFAULT_PINNED
    rules: tuple[Rule, ...] = DEFAULT_RULES
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    autostart: bool = False
    demo: bool = False
    always_on_top: bool = False
    webhook_url: str | None = None
    alerts_paused_until: float | None = None
    stream_url: str | None = None
    rest_url: str | None = None

    def __post_init__(self) -> None:
        watchlist = tuple(self.watchlist)
        for sub in watchlist:
            if not isinstance(sub, Sub):
                raise SettingsError(f"the watchlist must hold subscriptions, not {sub!r}")
        watchlist = tuple(dict.fromkeys(watchlist))
        object.__setattr__(self, "watchlist", watchlist)
        if self.pinned is not None and not isinstance(self.pinned, Sub):
            raise SettingsError(f"the pinned pair must be a subscription or None, not {self.pinned!r}")
        if self.pinned not in watchlist:
            object.__setattr__(self, "pinned", watchlist[0] if watchlist else None)
        rules = tuple(self.rules)
        for rule in rules:
            if not isinstance(rule, MoveRule | LevelRule):
                raise SettingsError(f"not an alert rule: {rule!r}")
        object.__setattr__(self, "rules", rules)
        stale = self.stale_after_s
        if isinstance(stale, bool) or not isinstance(stale, int | float):
            raise SettingsError(f"the stale threshold must be a number of seconds, not {stale!r}")
        if not STALE_MIN_S <= stale <= STALE_MAX_S:
            raise SettingsError(
                f"the stale threshold must be from {STALE_MIN_S:g} to {STALE_MAX_S:g} seconds, not {stale}"
            )
        object.__setattr__(self, "stale_after_s", float(stale))
        for name in ("autostart", "demo", "always_on_top"):
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
        for name, schemes in (("stream_url", ("ws", "wss")), ("rest_url", ("http", "https"))):
            value = getattr(self, name)
            if value is not None:
                try:
                    object.__setattr__(self, name, validate_endpoint_url(value, schemes))
                except ValueError as exc:
                    raise SettingsError(f"{name}: {exc}") from None

    def alerts_paused(self, now: float) -> bool:
        """True if alerts are paused at wall time ``now`` (unix seconds)."""
        return self.alerts_paused_until is not None and now < self.alerts_paused_until


class KeyValueStore(Protocol):
    """Where settings live: string values under string keys. Implementations must not raise on get."""

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None if there is none."""
        ...

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (replacing any value)."""
        ...

    def remove(self, key: str) -> None:
        """Remove ``key``; a missing key is fine."""
        ...

    def sync(self) -> None:
        """Write pending changes to permanent storage (a no-op where there is none)."""
        ...


class MemoryStore:
    """A :class:`KeyValueStore` in a dict: for tests, and for running without a settings file."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        """Create a store, optionally holding ``values`` (copied)."""
        self.values: dict[str, str] = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def remove(self, key: str) -> None:
        self.values.pop(key, None)

    def sync(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"MemoryStore({sorted(self.values)})"


# --- validation helpers for the dialog ---------------------------------------------------------


def parse_pair_input(
    base: str, quote: str, exchange: str | None = None, channel: Channel | None = None
) -> Sub:
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
        SubError: with a plain message for the user.
    """
    base = (base or "").strip()
    quote = (quote or "").strip()
    market = (exchange or "").strip()
    for role, example, symbol in (("coin", "BTC", base), ("currency", "USD", quote)):
        if not symbol:
            raise SubError(f"Enter the {role} (for example {example}).")
        if not _SYMBOL.fullmatch(symbol):
            raise SubError(f"The {role} must be 1 to 20 letters or digits, like {example}.")
    if base.upper() == quote.upper():
        raise SubError("The coin and the currency must be different.")
    if market.upper() == AGGREGATE_MARKET:
        market = ""
    if market and not _EXCHANGE.fullmatch(market):
        raise SubError(
            "An exchange name is one word of letters, digits, '.', '_' or '-', like Coinbase. "
            "Leave it blank for the average of all exchanges."
        )
    if channel is None:
        channel = Channel.TICKER if market else Channel.AGGREGATE
    if channel is Channel.AGGREGATE and market:
        raise SubError("The all-exchange average has no exchange: leave the exchange blank.")
    if channel is not Channel.AGGREGATE and not market:
        raise SubError("Enter the exchange (for example Coinbase) for a single-exchange price.")
    return parse_sub(f"{int(channel)}~{market or AGGREGATE_MARKET}~{base}~{quote}")


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


def save_settings(store: KeyValueStore, settings: Settings) -> None:
    """Write every setting to ``store`` (as strings) and sync it.

    Args:
        store: Where to write.
        settings: What to write.
    """
    paused = settings.alerts_paused_until
    values = {
        KEY_VERSION: FORMAT_VERSION,
        KEY_WATCHLIST: json.dumps([str(sub) for sub in settings.watchlist]),
        KEY_PINNED: "" if settings.pinned is None else str(settings.pinned),
        KEY_RULES: json.dumps([rule_to_json(rule) for rule in settings.rules]),
        KEY_STALE_AFTER_S: repr(settings.stale_after_s),
        KEY_AUTOSTART: _bool_text(settings.autostart),
        KEY_DEMO: _bool_text(settings.demo),
        KEY_ALWAYS_ON_TOP: _bool_text(settings.always_on_top),
        KEY_WEBHOOK_URL: settings.webhook_url or "",
        KEY_ALERTS_PAUSED_UNTIL: (
            "" if paused is None else PAUSED_UNTIL_RESUMED if math.isinf(paused) else repr(paused)
        ),
        KEY_STREAM_URL: settings.stream_url or "",
        KEY_REST_URL: settings.rest_url or "",
    }
    for key, value in values.items():
        store.set(key, value)
    store.sync()
    logger.debug("settings saved: %d pair(s), %d rule(s)", len(settings.watchlist), len(settings.rules))


def load_settings(store: KeyValueStore) -> tuple[Settings, tuple[SettingsProblem, ...]]:
    """Read the settings; never raises for anything stored.

    A missing key gives its default silently. A bad value gives its default and a problem. A
    watchlist or rule list with some bad entries keeps the good ones; duplicates are dropped.

    Args:
        store: Where to read.

    Returns:
        The settings and the problems found (empty if every stored value was usable).
    """
    problems: list[SettingsProblem] = []

    def note(key: str, reason: str) -> None:
        problems.append(SettingsProblem(key, reason))

    version = store.get(KEY_VERSION)
    if version is not None and version.strip() != FORMAT_VERSION:
        note(KEY_VERSION, f"unknown format version; read as version {FORMAT_VERSION}")

    watchlist = _load_watchlist(store.get(KEY_WATCHLIST), note)
    pinned = _load_pinned(store.get(KEY_PINNED), watchlist, note)
    rules = _load_rules(store.get(KEY_RULES), note)
    stale = _load_value(store, KEY_STALE_AFTER_S, _parse_stale, DEFAULT_STALE_AFTER_S, note)
    flags = {
        key: _load_value(store, key, _parse_bool, False, note)
        for key in (KEY_AUTOSTART, KEY_DEMO, KEY_ALWAYS_ON_TOP)
    }
    webhook = _load_value(store, KEY_WEBHOOK_URL, _parse_webhook, None, note)
    paused = _load_value(store, KEY_ALERTS_PAUSED_UNTIL, _parse_paused, None, note)
    stream_url = _load_value(store, KEY_STREAM_URL, _endpoint_parser(("ws", "wss")), None, note)
    rest_url = _load_value(store, KEY_REST_URL, _endpoint_parser(("http", "https")), None, note)

    settings = Settings(
        watchlist=watchlist,
        pinned=pinned,
        rules=rules,
        stale_after_s=stale,
        autostart=flags[KEY_AUTOSTART],
        demo=flags[KEY_DEMO],
        always_on_top=flags[KEY_ALWAYS_ON_TOP],
        webhook_url=webhook,
        alerts_paused_until=paused,
        stream_url=stream_url,
        rest_url=rest_url,
    )
    for problem in problems:
        logger.warning("ignoring a bad settings value: %s", problem)
    return settings, tuple(problems)


def rule_to_json(rule: Rule) -> dict[str, object]:
    """A rule as a JSON-ready dict (the ``rules`` format in the module docstring)."""
    sub = None if rule.sub is None else str(rule.sub)
    if isinstance(rule, MoveRule):
        return {
            "kind": "move",
            "pct": rule.pct,
            "window_s": rule.window_s,
            "direction": rule.direction.value,
            "cooldown_s": rule.cooldown_s,
            "sub": sub,
        }
    return {
        "kind": "level",
        "level": rule.level,
        "above": rule.above,
        "cooldown_s": rule.cooldown_s,
        "hysteresis_pct": rule.hysteresis_pct,
        "sub": sub,
    }


def rule_from_json(obj: object) -> Rule:
    """Build a rule from its JSON form; optional fields take the rule's defaults.

    Raises:
        ValueError: (RuleError, SubError or a plain ValueError) if it is not a valid rule.
    """
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    kind = obj.get("kind")
    sub = _rule_sub(obj.get("sub"))
    if kind == "move":
        direction = obj.get("direction", Direction.EITHER.value)
        if not isinstance(direction, str):
            raise ValueError("direction is not up, down or either")
        try:
            parsed_direction = Direction(direction.strip().lower())
        except ValueError:
            raise ValueError("direction is not up, down or either") from None
        return MoveRule(
            pct=_number(obj, "pct", None),
            window_s=_number(obj, "window_s", 300.0),
            direction=parsed_direction,
            cooldown_s=_number(obj, "cooldown_s", 600.0),
            sub=sub,
        )
    if kind == "level":
        above = obj.get("above")
        if not isinstance(above, bool):
            raise ValueError("above is not true or false")
        return LevelRule(
            level=_number(obj, "level", None),
            above=above,
            cooldown_s=_number(obj, "cooldown_s", 600.0),
            sub=sub,
            hysteresis_pct=_number(obj, "hysteresis_pct", 0.1),
        )
    raise ValueError("kind is not move or level")


def _rule_sub(value: object) -> Sub | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("sub is not a subscription string or null")
    try:
        return parse_sub(value)
    except SubError:
        raise ValueError("sub is not a valid subscription") from None


def _number(obj: dict[str, object], name: str, default: float | None) -> float:
    if name not in obj:
        if default is None:
            raise ValueError(f"{name} is missing")
        return default
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{name} is out of range") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} is not a finite number")
    return number


def _load_value(
    store: KeyValueStore,
    key: str,
    parse: Callable[[str], _T],
    default: _T,
    note: Callable[[str, str], None],
) -> _T:
    raw = store.get(key)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        note(key, str(exc))
        return default


def _json(raw: str) -> object:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("not valid JSON") from None


def _load_watchlist(raw: str | None, note: Callable[[str, str], None]) -> tuple[Sub, ...]:
    if raw is None:
        return DEFAULT_WATCHLIST
    items: list[object]
    stripped = raw.strip()
    if stripped.startswith(("[", "{", '"')):
        try:
            parsed = _json(stripped)
        except ValueError:
            if not stripped.startswith("["):
                note(KEY_WATCHLIST, "not valid JSON")
                return DEFAULT_WATCHLIST
            # QSettings strips the quotes from a hand-written, unquoted JSON list; read it as a list.
            parsed = [part.strip().strip("'\"") for part in stripped.strip("[]").split(",")]
        if not isinstance(parsed, list):
            note(KEY_WATCHLIST, "not a list")
            return DEFAULT_WATCHLIST
        items = parsed
    elif stripped:
        items = [part.strip() for part in stripped.split(",")]  # hand-written: BTC-USD, ETH-USD
    else:
        items = []
    subs: dict[Sub, None] = {}
    for index, item in enumerate(items):
        if len(subs) >= MAX_WATCHLIST:
            note(KEY_WATCHLIST, f"more than {MAX_WATCHLIST} pairs; the rest were dropped")
            break
        if not isinstance(item, str):
            note(f"{KEY_WATCHLIST}[{index}]", "not a subscription string")
            continue
        try:
            sub = parse_sub(item)
        except SubError:
            note(f"{KEY_WATCHLIST}[{index}]", "not a valid subscription")
            continue
        if sub in subs:
            note(f"{KEY_WATCHLIST}[{index}]", "duplicate pair dropped")
            continue
        subs[sub] = None
    if items and not subs:
        note(KEY_WATCHLIST, "no usable pair")
        return DEFAULT_WATCHLIST
    return tuple(subs)


def _load_pinned(raw: str | None, watchlist: tuple[Sub, ...], note: Callable[[str, str], None]) -> Sub | None:
    fallback = DEFAULT_PINNED if DEFAULT_PINNED in watchlist else (watchlist[0] if watchlist else None)
    if raw is None:
        return fallback
    if not raw.strip():
        return None
    try:
        pinned = parse_sub(raw)
    except SubError:
        note(KEY_PINNED, "not a valid subscription")
        return fallback
    if pinned not in watchlist:
        note(KEY_PINNED, "not in the watchlist")
        return watchlist[0] if watchlist else None
    return pinned


def _load_rules(raw: str | None, note: Callable[[str, str], None]) -> tuple[Rule, ...]:
    if raw is None:
        return DEFAULT_RULES
    try:
        parsed = _json(raw) if raw.strip() else []
    except ValueError as exc:
        note(KEY_RULES, str(exc))
        return DEFAULT_RULES
    if not isinstance(parsed, list):
        note(KEY_RULES, "not a list")
        return DEFAULT_RULES
    rules: dict[Rule, None] = {}
    for index, item in enumerate(parsed):
        if len(rules) >= MAX_RULES:
            note(KEY_RULES, f"more than {MAX_RULES} rules; the rest were dropped")
            break
        try:
            rule = rule_from_json(item)
        except (ValueError, TypeError, OverflowError) as exc:  # RuleError and SubError are ValueErrors
            note(f"{KEY_RULES}[{index}]", f"invalid rule ({_short(exc)})")
            continue
        if rule in rules:
            note(f"{KEY_RULES}[{index}]", "duplicate rule dropped")
            continue
        rules[rule] = None
    if parsed and not rules:
        note(KEY_RULES, "no usable rule")
        return DEFAULT_RULES
    return tuple(rules)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 100 else text[:99] + "\u2026"


def _parse_stale(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if not STALE_MIN_S <= value <= STALE_MAX_S:  # also rejects NaN
        raise ValueError(f"not from {STALE_MIN_S:g} to {STALE_MAX_S:g} seconds")
    return value


def _parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not true or false")


def _parse_webhook(raw: str) -> str | None:
    try:
        return validate_webhook_url(raw)
    except ValueError:
        raise ValueError("not an http(s) URL") from None


def _parse_paused(raw: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    if text.lower() == PAUSED_UNTIL_RESUMED:
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not unix seconds or {PAUSED_UNTIL_RESUMED}") from None
    if not 0 <= value < math.inf:
        raise ValueError(f"not unix seconds or {PAUSED_UNTIL_RESUMED}")
    return value


def _endpoint_parser(schemes: tuple[str, ...]) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        if not raw.strip():
            return None
        try:
            return validate_endpoint_url(raw, schemes)
        except ValueError:
            raise ValueError(f"not a {' or '.join(schemes)} URL") from None

    return parse


def _bool_text(value: bool) -> str:
    return "true" if value else "false"
