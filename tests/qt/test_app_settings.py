"""The app's start-up with a settings file that has problems: the banner says what they are (the
file's own problems too, not only logged), in the real ``App.run`` in a child process."""

from __future__ import annotations

import pytest

from tests.qt.child_app import run_child_app

CHILD = r"""
import sys
import ccdesk.app as app_mod
from PySide6.QtWidgets import QApplication
def finish(self):
    banner = self.window.banner
    print("BANNER" if banner.isVisibleTo(self.window) else "NO BANNER", flush=True)
    print(banner.label.text(), flush=True)
    QApplication.quit()
app_mod.App._finish_startup = finish
sys.exit(app_mod.App(demo=True, background=True).run())
"""


def start(tmp_path, app_name: str) -> list[str]:
    r = run_child_app(CHILD, tmp_path, app_name)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.fixture
def ini(tmp_path, request):
    name = f"ccdesk-test-{request.node.name.replace('_', '-')[:40]}"
    folder = tmp_path / ".config" / "ccdesk"
    folder.mkdir(parents=True)
    return folder / f"{name}.ini"


def test_bad_lines_and_a_bad_value_are_both_in_the_banner(tmp_path, ini):
    ini.write_text("[General\n[General]\nrules={not json\ndemo=true\n")
    assert start(tmp_path, ini.stem) == [
        "BANNER",
        f"Some lines of the settings file {ini} could not be read and were ignored. "
        f"A copy of the file as it was is in {ini}.unreadable. "
        "Some settings were invalid and were reset to their defaults: rules. "
        "The settings file keeps what it says for them until you change them in Settings.",
    ]
    assert ini.with_name(ini.name + ".unreadable").read_text() == ini.read_text()


def test_an_unreadable_file_is_in_the_banner(tmp_path, ini):
    ini.mkdir()  # a folder where the file should be: unreadable for root too
    assert start(tmp_path, ini.stem) == [
        "BANNER",
        f"The settings file {ini} could not be read, so ccdesk uses its defaults and will not save "
        "over it. Check that it is a readable file, or move it away.",
    ]


def test_a_good_file_gives_no_banner(tmp_path, ini):
    ini.write_text('[General]\nrules=[{"kind": "move", "pct": 3}, {"kind": "move", "pct": 5}]\n')
    assert start(tmp_path, ini.stem) == ["NO BANNER", ""]
