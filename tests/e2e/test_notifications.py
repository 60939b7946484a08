"""Real desktop notifications: dunst on Xvfb, on a private session bus, spoken to over D-Bus.

dunst gets a config of its own: its context menu (``dunstctl context``) runs "dmenu", here a script
that picks the line holding the words in ``choice`` (what a user would pick from the menu), and
``dunstctl action 0`` invokes the top notification's default action (what a click does).
Screenshots go to tests/artifacts/screenshots (the README shows copies from tests/e2e/screenshots).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.delivery import DeliveryChannel
from ccdesk.core.pairs import parse_pair
from ccdesk.qt.desktop_notifications import FreedesktopNotifications
from ccdesk.qt.notifier import ACTION_MUTE, ACTION_OPEN, ACTION_SNOOZE, Notifier
from tests.desktop import (
    _wait_for_name,
    background,
    missing_e2e_tools,
    screenshot,
    secret_service,
    session_bus,
    tray_host,
    wait_for_window,
    window_name,
    xvfb,
)
from tests.e2e.test_desktop import RunningApp, write_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(200)]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"

DUNSTRC = """[global]
    dmenu = {dmenu}
    show_indicators = yes
    font = DejaVu Sans 10
    width = 380
    origin = top-right
    offset = 10x40
    frame_width = 1
"""
DMENU = """#!/bin/sh
# dunst writes one line per action ("#Snooze 1 h (summary) [id,key]"); pick the wanted one.
grep -m1 -F "$(cat '{choice}')"
"""


@dataclass
class Dunst:
    env: dict[str, str]
    choice: Path

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            ["dunstctl", *args], env=self.env, capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def displayed(self) -> int:
        return int(self.ctl("count", "displayed").strip())

    def pick_from_menu(self, words: str) -> None:
        """Open dunst's context menu and choose the first action whose line holds ``words``."""
        self.choice.write_text(words)
        self.ctl("context")

    def history(self) -> list[dict[str, object]]:
        data = json.loads(self.ctl("history"))["data"]
        items = data[0] if data else []
        return [{k: v.get("data") for k, v in n.items()} for n in items]


@pytest.fixture
def app_name() -> str:
    import os

    return f"ccdesk-e2e-notify-{os.getpid()}"


@pytest.fixture
def dunst_desktop(app_name: str, tmp_path: Path) -> Iterator[Dunst]:
    """Like the ``desktop`` fixture, with a dunst whose context menu a test can drive."""
    if missing_e2e_tools():
        pytest.fail(f"missing {missing_e2e_tools()}: run `bash .ci/bootstrap --test`", pytrace=False)
    choice = tmp_path / "choice"
    choice.write_text("")
    dmenu = tmp_path / "dmenu"
    dmenu.write_text(DMENU.format(choice=choice))
    dmenu.chmod(0o755)
    rc = tmp_path / "dunstrc"
    rc.write_text(DUNSTRC.format(dmenu=dmenu))
    with ExitStack() as stack:
        env = stack.enter_context(session_bus())
        stack.enter_context(secret_service(env))
        env = stack.enter_context(xvfb(env))
        stack.enter_context(background(["dunst", "-config", str(rc)], env))
        _wait_for_name(env, "org.freedesktop.Notifications")
        stack.enter_context(tray_host(env))
        env = {k: v for k, v in env.items() if not k.startswith("CCDESK_") and k != "PYTHON_KEYRING_BACKEND"}
        env["CCDESK_APP_NAME"] = app_name
        yield Dunst(env, choice)


def alert(pair: str = "BTC-USD", pct: float = 1.3, rule: MoveRule | None = None) -> Alert:
    a = Alert(
        sub=parse_pair(pair),
        rule=rule or MoveRule(pct=1.0, window_s=300.0, id="rule-1"),
        direction=MoveDirection.UP,
        change_pct=pct,
        from_price=91_000.0,
        to_price=91_000.0 * (1 + pct / 100),
        window_s=300.0,
        at=time.time(),
    )
    return replace(a)


@pytest.fixture
def notifier(qapp, dunst_desktop: Dunst) -> Iterator[Notifier]:
    n = Notifier(None, backend=FreedesktopNotifications(env=dunst_desktop.env))
    yield n
    n.shutdown(timeout_s=3.0)


def deliver(qtbot: QtBot, notifier: Notifier, a: Alert) -> None:
    with qtbot.waitSignal(notifier.delivered, timeout=10_000) as blocker:
        notifier.deliver(a)
    assert blocker.args[0].channel is DeliveryChannel.DESKTOP


def wait_until(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_same_rule_and_pair_replace_and_every_bubble_expires(
    qtbot: QtBot, notifier: Notifier, dunst_desktop: Dunst
) -> None:
    d = dunst_desktop
    for pct in (1.3, 1.7, 2.4):  # one rule, one pair, three alerts: one bubble, the latest
        deliver(qtbot, notifier, alert(pct=pct))
    deliver(qtbot, notifier, alert("ETH-USD"))
    # dunst answers Notify first and puts the bubble on screen in its own loop after.
    wait_until(lambda: d.displayed() == 2, 10, "the two bubbles")
    screenshot(d.env, SHOTS / "notifications-dunst.png", crop="404x112+868+38")
    # No click: dunst takes them away after the 10 s ccdesk asked for (it used to be never).
    t0 = time.monotonic()
    wait_until(lambda: d.displayed() == 0, 20, "the bubbles to expire")
    print(f"expired {time.monotonic() - t0:.1f} s after the last one")
    summaries = sorted(str(n["summary"]) for n in d.history())
    assert summaries == ["BTC/USD · CCCAGG up 2.4 % in 5 min", "ETH/USD · CCCAGG up 1.3 % in 5 min"]


def test_actions_from_dunst_reach_the_notifier_with_the_alert(
    qtbot: QtBot, notifier: Notifier, dunst_desktop: Dunst
) -> None:
    d = dunst_desktop
    a = alert()
    deliver(qtbot, notifier, a)
    wait_until(lambda: d.displayed() == 1, 10, "the bubble")  # dunst acts on the bubbles it shows
    with qtbot.waitSignal(notifier.action_invoked, timeout=5000) as clicked:
        d.ctl("action", "0")  # a click on the bubble: its default action
    assert clicked.args == [ACTION_OPEN, a]
    deliver(qtbot, notifier, a)
    for words, action in (("Snooze 1 h", ACTION_SNOOZE), ("Mute this rule", ACTION_MUTE)):
        wait_until(lambda: d.displayed() == 1, 10, "the bubble")
        with qtbot.waitSignal(notifier.action_invoked, timeout=5000) as chosen:
            d.pick_from_menu(words)
        assert chosen.args == [action, a]
        deliver(qtbot, notifier, a)  # choosing an action closes the bubble: show it again


def stored_rules(env: dict[str, str]) -> list[dict[str, object]]:
    """The rules in the app's settings file, as it saved them."""
    ini = Path(env["HOME"]) / ".config" / "ccdesk" / f"{env['CCDESK_APP_NAME']}.ini"
    for line in ini.read_text().splitlines():
        if line.startswith("rules="):
            value = line[len("rules=") :]
            if value.startswith('"'):  # QSettings quotes a value with commas
                value = json.loads(value)
            return json.loads(value)
    return []


def test_the_apps_notification_opens_its_window_snoozes_its_rule_and_sounds(dunst_desktop: Dunst) -> None:
    env, d = dunst_desktop.env, dunst_desktop
    # A sensitive rule (the smallest the rules allow) so that the simulator's market fires soon.
    rule = {
        "kind": "move",
        "pct": 0.1,
        "window_s": 60,
        "direction": "either",
        "cooldown_s": 60,
        "id": "e2e-rule",
        "sound": True,
    }
    write_settings(env, {"rules": json.dumps([rule]), "demo": "true"})
    # dunst has no "sound" capability, so ccdesk plays its own sound with the first player on
    # PATH: here a stand-in paplay that writes down what it was asked to play.
    played = Path(env["HOME"]) / "played"
    bin_dir = Path(env["HOME"]) / "bin"
    bin_dir.mkdir()
    (bin_dir / "paplay").write_text(f'#!/bin/sh\necho "$@" >> "{played}"\n')
    (bin_dir / "paplay").chmod(0o755)
    env = dict(env, PATH=f"{bin_dir}:{env['PATH']}")
    app = RunningApp(env, "--demo", "--background")
    try:
        t0 = time.monotonic()
        wait_until(lambda: d.displayed() >= 1 or app.proc.poll() is not None, 120, "a notification")
        print(f"first notification after {time.monotonic() - t0:.1f} s")
        assert app.proc.poll() is None, app.log.read_text()
        # Visible windows of the app: only the tray icon (trayer embeds it; its name is "ccdesk").
        visible = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--class", "ccdesk"],
            env=env,
            capture_output=True,
            text=True,
        )
        names = [window_name(env, w) for w in visible.stdout.split()]
        assert names == ["ccdesk"], f"the window should start hidden in the tray: {names}"
        screenshot(env, SHOTS / "notification-with-actions.png", crop="404x66+868+38")
        d.ctl("action", "0")  # a click on the bubble
        wid = wait_for_window(env, ["--name", "^ccdesk demo"], timeout_s=10)
        assert window_name(env, wid).startswith("ccdesk demo — ")
        assert "notification action open" in app.log.read_text()
        # The next one: "Snooze 1 h" from dunst's menu snoozes the rule, in the saved settings too.
        t1 = time.monotonic()
        wait_until(lambda: d.displayed() >= 1, 120, "another notification")
        print(f"second notification after {time.monotonic() - t1:.1f} s")
        before = time.time()
        d.pick_from_menu("Snooze 1 h")
        wait_until(lambda: stored_rules(env)[0].get("snoozed_until") is not None, 10, "the snooze saved")
        (saved,) = stored_rules(env)
        assert saved["id"] == "e2e-rule"
        assert before + 3600 - 5 <= float(saved["snoozed_until"]) <= time.time() + 3600
        assert "notification action snooze" in app.log.read_text()
        # The sound is played on its own lane, after the notification is handed over.
        wait_until(lambda: played.exists() and played.read_text().strip(), 10, "a sound")
        sounds = played.read_text().splitlines()
        assert all(Path(line).name == "alert.wav" and Path(line).is_file() for line in sounds)
    finally:
        code = app.stop()
    assert code == 0, app.log.read_text()
    assert "Traceback" not in app.log.read_text()
