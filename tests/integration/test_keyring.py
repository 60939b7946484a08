"""The API key in a real Secret Service (gnome-keyring on a private D-Bus session bus)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.desktop import missing_tools, secret_service, session_bus

KEY = "keyring-key-0123456789abcdef"
APP = "ccdesk-test-keyring"

if missing_tools():  # `bash .ci/bootstrap --test` installs them; say so rather than pass silently
    pytest.fail(f"missing {missing_tools()}: run `bash .ci/bootstrap --test`", pytrace=False)


def run(env, *args, stdin=None):
    e = {k: v for k, v in env.items() if not k.startswith("CCDESK_") and k != "PYTHON_KEYRING_BACKEND"}
    e["CCDESK_APP_NAME"] = APP
    return subprocess.run(
        [sys.executable, "-m", "ccdesk", *args],
        env=e,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def secret_tool(env, *args):
    return subprocess.run(["secret-tool", *args], env=env, capture_output=True, text=True, timeout=10)


@pytest.fixture
def sim(make_sim):
    return make_sim(keys=[KEY], rate=50.0)


def test_key_set_verifies_stores_in_the_secret_service_and_stream_uses_it(sim):
    with session_bus() as env, secret_service(env):
        r = run(env, "key", "set", "--rest-url", sim.rest_url, stdin=KEY + "\n")
        assert r.returncode == 0, r.stderr
        assert "SecretService" in r.stdout
        assert KEY not in r.stdout
        # Read it back straight from the Secret Service, not through ccdesk.
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == KEY
        status = run(env, "key", "status")
        assert status.returncode == 0
        assert "keyring" in status.stdout
        assert KEY not in status.stdout
        stream = run(
            env,
            "stream",
            "--stream-url",
            sim.stream_url,
            "--count",
            "2",
            "--format",
            "jsonl",
            "5~CCCAGG~BTC~USD",
        )
        assert stream.returncode == 0, stream.stderr
        assert len([json.loads(x) for x in stream.stdout.splitlines() if '"quote"' in x]) == 2
        upgrade = [h for h in sim.handshakes if h.path.startswith("/v2")][-1]
        assert upgrade.header("authorization") == f"Apikey {KEY}"  # the keyring's key reached the server
        deleted = run(env, "key", "delete")
        assert deleted.returncode == 0
        assert "deleted" in deleted.stdout
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == ""
        assert run(env, "key", "status").returncode == 4


def test_env_key_overrides_the_keyring_without_touching_it(sim):
    with session_bus() as env, secret_service(env):
        stored = subprocess.run(
            ["secret-tool", "store", "--label=x", "service", APP, "username", "api_key"],
            env=env,
            input="other-key-0123456789abcdef",
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert stored.returncode == 0
        env2 = dict(env, CCDESK_API_KEY=KEY)
        e = {k: v for k, v in env2.items() if k != "PYTHON_KEYRING_BACKEND"}
        e["CCDESK_APP_NAME"] = APP
        r = subprocess.run(
            [sys.executable, "-m", "ccdesk", "key", "status"],
            env=e,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "CCDESK_API_KEY" in r.stdout


def test_locked_keyring_gives_a_clear_message(sim):
    with session_bus() as env:
        with secret_service(env):  # create the login collection, then come back locked
            assert run(env, "key", "set", "--no-verify", stdin=KEY + "\n").returncode == 0
        with secret_service(env, unlock=False):
            r = run(env, "key", "status")
            assert r.returncode == 4
            assert "locked" in r.stderr
            assert "Traceback" not in r.stderr
            s = run(env, "stream", "--stream-url", sim.stream_url, "5~CCCAGG~BTC~USD")
            assert s.returncode == 4
            assert "locked" in s.stderr
            assert "--demo" in s.stderr


def test_no_secret_service_on_the_bus_means_no_plaintext_fallback(sim, tmp_path):
    with session_bus() as env:
        r = run(env, "key", "set", "--no-verify", stdin=KEY + "\n")
        assert r.returncode == 1
        assert "no secure keyring" in r.stderr
        assert "never stores it in a plain file" in r.stderr
        home = env["HOME"]
        found = subprocess.run(["grep", "-rl", KEY, home], capture_output=True, text=True)
        assert found.stdout == ""  # nothing written anywhere under HOME


CD_KEY = "coindesk-keyring-key-0123456789abcdef"

# Resolves and checks the CoinDesk Data key as the app would, printing only masked, typed facts.
_COINDESK_PROBE = """
import json, os, sys
from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.rest import check_coindesk_key
from ccdesk.core.secrets import SecretStore, resolve_key

action, rest_url = sys.argv[1], sys.argv[2]
store = SecretStore(provider=KeyProvider.COINDESK)
if action == "save":
    store.save(ApiKey(sys.stdin.read()))
elif action == "delete":
    print(json.dumps({"deleted": store.delete()}))
    sys.exit(0)
resolved = resolve_key(os.environ, store)
check = check_coindesk_key(rest_url, resolved.key)
print(json.dumps({
    "source": resolved.source.value,
    "borrowed_from": resolved.borrowed_from and resolved.borrowed_from.value,
    "entry": resolved.keyring_entry,
    "masked": resolved.key.masked(),
    "repr": repr(resolved),
    "check": check.status.value,
}))
"""


def coindesk(env, action, rest_url, stdin=None):
    e = {k: v for k, v in env.items() if not k.startswith("CCDESK_") and k != "PYTHON_KEYRING_BACKEND"}
    e["CCDESK_APP_NAME"] = APP
    r = subprocess.run(
        [sys.executable, "-c", _COINDESK_PROBE, action, rest_url],
        env=e,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout + r.stderr
    assert CD_KEY not in r.stdout + r.stderr
    return json.loads(r.stdout)


def test_coindesk_key_has_its_own_entry_and_falls_back_to_the_cryptocompare_one(make_sim):
    sim = make_sim(keys=[KEY, CD_KEY], rate=0.0)
    with session_bus() as env, secret_service(env):
        assert run(env, "key", "set", "--no-verify", stdin=KEY + "\n").returncode == 0
        # No CoinDesk entry yet: the CryptoCompare key is used, and said to be borrowed.
        shared = coindesk(env, "resolve", sim.rest_url)
        assert shared["source"] == "keyring"
        assert shared["borrowed_from"] == "cryptocompare"
        assert shared["entry"] == "api_key"
        assert shared["masked"] == "ke\u2026ef"
        assert shared["check"] == "valid"
        # Its own entry, beside the CryptoCompare one, wins once saved.
        own = coindesk(env, "save", sim.rest_url, stdin=CD_KEY)
        assert (own["borrowed_from"], own["entry"], own["masked"]) == (None, "coindesk_api_key", "co\u2026ef")
        assert own["check"] == "valid"
        lookup = secret_tool(env, "lookup", "service", APP, "username", "coindesk_api_key")
        assert lookup.stdout == CD_KEY
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == KEY
        # CryptoCompare still reads only its own entry.
        status = run(env, "key", "status")
        assert status.returncode == 0
        assert "ke\u2026ef" in status.stdout
        assert KEY not in status.stdout
        # Deleting the CoinDesk entry leaves the CryptoCompare one, which serves again.
        assert coindesk(env, "delete", sim.rest_url) == {"deleted": True}
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == KEY
        assert coindesk(env, "resolve", sim.rest_url)["borrowed_from"] == "cryptocompare"
    upgrades = [h for h in sim.handshakes if h.path.startswith("/index/cc/v1/latest/tick")]
    assert [h.header("authorization") for h in upgrades] == [f"Apikey {k}" for k in (KEY, CD_KEY, KEY)]


def test_the_key_command_manages_each_providers_entry(make_sim):
    sim = make_sim(keys=[KEY, CD_KEY], rate=0.0, coindesk_unentitled_keys=[KEY])
    with session_bus() as env, secret_service(env):
        cd = ("--provider", "coindesk", "--rest-url", sim.rest_url)
        assert run(env, "key", "set", "--no-verify", stdin=KEY + "\n").returncode == 0
        # CoinDesk Data borrows the CryptoCompare key, which this simulated plan does not cover.
        status = run(env, "key", "status", "--provider", "coindesk")
        assert status.returncode == 0, status.stderr
        assert "CoinDesk Data key ke\u2026ef from the keyring" in status.stdout
        assert "(your CryptoCompare key: one account serves both)" in status.stdout
        refused = run(env, "key", "verify", *cd)
        assert refused.returncode == 3  # known, but not entitled: a key problem, not a network one
        assert "will not serve this data" in refused.stderr
        # A key of its own: checked with CoinDesk Data, stored in its own entry.
        saved = run(env, "key", "set", *cd, stdin=CD_KEY + "\n")
        assert saved.returncode == 0, saved.stderr
        assert "CoinDesk Data accepted it" in saved.stdout
        assert "CoinDesk Data key co\u2026ef saved to the keyring" in saved.stdout
        assert secret_tool(env, "lookup", "service", APP, "username", "coindesk_api_key").stdout == CD_KEY
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == KEY
        assert run(env, "key", "verify", *cd).returncode == 0
        # Deleting it leaves CryptoCompare's.
        deleted = run(env, "key", "delete", "--provider", "coindesk")
        assert deleted.stdout.strip() == "CoinDesk Data key deleted from the keyring."
        assert secret_tool(env, "lookup", "service", APP, "username", "api_key").stdout == KEY
        assert run(env, "key", "delete", "--provider", "coindesk").stdout.strip() == (
            "No CoinDesk Data key was stored in the keyring."
        )
        for r in (status, refused, saved, deleted):
            assert KEY not in r.stdout + r.stderr
            assert CD_KEY not in r.stdout + r.stderr
    checks = [h for h in sim.handshakes if h.path.startswith("/index/cc/v1/latest/tick")]
    assert [h.header("authorization") for h in checks] == [f"Apikey {k}" for k in (KEY, CD_KEY, CD_KEY)]


def test_no_coindesk_key_anywhere_names_both_variables():
    with session_bus() as env, secret_service(env):
        status = run(env, "key", "status", "--provider", "coindesk")
        assert status.returncode == 4
        assert "CCDESK_COINDESK_API_KEY and CCDESK_API_KEY are not set" in status.stdout
        verify = run(env, "key", "verify", "--provider", "coindesk")
        assert verify.returncode == 4
        assert "run `ccdesk key set --provider coindesk` or set CCDESK_COINDESK_API_KEY" in verify.stderr
