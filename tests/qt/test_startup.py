"""First paint comes before the slow imports: the window is on screen while websocket-client,
requests, keyring, plyer and the simulator are still unloaded (they load right after)."""

import subprocess
import sys

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
    env = {
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "CCDESK_APP_NAME": "ccdesk-test-startup",
        "PATH": "/usr/bin:/bin",
        # The single-instance socket goes in the temp folder: this test's own, not one another run shares.
        "TMPDIR": str(tmp_path),
    }
    r = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["LOADED ", "VISIBLE True"]  # none of the slow modules loaded yet
