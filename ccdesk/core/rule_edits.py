"""Pure edits of the alert rules in the settings, by rule id (snooze, mute, re-arm, delete, replace,
mark a ``once`` rule spent) and a level rule at the current price. No Qt, no storage, no clock:
times come in as arguments.

Every function returns new :class:`Settings`; given an id no rule has, it returns the settings it
was given, unchanged (the same object), so a caller can tell that nothing happened.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ccdesk.core.alerts import LevelRule, Rule, RuleError, RuleState, check_minimums, rule_state
from ccdesk.core.pairs import Pair
from ccdesk.core.settings import Settings

# A level built at the current price keeps this many significant digits (91,234.56 -> 91,235).
_LEVEL_DIGITS = 5


def find_rule(settings: Settings, rule_id: str) -> Rule | None:
    """The rule with id ``rule_id``, or None."""
    return next((r for r in settings.rules if r.id == rule_id), None)


def rule_for_alert(settings: Settings, rule: Rule) -> Rule | None:
    """The settings' rule that fired as ``rule``: the one with its id, else one equal to it by
    value (an alert from the history, kept before rules had ids), else None (since deleted)."""
    found = find_rule(settings, rule.id)
    if found is not None:
        return found
    return next((r for r in settings.rules if r == rule), None)


def _with_rule(settings: Settings, rule_id: str, new: Rule | None) -> Settings:
    """``settings`` with the rule ``rule_id`` replaced by ``new`` (None: removed), in place."""
    rules: list[Rule] = []
    found = False
    for rule in settings.rules:
        if rule.id == rule_id and not found:
            found = True
            if new is not None:
                rules.append(new)
        else:
            rules.append(rule)
    return replace(settings, rules=tuple(rules)) if found else settings


def snooze_rule(settings: Settings, rule_id: str, until: float) -> Settings:
    """The rule fires nothing before wall time ``until`` (unix seconds); it stays enabled.

    Raises:
        RuleError: if ``until`` is not a finite time >= 0.
    """
    rule = find_rule(settings, rule_id)
    if rule is None:
        return settings
    if isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until) or until < 0:
        raise RuleError(f"a snooze ends at a unix time >= 0, not {until!r}")
    return _with_rule(settings, rule_id, replace(rule, snoozed_until=float(until)))


def mute_rule(settings: Settings, rule_id: str) -> Settings:
    """The rule fires nothing until re-armed (``enabled=False``)."""
    rule = find_rule(settings, rule_id)
    return settings if rule is None else _with_rule(settings, rule_id, replace(rule, enabled=False))


def rearm_rule(settings: Settings, rule_id: str, now: float | None = None) -> Settings:
    """The rule fires again: enabled, not snoozed, a spent ``once`` rule no longer spent.

    Args:
        settings: The settings.
        rule_id: The rule.
        now: Wall time; if given and the rule has expired by then, its expiry is cleared too (re-arming
            an expired rule means the user wants it back). Without it the expiry stays.
    """
    rule = find_rule(settings, rule_id)
    if rule is None:
        return settings
    expires_at = rule.expires_at
    if now is not None and expires_at is not None and now >= expires_at:
        expires_at = None
    new = replace(rule, enabled=True, snoozed_until=None, spent_at=None, expires_at=expires_at)
    return _with_rule(settings, rule_id, new)


def delete_rule(settings: Settings, rule_id: str) -> Settings:
    """The rule removed."""
    return _with_rule(settings, rule_id, None)


def replace_rule(settings: Settings, rule_id: str, new_rule: Rule) -> Settings:
    """The rule ``rule_id`` replaced by ``new_rule``, at the same place and under the same id.

    Raises:
        RuleError: if ``new_rule`` is below the minimums (``alerts.check_minimums``).
    """
    check_minimums(new_rule)
    if find_rule(settings, rule_id) is None:
        return settings
    return _with_rule(settings, rule_id, replace(new_rule, id=rule_id))


def add_rule(settings: Settings, rule: Rule) -> Settings:
    """``rule`` appended (a rule equal to one already there is not added twice).

    Raises:
        RuleError: if ``rule`` is below the minimums (``alerts.check_minimums``).
    """
    check_minimums(rule)
    if rule in settings.rules:
        return settings
    return replace(settings, rules=(*settings.rules, rule))


def mark_fired(settings: Settings, rule: Rule, at: float) -> Settings:
    """After ``rule`` fired at wall time ``at``: a ``once`` rule becomes spent (``spent_at=at``), so
    it stays quiet after a restart until re-armed. Any other rule: the settings unchanged."""
    found = rule_for_alert(settings, rule)
    if found is None or not found.once or found.spent_at is not None:
        return settings
    return _with_rule(settings, found.id, replace(found, spent_at=at))


def is_spent(settings: Settings, rule: Rule) -> bool:
    """True if ``rule`` (as an alert carries it) is a ``once`` rule the settings already hold as
    spent: a second alert from it (another source's engine, before the first was persisted) is dropped."""
    found = rule_for_alert(settings, rule)
    return found is not None and found.spent_at is not None


def states(settings: Settings, now: float) -> dict[str, RuleState]:
    """Every rule's state at wall time ``now``, by id."""
    return {rule.id: rule_state(rule, now) for rule in settings.rules}


def round_level(price: float, digits: int = _LEVEL_DIGITS) -> float:
    """``price`` to ``digits`` significant digits (91,234.56 -> 91,235.0; 0.159017 -> 0.15902).

    Raises:
        RuleError: if ``price`` is not a finite number > 0.
    """
    if isinstance(price, bool) or not isinstance(price, int | float) or not 0 < price < math.inf:
        raise RuleError(f"a price level must be a number above 0, not {price!r}")
    exponent = math.floor(math.log10(price))
    return round(price, digits - 1 - exponent)


def level_rule_at(
    sub: Pair | None, price: float, *, above: bool = True, cooldown_s: float = 900.0
) -> LevelRule:
    """A new level rule at ``price`` (rounded to 5 significant digits) for ``sub``.

    ``above=True`` by default: the alert a user making a rule "at the current price" most often
    wants is the price coming back up through where it is now; the editor lets them flip it.

    Raises:
        RuleError: if ``price`` is not a finite number > 0.
    """
    return LevelRule(level=round_level(price), above=above, cooldown_s=cooldown_s, sub=sub)


def merge_dialog_rules(
    opened_with: tuple[Rule, ...], edited: tuple[Rule, ...], current: tuple[Rule, ...]
) -> tuple[Rule, ...]:
    """The rules to keep when the settings dialog is accepted: what the user edited in it, without
    undoing what happened to the rules while it was open (a snooze or mute from a notification, a
    ``once`` rule that fired and became spent, a rule deleted from the history).

    A rule the dialog left exactly as it was opened (every field, by id) takes its ``current``
    version, or is left out if it is no longer current; a rule the user changed, added or kept
    from a deletion by editing it wins as edited.

    Args:
        opened_with: The rules when the dialog opened.
        edited: The rules as the dialog has them on OK.
        current: The rules in use now.
    """
    before = {rule.id: rule for rule in opened_with}
    now = {rule.id: rule for rule in current}
    kept: list[Rule] = []
    for rule in edited:
        untouched = before.get(rule.id)
        if untouched is not None and _same(untouched, rule):
            if rule.id in now:
                kept.append(now[rule.id])
            continue
        kept.append(rule)
    return tuple(kept)


def _same(a: Rule, b: Rule) -> bool:
    """Equal in every field, the id included."""
    return a == b and a.id == b.id
