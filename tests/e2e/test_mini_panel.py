"""The mini panel in the real app on Xvfb: shown from the setting, dragged with the mouse, back at the
same place after a quit and a restart; a place on a screen that is gone lands on the screen; Escape
hides it and the setting follows."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QRect

from tests.desktop import keys, screenshot, wait_for_window
from tests.e2e.test_desktop import SHOTS, RunningApp, write_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(200)]
PANEL = ["--name", "^ccdesk mini panel$"]
SCREEN_W, SCREEN_H = 1280, 800  # tests.desktop.xvfb's screen


def geometry(env: dict[str, str], wid: str) -> tuple[int, int, int, int]:
    """The window's x, y, width and height as the X server has them."""
    out = subprocess.run(
        ["xdotool", "getwindowgeometry", wid], env=env, capture_output=True, text=True, timeout=10, check=True
    ).stdout
    pos = re.search(r"Position: (-?\d+),(-?\d+)", out)
    size = re.search(r"Geometry: (\d+)x(\d+)", out)
    assert pos is not None, out
    assert size is not None, out
    return int(pos[1]), int(pos[2]), int(size[1]), int(size[2])


def visible(env: dict[str, str], wid: str) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", *PANEL], env=env, capture_output=True, text=True, timeout=10
    ).stdout.split()
    return wid in found


def xdotool(env: dict[str, str], *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


def stored_place(env: dict[str, str]) -> dict[str, object] | None:
    ini = Path(env["HOME"]) / ".config" / "ccdesk" / f"{env['CCDESK_APP_NAME']}.ini"
    text = ini.read_text() if ini.exists() else ""
    match = re.search(r"^\[mini_panel\][^\[]*?^place=(.*)$", text, re.MULTILINE | re.DOTALL)
    if match is None:
        return None
    raw = match[1].strip()
    if raw.startswith('"'):  # QSettings quotes a value with commas and escapes its quotes
        raw = raw[1:-1].replace('\\"', '"')
    return json.loads(raw)


def wait_until(predicate, timeout_s: float, what: str, app: RunningApp):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert app.proc.poll() is None, app.log.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout_s} s; log:\n{app.log.read_text()}")


def test_dragged_panel_is_back_at_the_same_place_after_a_restart(desktop):
    env = desktop
    write_settings(env, {"mini_panel": "true", "mini_panel_opacity_pct": "85"})
    app = RunningApp(env, "--demo")
    try:
        app.window()
        panel = wait_for_window(env, PANEL, timeout_s=20)
        x0, y0, w, h = geometry(env, panel)
        # With no place saved it sits near the top-right corner, inside the screen.
        assert QRect(0, 0, SCREEN_W, SCREEN_H).contains(QRect(x0, y0, w, h))
        assert x0 + w > SCREEN_W - 100, (x0, w)
        # Drag it by the mouse (no window manager here: the panel moves itself) to the lower left.
        grab_x, grab_y = x0 + 10, y0 + h // 2
        xdotool(env, "mousemove", "--sync", str(grab_x), str(grab_y))
        xdotool(env, "mousedown", "1")
        for step in range(1, 11):
            xdotool(env, "mousemove", str(grab_x - step * 50), str(grab_y + step * 40))
            time.sleep(0.03)
        xdotool(env, "mouseup", "1")
        # The app takes the motion events at its own pace: wait for the last one, not the first.
        x1, y1 = x0 - 500, y0 + 400
        wait_until(lambda: geometry(env, panel)[:2] == (x1, y1), 10, "the panel at the drop point", app)
        # Saved after a pause in the moves (a slow machine may have saved a place on the way too).
        # One screen at 0,0: the offset is the position.
        wait_until(
            lambda: (p := stored_place(env)) and (p["x"], p["y"]) == (x1, y1), 10, "the drop point saved", app
        )
        time.sleep(2.0)  # demo prices in the panel for the picture
        screenshot(env, SHOTS / "mini-panel-xvfb.png", panel)
    finally:
        code = app.stop()
    assert code == 0, app.log.read_text()
    assert "Traceback" not in app.log.read_text()

    again = RunningApp(env, "--demo")
    try:
        again.window()
        panel = wait_for_window(env, PANEL, timeout_s=20)
        x2, y2, _, _ = geometry(env, panel)
        assert (x2, y2) == (x1, y1)
        # The panel is a tool window: no taskbar entry (the window manager reads this type).
        props = subprocess.run(
            ["xprop", "-id", panel, "_NET_WM_WINDOW_TYPE", "_NET_WM_STATE", "_NET_WM_WINDOW_OPACITY"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        print(props)
        assert "_NET_WM_WINDOW_TYPE_UTILITY" in props
        assert "_NET_WM_STATE_ABOVE" in props
        # 85 % (Qt rounds to 1/255): the compositor, where there is one, draws it translucent.
        opacity = re.search(r"_NET_WM_WINDOW_OPACITY\(CARDINAL\) = (\d+)", props)
        assert opacity is not None
        assert int(opacity[1]) / 0xFFFFFFFF == pytest.approx(0.85, abs=1 / 255)
    finally:
        code = again.stop()
    assert code == 0, again.log.read_text()
    assert "Traceback" not in again.log.read_text()


def test_a_place_on_a_screen_that_is_gone_lands_on_the_screen(desktop):
    env = desktop
    # Last left on a second monitor, far to the right and above: that monitor is unplugged now.
    gone = json.dumps({"screen": "HDMI-9", "x": 2400, "y": -300}).replace('"', '\\"')
    write_settings(env, {"mini_panel": "true"})
    ini = Path(env["HOME"]) / ".config" / "ccdesk" / f"{env['CCDESK_APP_NAME']}.ini"
    ini.write_text(ini.read_text() + f'\n[mini_panel]\nplace="{gone}"\n')
    app = RunningApp(env, "--demo")
    try:
        app.window()
        panel = wait_for_window(env, PANEL, timeout_s=20)
        x, y, w, h = geometry(env, panel)
        assert (x + w, y) == (SCREEN_W, 0)  # pulled into the top-right corner of the one screen
        assert QRect(0, 0, SCREEN_W, SCREEN_H).contains(QRect(x, y, w, h))
        # Escape hides it, and the setting remembers that.
        keys(env, panel, "Escape")
        wait_until(lambda: not visible(env, panel), 5, "the panel hidden", app)
        wait_until(lambda: "mini_panel=false" in ini.read_text(), 5, "the setting saved", app)
    finally:
        code = app.stop()
    assert code == 0, app.log.read_text()
