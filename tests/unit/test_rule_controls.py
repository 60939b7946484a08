"""Tests for the rule controls in ccdesk.core.alerts: ids, mute, snooze, expiry, once, step rules, and
state kept across ``set_rules`` when only the controls change. Fake clock, no sleeps."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.alerts import (
    AlertEngine,
    LevelRule,
    MoveDirection,
    MoveRule,
    RuleError,
    RuleState,
    StepRule,
    rule_state,
)
from tests.fakes import FakeClock
from tests.pairs import BTC, ETH


def engine_with(*rules: object) -> tuple[AlertEngine, FakeClock]:
    clock = FakeClock()
    return AlertEngine(rules, clock), clock  # type: ignore[arg-type]


def test_every_rule_gets_a_fresh_id_that_is_not_part_of_equality() -> None:
    a, b = MoveRule(pct=2.0), MoveRule(pct=2.0)
    assert a.id != b.id
    assert len(a.id) == 32
    assert a == b
    assert hash(a) == hash(b)
    assert dataclasses.replace(a, pct=3.0).id == a.id  # edits keep the id


@pytest.mark.parametrize(
    "kwargs",
    [{"id": ""}, {"id": "has space"}, {"id": "x" * 65}, {"enabled": 1}, {"snoozed_until": float("nan")}],
)
def test_bad_controls_are_refused_in_words(kwargs: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        MoveRule(pct=2.0, **kwargs)  # type: ignore[arg-type]


def test_a_muted_rule_fires_nothing_and_its_window_goes_on() -> None:
    rule = MoveRule(pct=1.0, window_s=300.0, cooldown_s=60.0, sub=BTC, enabled=False)
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 100.0)
    clock.advance(10)
    assert engine.on_price(BTC, 102.0) == ()
    # Unmuted (only the control changed): the window was kept, so the move still within it fires.
    engine.set_rules([dataclasses.replace(rule, enabled=True)])
    clock.advance(10)
    alerts = engine.on_price(BTC, 102.5)
    assert [(a.from_price, a.to_price) for a in alerts] == [(100.0, 102.5)]
    assert alerts[0].rule.enabled
    assert alerts[0].rule.id == rule.id


def test_a_snoozed_rule_is_quiet_until_the_wall_time_then_fires() -> None:
    clock = FakeClock()
    rule = LevelRule(level=100.0, above=True, cooldown_s=60.0, sub=BTC, snoozed_until=clock.time() + 3600)
    engine = AlertEngine([rule], clock)
    engine.on_price(BTC, 99.0)
    clock.advance(60)
    assert engine.on_price(BTC, 101.0) == ()  # crossed while snoozed: nothing, and disarmed
    clock.advance(60)
    engine.on_price(BTC, 98.0)  # back below the margin: armed again
    clock.advance(3600)
    alerts = engine.on_price(BTC, 100.5)
    assert [(a.level, a.to_price) for a in alerts] == [(100.0, 100.5)]


def test_snooze_follows_the_wall_clock_not_the_monotonic_one() -> None:
    clock = FakeClock()
    rule = LevelRule(level=100.0, above=True, cooldown_s=60.0, sub=BTC, snoozed_until=clock.time() + 3600)
    engine = AlertEngine([rule], clock)
    engine.on_price(BTC, 99.0)
    clock.jump_wall(3600)  # suspended for an hour: monotonic time did not move, wall time did
    assert len(engine.on_price(BTC, 101.0)) == 1


def test_an_expired_rule_fires_nothing() -> None:
    clock = FakeClock()
    rule = MoveRule(pct=1.0, window_s=300.0, cooldown_s=60.0, sub=BTC, expires_at=clock.time() + 100)
    engine = AlertEngine([rule], clock)
    engine.on_price(BTC, 100.0)
    clock.advance(50)
    assert len(engine.on_price(BTC, 101.5)) == 1  # before expiry
    clock.advance(50)  # exactly at expires_at: expired
    engine.on_price(BTC, 101.5)
    clock.advance(30)
    assert engine.on_price(BTC, 99.0) == ()
    assert rule_state(rule, clock.time()) is RuleState.EXPIRED


def test_a_once_rule_fires_once_for_every_pair_until_rearmed() -> None:
    rule = MoveRule(pct=1.0, window_s=300.0, cooldown_s=60.0, once=True)  # all pairs
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 100.0)
    engine.on_price(ETH, 10.0)
    clock.advance(10)
    assert len(engine.on_price(BTC, 102.0)) == 1
    clock.advance(10)
    assert engine.on_price(ETH, 11.0) == ()  # spent: not for another pair either
    # The rules given back unchanged (the owner has not persisted "spent" yet): still spent.
    engine.set_rules([rule])
    clock.advance(120)
    assert engine.on_price(BTC, 90.0) == ()
    # Persisted as spent, then re-armed: fires again.
    spent = dataclasses.replace(rule, spent_at=clock.time())
    engine.set_rules([spent])
    clock.advance(10)
    assert engine.on_price(BTC, 80.0) == ()
    assert rule_state(spent, clock.time()) is RuleState.SPENT
    engine.set_rules([dataclasses.replace(spent, spent_at=None)])
    clock.advance(10)
    assert [a.sub for a in engine.on_price(ETH, 12.0)] == [ETH]


def test_an_edited_once_rule_is_no_longer_spent() -> None:
    rule = LevelRule(level=100.0, above=True, cooldown_s=60.0, sub=BTC, once=True)
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 99.0)
    clock.advance(1)
    assert len(engine.on_price(BTC, 101.0)) == 1
    engine.set_rules([dataclasses.replace(rule, level=105.0)])  # a new condition: starts afresh
    engine.on_price(BTC, 102.0)
    clock.advance(100)
    assert [a.level for a in engine.on_price(BTC, 106.0)] == [105.0]


def test_a_step_rule_fires_at_every_further_step_and_reanchors() -> None:
    rule = StepRule(pct=2.0, direction=MoveDirection.EITHER, cooldown_s=60.0, sub=BTC)
    engine, clock = engine_with(rule)
    prices = [100.0, 101.0, 101.9, 102.0, 103.0, 104.0, 104.1, 101.9, 101.0]
    fired = []
    for price in prices:
        clock.advance(120)  # slower than the cooldown, with no time window at all
        fired += [(a.direction, a.from_price, a.to_price) for a in engine.on_price(BTC, price)]
    assert fired == [
        (MoveDirection.UP, 100.0, 102.0),
        (MoveDirection.UP, 102.0, 104.1),  # 104.0 is 1.96 % above 102: not yet
        (MoveDirection.DOWN, 104.1, 101.9),
    ]


def test_a_step_rule_in_cooldown_keeps_its_anchor() -> None:
    rule = StepRule(pct=1.0, direction=MoveDirection.UP, cooldown_s=300.0, sub=BTC)
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 100.0)
    clock.advance(1)
    assert len(engine.on_price(BTC, 101.0)) == 1
    clock.advance(10)
    assert engine.on_price(BTC, 103.0) == ()  # cooldown: nothing, anchor stays at 101
    clock.advance(300)
    assert [(a.from_price, a.to_price) for a in engine.on_price(BTC, 102.5)] == [(101.0, 102.5)]


def test_an_up_step_rule_ignores_falls_and_keeps_its_anchor() -> None:
    rule = StepRule(pct=2.0, direction=MoveDirection.UP, cooldown_s=60.0, sub=BTC)
    engine, clock = engine_with(rule)
    fired = []
    for price in (100.0, 90.0, 101.0, 102.0):
        clock.advance(100)
        fired += [(a.from_price, a.to_price) for a in engine.on_price(BTC, price)]
    assert fired == [(100.0, 102.0)]


def test_changing_only_controls_keeps_level_arming_but_a_new_condition_restarts() -> None:
    rule = LevelRule(level=100.0, above=True, cooldown_s=60.0, sub=BTC)
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 101.0)  # first price above the level: disarmed (not news)
    engine.set_rules([dataclasses.replace(rule, sound=True, expires_at=clock.time() + 1e6)])
    clock.advance(100)
    assert engine.on_price(BTC, 101.5) == ()  # arming kept: still disarmed
    # Same values under another id (a file read again): the state is kept too.
    engine.set_rules([dataclasses.replace(rule, id="other")])
    clock.advance(100)
    assert engine.on_price(BTC, 101.6) == ()
    engine.set_rules([dataclasses.replace(rule, level=101.0)])  # a new condition: fresh state
    engine.on_price(BTC, 100.0)
    clock.advance(100)
    assert [a.rule.level for a in engine.on_price(BTC, 101.7)] == [101.0]  # type: ignore[union-attr]


def test_alerts_carry_the_rule_with_its_id_and_sound() -> None:
    rule = LevelRule(level=100.0, above=False, cooldown_s=60.0, sub=BTC, sound=True, id="r-7")
    engine, clock = engine_with(rule)
    engine.on_price(BTC, 101.0)
    clock.advance(1)
    (alert,) = engine.on_price(BTC, 99.0)
    assert alert.rule.id == "r-7"
    assert alert.rule.sound


def test_rule_state_order() -> None:
    now = 1000.0
    assert rule_state(MoveRule(pct=1.0), now) is RuleState.ARMED
    assert rule_state(MoveRule(pct=1.0, snoozed_until=now + 1), now) is RuleState.SNOOZED
    assert rule_state(MoveRule(pct=1.0, snoozed_until=now), now) is RuleState.ARMED
    assert rule_state(MoveRule(pct=1.0, enabled=False, snoozed_until=now + 1), now) is RuleState.MUTED
    assert rule_state(MoveRule(pct=1.0, spent_at=now - 5, enabled=False), now) is RuleState.SPENT


# --- properties ---------------------------------------------------------------------------------

_steps = st.lists(
    st.tuples(
        st.floats(min_value=0.1, max_value=120.0), st.floats(min_value=-0.03, max_value=0.03), st.booleans()
    ),
    min_size=1,
    max_size=80,
)
_rules = st.sampled_from(
    [
        MoveRule(pct=1.0, window_s=120.0, cooldown_s=60.0, id="r"),
        LevelRule(level=100.0, above=True, cooldown_s=60.0, id="r"),
        StepRule(pct=1.0, direction=MoveDirection.EITHER, cooldown_s=60.0, id="r"),
    ]
)


def _run(rule, steps, *, toggle: bool) -> list[tuple[float, float]]:
    clock = FakeClock()
    engine = AlertEngine([rule], clock)
    price, fired, sound = 100.0, [], False
    for dt, change, flip in steps:
        clock.advance(dt)
        price *= 1 + change
        if toggle and flip:  # only a control changes: the state must carry over untouched
            sound = not sound
            engine.set_rules([dataclasses.replace(rule, sound=sound)])
        fired += [(a.from_price, a.to_price) for a in engine.on_price(BTC, price)]
    return fired


@given(_rules, _steps)
def test_changing_only_a_control_never_changes_what_fires(rule, steps) -> None:
    assert _run(rule, steps, toggle=True) == _run(rule, steps, toggle=False)


@given(_rules, _steps)
def test_a_once_rule_fires_at_most_once_and_a_muted_one_never(rule, steps) -> None:
    assert len(_run(dataclasses.replace(rule, once=True), steps, toggle=True)) <= 1
    assert _run(dataclasses.replace(rule, enabled=False), steps, toggle=True) == []
