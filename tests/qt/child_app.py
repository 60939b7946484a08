"""The real ``App.run`` in a child process: offscreen Qt, a throwaway HOME, and a single-instance
socket in this test's own temp folder (never one another run shares)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_child_app(script: str, tmp_path: Path, app_name: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (which starts the app) with ``CCDESK_APP_NAME=app_name``; its output as text."""
    env = {
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "CCDESK_APP_NAME": app_name,
        "PATH": "/usr/bin:/bin",
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
