"""Test-wide settings: the shared frames, the simulator factory, the hypothesis profiles, the
QThread leak guard, and never touching the user's real config or keyring."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Qt-free (an import-linter contract and tests/unit/test_boundary.py keep it so): every tier may load it.
from ccdesk.sim.server import SimServer

# A test-only application identity, so no test reads or writes the user's real settings or keyring.
os.environ.setdefault("CCDESK_APP_NAME", "ccdesk-test")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Nor the user's data folder (the alert history's SQLite file).
os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="ccdesk-test-data-"))

# --- hypothesis profiles ----------------------------------------------------------------------
# "ci", the default everywhere (CI and the local loop): derandomized, so every run tries the same
#   examples and a red run is reproducible; no deadline and no too_slow health check (both are
#   timings, and the machines are shared and noisy; pytest-timeout still bounds a hang); no example
#   database (no failure saved to or replayed from .hypothesis/: what ran is what the profile says;
#   hypothesis still caches source constants there); a failure prints a @reproduce_failure blob.
# "explore", on demand: `HYPOTHESIS_PROFILE=explore pytest tests/unit`: fresh random examples on
#   every run and ten times as many, to hunt for new failures. Tests that need more examples than
#   the default ask for a multiple of the profile's (`max_examples=20 * settings().max_examples`),
#   so they grow under "explore" too.
settings.register_profile(
    "ci",
    settings.get_profile("default"),
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", settings.get_profile("ci"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
# Copied from ../shared/frames (real recorded frames) so the suite is self-contained.
FRAMES_DIR = REPO / "tests" / "data"


def _load_jsonl(name: str) -> list[str]:
    path = FRAMES_DIR / name
    return [line for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def stream_frames() -> list[str]:
    """The recorded streamer frames (raw text, one per item)."""
    return _load_jsonl("stream-examples.jsonl")


@pytest.fixture(scope="session")
def rest_bodies() -> list[dict]:
    """The recorded min-api bodies, parsed."""
    return [json.loads(line) for line in _load_jsonl("rest-examples.jsonl")]


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimServer]]:
    """A factory of loopback simulators: ``make_sim(**kwargs)`` starts ``SimServer(**kwargs)`` (on an
    ephemeral port unless ``port`` is given) and returns it; every server it started is stopped at
    teardown, the last first."""
    with ExitStack() as started:

        def make(**kwargs: Any) -> SimServer:
            return started.enter_context(SimServer(**kwargs))

        yield make


# --- no test may leave a QThread running ------------------------------------------------------
# QThread.start is wrapped once PySide6 is loaded (unit tests never load it), and every thread a
# test started must have finished by its end. A leaked thread is the start of the interpreter
# abort "QThread: Destroyed while thread is still running".
_started_qthreads: list[weakref.ref[Any]] = []


def _track_qthreads() -> bool:
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None:
        return False
    qthread = qtcore.QThread
    if not getattr(qthread.start, "_ccdesk_tracked", False):
        original = qthread.start

        def start(self: Any, *args: Any, **kwargs: Any) -> Any:
            _started_qthreads.append(weakref.ref(self))
            return original(self, *args, **kwargs)

        start._ccdesk_tracked = True  # type: ignore[attr-defined]
        qthread.start = start
    return True


@pytest.fixture(autouse=True)
def _no_leaked_qthread() -> Iterator[None]:
    _track_qthreads()
    _started_qthreads.clear()
    yield
    if not _track_qthreads():
        return
    running = []
    for ref in _started_qthreads:
        thread = ref()
        try:
            if thread is not None and thread.isRunning():
                running.append(thread.objectName() or repr(thread))
        except RuntimeError:  # its C++ object was deleted: it is not running
            continue
    _started_qthreads.clear()
    if running:
        pytest.fail(f"the test left QThread(s) running: {', '.join(running)}", pytrace=False)
