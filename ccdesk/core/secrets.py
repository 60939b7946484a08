"""The API keys' home: the OS keyring, and the env overrides. No Qt; no files.

Each key provider (``KeyProvider``) has one entry in the OS keyring (``keyring``): service = the app
name, username = the provider's ``keyring_entry`` (CryptoCompare's is ``api_key``, as before there
were providers). Its environment variable (``CCDESK_API_KEY``, ``CCDESK_COINDESK_API_KEY``)
overrides it for headless use. A provider may accept another's key (CoinDesk Data takes the
CryptoCompare key): :func:`resolve_key` knows the order.
There is no plaintext fallback: plaintext, null and "fail" keyring backends are refused.

Threading: every :class:`SecretStore` call can block for as long as the desktop's keyring wants
(it may show an unlock prompt and wait for the user). Never call it on the GUI thread or on the
stream socket's thread; run it on a worker and deliver the result.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Mapping
from typing import Final

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.errors

from ccdesk.core.api_key import ENV_API_KEY, ApiKey, InvalidApiKey, KeyProvider, KeySource, ResolvedKey
from ccdesk.core.identity import app_name_from_env
from ccdesk.core.redaction import redact

logger = logging.getLogger(__name__)

KEYRING_USERNAME: Final = KeyProvider.CRYPTOCOMPARE.keyring_entry
"""The CryptoCompare key's entry, ``api_key``: the one entry there was before there were providers."""

# Backends that would store the key in plaintext, discard it, or cannot work at all.
_REFUSED_MODULE_PREFIXES: Final = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


class SecretsErrorKind(enum.Enum):
    """Why the keyring could not be used."""

    NO_BACKEND = "no_backend"
    """No usable keyring: none installed/running, or only plaintext or discarding backends."""
    LOCKED = "locked"
    """The keyring exists but is locked and was not unlocked."""
    FAILED = "failed"
    """Any other keyring error, or a stored value that is not a valid key."""


_KIND_TEXT: Final = {
    SecretsErrorKind.NO_BACKEND: (
        "no secure keyring is available to store the API key (ccdesk never stores it in a plain file); "
        f"start your desktop's keyring service (e.g. GNOME Keyring or KWallet), or set {ENV_API_KEY}"
    ),
    SecretsErrorKind.LOCKED: "the keyring is locked; unlock it and try again",
    SecretsErrorKind.FAILED: "the keyring reported an error",
}


class SecretsError(Exception):
    """A keyring operation failed.

    Attributes:
        kind: What went wrong, for code to branch on.
        detail: Extra words from the backend, already scrubbed of the key; may be empty.

    ``str(err)`` is a plain-words sentence for the user; it never contains the key.
    """

    def __init__(self, kind: SecretsErrorKind, detail: str = "") -> None:
        detail = detail.strip().rstrip(".")  # it goes in brackets mid-sentence
        self.kind = kind
        self.detail = detail
        text = _KIND_TEXT[kind]
        super().__init__(f"{text} ({detail})" if detail else text)


def _refusal_reason(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why ``backend`` must not hold the key, or ``None`` if it may."""
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        # The chainer writes to the first link that accepts: refuse if any link could be plaintext.
        members = list(backend.backends)
        if not members:
            return "no keyring backend is installed"
        reasons = [_refusal_reason(member) for member in members]
        return next((reason for reason in reasons if reason), None)
    module = type(backend).__module__
    name = type(backend).__name__
    if module.startswith(_REFUSED_MODULE_PREFIXES) or "plaintext" in name.lower():
        return f"the keyring backend {module}.{name} is not a secure store (plaintext, discarding or failing)"
    return None


class SecretStore:
    """One provider's API key entry in the OS keyring: service = the app name, username = the
    provider's ``keyring_entry`` (``api_key`` for CryptoCompare, ``coindesk_api_key`` for CoinDesk Data).

    Every method may block (see the module docstring) and raises :class:`SecretsError`, never a
    keyring or D-Bus exception. The key never appears in what is raised or logged.

    Attributes:
        service: The keyring service (the app name).
        provider: Whose key the entry holds.
        username: The entry's username.
    """

    def __init__(
        self,
        app_name: str | None = None,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
        env: Mapping[str, str] | None = None,
        provider: KeyProvider = KeyProvider.CRYPTOCOMPARE,
    ) -> None:
        """Create a store; nothing is read until a method is called.

        Args:
            app_name: The keyring service name. Defaults to :func:`app_name_from_env`, so tests
                (``CCDESK_APP_NAME=ccdesk-test``) never touch the user's real entry.
            backend: The keyring backend to use. Defaults to ``keyring.get_keyring()`` at call time.
            env: The environment for the default app name; ``os.environ`` when ``None``.
            provider: Whose key the entry holds.
        """
        if app_name is None:
            app_name = app_name_from_env(os.environ if env is None else env)
        if not app_name.strip():
            raise ValueError("the app name (keyring service) must not be blank")
        self.service: Final = app_name.strip()
        self.provider: Final = provider
        self.username: Final = provider.keyring_entry
        self._backend = backend

    def __repr__(self) -> str:
        if self.provider is KeyProvider.CRYPTOCOMPARE:
            return f"SecretStore(service={self.service!r})"
        return f"SecretStore(service={self.service!r}, provider={self.provider.value!r})"

    def for_provider(self, provider: KeyProvider) -> SecretStore:
        """The entry of ``provider``'s key in the same keyring: same service, same backend.

        Returns ``self`` for this store's own provider. Nothing is read.
        """
        if provider is self.provider:
            return self
        return SecretStore(self.service, backend=self._backend, provider=provider)

    def source(self) -> str:
        """The display name of the keyring backend that holds the key, e.g. ``SecretService Keyring``.

        Raises:
            SecretsError: NO_BACKEND if there is no acceptable backend.
        """
        backend = self._usable_backend()
        return str(getattr(backend, "name", type(backend).__name__))

    def load(self) -> ApiKey | None:
        """Read the key.

        Returns:
            The stored key, or ``None`` if none is stored.

        Raises:
            SecretsError: NO_BACKEND, LOCKED, or FAILED (also when the stored value is not a valid key).
        """
        backend = self._usable_backend()
        error: SecretsError | None = None
        try:
            raw = backend.get_password(self.service, self.username)
        except Exception as exc:
            error = self._translate(exc, "read", ())
        if error is not None:
            raise error
        if raw is None:
            logger.debug("no API key stored in keyring service %r entry %r", self.service, self.username)
            return None
        try:
            key = ApiKey(raw)
        except InvalidApiKey as exc:
            raise SecretsError(
                SecretsErrorKind.FAILED, f"the stored API key is not valid: {exc}; enter it again"
            ) from None
        logger.debug("API key %s read from keyring service %r entry %r", key, self.service, self.username)
        return key

    def save(self, key: ApiKey) -> None:
        """Store (or replace) the key.

        Raises:
            SecretsError: NO_BACKEND, LOCKED or FAILED. Nothing is ever written elsewhere instead.
        """
        if not isinstance(key, ApiKey):
            raise TypeError("save() takes an ApiKey")
        backend = self._usable_backend()
        error: SecretsError | None = None
        try:
            backend.set_password(self.service, self.username, key.reveal())
        except Exception as exc:
            error = self._translate(exc, "write", (key.reveal(),))
        if error is not None:
            raise error
        logger.info("API key %s saved to keyring service %r entry %r", key, self.service, self.username)

    def delete(self) -> bool:
        """Remove the key.

        Returns:
            True if a key was removed, False if none was stored.

        Raises:
            SecretsError: NO_BACKEND, LOCKED or FAILED.
        """
        backend = self._usable_backend()
        failure: Exception | None = None
        try:
            backend.delete_password(self.service, self.username)
        except Exception as exc:
            failure = exc
        if failure is not None:
            # Backends raise PasswordDeleteError both for "nothing stored" and for real failures.
            if isinstance(failure, keyring.errors.PasswordDeleteError) and self.load() is None:
                logger.debug(
                    "no API key to delete in keyring service %r entry %r", self.service, self.username
                )
                return False
            raise self._translate(failure, "delete", ())
        logger.info("API key deleted from keyring service %r entry %r", self.service, self.username)
        return True

    def _usable_backend(self) -> keyring.backend.KeyringBackend:
        error: SecretsError | None = None
        try:
            backend = self._backend if self._backend is not None else keyring.get_keyring()
        except Exception as exc:
            error = self._translate(exc, "open", ())
        if error is not None:
            raise error
        reason = _refusal_reason(backend)
        if reason is not None:
            logger.info("keyring refused: %s", reason)
            raise SecretsError(SecretsErrorKind.NO_BACKEND, reason)
        return backend

    def _translate(self, exc: BaseException, action: str, secrets: tuple[str, ...]) -> SecretsError:
        """Translate a backend exception into a scrubbed SecretsError.

        Callers raise the result *after* their ``except`` block, so it carries no ``__context__``:
        the raw exception (whose text may hold the key) is not reachable from what we raise.
        """
        detail = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets)
        if isinstance(exc, keyring.errors.KeyringLocked):
            kind = SecretsErrorKind.LOCKED
        elif isinstance(exc, keyring.errors.NoKeyringError | keyring.errors.InitError):
            kind = SecretsErrorKind.NO_BACKEND
        else:
            kind = SecretsErrorKind.FAILED
        logger.info(
            "keyring %s failed for service %r entry %r: %s", action, self.service, self.username, detail
        )
        return SecretsError(kind, f"could not {action} the key: {detail}")


def resolve_key(
    env: Mapping[str, str], store: SecretStore | None, provider: KeyProvider | None = None
) -> ResolvedKey | None:
    """The key to use for ``provider``: the first found, environment first, then the keyring.

    The order is ``provider.key_owners``' variables, then their keyring entries:

    - CryptoCompare: ``CCDESK_API_KEY``, then the ``api_key`` entry.
    - CoinDesk Data: ``CCDESK_COINDESK_API_KEY``, ``CCDESK_API_KEY``, the ``coindesk_api_key``
      entry, then the ``api_key`` entry (one account serves both; the result's ``borrowed_from``
      says so).

    A variable counts when it is set and non-blank. With one set, the keyring is not touched at all
    (headless machines have none).

    Args:
        env: The environment (``os.environ``).
        store: The keyring store (any provider's: its sibling entries are read through
            :meth:`SecretStore.for_provider`), or ``None`` to consult only the environment.
        provider: Whose key is wanted; ``store.provider`` when ``None`` (CryptoCompare without a store).

    Returns:
        The key, its provider and exactly where it came from, or ``None`` if there is none anywhere.

    Raises:
        InvalidApiKey: if the first variable that is set is malformed (the message names the
            variable, never its value).
        SecretsError: if the keyring cannot be read (it may block; see the module docstring).
    """
    if provider is None:
        provider = KeyProvider.CRYPTOCOMPARE if store is None else store.provider
    owners = provider.key_owners
    for owner in owners:
        name = owner.env_var
        from_env = env.get(name, "")
        if from_env.strip():
            try:
                key = ApiKey(from_env)
            except InvalidApiKey as exc:
                raise InvalidApiKey(f"{name}: {exc}") from None
            return ResolvedKey(key, KeySource.ENV, provider, _borrowed(provider, owner))
    if store is None:
        return None
    for owner in owners:
        stored = store.for_provider(owner).load()
        if stored is not None:
            return ResolvedKey(stored, KeySource.KEYRING, provider, _borrowed(provider, owner))
    return None


def _borrowed(provider: KeyProvider, owner: KeyProvider) -> KeyProvider | None:
    return None if owner is provider else owner
