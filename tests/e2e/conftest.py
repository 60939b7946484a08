"""The e2e tier's one desktop session: a private D-Bus session bus, gnome-keyring's Secret Service,
Xvfb, dunst and trayer (the harness is tests/desktop.py), and an app environment that depends on
nothing from this machine's own session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.desktop import (
    missing_e2e_tools,
    notification_daemon,
    secret_service,
    session_bus,
    tray_host,
    xvfb,
)


@pytest.fixture
def app_name() -> str:
    """The app's test-only name (its settings file and keyring service). A module overrides it
    with a fixture of the same name to keep its runs apart from the other module's. The pid keeps
    two test runs on one machine apart (the single-instance socket is per app name and user)."""
    return f"ccdesk-e2e-{os.getpid()}"


@pytest.fixture
def desktop(app_name: str) -> Iterator[dict[str, str]]:
    """A whole desktop session; yields the environment to run the app in.

    The keyring starts before the display exists, so a locked keyring could never open a prompt
    that blocks (RECIPES). The environment has a throwaway HOME and XDG_RUNTIME_DIR, DISPLAY and
    the session bus of this desktop, ``CCDESK_APP_NAME=app_name``, and no other ``CCDESK_*``
    variable (no API key) and no ``PYTHON_KEYRING_BACKEND``: the app finds its key, if any, in
    this desktop's Secret Service.
    """
    if missing_e2e_tools():  # `bash .ci/bootstrap --test` installs them; say so rather than skip
        pytest.fail(f"missing {missing_e2e_tools()}: run `bash .ci/bootstrap --test`", pytrace=False)
    with ExitStack() as stack:
        env = stack.enter_context(session_bus())
        stack.enter_context(secret_service(env))
        env = stack.enter_context(xvfb(env))
        stack.enter_context(notification_daemon(env))
        stack.enter_context(tray_host(env))
        env = {k: v for k, v in env.items() if not k.startswith("CCDESK_") and k != "PYTHON_KEYRING_BACKEND"}
        env["CCDESK_APP_NAME"] = app_name
        yield env
