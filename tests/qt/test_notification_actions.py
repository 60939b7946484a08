"""A notification's actions reach the controller: open shows the window, snooze and mute change
the rule that fired (by its id), in the settings."""

from __future__ import annotations

import pytest

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule, Rule
from ccdesk.core.autostart import Autostart
from ccdesk.core.pairs import parse_pair
from ccdesk.core.secrets import SecretStore
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore
from ccdesk.desktop import build_desktop
from ccdesk.qt.notifier import ACTION_MUTE, ACTION_OPEN, ACTION_SNOOZE, SNOOZE_S
from ccdesk.sim import start_demo
from tests.fakes import FakeClock, InMemoryKeyring

BTC = parse_pair("BTC-USD")
MOVE = MoveRule(pct=1.0, window_s=300.0, id="move-1")
LEVEL = LevelRule(level=100_000.0, above=True, id="level-1")


def alert(rule: Rule) -> Alert:
    return Alert(BTC, rule, MoveDirection.UP, 1.3, 100.0, 101.3, 300.0, 1_700_000_000.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desktop(qtbot, tmp_path, clock):
    d = build_desktop(
        Settings(watchlist=(BTC,), rules=(MOVE, LEVEL)),
        MemoryStore(),
        secrets=SecretStore("ccdesk-test", backend=InMemoryKeyring()),
        env={},
        autostart=Autostart(env={"XDG_CONFIG_HOME": str(tmp_path)}),
        start_demo=start_demo,
        notify_fn=lambda **kw: None,
        clock=clock,
        store_path=None,
    )
    qtbot.addWidget(d.window)
    yield d
    d.notifier.shutdown()


def rules_by_id(desktop) -> dict[str, Rule]:
    return {r.id: r for r in desktop.controller.settings.rules}


# Bringing the window forward calls raise(), which the offscreen platform says it cannot do.
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_open_shows_the_window(qtbot, desktop) -> None:
    assert not desktop.window.isVisible()
    desktop.notifier.action_invoked.emit(ACTION_OPEN, alert(MOVE))
    qtbot.waitUntil(desktop.window.isVisible, timeout=3000)
    assert rules_by_id(desktop) == {"move-1": MOVE, "level-1": LEVEL}  # nothing else changed


def test_snooze_snoozes_that_rule_for_an_hour_and_mute_mutes_it(desktop, clock) -> None:
    desktop.notifier.action_invoked.emit(ACTION_SNOOZE, alert(MOVE))
    rules = rules_by_id(desktop)
    assert rules["move-1"].snoozed_until == clock.time() + SNOOZE_S
    assert rules["level-1"].snoozed_until is None
    assert rules["move-1"].enabled
    desktop.notifier.action_invoked.emit(ACTION_MUTE, alert(LEVEL))
    rules = rules_by_id(desktop)
    assert not rules["level-1"].enabled
    assert rules["move-1"].enabled
    assert not desktop.window.isVisible()


def test_an_action_on_a_rule_since_deleted_does_nothing(desktop) -> None:
    gone = MoveRule(pct=3.0, window_s=300.0, id="deleted")
    before = desktop.controller.settings
    desktop.notifier.action_invoked.emit(ACTION_SNOOZE, alert(gone))
    desktop.notifier.action_invoked.emit(ACTION_MUTE, alert(gone))
    assert desktop.controller.settings.rules == before.rules
