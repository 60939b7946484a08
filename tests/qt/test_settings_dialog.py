"""The Settings dialog, offscreen: what each tab produces on OK, inline validation, the key check."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule
from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.identity import COINDESK_KEYS_URL, KEYS_URL
from ccdesk.core.pairs import Source, aggregate, parse_pair
from ccdesk.core.settings import DEFAULT_RULES, Settings
from ccdesk.qt.settings_dialog import (
    PAUSE_OFF,
    PAUSE_UNTIL_RESUMED,
    PAUSE_UNTIL_TIME,
    RuleEditor,
    SettingsDialog,
)
from ccdesk.wording import describe_rule
from tests.pairs import BTC, ETH, ETH_COINBASE, SOL

KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
XRP, DOGE = aggregate("XRP", "USD"), aggregate("DOGE", "USD")
TAB_KEY, TAB_WATCHLIST, TAB_ALERTS, TAB_GENERAL = range(4)
# A CryptoCompare user's settings (as ccdesk 0.1 made them): the pairs of tests.pairs.
CC_SETTINGS = Settings(watchlist=(BTC, ETH, SOL, XRP, DOGE), source=Source.CRYPTOCOMPARE)


class Recorder:
    """Everything the dialog emitted, in order."""

    def __init__(self, dialog: SettingsDialog) -> None:
        self.events: list[tuple[str, object]] = []
        dialog.verify_requested.connect(lambda provider, key: self.events.append(("verify", (provider, key))))
        dialog.key_entered.connect(lambda provider, key: self.events.append(("key", (provider, key))))
        dialog.key_removed.connect(lambda provider: self.events.append(("removed", provider)))
        dialog.settings_accepted.connect(lambda s: self.events.append(("settings", s)))

    def settings(self) -> Settings:
        found = [value for name, value in self.events if name == "settings"]
        assert len(found) == 1, self.events
        assert isinstance(found[0], Settings)
        return found[0]


@pytest.fixture
def make(qtbot: QtBot):
    def make(settings: Settings | None = None, key_status: str = "No key yet", notes=None, removable=False):
        status = {
            KeyProvider.CRYPTOCOMPARE: (key_status, removable),
            KeyProvider.COINDESK: ("No CoinDesk Data key yet", False),
        }
        dialog = SettingsDialog(settings or CC_SETTINGS, status, notes=notes)
        qtbot.addWidget(dialog)
        return dialog, Recorder(dialog)

    return make


def add(dialog: SettingsDialog, text: str, source: Source | None = None) -> bool:
    tab = dialog.watchlist_tab
    if source is not None:
        tab.source_combo.setCurrentIndex(tab.source_combo.findData(source))
    tab.pair_edit.setText(text)
    return tab.add_pair()


def select_pair(dialog: SettingsDialog, sub) -> None:
    for row in range(dialog.watchlist_tab.watch_list.count()):
        if dialog.watchlist_tab.watch_list.item(row).toolTip() == str(sub):
            dialog.watchlist_tab.watch_list.setCurrentRow(row)
            return
    raise AssertionError(f"{sub} not listed")


def listed_pairs(dialog: SettingsDialog) -> list[str]:
    return [
        dialog.watchlist_tab.watch_list.item(row).text()
        for row in range(dialog.watchlist_tab.watch_list.count())
    ]


# --- OK and Cancel ---


def test_ok_without_changes_gives_the_same_settings(make):
    s = Settings(stream_url="wss://stream.example/v2", rest_url="https://rest.example", webhook_url=None)
    dialog, rec = make(s)
    dialog.accept()
    assert rec.events == [("settings", s)]
    assert dialog.result() == SettingsDialog.DialogCode.Accepted


def test_cancel_emits_nothing(make, qtbot):
    dialog, rec = make()
    dialog.key_tab.cryptocompare.key_edit.setText(KEY)
    add(dialog, "ADA", "USD")
    with qtbot.waitSignal(dialog.rejected):
        dialog.buttons.button(dialog.buttons.StandardButton.Cancel).click()
    assert rec.events == []


# --- watchlist ---


def test_invalid_pair_shows_the_reason_and_adds_nothing(make):
    dialog, rec = make()
    before = listed_pairs(dialog)
    tab = dialog.watchlist_tab
    assert not add(dialog, "BTC")
    assert not tab.pair_error_label.isHidden()
    assert tab.pair_error_label.text().startswith("'BTC' is not a pair: write BASE-QUOTE (BTC-USD)")
    assert not add(dialog, "B$C-USD")
    assert tab.pair_error_label.text() == "'B$C-USD': base symbol 'B$C' must be 1-20 letters or digits"
    assert not add(dialog, "ETH USD Nasdaq")
    assert "'Nasdaq' is neither a source" in tab.pair_error_label.text()
    assert not add(dialog, "btc/usd", Source.CRYPTOCOMPARE)
    assert tab.pair_error_label.text() == "BTC/USD is already in the watchlist."
    assert listed_pairs(dialog) == before
    assert tab.pair_edit.text() == "btc/usd"  # kept for correcting
    tab.pair_edit.setText("bt")
    tab.pair_edit.textEdited.emit("bt")  # typing clears the message
    assert tab.pair_error_label.isHidden()
    dialog.accept()
    assert rec.settings().watchlist == CC_SETTINGS.watchlist


def test_pairs_are_added_in_any_form_from_the_source_picked(make):
    dialog, rec = make()
    assert add(dialog, "ada/eur", Source.CRYPTOCOMPARE)  # CryptoCompare's aggregate
    assert add(dialog, "ETH USD Bitstamp")  # an exchange on CryptoCompare: its ticker
    assert add(dialog, "btc usd", Source.KRAKEN)
    assert add(dialog, "okx:btc-usdt")  # a source named in the text wins over the one picked
    assert add(dialog, "xbt-eur")  # Kraken's old name for bitcoin (Kraken is still picked)
    assert add(dialog, "sol-usd", Source.COMPOSITE)
    assert dialog.watchlist_tab.pair_edit.text() == ""
    assert listed_pairs(dialog)[-6:] == [
        "ADA/EUR · CCCAGG on CryptoCompare",
        "ETH/USD · Bitstamp on CryptoCompare",
        "BTC/USD · Kraken",
        "BTC/USDT · OKX",
        "BTC/EUR · Kraken",
        "SOL/USD · composite",
    ]
    dialog.accept()
    s = rec.settings()
    assert [str(p) for p in s.watchlist[5:]] == [
        "5~CCCAGG~ADA~EUR",
        "2~Bitstamp~ETH~USD",
        "kraken:BTC-USD",
        "okx:BTC-USDT",
        "kraken:BTC-EUR",
        "composite:SOL-USD",
    ]
    assert s.source is Source.COMPOSITE  # the last pick is remembered


def test_the_sources_are_offered_keyless_first():
    from ccdesk.wording import PICKABLE_SOURCES, source_choice_text

    texts = [source_choice_text(s) for s in PICKABLE_SOURCES]
    assert texts[0] == "Kraken (no key needed)"
    assert texts[4] == "Composite of keyless venues (no key needed)"
    assert texts[-2:] == ["CoinDesk (needs your API key)", "CryptoCompare (needs your API key)"]


def test_refused_pairs_show_what_the_source_said(make):
    refused = parse_pair("kraken:ABC-USD")
    settings = Settings(watchlist=(refused,))
    dialog, _ = make(settings, notes={refused: "not available: Kraken does not list ABC/USD"})
    assert listed_pairs(dialog)[0].startswith(
        "ABC/USD · Kraken  — not available: Kraken does not list ABC/USD"
    )


def test_composite_venues_are_chosen_and_one_always_stays(make):
    dialog, rec = make(Settings())
    checks = dialog.watchlist_tab.venue_checks
    for venue in (Source.COINBASE, Source.BINANCE, Source.OKX):
        checks[venue].setChecked(False)
    assert not checks[Source.KRAKEN].isEnabled()  # the last one cannot be unchecked
    checks[Source.OKX].setChecked(True)
    assert checks[Source.KRAKEN].isEnabled()
    dialog.accept()
    assert rec.settings().composite_venues == (Source.KRAKEN, Source.OKX)


def test_add_remove_reorder_pin_produce_the_expected_settings(make):
    dialog, rec = make()
    assert add(dialog, "ada-eur", Source.CRYPTOCOMPARE)
    assert add(dialog, "2~Coinbase~ETH~USD")
    assert add(dialog, "eth usd coinbase")  # a source's name: Coinbase's own feed (no key needed)
    select_pair(dialog, XRP)
    dialog.watchlist_tab.remove_button.click()
    select_pair(dialog, DOGE)
    dialog.watchlist_tab.up_button.click()
    dialog.watchlist_tab.up_button.click()
    select_pair(dialog, BTC)
    dialog.watchlist_tab.down_button.click()
    select_pair(dialog, ETH_COINBASE)
    dialog.watchlist_tab.pin_button.click()
    assert not dialog.watchlist_tab.pin_button.isEnabled()  # already pinned
    assert "ETH/USD · Coinbase on CryptoCompare    (shown in tray)" in listed_pairs(dialog)
    dialog.accept()
    s = rec.settings()
    coinbase = parse_pair("coinbase:ETH-USD")
    assert s.watchlist == (DOGE, BTC, ETH, SOL, aggregate("ADA", "EUR"), ETH_COINBASE, coinbase)
    assert s.pinned == ETH_COINBASE
    assert s.rules == DEFAULT_RULES


def test_enter_in_the_add_row_adds_and_keeps_the_dialog_open(make, qtbot):
    dialog, rec = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.tabs.setCurrentIndex(TAB_WATCHLIST)
    qtbot.keyClicks(dialog.watchlist_tab.pair_edit, "ltc btc")
    qtbot.keyClick(dialog.watchlist_tab.pair_edit, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert rec.events == []
    assert listed_pairs(dialog)[-1] == "LTC/BTC · CCCAGG on CryptoCompare"
    # empty field: a message, still open
    qtbot.keyClick(dialog.watchlist_tab.pair_edit, Qt.Key.Key_Enter)
    assert dialog.isVisible()
    assert dialog.watchlist_tab.pair_error_label.text().startswith("empty pair")


def test_removing_the_pinned_pair_pins_the_first(make):
    dialog, rec = make()
    select_pair(dialog, BTC)
    dialog.watchlist_tab.remove_button.click()
    dialog.accept()
    assert rec.settings().pinned == ETH


def test_removing_everything_and_adding_again(make):
    dialog, rec = make()
    for _ in range(5):
        dialog.watchlist_tab.watch_list.setCurrentRow(0)
        dialog.watchlist_tab.remove_button.click()
    assert not dialog.watchlist_tab.remove_button.isEnabled()
    assert not dialog.watchlist_tab.up_button.isEnabled()
    assert add(dialog, "SOL-EUR")
    dialog.accept()
    s = rec.settings()
    assert (s.watchlist, s.pinned) == ((aggregate("SOL", "EUR"),), aggregate("SOL", "EUR"))


def test_move_buttons_are_disabled_at_the_ends(make):
    dialog, _ = make()
    dialog.watchlist_tab.watch_list.setCurrentRow(0)
    assert (dialog.watchlist_tab.up_button.isEnabled(), dialog.watchlist_tab.down_button.isEnabled()) == (
        False,
        True,
    )
    dialog.watchlist_tab.watch_list.setCurrentRow(4)
    assert (dialog.watchlist_tab.up_button.isEnabled(), dialog.watchlist_tab.down_button.isEnabled()) == (
        True,
        False,
    )


# --- API key ---


def test_verify_emits_the_typed_key(make, qtbot):
    dialog, rec = make()
    assert not dialog.key_tab.cryptocompare.verify_button.isEnabled()  # nothing typed
    assert dialog.key_tab.cryptocompare.key_edit.echoMode() is QLineEdit.EchoMode.Password
    dialog.key_tab.cryptocompare.key_edit.setText(f"  {KEY}\n")
    with qtbot.waitSignal(dialog.verify_requested) as blocker:
        dialog.key_tab.cryptocompare.verify_button.click()
    assert blocker.args == [KeyProvider.CRYPTOCOMPARE, ApiKey(KEY)]
    assert not dialog.key_tab.cryptocompare.verify_button.isEnabled()  # until the result comes
    assert (
        dialog.key_tab.cryptocompare.verify_result_label.text() == "Checking the key with CryptoCompare\u2026"
    )
    dialog.show_verify_result(
        KeyProvider.CRYPTOCOMPARE, "The API key works: CryptoCompare accepted it and answered.", True
    )
    assert (
        dialog.key_tab.cryptocompare.verify_result_label.text()
        == "The API key works: CryptoCompare accepted it and answered."
    )
    assert not dialog.key_tab.cryptocompare.verify_result_label.isHidden()
    assert dialog.key_tab.cryptocompare.verify_button.isEnabled()
    dialog.show_verify_result(KeyProvider.CRYPTOCOMPARE, "CryptoCompare refused the API key.", False)
    assert dialog.key_tab.cryptocompare.verify_result_label.text() == "CryptoCompare refused the API key."
    assert rec.events == [("verify", (KeyProvider.CRYPTOCOMPARE, ApiKey(KEY)))]


def test_verify_refuses_an_invalid_key_inline(make):
    dialog, rec = make()
    dialog.key_tab.cryptocompare.key_edit.setText("abc def")
    dialog.key_tab.cryptocompare.verify_button.click()
    assert rec.events == []
    assert dialog.key_tab.cryptocompare.key_error_label.text().startswith(
        "The API key contains a space at position 4"
    )
    assert "abc" not in dialog.key_tab.cryptocompare.key_error_label.text()
    dialog.key_tab.cryptocompare.key_edit.setText(KEY)  # editing clears the message
    assert dialog.key_tab.cryptocompare.key_error_label.isHidden()


def test_show_toggle_reveals_and_hides_the_key(make):
    dialog, _ = make()
    dialog.key_tab.cryptocompare.show_key_button.click()
    assert dialog.key_tab.cryptocompare.key_edit.echoMode() is QLineEdit.EchoMode.Normal
    assert dialog.key_tab.cryptocompare.show_key_button.text() == "Hide"
    dialog.key_tab.cryptocompare.show_key_button.click()
    assert dialog.key_tab.cryptocompare.key_edit.echoMode() is QLineEdit.EchoMode.Password


def test_ok_with_a_typed_key_emits_it_before_the_settings(make):
    dialog, rec = make()
    dialog.key_tab.cryptocompare.key_edit.setText(KEY)
    dialog.accept()
    assert [name for name, _ in rec.events] == ["key", "settings"]
    assert rec.events[0][1] == (KeyProvider.CRYPTOCOMPARE, ApiKey(KEY))


def test_ok_with_an_invalid_key_stays_open_on_the_key_tab(make, qtbot):
    dialog, rec = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.tabs.setCurrentIndex(TAB_GENERAL)
    dialog.key_tab.cryptocompare.key_edit.setText("\u00e9" * 40)
    dialog.accept()
    assert dialog.isVisible()
    assert rec.events == []
    assert dialog.tabs.currentIndex() == TAB_KEY
    assert dialog.key_tab.cryptocompare.key_error_label.isVisible()


def test_the_key_never_reaches_a_log_or_a_label(make, caplog):
    dialog, rec = make(key_status="A key is stored in the keyring (ab\u2026yz)")
    with caplog.at_level(logging.DEBUG):
        dialog.key_tab.cryptocompare.key_edit.setText(KEY)
        dialog.key_tab.cryptocompare.verify_button.click()
        dialog.accept()
    assert len(rec.events) == 3
    assert KEY not in caplog.text
    assert KEY[:12] not in repr(rec.events)
    assert all(KEY not in label.text() for label in dialog.findChildren(QLabel))


def test_key_tab_texts(make):
    dialog, _ = make(key_status="Keyring unavailable: no secure keyring is available")
    assert (
        dialog.key_tab.cryptocompare.key_status_label.text()
        == "Keyring unavailable: no secure keyring is available"
    )
    dialog.set_key_status(KeyProvider.CRYPTOCOMPARE, "The key ab\u2026yz is stored in the keyring.", True)
    assert (
        dialog.key_tab.cryptocompare.key_status_label.text() == "The key ab\u2026yz is stored in the keyring."
    )
    links = [label.text() for label in dialog.findChildren(QLabel) if "href" in label.text()]
    assert len(links) == 2
    assert f'href="{KEYS_URL}"' in links[0]
    assert f'href="{COINDESK_KEYS_URL}"' in links[1]
    assert not any("free key" in text for text in links)  # CryptoCompare retired its free tier


def test_each_provider_has_its_own_key_box(make, qtbot):
    dialog, rec = make()
    box = dialog.key_tab.coindesk
    assert box.title() == "CoinDesk Data key"
    assert box.key_status_label.text() == "No CoinDesk Data key yet"
    box.key_edit.setText(KEY)
    with qtbot.waitSignal(dialog.verify_requested) as blocker:
        box.verify_button.click()
    assert blocker.args == [KeyProvider.COINDESK, ApiKey(KEY)]
    assert box.verify_result_label.text() == "Checking the key with CoinDesk Data\u2026"
    assert dialog.key_tab.cryptocompare.verify_result_label.isHidden()
    dialog.show_verify_result(KeyProvider.COINDESK, "The API key works.", True)
    dialog.accept()
    assert [name for name, _ in rec.events] == ["verify", "key", "settings"]
    assert rec.events[1][1] == (KeyProvider.COINDESK, ApiKey(KEY))


def test_a_key_that_failed_its_check_is_stored_only_on_a_second_ok(make, qtbot):
    dialog, rec = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    box = dialog.key_tab.cryptocompare
    box.key_edit.setText(KEY)
    box.verify_button.click()
    dialog.show_verify_result(KeyProvider.CRYPTOCOMPARE, "CryptoCompare refused the API key.", False)
    dialog.tabs.setCurrentIndex(TAB_GENERAL)
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.tabs.currentIndex() == TAB_KEY
    assert box.key_error_label.text() == (
        "This key did not pass its check with CryptoCompare. Press OK again to store it anyway."
    )
    assert [name for name, _ in rec.events] == ["verify"]
    dialog.accept()
    assert [name for name, _ in rec.events] == ["verify", "key", "settings"]


def test_editing_a_refused_key_needs_no_confirmation(make):
    dialog, rec = make()
    box = dialog.key_tab.cryptocompare
    box.key_edit.setText(KEY)
    box.verify_button.click()
    dialog.show_verify_result(KeyProvider.CRYPTOCOMPARE, "CryptoCompare refused the API key.", False)
    box.key_edit.setText(KEY[::-1])  # another key: not the one that was refused
    dialog.accept()
    assert [name for name, _ in rec.events] == ["verify", "key", "settings"]


def test_remove_is_offered_for_a_key_in_the_keyring_and_happens_on_ok(make):
    dialog, rec = make(key_status="Using the key ab\u2026yz from the keyring.", removable=True)
    box = dialog.key_tab.cryptocompare
    assert not box.remove_button.isHidden()
    assert dialog.key_tab.coindesk.remove_button.isHidden()  # nothing of its own stored
    box.remove_button.click()
    assert box.key_status_label.text() == "Removed from the keyring when you press OK."
    assert box.remove_button.text() == "&Keep"
    box.remove_button.click()  # changed their mind
    assert box.key_status_label.text() == "Using the key ab\u2026yz from the keyring."
    box.remove_button.click()
    dialog.accept()
    assert rec.events[0] == ("removed", KeyProvider.CRYPTOCOMPARE)
    assert [name for name, _ in rec.events] == ["removed", "settings"]


def test_cancel_removes_nothing(make):
    dialog, rec = make(key_status="Using the key ab\u2026yz from the keyring.", removable=True)
    dialog.key_tab.cryptocompare.remove_button.click()
    dialog.reject()
    assert rec.events == []


# --- general ---


def test_general_options(make):
    dialog, rec = make()
    dialog.general_tab.stale_box.setValue(120)
    dialog.general_tab.autostart_check.setChecked(True)
    dialog.general_tab.demo_check.setChecked(True)
    dialog.general_tab.on_top_check.setChecked(True)
    dialog.general_tab.webhook_edit.setText("  https://hooks.example.com/alert?x=1  ")
    dialog.general_tab.pause_combo.setCurrentIndex(PAUSE_UNTIL_RESUMED)
    dialog.accept()
    assert rec.settings() == dataclasses.replace(
        CC_SETTINGS,
        stale_after_s=120.0,
        autostart=True,
        demo=True,
        always_on_top=True,
        webhook_url="https://hooks.example.com/alert?x=1",
        alerts_paused_until=math.inf,
    )


def test_general_options_start_from_the_settings(make):
    s = Settings(stale_after_s=300.0, autostart=True, always_on_top=True, webhook_url="http://127.0.0.1:9/h")
    dialog, _ = make(s)
    assert dialog.general_tab.stale_box.value() == 300
    assert dialog.general_tab.stale_box.minimum() == 5
    assert dialog.general_tab.stale_box.maximum() == 3600
    assert (dialog.general_tab.autostart_check.isChecked(), dialog.general_tab.demo_check.isChecked()) == (
        True,
        False,
    )
    assert dialog.general_tab.on_top_check.isChecked()
    assert dialog.general_tab.webhook_edit.text() == "http://127.0.0.1:9/h"
    assert dialog.general_tab.pause_combo.currentIndex() == PAUSE_OFF
    assert not dialog.general_tab.pause_until_edit.isEnabled()


def test_tray_price_options(make):
    dialog, rec = make(dataclasses.replace(CC_SETTINGS, tray_cycle_s=10.0))
    tab = dialog.general_tab
    assert tab.tray_price_check.isChecked()
    assert tab.tray_cycle_box.value() == 10
    assert tab.tray_cycle_box.isEnabled()
    tab.tray_cycle_box.setValue(1)  # below the shortest cycle: the shortest
    dialog.accept()
    assert (rec.settings().tray_price, rec.settings().tray_cycle_s) == (True, 2.0)

    dialog, rec = make(CC_SETTINGS)
    tab = dialog.general_tab
    assert tab.tray_cycle_box.text() == "off"
    tab.tray_price_check.setChecked(False)
    assert not tab.tray_cycle_box.isEnabled()  # cycling is for the price in the icon
    dialog.accept()
    assert (rec.settings().tray_price, rec.settings().tray_cycle_s) == (False, 0.0)


@pytest.mark.parametrize("bad", ["hooks.example.com", "ftp://example.com/x", "https://", "http://a b.com"])
def test_invalid_webhook_keeps_the_dialog_open(make, qtbot, bad):
    dialog, rec = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.general_tab.webhook_edit.setText(bad)
    dialog.accept()
    assert dialog.isVisible()
    assert rec.events == []
    assert dialog.tabs.currentIndex() == TAB_GENERAL
    assert dialog.general_tab.webhook_error_label.text().startswith("The webhook URL")
    dialog.general_tab.webhook_edit.clear()  # blank: no webhook
    dialog.accept()
    assert rec.settings().webhook_url is None


def test_pause_until_a_time(make, qtbot):
    dialog, rec = make()
    dialog.general_tab.pause_combo.setCurrentIndex(PAUSE_UNTIL_TIME)
    assert dialog.general_tab.pause_until_edit.isEnabled()
    when = QDateTime.currentDateTime().addSecs(2 * 3600)
    dialog.general_tab.pause_until_edit.setDateTime(when)
    dialog.accept()
    expected = dialog.general_tab.pause_until_edit.dateTime().toSecsSinceEpoch()  # minutes precision
    assert rec.settings().alerts_paused_until == float(expected)


def test_pause_in_the_past_is_refused(make, qtbot):
    dialog, rec = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.general_tab.pause_combo.setCurrentIndex(PAUSE_UNTIL_TIME)
    dialog.general_tab.pause_until_edit.setDateTime(QDateTime.currentDateTime().addSecs(-3600))
    dialog.accept()
    assert dialog.isVisible()
    assert rec.events == []
    assert dialog.general_tab.pause_error_label.text() == "Pick a time in the future to pause alerts until."


def test_an_unchanged_pause_keeps_its_exact_time(make):
    until = QDateTime.currentDateTime().addDays(1).toSecsSinceEpoch() + 0.5
    dialog, rec = make(Settings(alerts_paused_until=until))
    assert dialog.general_tab.pause_combo.currentIndex() == PAUSE_UNTIL_TIME
    dialog.accept()
    assert rec.settings().alerts_paused_until == until


def test_a_pause_that_has_ended_shows_alerts_on(make):
    dialog, rec = make(Settings(alerts_paused_until=1_000_000.0))
    assert dialog.general_tab.pause_combo.currentIndex() == PAUSE_OFF
    dialog.accept()
    assert rec.settings().alerts_paused_until is None


def test_paused_until_resumed_starts_selected(make):
    dialog, rec = make(Settings(alerts_paused_until=math.inf))
    assert dialog.general_tab.pause_combo.currentIndex() == PAUSE_UNTIL_RESUMED
    dialog.general_tab.pause_combo.setCurrentIndex(PAUSE_OFF)
    dialog.accept()
    assert rec.settings().alerts_paused_until is None


# --- alert rules ---


def rule_texts(dialog: SettingsDialog) -> list[str]:
    """The rules as listed, without their state (every rule here is armed: said, and checked)."""
    texts = [
        dialog.alerts_tab.rule_list.item(row).text() for row in range(dialog.alerts_tab.rule_list.count())
    ]
    assert all(text.endswith(" \u2014 armed") for text in texts), texts
    return [text.removesuffix(" \u2014 armed") for text in texts]


def test_rules_are_listed_in_words(make):
    dialog, _ = make(
        dataclasses.replace(
            CC_SETTINGS, rules=(*DEFAULT_RULES, LevelRule(level=100000.0, above=True, sub=BTC))
        )
    )
    assert rule_texts(dialog) == [
        "All pairs: up or down 2 % within 5 min (then quiet 15 min)",
        "BTC/USD · CCCAGG: rises to 100,000.00 or above (then quiet 10 min)",
    ]


def test_add_a_move_rule(make):
    dialog, rec = make()
    dialog.alerts_tab.add_move_button.click()
    editor = dialog.alerts_tab.rule_editor
    assert isinstance(editor, RuleEditor)
    assert editor.isVisible()
    assert editor.pct_box.value() == 2.0  # sensible defaults
    editor.pair_combo.setCurrentIndex(editor.pair_choices.index(ETH))
    editor.pct_box.setValue(5.5)
    editor.direction_combo.setCurrentIndex(2)  # down
    editor.window_box.setValue(60.0)
    editor.cooldown_box.setValue(30.0)
    editor.accept()
    assert dialog.alerts_tab.rule_editor is None
    assert rule_texts(dialog)[-1] == "ETH/USD · CCCAGG: down 5.5 % within 1 h (then quiet 30 min)"
    dialog.accept()
    assert rec.settings().rules == (
        *DEFAULT_RULES,
        MoveRule(pct=5.5, window_s=3600.0, direction=MoveDirection.DOWN, cooldown_s=1800.0, sub=ETH),
    )


def test_add_a_level_rule_with_validation(make):
    dialog, rec = make()
    dialog.alerts_tab.add_level_button.click()
    editor = dialog.alerts_tab.rule_editor
    assert editor.pair_choices[editor.pair_combo.currentIndex()] == BTC  # a level is about one pair
    editor.accept()  # no level typed
    assert editor.isVisible()
    assert editor.error_label.text() == "Enter the price level, for example 100000."
    editor.level_edit.setText("lots")
    editor.accept()
    assert editor.error_label.text() == "The price level must be a number, for example 100000 or 0.25."
    editor.level_edit.setText("-5")
    editor.accept()
    assert editor.error_label.text() == "The level must be a price above 0, not -5"
    editor.level_edit.setText("95,000.50")
    editor.above_combo.setCurrentIndex(1)
    editor.accept()
    assert not editor.isVisible()
    dialog.accept()
    assert rec.settings().rules == (
        *DEFAULT_RULES,
        LevelRule(level=95000.5, above=False, cooldown_s=900.0, sub=BTC),
    )


def test_edit_a_rule_replaces_it_in_place(make):
    level = LevelRule(level=3000.0, above=True, sub=ETH, hysteresis_pct=0.5, cooldown_s=75.0)
    dialog, rec = make(dataclasses.replace(CC_SETTINGS, rules=(level, *DEFAULT_RULES)))
    dialog.alerts_tab.rule_list.setCurrentRow(1)
    dialog.alerts_tab.edit_rule_button.click()
    editor = dialog.alerts_tab.rule_editor
    assert editor.kind is MoveRule
    assert editor.pair_combo.currentText() == "All pairs"
    editor.pct_box.setValue(3.0)
    editor.accept()
    dialog.alerts_tab.rule_list.setCurrentRow(0)
    dialog.alerts_tab.edit_rule_button.click()
    editor = dialog.alerts_tab.rule_editor
    assert editor.kind is LevelRule
    assert editor.level_edit.text() == "3000"
    editor.level_edit.setText("3500")
    editor.accept()
    dialog.accept()
    assert rec.settings().rules == (
        # Unchanged fields keep their exact values (75 s is not a whole number of minutes).
        LevelRule(level=3500.0, above=True, sub=ETH, hysteresis_pct=0.5, cooldown_s=75.0),
        MoveRule(pct=3.0, window_s=300.0, direction=MoveDirection.EITHER, cooldown_s=900.0),
    )


def test_cancelled_rule_editor_changes_nothing(make):
    dialog, rec = make()
    dialog.alerts_tab.add_move_button.click()
    dialog.alerts_tab.rule_editor.pct_box.setValue(9.0)
    dialog.alerts_tab.rule_editor.reject()
    dialog.accept()
    assert rec.settings().rules == DEFAULT_RULES


def test_remove_a_rule_and_a_duplicate_is_not_added(make):
    dialog, rec = make()
    dialog.alerts_tab.add_move_button.click()
    dialog.alerts_tab.rule_editor.cooldown_box.setValue(15.0)
    dialog.alerts_tab.rule_editor.accept()  # equal to the default rule: not added twice
    assert rule_texts(dialog) == ["All pairs: up or down 2 % within 5 min (then quiet 15 min)"]
    dialog.alerts_tab.rule_list.setCurrentRow(0)
    dialog.alerts_tab.remove_rule_button.click()
    assert rule_texts(dialog) == []
    assert not dialog.alerts_tab.edit_rule_button.isEnabled()
    dialog.accept()
    assert rec.settings().rules == ()


def test_rule_for_a_removed_pair_is_kept_and_marked(make):
    dialog, rec = make(dataclasses.replace(CC_SETTINGS, rules=(MoveRule(pct=1.0, sub=SOL),)))
    select_pair(dialog, SOL)
    dialog.watchlist_tab.remove_button.click()
    assert rule_texts(dialog) == [
        "SOL/USD · CCCAGG: up or down 1 % within 5 min (then quiet 10 min) \u2014 pair not in the watchlist"
    ]
    dialog.accept()
    assert rec.settings().rules == (MoveRule(pct=1.0, sub=SOL),)


def test_describe_rule():
    assert describe_rule(MoveRule(pct=0.5, window_s=90.0, direction=MoveDirection.UP, cooldown_s=0.0)) == (
        "All pairs: up 0.5 % within 1 min 30 s (then quiet 0 s)"
    )
    assert describe_rule(LevelRule(level=0.1234, above=False, sub=ETH_COINBASE)) == (
        "ETH/USD · Coinbase: falls to 0.1234 or below (then quiet 10 min)"
    )


# --- looks ---


def test_layout_fits_the_minimum_size_and_labels_have_buddies(make, qtbot, tmp_path: Path):
    dialog, _ = make(
        dataclasses.replace(
            CC_SETTINGS, rules=(*DEFAULT_RULES, LevelRule(level=100000.0, above=True, sub=BTC))
        )
    )
    dialog.show()
    qtbot.waitExposed(dialog)
    assert (dialog.minimumWidth(), dialog.minimumHeight()) == (600, 560)
    needed = dialog.layout().minimumSize()
    assert needed.width() <= 600
    assert needed.height() <= 560
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        image = dialog.grab()
        assert image.save(str(tmp_path / f"settings_{index}.png"))
        assert (image.width(), image.height()) == (dialog.width(), dialog.height())
    labels = [
        label
        for label in dialog.findChildren(QLabel)
        if label.text().rstrip().endswith(":") and "&" in label.text()
    ]
    assert len(labels) >= 6
    assert all(label.buddy() is not None for label in labels), [x.text() for x in labels if not x.buddy()]


def test_the_portfolio_total_cannot_be_watched(make):
    dialog, _rec = make()
    before = listed_pairs(dialog)
    tab = dialog.watchlist_tab
    assert not add(dialog, "portfolio:TOTAL-USD")
    assert tab.pair_error_label.text().startswith("The portfolio's total is not a pair to watch")
    assert not add(dialog, "BTC USD portfolio")
    assert "portfolio:TOTAL-USD" in tab.pair_error_label.text()
    assert listed_pairs(dialog) == before
