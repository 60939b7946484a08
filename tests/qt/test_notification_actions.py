"""A notification's actions reach the controller: open shows the window; snooze and mute go to
the rule commands (when the rule model has them)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.autostart import Autostart
from ccdesk.core.pairs import parse_pair
from ccdesk.core.secrets import SecretStore
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore
from ccdesk.desktop import build_desktop
from ccdesk.qt.notifier import ACTION_MUTE, ACTION_OPEN, ACTION_SNOOZE, SNOOZE_S
from ccdesk.sim import start_demo
from tests.fakes import InMemoryKeyring

BTC = parse_pair("BTC-USD")


@dataclass(frozen=True, slots=True)
class IdRule(MoveRule):
    id: str = ""


def alert(rule: MoveRule) -> Alert:
    return Alert(BTC, rule, MoveDirection.UP, 1.3, 100.0, 101.3, 300.0, 1_700_000_000.0)


@pytest.fixture
def desktop(qtbot, tmp_path):
    d = build_desktop(
        Settings(watchlist=(BTC,), rules=()),
        MemoryStore(),
        secrets=SecretStore("ccdesk-test", backend=InMemoryKeyring()),
        env={},
        autostart=Autostart(env={"XDG_CONFIG_HOME": str(tmp_path)}),
        start_demo=start_demo,
        notify_fn=lambda **kw: None,
        store_path=None,
    )
    qtbot.addWidget(d.window)
    yield d
    d.notifier.shutdown()


# Bringing the window forward calls raise(), which the offscreen platform says it cannot do.
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_open_shows_the_window(qtbot, desktop) -> None:
    assert not desktop.window.isVisible()
    desktop.notifier.action_invoked.emit(ACTION_OPEN, alert(MoveRule(pct=1.0, window_s=300.0)))
    qtbot.waitUntil(desktop.window.isVisible, timeout=3000)


def test_snooze_and_mute_call_the_rule_commands(qtbot, desktop, monkeypatch) -> None:
    calls: list[tuple] = []
    controller = desktop.controller
    monkeypatch.setattr(
        controller, "snooze_rule", lambda rule_id, s: calls.append(("snooze", rule_id, s)), raising=False
    )
    monkeypatch.setattr(
        controller, "mute_rule", lambda rule_id: calls.append(("mute", rule_id)), raising=False
    )
    rule = IdRule(pct=1.0, window_s=300.0, id="rule-7")
    desktop.notifier.action_invoked.emit(ACTION_SNOOZE, alert(rule))
    desktop.notifier.action_invoked.emit(ACTION_MUTE, alert(rule))
    desktop.notifier.action_invoked.emit(ACTION_SNOOZE, alert(MoveRule(pct=1.0, window_s=300.0)))  # no id
    assert calls == [("snooze", "rule-7", SNOOZE_S), ("mute", "rule-7")]
    assert not desktop.window.isVisible()
