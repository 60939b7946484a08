"""The suite's own guard: a test that leaves a QThread running fails (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

LEAKY = """
from PySide6.QtCore import QThread

kept = []

def test_leaks_a_thread(qtbot):
    thread = QThread()
    thread.setObjectName("leaky-thread")
    thread.start()
    kept.append(thread)

def test_cleans_up(qtbot):
    kept[0].quit()
    assert kept[0].wait(2000)
"""


def test_a_leaked_qthread_fails_the_test(pytester) -> None:
    conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    pytester.makeconftest(conftest.read_text())
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "qt_api=pyside6")
    result.assert_outcomes(passed=2, errors=1)  # reported at the leaky test's teardown
    result.stdout.fnmatch_lines(["*left QThread(s) running: leaky-thread*"])
