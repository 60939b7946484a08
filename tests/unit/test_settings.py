"""Settings: defaults, validation, the string key/value form, and loading bad or hand-edited values."""

from __future__ import annotations

import dataclasses
import json
import logging
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule
from ccdesk.core.pairs import Channel, Pair, PairError, Source, aggregate, parse_pair
from ccdesk.core.settings import (
    DEFAULT_RULES,
    DEFAULT_WATCHLIST,
    Settings,
    SettingsError,
    parse_pair_input,
    validate_endpoint_url,
    validate_webhook_url,
    without_keys,
)
from ccdesk.core.settings_codec import (
    SETTINGS_KEYS,
    MemoryStore,
    SettingsFault,
    SettingsFileProblem,
    SettingsProblem,
    load_settings,
    rule_from_json,
    rule_to_json,
    save_settings,
)
from tests.pairs import BTC, ETH, ETH_COINBASE


def roundtrip(s: Settings) -> tuple[Settings, tuple[SettingsProblem, ...]]:
    store = MemoryStore()
    save_settings(store, s, previous=None)
    return load_settings(store)


# --- defaults and the value type ---


def test_defaults_give_useful_alerts_without_configuring():
    s = Settings()
    # Live prices with no key and no sign-up: a keyless venue.
    assert s.source is Source.KRAKEN
    assert [str(sub) for sub in s.watchlist] == [
        "kraken:BTC-USD",
        "kraken:ETH-USD",
        "kraken:SOL-USD",
        "kraken:XRP-USD",
        "kraken:DOGE-USD",
    ]
    assert s.pinned == parse_pair("kraken:BTC-USD")
    assert s.composite_venues == (Source.KRAKEN, Source.COINBASE, Source.BINANCE, Source.OKX)
    assert s.rules == (MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.EITHER, cooldown_s=900.0),)
    assert s.stale_after_s == 60.0
    assert (s.autostart, s.demo, s.always_on_top) == (False, False, False)
    assert (s.webhook_url, s.alerts_paused_until, s.stream_url, s.rest_url) == (None, None, None, None)


def test_empty_store_loads_defaults_without_problems():
    assert load_settings(MemoryStore()) == (Settings(), ())


def test_pinned_not_in_watchlist_becomes_first_or_none():
    assert Settings(watchlist=(ETH, ETH_COINBASE), pinned=BTC).pinned == ETH
    assert Settings(watchlist=(ETH, ETH_COINBASE), pinned=ETH_COINBASE).pinned == ETH_COINBASE
    assert Settings(watchlist=(), pinned=BTC).pinned is None
    assert dataclasses.replace(Settings(), watchlist=(ETH,)).pinned == ETH


def test_duplicate_subs_are_dropped_first_kept():
    assert Settings(watchlist=(ETH, BTC, ETH)).watchlist == (ETH, BTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stale_after_s", 4.9),
        ("stale_after_s", 3600.5),
        ("stale_after_s", math.nan),
        ("stale_after_s", True),
        ("autostart", "yes"),
        ("demo", 1),
        ("webhook_url", "ftp://example.com/x"),
        ("alerts_paused_until", -1.0),
        ("alerts_paused_until", math.nan),
        ("stream_url", "https://streamer.example"),
        ("rest_url", "https://min-api.example/?api_key=abc"),
        ("watchlist", ("BTC-USD",)),
        ("rules", ("pct 2",)),
        ("pinned", "BTC-USD"),
    ],
)
def test_invalid_values_are_refused(field, value):
    with pytest.raises(SettingsError):
        Settings(**{field: value})


def test_alerts_paused():
    assert not Settings().alerts_paused(1000.0)
    assert Settings(alerts_paused_until=math.inf).alerts_paused(1e12)
    s = Settings(alerts_paused_until=2000.0)
    assert s.alerts_paused(1999.0)
    assert not s.alerts_paused(2000.0)


# --- the stored form ---


def test_saved_strings_are_exactly_the_documented_format():
    store = MemoryStore()
    s = Settings(
        watchlist=(BTC, ETH_COINBASE),
        pinned=ETH_COINBASE,
        rules=(
            MoveRule(pct=1.5, window_s=600.0, direction=MoveDirection.UP, cooldown_s=60.0, sub=BTC, id="r1"),
            LevelRule(
                level=95000.0,
                above=False,
                cooldown_s=60.0,
                sub=None,
                hysteresis_pct=0.5,
                id="r2",
                snoozed_until=1_700_000_000.5,
                once=True,
                sound=True,
            ),
        ),
        stale_after_s=90.0,
        autostart=True,
        demo=False,
        always_on_top=True,
        webhook_url="https://hooks.example.com/a?b=c",
        alerts_paused_until=math.inf,
        stream_url="ws://127.0.0.1:9000/v2",
        rest_url="http://127.0.0.1:9000",
    )
    save_settings(store, s, previous=None)
    assert store.values == {
        "version": "2",
        "source": "kraken",
        "composite_venues": '["kraken", "coinbase", "binance", "okx"]',
        "watchlist": '["5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD"]',
        "pinned": "2~Coinbase~ETH~USD",
        "rules": json.dumps(
            [
                {
                    "kind": "move",
                    "pct": 1.5,
                    "window_s": 600.0,
                    "direction": "up",
                    "cooldown_s": 60.0,
                    "sub": "5~CCCAGG~BTC~USD",
                    "id": "r1",
                    "enabled": True,
                    "snoozed_until": None,
                    "expires_at": None,
                    "once": False,
                    "sound": False,
                    "spent_at": None,
                },
                {
                    "kind": "level",
                    "level": 95000.0,
                    "above": False,
                    "cooldown_s": 60.0,
                    "hysteresis_pct": 0.5,
                    "sub": None,
                    "id": "r2",
                    "enabled": True,
                    "snoozed_until": 1_700_000_000.5,
                    "expires_at": None,
                    "once": True,
                    "sound": True,
                    "spent_at": None,
                },
            ]
        ),
        "stale_after_s": "90.0",
        "autostart": "true",
        "demo": "false",
        "always_on_top": "true",
        "webhook_url": "https://hooks.example.com/a?b=c",
        "alerts_paused_until": "until_resumed",
        "stream_url": "ws://127.0.0.1:9000/v2",
        "rest_url": "http://127.0.0.1:9000",
        "tray_price": "true",
        "tray_cycle_s": "0.0",
        "mini_panel": "false",
        "mini_panel_opacity_pct": "90",
        "mini_panel_pairs": "[]",
    }
    assert load_settings(store) == (s, ())


def test_roundtrip_of_defaults_and_of_a_paused_time():
    assert roundtrip(Settings()) == (Settings(), ())
    s = Settings(alerts_paused_until=1_700_000_123.5, watchlist=(), rules=())
    assert roundtrip(s) == (s, ())


def test_empty_watchlist_and_no_rules_are_kept_not_replaced_by_defaults():
    s, problems = load_settings(MemoryStore({"watchlist": "[]", "rules": "[]", "pinned": ""}))
    assert (s.watchlist, s.rules, s.pinned, problems) == ((), (), None, ())


def test_other_keys_in_the_store_are_left_alone():
    store = MemoryStore({"window/geometry": "AAAA"})
    save_settings(store, Settings(), previous=None)
    assert store.values["window/geometry"] == "AAAA"
    assert set(store.values) == {*SETTINGS_KEYS, "window/geometry"}


# --- bad values: defaults for those, keep the rest ---


def test_each_bad_value_falls_back_alone_and_the_rest_is_kept(caplog):
    store = MemoryStore(
        {
            "version": "1",
            "watchlist": '["2~Coinbase~ETH~USD", "5~CCCAGG~BTC~USD"]',
            "pinned": "5~CCCAGG~BTC~USD",
            "rules": "{not json",
            "stale_after_s": "soon",
            "autostart": "true",
            "demo": "maybe",
            "always_on_top": "TRUE",
            "webhook_url": "javascript:alert(1)",
            "alerts_paused_until": "tomorrow",
            "stream_url": "http://not-a-websocket",
            "rest_url": "http://127.0.0.1:8000",
        }
    )
    with caplog.at_level(logging.WARNING, logger="ccdesk.core.settings"):
        s, problems = load_settings(store)
    assert s == Settings(
        watchlist=(ETH_COINBASE, BTC),
        pinned=BTC,
        rules=DEFAULT_RULES,
        autostart=True,
        always_on_top=True,
        rest_url="http://127.0.0.1:8000",
        source=Source.CRYPTOCOMPARE,  # a file from before there were sources
    )
    assert problems == (
        SettingsProblem("rules", "not valid JSON"),
        SettingsProblem("stale_after_s", "not a number"),
        SettingsProblem("demo", "not true or false"),
        SettingsProblem("webhook_url", "not an http(s) URL"),
        SettingsProblem("alerts_paused_until", "not unix seconds or until_resumed"),
        SettingsProblem("stream_url", "not a ws or wss URL"),
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"ignoring a bad settings value: {p}" for p in problems
    ]
    # The problem text never repeats the stored value (it could be a private webhook URL).
    assert "javascript" not in caplog.text


def test_watchlist_keeps_the_good_entries_and_drops_duplicates():
    store = MemoryStore({"watchlist": json.dumps(["BTC-USD", 42, "5~CCCAGG~BTC~USD", "9~X~Y~Z", "eth/usd"])})
    s, problems = load_settings(store)
    assert s.watchlist == (BTC, ETH)
    assert problems == (
        SettingsProblem("watchlist[1]", "not a subscription string"),
        SettingsProblem("watchlist[2]", "duplicate pair dropped"),
        SettingsProblem("watchlist[3]", "not a valid subscription"),
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [('{"a": 1}', "not a list"), ('["nope", "9~X"]', "no usable pair"), ("[1, 2]", "no usable pair")],
)
def test_unusable_watchlist_gives_the_default(raw, reason):
    s, problems = load_settings(MemoryStore({"watchlist": raw}))
    assert s.watchlist == DEFAULT_WATCHLIST
    assert problems[-1] == SettingsProblem("watchlist", reason)


def test_hand_written_watchlist_forms_are_accepted():
    # A plain comma list, bare or in brackets, or with each pair in quotes (the documented forms).
    for raw in (
        "BTC-USD, 2~Coinbase~ETH~USD",
        "[5~CCCAGG~BTC~USD, 2~Coinbase~ETH~USD]",
        '"BTC-USD", "2~Coinbase~ETH~USD"',
        "['btc/usd', '2~Coinbase~eth~usd']",
    ):
        s, problems = load_settings(MemoryStore({"watchlist": raw}))
        assert (s.watchlist, problems) == ((BTC, ETH_COINBASE), ())


def test_pinned_problems():
    s, problems = load_settings(MemoryStore({"watchlist": '["ETH-USD"]', "pinned": "BTC-USD"}))
    assert (s.pinned, problems) == (ETH, (SettingsProblem("pinned", "not in the watchlist"),))
    s, problems = load_settings(MemoryStore({"pinned": "BTC~"}))  # the default (Kraken) watchlist
    kraken_btc = parse_pair("kraken:BTC-USD")
    assert (s.pinned, problems) == (kraken_btc, (SettingsProblem("pinned", "not a valid subscription"),))
    # No pinned key: BTC-USD if watched, else the first pair.
    s, problems = load_settings(MemoryStore({"watchlist": '["ETH-USD", "BTC-USD"]'}))
    assert (s.pinned, problems) == (BTC, ())
    s, problems = load_settings(MemoryStore({"watchlist": '["2~Coinbase~ETH~USD"]'}))
    assert (s.pinned, problems) == (ETH_COINBASE, ())


def test_a_bad_rule_is_dropped_and_the_others_kept():
    good_move = {"kind": "move", "pct": 3, "window_s": 60, "direction": "down", "cooldown_s": 60, "sub": None}
    good_level = {"kind": "level", "level": 2.5, "above": True, "sub": "XRP-USD"}
    raw = json.dumps(
        [
            good_move,
            {"kind": "move", "pct": -1},
            {"kind": "level", "level": 1, "above": "yes"},
            {"kind": "teleport"},
            "rule",
            {"kind": "move", "pct": 2, "direction": "sideways"},
            {"kind": "move", "pct": 2, "sub": "9~X~Y~Z"},
            {"kind": "move", "window_s": 5},
            {"kind": "move", "pct": 1e400},
            good_level,
            good_move,
        ]
    )
    s, problems = load_settings(MemoryStore({"rules": raw}))
    assert s.rules == (
        MoveRule(pct=3.0, window_s=60.0, direction=MoveDirection.DOWN, cooldown_s=60.0),
        LevelRule(level=2.5, above=True, sub=aggregate("XRP", "USD")),
    )
    assert [p.key for p in problems] == [f"rules[{i}]" for i in (1, 2, 3, 4, 5, 6, 7, 8, 10)]
    assert problems[0].reason == "invalid rule (the move must be more than 0 %, not -1.0 %)"
    assert problems[1].reason == "invalid rule (above is not true or false)"
    assert problems[5].reason == "invalid rule (sub is not a valid subscription)"
    assert problems[6].reason == "invalid rule (pct is missing)"
    assert problems[7].reason == "invalid rule (pct is not a finite number)"
    assert problems[8].reason == "duplicate rule dropped"


def test_no_usable_rule_gives_the_default_rules():
    s, problems = load_settings(MemoryStore({"rules": '[{"kind": "move", "pct": 0}]'}))
    assert s.rules == DEFAULT_RULES
    assert problems[-1] == SettingsProblem("rules", "no usable rule")


def test_json_nan_in_a_rule_is_refused():
    s, problems = load_settings(MemoryStore({"rules": '[{"kind": "level", "level": NaN, "above": true}]'}))
    assert s.rules == DEFAULT_RULES
    assert problems[0].key == "rules[0]"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("5", 5.0), (" 3600 ", 3600.0), ("90.5", 90.5)],
)
def test_stale_threshold_bounds(raw, value):
    assert load_settings(MemoryStore({"stale_after_s": raw}))[0].stale_after_s == value


@pytest.mark.parametrize("raw", ["4.99", "3601", "nan", "inf", "-60", ""])
def test_stale_threshold_out_of_range_falls_back(raw):
    s, problems = load_settings(MemoryStore({"stale_after_s": raw}))
    assert s.stale_after_s == 60.0
    assert [p.key for p in problems] == ["stale_after_s"]


def test_unknown_version_is_reported_and_values_still_read():
    s, problems = load_settings(MemoryStore({"version": "7", "demo": "true"}))
    assert s.demo is True
    assert problems == (SettingsProblem("version", "unknown format version; read as version 2"),)


def test_paused_until_forms():
    def paused(raw: str) -> float | None:
        return load_settings(MemoryStore({"alerts_paused_until": raw}))[0].alerts_paused_until

    assert paused("") is None
    assert paused("until_resumed") == math.inf
    assert paused("1700000000") == 1_700_000_000.0
    assert paused("inf") is None  # only the word means "until resumed"


def test_rule_json_roundtrip():
    for rule in (
        MoveRule(pct=0.5),
        MoveRule(pct=12.0, window_s=3600.0, direction=MoveDirection.DOWN, cooldown_s=0.0, sub=ETH_COINBASE),
        LevelRule(level=0.00001234, above=False, hysteresis_pct=0.0, sub=BTC),
    ):
        assert rule_from_json(json.loads(json.dumps(rule_to_json(rule)))) == rule


# --- saving never writes over what could not be read ---


class FailingStore(MemoryStore):
    def sync(self) -> SettingsFileProblem | None:
        return SettingsFileProblem(SettingsFault.NOT_WRITTEN, "/nowhere/ccdesk.ini")


def test_save_keeps_unreadable_values_until_their_setting_changes():
    stored = {
        "version": "1",
        "watchlist": '["BTC-USD", "0/0"]',
        "rules": "{not json",
        "stale_after_s": "soon",
        "demo": "true",
    }
    store = MemoryStore(stored)
    loaded, problems = load_settings(store)
    assert (loaded.watchlist, loaded.rules, loaded.stale_after_s) == ((BTC,), DEFAULT_RULES, 60.0)
    assert [p.stored_key for p in problems] == ["watchlist", "rules", "stale_after_s"]
    # Pausing alerts saves everything but the three values whose text could not be used.
    paused = dataclasses.replace(loaded, alerts_paused_until=math.inf)
    assert save_settings(store, paused, previous=loaded) is None
    assert {key: store.values[key] for key in stored} == {**stored, "version": "2"}  # the format moved on
    assert store.values["source"] == "cryptocompare"  # what its bare pairs meant
    assert store.values["alerts_paused_until"] == "until_resumed"
    assert load_settings(store) == (paused, problems)
    # The user changes the watchlist: it is written; the rules and the threshold stay as they were.
    mine = dataclasses.replace(paused, watchlist=(BTC, ETH))
    assert save_settings(store, mine, previous=paused) is None
    assert store.values["watchlist"] == '["5~CCCAGG~BTC~USD", "5~CCCAGG~ETH~USD"]'
    assert (store.values["rules"], store.values["stale_after_s"]) == ("{not json", "soon")
    assert load_settings(store) == (mine, problems[1:])


def test_a_change_back_to_the_default_is_a_change():
    store = MemoryStore({"stale_after_s": "soon"})
    loaded, _ = load_settings(store)
    ninety = dataclasses.replace(loaded, stale_after_s=90.0)
    save_settings(store, ninety, previous=loaded)
    save_settings(store, loaded, previous=ninety)
    assert store.values["stale_after_s"] == "60.0"


def test_save_without_previous_writes_every_key():
    store = MemoryStore({"rules": "{not json", "stale_after_s": "soon"})
    assert save_settings(store, Settings(), previous=None) is None
    assert load_settings(store) == (Settings(), ())


def test_an_unknown_format_version_is_not_overwritten():
    # Values written by a newer ccdesk that this one cannot read stay in its format: so does its version.
    store = MemoryStore({"version": "3", "demo": "true"})
    loaded, problems = load_settings(store)
    assert problems == (SettingsProblem("version", "unknown format version; read as version 2"),)
    save_settings(store, dataclasses.replace(loaded, demo=False), previous=loaded)
    assert (store.values["version"], store.values["demo"]) == ("3", "false")


def test_a_failed_sync_is_what_save_returns():
    store = FailingStore()
    assert save_settings(store, Settings(), previous=None) == SettingsFileProblem(
        SettingsFault.NOT_WRITTEN, "/nowhere/ccdesk.ini"
    )


def test_a_problem_names_its_stored_key():
    assert SettingsProblem("rules[12]", "duplicate rule dropped").stored_key == "rules"
    assert SettingsProblem("stale_after_s", "not a number").stored_key == "stale_after_s"


# --- one parser for pairs ---


@pytest.mark.parametrize("raw", ["0/0", "btc/BTC", '["eth-ETH"]'])
def test_a_shorthand_pair_of_one_symbol_is_refused_like_its_long_form(raw):
    # Found by test_load_settings_never_raises on some seeds: "0/0" loaded as 5~CCCAGG~0~0 with no
    # problem, and that saved form was refused at the next load.
    s, problems = load_settings(MemoryStore({"watchlist": raw}))
    assert s.watchlist == DEFAULT_WATCHLIST
    assert problems == (
        SettingsProblem("watchlist[0]", "not a valid subscription"),
        SettingsProblem("watchlist", "no usable pair"),
    )
    assert roundtrip(s) == (s, ())


_symbols = st.sampled_from(
    ["0", "btc", "BTC", "usd", "USD", "1INCH", "\u00df", "\u0131", "x" * 21, "", "E T"]
)
_sub_texts = st.one_of(
    st.builds("{}{}{}".format, _symbols, st.sampled_from(["-", "/", " / ", "~", ""]), _symbols),
    st.builds(
        "{}~{}~{}~{}".format,
        st.sampled_from(["0", "2", "5", "05", "+5", "7", ""]),
        st.sampled_from(["CCCAGG", "cccagg", "Coinbase", "Coin base", ""]),
        _symbols,
        _symbols,
    ),
)


@given(
    watchlist=st.lists(_sub_texts, max_size=4),
    comma_list=st.booleans(),
    pinned=st.none() | _sub_texts,
    rule_subs=st.lists(st.none() | _sub_texts, max_size=3),
)
def test_any_loaded_settings_save_and_load_back_unchanged(watchlist, comma_list, pinned, rule_subs):
    values = {
        "watchlist": ", ".join(watchlist) if comma_list else json.dumps(watchlist),
        "rules": json.dumps([{"kind": "move", "pct": 1 + i, "sub": sub} for i, sub in enumerate(rule_subs)]),
    }
    if pinned is not None:
        values["pinned"] = pinned
    store = MemoryStore(values)
    loaded, problems = load_settings(store)
    # Saved anew, it loads back the same, with no problem.
    assert roundtrip(loaded) == (loaded, ())
    # Saved over what it was loaded from, nothing changes: good values are rewritten as they
    # read, the ones that could not be used are kept, with the same problems.
    assert save_settings(store, loaded, previous=loaded) is None
    assert load_settings(store) == (loaded, problems)


# --- hypothesis: loading never raises ---

_texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "true", "nan", "inf", "[]", "{}", "null", "until_resumed", "1e999", "-0"]),
    st.lists(st.text(max_size=30), max_size=5).map(json.dumps),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["kind", "pct", "level", "above", "window_s", "direction", "cooldown_s", "sub", "x"]
                ),
                children,
                max_size=6,
            )
        ),
        max_leaves=12,
    ).map(json.dumps),
)


@pytest.mark.slow  # seconds: the fast loop (`-m "not slow"`) skips it, CI runs it
@settings(max_examples=4 * settings().max_examples, deadline=None)  # 400 in CI (tests/conftest.py)
@given(st.dictionaries(st.sampled_from(SETTINGS_KEYS), _texts))
def test_load_settings_never_raises(values):
    s, problems = load_settings(MemoryStore(values))
    assert isinstance(s, Settings)
    assert all(isinstance(p, SettingsProblem) for p in problems)
    # Whatever was loaded saves and loads back to itself, with no problem.
    assert roundtrip(s) == (s, ())


_rule_dicts = st.fixed_dictionaries(
    {"kind": st.just("move"), "pct": st.floats(min_value=0.1, max_value=99.0)},
    optional={
        "window_s": st.floats(min_value=60.0, max_value=1e6),
        "direction": st.sampled_from(["up", "down", "either", "UP"]),
        "sub": st.sampled_from([None, "BTC-USD", "2~Kraken~XBT~EUR"]),
    },
)


@settings(deadline=None)
@given(st.lists(_rule_dicts, max_size=5))
def test_valid_rule_lists_load_completely(rule_dicts):
    s, problems = load_settings(MemoryStore({"rules": json.dumps(rule_dicts)}))
    unique = {rule_from_json(d) for d in rule_dicts}  # equal by value: the fresh ids do not count
    assert problems == tuple(p for p in problems if p.reason == "duplicate rule dropped")
    assert len(s.rules) == len(unique) if rule_dicts else s.rules == ()


# --- dialog validation helpers ---


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("btc", " usd ", ""), "5~CCCAGG~BTC~USD"),
        (("ETH", "USD", None), "5~CCCAGG~ETH~USD"),
        (("ETH", "USD", "cccagg"), "5~CCCAGG~ETH~USD"),
        (("eth", "usd", "Coinbase"), "2~Coinbase~ETH~USD"),
        (("BTC", "USDT", "Binance", Channel.TRADE), "0~Binance~BTC~USDT"),
    ],
)
def test_parse_pair_input(args, expected):
    assert str(parse_pair_input(*args)) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "USD", ""), "Enter the coin (for example BTC)."),
        (("BTC", " ", ""), "Enter the currency (for example USD)."),
        (("BT C", "USD", ""), "The coin must be 1 to 20 letters or digits, like BTC."),
        (("BTC", "U$D", ""), "The currency must be 1 to 20 letters or digits, like USD."),
        (("btc", "BTC", ""), "The coin and the currency must be different."),
        (("BTC", "USD", "Coin base"), "An exchange name is one word of letters, digits"),
        (("BTC", "USD", "", Channel.TRADE), "Enter the exchange"),
        (("BTC", "USD", "Kraken", Channel.AGGREGATE), "leave the exchange blank"),
    ],
)
def test_parse_pair_input_errors_are_plain(args, message):
    with pytest.raises(PairError) as err:
        parse_pair_input(*args)
    assert message in str(err.value)


@given(
    base=_symbols,
    quote=_symbols,
    exchange=st.sampled_from([None, "", "cccagg", "Coinbase", "Coin base"]),
    channel=st.none() | st.sampled_from(Channel),
)
def test_parse_pair_input_gives_only_pairs_the_parser_gives_back(base, quote, exchange, channel):
    try:
        sub = parse_pair_input(base, quote, exchange, channel)
    except PairError:
        return
    assert parse_pair(str(sub)) == sub
    assert sub.base != sub.quote


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("   ", None),
        (None, None),
        (" https://hooks.example.com/x?y=1 ", "https://hooks.example.com/x?y=1"),
        ("http://127.0.0.1:8080/alerts", "http://127.0.0.1:8080/alerts"),
        ("HTTPS://Example.COM", "HTTPS://Example.COM"),
    ],
)
def test_validate_webhook_url_accepts(text, expected):
    assert validate_webhook_url(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "example.com/hook",
        "ftp://example.com/hook",
        "https://",
        "https:///path",
        "https://exa mple.com",
        "https://example.com:99999/",
        "https://example.com/\x00",
        "https://example.com/" + "a" * 2100,
        "mailto:a@example.com",
    ],
)
def test_validate_webhook_url_refuses(text):
    with pytest.raises(ValueError, match=r"^The webhook URL"):
        validate_webhook_url(text)


def test_validate_endpoint_url():
    assert validate_endpoint_url(" wss://x.example/v2 ", ("ws", "wss")) == "wss://x.example/v2"
    # Plain ws:// goes only to this machine: the API key is sent to an endpoint.
    assert validate_endpoint_url("ws://127.0.0.1:8080/v2", ("ws", "wss")) == "ws://127.0.0.1:8080/v2"
    for bad in ("https://x.example", "wss://", "wss://x.example/v2?api_key=k", "ws://x.example/v2"):
        with pytest.raises(ValueError, match=r"^The endpoint"):
            validate_endpoint_url(bad, ("ws", "wss"))


def test_settings_is_hashable_and_frozen():
    s = Settings()
    assert hash(s) == hash(Settings())
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.demo = True  # type: ignore[misc]
    assert isinstance(s.watchlist[0], Pair)


# --- sources ---


def test_a_file_from_before_sources_keeps_its_meaning():
    # ccdesk 0.1 wrote no source: its bare pairs, its rules' pairs and its default all mean CryptoCompare.
    s, problems = load_settings(
        MemoryStore(
            {
                "version": "1",
                "watchlist": "BTC-USD, ETH-USD",
                "rules": '[{"kind": "level", "level": 5, "above": true, "sub": "ETH-USD"}]',
            }
        )
    )
    assert problems == ()
    assert s.watchlist == (BTC, ETH)
    assert s.rules[0].sub == ETH
    assert s.source is Source.CRYPTOCOMPARE
    assert s.pinned == BTC


def test_bare_pairs_in_a_file_mean_its_source():
    s, problems = load_settings(MemoryStore({"source": "coinbase", "watchlist": "BTC-USD, kraken:ETH-USD"}))
    assert problems == ()
    assert [str(p) for p in s.watchlist] == ["coinbase:BTC-USD", "kraken:ETH-USD"]
    assert s.pinned == parse_pair("coinbase:BTC-USD")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["okx", "kraken"]', (Source.KRAKEN, Source.OKX)),  # kept in the one order
        ("coinbase, binance", (Source.COINBASE, Source.BINANCE)),
    ],
)
def test_composite_venues_read(raw, expected):
    s, problems = load_settings(MemoryStore({"composite_venues": raw}))
    assert (s.composite_venues, problems) == (expected, ())


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"source": "nasdaq"}, "source"),
        ({"composite_venues": '["coindesk"]'}, "composite_venues"),  # needs a key: not a keyless venue
        ({"composite_venues": "[]"}, "composite_venues"),
        ({"composite_venues": "[1, 2]"}, "composite_venues"),
    ],
)
def test_bad_source_settings_fall_back_alone(values, key):
    s, problems = load_settings(MemoryStore(values))
    assert [p.key for p in problems] == [key]
    assert (s.source, s.composite_venues) == (Settings().source, Settings().composite_venues)


def test_settings_refuse_a_venue_that_is_not_keyless():
    with pytest.raises(SettingsError):
        Settings(composite_venues=(Source.CRYPTOCOMPARE,))
    with pytest.raises(SettingsError):
        Settings(composite_venues=())


def test_without_keys_turns_each_keyed_pair_and_its_rules_into_the_keyless_twin():
    cd_eth = parse_pair("coindesk:ETH-USD")
    kraken_sol = parse_pair("kraken:SOL-USD")
    rule_btc, rule_all = MoveRule(pct=2.0, sub=BTC), MoveRule(pct=3.0)
    s = Settings(
        watchlist=(BTC, cd_eth, ETH_COINBASE, kraken_sol),
        pinned=cd_eth,
        rules=(rule_btc, rule_all),
        source=Source.CRYPTOCOMPARE,
        demo=True,
    )
    out = without_keys(s)
    twins = (parse_pair("composite:BTC-USD"), parse_pair("composite:ETH-USD"), parse_pair("coinbase:ETH-USD"))
    assert out.watchlist == (*twins, kraken_sol)  # a keyless pair stays as it is
    assert out.pinned == twins[1]
    assert out.rules == (dataclasses.replace(rule_btc, sub=twins[0]), rule_all)
    assert (out.source, out.demo) == (Source.KRAKEN, False)


def test_without_keys_gives_an_empty_watchlist_the_default_pairs():
    out = without_keys(Settings(watchlist=(), pinned=None, demo=True))
    assert out.watchlist == DEFAULT_WATCHLIST
    assert out.pinned == DEFAULT_WATCHLIST[0]
    assert out.demo is False


# --- the tray's price in the icon (issue 10) ---


def test_tray_price_settings_validate_store_and_fall_back():
    assert Settings().tray_price is True
    assert Settings().tray_cycle_s == 0.0
    assert Settings(tray_cycle_s=5).tray_cycle_s == 5.0
    for bad in (1.0, -3.0, 4000.0, math.nan, True, "5"):
        with pytest.raises(SettingsError):
            Settings(tray_cycle_s=bad)
    with pytest.raises(SettingsError):
        Settings(tray_price="yes")
    store = MemoryStore()
    s = Settings(tray_price=False, tray_cycle_s=8.0)
    save_settings(store, s, previous=None)
    assert (store.values["tray_price"], store.values["tray_cycle_s"]) == ("false", "8.0")
    assert load_settings(store) == (s, ())
    store.values["tray_cycle_s"] = "1"
    store.values["tray_price"] = "maybe"
    loaded, problems = load_settings(store)
    assert (loaded.tray_price, loaded.tray_cycle_s) == (True, 0.0)
    assert {p.key for p in problems} == {"tray_price", "tray_cycle_s"}
    # A file from before issue 10 has neither key: the defaults, silently.
    del store.values["tray_price"], store.values["tray_cycle_s"]
    assert load_settings(store)[1] == ()
