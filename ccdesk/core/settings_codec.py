"""Settings as strings in a key/value store: the stored format, loading (never fails) and saving
(never writes over what could not be read). No Qt, no files.

Storage is abstracted as a :class:`KeyValueStore` of strings (``ccdesk.qt.settings_store`` puts it in
QSettings; :class:`MemoryStore` keeps it in a dict). Every value is one string; lists and rules are
JSON. Loading never fails: each bad value falls back to its default and is reported as a typed
:class:`SettingsProblem`, and every other value is kept.

Stored keys (format version ``"2"``; version ``"1"`` files read the same):

* ``version``: ``"2"``.
* ``source``: the source a pair written without one means (``kraken``...). A file without it is from
  before there were sources: its bare pairs mean CryptoCompare's aggregate, as they always did.
* ``composite_venues``: JSON list of the keyless venues composite prices draw on (``["kraken", "okx"]``).
* ``watchlist``: JSON list of pair strings, e.g. ``["kraken:BTC-USD", "5~CCCAGG~BTC~USD",
  "2~Coinbase~ETH~USD"]``.
* ``pinned``: one subscription string, or ``""`` for none.
* ``rules``: JSON list of rule objects:
  ``{"kind": "move", "pct": 2.0, "window_s": 300.0, "direction": "either", "cooldown_s": 900.0, "sub": null}``
  or ``{"kind": "level", "level": 95000.0, "above": true, "cooldown_s": 600.0, "hysteresis_pct": 0.1,
  "sub": "5~CCCAGG~BTC~USD"}`` or ``{"kind": "step", "pct": 2.0, "direction": "up", "cooldown_s":
  600.0, "sub": null}``; ``"sub": null`` means every pair. Every kind also has ``"id"`` (a stable
  id, letters, digits, ``_`` or ``-``), ``"enabled"``, ``"snoozed_until"``, ``"expires_at"``,
  ``"once"``, ``"sound"`` and ``"spent_at"`` (booleans; unix wall seconds or null). Every field but
  ``kind``, ``pct`` (move, step), ``level`` and ``above`` (level) may be left out: it takes the
  rule's default; a rule without an id (a file from before ids) gets a fresh one, written back by
  the next save.
* ``stale_after_s``: a number of seconds, 5 to 3600.
* ``autostart``, ``demo``, ``always_on_top``: ``"true"`` or ``"false"``.
* ``webhook_url``, ``stream_url``, ``rest_url``: a URL, or ``""`` for none (the default endpoint).
* ``alerts_paused_until``: ``""`` (not paused), ``"until_resumed"``, or unix wall seconds.
* ``tray_price``: ``"true"`` or ``"false"``: the pinned price drawn into the tray icon.
* ``tray_cycle_s``: seconds each pair is shown in the tray icon in turn, ``0`` for off (2 to 3600).
* ``mini_panel``: ``"true"`` or ``"false"``; ``mini_panel_opacity_pct``: a whole number, 30 to 100;
  ``mini_panel_pairs``: JSON list of pair strings, ``[]`` to follow the watchlist.

A pair string is any form ``ccdesk.core.pairs.parse_pair`` reads: ``SOURCE:BASE-QUOTE``,
``TYPE~MARKET~BASE~QUOTE`` or the shorthand ``BASE-QUOTE`` / ``BASE/QUOTE`` (the ``source`` setting's
pair); every form passes the same checks (base and quote differ, ...).

Written by hand. In the settings file (an INI file, these keys in its ``[General]`` section) a
value may be written as ccdesk writes it or in these forms, which read the same:

* JSON as it is, without quotes around it:
  ``rules=[{"kind": "move", "pct": 2.0}, {"kind": "level", "level": 95000, "above": true}]`` and
  ``watchlist=["BTC-USD", "2~Coinbase~ETH~USD"]``. (The file's own line is read: QSettings alone
  would split such a line at its commas and drop its quotes.)
* For ``watchlist`` only, a plain comma list: ``BTC-USD, 2~Coinbase~ETH~USD``, also in brackets
  (``[BTC-USD, ETH-USD]``) or with each pair in quotes (``"BTC-USD", "ETH-USD"``).
* A ``;`` outside quotes starts a comment, to the end of the line.

Saving writes every setting in the stored forms listed above, except that it never writes over a stored
value that could not be used (a problem at load, for the whole key or one entry of its list): that
text stays as it is until the setting is changed (see :func:`save_settings`), so a typo in a
hand-edited file costs the default for a while, never the text itself.

Other keys in the same store (window geometry, for example) are left alone.
"""

from __future__ import annotations

import enum
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Generic, Protocol, TypeVar

from ccdesk.core.alerts import (
    LevelRule,
    MoveDirection,
    MoveRule,
    Rule,
    StepRule,
    new_rule_id,
    raise_to_minimums,
)
from ccdesk.core.composite import COMPOSITE_VENUES
from ccdesk.core.pairs import KEYLESS, Pair, PairError, Source, parse_pair, parse_source
from ccdesk.core.settings import (
    DEFAULT_MINI_PANEL_OPACITY_PCT,
    DEFAULT_RULES,
    DEFAULT_SOURCE,
    DEFAULT_STALE_AFTER_S,
    DEFAULT_WATCHLIST,
    MAX_RULES,
    MAX_WATCHLIST,
    MINI_PANEL_OPACITY_MAX_PCT,
    MINI_PANEL_OPACITY_MIN_PCT,
    STALE_MAX_S,
    STALE_MIN_S,
    TRAY_CYCLE_MAX_S,
    TRAY_CYCLE_MIN_S,
    Settings,
    validate_endpoint_url,
    validate_webhook_url,
)

logger = logging.getLogger(__name__)


FORMAT_VERSION: Final = "2"
_READABLE_VERSIONS: Final = frozenset({"1", "2"})


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


KEY_SOURCE: Final = "source"


KEY_COMPOSITE_VENUES: Final = "composite_venues"


KEY_TRAY_PRICE: Final = "tray_price"


KEY_TRAY_CYCLE_S: Final = "tray_cycle_s"


KEY_MINI_PANEL: Final = "mini_panel"


KEY_MINI_PANEL_OPACITY_PCT: Final = "mini_panel_opacity_pct"


KEY_MINI_PANEL_PAIRS: Final = "mini_panel_pairs"


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
    KEY_SOURCE,
    KEY_COMPOSITE_VENUES,
    KEY_TRAY_PRICE,
    KEY_TRAY_CYCLE_S,
    KEY_MINI_PANEL,
    KEY_MINI_PANEL_OPACITY_PCT,
    KEY_MINI_PANEL_PAIRS,
)


PAUSED_UNTIL_RESUMED: Final = "until_resumed"


_TRUE: Final = frozenset({"true", "1", "yes", "on"})


_FALSE: Final = frozenset({"false", "0", "no", "off"})


_T = TypeVar("_T")


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
    corrected: bool = False
    """The value was not dropped but corrected (an alert rule below the minimums raised to them):
    the corrected value is in use, and the next save writes it."""

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"

    @property
    def stored_key(self) -> str:
        """The key in the store (``rules`` for ``rules[2]``): the one a save leaves alone."""
        return self.key.partition("[")[0]


class SettingsFault(enum.Enum):
    """What went wrong with the settings storage as a whole (not with one value)."""

    UNREADABLE = "unreadable"
    """It exists but could not be read: the defaults are in use, and it is never written over."""
    BAD_LINES = "bad_lines"
    """Some of it could not be parsed and was ignored (the next write drops those lines)."""
    NOT_WRITTEN = "not_written"
    """A save did not reach it: the changes last only as long as the process."""


@dataclass(frozen=True, slots=True)
class SettingsFileProblem:
    """A problem with the settings storage as a whole: found when it was read, or by a save.

    Attributes:
        fault: What went wrong.
        location: Where the settings live (the file's path), for the words shown.
        copy_location: For :attr:`SettingsFault.BAD_LINES`: where a copy of the file as it was
            read is kept, or None if there is no copy.
    """

    fault: SettingsFault
    location: str
    copy_location: str | None = None


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

    def sync(self) -> SettingsFileProblem | None:
        """Write pending changes to permanent storage (a no-op where there is none).

        Returns:
            None if the changes were stored (or there were none), else why they were not.
        """
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

    def sync(self) -> SettingsFileProblem | None:
        return None

    def __repr__(self) -> str:
        return f"MemoryStore({sorted(self.values)})"


def save_settings(
    store: KeyValueStore, settings: Settings, *, previous: Settings | None
) -> SettingsFileProblem | None:
    """Write the settings to ``store`` (as strings) and sync it; never writes over unreadable text.

    A key whose stored text has a problem (what :func:`load_settings` reports, for the whole key or
    one entry of its list) is left as it is, unless ``settings`` changes that setting from
    ``previous``: in memory it holds a default the user did not choose, and writing that would
    destroy the text the user wrote. Once the user changes the setting, the new value is written.
    The check reads the store now, so it needs no state kept from the load.

    Args:
        store: Where to write.
        settings: What to write.
        previous: The settings in use before this change (as loaded, or as last saved). None when
            nothing was loaded from ``store``: every key is written.

    Returns:
        None if the settings were stored, else why not (from :meth:`KeyValueStore.sync`).
    """
    values = _stored_values(settings)
    kept: set[str] = set()
    if previous is not None:
        before = _stored_values(previous)
        _, problems = _read_settings(store)
        kept = {
            p.stored_key
            for p in problems
            if not p.corrected and values.get(p.stored_key) == before.get(p.stored_key)
        }
    for key, value in values.items():
        if key not in kept:
            store.set(key, value)
    if kept:
        logger.info(
            "settings: kept the stored text of %s (could not be read; not changed)", ", ".join(sorted(kept))
        )
    problem = store.sync()
    if problem is None:
        logger.debug("settings saved: %d pair(s), %d rule(s)", len(settings.watchlist), len(settings.rules))
    return problem


def _stored_values(settings: Settings) -> dict[str, str]:
    """Every setting as the string stored under its key (the format in the module docstring)."""
    paused = settings.alerts_paused_until
    return {
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
        KEY_SOURCE: settings.source.value,
        KEY_COMPOSITE_VENUES: json.dumps([v.value for v in settings.composite_venues]),
        KEY_TRAY_PRICE: _bool_text(settings.tray_price),
        KEY_TRAY_CYCLE_S: repr(settings.tray_cycle_s),
        KEY_MINI_PANEL: _bool_text(settings.mini_panel),
        KEY_MINI_PANEL_OPACITY_PCT: str(settings.mini_panel_opacity_pct),
        KEY_MINI_PANEL_PAIRS: json.dumps([str(sub) for sub in settings.mini_panel_pairs]),
    }


def load_settings(store: KeyValueStore) -> tuple[Settings, tuple[SettingsProblem, ...]]:
    """Read the settings; never raises for anything stored.

    A missing key gives its default silently. A bad value gives its default and a problem. A
    watchlist or rule list with some bad entries keeps the good ones; duplicates are dropped.
    Each problem is logged as a warning.

    Args:
        store: Where to read.

    Returns:
        The settings and the problems found (empty if every stored value was usable).
    """
    settings, problems = _read_settings(store)
    for problem in problems:
        if problem.corrected:
            logger.warning("corrected a settings value: %s", problem)
        else:
            logger.warning("ignoring a bad settings value: %s", problem)
    return settings, problems


def _read_settings(store: KeyValueStore) -> tuple[Settings, tuple[SettingsProblem, ...]]:
    """:func:`load_settings` without the logging (a save reads the store again to find bad keys)."""
    problems: list[SettingsProblem] = []

    def note(key: str, reason: str) -> None:
        problems.append(SettingsProblem(key, reason))

    version = store.get(KEY_VERSION)
    if version is not None and version.strip() not in _READABLE_VERSIONS:
        note(KEY_VERSION, f"unknown format version; read as version {FORMAT_VERSION}")

    # A file from before there were sources (it has a watchlist but no source) meant CryptoCompare.
    earlier = store.get(KEY_SOURCE) is None and store.get(KEY_WATCHLIST) is not None
    source = _load_value(
        store, KEY_SOURCE, _parse_source, Source.CRYPTOCOMPARE if earlier else DEFAULT_SOURCE, note
    )
    bare = Source.CRYPTOCOMPARE if store.get(KEY_SOURCE) is None else source
    venues = _load_value(store, KEY_COMPOSITE_VENUES, _parse_venues, COMPOSITE_VENUES, note)
    watchlist = _load_list(store.get(KEY_WATCHLIST), _watchlist_kind(bare), note)
    pinned = _load_pinned(store.get(KEY_PINNED), watchlist, note, bare)
    rules = _load_list(store.get(KEY_RULES), _rules_kind(bare), note)
    rules = _raise_rules(rules, problems.append)
    stale = _load_value(store, KEY_STALE_AFTER_S, _parse_stale, DEFAULT_STALE_AFTER_S, note)
    flags = {
        key: _load_value(store, key, _parse_bool, False, note)
        for key in (KEY_AUTOSTART, KEY_DEMO, KEY_ALWAYS_ON_TOP)
    }
    webhook = _load_value(store, KEY_WEBHOOK_URL, _parse_webhook, None, note)
    paused = _load_value(store, KEY_ALERTS_PAUSED_UNTIL, _parse_paused, None, note)
    stream_url = _load_value(store, KEY_STREAM_URL, _endpoint_parser(("ws", "wss")), None, note)
    rest_url = _load_value(store, KEY_REST_URL, _endpoint_parser(("http", "https")), None, note)
    tray_price = _load_value(store, KEY_TRAY_PRICE, _parse_bool, True, note)
    tray_cycle_s = _load_value(store, KEY_TRAY_CYCLE_S, _parse_tray_cycle, 0.0, note)
    mini_panel = _load_value(store, KEY_MINI_PANEL, _parse_bool, False, note)
    opacity = _load_value(
        store, KEY_MINI_PANEL_OPACITY_PCT, _parse_opacity, DEFAULT_MINI_PANEL_OPACITY_PCT, note
    )
    parse_pairs = partial(_parse_panel_pairs, default=bare)
    no_pairs: tuple[Pair, ...] = ()  # follow the watchlist
    panel_pairs = _load_value(store, KEY_MINI_PANEL_PAIRS, parse_pairs, no_pairs, note)

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
        source=source,
        composite_venues=venues,
        tray_price=tray_price,
        tray_cycle_s=tray_cycle_s,
        mini_panel=mini_panel,
        mini_panel_opacity_pct=opacity,
        mini_panel_pairs=panel_pairs,
    )
    return settings, tuple(problems)


def _raise_rules(rules: tuple[Rule, ...], report: Callable[[SettingsProblem], None]) -> tuple[Rule, ...]:
    """Each rule below the minimums (``alerts.check_minimums``: a file from before them) raised to
    them, and reported: the rule is kept, not dropped (unless, raised, it is the same as a rule
    already kept: that is reported too)."""
    out: dict[Rule, None] = {}
    for number, rule in enumerate(rules, 1):
        raised, said = raise_to_minimums(rule)
        if said:
            words = ", ".join(said)
            if raised in out:
                words += "; it is then the same as another rule, so it was dropped"
            report(SettingsProblem(KEY_RULES, f"rule {number}: {words}", corrected=True))
        out.setdefault(raised, None)
    return tuple(out)


def rule_to_json(rule: Rule) -> dict[str, object]:
    """A rule as a JSON-ready dict (the ``rules`` format in the module docstring)."""
    sub = None if rule.sub is None else str(rule.sub)
    body: dict[str, object]
    if isinstance(rule, MoveRule):
        body = {
            "kind": "move",
            "pct": rule.pct,
            "window_s": rule.window_s,
            "direction": rule.direction.value,
            "cooldown_s": rule.cooldown_s,
            "sub": sub,
        }
    elif isinstance(rule, StepRule):
        body = {
            "kind": "step",
            "pct": rule.pct,
            "direction": rule.direction.value,
            "cooldown_s": rule.cooldown_s,
            "sub": sub,
        }
    else:
        body = {
            "kind": "level",
            "level": rule.level,
            "above": rule.above,
            "cooldown_s": rule.cooldown_s,
            "hysteresis_pct": rule.hysteresis_pct,
            "sub": sub,
        }
    body.update(
        id=rule.id,
        enabled=rule.enabled,
        snoozed_until=rule.snoozed_until,
        expires_at=rule.expires_at,
        once=rule.once,
        sound=rule.sound,
        spent_at=rule.spent_at,
    )
    return body


def rule_from_json(obj: object, default: Source = Source.CRYPTOCOMPARE) -> Rule:
    """Build a rule from its JSON form; optional fields take the rule's defaults (a missing id: a
    fresh one).

    Raises:
        ValueError: (RuleError, PairError or a plain ValueError) if it is not a valid rule.
    """
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    kind = obj.get("kind")
    sub = _rule_sub(obj.get("sub"), default)
    rule_id = obj.get("id")
    if rule_id is None:
        rule_id = new_rule_id()
    elif not isinstance(rule_id, str):
        raise ValueError("id is not a string")
    controls: dict[str, Any] = {
        "id": rule_id,
        "enabled": _flag(obj, "enabled", True),
        "snoozed_until": _time_or_none(obj, "snoozed_until"),
        "expires_at": _time_or_none(obj, "expires_at"),
        "once": _flag(obj, "once", False),
        "sound": _flag(obj, "sound", False),
        "spent_at": _time_or_none(obj, "spent_at"),
    }
    if kind in ("move", "step"):
        direction = obj.get("direction", MoveDirection.EITHER.value)
        if not isinstance(direction, str):
            raise ValueError("direction is not up, down or either")
        try:
            parsed_direction = MoveDirection(direction.strip().lower())
        except ValueError:
            raise ValueError("direction is not up, down or either") from None
        if kind == "step":
            return StepRule(
                pct=_number(obj, "pct", None),
                direction=parsed_direction,
                cooldown_s=_number(obj, "cooldown_s", 600.0),
                sub=sub,
                **controls,
            )
        return MoveRule(
            pct=_number(obj, "pct", None),
            window_s=_number(obj, "window_s", 300.0),
            direction=parsed_direction,
            cooldown_s=_number(obj, "cooldown_s", 600.0),
            sub=sub,
            **controls,
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
            **controls,
        )
    raise ValueError("kind is not move, level or step")


def _flag(obj: dict[str, object], name: str, default: bool) -> bool:
    value = obj.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} is not true or false")
    return value


def _time_or_none(obj: dict[str, object], name: str) -> float | None:
    if obj.get(name) is None:
        return None
    return _number(obj, name, None)


def _rule_sub(value: object, default: Source) -> Pair | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("sub is not a subscription string or null")
    try:
        return parse_pair(value, default)
    except PairError:
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


@dataclass(frozen=True, slots=True)
class _ListKind(Generic[_T]):
    """How one stored list reads: its key, its items, its default, and the words for its problems."""

    key: str
    parse: Callable[[object], _T]
    default: tuple[_T, ...]
    limit: int
    plural: str
    singular: str
    comma_text: bool
    """A hand-written comma list (``BTC-USD, ETH-USD``) is accepted too."""


def _watch_item(item: object, default: Source) -> Pair:
    if not isinstance(item, str):
        raise ValueError("not a subscription string")
    try:
        pair = parse_pair(item, default)
    except PairError:
        raise ValueError("not a valid subscription") from None
    if pair.source is Source.PORTFOLIO:
        raise ValueError("the portfolio's total is not watched (it is for alert rules)")
    return pair


def _rule_item(item: object, default: Source) -> Rule:
    try:
        return rule_from_json(item, default)
    except (ValueError, TypeError, OverflowError) as exc:  # RuleError and PairError are ValueErrors
        raise ValueError(f"invalid rule ({_short(exc)})") from None


def _watchlist_kind(default: Source) -> _ListKind[Pair]:
    return _ListKind(
        KEY_WATCHLIST,
        partial(_watch_item, default=default),
        DEFAULT_WATCHLIST,
        MAX_WATCHLIST,
        "pairs",
        "pair",
        comma_text=True,
    )


def _rules_kind(default: Source) -> _ListKind[Rule]:
    return _ListKind(
        KEY_RULES,
        partial(_rule_item, default=default),
        DEFAULT_RULES,
        MAX_RULES,
        "rules",
        "rule",
        comma_text=False,
    )


def _list_items(raw: str, kind: _ListKind[Any], note: Callable[[str, str], None]) -> list[object] | None:
    """The items of a stored list value, or None (noted) when it is not a list at all."""
    stripped = raw.strip()
    if not stripped:
        return []
    if kind.comma_text and not stripped.startswith(("[", "{", '"')):
        return _comma_items(stripped)  # hand-written: BTC-USD, ETH-USD
    try:
        parsed = _json(stripped)
    except ValueError as exc:
        if not kind.comma_text or stripped.startswith("{"):
            note(kind.key, str(exc))
            return None
        # Hand-written, not JSON: [BTC-USD, ETH-USD] or "BTC-USD", "ETH-USD".
        inner = stripped[1:-1] if stripped.startswith("[") and stripped.endswith("]") else stripped
        return _comma_items(inner)
    if not isinstance(parsed, list):
        note(kind.key, "not a list")
        return None
    return parsed


def _comma_items(text: str) -> list[object]:
    return [part.strip().strip("'\"").strip() for part in text.split(",")]


def _load_list(raw: str | None, kind: _ListKind[_T], note: Callable[[str, str], None]) -> tuple[_T, ...]:
    """One stored list: each bad or duplicate item is dropped and noted, the good ones are kept;
    with none usable (or no list at all) the default stands."""
    if raw is None:
        return kind.default
    items = _list_items(raw, kind, note)
    if items is None:
        return kind.default
    kept: dict[_T, None] = {}
    for index, item in enumerate(items):
        if len(kept) >= kind.limit:
            note(kind.key, f"more than {kind.limit} {kind.plural}; the rest were dropped")
            break
        try:
            value = kind.parse(item)
        except ValueError as exc:
            note(f"{kind.key}[{index}]", str(exc))
            continue
        if value in kept:
            note(f"{kind.key}[{index}]", f"duplicate {kind.singular} dropped")
            continue
        kept[value] = None
    if items and not kept:
        note(kind.key, f"no usable {kind.singular}")
        return kind.default
    return tuple(kept)


def _load_pinned(
    raw: str | None, watchlist: tuple[Pair, ...], note: Callable[[str, str], None], default: Source
) -> Pair | None:
    btc = parse_pair("BTC-USD", default)  # the pair a file without a pinned key follows, if watched
    fallback = btc if btc in watchlist else (watchlist[0] if watchlist else None)
    if raw is None:
        return fallback
    if not raw.strip():
        return None
    try:
        pinned = parse_pair(raw, default)
    except PairError:
        note(KEY_PINNED, "not a valid subscription")
        return fallback
    if pinned not in watchlist:
        note(KEY_PINNED, "not in the watchlist")
        return watchlist[0] if watchlist else None
    return pinned


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


def _parse_source(raw: str) -> Source:
    try:
        return parse_source(raw)
    except PairError:
        raise ValueError("not a source") from None


def _parse_venues(raw: str) -> tuple[Source, ...]:
    items = _json(raw.strip()) if raw.strip().startswith("[") else _comma_items(raw)
    if not isinstance(items, list):
        raise ValueError("not a list of venues")
    venues: list[Source] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("not a list of venues")
        venue = _parse_source(item)
        if venue not in KEYLESS:
            raise ValueError(f"{venue.value} is not a keyless venue")
        venues.append(venue)
    if not venues:
        raise ValueError("no venue")
    return tuple(venues)


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


def _parse_tray_cycle(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if value != 0 and not TRAY_CYCLE_MIN_S <= value <= TRAY_CYCLE_MAX_S:
        raise ValueError(f"{value:g} is not 0 or from {TRAY_CYCLE_MIN_S:g} to {TRAY_CYCLE_MAX_S:g} s")
    return value


def _parse_opacity(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("not a whole number") from None
    if not MINI_PANEL_OPACITY_MIN_PCT <= value <= MINI_PANEL_OPACITY_MAX_PCT:
        raise ValueError(f"not from {MINI_PANEL_OPACITY_MIN_PCT} to {MINI_PANEL_OPACITY_MAX_PCT} %")
    return value


def _parse_panel_pairs(raw: str, default: Source) -> tuple[Pair, ...]:
    if not raw.strip():
        return ()
    items = _json(raw.strip())
    if not isinstance(items, list) or len(items) > MAX_WATCHLIST:
        raise ValueError("not a list of pairs")
    return tuple(_watch_item(item, default) for item in items)
