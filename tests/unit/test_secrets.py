"""ApiKey masking and validation, SecretStore over hand-written keyring backends, resolve_key."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import pickle
import string
import traceback
from collections.abc import Callable, Iterator

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.api_key import ENV_API_KEY, ApiKey, InvalidApiKey, KeySource, ResolvedKey
from ccdesk.core.secrets import (
    KEYRING_USERNAME,
    SecretsError,
    SecretsErrorKind,
    SecretStore,
    app_name_from_env,
    resolve_key,
)

KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
SERVICE = "ccdesk-test"


from tests.fakes import InMemoryKeyring  # noqa: E402

# --- hand-written keyring backends -------------------------------------------------------------
# KeyringBackend subclasses register themselves globally with keyring; `viable = False` keeps
# them out of keyring's own backend detection and out of its ChainerBackend.


class RaisingKeyring(keyring.backend.KeyringBackend):
    """Raises the given exception from every call; records that it was called."""

    viable = False
    priority = 1

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        self.calls += 1
        raise self.error


class EchoingFailureKeyring(InMemoryKeyring):
    """Fails a write with the password in the message, as a careless D-Bus binding might."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"org.freedesktop.Secret.Error: cannot store {password!r} for {service}")


class PlaintextKeyring(InMemoryKeyring):
    """Looks like keyrings.alt's plaintext file backend."""

    writes = 0

    def set_password(self, service: str, username: str, password: str) -> None:
        PlaintextKeyring.writes += 1
        super().set_password(service, username, password)


PlaintextKeyring.__module__ = "keyrings.alt.file"


class ChainWithPlaintext(keyring.backends.chainer.ChainerBackend):
    viable = False
    backends = (InMemoryKeyring(), PlaintextKeyring())


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in (record.exc_text or "")


@pytest.fixture
def memory() -> InMemoryKeyring:
    return InMemoryKeyring()


def _call(store: SecretStore, action: str) -> None:
    """Run one SecretStore method by name (``save`` with the test key)."""
    if action == "save":
        store.save(ApiKey(KEY))
    else:
        method: Callable[[], object] = getattr(store, action)
        method()


# --- ApiKey ------------------------------------------------------------------------------------


def test_api_key_strips_and_reveals() -> None:
    assert ApiKey(f"  {KEY}\n").reveal() == KEY


def test_api_key_text_forms_are_masked() -> None:
    key = ApiKey(KEY)
    assert repr(key) == "ApiKey('01\u2026ef')"
    assert str(key) == "01\u2026ef"
    assert f"{key}" == "01\u2026ef"
    assert key.masked() == "01\u2026ef"
    assert KEY not in repr([key, {"k": key}])


def test_short_keys_are_fully_masked() -> None:
    key = ApiKey("abcdefghijk")  # 11 characters
    assert key.masked() == "\u2026"
    assert repr(key) == "ApiKey('\u2026')"


@given(st.text(alphabet=string.ascii_letters + string.digits + string.punctuation, min_size=12, max_size=256))
def test_no_text_form_contains_a_long_key(raw: str) -> None:
    key = ApiKey(raw)
    for shown in (repr(key), str(key), f"{key!r} {key}", key.masked()):
        assert raw not in shown


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("abc def", "a space at position 4"),
        ("abc\x00def", "not printable ASCII at position 4"),
        ("abc\u00e9def", "not printable ASCII at position 4"),
        ("x" * 257, "257 characters long"),
    ],
)
def test_invalid_keys_are_rejected_in_plain_words_without_echoing(text: str, reason: str) -> None:
    with pytest.raises(InvalidApiKey, match=reason) as excinfo:
        ApiKey(text)
    if text.strip():
        assert text.strip() not in str(excinfo.value)


def test_api_key_rejects_non_text() -> None:
    with pytest.raises(InvalidApiKey, match="must be text"):
        ApiKey(123)  # type: ignore[arg-type]


def test_api_key_equality_hash_and_immutability() -> None:
    key = ApiKey(KEY)
    assert key == ApiKey(f" {KEY} ")
    assert key != ApiKey(KEY[:-1])
    assert key != KEY
    assert len({key, ApiKey(KEY)}) == 1
    with pytest.raises(AttributeError):
        key._value = "other"
    assert copy.copy(key) is key
    assert copy.deepcopy(key) is key


def test_api_key_refuses_pickling() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ApiKey(KEY))


def test_resolved_key_repr_is_masked_and_asdict_works() -> None:
    resolved = ResolvedKey(ApiKey(KEY), KeySource.KEYRING)
    assert KEY not in repr(resolved)
    assert dataclasses.asdict(resolved)["key"] == ApiKey(KEY)


# --- SecretStore -------------------------------------------------------------------------------


def test_service_name_comes_from_the_app_name() -> None:
    assert SecretStore(backend=InMemoryKeyring()).service == os.environ["CCDESK_APP_NAME"] == SERVICE
    assert SecretStore(env={"CCDESK_APP_NAME": " other "}).service == "other"
    assert SecretStore(env={}).service == "ccdesk"
    assert SecretStore("explicit").service == "explicit"
    assert app_name_from_env({"CCDESK_APP_NAME": "   "}) == "ccdesk"
    with pytest.raises(ValueError, match="blank"):
        SecretStore("  ")


def test_save_load_delete_round_trip(memory: InMemoryKeyring) -> None:
    store = SecretStore(SERVICE, backend=memory)
    assert store.load() is None
    store.save(ApiKey(KEY))
    assert memory.items == {(SERVICE, KEYRING_USERNAME): KEY}
    assert store.load() == ApiKey(KEY)
    assert store.delete() is True
    assert memory.items == {}
    assert store.delete() is False
    assert store.load() is None


def test_store_repr_and_source(memory: InMemoryKeyring) -> None:
    store = SecretStore(SERVICE, backend=memory)
    store.save(ApiKey(KEY))
    assert repr(store) == "SecretStore(service='ccdesk-test')"
    assert store.source() == "fakes InMemoryKeyring"  # keyring's display name


def test_default_backend_is_keyrings_current_one(
    memory: InMemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory)
    SecretStore(SERVICE).save(ApiKey(KEY))
    assert memory.items[(SERVICE, KEYRING_USERNAME)] == KEY


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.fail.Keyring(),
        keyring.backends.null.Keyring(),
        PlaintextKeyring(),
        ChainWithPlaintext(),
    ],
    ids=["fail", "null", "plaintext", "chain-with-plaintext"],
)
@pytest.mark.parametrize("action", ["load", "save", "delete", "source"])
def test_insecure_or_missing_backends_are_refused(
    backend: keyring.backend.KeyringBackend, action: str
) -> None:
    store = SecretStore(SERVICE, backend=backend)
    writes_before = PlaintextKeyring.writes
    with pytest.raises(SecretsError) as excinfo:
        _call(store, action)
    assert excinfo.value.kind is SecretsErrorKind.NO_BACKEND
    assert "never stores it in a plain file" in str(excinfo.value)
    assert ENV_API_KEY in str(excinfo.value)
    assert PlaintextKeyring.writes == writes_before


def test_no_keyring_error_from_a_backend_is_no_backend() -> None:
    store = SecretStore(SERVICE, backend=RaisingKeyring(keyring.errors.NoKeyringError("none here")))
    with pytest.raises(SecretsError) as excinfo:
        store.load()
    assert excinfo.value.kind is SecretsErrorKind.NO_BACKEND


def test_keyring_init_failure_is_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> keyring.backend.KeyringBackend:
        raise keyring.errors.InitError("PYTHON_KEYRING_BACKEND names a missing module")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    with pytest.raises(SecretsError) as excinfo:
        SecretStore(SERVICE).load()
    assert excinfo.value.kind is SecretsErrorKind.NO_BACKEND


@pytest.mark.parametrize("action", ["load", "save", "delete"])
def test_locked_keyring(action: str) -> None:
    store = SecretStore(SERVICE, backend=RaisingKeyring(keyring.errors.KeyringLocked("Failed to unlock")))
    with pytest.raises(SecretsError) as excinfo:
        _call(store, action)
    assert excinfo.value.kind is SecretsErrorKind.LOCKED
    assert str(excinfo.value).startswith("the keyring is locked; unlock it and try again")


@pytest.mark.parametrize("error", [keyring.errors.PasswordSetError("denied"), OSError("D-Bus went away")])
def test_other_errors_are_failed(error: Exception) -> None:
    store = SecretStore(SERVICE, backend=RaisingKeyring(error))
    with pytest.raises(SecretsError) as excinfo:
        store.load()
    assert excinfo.value.kind is SecretsErrorKind.FAILED
    assert str(error) in excinfo.value.detail


def test_failure_text_is_scrubbed_and_the_raw_exception_is_unreachable() -> None:
    store = SecretStore(SERVICE, backend=EchoingFailureKeyring())
    with pytest.raises(SecretsError) as excinfo:
        store.save(ApiKey(KEY))
    err = excinfo.value
    assert err.kind is SecretsErrorKind.FAILED
    assert "cannot store '***'" in err.detail
    assert err.__cause__ is None
    assert err.__context__ is None
    rendered = "".join(traceback.format_exception(err)) + repr(err) + str(err)
    assert KEY not in rendered


def test_delete_failure_when_a_key_exists_is_reported() -> None:
    class StuckKeyring(InMemoryKeyring):
        def delete_password(self, service: str, username: str) -> None:
            raise keyring.errors.PasswordDeleteError("permission denied")

    backend = StuckKeyring()
    backend.items[(SERVICE, KEYRING_USERNAME)] = KEY
    with pytest.raises(SecretsError) as excinfo:
        SecretStore(SERVICE, backend=backend).delete()
    assert excinfo.value.kind is SecretsErrorKind.FAILED


def test_a_malformed_stored_value_is_failed_without_echoing_it(memory: InMemoryKeyring) -> None:
    memory.items[(SERVICE, KEYRING_USERNAME)] = "has a space-secretvalue"
    with pytest.raises(SecretsError) as excinfo:
        SecretStore(SERVICE, backend=memory).load()
    assert excinfo.value.kind is SecretsErrorKind.FAILED
    assert "enter it again" in str(excinfo.value)
    assert "secretvalue" not in str(excinfo.value)


def test_save_requires_an_api_key(memory: InMemoryKeyring) -> None:
    with pytest.raises(TypeError):
        SecretStore(SERVICE, backend=memory).save(KEY)  # type: ignore[arg-type]
    assert memory.items == {}


# --- resolve_key -------------------------------------------------------------------------------


def test_env_overrides_and_the_keyring_is_not_touched() -> None:
    tripwire = RaisingKeyring(AssertionError("keyring must not be used"))
    resolved = resolve_key({ENV_API_KEY: f" {KEY}\n"}, SecretStore(SERVICE, backend=tripwire))
    assert resolved == ResolvedKey(ApiKey(KEY), KeySource.ENV)
    assert tripwire.calls == 0


def test_keyring_is_used_when_env_is_unset_or_blank(memory: InMemoryKeyring) -> None:
    store = SecretStore(SERVICE, backend=memory)
    store.save(ApiKey(KEY))
    expected = ResolvedKey(ApiKey(KEY), KeySource.KEYRING)
    assert resolve_key({}, store) == expected
    assert resolve_key({ENV_API_KEY: "  "}, store) == expected


def test_no_key_anywhere(memory: InMemoryKeyring) -> None:
    assert resolve_key({}, SecretStore(SERVICE, backend=memory)) is None
    assert resolve_key({}, None) is None


def test_malformed_env_key_names_the_variable_not_the_value() -> None:
    with pytest.raises(InvalidApiKey, match=ENV_API_KEY) as excinfo:
        resolve_key({ENV_API_KEY: "secret with-space"}, None)
    assert "with-space" not in str(excinfo.value)


def test_keyring_errors_propagate_from_resolve_key() -> None:
    store = SecretStore(SERVICE, backend=keyring.backends.fail.Keyring())
    with pytest.raises(SecretsError) as excinfo:
        resolve_key({}, store)
    assert excinfo.value.kind is SecretsErrorKind.NO_BACKEND
