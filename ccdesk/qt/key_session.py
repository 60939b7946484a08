"""The API keys for this session, one per provider: where each comes from, saving, removing and
checking it. Keyring and REST calls run as background jobs, never on the GUI thread (a keyring may
wait on an unlock prompt)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal

from ccdesk.core.api_key import (
    ApiKey,
    KeyProblem,
    KeyProvider,
    KeySource,
    KeyState,
    ResolvedKey,
    SaveState,
)
from ccdesk.core.key_check import KeyCheck
from ccdesk.core.rest import key_check_for
from ccdesk.core.secrets import SecretsError, SecretStore, resolve_key
from ccdesk.qt.jobs import BackgroundJobs

log = logging.getLogger(__name__)

CheckFn = Callable[[str | None, ApiKey], KeyCheck]


class KeySession(QObject):
    """Holds one provider's key in use and what is known about it (a typed ``KeyState``).

    Signals:
        changed(KeyState): the key, its source, a problem or the saving state changed.
        verified(object): a Verify finished: a ``KeyCheck``, or the ``Exception`` that stopped the
            check from running.
        removed(object): a Remove finished: None, or the ``SecretsError`` that stopped it.
    """

    changed = Signal(object)
    verified = Signal(object)
    removed = Signal(object)

    def __init__(
        self,
        secrets: SecretStore,
        jobs: BackgroundJobs,
        env: Mapping[str, str],
        check: CheckFn | None = None,
        parent: QObject | None = None,
        *,
        provider: KeyProvider = KeyProvider.CRYPTOCOMPARE,
    ) -> None:
        super().__init__(parent)
        self.provider = provider
        self._secrets = secrets.for_provider(provider)
        self._jobs = jobs
        self._env = dict(env)
        self._check = check or key_check_for(provider)
        self._state = KeyState(problem=KeyProblem.MISSING, provider=provider)
        self._answered = False  # the keyring has answered once
        # The provider's keyring reads and writes run in the order asked for: a save, then a
        # delete (or a second save) while the keyring waits on an unlock prompt must not swap.
        self._keyring_lane = f"keyring-{provider.value}"

    @property
    def state(self) -> KeyState:
        """What is known about the key now."""
        return self._state

    @property
    def answered(self) -> bool:
        """True once the keyring (or the environment) has answered: a missing key is then known
        to be missing, not still being looked for."""
        return self._answered

    @property
    def key(self) -> ApiKey | None:
        """The key in use, or None."""
        return self._state.key

    def secrets_for_logs(self) -> tuple[str, ...]:
        """The key in use, for the log filter to scrub wherever it might appear."""
        key = self._state.key
        return () if key is None else (key.reveal(),)

    def resolve(self) -> None:
        """Find the key: the provider's variables, else the keyring (in the background; CoinDesk
        Data may borrow the CryptoCompare key). ``changed`` follows."""
        env, secrets, provider = self._env, self._secrets, self.provider
        self._jobs.run(
            "keyring",
            lambda: resolve_key(env, secrets, provider),
            self._on_resolved,
            self._on_resolve_failed,
            lane=self._keyring_lane,
        )

    def enter(self, key: ApiKey) -> None:
        """Use ``key`` now and save it to the keyring in the background. ``changed`` follows twice."""
        self._set(KeyState(key, KeySource.ENTERED, save=SaveState.SAVING, provider=self.provider))
        secrets = self._secrets
        self._jobs.run(
            "keyring",
            lambda: secrets.save(key),
            lambda _: self._on_saved(key, None),
            lambda exc: self._on_saved(key, exc),
            lane=self._keyring_lane,
        )

    def remove(self) -> None:
        """Delete the provider's own keyring entry in the background, then look for a key again (a
        variable, or the key CoinDesk Data borrows, may remain). ``removed`` and ``changed`` follow."""
        secrets = self._secrets
        self._jobs.run("keyring", secrets.delete, self._on_removed, self._on_removed, lane=self._keyring_lane)

    def _on_removed(self, result: bool | Exception) -> None:
        if isinstance(result, Exception):
            self.removed.emit(result)
            return
        self._set(KeyState(problem=KeyProblem.MISSING, provider=self.provider))
        self.removed.emit(None)
        self.resolve()

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
            self._answer(KeyState(problem=KeyProblem.MISSING, provider=self.provider))
        else:
            self._answer(KeyState.from_resolved(resolved))

    def _on_resolve_failed(self, exc: Exception) -> None:
        if self._state.source is KeySource.ENTERED:
            return
        problem = KeyProblem.UNREADABLE if isinstance(exc, SecretsError) else KeyProblem.MALFORMED
        if not isinstance(exc, SecretsError | ValueError):
            log.warning("reading the key failed: %s", type(exc).__name__)
        self._answer(KeyState(problem=problem, detail=str(exc), provider=self.provider))

    def _answer(self, state: KeyState) -> None:
        """The keyring's answer: news the first time, and afterwards only if it changed anything
        (looking again finds the same key: its sources must not be restarted for it)."""
        if self._answered and state == self._state:
            return
        self._answered = True
        self._set(state)

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


class ApiKeys(QObject):
    """One :class:`KeySession` per provider, and what ties them: CoinDesk Data borrows the
    CryptoCompare key when it has none of its own, so a change to that key looks again.

    Signals:
        changed(KeyState): one provider's state changed (``state.provider`` says whose).
    """

    changed = Signal(object)

    def __init__(
        self,
        secrets: SecretStore,
        jobs: BackgroundJobs,
        env: Mapping[str, str],
        check: CheckFn | None = None,
        parent: QObject | None = None,
    ) -> None:
        """Args:
        secrets: The keyring store (any provider's entry: each session takes its own).
        jobs: Where keyring and REST calls run.
        env: The environment (``CCDESK_API_KEY``, ``CCDESK_COINDESK_API_KEY``).
        check: One key check for every provider (tests); by default each provider's own.
        parent: The Qt parent.
        """
        super().__init__(parent)
        self.sessions: dict[KeyProvider, KeySession] = {
            p: KeySession(secrets, jobs, env, check, self, provider=p) for p in KeyProvider
        }
        for session in self.sessions.values():
            session.changed.connect(self._on_session_changed)

    def __getitem__(self, provider: KeyProvider) -> KeySession:
        return self.sessions[provider]

    def key(self, provider: KeyProvider) -> ApiKey | None:
        """The key in use for ``provider``, or None."""
        return self.sessions[provider].key

    def state(self, provider: KeyProvider) -> KeyState:
        """What is known about ``provider``'s key now."""
        return self.sessions[provider].state

    def resolve(self) -> None:
        """Find every provider's key (in the background). ``changed`` follows for each."""
        for session in self.sessions.values():
            session.resolve()

    def secrets_for_logs(self) -> tuple[str, ...]:
        """Every key in use, for the log filter to scrub wherever it might appear."""
        return tuple(dict.fromkeys(k for s in self.sessions.values() for k in s.secrets_for_logs()))

    def _on_session_changed(self, state: KeyState) -> None:
        self.changed.emit(state)
        if state.save in (SaveState.SAVING, SaveState.FAILED):
            return  # not in the keyring (yet): nothing another provider could borrow
        for session in self.sessions.values():
            mine = session.state
            borrows = mine.borrowed_from is state.provider or (
                mine.key is None and state.provider in session.provider.key_owners
            )
            if session.provider is not state.provider and borrows and mine.source is not KeySource.ENTERED:
                session.resolve()  # the key it borrows (or could borrow) changed
