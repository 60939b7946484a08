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
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from ccdesk.core.clock import Clock
from ccdesk.core.pairs import Pair

log = logging.getLogger(__name__)

# Buckets per move window: bounds memory per (rule, pair) and sets the reference's granularity.
_BUCKETS_PER_WINDOW = 300


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


@dataclass(frozen=True, slots=True)
class MoveRule:
    """Alert when the price moves at least ``pct`` % within ``window_s`` seconds.

    Attributes:
        pct: The size of the move, in percent, > 0 (2.0 means 2 %).
        window_s: How long the move may take, in seconds, > 0.
        direction: ``UP``, ``DOWN`` or ``EITHER``.
        cooldown_s: After an alert for a pair, no other alert of this rule for that pair for this
            many seconds, >= 0.
        sub: The one pair this rule watches, or None for every pair.

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
        if self.pct <= 0:
            raise RuleError(f"the move must be more than 0 %, not {self.pct} %")
        if self.window_s <= 0:
            raise RuleError(f"the window must be longer than 0 seconds, not {self.window_s} s")
        if self.cooldown_s < 0:
            raise RuleError(f"the cooldown cannot be negative ({self.cooldown_s} s)")
        if not isinstance(self.direction, MoveDirection):
            raise RuleError(f"direction must be up, down or either, not {self.direction!r}")
        if self.direction is MoveDirection.DOWN and self.pct >= 100:
            raise RuleError(f"a price cannot fall by {self.pct} %; a fall is always less than 100 %")
        _check_sub(self.sub)


@dataclass(frozen=True, slots=True)
class LevelRule:
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
        if self.cooldown_s < 0:
            raise RuleError(f"the cooldown cannot be negative ({self.cooldown_s} s)")
        if not 0 <= self.hysteresis_pct < 100:
            raise RuleError(f"the re-arm margin must be from 0 % to under 100 %, not {self.hysteresis_pct} %")
        _check_sub(self.sub)


Rule: TypeAlias = MoveRule | LevelRule


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


_State: TypeAlias = _MoveState | _LevelState


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
        self.set_rules(rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The current rules, without duplicates, in the order given."""
        return self._rules

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rules.

        State (window, arming, cooldown) is kept for every rule equal to one already present and
        dropped for the others, so editing a rule starts it afresh.

        Args:
            rules: The new rules; duplicates (equal by value) are dropped.

        Raises:
            TypeError: if an item is not a MoveRule or a LevelRule.
        """
        new = tuple(dict.fromkeys(rules))
        for rule in new:
            if not isinstance(rule, MoveRule | LevelRule):
                raise TypeError(f"not an alert rule: {rule!r}")
        self._rules = new
        for sub, states in self._by_sub.items():
            old = {s.rule: s for s in states}
            self._by_sub[sub] = tuple(
                old[rule] if rule in old else _new_state(rule)
                for rule in new
                if rule.sub is None or rule.sub == sub
            )
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
            else:
                alert = self._check_level(state, sub, t, price)
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
        if t - st.last_fired < rule.cooldown_s:
            return None
        moved = MoveDirection.UP if change_pct > 0.0 else MoveDirection.DOWN
        st.last_fired = t
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
        if t - st.last_fired < rule.cooldown_s:
            return None
        st.last_fired = t
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


def _new_state(rule: Rule) -> _State:
    return _MoveState(rule) if isinstance(rule, MoveRule) else _LevelState(rule)
