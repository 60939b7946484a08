"""The INI settings file: round trip, hand-corrupted files, and the test-only location."""

from __future__ import annotations

import logging
import math

import pytest
from PySide6.QtCore import QSettings, QStandardPaths

from ccdesk.core.alerts import LevelRule, MoveRule
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import SettingsProblem
from ccdesk.core.subs import parse_sub
from ccdesk.qt.settings_store import QtSettingsStore
from tests.pairs import BTC, ETH

KRAKEN = parse_sub("2~Kraken~XBT~EUR")


@pytest.fixture
def ini(tmp_path):
    return tmp_path / "ccdesk.ini"


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
    QtSettingsStore(ini).save(s)
    assert "watchlist=" in ini.read_text()
    assert QtSettingsStore(ini).load() == (s, ())


def test_missing_file_gives_defaults(ini):
    store = QtSettingsStore(ini)
    assert store.load() == (Settings(), ())
    assert not ini.exists()  # reading does not create it


def test_hand_corrupted_file_keeps_the_good_values(ini, caplog):
    ini.write_bytes(
        b"this line is garbage\n"
        b"[General\n"
        b"\xff\xfe\x00 binary junk\n"
        b"=no key\n"
        b"[General]\n"
        b"watchlist=BTC-USD, 2~Kraken~XBT~EUR, not a pair\n"  # unquoted: QSettings reads a list
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
    store = QtSettingsStore(ini)
    with caplog.at_level(logging.WARNING):
        s, problems = store.load()
    assert s == Settings(
        watchlist=(BTC, KRAKEN),
        pinned=KRAKEN,
        rules=(MoveRule(pct=3.0),),
        autostart=True,
        webhook_url="https://hooks.example.com/secret-token",
        alerts_paused_until=1_700_000_000.0,
    )
    assert problems == (
        SettingsProblem("file", "format error; unreadable lines ignored"),
        SettingsProblem("watchlist[2]", "not a valid subscription"),
        SettingsProblem("rules[1]", "invalid rule (the move must be more than 0 %, not -3.0 %)"),
        SettingsProblem("stale_after_s", "not from 5 to 3600 seconds"),
        SettingsProblem("always_on_top", "not true or false"),
    )
    assert "secret-token" not in caplog.text
    assert store.get("window/geometry") == "AdnQywADAAA="
    # Saving writes a clean file that loads without problems, keeping the Qt layer's keys.
    store.save(s)
    again = QtSettingsStore(ini)
    assert again.load() == (s, ())
    assert again.get("window/geometry") == "AdnQywADAAA="


def test_get_never_raises_on_odd_values(ini):
    ini.write_text("[General]\na=1, 2\nb=@ByteArray(xyz)\nc=@Invalid()\nd=\n")
    store = QtSettingsStore(ini)
    assert store.get("a") == "1, 2"
    assert store.get("b") == "xyz"
    assert store.get("c") is None
    assert store.get("d") == ""
    assert store.get("missing") is None
    assert store.get("") is None  # QSettings would warn on an empty key


def test_set_remove_sync(ini):
    store = QtSettingsStore(ini)
    store.set("window/geometry", "AAAA")
    store.set("x", 'a, b, "c" @d')
    store.sync()
    other = QtSettingsStore(ini)
    assert other.get("window/geometry") == "AAAA"
    assert other.get("x") == 'a, b, "c" @d'
    store.remove("x")
    store.remove("never-there")
    store.sync()
    assert QtSettingsStore(ini).get("x") is None


def test_unwritable_location_is_reported_not_raised(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    store = QtSettingsStore(tmp_path / "blocker" / "ccdesk.ini")
    store.save(Settings())
    assert store.problems() == (SettingsProblem("file", "cannot be read or written"),)


def test_default_location_uses_the_test_app_name(tmp_path, monkeypatch):
    monkeypatch.setenv("CCDESK_APP_NAME", "ccdesk-test")
    default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    try:
        store = QtSettingsStore()
        assert store.path == tmp_path / "ccdesk" / "ccdesk-test.ini"
        store.save(Settings(demo=True))
        assert store.path.is_file()
        assert QtSettingsStore(app_name="ccdesk-test").load()[0].demo is True
    finally:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, default)
