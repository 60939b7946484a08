"""`ccdesk stream`, `ccdesk sim` and `ccdesk key` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys

import pytest

GOOD = "good-key-0123456789abcdef"
BAD = "bad-key-0123456789abcdefg"
QUOTE_KEYS = {
    "kind",
    "source",
    "sub",
    "market",
    "base",
    "quote",
    "price",
    "change_24h",
    "change_pct_24h",
    "open_24h",
    "high_24h",
    "low_24h",
    "volume_24h",
    "last_market",
    "last_update",
    "direction",
}


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    # No keyring for these tests: the "null" backend is refused by ccdesk like any non-secure one.
    e.update(CCDESK_APP_NAME="ccdesk-test", PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    e.update(extra)
    return e


def ccdesk(*args, timeout=60, stdin=None, **env_extra):
    return subprocess.run(
        [sys.executable, "-m", "ccdesk", *args],
        env=env(**env_extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def no_key_anywhere(result, key):
    assert key not in result.stdout
    assert key not in result.stderr


@pytest.fixture
def sim(make_sim):
    return make_sim(keys=[GOOD], rate=50.0, seed=3)


def test_demo_jsonl_quotes(tmp_path):
    r = ccdesk(
        "stream", "--demo", "--count", "8", "--format", "jsonl", "5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD"
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[0] == {
        "kind": "status",
        "source": "demo:cryptocompare",  # simulated prices say so
        "state": "connecting",
        "detail": "starting",
        "reason": "starting",
        "retry_in_s": None,
    }
    quotes = [x for x in lines if x["kind"] == "quote"]
    assert len(quotes) == 8
    for q in quotes:
        assert set(q) >= QUOTE_KEYS
        assert q["price"] > 0
        assert q["direction"] in ("up", "down", "unchanged", None)
        assert "flags" not in q  # renamed: it never held the FLAGS bitmask
        if q["open_24h"] is not None:
            assert math.isclose(q["change_pct_24h"], (q["price"] - q["open_24h"]) / q["open_24h"] * 100)
            assert math.isclose(q["change_24h"], q["price"] - q["open_24h"])
    assert {q["sub"] for q in quotes} == {"5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD"}
    assert {q["source"] for q in quotes} == {"demo:cryptocompare"}
    assert lines[-1]["kind"] == "status"
    assert lines[-1]["state"] == "stopped"


def test_text_format_line():
    r = ccdesk("stream", "--demo", "--count", "3", "5~CCCAGG~BTC~USD")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3
    for line in r.stdout.splitlines():
        assert re.fullmatch(r"BTC/USD \(demo\)\s+[\d,]+\.\d{2}\s+([+-]\d+\.\d{2}|0\.00)% 24h", line), line
    assert "connected" in r.stderr


def test_count_is_exact_even_when_frames_arrive_in_bursts():
    # Subscribing to trades replays the last trades in one burst: --count must still be exact.
    r = ccdesk(
        "stream", "--demo", "--count", "4", "--format", "jsonl", "5~CCCAGG~BTC~USD", "0~Binance~BTC~USDT"
    )
    assert r.returncode == 0, r.stderr
    quotes = [json.loads(x) for x in r.stdout.splitlines() if '"quote"' in x]
    assert len(quotes) == 4
    trades = [q for q in quotes if q["sub"] == "0~Binance~BTC~USDT"]
    assert trades
    assert {q["side"] for q in trades} <= {"buy", "sell", "unknown"}
    assert all(q["quantity"] >= 0 for q in trades)


def test_invalid_sub_is_reported_and_others_stream():
    r = ccdesk(
        "stream", "--demo", "--count", "3", "--format", "jsonl", "5~CCCAGG~BTC~USD", "5~CCCAGG~FOO~USD"
    )
    assert r.returncode == 0
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    errors = [x for x in lines if x["kind"] == "sub_error"]
    assert errors
    assert errors[0]["sub"] == "5~CCCAGG~FOO~USD"
    assert errors[0]["reason"] == "INVALID_SUB"
    assert len([x for x in lines if x["kind"] == "quote" and x["sub"] == "5~CCCAGG~BTC~USD"]) == 3


def test_every_pair_refused_exits_5_instead_of_streaming_forever(sim):
    # Before, the refusal was printed and the stream then ran with nothing to stream, for ever.
    r = ccdesk("stream", "--count", "2", "FOO-BAR", CCDESK_KRAKEN_URL=sim.url("kraken"), timeout=30)
    assert r.returncode == 5, r.stderr
    assert "ccdesk: kraken:FOO-BAR: not available: Kraken does not list FOO/BAR" in r.stderr
    assert r.stderr.rstrip().endswith(
        "ccdesk: nothing left to stream: none of the pairs asked for is available (kraken:FOO-BAR)"
    )
    assert r.stdout == ""
    # One pair refused, another streaming: the other goes on to the count, as before.
    r = ccdesk(
        "stream", "--count", "3", "FOO-BAR", "BTC-USD", CCDESK_KRAKEN_URL=sim.url("kraken"), timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert "kraken:FOO-BAR: not available" in r.stderr
    assert "nothing left to stream" not in r.stderr
    assert len(r.stdout.splitlines()) == 3


def test_a_composite_no_venue_lists_is_refused_and_the_run_ends():
    # Every venue refuses FOO-BAR (Binance by sending nothing for 10 s): the composite is refused in
    # words, not left looping in silence until --duration.
    r = ccdesk("stream", "--demo", "--duration", "40", "--format", "jsonl", "composite:FOO-BAR", timeout=50)
    assert r.returncode == 5, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert {"kind": "sub_error", "source": "demo:composite", "sub": "composite:FOO-BAR",
            "reason": "NOT_LISTED", "refusal": "not_listed", "info": None,
            "detail": "not available: none of the venues it draws on lists FOO/BAR"} in lines  # fmt: skip
    assert not [x for x in lines if x["kind"] == "quote"]
    # The venue pairs behind it are not the user's: only the composite's refusal is printed.
    assert [x["sub"] for x in lines if x["kind"] == "sub_error"] == ["composite:FOO-BAR"]
    assert "nothing left to stream: none of the pairs asked for is available (composite:FOO-BAR)" in r.stderr


def test_alerts_are_printed_as_jsonl():
    # A tiny threshold makes the simulator's random walk trigger within seconds.
    r = ccdesk(
        "stream",
        "--demo",
        "--count",
        "10",
        "--format",
        "jsonl",
        "--quiet",
        "--alert-pct",
        "0.001",
        "--alert-window",
        "60",
        "5~CCCAGG~BTC~USD",
    )
    assert r.returncode == 0, r.stderr
    alerts = [json.loads(x) for x in r.stdout.splitlines() if '"alert"' in x]
    assert alerts
    a = alerts[0]
    assert set(a) == {
        "kind",
        "source",
        "sub",
        "direction",
        "change_pct",
        "from_price",
        "to_price",
        "window_s",
    }
    assert a["direction"] in ("up", "down")
    assert a["window_s"] == 60
    assert math.isclose(a["change_pct"], (a["to_price"] - a["from_price"]) / a["from_price"] * 100)
    assert not [x for x in r.stdout.splitlines() if '"quote"' in x]  # --quiet


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["stream", "BTCUSD"], "is not a pair"),
        (["stream", "--count", "0", "5~CCCAGG~BTC~USD"], "must be > 0"),
        (["stream", "--format", "xml", "5~CCCAGG~BTC~USD"], "invalid choice"),
        (
            ["stream", "--stream-url", "http://example.org/v2", "5~CCCAGG~BTC~USD"],
            "must be a ws:// or wss:// URL",
        ),
        (
            ["stream", "--stream-url", "ws://example.org/v2", "5~CCCAGG~BTC~USD"],
            "refusing to send the API key unencrypted",
        ),
        (
            ["stream", "--stream-url", "wss://x.invalid/v2?api_key=SECRET123", "5~CCCAGG~BTC~USD"],
            "must not contain the API key",
        ),
        (["stream", "--reconnect-min-s", "10", "--reconnect-max-s", "5", "5~CCCAGG~BTC~USD"], "must be >="),
        (["stream"], "required"),
        (["nonsense"], "invalid choice"),
        (["sim", "--port", "70000"], "is not a port (0-65535"),
    ],
)
def test_usage_errors_exit_2_in_plain_words(args, words):
    r = ccdesk(*args)
    assert r.returncode == 2
    assert words in r.stderr
    assert "Traceback" not in r.stderr
    assert "SECRET123" not in r.stderr


def test_no_key_and_no_keyring_exits_4_with_advice():
    r = ccdesk("stream", "5~CCCAGG~BTC~USD")
    assert r.returncode == 4
    assert "no secure keyring" in r.stderr
    assert "CCDESK_API_KEY" in r.stderr
    assert "--demo" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # one clear message, no log noise
    assert "Traceback" not in r.stderr


def test_rejected_key_exits_3_without_retrying(sim):
    before = len(sim.handshakes)
    r = ccdesk("stream", "--stream-url", sim.stream_url, "5~CCCAGG~BTC~USD", CCDESK_API_KEY=BAD)
    assert r.returncode == 3
    assert "rejected" in r.stderr
    assert "ccdesk key verify" in r.stderr
    assert len(sim.handshakes) == before + 1
    no_key_anywhere(r, BAD)


def test_env_urls_and_key_are_used_and_the_key_never_printed(sim):
    r = ccdesk(
        "-vv",
        "stream",
        "--count",
        "3",
        "--format",
        "jsonl",
        "5~CCCAGG~BTC~USD",
        CCDESK_API_KEY=GOOD,
        CCDESK_STREAM_URL=sim.stream_url,
    )
    assert r.returncode == 0, r.stderr
    assert len([x for x in r.stdout.splitlines() if '"quote"' in x]) == 3
    assert "stream connected" in r.stderr  # verbose logging really ran, and still no key
    no_key_anywhere(r, GOOD)


def test_sigterm_exits_0_and_closes_the_socket(sim):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk", "stream", "--format", "jsonl", "5~CCCAGG~BTC~USD"],
        env=env(CCDESK_API_KEY=GOOD, CCDESK_STREAM_URL=sim.stream_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if '"quote"' in line:
                break
        assert sim.wait_for(lambda: sim.active_sockets(GOOD) == 1, 5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert sim.wait_for(lambda: sim.active_sockets(GOOD) == 0, 10)  # seen by the server's thread
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_duration_ends_the_stream(sim):
    r = ccdesk(
        "stream",
        "--quiet",
        "--duration",
        "1",
        "5~CCCAGG~BTC~USD",
        CCDESK_API_KEY=GOOD,
        CCDESK_STREAM_URL=sim.stream_url,
    )
    assert r.returncode == 0, r.stderr


def test_sim_command_prints_its_urls_and_serves_a_client():
    # Started with SIGINT ignored, as a background job of a script is (and as this process may be
    # after other tests): `ccdesk sim` must still stop on it. It did not, until it set its own handler.
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk", "sim", "--port", "0", "--key", GOOD, "--rate", "20", "--seed", "5"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(7)]
        urls = dict(line.split(": ", 1) for line in lines)
        # One line per source, the same seeded market in every dialect, then the REST base.
        assert list(urls) == ["cryptocompare", "kraken", "coinbase", "binance", "okx", "coindesk", "rest"]
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/v2", urls["cryptocompare"]), lines
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/kraken/v2", urls["kraken"]), lines
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", urls["rest"]), lines
        url, rest = urls["cryptocompare"], urls["rest"]
        k = ccdesk("stream", "--count", "2", "--url", f"kraken={urls['kraken']}", "BTC-USD")
        assert k.returncode == 0, k.stderr
        r = ccdesk(
            "stream",
            "--count",
            "2",
            "--format",
            "jsonl",
            "--stream-url",
            url,
            "5~CCCAGG~ETH~USD",
            CCDESK_API_KEY=GOOD,
        )
        assert r.returncode == 0, r.stderr
        v = ccdesk("key", "verify", "--rest-url", rest, CCDESK_API_KEY=GOOD)
        assert v.returncode == 0
        assert "works" in v.stdout
        proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_key_verify_maps_outcomes_to_exit_codes(sim):
    ok = ccdesk("key", "verify", "--rest-url", sim.rest_url, CCDESK_API_KEY=GOOD)
    assert ok.returncode == 0
    assert "works" in ok.stdout
    bad = ccdesk("key", "verify", "--rest-url", sim.rest_url, CCDESK_API_KEY=BAD)
    assert bad.returncode == 3
    assert "refused" in bad.stderr
    none = ccdesk("key", "verify", "--rest-url", sim.rest_url)
    assert none.returncode == 4
    for r in (ok, bad, none):
        no_key_anywhere(r, GOOD)
        no_key_anywhere(r, BAD)


def test_key_status_is_masked():
    r = ccdesk("key", "status", CCDESK_API_KEY=GOOD)
    assert r.returncode == 0
    assert "CCDESK_API_KEY" in r.stdout
    assert GOOD[:2] + "…" + GOOD[-2:] in r.stdout
    no_key_anywhere(r, GOOD)


def test_key_set_without_a_secure_keyring_refuses_plaintext(sim):
    r = ccdesk("key", "set", "--rest-url", sim.rest_url, stdin=GOOD + "\n")
    assert r.returncode == 1
    assert "no secure keyring" in r.stderr
    assert "plain file" in r.stderr
    no_key_anywhere(r, GOOD)


def test_key_set_with_a_rejected_key_stores_nothing(sim):
    r = ccdesk("key", "set", "--rest-url", sim.rest_url, stdin=BAD + "\n")
    assert r.returncode == 3
    assert "not saved" in r.stderr
    no_key_anywhere(r, BAD)


# --- several sources -------------------------------------------------------------------------------


def test_a_bare_pair_is_the_default_keyless_source_and_needs_no_key(sim):
    # No key anywhere (and no keyring): Kraken, the default source, streams all the same.
    r = ccdesk("stream", "--count", "3", "--format", "jsonl", "BTC-USD", CCDESK_KRAKEN_URL=sim.url("kraken"))
    assert r.returncode == 0, r.stderr
    quotes = [json.loads(x) for x in r.stdout.splitlines() if '"quote"' in x]
    assert [(q["source"], q["sub"]) for q in quotes] == [("kraken", "kraken:BTC-USD")] * 3
    assert all(h.header("authorization") is None for h in sim.handshakes)


def test_each_source_streams_on_its_own_and_a_composite_shows_its_venues(sim):
    r = ccdesk(
        "stream",
        "--count",
        "20",
        "--format",
        "jsonl",
        "--source",
        "coinbase",
        "--url",
        f"kraken={sim.url('kraken')}",
        "--url",
        f"coinbase={sim.url('coinbase')}",
        "--url",
        f"okx={sim.url('okx')}",
        "--url",
        f"binance={sim.url('binance')}",
        "ETH-USD",  # --source coinbase
        "okx:btc-usdt",
        "composite:BTC-USD",
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    quotes = [x for x in lines if x["kind"] == "quote"]
    assert {(q["source"], q["sub"]) for q in quotes} >= {
        ("coinbase", "coinbase:ETH-USD"),
        ("okx", "okx:BTC-USDT"),
        ("composite", "composite:BTC-USD"),
    }
    # A composite's venues are listed; BTC-USD (USD) is never mixed with OKX's or Binance's USDT.
    composite = [q for q in quotes if q["source"] == "composite"]
    assert all(set(q["venues"]) <= {"kraken", "coinbase"} and q["venues"] for q in composite)
    # Pairs streamed only for the composite are not printed as the user's.
    assert "kraken:BTC-USD" not in {q["sub"] for q in quotes}
    connected = {x["source"] for x in lines if x["kind"] == "status" and x["state"] == "connected"}
    assert connected >= {"kraken", "coinbase", "okx"}


def test_a_source_without_its_key_is_left_out_and_the_others_stream(sim):
    r = ccdesk(
        "stream",
        "--count",
        "3",
        "--format",
        "jsonl",
        "kraken:BTC-USD",
        "5~CCCAGG~BTC~USD",
        CCDESK_KRAKEN_URL=sim.url("kraken"),
        CCDESK_STREAM_URL=sim.stream_url,
    )
    assert r.returncode == 0, r.stderr
    assert "no API key for CryptoCompare" in r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert {"kind": "status", "source": "cryptocompare", "state": "stopped", "detail": "no API key",
            "reason": "no_key", "retry_in_s": None} in lines  # fmt: skip
    assert [q["sub"] for q in lines if q["kind"] == "quote"] == ["kraken:BTC-USD"] * 3
    # Every source needing a key and none there: exit 4, as before.
    r = ccdesk("stream", "coindesk:BTC-USD", "5~CCCAGG~BTC~USD")
    assert r.returncode == 4
    assert "no API key for CoinDesk and CryptoCompare" in r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["stream", "nasdaq:BTC-USD"], "'nasdaq' is not a source; the sources are kraken, coinbase"),
        (["stream", "--source", "nasdaq", "BTC-USD"], "'nasdaq' is not a source"),
        (["stream", "--url", "nasdaq=ws://127.0.0.1:1/", "BTC-USD"], "'nasdaq' is not a source"),
        (["stream", "--url", "kraken", "BTC-USD"], "write SOURCE=URL"),
        (["stream", "kraken:BTC"], "expected kraken:BASE-QUOTE"),
        (["stream", "coindesk:nope:BTC-USD"], "is not a CoinDesk index; use cadli, ccix, ccixbe"),
    ],
)
def test_bad_sources_and_pairs_say_which_part_is_wrong(args, words):
    r = ccdesk(*args)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr
    assert "Traceback" not in r.stderr


def test_sources_lists_every_source():
    r = ccdesk("sources", "--format", "json")
    assert r.returncode == 0
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == [
        "kraken", "coinbase", "binance", "okx", "coindesk", "cryptocompare", "composite"
    ]  # fmt: skip
    keyed = {row["name"]: row["key"] for row in rows}
    assert keyed == {
        "kraken": None, "coinbase": None, "binance": None, "okx": None,
        "coindesk": "coindesk", "cryptocompare": "cryptocompare", "composite": None,
    }  # fmt: skip
    assert all(row["change_24h"] for row in rows)
    text = ccdesk("sources").stdout
    assert "kraken: Kraken, no key needed" in text
    assert "coindesk: CoinDesk, needs a paid CoinDesk Data API key" in text
