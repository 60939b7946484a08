"""Takes tests/e2e/screenshots/notification-actions-menu.png: a real ccdesk notification in dunst
and dunst's menu of its actions (dunst shows actions through dmenu). Not a test: dmenu
(Debian's suckless-tools) is not among the e2e tools. Run from the repo root:
    .venv/bin/python tests/e2e/notification_menu_shot.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule  # noqa: E402
from ccdesk.core.pairs import parse_pair  # noqa: E402
from ccdesk.qt.desktop_notifications import FreedesktopNotifications, NotificationRequest  # noqa: E402
from ccdesk.qt.notifier import notification_actions, replace_key  # noqa: E402
from ccdesk.wording import alert_body, alert_title  # noqa: E402
from tests.desktop import _wait_for_name, background, screenshot, session_bus, xvfb  # noqa: E402

DUNSTRC = """[global]
    dmenu = /usr/bin/dmenu -b -l 3 -fn "DejaVu Sans-11" -p "ccdesk alert:"
    show_indicators = yes
    font = DejaVu Sans 10
    width = 380
    origin = top-right
    offset = 10x40
    frame_width = 1
"""


def main() -> None:
    out = REPO / "tests" / "e2e" / "screenshots" / "notification-actions-menu.png"
    with (
        tempfile.TemporaryDirectory() as tmp,
        session_bus() as bus,
        xvfb(dict(bus), size="760x240x24") as env,
    ):
        rc = Path(tmp) / "dunstrc"
        rc.write_text(DUNSTRC)
        with background(["dunst", "-config", str(rc)], env):
            _wait_for_name(env, "org.freedesktop.Notifications")
            rule = MoveRule(pct=2.0, window_s=300.0, id="shot")
            alert = Alert(
                parse_pair("BTC-USD"), rule, MoveDirection.UP, 2.1, 91_000.0, 92_911.0, 300.0, time.time()
            )
            backend = FreedesktopNotifications(env=env)
            request = NotificationRequest(
                alert_title(alert),
                alert_body(alert),
                replace_key=replace_key(alert),
                actions=notification_actions(alert),
            )
            backend.show(request)
            time.sleep(0.5)
            subprocess.run(["dunstctl", "context"], env=env, check=True, timeout=10)
            time.sleep(1.5)  # dmenu maps its window
            screenshot(env, out)
            subprocess.run(["xdotool", "key", "Escape"], env=env, check=True, timeout=10)
            backend.close()
    print(out)


if __name__ == "__main__":
    main()
