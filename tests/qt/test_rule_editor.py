"""The rule editor, offscreen: every bad number is said (never changed silently), the pair's current
price is shown, a far level is warned about, and the new fields (step, once, expiry, sound, enabled)
make the rule they say."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QDateTime
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule, Rule, StepRule
from ccdesk.core.pairs import Pair
from ccdesk.qt.settings_dialog.rule_editor import PriceLookup, RuleEditor, parse_number
from tests.pairs import BTC, ETH

NOW = 1_700_000_000.0
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
"""Written here (not committed); the README's copies, looked at, are in tests/e2e/screenshots."""


def prices(table: dict[Pair, tuple[float, bool]]) -> PriceLookup:
    return table.get


@pytest.fixture
def editor(qtbot: QtBot):
    def make(
        kind: type[Rule] = MoveRule,
        rule: Rule | None = None,
        price_of: PriceLookup | None = None,
        new: bool | None = None,
    ) -> RuleEditor:
        dialog = RuleEditor(kind, rule, (BTC, ETH), price_of=price_of, now=lambda: NOW, new=new)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def refused(dialog: RuleEditor) -> str:
    """OK pressed: the dialog must stay open with no rule; returns what it said."""
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.rule is None
    assert dialog.error_label.isVisible()
    return dialog.error_label.text()


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (
            "-5",
            "A move is a size without a sign: -5 % is not one. Type 5 and choose up or down under Direction.",
        ),
        ("100000", "The move can be at most 1000 %, not 100000 %."),
        ("0.01", "The move must be at least 0.1 %, not 0.01 %"),
        ("two", "\u201ctwo\u201d is not a number: type the move in percent, for example 2 or 0.5."),
        ("", "Enter the size of the move in percent, for example 2."),
    ],
)
def test_a_bad_move_size_is_said_and_left_as_typed(editor, typed: str, said: str) -> None:
    dialog = editor()
    dialog.pct_box.setText(typed)
    assert dialog.pct_message.isVisible()
    assert dialog.pct_message.text().startswith(said)  # said under the field as it is typed
    assert refused(dialog).startswith(said)
    assert dialog.pct_box.text() == typed  # nothing was changed behind the user's back


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("0", "The window must be at least 1 min, not 0 s."),
        ("0.1", "The window must be at least 1 min, not 6 s."),
        ("20000", "The window can be at most 7 d."),
    ],
)
def test_a_bad_window_is_said_not_replaced(editor, typed: str, said: str) -> None:
    dialog = editor()
    dialog.window_box.setText(typed)
    assert dialog.window_message.text() == said
    assert refused(dialog) == said
    assert dialog.window_box.text() == typed


def test_a_cooldown_of_zero_is_refused(editor) -> None:
    dialog = editor()
    dialog.cooldown_box.setText("0")
    assert refused(dialog) == "The quiet time must be at least 1 min, not 0 s."


def test_the_current_price_is_shown_and_follows_the_pair(editor) -> None:
    dialog = editor(LevelRule, price_of=prices({BTC: (91_234.5, True), ETH: (3_102.25, False)}))
    assert dialog.price_label.text() == "Current price of BTC/USD · CCCAGG: 91,234.50"
    dialog.pair_combo.setCurrentIndex(dialog.pair_choices.index(ETH))
    assert dialog.price_label.text() == "Last price of ETH/USD · CCCAGG: 3,102.25 (stale, not live now)"
    dialog.pair_combo.setCurrentIndex(0)
    assert dialog.price_label.text() == "Current price: choose a pair to see it."


def test_a_pair_without_a_price_says_so(editor) -> None:
    dialog = editor(LevelRule, price_of=prices({}))
    assert dialog.price_label.text() == "Current price of BTC/USD · CCCAGG: none yet."


def test_a_far_level_is_warned_about_once_then_kept(editor) -> None:
    dialog = editor(LevelRule, price_of=prices({BTC: (91_234.5, True)}))
    dialog.level_edit.setText("9123450")  # two digits too many
    assert (
        dialog.level_message.text()
        == "9,123,450.00 is 100 times the current price (91,234.50): a digit too many?"
    )
    assert refused(dialog) == (
        "9,123,450.00 is 100 times the current price (91,234.50): a digit too many? "
        "Press OK again to keep it."
    )
    dialog.accept()  # the user means it
    assert not dialog.isVisible()
    assert isinstance(dialog.rule, LevelRule)
    assert dialog.rule.level == 9_123_450.0


def test_a_level_far_below_is_warned_about_too(editor) -> None:
    dialog = editor(LevelRule, price_of=prices({BTC: (91_234.5, True)}))
    dialog.level_edit.setText("912")
    assert dialog.level_message.text() == "912.00 is 1/100 of the current price (91,234.50): a digit too few?"
    dialog.level_edit.setText("95000")
    assert not dialog.level_message.isVisible()
    dialog.accept()
    assert dialog.rule is not None


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("1e30", "The price level must be under 1,000,000,000,000,000."),
        ("-5", "The level must be a price above 0, not -5"),
        ("lots", "The price level must be a number, for example 100000 or 0.25."),
    ],
)
def test_an_absurd_level_is_refused(editor, typed: str, said: str) -> None:
    dialog = editor(LevelRule, price_of=prices({BTC: (91_234.5, True)}))
    dialog.level_edit.setText(typed)
    assert dialog.level_message.text() == said
    assert refused(dialog) == said


def test_a_level_is_shown_with_sane_formatting(editor) -> None:
    for level, shown in (
        (95_000.0, "95000"),
        (0.15902, "0.15902"),
        (1e14, "100000000000000"),
        (1e-10, "1e-10"),
    ):
        dialog = editor(LevelRule, LevelRule(level=level, above=True, sub=BTC))
        assert dialog.level_edit.text() == shown


def test_thousands_separators_and_units_are_read() -> None:
    assert parse_number("91,234.5") == 91_234.5
    assert parse_number(" 2 %", "%") == 2.0
    assert parse_number("1_000") == 1000.0
    assert parse_number("2 min", "%") is None
    assert parse_number("1,000,000") == 1_000_000.0


def test_a_decimal_comma_is_a_decimal_mark_never_a_dropped_separator() -> None:
    # Read as 5 and 936 before: a holding ten times too big, said nowhere.
    assert parse_number("0,5") == 0.5
    assert parse_number("93,6") == 93.6
    assert parse_number("0,5 %", "%") == 0.5
    assert parse_number("-1,25") == -1.25
    assert parse_number("0,500") == 0.5  # a group cannot start with 0: a decimal comma
    assert parse_number("1,000") == 1000.0  # whole groups: thousands, as the window shows prices
    for unreadable in ("1.000,5", "1,2,3", "91,23.5", ",", "1,,000"):
        assert parse_number(unreadable) is None, unreadable


def test_the_new_fields_make_the_rule_they_say(editor) -> None:
    dialog = editor()
    dialog.mode_combo.setCurrentIndex(1)  # every further step
    assert not dialog.window_box.isVisible()
    assert dialog.pct_label.text() == "&Step of:"
    dialog.pct_box.setText("2.5")
    dialog.direction_combo.setCurrentIndex(1)  # up
    dialog.cooldown_box.setText("2")
    dialog.once_combo.setCurrentIndex(1)
    dialog.sound_check.setChecked(True)
    dialog.enabled_check.setChecked(False)
    dialog.expires_check.setChecked(True)
    dialog.expires_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(NOW) + 86_400))
    dialog.accept()
    rule = dialog.rule
    assert isinstance(rule, StepRule)
    assert (rule.pct, rule.direction, rule.cooldown_s, rule.sub) == (2.5, MoveDirection.UP, 120.0, None)
    assert (rule.once, rule.sound, rule.enabled, rule.expires_at) == (True, True, False, NOW + 86_400)


def test_an_expiry_in_the_past_is_refused(editor) -> None:
    dialog = editor()
    dialog.expires_check.setChecked(True)
    dialog.expires_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(NOW) - 60))
    assert refused(dialog) == "The expiry is in the past: choose a later date, or untick Expires."


def test_editing_keeps_the_id_and_the_snooze(editor) -> None:
    rule = MoveRule(pct=2.0, window_s=300.0, cooldown_s=900.0, sub=ETH, id="keep", snoozed_until=NOW + 50)
    dialog = editor(MoveRule, rule)
    assert dialog.windowTitle() == "Edit move alert"
    dialog.pct_box.setText("3")
    dialog.accept()
    assert dialog.rule == MoveRule(pct=3.0, window_s=300.0, cooldown_s=900.0, sub=ETH, snoozed_until=NOW + 50)
    assert dialog.rule.id == "keep"


def test_a_template_opens_as_a_new_rule(editor) -> None:
    template = LevelRule(level=91_235.0, above=True, cooldown_s=900.0, sub=BTC)
    dialog = editor(LevelRule, template, price_of=prices({BTC: (91_234.5, True)}), new=True)
    assert dialog.windowTitle() == "New level alert"
    assert dialog.level_edit.text() == "91235"
    assert not dialog.level_message.isVisible()  # at the price: no warning


def test_screenshot_of_the_rule_editor(editor) -> None:
    dialog = editor(LevelRule, price_of=prices({BTC: (91_234.5, True)}))
    dialog.level_edit.setText("9123450")
    dialog.cooldown_box.setText("0")
    dialog.accept()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SCREENSHOTS / "rule-editor.png"))


@pytest.mark.parametrize("kind", [MoveRule, LevelRule])
def test_the_editor_is_the_only_window_it_shows(editor, kind) -> None:
    from PySide6.QtWidgets import QApplication

    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    dialog = editor(kind)
    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in before]
    # A level editor once showed its unused "Within:" label and field as frameless windows at 0,0.
    assert shown == [dialog], [type(w).__name__ for w in shown]
