"""Acting on rules, offscreen: the Alerts tab's states, buttons and right-click menu, and the alert
history's actions on the rule that fired an entry (menu and keyboard)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView
from pytestqt.qtbot import QtBot

from ccdesk.core import rule_edits
from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule, Rule, StepRule
from ccdesk.core.api_key import KeyProvider
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.settings import Settings
from ccdesk.qt.alert_history import AlertHistoryModel, HistoryActions
from ccdesk.qt.settings_dialog import SettingsDialog
from ccdesk.qt.settings_dialog.alerts_tab import AlertsTab
from tests.pairs import BTC, ETH, SOL

NOW = 1_700_000_000.0
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
"""Written here (not committed); the README's copies, looked at, are in tests/e2e/screenshots."""


def hhmm(at: float) -> str:
    return datetime.datetime.fromtimestamp(at).strftime("%H:%M")


RULES: tuple[Rule, ...] = (
    MoveRule(pct=2.0, window_s=300.0, cooldown_s=900.0, id="armed"),
    LevelRule(level=95_000.0, above=True, cooldown_s=900.0, sub=BTC, id="snoozed", snoozed_until=NOW + 3600),
    StepRule(pct=2.0, direction=MoveDirection.UP, cooldown_s=600.0, sub=ETH, id="muted", enabled=False),
    MoveRule(pct=5.0, window_s=3600.0, cooldown_s=900.0, sub=SOL, id="expired", expires_at=NOW - 60),
    LevelRule(
        level=3_000.0, above=False, cooldown_s=900.0, sub=ETH, id="spent", once=True, spent_at=NOW - 600
    ),
)


@pytest.fixture
def tab(qtbot: QtBot) -> AlertsTab:
    prices = {BTC: (91_234.5, True), ETH: (3_102.25, True)}
    widget = AlertsTab(RULES, (BTC, ETH, SOL), price_of=prices.get, now=lambda: NOW)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def texts(tab: AlertsTab) -> list[str]:
    return [tab.rule_list.item(row).text() for row in range(tab.rule_list.count())]


def test_each_rule_says_its_state(tab: AlertsTab) -> None:
    assert [text.split(" \u2014 ", 1)[1] for text in texts(tab)] == [
        "armed",
        f"snoozed until {hhmm(NOW + 3600)}",
        "muted",
        f"expired {hhmm(NOW - 60)}",
        f"fired once at {hhmm(NOW - 600)} \u2014 re-arm?",
    ]
    assert texts(tab)[2].startswith("ETH/USD · CCCAGG: every further 2 % up (then quiet 10 min)")
    assert " · once \u2014 " in texts(tab)[4]


def test_rearm_and_mute_buttons_follow_the_state(tab: AlertsTab) -> None:
    tab.rule_list.setCurrentRow(0)
    assert (tab.rearm_button.isEnabled(), tab.mute_button.isEnabled()) == (False, True)
    tab.mute_button.click()
    assert texts(tab)[0].endswith(" \u2014 muted")
    assert (tab.rearm_button.isEnabled(), tab.mute_button.isEnabled()) == (True, False)
    for row in (0, 1, 3, 4):
        tab.rule_list.setCurrentRow(row)
        tab.rearm_button.click()
    assert [text.split(" \u2014 ", 1)[1] for text in texts(tab)] == [
        "armed",
        "armed",
        "muted",
        "armed",
        "armed",
    ]
    rules = {rule.id: rule for rule in tab.rules()}
    assert rules["spent"].spent_at is None
    assert rules["expired"].expires_at is None  # re-arming an expired rule clears the past expiry
    assert rules["snoozed"].snoozed_until is None
    assert [rule.id for rule in tab.rules()] == [rule.id for rule in RULES]  # same rules, same places


def test_new_rule_at_the_current_price_opens_the_editor_with_a_level_there(tab: AlertsTab) -> None:
    tab.rule_list.setCurrentRow(2)  # ETH's rule: a new rule for ETH
    tab.new_at_price_button.click()
    editor = tab.rule_editor
    assert editor is not None
    assert editor.windowTitle() == "New level alert"
    assert editor.sub() == ETH
    assert editor.level_edit.text() == "3102.2"  # 3,102.25 to five significant digits (banker's: .2)
    assert editor.price_label.text() == "Current price of ETH/USD · CCCAGG: 3,102.25"
    editor.accept()
    added = tab.rules()[-1]
    assert isinstance(added, LevelRule)
    assert (added.sub, added.level, added.above) == (ETH, 3102.2, True)


def test_the_right_click_menu_offers_the_buttons_actions(tab: AlertsTab) -> None:
    tab.rule_list.setCurrentRow(4)
    menu = tab.build_menu()
    entries = [(a.text(), a.isEnabled()) for a in menu.actions() if not a.isSeparator()]
    assert entries == [
        ("&Edit\u2026", True),
        ("Re-&arm", True),
        ("M&ute", False),
        ("&Remove", True),
        ("New at current &price\u2026", True),
        ("Add &move alert\u2026", True),
        ("Add le&vel alert\u2026", True),
    ]
    next(a for a in menu.actions() if a.text() == "Re-&arm").trigger()
    assert texts(tab)[4].endswith(" \u2014 armed")


def test_screenshot_of_the_alerts_tab(qtbot: QtBot) -> None:
    status = {KeyProvider.CRYPTOCOMPARE: ("No key yet", False), KeyProvider.COINDESK: ("No key yet", False)}
    settings = Settings(watchlist=(BTC, ETH, SOL), rules=RULES, source=Source.CRYPTOCOMPARE)
    dialog = SettingsDialog(settings, status, price_of={BTC: (91_234.5, True)}.get)
    qtbot.addWidget(dialog)
    dialog.resize(900, 560)
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.alerts_tab)
    dialog.alerts_tab._now = lambda: NOW  # the states as of the rules' fixed times
    dialog.alerts_tab.set_watchlist(settings.watchlist)
    dialog.alerts_tab.rule_list.setCurrentRow(4)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SCREENSHOTS / "alerts-tab.png"))


# --- the alert history's actions ---------------------------------------------------------------


def alert_for(rule: Rule, sub: Pair) -> Alert:
    return Alert(sub, rule, MoveDirection.UP, 2.1, 100.0, 102.1, 300.0, NOW)


class History:
    def __init__(self, qtbot: QtBot, settings: Settings) -> None:
        self.settings = settings
        self.model = AlertHistoryModel()
        self.view = QListView()
        self.view.setModel(self.model)
        qtbot.addWidget(self.view)
        self.actions = HistoryActions(self.view, self.model, self.rule_id_for)
        self.seen: list[tuple[str, object]] = []
        self.actions.rearm_requested.connect(lambda rid: self.seen.append(("rearm", rid)))
        self.actions.edit_requested.connect(lambda rid: self.seen.append(("edit", rid)))
        self.actions.delete_requested.connect(lambda rid: self.seen.append(("delete", rid)))
        self.actions.new_rule_requested.connect(lambda sub: self.seen.append(("new", sub)))

    def rule_id_for(self, rule: Rule) -> str | None:
        found = rule_edits.rule_for_alert(self.settings, rule)
        return None if found is None else found.id


def test_history_menu_acts_on_the_rule_that_fired(qtbot: QtBot) -> None:
    settings = Settings(watchlist=(BTC, ETH), rules=RULES)
    h = History(qtbot, settings)
    h.model.add(alert_for(RULES[4], ETH), paused=False)
    h.model.add(alert_for(MoveRule(pct=2.0, window_s=300.0, cooldown_s=900.0), BTC), paused=False)  # no id
    h.view.setCurrentIndex(h.model.index(1, 0))
    menu = h.actions.build_menu()
    items = [
        (a.text(), a.shortcut().toString(), a.isEnabled()) for a in menu.actions() if not a.isSeparator()
    ]
    assert items == [
        ("&Re-arm the rule", "Ctrl+R", True),
        ("&Edit the rule\u2026", "Ctrl+E", True),
        ("&Delete the rule", "Del", True),
        ("&New rule at the current price\u2026", "Ctrl+N", True),
    ]
    next(a for a in menu.actions() if a.text() == "&Edit the rule\u2026").trigger()
    assert h.seen == [("edit", "spent")]
    h.seen.clear()
    for action in (
        h.actions.rearm_action,
        h.actions.edit_action,
        h.actions.delete_action,
        h.actions.new_rule_action,
    ):
        action.trigger()
    assert h.seen == [("rearm", "spent"), ("edit", "spent"), ("delete", "spent"), ("new", ETH)]
    # An entry kept from before rules had ids finds its rule by value.
    h.seen.clear()
    h.view.setCurrentIndex(h.model.index(0, 0))
    h.actions.rearm_action.trigger()
    assert h.seen == [("rearm", "armed")]


def test_history_keyboard_shortcuts(qtbot: QtBot) -> None:
    h = History(qtbot, Settings(watchlist=(BTC, ETH), rules=RULES))
    h.model.add(alert_for(RULES[1], BTC), paused=False)
    h.view.show()
    h.view.setFocus()
    h.view.setCurrentIndex(h.model.index(0, 0))
    qtbot.waitUntil(h.view.hasFocus)
    qtbot.keyClick(h.view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(h.view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(h.view, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(h.view, Qt.Key.Key_Delete)
    assert h.seen == [("rearm", "snoozed"), ("edit", "snoozed"), ("new", BTC), ("delete", "snoozed")]


def test_history_entry_whose_rule_is_gone_offers_only_a_new_rule(qtbot: QtBot) -> None:
    h = History(qtbot, Settings(watchlist=(BTC,), rules=()))
    h.model.add(alert_for(RULES[1], BTC), paused=False)
    h.view.setCurrentIndex(h.model.index(0, 0))
    menu = h.actions.build_menu()
    visible = [(a.text(), a.isEnabled()) for a in menu.actions() if not a.isSeparator()]
    assert visible == [
        ("The rule that fired this alert no longer exists", False),
        ("&Re-arm the rule", False),
        ("&Edit the rule\u2026", False),
        ("&Delete the rule", False),
        ("&New rule at the current price\u2026", True),
    ]
    h.actions.rearm_action.trigger()  # the shortcut finds no rule: nothing
    assert h.seen == []
    next(a for a in menu.actions() if a.text() == "&New rule at the current price\u2026").trigger()
    assert h.seen == [("new", BTC)]


def test_screenshot_of_the_history_menu(qtbot: QtBot) -> None:
    h = History(qtbot, Settings(watchlist=(BTC, ETH), rules=RULES))
    h.model.add(alert_for(RULES[1], BTC), paused=False)
    h.view.setCurrentIndex(h.model.index(0, 0))
    menu = h.actions.build_menu()
    qtbot.addWidget(menu)
    menu.adjustSize()  # rendered without popping up: the offscreen platform cannot grab the keyboard
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert menu.grab().save(str(SCREENSHOTS / "history-menu.png"))


def test_the_editor_offers_the_portfolio_totals_and_a_rule_on_one_is_made(qtbot: QtBot) -> None:
    from ccdesk.core.pairs import portfolio_pair

    total = portfolio_pair("USD")
    # The controller's rule_price gives a total's value and whether it is complete.
    tab = AlertsTab(RULES, (BTC, ETH, SOL), price_of={total: (61_500.0, True)}.get, now=lambda: NOW)
    qtbot.addWidget(tab)
    tab.show()
    tab.set_portfolio_pairs([total])
    tab.add_move_button.click()
    editor = tab.rule_editor
    assert editor is not None
    offered = [editor.pair_combo.itemText(i) for i in range(editor.pair_combo.count())]
    assert offered[-1] == "Portfolio · USD"
    assert offered[:2] == ["All pairs", "BTC/USD · CCCAGG"]
    editor.pair_combo.setCurrentIndex(len(offered) - 1)
    editor.pct_box.setText("3")
    editor.accept()
    added = tab.rules()[-1]
    assert isinstance(added, MoveRule)
    assert (added.sub, added.pct) == (total, 3.0)
    row = texts(tab)[-1]
    assert row.startswith("Portfolio · USD: up or down 3 % within")
    assert "not in the watchlist" not in row  # a total is never in the watchlist, and needs not be
    tab.add_move_button.click()
    again = tab.rule_editor
    assert again is not None
    again.pair_combo.setCurrentIndex(len(offered) - 1)
    assert again.price_label.text() == "Value of Portfolio · USD now: 61,500.00"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert again.grab().save(str(SCREENSHOTS / "rule-editor-portfolio.png"))
