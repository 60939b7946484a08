"""Guard for PySide6-Essentials 6.12.0 on Python 3.11: every Python-side emit() leaked a
reference to True and the interpreter aborted after ~570 emits (bool_dealloc). pyproject pins
it away; this emits 10,000 signals of the kinds the app uses, in a child process so that an
abort is a failure here rather than a dead test run."""

import subprocess
import sys

CHILD = r"""
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

class Source(QObject):
    changed = Signal(object)
    flag = Signal(bool)
    plain = Signal()

class Sink(QObject):
    def __init__(self):
        super().__init__()
        self.n = 0
    @Slot(object)
    def on_changed(self, value):
        self.n += 1
    @Slot(bool)
    def on_flag(self, value):
        self.n += 1
    @Slot()
    def on_plain(self):
        self.n += 1

app = QCoreApplication([])
src, sink = Source(), Sink()
src.changed.connect(sink.on_changed)
src.flag.connect(sink.on_flag)
src.plain.connect(sink.on_plain)
for i in range(10_000):
    src.changed.emit((i, "x"))
    src.flag.emit(i % 2 == 0)
    src.plain.emit()
print(sink.n)
"""


def test_ten_thousand_emits_do_not_abort_the_interpreter():
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"child died ({result.returncode}): {result.stderr[-2000:]}"
    assert result.stdout.strip() == "30000"


def test_the_installed_pyside6_is_not_the_broken_combination():
    import PySide6

    version = tuple(int(p) for p in PySide6.__version__.split(".")[:2])
    assert not (sys.version_info < (3, 12) and version >= (6, 12)), PySide6.__version__
