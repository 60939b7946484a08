"""First paint comes before the slow imports: the window is on screen while websocket-client,
requests, keyring, plyer and the simulator are still unloaded (they load right after)."""

from tests.qt.child_app import run_child_app

CHILD = r"""
import os, sys
import ccdesk.app as app_mod
from PySide6.QtWidgets import QApplication
HEAVY = ("requests", "keyring", "websocket", "plyer", "websockets", "jeepney", "secretstorage",
         "ccdesk.core.stream", "ccdesk.core.rest", "ccdesk.sim", "ccdesk.qt.controller")
def finish(self):
    print("LOADED", ",".join(sorted(m for m in HEAVY if m in sys.modules)), flush=True)
    print("VISIBLE", self.window.isVisible(), flush=True)
    QApplication.quit()
app_mod.App._finish_startup = finish
sys.exit(app_mod.App(demo=True, background=False).run())
"""


def test_window_is_shown_before_the_slow_imports(tmp_path):
    r = run_child_app(CHILD, tmp_path, "ccdesk-test-startup")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["LOADED ", "VISIBLE True"]  # none of the slow modules loaded yet
