"""Test-wide settings: the shared frames, and never touching the user's real config or keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# A test-only application identity, so no test reads or writes the user's real settings or keyring.
os.environ.setdefault("CCDESK_APP_NAME", "ccdesk-test")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
