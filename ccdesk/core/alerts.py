"""Price alert rules and the engine that checks them on every price update. Pure: no I/O, no Qt.

Two kinds of rule:

* ``MoveRule``: the price moved at least ``pct`` % within a rolling window of ``window_s``
  seconds, against the price at the start of the window. Every update is compared with that
  reference: an up move fires when ``(price - ref) / ref * 100 >= pct``, a down move when it is
  ``<= -pct``. Only the start of the window counts, not the prices inside it: a dip that recovers
  to where the window started is no move, however deep the dip was (if the dip itself reached
  ``pct``, it fired on its own). Comparing with the previous tick, as the streamer guide
  suggests, misses every slow move.
* ``LevelRule``: the price crossed a level, upwards (``above=True``) or downwards.
* ``StepRule``: "every further ``pct`` %": the price moved ``pct`` % from an anchor, with no time
  window. The anchor is the first price the engine sees for the pair; after an alert it moves to
  the alert's price, so the next alert needs a further ``pct`` % (either way, for ``EITHER``). A
  move the rule does not watch (down, for an ``UP`` rule) leaves the anchor where it is: an ``UP``
  step rule reports each new 2 % step above the last alert. A separate kind, not a ``MoveRule``
  mode, because it has no window and keeps no samples (one float of state per pair).

Every rule also carries what the user controls without changing what it watches: a stable ``id``
(kept in the settings; not part of equality), ``enabled`` (False: muted), ``snoozed_until`` and
``expires_at`` (wall unix times, checked with ``clock.time()``), ``once`` (fire once, then the
rule is spent: ``spent_at`` records when, and the owner persists it, see ``AlertEngine``), and
``sound``. A rule that is muted, snoozed, expired or spent fires nothing; its state (window,
arming, anchor) goes on as during a cooldown, so a condition met while it is quiet fires nothing
and changes nothing.

Time: windows and cooldowns use ``clock.monotonic()``, so a wall clock step (NTP, a manual
change) does not make or break a window; ``Alert.at`` is ``clock.time()`` for display. Linux's
monotonic clock stops during suspend, so after a resume the owner calls ``AlertEngine.reset()``
(see there). The engine is single-threaded: the stream thread owns it, as it owns the quote book.

Memory per (move rule, pair) is bounded however fast prices arrive: time is cut into buckets of
``bucket_s = window_s / 300`` seconds (1 s for the default 5 min window; a bucket opens with the
first price at least ``bucket_s`` after the previous bucket opened), and only each bucket's first
price, with its time, is kept: at most ~301 per (move rule, pair). The comparison itself never
skips a price: every update, a one-second spike inside a flood included, is compared with the
reference as it arrives.

The window edge, precisely: the reference is the oldest kept price that is at most ``window_s``
old (at exactly ``window_s`` it still counts). So a move that took longer than ``window_s`` never
fires, and ``Alert.elapsed_s <= window_s`` always. The granularity is one bucket: a price that
arrived inside a bucket after its first price is never a reference, so the reference can be a
little newer than the exact oldest price in the window. Once the window has filled, with updates
at least every ``gap_s`` seconds, the reference is more than ``window_s - bucket_s - gap_s`` old.
Before the window has filled (after the first price, a ``reset()`` or an alert), the reference is
the first price since then.
"""

from __future__ import annotations

import enum
import logging
import math
import re
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeAlias

from ccdesk.core.clock import Clock
from ccdesk.core.pairs import Pair

log = logging.getLogger(__name__)

# Buckets per move window: bounds memory per (rule, pair) and sets the reference's granularity.
_BUCKETS_PER_WINDOW = 300

# The least a rule the user keeps may ask for (``check_minimums``): below these a rule fires on noise,
# and "0.01 % within 6 s, cooldown 0" produced 62 notifications in 20 s. A cooldown of a minute
# bounds every (rule, pair) to one alert a minute; 0.1 % is about the widest normal bid/ask spread of
# a major pair, so a smaller move is the spread ticking, not the market moving; a window under a
# minute compares a handful of ticks. The engine itself takes any positive value (tests, the CLI's
# diagnostics, the self-test use tiny ones): the settings, their file and the editor enforce these.
MIN_PCT: Final = 0.1
MIN_WINDOW_S: Final = 60.0
MIN_COOLDOWN_S: Final = 60.0
# The most the editor takes (a typo, not a wish, beyond them): a 1000 % move, a week's window or
# quiet time, a level of 10**15.
MAX_PCT: Final = 1000.0
MAX_DURATION_S: Final = 7 * 86400.0
MAX_LEVEL: Final = 1e15


class RuleError(ValueError):
    """A rule that cannot be used; ``str(err)`` says which value is wrong, in plain words."""


class MoveDirection(enum.Enum):
    """Which way a price moved (``UP``, ``DOWN``), or which way a move rule watches (also ``EITHER``)."""

    UP = "up"
    DOWN = "down"
    EITHER = "either"


def _check_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise RuleError(f"{name} must be a finite number, not {value!r}")


def _check_sub(sub: Pair | None) -> None:
    if sub is not None and not isinstance(sub, Pair):
        raise RuleError(f"sub must be a subscription or None (all pairs), not {sub!r}")


_RULE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_rule_id() -> str:
    """A fresh rule id: 32 hex digits (a uuid4)."""
    return uuid.uuid4().hex


def _check_controls(rule: Rule) -> None:
    """The fields every kind shares: id, enabled, snooze, expiry, once, sound, spent."""
    if not isinstance(rule.id, str) or not _RULE_ID.fullmatch(rule.id):
        raise RuleError(f"a rule id is 1 to 64 letters, digits, '_' or '-', not {rule.id!r}")
    for name in ("enabled", "once", "sound"):
        if not isinstance(getattr(rule, name), bool):
            raise RuleError(f"{name} must be True or False, not {getattr(rule, name)!r}")
    for name in ("snoozed_until", "expires_at", "spent_at"):
        value = getattr(rule, name)
        if value is not None:
            _check_finite(name, value)
            if value < 0:
                raise RuleError(f"{name} must be a unix time >= 0 or None, not {value!r}")


def _check_size(pct: float, direction: MoveDirection, what: str) -> None:
    """A move's or a step's size and direction (its ``pct`` already checked to be finite)."""
    if pct <= 0:
        raise RuleError(f"the {what} must be more than 0 %, not {pct} %")
    if not isinstance(direction, MoveDirection):
        raise RuleError(f"direction must be up, down or either, not {direction!r}")
    if direction is MoveDirection.DOWN and pct >= 100:
        raise RuleError(f"a price cannot fall by {pct} %; a fall is always less than 100 %")


def _check_rest(rule: Rule) -> None:
    """What every kind checks after its condition: the cooldown, the pair and the controls."""
    if rule.cooldown_s < 0:
        raise RuleError(f"the cooldown cannot be negative ({rule.cooldown_s} s)")
    _check_sub(rule.sub)
    _check_controls(rule)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleControls:
    """What every kind of rule has besides its condition: keyword-only, after the condition's fields.

    Attributes:
        id: Stable identity, kept in the settings (a fresh uuid hex by default); not part of
            equality, so the engine's state follows the rule's values.
        enabled: False: muted, fires nothing.
        snoozed_until: Wall unix time before which the rule fires nothing, or None.
        expires_at: Wall unix time from which the rule fires nothing, or None (never).
        once: True: fire once, then the rule is spent (``spent_at``); False: every time, with
            the cooldown.
        sound: The notification for this rule plays a sound.
        spent_at: Wall unix time a ``once`` rule fired; not None: spent, fires nothing until
            re-armed (``rule_edits.rearm_rule``).
    """

    id: str = field(default_factory=new_rule_id, compare=False)
    enabled: bool = True
    snoozed_until: float | None = None
    expires_at: float | None = None
    once: bool = False
    sound: bool = False
    spent_at: float | None = None


@dataclass(frozen=True, slots=True)
class MoveRule(RuleControls):
    """Alert when the price moves at least ``pct`` % within ``window_s`` seconds.

    Attributes:
        pct: The size of the move, in percent, > 0 (2.0 means 2 %).
        window_s: How long the move may take, in seconds, > 0.
        direction: ``UP``, ``DOWN`` or ``EITHER``.
        cooldown_s: After an alert for a pair, no other alert of this rule for that pair for this
            many seconds, >= 0.
        sub: The one pair this rule watches, or None for every pair.
        (and the controls every kind shares: see :class:`RuleControls`)

    Raises:
        RuleError: (a ValueError) on construction, if a value is out of range.
    """

    pct: float
    window_s: float = 300.0
    direction: MoveDirection = MoveDirection.EITHER
    cooldown_s: float = 600.0
    sub: Pair | None = None

    def __post_init__(self) -> None:
        for name in ("pct", "window_s", "cooldown_s"):
            _check_finite(name, getattr(self, name))
        _check_size(self.pct, self.direction, "move")
        if self.window_s <= 0:
            raise RuleError(f"the window must be longer than 0 seconds, not {self.window_s} s")
        _check_rest(self)


@dataclass(frozen=True, slots=True)
class LevelRule(RuleControls):
    """Alert when the price crosses ``level``: upwards if ``above``, downwards otherwise.

    Attributes:
        level: The price level, > 0, in the pair's quote currency.
        above: True: fire when the price rises to or through the level; False: when it falls to
            or through it.
        cooldown_s: After an alert for a pair, no other alert of this rule for that pair for this
            many seconds, >= 0.
        sub: The one pair this rule watches, or None for every pair.
        hysteresis_pct: After firing, the rule re-arms only once the price is back beyond the
            level by this many percent (below ``level * (1 - hysteresis_pct / 100)`` for an
            ``above`` rule), so a price hovering at the level fires once. 0 <= value < 100.
        (and the controls every kind shares: see :class:`RuleControls`)

    Raises:
        RuleError: (a ValueError) on construction, if a value is out of range.
    """

    level: float
    above: bool
    cooldown_s: float = 600.0
    sub: Pair | None = None
    hysteresis_pct: float = 0.1

    def __post_init__(self) -> None:
        for name in ("level", "cooldown_s", "hysteresis_pct"):
            _check_finite(name, getattr(self, name))
        if self.level <= 0:
            raise RuleError(f"the level must be a price above 0, not {self.level}")
        if not isinstance(self.above, bool):
            raise RuleError(f"above must be True or False, not {self.above!r}")
        if not 0 <= self.hysteresis_pct < 100:
            raise RuleError(f"the re-arm margin must be from 0 % to under 100 %, not {self.hysteresis_pct} %")
        _check_rest(self)


@dataclass(frozen=True, slots=True)
class StepRule(RuleControls):
    """Alert at every further ``pct`` % from the last alert (no time window).

    Attributes:
        pct: The step, in percent, > 0 (2.0: every further 2 %).
        direction: ``UP``, ``DOWN`` or ``EITHER``.
        cooldown_s: After an alert for a pair, no other alert of this rule for that pair for this
            many seconds, >= 0.
        sub: The one pair this rule watches, or None for every pair.
        (and the controls every kind shares: see :class:`RuleControls`)

    Raises:
        RuleError: (a ValueError) on construction, if a value is out of range.
    """

    pct: float
    direction: MoveDirection = MoveDirection.EITHER
    cooldown_s: float = 600.0
    sub: Pair | None = None

    def __post_init__(self) -> None:
        for name in ("pct", "cooldown_s"):
            _check_finite(name, getattr(self, name))
        _check_size(self.pct, self.direction, "step")
        _check_rest(self)


Rule: TypeAlias = MoveRule | LevelRule | StepRule
RULE_KINDS: Final = (MoveRule, LevelRule, StepRule)


def _short_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min"


def _below_minimums(rule: Rule) -> list[tuple[str, float, float, str]]:
    """(field, value, minimum, words) for each value of ``rule`` under its minimum."""
    low: list[tuple[str, float, float, str]] = []
    if isinstance(rule, MoveRule | StepRule) and rule.pct < MIN_PCT:
        low.append(("pct", rule.pct, MIN_PCT, "move" if isinstance(rule, MoveRule) else "step"))
    if isinstance(rule, MoveRule) and rule.window_s < MIN_WINDOW_S:
        low.append(("window_s", rule.window_s, MIN_WINDOW_S, "window"))
    if rule.cooldown_s < MIN_COOLDOWN_S:
        low.append(("cooldown_s", rule.cooldown_s, MIN_COOLDOWN_S, "quiet time after an alert"))
    return low


def _value_words(field_name: str, value: float) -> str:
    return f"{value:g} %" if field_name == "pct" else _short_duration(value)


def check_minimums(rule: Rule) -> None:
    """Refuse a rule that would flood: a move or step under ``MIN_PCT``, a window under
    ``MIN_WINDOW_S``, a cooldown under ``MIN_COOLDOWN_S``.

    Raises:
        RuleError: naming the first value that is too small and its minimum, in plain words.
    """
    for name, value, minimum, words in _below_minimums(rule):
        raise RuleError(
            f"the {words} must be at least {_value_words(name, minimum)}, not {_value_words(name, value)}"
        )


def raise_to_minimums(rule: Rule) -> tuple[Rule, tuple[str, ...]]:
    """``rule`` with each value under its minimum raised to it, and what was raised, in words
    (``window 6 s raised to 60 s``); ``(rule, ())`` when nothing was."""
    low = _below_minimums(rule)
    if not low:
        return rule, ()
    changed: dict[str, Any] = {name: minimum for name, _, minimum, _ in low}
    said = tuple(
        f"{words} {_value_words(name, value)} raised to {_value_words(name, minimum)}"
        for name, value, minimum, words in low
    )
    return replace(rule, **changed), said


class RuleState(enum.Enum):
    """What a rule does at a given time, for the Alerts tab (first match wins, in this order)."""

    SPENT = "spent"
    """A ``once`` rule that fired: quiet until re-armed."""
    MUTED = "muted"
    EXPIRED = "expired"
    SNOOZED = "snoozed"
    ARMED = "armed"


def rule_state(rule: Rule, now: float) -> RuleState:
    """The state of ``rule`` at wall time ``now`` (unix seconds)."""
    if rule.spent_at is not None:
        return RuleState.SPENT
    if not rule.enabled:
        return RuleState.MUTED
    if rule.expires_at is not None and now >= rule.expires_at:
        return RuleState.EXPIRED
    if rule.snoozed_until is not None and now < rule.snoozed_until:
        return RuleState.SNOOZED
    return RuleState.ARMED


def _quiet(rule: Rule, now: float) -> bool:
    """True if ``rule`` fires nothing at wall time ``now`` (muted, spent, expired or snoozed)."""
    return (
        not rule.enabled
        or rule.spent_at is not None
        or (rule.expires_at is not None and now >= rule.expires_at)
        or (rule.snoozed_until is not None and now < rule.snoozed_until)
    )


def _plain(rule: Rule) -> Rule:
    """``rule`` with its user controls at their defaults: what its engine state depends on."""
    return replace(
        rule, enabled=True, snoozed_until=None, expires_at=None, once=False, sound=False, spent_at=None
    )


@dataclass(frozen=True, slots=True)
class Alert:
    """One fired alert. Immutable, safe to pass to another thread.

    Attributes:
        sub: The pair.
        rule: The rule that fired.
        direction: ``UP`` or ``DOWN`` (never ``EITHER``).
        change_pct: ``(to_price - from_price) / from_price * 100``.
        from_price: Move rules: the reference price, the one at the start of the window. Level
            rules: the last price before the crossing.
        to_price: The price that fired the alert.
        window_s: Move rules: the rule's window; level rules: 0.0.
        at: Wall time of the alert, unix seconds (``clock.time()``), for display.
        level: Level rules: the level crossed; move rules: None.
        elapsed_s: Move rules: seconds from the reference price to this one (how long the
            window had been open, at most ``window_s``); level rules: 0.0.
        id: Unique per alert (history entries, deliveries and stores are keyed by it); not part
            of equality.
        simulated: Fired on the demo's simulated prices (said wherever it is shown, never kept).
    """

    sub: Pair
    rule: Rule
    direction: MoveDirection
    change_pct: float
    from_price: float
    to_price: float
    window_s: float
    at: float
    level: float | None = None
    elapsed_s: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)
    simulated: bool = False


# What on_price returns when nothing fires (nearly always): shared, immutable, allocation-free.
_NO_ALERTS: tuple[Alert, ...] = ()


class _MoveState:
    """A move rule's window for one pair: the first price of each bucket, with its time.

    ``samples`` holds (time, price) oldest first, one per bucket; its front is the reference
    (the start of the window) once entries older than ``window_s`` are dropped, and its back is
    the open bucket's first price, so it is never empty after the first price.
    """

    __slots__ = ("bucket_end", "bucket_s", "down_at", "last_fired", "rule", "samples", "up_at", "window_s")

    def __init__(self, rule: MoveRule) -> None:
        self.rule = rule
        self.window_s = rule.window_s
        self.bucket_s = rule.window_s / _BUCKETS_PER_WINDOW
        # Thresholds on the change in %: up fires at >= up_at, down at <= down_at. A direction the
        # rule does not watch gets an infinite threshold, so the hot path makes one comparison.
        self.up_at = math.inf if rule.direction is MoveDirection.DOWN else rule.pct
        self.down_at = -math.inf if rule.direction is MoveDirection.UP else -rule.pct
        self.samples: deque[tuple[float, float]] = deque()
        self.bucket_end = -math.inf
        self.last_fired = -math.inf

    def clear(self) -> None:
        """Forget every sample: the next price opens a fresh window."""
        self.samples.clear()
        self.bucket_end = -math.inf


class _LevelState:
    """A level rule's arming for one pair: None until the first price, then armed or not."""

    __slots__ = ("armed", "last", "last_fired", "rule")

    def __init__(self, rule: LevelRule) -> None:
        self.rule = rule
        self.armed: bool | None = None
        self.last = 0.0
        self.last_fired = -math.inf


class _StepState:
    """A step rule's anchor for one pair: None until the first price."""

    __slots__ = ("anchor", "down_at", "last_fired", "rule", "up_at")

    def __init__(self, rule: StepRule) -> None:
        self.rule = rule
        self.up_at = math.inf if rule.direction is MoveDirection.DOWN else rule.pct
        self.down_at = -math.inf if rule.direction is MoveDirection.UP else -rule.pct
        self.anchor: float | None = None
        self.last_fired = -math.inf


_State: TypeAlias = _MoveState | _LevelState | _StepState


class AlertEngine:
    """Checks every rule against every price update and returns the alerts that fire.

    State is kept per (rule, pair): the move window or level arming, and the cooldown. Rules
    are compared by value, so the same rule given twice counts once.

    Firing rules (both kinds): an alert needs its condition to be met, the (rule, pair) to be out
    of cooldown, and the rule to be armed:

    * Move rules re-arm by restarting the window at the alert's price: the next alert needs a
      further full ``pct`` move from there (either way, for ``EITHER``). A price that jumps and
      then stays put fires once, however long it stays. A condition met during the cooldown
      fires nothing and changes nothing (the window rolls on as usual), so when the cooldown
      ends the next price is compared with the start of the window as it is then: a move still
      within the window fires. One consequence of the restart: a dip of ``pct`` fires DOWN, and
      a recovery to the old price is then a move of more than ``pct`` from the dip's price; it
      fires UP only if the cooldown has ended while the dip's price is still the start of the
      window, so never with a cooldown longer than the window (the defaults: 600 s and 300 s).
    * Level rules fire on a crossing. The first price seen for a pair only arms the rule (below
      the level, for ``above``) or disarms it (at or beyond the level): being above a level is
      not news, crossing it is. A crossing disarms the rule even when the cooldown suppresses
      the alert; it re-arms once the price is back beyond the hysteresis margin.

    * Step rules fire when the price is ``pct`` % or more from the anchor, and re-anchor at the
      alert's price. A condition met during the cooldown fires nothing and keeps the anchor.

    Quiet rules (muted, snoozed, expired, spent: ``rule_state``) are checked with
    ``clock.time()`` when a condition is met, and treated like a cooldown: no alert, no restart.

    ``once`` rules: after one alert the engine treats the rule as spent at once (every pair, even
    before the owner answers). The owner persists that by setting ``spent_at`` on the rule
    (``rule_edits.mark_fired``) and passing it back through ``set_rules``; from then on
    ``spent_at`` says it. A rule given back with ``spent_at`` cleared after that (re-armed) fires
    again; one given back unchanged before the owner persisted it stays spent.

    Invalid prices (<= 0, NaN, infinite) are ignored: no alert, no state change.
    """

    def __init__(self, rules: Iterable[Rule], clock: Clock) -> None:
        """Build an engine.

        Args:
            rules: The rules to check; see ``set_rules``.
            clock: Monotonic time for windows and cooldowns, wall time for ``Alert.at``.
        """
        self._clock = clock
        self._rules: tuple[Rule, ...] = ()
        self._by_sub: dict[Pair, tuple[_State, ...]] = {}
        # Ids of once rules this engine fired that the owner has not yet given back as spent.
        self._spent: set[str] = set()
        self.set_rules(rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The current rules, without duplicates, in the order given."""
        return self._rules

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rules.

        State (window, arming, anchor, cooldown) is kept for a rule whose condition did not
        change: the same id with the same values apart from the user controls (``enabled``,
        ``snoozed_until``, ``expires_at``, ``once``, ``sound``, ``spent_at``), or else an equal
        rule under another id (a settings file read again assigns new ids to rules saved without
        one). So snoozing, muting or re-arming a rule takes effect at once and keeps its window;
        editing what it watches starts it afresh.

        Args:
            rules: The new rules; duplicates (equal by value) are dropped.

        Raises:
            TypeError: if an item is not a MoveRule, a LevelRule or a StepRule.
        """
        new = tuple(dict.fromkeys(rules))
        for rule in new:
            if not isinstance(rule, RULE_KINDS):
                raise TypeError(f"not an alert rule: {rule!r}")
        by_id = {rule.id: rule for rule in new}
        for rule_id in list(self._spent):
            given = by_id.get(rule_id)
            old = next((r for r in self._rules if r.id == rule_id), None)
            # Persisted as spent (the owner answered), gone, or edited into another condition.
            if given is None or given.spent_at is not None or old is None or _plain(given) != _plain(old):
                self._spent.discard(rule_id)
        self._rules = new
        for sub, states in self._by_sub.items():
            self._by_sub[sub] = _carry_states(states, tuple(r for r in new if r.sub is None or r.sub == sub))
        log.debug("alert rules set: %d rule(s)", len(new))

    def on_price(self, sub: Pair, price: float) -> tuple[Alert, ...]:
        """Feed one price update; call it for every update, not a throttled or coalesced one.

        Args:
            sub: The pair the price is for.
            price: The new price.

        Returns:
            The alerts that fired, usually none: an empty tuple (shared, immutable).
        """
        if not 0.0 < price < math.inf:  # also rejects NaN
            return _NO_ALERTS
        states = self._by_sub.get(sub)
        if states is None:
            states = self._by_sub[sub] = tuple(
                _new_state(rule) for rule in self._rules if rule.sub is None or rule.sub == sub
            )
        if not states:
            return _NO_ALERTS
        t = self._clock.monotonic()
        fired: list[Alert] | None = None
        for state in states:
            if isinstance(state, _MoveState):
                alert = self._check_move(state, sub, t, price)
            elif isinstance(state, _LevelState):
                alert = self._check_level(state, sub, t, price)
            else:
                alert = self._check_step(state, sub, t, price)
            if alert is not None:
                if fired is None:
                    fired = []
                fired.append(alert)
        return _NO_ALERTS if fired is None else tuple(fired)

    def forget(self, sub: Pair) -> None:
        """Drop all state for a pair (it left the watchlist). Unknown pairs are fine."""
        self._by_sub.pop(sub, None)

    def reset(self) -> None:
        """Restart every move window; keep level arming and cooldowns.

        Call it when the stored prices no longer form a trustworthy timeline: after a suspend/
        resume (Linux's monotonic clock does not count suspend, so prices from before a night's
        sleep would look minutes old and a gap would read as a move), or after a disconnect long
        enough that a move across it should not be reported. A short reconnect needs no reset:
        a move during the gap really happened within the window and is reported.

        Level rules keep their arming, because a level crossed while away is still a crossing
        (the first price afterwards fires it). Cooldowns are kept so that a flapping
        connection cannot turn into a stream of repeated alerts.
        """
        for states in self._by_sub.values():
            for state in states:
                if isinstance(state, _MoveState):
                    state.clear()

    def reset_sub(self, sub: Pair) -> None:
        """Restart one pair's move windows (as ``reset`` does for all); keep its level arming and
        cooldowns. Unknown pairs are fine."""
        for state in self._by_sub.get(sub, ()):
            if isinstance(state, _MoveState):
                state.clear()

    def retained_samples(self, sub: Pair) -> int:
        """How many (time, price) samples the move windows hold for a pair: a memory diagnostic."""
        return sum(len(s.samples) for s in self._by_sub.get(sub, ()) if isinstance(s, _MoveState))

    def _check_move(self, st: _MoveState, sub: Pair, t: float, price: float) -> Alert | None:
        samples = st.samples
        if t >= st.bucket_end:  # open a bucket with this price (always true on the first price)
            samples.append((t, price))
            st.bucket_end = t + st.bucket_s
        ref_t, ref = samples[0]
        if t - ref_t > st.window_s:  # the start of the window moved on: drop what fell out
            window_s = st.window_s
            while True:
                samples.popleft()  # never empties: the open bucket's price is younger than window_s
                ref_t, ref = samples[0]
                if t - ref_t <= window_s:
                    break
        change_pct = (price - ref) / ref * 100.0
        if st.down_at < change_pct < st.up_at:
            return None
        rule = st.rule
        if t - st.last_fired < rule.cooldown_s or self._held(rule):
            return None
        moved = MoveDirection.UP if change_pct > 0.0 else MoveDirection.DOWN
        st.last_fired = t
        self._note_fired(rule)
        samples.clear()
        samples.append((t, price))
        st.bucket_end = t + st.bucket_s
        alert = Alert(
            sub=sub,
            rule=rule,
            direction=moved,
            change_pct=change_pct,
            from_price=ref,
            to_price=price,
            window_s=st.window_s,
            at=self._clock.time(),
            elapsed_s=t - ref_t,
        )
        log.debug("move alert %s %s %+.3f%% in %.1fs", sub, moved.value, change_pct, alert.elapsed_s)
        return alert

    def _check_level(self, st: _LevelState, sub: Pair, t: float, price: float) -> Alert | None:
        rule = st.rule
        level = rule.level
        prev = st.last
        st.last = price
        above = rule.above
        crossed = price >= level if above else price <= level
        armed = st.armed
        if armed is None:  # the first price only arms or disarms
            st.armed = not crossed
            return None
        if not armed:
            margin = rule.hysteresis_pct / 100.0
            if price < level * (1.0 - margin) if above else price > level * (1.0 + margin):
                st.armed = True
            return None
        if not crossed:
            return None
        st.armed = False
        if t - st.last_fired < rule.cooldown_s or self._held(rule):
            return None
        st.last_fired = t
        self._note_fired(rule)
        moved = MoveDirection.UP if above else MoveDirection.DOWN
        alert = Alert(
            sub=sub,
            rule=rule,
            direction=moved,
            change_pct=(price - prev) / prev * 100.0,
            from_price=prev,
            to_price=price,
            window_s=0.0,
            at=self._clock.time(),
            level=level,
        )
        log.debug("level alert %s crossed %s %s (%s -> %s)", sub, moved.value, level, prev, price)
        return alert

    def _check_step(self, st: _StepState, sub: Pair, t: float, price: float) -> Alert | None:
        anchor = st.anchor
        if anchor is None:  # the first price is the anchor
            st.anchor = price
            return None
        change_pct = (price - anchor) / anchor * 100.0
        if st.down_at < change_pct < st.up_at:
            return None
        rule = st.rule
        if t - st.last_fired < rule.cooldown_s or self._held(rule):
            return None
        st.last_fired = t
        st.anchor = price
        self._note_fired(rule)
        moved = MoveDirection.UP if change_pct > 0.0 else MoveDirection.DOWN
        alert = Alert(
            sub=sub,
            rule=rule,
            direction=moved,
            change_pct=change_pct,
            from_price=anchor,
            to_price=price,
            window_s=0.0,
            at=self._clock.time(),
        )
        log.debug("step alert %s %s %+.3f%%", sub, moved.value, change_pct)
        return alert

    def _held(self, rule: Rule) -> bool:
        """True if ``rule`` must stay quiet now: muted, snoozed, expired or spent."""
        return rule.id in self._spent or _quiet(rule, self._clock.time())

    def _note_fired(self, rule: Rule) -> None:
        if rule.once:
            self._spent.add(rule.id)


def _new_state(rule: Rule) -> _State:
    if isinstance(rule, MoveRule):
        return _MoveState(rule)
    if isinstance(rule, LevelRule):
        return _LevelState(rule)
    return _StepState(rule)


_STATE_KINDS: Final[dict[type, type]] = {MoveRule: _MoveState, LevelRule: _LevelState, StepRule: _StepState}


def _with_rule(state: _State, rule: Rule) -> _State:
    """``state`` now for ``rule`` (same kind and condition: only its controls differ)."""
    if type(state) is not _STATE_KINDS[type(rule)]:  # unreachable: _plain() compared equal
        return _new_state(rule)
    state.rule = rule
    return state


def _carry_states(states: tuple[_State, ...], rules: tuple[Rule, ...]) -> tuple[_State, ...]:
    """One pair's states for ``rules``: each keeps the state of the same condition (see
    ``AlertEngine.set_rules``), with the new rule object (its controls) put in; others start afresh."""
    by_id: dict[str, _State] = {}
    by_plain: dict[Rule, _State] = {}
    for state in states:
        by_id.setdefault(state.rule.id, state)
        by_plain.setdefault(_plain(state.rule), state)
    used: set[int] = set()
    out: list[_State] = []
    for rule in rules:
        plain = _plain(rule)
        found: _State | None = by_id.get(rule.id)
        if found is None or id(found) in used or _plain(found.rule) != plain:
            found = by_plain.get(plain)
            if found is not None and id(found) in used:
                found = None
        state = _new_state(rule) if found is None else _with_rule(found, rule)
        used.add(id(state))
        out.append(state)
    return tuple(out)
