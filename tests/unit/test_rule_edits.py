"""Tests for ccdesk.core.rule_edits (pure edits by rule id) and the rule fields' stored form."""

from __future__ import annotations

import json

import pytest

from ccdesk.core import rule_edits
from ccdesk.core.alerts import (
    LevelRule,
    MoveDirection,
    MoveRule,
    RuleError,
    RuleState,
    StepRule,
    check_minimums,
    raise_to_minimums,
)
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import (
    MemoryStore,
    SettingsProblem,
    load_settings,
    rule_from_json,
    rule_to_json,
    save_settings,
)
from ccdesk.wording import settings_notice_text
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


# --- the minimums ---


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (MoveRule(pct=0.01, window_s=6.0, cooldown_s=0.0), "the move must be at least 0.1 %, not 0.01 %"),
        (MoveRule(pct=1.0, window_s=6.0, cooldown_s=60.0), "the window must be at least 60 s, not 6 s"),
        (
            LevelRule(level=5.0, above=True, cooldown_s=0.0),
            "the quiet time after an alert must be at least 60 s",
        ),
        (StepRule(pct=0.05, cooldown_s=600.0), "the step must be at least 0.1 %, not 0.05 %"),
    ],
)
def test_rules_below_the_minimums_are_refused_in_words(rule: object, words: str) -> None:
    s = two_rules()
    with pytest.raises(RuleError, match=words):
        rule_edits.add_rule(s, rule)  # type: ignore[arg-type]
    with pytest.raises(RuleError, match=words):
        rule_edits.replace_rule(s, "move", rule)  # type: ignore[arg-type]


def test_the_flood_rule_of_the_issue_is_impossible_to_keep() -> None:
    flood = MoveRule(pct=0.01, window_s=6.0, cooldown_s=0.0)
    raised, said = raise_to_minimums(flood)
    assert (raised.pct, raised.window_s, raised.cooldown_s) == (0.1, 60.0, 60.0)  # type: ignore[union-attr]
    assert said == (
        "move 0.01 % raised to 0.1 %",
        "window 6 s raised to 60 s",
        "quiet time after an alert 0 s raised to 60 s",
    )
    check_minimums(raised)  # passes now
    assert raised.id == flood.id


def test_an_old_file_below_the_minimums_is_corrected_said_and_written_back() -> None:
    rules = [
        {"kind": "move", "pct": 2.0, "window_s": 300.0, "cooldown_s": 900.0, "id": "fine"},
        {"kind": "move", "pct": 0.01, "window_s": 6.0, "cooldown_s": 0.0, "id": "flood"},
    ]
    store = MemoryStore({"rules": json.dumps(rules)})
    s, problems = load_settings(store)
    assert [(r.id, r.pct, r.window_s, r.cooldown_s) for r in s.rules] == [  # type: ignore[union-attr]
        ("fine", 2.0, 300.0, 900.0),
        ("flood", 0.1, 60.0, 60.0),
    ]
    assert problems == (
        SettingsProblem(
            "rules",
            "rule 2: move 0.01 % raised to 0.1 %, window 6 s raised to 60 s, "
            "quiet time after an alert 0 s raised to 60 s",
            corrected=True,
        ),
    )
    text = settings_notice_text((), problems)
    assert text is not None
    assert "were raised to them: rule 2: move 0.01 % raised to 0.1 %" in text
    assert "reset to their defaults" not in text
    # The corrected rule is what is in use; a save writes it (the user was told), unlike unreadable text.
    save_settings(store, s, previous=s)
    again, problems_again = load_settings(store)
    assert problems_again == ()
    assert again.rules == s.rules


def test_accepting_the_dialog_keeps_what_happened_to_untouched_rules_meanwhile() -> None:
    a = MoveRule(pct=2.0, cooldown_s=900.0, id="a", once=True)
    b = LevelRule(level=5.0, above=True, cooldown_s=600.0, id="b")
    c = StepRule(pct=1.0, cooldown_s=600.0, id="c")
    opened = (a, b, c)
    # Meanwhile: a fired (spent), b was snoozed from a notification, c was deleted from the history.
    current = (
        MoveRule(pct=2.0, cooldown_s=900.0, id="a", once=True, spent_at=NOW),
        LevelRule(level=5.0, above=True, cooldown_s=600.0, id="b", snoozed_until=NOW + 3600),
    )
    # In the dialog the user changed b's level and added d; a and c untouched.
    d = MoveRule(pct=3.0, cooldown_s=900.0, id="d")
    edited = (a, LevelRule(level=6.0, above=True, cooldown_s=600.0, id="b"), c, d)
    merged = rule_edits.merge_dialog_rules(opened, edited, current)
    assert [r.id for r in merged] == ["a", "b", "d"]
    assert merged[0].spent_at == NOW  # not re-armed behind the user's back
    assert merged[1].level == 6.0  # the user's edit wins  # type: ignore[union-attr]
    assert merged[1].snoozed_until is None


def test_two_flood_rules_that_become_the_same_when_raised_are_kept_once_and_said() -> None:
    rules = [
        {"kind": "move", "pct": 0.01, "window_s": 60.0, "cooldown_s": 60.0},
        {"kind": "move", "pct": 0.02, "window_s": 60.0, "cooldown_s": 60.0},
    ]
    s, problems = load_settings(MemoryStore({"rules": json.dumps(rules)}))
    assert [(r.pct, r.window_s) for r in s.rules] == [(0.1, 60.0)]  # type: ignore[union-attr]
    assert [p.reason for p in problems] == [
        "rule 1: move 0.01 % raised to 0.1 %",
        "rule 2: move 0.02 % raised to 0.1 %; it is then the same as another rule, so it was dropped",
    ]
