"""Quitting exits 0 even while abandoned background threads are inside Qt calls.

The app abandons blocked jobs on daemon threads by design (a keyring waiting on an unlock prompt,
a backfill's REST call). Any of them may finish while the app quits and emit its Qt signal. Under
Python's interpreter shutdown such a thread crashed the process (SIGSEGV, or SIGABRT with "FATAL:
exception not rethrown"): a CI run saw the real app exit -6 on SIGTERM.
"""

from tests.qt.child_app import run_child_app

# The real app (demo, in the background), with four threads that stand for jobs finishing at any
# moment: each emits a queued Qt signal in a loop. Quit comes from the controller, as from the menu.
CHILD = r"""
import sys, threading
import ccdesk.app as app_mod
from PySide6.QtCore import QObject, QTimer, Signal

class Finishing(QObject):
    done = Signal(object)

finishing = Finishing()
finishing.done.connect(lambda _: None)

def job():
    while True:
        finishing.done.emit(1)

finish_startup = app_mod.App._finish_startup

def finish(self):
    finish_startup(self)
    for _ in range(4):
        threading.Thread(target=job, daemon=True).start()
    QTimer.singleShot(300, self.controller.quit)

app_mod.App._finish_startup = finish
sys.exit(app_mod.App(demo=True, background=True).run())
"""


def test_quit_exits_0_while_threads_are_inside_qt_calls(tmp_path):
    # Before the fix about 6 runs in 10 crashed: 4 runs miss it less than 3 times in 100.
    for _ in range(4):
        r = run_child_app(CHILD, tmp_path, "ccdesk-test-exit")
        assert r.returncode == 0, r.stderr[-3000:]
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
