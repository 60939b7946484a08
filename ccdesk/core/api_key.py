"""API keys as values: whose key it is (``KeyProvider``), masked in every repr, where it came from,
what is wrong with it. Pure data: no I/O, no keyring, no network.

Kept apart from the keyring (``secrets.py``, which loads ``keyring`` and its D-Bus backends) so
that views and words can use these types before the slow imports.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import Final, NoReturn

from ccdesk.core.identity import COINDESK_KEYS_URL, KEYS_URL

ENV_API_KEY: Final = "CCDESK_API_KEY"
"""CryptoCompare's key; CoinDesk Data falls back to it (one account serves both)."""
ENV_COINDESK_API_KEY: Final = "CCDESK_COINDESK_API_KEY"
"""CoinDesk Data's own key."""


class KeyProvider(enum.Enum):
    """Whose API key a source needs (one account may serve several sources).

    Each provider has its own environment variable and keyring entry. A provider may also accept
    another provider's key (:attr:`key_owners`): CoinDesk Data accepts the CryptoCompare key,
    because CryptoCompare is now CoinDesk Data and one account serves both.
    """

    CRYPTOCOMPARE = "cryptocompare"
    COINDESK = "coindesk"

    @property
    def title(self) -> str:
        """The provider's name as people write it: ``CryptoCompare``, ``CoinDesk Data``."""
        return _TITLES[self]

    @property
    def env_var(self) -> str:
        """The provider's own environment variable: ``CCDESK_API_KEY``, ``CCDESK_COINDESK_API_KEY``."""
        return _ENV_VARS[self]

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every variable that can hold a key for this provider, in the order they are read."""
        return tuple(owner.env_var for owner in self.key_owners)

    @property
    def keyring_entry(self) -> str:
        """The username of the provider's own keyring entry (the service is the app name).

        CryptoCompare's is ``api_key``, the one entry ccdesk had before there were providers, so
        keys saved by earlier versions keep working.
        """
        return _KEYRING_ENTRIES[self]

    @property
    def key_owners(self) -> tuple[KeyProvider, ...]:
        """The providers whose keys this one accepts, its own first: the lookup order."""
        return _KEY_OWNERS[self]

    @property
    def keys_url(self) -> str:
        """Where a key for this provider is made."""
        return _KEYS_URLS[self]


_TITLES: Final = {KeyProvider.CRYPTOCOMPARE: "CryptoCompare", KeyProvider.COINDESK: "CoinDesk Data"}
_ENV_VARS: Final = {KeyProvider.CRYPTOCOMPARE: ENV_API_KEY, KeyProvider.COINDESK: ENV_COINDESK_API_KEY}
_KEYRING_ENTRIES: Final = {KeyProvider.CRYPTOCOMPARE: "api_key", KeyProvider.COINDESK: "coindesk_api_key"}
_KEY_OWNERS: Final = {
    KeyProvider.CRYPTOCOMPARE: (KeyProvider.CRYPTOCOMPARE,),
    # CryptoCompare is now CoinDesk Data: a CryptoCompare account's key serves both (SOURCES.md).
    KeyProvider.COINDESK: (KeyProvider.COINDESK, KeyProvider.CRYPTOCOMPARE),
}
_KEYS_URLS: Final = {KeyProvider.CRYPTOCOMPARE: KEYS_URL, KeyProvider.COINDESK: COINDESK_KEYS_URL}


MAX_KEY_LENGTH: Final = 256


_MIN_PARTIAL_MASK_LENGTH: Final = 12


_ELLIPSIS: Final = "\u2026"


class InvalidApiKey(ValueError):
    """Text that cannot be an API key. ``str(err)`` says why in plain words and never contains the text."""


class ApiKey:
    """An API key whose ``repr``/``str``/``format`` are masked; :meth:`reveal` gives the raw value.

    Immutable. Equality is constant-time. Pickling is refused so the key cannot end up in a
    cache file by accident.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, text: str) -> None:
        """Validate and wrap a key.

        Surrounding whitespace is stripped (keys are often pasted with a trailing newline).

        Args:
            text: The key as typed, pasted, or read from the keyring or the environment.

        Raises:
            InvalidApiKey: if the text is empty, too long, or has spaces or non-printable or
                non-ASCII characters.
        """
        if not isinstance(text, str):
            raise InvalidApiKey(f"an API key must be text, not {type(text).__name__}")
        value = text.strip()
        if not value:
            raise InvalidApiKey("the API key is empty")
        if len(value) > MAX_KEY_LENGTH:
            raise InvalidApiKey(
                f"the API key is {len(value)} characters long; keys are at most {MAX_KEY_LENGTH}"
            )
        for position, char in enumerate(value, start=1):
            if not ("!" <= char <= "~"):
                what = "a space" if char.isspace() else "a character that is not printable ASCII"
                raise InvalidApiKey(
                    f"the API key contains {what} at position {position}; "
                    "copy the key again from your CryptoCompare or CoinDesk Data account page"
                )
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The raw key. Pass it only to the HTTP header or the keyring, never to a log or a widget."""
        return self._value

    def masked(self) -> str:
        """A display form that cannot give the key away: ``ab…yz``, or ``…`` for keys under 12 characters."""
        if len(self._value) < _MIN_PARTIAL_MASK_LENGTH:
            return _ELLIPSIS
        return f"{self._value[:2]}{_ELLIPSIS}{self._value[-2:]}"

    def __repr__(self) -> str:
        return f"ApiKey({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((ApiKey, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ApiKey is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ApiKey is immutable")

    def __copy__(self) -> ApiKey:
        return self

    def __deepcopy__(self, memo: object) -> ApiKey:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("ApiKey cannot be pickled: the key must stay in memory or in the keyring")


class KeySource(enum.Enum):
    """Where the key in use came from."""

    ENV = "env"
    KEYRING = "keyring"
    ENTERED = "entered"
    """Typed into the app in this session (and being saved to the keyring)."""


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """The key to use, for which provider, and where exactly it came from. Its repr shows only the
    masked key.

    Attributes:
        key: The key.
        source: The environment, the keyring, or typed in.
        provider: The provider it is used for.
        borrowed_from: The provider whose key it is when it is not ``provider``'s own (CoinDesk
            Data using the CryptoCompare key: ``CCDESK_API_KEY`` or the ``api_key`` entry); None
            for the provider's own key.
    """

    key: ApiKey
    source: KeySource
    provider: KeyProvider = KeyProvider.CRYPTOCOMPARE
    borrowed_from: KeyProvider | None = None

    @property
    def owner(self) -> KeyProvider:
        """Whose key it is: the provider whose variable or keyring entry held it."""
        return self.borrowed_from or self.provider

    @property
    def shared(self) -> bool:
        """True if it is another provider's key (one account serves both)."""
        return self.borrowed_from is not None

    @property
    def env_var(self) -> str | None:
        """The environment variable it was read from, or None if it did not come from the environment."""
        return self.owner.env_var if self.source is KeySource.ENV else None

    @property
    def keyring_entry(self) -> str | None:
        """The keyring entry (username) it was read from, or None if it did not come from the keyring."""
        return self.owner.keyring_entry if self.source is KeySource.KEYRING else None


class KeyProblem(enum.Enum):
    """Why there is no usable key."""

    MISSING = "missing"
    """No key anywhere: not in the environment, not in the keyring."""
    UNREADABLE = "unreadable"
    """The keyring could not be read (no keyring, locked, failing)."""
    MALFORMED = "malformed"
    """The environment's key is not a valid key."""
    REJECTED = "rejected"
    """The server refused the key."""


class SaveState(enum.Enum):
    """Whether an entered key reached the keyring."""

    SAVING = "saving"
    SAVED = "saved"
    FAILED = "failed"
    """It could not be saved: it is used for this session only, and nothing was written to disk."""


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the app knows about one provider's API key. Its repr shows only the masked key.

    Attributes:
        key: The key in use, or None.
        source: Where it came from (None without a key).
        problem: What is wrong, or None.
        save: For an entered key, whether it reached the keyring; None otherwise.
        detail: Words from the keyring or the validation for ``problem`` or a failed save (never
            the key), or None.
        provider: The provider the key is for.
        borrowed_from: As in :class:`ResolvedKey`: the provider whose key is in use when it is
            not ``provider``'s own, else None.
    """

    key: ApiKey | None = None
    source: KeySource | None = None
    problem: KeyProblem | None = None
    save: SaveState | None = None
    detail: str | None = None
    provider: KeyProvider = KeyProvider.CRYPTOCOMPARE
    borrowed_from: KeyProvider | None = None

    @classmethod
    def from_resolved(cls, resolved: ResolvedKey) -> KeyState:
        """The state of a key found by ``resolve_key``: its provider and origin carried over."""
        return cls(
            resolved.key, resolved.source, provider=resolved.provider, borrowed_from=resolved.borrowed_from
        )

    @property
    def owner(self) -> KeyProvider:
        """Whose key it is: the provider whose variable or keyring entry held it."""
        return self.borrowed_from or self.provider

    @property
    def shared(self) -> bool:
        """True if the key in use is another provider's (one account serves both)."""
        return self.borrowed_from is not None

    @property
    def env_var(self) -> str | None:
        """The environment variable the key was read from, or None if it did not come from there."""
        return self.owner.env_var if self.source is KeySource.ENV else None

    @property
    def keyring_entry(self) -> str | None:
        """The keyring entry (username) the key was read from, or None if it did not come from there."""
        return self.owner.keyring_entry if self.source is KeySource.KEYRING else None
