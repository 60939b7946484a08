"""Words for each provider's key: where it came from (naming the right variable), problems, hints."""

from __future__ import annotations

import pytest

from ccdesk.core.api_key import (
    ApiKey,
    KeyProblem,
    KeyProvider,
    KeySource,
    KeyState,
    ResolvedKey,
    SaveState,
)
from ccdesk.core.key_check import KeyCheck, KeyStatus
from ccdesk.wording import (
    describe_key_check,
    key_help_html,
    key_note,
    key_problem_text,
    key_removable,
    key_variables_text,
)

KEY_TEXT = "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abyz"
KEY = ApiKey(KEY_TEXT)
CC, CD = KeyProvider.CRYPTOCOMPARE, KeyProvider.COINDESK


# --- CryptoCompare: the texts are as they were -----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (KeyState(KEY, KeySource.ENV), "Using the key ab\u2026yz from the CCDESK_API_KEY variable."),
        (KeyState(KEY, KeySource.KEYRING), "Using the key ab\u2026yz from the keyring."),
        (
            KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVING),
            "Using the key ab\u2026yz (saving to the keyring\u2026)",
        ),
        (
            KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVED),
            "The key ab\u2026yz is stored in the keyring.",
        ),
        (
            KeyState(KEY, KeySource.ENTERED, save=SaveState.FAILED, detail="the keyring is locked"),
            "Using the key ab\u2026yz for this session only: the keyring is locked",
        ),
        (KeyState(problem=KeyProblem.MISSING), "No API key yet"),
        (KeyState(problem=KeyProblem.UNREADABLE, detail="locked"), "Keyring unavailable: locked"),
        (KeyState(problem=KeyProblem.MALFORMED, detail="bad"), "The key could not be used: bad"),
    ],
)
def test_cryptocompare_notes_are_unchanged(state: KeyState, text: str) -> None:
    assert key_note(state) == text


def test_cryptocompare_problems_are_unchanged() -> None:
    assert key_problem_text(KeyState(problem=KeyProblem.MISSING)) == (
        "No API key yet: add one in the settings, or try the demo."
    )
    assert key_problem_text(KeyState(KEY, KeySource.ENV, problem=KeyProblem.REJECTED)) == (
        "The API key was rejected by the server."
    )
    assert key_problem_text(KeyState(problem=KeyProblem.UNREADABLE, detail="x")) == (
        "The keyring could not be read: x."
    )
    assert key_problem_text(KeyState(KEY, KeySource.KEYRING)) is None


# --- CoinDesk Data -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "text"),
    [
        (
            ResolvedKey(KEY, KeySource.ENV, CD),
            "Using the CoinDesk Data key ab\u2026yz from the CCDESK_COINDESK_API_KEY variable.",
        ),
        (ResolvedKey(KEY, KeySource.KEYRING, CD), "Using the CoinDesk Data key ab\u2026yz from the keyring."),
        (
            ResolvedKey(KEY, KeySource.ENV, CD, CC),
            "Using your CryptoCompare key ab\u2026yz from the CCDESK_API_KEY variable for CoinDesk Data "
            "(one account serves both).",
        ),
        (
            ResolvedKey(KEY, KeySource.KEYRING, CD, CC),
            "Using your CryptoCompare key ab\u2026yz from the keyring for CoinDesk Data "
            "(one account serves both).",
        ),
    ],
)
def test_coindesk_notes_name_the_provider_and_the_right_variable(resolved: ResolvedKey, text: str) -> None:
    assert key_note(KeyState.from_resolved(resolved)) == text


def test_coindesk_entered_key_notes() -> None:
    saving = KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVING, provider=CD)
    assert key_note(saving) == "Using the CoinDesk Data key ab\u2026yz (saving to the keyring\u2026)"
    saved = KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVED, provider=CD)
    assert key_note(saved) == "The CoinDesk Data key ab\u2026yz is stored in the keyring."
    failed = KeyState(KEY, KeySource.ENTERED, save=SaveState.FAILED, detail="no keyring", provider=CD)
    assert key_note(failed) == "Using the CoinDesk Data key ab\u2026yz for this session only: no keyring"
    assert key_note(KeyState(problem=KeyProblem.MISSING, provider=CD)) == "No CoinDesk Data key yet"


def test_coindesk_problems() -> None:
    assert key_problem_text(KeyState(problem=KeyProblem.MISSING, provider=CD)) == (
        "No CoinDesk Data key yet: add one in the settings (your CryptoCompare key works too), "
        "or pick a source that needs none."
    )
    own = KeyState(KEY, KeySource.KEYRING, problem=KeyProblem.REJECTED, provider=CD)
    assert key_problem_text(own) == "CoinDesk Data rejected the API key."
    shared = KeyState(KEY, KeySource.KEYRING, problem=KeyProblem.REJECTED, provider=CD, borrowed_from=CC)
    assert key_problem_text(shared) == (
        "CoinDesk Data rejected your CryptoCompare key; add a CoinDesk Data key in the settings."
    )


def test_variables_hint() -> None:
    assert key_variables_text(CC) == "CCDESK_API_KEY"
    assert key_variables_text(CD) == "CCDESK_COINDESK_API_KEY (or CCDESK_API_KEY)"


def test_no_words_ever_hold_the_key() -> None:
    states = [
        KeyState(KEY, source, problem=problem, save=save, provider=provider, borrowed_from=borrowed)
        for source in KeySource
        for problem in (None, *KeyProblem)
        for save in (None, *SaveState)
        for provider in KeyProvider
        for borrowed in (None, CC)
        if borrowed is not provider
    ]
    for state in states:
        for text in (key_note(state), key_problem_text(state) or "", repr(state)):
            assert KEY_TEXT not in text
    for provider in KeyProvider:
        for status in KeyStatus:
            text, ok = describe_key_check(KeyCheck(status, provider=provider))
            assert KEY_TEXT not in text
            assert ok is (status is KeyStatus.VALID)


# --- the settings' key boxes ------------------------------------------------------------------------


def test_a_key_the_stream_refused_says_so_beside_where_it_came_from() -> None:
    state = KeyState(KEY, KeySource.KEYRING, problem=KeyProblem.REJECTED, provider=CD)
    assert key_note(state) == (
        "Using the CoinDesk Data key ab\u2026yz from the keyring. "
        "CoinDesk Data refused it when streaming: enter another, or remove it."
    )


@pytest.mark.parametrize(
    ("state", "removable"),
    [
        (KeyState(KEY, KeySource.KEYRING), True),
        (KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVED), True),
        (KeyState(KEY, KeySource.ENTERED, save=SaveState.SAVING), False),
        (KeyState(KEY, KeySource.ENTERED, save=SaveState.FAILED), False),
        (KeyState(KEY, KeySource.ENV), False),  # a variable is not ours to remove
        (KeyState(KEY, KeySource.KEYRING, provider=CD, borrowed_from=CC), False),  # CryptoCompare's entry
        (KeyState(problem=KeyProblem.MISSING), False),
    ],
)
def test_remove_is_offered_only_for_the_providers_own_keyring_entry(state: KeyState, removable: bool) -> None:
    assert key_removable(state) is removable


def test_key_help_names_where_keys_are_made_and_no_free_tier() -> None:
    cc, cd = key_help_html(CC), key_help_html(CD)
    assert f'<a href="{CC.keys_url}">cryptocompare.com</a>' in cc
    assert "paid plan since May 2026" in cc
    assert f'<a href="{CD.keys_url}">developers.coindesk.com</a>' in cd
    assert "your CryptoCompare key is tried" in cd
    assert "free" not in cc + cd
