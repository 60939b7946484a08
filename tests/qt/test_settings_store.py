"""The INI settings file: round trip, hand-written and hand-corrupted files, what a save keeps, the
file's own problems (unreadable, bad lines, a failed write), and the test-only location."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings, QStandardPaths

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.settings import DEFAULT_RULES, Settings
from ccdesk.core.settings_codec import SettingsFault, SettingsFileProblem, SettingsProblem, rule_from_json
from ccdesk.qt.settings_store import QtSettingsStore
from tests.pairs import BTC, ETH, ETH_COINBASE

KRAKEN = parse_pair("2~Kraken~XBT~EUR")
OLD = Source.CRYPTOCOMPARE  # a file without a source setting: its bare pairs are CryptoCompare's


@pytest.fixture
def ini(tmp_path):
    return tmp_path / "ccdesk.ini"


def general(ini: Path, *lines: str) -> None:
    """Write a settings file by hand: ``lines`` in its [General] section."""
    ini.write_text("[General]\n" + "".join(f"{line}\n" for line in lines))


def test_roundtrip_through_the_file(ini):
    s = Settings(
        watchlist=(ETH, KRAKEN, BTC),
        pinned=KRAKEN,
        rules=(MoveRule(pct=1.0, sub=ETH), LevelRule(level=60000.0, above=False, sub=KRAKEN)),
        stale_after_s=120.0,
        demo=True,
        webhook_url="https://hooks.example.com/x,y?a=1,2",
        alerts_paused_until=math.inf,
    )
    assert QtSettingsStore(ini).save(s, previous=None) is None
    assert "watchlist=" in ini.read_text()
    assert QtSettingsStore(ini).load() == (s, ())


def test_missing_file_gives_defaults(ini):
    store = QtSettingsStore(ini)
    assert store.load() == (Settings(), ())
    assert store.problems() == ()
    assert not ini.exists()  # reading does not create it


# --- hand-written values ---

HAND_RULES = (
    'rules=[{"kind": "move", "pct": 2.0, "window_s": 300.0, "direction": "up", "cooldown_s": 900.0, '
    '"sub": null}, {"kind": "level", "level": 95000, "above": true, "sub": "BTC-USD"}]'
)
RULES_AS_WRITTEN = (
    MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.UP, cooldown_s=900.0),
    LevelRule(level=95000.0, above=True, sub=BTC),
)


def test_qsettings_alone_splits_hand_written_json_at_commas_and_drops_its_quotes(ini):
    # The behaviour QtSettingsStore works around: QSettings' INI syntax, not JSON, applies to the line.
    general(ini, 'rules=[{"kind": "move", "pct": 2.0}]', 'watchlist=["BTC-USD"]')
    qs = QSettings(str(ini), QSettings.Format.IniFormat)
    assert qs.value("rules") == ["[{kind: move", "pct: 2.0}]"]
    assert qs.value("watchlist") == "[BTC-USD]"


def test_hand_written_json_reads_as_written(ini):
    general(
        ini,
        HAND_RULES + "  ; my two rules, the level one for BTC",
        'watchlist=["BTC-USD", "2~Coinbase~ETH~USD",  "2~Kraken~XBT~EUR"]',
        'pinned="2~Coinbase~ETH~USD"',
        "webhook_url=https://hooks.example.com/a?b=1,2",
    )
    store = QtSettingsStore(ini)
    assert store.get("rules") == HAND_RULES.removeprefix("rules=")
    assert store.load() == (
        Settings(
            watchlist=(BTC, ETH_COINBASE, KRAKEN),
            pinned=ETH_COINBASE,
            rules=RULES_AS_WRITTEN,
            webhook_url="https://hooks.example.com/a?b=1,2",
            source=OLD,
        ),
        (),
    )


@pytest.mark.parametrize(
    "line",
    [
        'watchlist=["BTC-USD", "2~Coinbase~ETH~USD"]',
        "watchlist=BTC-USD, 2~Coinbase~ETH~USD",
        "watchlist=[BTC-USD, 2~Coinbase~ETH~USD]",
        'watchlist="BTC-USD", "2~Coinbase~ETH~USD"',
        'watchlist="[\\"5~CCCAGG~BTC~USD\\", \\"2~Coinbase~ETH~USD\\"]"',  # as ccdesk writes it
        'watchlist = [ "BTC-USD" ,"2~Coinbase~ETH~USD" ] ; a comment, with commas',
    ],
)
def test_every_documented_watchlist_form_reads_the_same(ini, line):
    general(ini, line)
    assert QtSettingsStore(ini).load() == (Settings(watchlist=(BTC, ETH_COINBASE), source=OLD), ())


def test_a_one_pair_json_watchlist_keeps_its_quotes(ini):
    # No comma, so QSettings reads a string, but still drops the quotes: ["BTC-USD"] -> [BTC-USD].
    general(ini, 'watchlist=["BTC-USD"]')
    store = QtSettingsStore(ini)
    assert store.get("watchlist") == '["BTC-USD"]'
    assert store.load() == (Settings(watchlist=(BTC,), source=OLD), ())


def test_only_the_general_section_and_the_last_line_of_a_key_count(ini):
    ini.write_text(
        'rules=[{"kind": "move", "pct": 9}, {"kind": "move", "pct": 8}]\n'  # before any section: top level
        "[window]\n"
        'rules=[{"kind": "move", "pct": 7}, {"kind": "move", "pct": 6}]\n'  # window/rules: not ours
        "[General]\n"
        'rules=[{"kind": "move", "pct": 1}, {"kind": "move", "pct": 3}]\n'  # the last one wins
    )
    store = QtSettingsStore(ini)
    assert store.load()[0].rules == (MoveRule(pct=1.0), MoveRule(pct=3.0))
    assert store.get("window/rules") == "[{kind: move, pct: 7}, {kind: move, pct: 6}]"


def test_untouched_hand_written_lines_survive_a_write_of_other_keys(ini):
    # QSettings rewrites every key from its own reading: without the store's care, saving the
    # window geometry alone would write back `rules=[{kind: move, pct: 2.0, ...}]`.
    general(ini, HAND_RULES, 'watchlist=["BTC-USD"]')
    store = QtSettingsStore(ini)
    store.set("window/geometry", "AdnQyw==")
    assert store.sync() is None
    again = QtSettingsStore(ini)
    assert again.load()[0].rules == RULES_AS_WRITTEN
    assert again.load()[0].watchlist == (BTC,)
    assert json.loads(QSettings(str(ini), QSettings.Format.IniFormat).value("rules"))[1]["sub"] == "BTC-USD"


_counter = itertools.count()
_rule_json = st.one_of(
    st.fixed_dictionaries(
        # Within the minimums (alerts.check_minimums): below them a rule is raised on load.
        {"kind": st.just("move"), "pct": st.floats(min_value=0.1, max_value=99.0)},
        optional={
            "window_s": st.floats(min_value=60.0, max_value=1e6),
            "direction": st.sampled_from(["up", "down", "either"]),
            "cooldown_s": st.integers(min_value=60, max_value=86400),
            "sub": st.sampled_from([None, "BTC-USD", "eth/usd", "2~Kraken~XBT~EUR", "0~Binance~BTC~USDT"]),
        },
    ),
    st.fixed_dictionaries(
        {"kind": st.just("level"), "level": st.floats(min_value=1e-8, max_value=1e9), "above": st.booleans()},
        optional={"hysteresis_pct": st.floats(min_value=0.0, max_value=5.0), "sub": st.just("SOL-USD")},
    ),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rules=st.lists(_rule_json, min_size=1, max_size=4),
    watchlist=st.lists(st.sampled_from(["BTC-USD", "eth/usd", "2~Coinbase~ETH~USD", "0~Binance~BTC~USDT"])),
    separators=st.sampled_from([(", ", ": "), (",", ":")]),
)
def test_any_hand_written_json_reads_as_written_and_survives_a_write(tmp_path, rules, watchlist, separators):
    ini = tmp_path / f"hand-{next(_counter)}.ini"  # a new name each time: QSettings caches files by name
    general(
        ini,
        "rules=" + json.dumps(rules, separators=separators),
        "watchlist=" + json.dumps(watchlist, separators=separators),
    )
    expected_rules = tuple(dict.fromkeys(rule_from_json(rule) for rule in rules))
    expected_watchlist = tuple(dict.fromkeys(parse_pair(sub) for sub in watchlist))
    store = QtSettingsStore(ini)
    s, problems = store.load()
    assert (s.rules, s.watchlist) == (expected_rules, expected_watchlist)
    assert all(p.reason.startswith("duplicate") for p in problems)
    store.set("window/geometry", "AAAA")
    assert store.sync() is None
    assert QtSettingsStore(ini).load() == (s, problems)


def test_hand_corrupted_file_keeps_the_good_values(ini, caplog):
    original = (
        b"this line is garbage\n"
        b"[General\n"
        b"\xff\xfe\x00 binary junk\n"
        b"=no key\n"
        b"[General]\n"
        b"watchlist=BTC-USD, 2~Kraken~XBT~EUR, not a pair\n"
        b"pinned=@ByteArray(2~Kraken~XBT~EUR)\n"
        b'rules="[{\\"kind\\": \\"move\\", \\"pct\\": 3}, {\\"kind\\": \\"move\\", \\"pct\\": -3}]"\n'
        b"stale_after_s=1e9\n"
        b"autostart=true\n"
        b"demo=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\bQVariant\\0)\n"
        b"always_on_top=perhaps\n"
        b"webhook_url=https://hooks.example.com/secret-token\n"
        b"alerts_paused_until=1700000000\n"
        b"[window]\n"
        b"geometry=AdnQywADAAA=\n"
    )
    ini.write_bytes(original)
    with caplog.at_level(logging.WARNING):
        store = QtSettingsStore(ini)
        s, problems = store.load()
    copy = ini.with_name("ccdesk.ini.unreadable")
    assert store.problems() == (SettingsFileProblem(SettingsFault.BAD_LINES, str(ini), str(copy)),)
    assert copy.read_bytes() == original
    assert s == Settings(
        watchlist=(BTC, KRAKEN),
        pinned=KRAKEN,
        rules=(MoveRule(pct=3.0),),
        autostart=True,
        webhook_url="https://hooks.example.com/secret-token",
        alerts_paused_until=1_700_000_000.0,
        source=OLD,
    )
    assert problems == (
        SettingsProblem("watchlist[2]", "not a valid subscription"),
        SettingsProblem("rules[1]", "invalid rule (the move must be more than 0 %, not -3.0 %)"),
        SettingsProblem("stale_after_s", "not from 5 to 3600 seconds"),
        SettingsProblem("always_on_top", "not true or false"),
    )
    assert "secret-token" not in caplog.text
    assert store.get("window/geometry") == "AdnQywADAAA="
    # A save (demo switched on) writes a clean file, keeping the Qt layer's keys and the text of
    # the four values that could not be used: they load back with the same problems.
    assert store.save(replace(s, demo=True), previous=s) is None
    again = QtSettingsStore(ini)
    assert again.problems() == ()
    assert again.load() == (replace(s, demo=True), problems)
    assert again.get("watchlist") == "BTC-USD, 2~Kraken~XBT~EUR, not a pair"
    assert again.get("stale_after_s") == "1e9"
    assert again.get("window/geometry") == "AdnQywADAAA="
    assert copy.read_bytes() == original  # the lines the save dropped are still in the copy


def test_unreadable_values_are_kept_in_the_file_until_the_user_changes_them(ini):
    bad_rules = 'rules=[{"kind": "move", "pct": -2}, {"kind": "move", "pct": 2, "sub": "0/0"}]'
    general(ini, bad_rules, "stale_after_s=soon", "demo=true")
    store = QtSettingsStore(ini)
    loaded, problems = store.load()
    assert (loaded.rules, loaded.stale_after_s, loaded.demo) == (DEFAULT_RULES, 60.0, True)
    assert {p.stored_key for p in problems} == {"rules", "stale_after_s"}
    # Saving other changes (alerts paused, always on top) never writes the defaults over them.
    paused = replace(loaded, alerts_paused_until=math.inf)
    assert store.save(paused, previous=loaded) is None
    on_top = replace(paused, always_on_top=True)
    assert store.save(on_top, previous=paused) is None
    again = QtSettingsStore(ini)
    assert again.get("rules") == bad_rules.removeprefix("rules=")
    assert again.get("stale_after_s") == "soon"
    assert again.load() == (on_top, problems)
    # Once the user changes the rules, the new rules are written; the threshold's text stays.
    mine = replace(on_top, rules=(MoveRule(pct=5.0),))
    assert again.save(mine, previous=on_top) is None
    s, problems = QtSettingsStore(ini).load()
    assert s == mine
    assert problems == (SettingsProblem("stale_after_s", "not a number"),)


def test_get_never_raises_on_odd_values(ini):
    ini.write_text('[General]\na=1, 2\nb=@ByteArray(xyz)\nc=@Invalid()\nd=\nf=1,\\x41\ne="x, y\n')
    store = QtSettingsStore(ini)
    assert store.get("a") == "1, 2"
    assert store.get("b") == "xyz"
    assert store.get("c") is None
    assert store.get("d") == ""
    # Forms the store does not read itself stand as QSettings reads them: a hex escape, a quote left open.
    assert store.get("f") == "1, A"
    assert store.get("e") == "x, y\n"  # QSettings reads on to the end of the file
    assert store.get("missing") is None
    assert store.get("") is None  # QSettings would warn on an empty key


def test_set_remove_sync(ini):
    store = QtSettingsStore(ini)
    store.set("window/geometry", "AAAA")
    store.set("x", 'a, b, "c" @d')
    assert store.sync() is None
    other = QtSettingsStore(ini)
    assert other.get("window/geometry") == "AAAA"
    assert other.get("x") == 'a, b, "c" @d'
    store.remove("x")
    store.remove("never-there")
    assert store.sync() is None
    assert QtSettingsStore(ini).get("x") is None
    assert store.sync() is None  # nothing pending


# --- the file's own problems ---
# The tests run as root, where file permissions stop no write: the failures below are ones that
# happen to root too (a path under a regular file, a folder or a symlink loop at the path), and
# an immutable folder (chattr +i), skipped where the attribute cannot be set.


def test_a_save_under_a_regular_file_is_a_typed_failure(tmp_path, caplog):
    (tmp_path / "blocker").write_text("a file, not a folder")
    path = tmp_path / "blocker" / "ccdesk.ini"
    store = QtSettingsStore(path)
    assert store.problems() == ()  # nothing there to read: not a problem yet
    with caplog.at_level(logging.WARNING):
        assert store.save(Settings(demo=True), previous=Settings()) == SettingsFileProblem(
            SettingsFault.NOT_WRITTEN, str(path)
        )
    assert f"could not write the settings file {path}" in caplog.text
    assert store.get("demo") == "true"  # in memory, for as long as the process runs


def test_a_folder_at_the_settings_path_is_unreadable_and_never_written(ini):
    ini.mkdir()
    (ini / "inside").write_text("kept")
    store = QtSettingsStore(ini)
    assert store.problems() == (SettingsFileProblem(SettingsFault.UNREADABLE, str(ini)),)
    assert store.load() == (Settings(), ())
    assert store.save(Settings(demo=True), previous=Settings()) == SettingsFileProblem(
        SettingsFault.UNREADABLE, str(ini)
    )
    assert store.get("demo") == "true"
    assert [p.name for p in ini.iterdir()] == ["inside"]


def test_a_symlink_loop_is_not_replaced(tmp_path):
    # QSettings reads a symlink loop as an empty file and its next write replaces the link.
    loop = tmp_path / "ccdesk.ini"
    loop.symlink_to(loop)
    store = QtSettingsStore(loop)
    assert store.problems() == (SettingsFileProblem(SettingsFault.UNREADABLE, str(loop)),)
    assert store.save(Settings(), previous=None) == SettingsFileProblem(SettingsFault.UNREADABLE, str(loop))
    assert loop.is_symlink()
    assert os.readlink(loop) == str(loop)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """No new file in ``folder``: permissions for a user, the immutable attribute for root (whom
    permissions do not stop). Skips the test where neither can be set."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("as root only an immutable folder refuses a write, and chattr +i is not possible here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_a_failed_write_is_reported_even_after_bad_lines(tmp_path):
    # QSettings' status() would still say FormatError (the first error it met) after this failed write.
    folder = tmp_path / "settings"
    folder.mkdir()
    ini = folder / "ccdesk.ini"
    ini.write_text("[General\n=no key\n[General]\ndemo=true\n")
    store = QtSettingsStore(ini)
    assert [p.fault for p in store.problems()] == [SettingsFault.BAD_LINES]
    loaded = store.load()[0]
    failed = replace(loaded, demo=False)
    with read_only(folder):
        assert store.save(failed, previous=loaded) == SettingsFileProblem(SettingsFault.NOT_WRITTEN, str(ini))
        assert store.get("demo") == "false"
    # Writable again, the next save works and says so (QSettings' status would still say AccessError).
    later = replace(failed, always_on_top=True)
    assert store.save(later, previous=failed) is None
    assert QtSettingsStore(ini).load() == (later, ())


def test_default_location_uses_the_test_app_name(tmp_path, monkeypatch):
    monkeypatch.setenv("CCDESK_APP_NAME", "ccdesk-test")
    default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    try:
        store = QtSettingsStore()
        assert store.path == tmp_path / "ccdesk" / "ccdesk-test.ini"
        assert store.save(Settings(demo=True), previous=None) is None
        assert store.path.is_file()
        assert QtSettingsStore(app_name="ccdesk-test").load()[0].demo is True
    finally:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, default)
