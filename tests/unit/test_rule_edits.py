"""Tests for ccdesk.core.rule_edits (pure edits by rule id) and the rule fields' stored form."""

from __future__ import annotations

import json

import pytest

from ccdesk.core import rule_edits
from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule, RuleError, RuleState, StepRule
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore, load_settings, rule_from_json, rule_to_json, save_settings
from tests.pairs import BTC, ETH

NOW = 1_700_000_000.0


def two_rules() -> Settings:
    return Settings(
        watchlist=(BTC, ETH),
        rules=(
            MoveRule(pct=2.0, window_s=300.0, cooldown_s=900.0, id="move"),
            LevelRule(level=95_000.0, above=True, cooldown_s=600.0, sub=BTC, id="level", once=True),
        ),
    )


def test_snooze_mute_rearm_delete_by_id() -> None:
    s = two_rules()
    snoozed = rule_edits.snooze_rule(s, "level", NOW + 3600)
    assert rule_edits.states(snoozed, NOW) == {"move": RuleState.ARMED, "level": RuleState.SNOOZED}
    assert rule_edits.states(snoozed, NOW + 3600) == {"move": RuleState.ARMED, "level": RuleState.ARMED}
    muted = rule_edits.mute_rule(snoozed, "move")
    assert rule_edits.states(muted, NOW)["move"] is RuleState.MUTED
    rearmed = rule_edits.rearm_rule(rule_edits.rearm_rule(muted, "move"), "level")
    assert rearmed.rules == s.rules
    assert [r.id for r in rearmed.rules] == ["move", "level"]
    deleted = rule_edits.delete_rule(rearmed, "move")
    assert [r.id for r in deleted.rules] == ["level"]


def test_an_unknown_id_changes_nothing() -> None:
    s = two_rules()
    for edited in (
        rule_edits.snooze_rule(s, "nope", NOW),
        rule_edits.mute_rule(s, "nope"),
        rule_edits.rearm_rule(s, "nope"),
        rule_edits.delete_rule(s, "nope"),
        rule_edits.replace_rule(s, "nope", MoveRule(pct=5.0)),
    ):
        assert edited is s


def test_replace_keeps_the_place_and_the_id() -> None:
    s = two_rules()
    new = rule_edits.replace_rule(s, "move", StepRule(pct=3.0, cooldown_s=600.0))
    assert [type(r).__name__ for r in new.rules] == ["StepRule", "LevelRule"]
    assert new.rules[0].id == "move"


def test_a_fired_once_rule_is_marked_spent_and_rearming_clears_it() -> None:
    s = two_rules()
    level = s.rules[1]
    spent = rule_edits.mark_fired(s, level, NOW)
    assert spent.rules[1].spent_at == NOW
    assert rule_edits.is_spent(spent, level)
    assert rule_edits.mark_fired(spent, level, NOW + 5) is spent  # spent once, at the first time
    assert rule_edits.mark_fired(s, s.rules[0], NOW) is s  # not a once rule
    rearmed = rule_edits.rearm_rule(spent, "level")
    assert rearmed.rules[1].spent_at is None
    assert not rule_edits.is_spent(rearmed, level)


def test_an_old_history_alert_finds_its_rule_by_value() -> None:
    s = two_rules()
    old = MoveRule(pct=2.0, window_s=300.0, cooldown_s=900.0)  # another id: kept before ids existed
    found = rule_edits.rule_for_alert(s, old)
    assert found is not None
    assert found.id == "move"
    assert rule_edits.rule_for_alert(s, MoveRule(pct=7.0)) is None


def test_rearm_clears_a_past_expiry_only_when_told_the_time() -> None:
    s = Settings(rules=(MoveRule(pct=2.0, id="m", expires_at=NOW - 1, enabled=False),))
    assert rule_edits.rearm_rule(s, "m").rules[0].expires_at == NOW - 1
    assert rule_edits.rearm_rule(s, "m", NOW).rules[0].expires_at is None
    future = Settings(rules=(MoveRule(pct=2.0, id="m", expires_at=NOW + 10),))
    assert rule_edits.rearm_rule(future, "m", NOW).rules[0].expires_at == NOW + 10


def test_snooze_refuses_a_bad_time() -> None:
    with pytest.raises(RuleError):
        rule_edits.snooze_rule(two_rules(), "move", float("inf"))


@pytest.mark.parametrize(
    ("price", "level"),
    [(91_234.56, 91_235.0), (0.159017, 0.15902), (3102.4, 3102.4), (0.000012345678, 0.000012346)],
)
def test_a_level_rule_at_the_current_price(price: float, level: float) -> None:
    rule = rule_edits.level_rule_at(BTC, price)
    assert rule.level == pytest.approx(level, rel=1e-12)
    assert rule.above
    assert rule.sub == BTC


def test_a_level_rule_needs_a_real_price() -> None:
    with pytest.raises(RuleError):
        rule_edits.level_rule_at(BTC, 0.0)


def test_duplicate_ids_in_settings_are_made_unique() -> None:
    s = Settings(rules=(MoveRule(pct=2.0, id="same"), MoveRule(pct=3.0, id="same")))
    assert s.rules[0].id == "same"
    assert s.rules[1].id != "same"


# --- the stored form ---


def test_every_rule_field_round_trips() -> None:
    for rule in (
        StepRule(pct=2.5, direction=MoveDirection.DOWN, cooldown_s=120.0, sub=ETH, id="s", sound=True),
        MoveRule(
            pct=1.0, id="m", enabled=False, snoozed_until=NOW, expires_at=NOW + 9, once=True, spent_at=NOW
        ),
        LevelRule(level=0.15902, above=False, id="l"),
    ):
        back = rule_from_json(json.loads(json.dumps(rule_to_json(rule))))
        assert back == rule
        assert back.id == rule.id
        assert type(back) is type(rule)


def test_an_old_file_without_ids_loads_gets_ids_and_writes_them_back() -> None:
    old = [{"kind": "move", "pct": 2.0, "window_s": 300.0}, {"kind": "level", "level": 95000, "above": True}]
    store = MemoryStore({"rules": json.dumps(old)})
    s, problems = load_settings(store)
    assert problems == ()
    ids = [r.id for r in s.rules]
    assert len(set(ids)) == 2
    assert all(r.enabled and not r.once and r.snoozed_until is None for r in s.rules)
    save_settings(store, s, previous=s)
    stored = json.loads(store.values["rules"])
    assert [r["id"] for r in stored] == ids
    again, _ = load_settings(store)
    assert [r.id for r in again.rules] == ids


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"kind": "move", "pct": 2.0, "enabled": "yes"}, "enabled is not true or false"),
        ({"kind": "move", "pct": 2.0, "id": 5}, "id is not a string"),
        ({"kind": "step"}, "pct is missing"),
        ({"kind": "move", "pct": 2.0, "snoozed_until": "soon"}, "snoozed_until is not a number"),
    ],
)
def test_bad_rule_fields_are_reported(bad: dict[str, object], why: str) -> None:
    s, problems = load_settings(MemoryStore({"rules": json.dumps([bad, {"kind": "move", "pct": 3.0}])}))
    assert [r.pct for r in s.rules] == [3.0]  # type: ignore[union-attr]
    assert [p.key for p in problems] == ["rules[0]"]
    assert why in problems[0].reason
