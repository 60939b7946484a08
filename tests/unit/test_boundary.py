"""The core must stay Qt-free: import every ccdesk.core and ccdesk.sim module with PySide6 blocked.
So must what the unit tier loads besides: the shared test modules."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import ccdesk.core
import ccdesk.sim

BLOCKER = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6') or name.startswith('ccdesk.qt'):
            raise ImportError('blocked in the core: ' + name)
sys.meta_path.insert(0, Block())
for name in sys.argv[1:]:
    importlib.import_module(name)
print('ok', len(sys.argv) - 1)
"""


def _modules(pkg):
    return [pkg.__name__] + [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


def test_core_and_sim_import_without_qt():
    names = _modules(ccdesk.core) + _modules(ccdesk.sim)
    assert len(names) > 8
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, *names], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {len(names)}"


def test_the_shared_test_modules_import_without_qt():
    # tests/conftest.py starts simulators (make_sim) for every tier, the unit tier included.
    names = ["tests.conftest", "tests.pairs", "tests.fakes"]
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, *names], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {len(names)}"


def test_the_blocker_really_blocks():
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, "PySide6.QtCore"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "blocked in the core" in result.stderr
