"""The API key as a value: masked in every repr, where it came from, what is wrong with it. Pure data.

Kept apart from the keyring (``secrets.py``, which loads ``keyring`` and its D-Bus backends) so
that views and words can use these types before the slow imports.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import Final, NoReturn

ENV_API_KEY: Final = "CCDESK_API_KEY"


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
                    "copy the key again from your CryptoCompare account page"
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
    """The key to use and where it came from. Its repr shows only the masked key."""

    key: ApiKey
    source: KeySource


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
    """What the app knows about its API key. Its repr shows only the masked key.

    Attributes:
        key: The key in use, or None.
        source: Where it came from (None without a key).
        problem: What is wrong, or None.
        save: For an entered key, whether it reached the keyring; None otherwise.
        detail: Words from the keyring or the validation for ``problem`` or a failed save (never
            the key), or None.
    """

    key: ApiKey | None = None
    source: KeySource | None = None
    problem: KeyProblem | None = None
    save: SaveState | None = None
    detail: str | None = None
