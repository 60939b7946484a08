"""The API key for this session: where it comes from, saving it, checking it. Keyring and REST calls
run as background jobs, never on the GUI thread (a keyring may wait on an unlock prompt)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal

from ccdesk.core.api_key import ApiKey, KeyProblem, KeySource, KeyState, ResolvedKey, SaveState
from ccdesk.core.key_check import KeyCheck
from ccdesk.core.rest import check_key
from ccdesk.core.secrets import SecretsError, SecretStore, resolve_key
from ccdesk.qt.jobs import BackgroundJobs

log = logging.getLogger(__name__)

CheckFn = Callable[[str | None, ApiKey], KeyCheck]


class KeySession(QObject):
    """Holds the key in use and what is known about it (a typed ``KeyState``).

    Signals:
        changed(KeyState): the key, its source, a problem or the saving state changed.
        verified(object): a Verify finished: a ``KeyCheck``, or the ``Exception`` that stopped the
            check from running.
    """

    changed = Signal(object)
    verified = Signal(object)

    def __init__(
        self,
        secrets: SecretStore,
        jobs: BackgroundJobs,
        env: Mapping[str, str],
        check: CheckFn = check_key,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._secrets = secrets
        self._jobs = jobs
        self._env = dict(env)
        self._check = check
        self._state = KeyState(problem=KeyProblem.MISSING)

    @property
    def state(self) -> KeyState:
        """What is known about the key now."""
        return self._state

    @property
    def key(self) -> ApiKey | None:
        """The key in use, or None."""
        return self._state.key

    def secrets_for_logs(self) -> tuple[str, ...]:
        """The key in use, for the log filter to scrub wherever it might appear."""
        key = self._state.key
        return () if key is None else (key.reveal(),)

    def resolve(self) -> None:
        """Find the key: ``CCDESK_API_KEY``, else the keyring (in the background). ``changed`` follows."""
        env, secrets = self._env, self._secrets
        self._jobs.run(
            "keyring", lambda: resolve_key(env, secrets), self._on_resolved, self._on_resolve_failed
        )

    def enter(self, key: ApiKey) -> None:
        """Use ``key`` now and save it to the keyring in the background. ``changed`` follows twice."""
        self._set(KeyState(key, KeySource.ENTERED, save=SaveState.SAVING))
        secrets = self._secrets
        self._jobs.run(
            "keyring",
            lambda: secrets.save(key),
            lambda _: self._on_saved(key, None),
            lambda exc: self._on_saved(key, exc),
        )

    def verify(self, key: ApiKey, rest_url: str | None) -> None:
        """Check ``key`` against the REST API in the background; ``verified`` follows."""
        check = self._check
        self._jobs.run("verify", lambda: check(rest_url, key), self.verified.emit, self.verified.emit)

    def mark_rejected(self) -> None:
        """The server refused the key in use."""
        self._set(dataclasses.replace(self._state, problem=KeyProblem.REJECTED))

    def _on_resolved(self, resolved: ResolvedKey | None) -> None:
        if self._state.source is KeySource.ENTERED:
            return  # the user typed a key while the keyring was being read: theirs wins
        if resolved is None:
            self._set(KeyState(problem=KeyProblem.MISSING))
        else:
            self._set(KeyState(resolved.key, resolved.source))

    def _on_resolve_failed(self, exc: Exception) -> None:
        if self._state.source is KeySource.ENTERED:
            return
        problem = KeyProblem.UNREADABLE if isinstance(exc, SecretsError) else KeyProblem.MALFORMED
        if not isinstance(exc, SecretsError | ValueError):
            log.warning("reading the key failed: %s", type(exc).__name__)
        self._set(KeyState(problem=problem, detail=str(exc)))

    def _on_saved(self, key: ApiKey, exc: Exception | None) -> None:
        if self._state.key != key:
            return  # another key was entered since
        if exc is None:
            self._set(dataclasses.replace(self._state, save=SaveState.SAVED, detail=None))
        else:
            self._set(dataclasses.replace(self._state, save=SaveState.FAILED, detail=str(exc)))

    def _set(self, state: KeyState) -> None:
        self._state = state
        self.changed.emit(state)
