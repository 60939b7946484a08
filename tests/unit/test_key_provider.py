"""Keys per provider: the provider facts, one keyring entry each, and the order resolve_key reads them in."""

from __future__ import annotations

import dataclasses
import logging
import traceback
from collections.abc import Iterator

import keyring.backends.fail
import keyring.errors
import pytest

from ccdesk.core import sources
from ccdesk.core.api_key import (
    ENV_API_KEY,
    ENV_COINDESK_API_KEY,
    ApiKey,
    InvalidApiKey,
    KeyProvider,
    KeySource,
    KeyState,
    ResolvedKey,
)
from ccdesk.core.identity import COINDESK_KEYS_URL, DEFAULT_COINDESK_REST_URL, KEYS_URL
from ccdesk.core.pairs import Source
from ccdesk.core.secrets import KEYRING_USERNAME, SecretsError, SecretsErrorKind, SecretStore, resolve_key
from tests.fakes import InMemoryKeyring

CC_KEY = "cc0123456789abcdef0123456789abcdef0123456789abcdef0123456789abyz"
CD_KEY = "cd0123456789abcdef0123456789abcdef0123456789abcdef0123456789abwx"
SERVICE = "ccdesk-test"
CC, CD = KeyProvider.CRYPTOCOMPARE, KeyProvider.COINDESK


class CountingKeyring(InMemoryKeyring):
    """Records every (service, username) read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.reads.append((service, username))
        return super().get_password(service, username)


class TripwireKeyring(InMemoryKeyring):
    """Fails the test if anything reads or writes the keyring."""

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("the keyring must not be read")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("the keyring must not be written")


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        for key in (CC_KEY, CD_KEY):
            assert key not in record.getMessage()
            assert key not in (record.exc_text or "")


@pytest.fixture
def memory() -> CountingKeyring:
    return CountingKeyring()


def _stores(backend: InMemoryKeyring) -> tuple[SecretStore, SecretStore]:
    cc = SecretStore(SERVICE, backend=backend)
    return cc, cc.for_provider(CD)


# --- the provider facts ------------------------------------------------------------------------


def test_provider_titles_variables_entries_and_urls() -> None:
    assert [p.title for p in KeyProvider] == ["CryptoCompare", "CoinDesk Data"]
    assert ENV_API_KEY == "CCDESK_API_KEY"
    assert ENV_COINDESK_API_KEY == "CCDESK_COINDESK_API_KEY"
    assert CC.env_var == ENV_API_KEY
    assert CD.env_var == ENV_COINDESK_API_KEY
    assert CC.env_vars == ("CCDESK_API_KEY",)
    assert CD.env_vars == ("CCDESK_COINDESK_API_KEY", "CCDESK_API_KEY")
    assert CC.keyring_entry == KEYRING_USERNAME == "api_key"  # what earlier versions saved under
    assert CD.keyring_entry == "coindesk_api_key"
    assert CC.key_owners == (CC,)
    assert CD.key_owners == (CD, CC)
    assert CC.keys_url == KEYS_URL
    assert CD.keys_url == COINDESK_KEYS_URL == "https://developers.coindesk.com/settings/api-keys"
    assert DEFAULT_COINDESK_REST_URL == "https://data-api.coindesk.com"


def test_sources_declare_providers_from_api_key() -> None:
    assert sources.dialect_for(Source.CRYPTOCOMPARE).info.key is CC
    assert sources.dialect_for(Source.COINDESK).info.key is CD
    assert sources.base.KeyProvider is KeyProvider  # one enum, not a copy


# --- ResolvedKey and KeyState ------------------------------------------------------------------


def test_resolved_key_defaults_are_the_cryptocompare_key_as_before() -> None:
    resolved = ResolvedKey(ApiKey(CC_KEY), KeySource.ENV)
    assert resolved == ResolvedKey(ApiKey(CC_KEY), KeySource.ENV, CC, None)
    assert resolved.provider is CC
    assert resolved.owner is CC
    assert not resolved.shared
    assert resolved.env_var == "CCDESK_API_KEY"
    assert resolved.keyring_entry is None


@pytest.mark.parametrize(
    ("source", "borrowed", "env_var", "entry"),
    [
        (KeySource.ENV, None, "CCDESK_COINDESK_API_KEY", None),
        (KeySource.ENV, CC, "CCDESK_API_KEY", None),
        (KeySource.KEYRING, None, None, "coindesk_api_key"),
        (KeySource.KEYRING, CC, None, "api_key"),
        (KeySource.ENTERED, None, None, None),
    ],
)
def test_origin_names_the_variable_or_entry(
    source: KeySource, borrowed: KeyProvider | None, env_var: str | None, entry: str | None
) -> None:
    resolved = ResolvedKey(ApiKey(CD_KEY), source, CD, borrowed)
    state = KeyState.from_resolved(resolved)
    for origin in (resolved, state):
        assert origin.provider is CD
        assert origin.shared is (borrowed is not None)
        assert origin.owner is (borrowed or CD)
        assert origin.env_var == env_var
        assert origin.keyring_entry == entry
    assert state == KeyState(ApiKey(CD_KEY), source, provider=CD, borrowed_from=borrowed)


def test_key_state_defaults_keep_the_old_positional_form() -> None:
    state = KeyState(ApiKey(CC_KEY), KeySource.KEYRING)
    assert state.provider is CC
    assert state.borrowed_from is None
    assert state.keyring_entry == "api_key"
    assert KeyState().env_var is None
    assert KeyState().keyring_entry is None


def test_reprs_show_only_the_masked_key() -> None:
    resolved = ResolvedKey(ApiKey(CD_KEY), KeySource.KEYRING, CD, CC)
    state = KeyState.from_resolved(resolved)
    for shown in (repr(resolved), str(resolved), repr(state), str(state), repr(dataclasses.asdict(state))):
        assert CD_KEY not in shown
        assert "cd\u2026wx" in shown
    assert "COINDESK" in repr(resolved)


# --- SecretStore per provider ------------------------------------------------------------------


def test_each_provider_has_its_own_entry(memory: CountingKeyring) -> None:
    cc, cd = _stores(memory)
    assert (cc.provider, cc.username) == (CC, "api_key")
    assert (cd.provider, cd.username) == (CD, "coindesk_api_key")
    assert cd.service == cc.service == SERVICE
    cc.save(ApiKey(CC_KEY))
    cd.save(ApiKey(CD_KEY))
    assert memory.items == {(SERVICE, "api_key"): CC_KEY, (SERVICE, "coindesk_api_key"): CD_KEY}
    assert cc.load() == ApiKey(CC_KEY)
    assert cd.load() == ApiKey(CD_KEY)
    assert cd.delete() is True
    assert memory.items == {(SERVICE, "api_key"): CC_KEY}  # the other entry is untouched
    assert cd.delete() is False
    assert cd.load() is None


def test_an_existing_users_key_is_still_found_where_it_was_saved(memory: CountingKeyring) -> None:
    memory.items[(SERVICE, "api_key")] = CC_KEY  # saved by ccdesk before there were providers
    assert SecretStore(SERVICE, backend=memory).load() == ApiKey(CC_KEY)
    assert resolve_key({}, SecretStore(SERVICE, backend=memory)) == ResolvedKey(
        ApiKey(CC_KEY), KeySource.KEYRING
    )


def test_sibling_store_shares_service_and_backend(memory: CountingKeyring) -> None:
    cc = SecretStore(SERVICE, backend=memory)
    cd = cc.for_provider(CD)
    assert cc.for_provider(CC) is cc
    assert cd.for_provider(CD) is cd
    back = cd.for_provider(CC)
    assert (back.service, back.provider, back.username) == (SERVICE, CC, "api_key")
    assert cd.source() == cc.source() == "test key provider CountingKeyring"
    assert repr(cc) == "SecretStore(service='ccdesk-test')"
    assert repr(cd) == "SecretStore(service='ccdesk-test', provider='coindesk')"
    direct = SecretStore(SERVICE, backend=memory, provider=CD)
    assert (direct.provider, direct.username) == (CD, "coindesk_api_key")


def test_sibling_of_a_default_backend_store_follows_keyrings_current_one(
    memory: CountingKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory)
    SecretStore(SERVICE).for_provider(CD).save(ApiKey(CD_KEY))
    assert memory.items == {(SERVICE, "coindesk_api_key"): CD_KEY}


def test_a_failed_coindesk_save_is_scrubbed() -> None:
    class Echoing(InMemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise RuntimeError(f"cannot store {password!r} as {username}")

    with pytest.raises(SecretsError) as excinfo:
        SecretStore(SERVICE, backend=Echoing(), provider=CD).save(ApiKey(CD_KEY))
    err = excinfo.value
    assert err.kind is SecretsErrorKind.FAILED
    assert "coindesk_api_key" in err.detail
    rendered = "".join(traceback.format_exception(err)) + repr(err) + str(err)
    assert CD_KEY not in rendered


# --- resolve_key: CryptoCompare as before ---------------------------------------------------------


def test_cryptocompare_never_uses_the_coindesk_key(memory: CountingKeyring) -> None:
    cc, cd = _stores(memory)
    cd.save(ApiKey(CD_KEY))
    assert resolve_key({ENV_COINDESK_API_KEY: CD_KEY}, cc) is None
    assert resolve_key({ENV_COINDESK_API_KEY: CD_KEY}, cd, CC) is None
    assert memory.reads == [(SERVICE, "api_key"), (SERVICE, "api_key")]


def test_provider_defaults_to_the_stores(memory: CountingKeyring) -> None:
    cc, cd = _stores(memory)
    cc.save(ApiKey(CC_KEY))
    assert resolve_key({}, cc) == ResolvedKey(ApiKey(CC_KEY), KeySource.KEYRING, CC)
    assert resolve_key({}, cd) == ResolvedKey(ApiKey(CC_KEY), KeySource.KEYRING, CD, CC)
    assert resolve_key({}, cc, CD) == ResolvedKey(ApiKey(CC_KEY), KeySource.KEYRING, CD, CC)
    assert resolve_key({ENV_API_KEY: CC_KEY}, None) == ResolvedKey(ApiKey(CC_KEY), KeySource.ENV, CC)


# --- resolve_key: CoinDesk Data's order ------------------------------------------------------------

_BOTH_ENV = {ENV_COINDESK_API_KEY: CD_KEY, ENV_API_KEY: CC_KEY}


@pytest.mark.parametrize(
    ("env", "entries", "expected"),
    [
        # 1. its own variable wins over everything
        (_BOTH_ENV, ("api_key", "coindesk_api_key"), (CD_KEY, KeySource.ENV, None)),
        # 2. then CCDESK_API_KEY (the same account), even over its own keyring entry
        ({ENV_API_KEY: CC_KEY}, ("api_key", "coindesk_api_key"), (CC_KEY, KeySource.ENV, CC)),
        # a blank variable does not count
        ({ENV_COINDESK_API_KEY: "  \n", ENV_API_KEY: CC_KEY}, (), (CC_KEY, KeySource.ENV, CC)),
        # 3. then its own keyring entry
        ({}, ("api_key", "coindesk_api_key"), (CD_KEY, KeySource.KEYRING, None)),
        ({ENV_API_KEY: " "}, ("coindesk_api_key",), (CD_KEY, KeySource.KEYRING, None)),
        # 4. then the CryptoCompare entry, marked as shared
        ({}, ("api_key",), (CC_KEY, KeySource.KEYRING, CC)),
        # nothing anywhere
        ({}, (), None),
    ],
)
def test_coindesk_resolution_order(
    memory: CountingKeyring,
    env: dict[str, str],
    entries: tuple[str, ...],
    expected: tuple[str, KeySource, KeyProvider | None] | None,
) -> None:
    values = {"api_key": CC_KEY, "coindesk_api_key": CD_KEY}
    for entry in entries:
        memory.items[(SERVICE, entry)] = values[entry]
    resolved = resolve_key(env, SecretStore(SERVICE, backend=memory), CD)
    if expected is None:
        assert resolved is None
        return
    text, source, borrowed = expected
    assert resolved == ResolvedKey(ApiKey(text), source, CD, borrowed)


def test_coindesk_reads_its_own_entry_before_the_shared_one(memory: CountingKeyring) -> None:
    assert resolve_key({}, SecretStore(SERVICE, backend=memory), CD) is None
    assert memory.reads == [(SERVICE, "coindesk_api_key"), (SERVICE, "api_key")]


@pytest.mark.parametrize("env", [{ENV_COINDESK_API_KEY: CD_KEY}, {ENV_API_KEY: CC_KEY}])
def test_an_env_key_leaves_the_keyring_alone(env: dict[str, str]) -> None:
    resolved = resolve_key(env, SecretStore(SERVICE, backend=TripwireKeyring()), CD)
    assert resolved is not None
    assert resolved.source is KeySource.ENV


def test_coindesk_without_a_store_reads_only_the_environment() -> None:
    assert resolve_key({}, None, CD) is None
    assert resolve_key({ENV_API_KEY: CC_KEY}, None, CD) == ResolvedKey(ApiKey(CC_KEY), KeySource.ENV, CD, CC)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({ENV_COINDESK_API_KEY: "bad value-secretpart", ENV_API_KEY: CC_KEY}, ENV_COINDESK_API_KEY),
        ({ENV_API_KEY: "bad value-secretpart"}, ENV_API_KEY),
    ],
)
def test_a_malformed_variable_is_named_and_not_echoed(env: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidApiKey) as excinfo:
        resolve_key(env, SecretStore(SERVICE, backend=TripwireKeyring()), CD)
    text = str(excinfo.value)
    assert text.startswith(f"{named}: ")
    assert "secretpart" not in text
    assert excinfo.value.__context__ is None or "secretpart" not in str(excinfo.value.__context__)


def test_keyring_errors_propagate_for_coindesk() -> None:
    with pytest.raises(SecretsError) as excinfo:
        resolve_key({}, SecretStore(SERVICE, backend=keyring.backends.fail.Keyring()), CD)
    assert excinfo.value.kind is SecretsErrorKind.NO_BACKEND


def test_a_locked_keyring_stops_the_lookup_at_the_first_entry() -> None:
    class Locked(CountingKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            super().get_password(service, username)
            raise keyring.errors.KeyringLocked("Failed to unlock the collection")

    backend = Locked()
    with pytest.raises(SecretsError) as excinfo:
        resolve_key({}, SecretStore(SERVICE, backend=backend), CD)
    assert excinfo.value.kind is SecretsErrorKind.LOCKED
    assert backend.reads == [(SERVICE, "coindesk_api_key")]
