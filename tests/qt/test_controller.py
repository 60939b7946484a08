"""The main-thread controller with the real worker thread, window, model, notifier and simulator
(offscreen): start-up paths, live watchlist changes, alerts and pausing, key handling, sleep/resume,
network changes, and a bounded quit with no leaked thread."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtNetwork import QNetworkInformation

from ccdesk.core.alerts import MoveRule
from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.autostart import Autostart
from ccdesk.core.candles import HOUR_S, MINUTE_S
from ccdesk.core.events import State
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.secrets import SecretStore
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore, load_settings
from ccdesk.core.store import Store
from ccdesk.desktop import build_desktop
from ccdesk.qt.quote_model import STALE_ROLE, QuoteTableModel
from ccdesk.qt.settings_store import QtSettingsStore
from ccdesk.sim import start_demo
from tests.fakes import InMemoryKeyring, JumpyClock
from tests.pairs import BTC, ETH, SOL

KEY = "controller-key-0123456789"


class Harness:
    def __init__(
        self,
        qtbot,
        tmp_path,
        *,
        sim=None,
        settings=None,
        env=None,
        keyring=None,
        clock=None,
        store=None,
        **kw,
    ):
        self.keyring = keyring or InMemoryKeyring()
        self.notified: list[dict] = []
        self.store = MemoryStore() if store is None else store
        url = sim.stream_url if sim is not None else None
        self.desktop = build_desktop(
            settings or Settings(watchlist=(BTC, ETH), stream_url=url, rules=()),
            self.store,
            secrets=SecretStore("ccdesk-test", backend=self.keyring),
            env={"CCDESK_API_KEY": KEY} if env is None else env,
            autostart=Autostart(env={"XDG_CONFIG_HOME": str(tmp_path)}),
            start_demo=start_demo,
            notify_fn=lambda **kw: self.notified.append(kw),
            clock=clock,
            store_path=kw.pop("store_path", tmp_path / "history.sqlite3"),
            **kw,
        )
        d = self.desktop
        self.controller, self.window, self.model, self.tray = d.controller, d.window, d.model, d.tray
        self.history = d.history
        qtbot.addWidget(self.window)

    def cc_worker(self):
        return self.controller.stream.sessions[Source.CRYPTOCOMPARE].worker

    def live_rows(self):
        return [r.sub for r in self.model.rows() if self.model.is_live(r)]

    def close(self):
        c = self.controller
        if not c._quitting:
            c.quit()
        assert c.stream.ended, "a stream thread leaked"


@pytest.fixture
def sim(make_sim):
    return make_sim(rate=50.0, seed=5)


@pytest.fixture
def harness(qtbot, tmp_path):
    made: list[Harness] = []

    def make(**kw):
        h = Harness(qtbot, tmp_path, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def history_text(h, row):
    return h.history.data(h.history.index(row, 0)) if h.history.rowCount() > row else ""


def test_starts_streams_and_shows_live_prices(qtbot, sim, harness):
    h = harness(sim=sim)
    h.controller.start()
    qtbot.waitUntil(lambda: set(h.live_rows()) == {BTC, ETH}, timeout=5000)
    assert h.window.status_line.state.text() == "CryptoCompare live"
    assert sim.handshakes[-1].header("authorization") == f"Apikey {KEY}"
    h.window.refresh(time.monotonic())
    assert h.window.windowTitle().startswith("ccdesk — BTC/USD ")


def test_watchlist_changes_apply_live_without_reconnecting(qtbot, sim, harness):
    h = harness(sim=sim)
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)
    conn = sim.connections[0].conn_id
    new = replace(h.controller.settings, watchlist=(BTC, SOL))
    h.controller.apply_settings(new)
    qtbot.waitUntil(lambda: set(h.live_rows()) == {BTC, SOL}, timeout=5000)
    assert [r.sub for r in h.model.rows()] == [BTC, SOL]
    # The server sends a pair's snapshot before it notes the subscription: wait for its list.
    assert sim.wait_for(lambda: [c.subs for c in sim.connections] == [(str(BTC), str(SOL))], 10.0)
    assert sim.connections[0].conn_id == conn
    saved, problems = load_settings(h.store)
    assert saved.watchlist == (BTC, SOL)
    assert not problems


def test_pin_and_remove_change_the_watchlist_live_and_are_saved(qtbot, sim, harness):
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH, SOL), stream_url=sim.stream_url, rules=()))
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.live_rows()) == 3, timeout=5000)
    h.controller.pin(ETH)
    assert h.controller.settings.pinned == ETH
    h.controller.pin(parse_pair("CRYPTOCOMPARE:DOGE-USD"))  # not watched: nothing happens
    assert h.controller.settings.pinned == ETH
    h.controller.remove_pair(ETH)
    qtbot.waitUntil(lambda: [r.sub for r in h.model.rows()] == [BTC, SOL], timeout=5000)
    qtbot.waitUntil(lambda: sim.connections[0].subs == (str(BTC), str(SOL)), timeout=5000)
    saved, _ = load_settings(h.store)
    assert saved.watchlist == (BTC, SOL)
    assert saved.pinned == BTC


def test_a_failed_save_is_shown_in_the_banner(tmp_path, harness):
    # A path under a regular file: writing fails for root too (permissions would not stop root).
    (tmp_path / "blocker").write_text("a file, not a folder")
    path = tmp_path / "blocker" / "ccdesk.ini"
    h = harness(store=QtSettingsStore(path))
    assert not h.window.banner.isVisibleTo(h.window)
    h.controller.set_always_on_top(True)
    assert h.window.banner.isVisibleTo(h.window)
    assert h.window.banner.label.text() == (
        f"Settings not saved: the settings file {path} could not be written. "
        "The change holds until ccdesk quits."
    )
    assert h.controller.settings.always_on_top is True  # in use all the same


def test_a_save_keeps_stored_values_that_could_not_be_read_until_they_are_changed(harness):
    store = MemoryStore({"rules": '[{"kind": "move", "pct": -2}]', "stale_after_s": "soon"})
    loaded, _ = load_settings(store)
    h = harness(settings=replace(loaded, watchlist=(BTC, ETH)), store=store)
    h.controller.apply_settings(replace(h.controller.settings, demo=False, always_on_top=True))
    assert store.values["always_on_top"] == "true"
    assert (store.values["rules"], store.values["stale_after_s"]) == ('[{"kind": "move", "pct": -2}]', "soon")
    h.controller.apply_settings(replace(h.controller.settings, stale_after_s=90.0))
    assert (store.values["rules"], store.values["stale_after_s"]) == ('[{"kind": "move", "pct": -2}]', "90.0")
    assert not h.window.banner.isVisibleTo(h.window)


def test_alerts_are_delivered_and_recorded_and_pausing_records_without_delivering(qtbot, sim, harness):
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=3600)
    h = harness(sim=sim, settings=Settings(watchlist=(BTC,), stream_url=sim.stream_url, rules=(rule,)))
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.notified) == 1, timeout=10000)
    assert h.notified[0]["title"].startswith("BTC/USD ")
    qtbot.waitUntil(lambda: "notified" in history_text(h, 0), timeout=5000)
    h.controller.pause_alerts(math.inf)
    h.cc_worker().set_rules([MoveRule(pct=0.0001, window_s=60, cooldown_s=0)])
    qtbot.waitUntil(lambda: "paused" in history_text(h, 0), timeout=10000)
    assert len(h.notified) == 1
    assert h.tray.menu().resume.isVisible()
    assert not h.tray.menu().pause_menu.menuAction().isVisible()
    h.controller.resume_alerts()
    assert h.controller.settings.alerts_paused_until is None
    assert not h.tray.menu().resume.isVisible()


def test_no_key_anywhere_asks_for_the_welcome(qtbot, harness):
    h = harness(env={})
    with qtbot.waitSignal(h.controller.welcome_needed, timeout=5000):
        h.controller.start()
    assert h.window.status_line.button.isVisibleTo(h.window)


def test_key_from_the_keyring_is_used(qtbot, sim, harness):
    keyring = InMemoryKeyring()
    keyring.set_password("ccdesk-test", "api_key", KEY)
    h = harness(sim=sim, env={}, keyring=keyring)
    h.controller.start()
    qtbot.waitUntil(lambda: sim.active_sockets(KEY) == 1, timeout=5000)


def test_rejected_key_offers_the_settings(qtbot, make_sim, harness):
    sim = make_sim(keys=["the-right-key-0123456"])
    h = harness(sim=sim)
    h.controller.start()
    qtbot.waitUntil(lambda: h.window.status_line.button.isVisibleTo(h.window), timeout=5000)
    assert "rejected" in h.window.status_line.state.text()
    assert h.tray.look().name == "KEY_PROBLEM"


def test_entering_a_key_saves_it_and_restarts_the_stream_with_it(qtbot, make_sim, harness):
    sim = make_sim(keys=[KEY])
    h = harness(sim=sim, env={})
    h.controller.start()
    qtbot.waitUntil(lambda: h.window.status_line.button.isVisibleTo(h.window), timeout=5000)
    h.controller.keys[KeyProvider.CRYPTOCOMPARE].enter(ApiKey(KEY))
    qtbot.waitUntil(lambda: sim.active_sockets(KEY) == 1, timeout=5000)
    qtbot.waitUntil(lambda: h.keyring.get_password("ccdesk-test", "api_key") == KEY, timeout=5000)


def test_coindesk_borrows_the_cryptocompare_key_until_it_has_its_own(qtbot, make_sim, harness):
    own = "coindesk-own-key-0123456789"
    sim = make_sim(keys=[KEY, own])
    keyring = InMemoryKeyring()
    keyring.set_password("ccdesk-test", "api_key", KEY)
    cd_btc = parse_pair("coindesk:BTC-USD")
    settings = Settings(watchlist=(cd_btc, BTC), stream_url=sim.stream_url, rules=())
    h = harness(sim=sim, settings=settings, env={"CCDESK_COINDESK_URL": sim.url("coindesk")}, keyring=keyring)
    h.controller.start()
    qtbot.waitUntil(lambda: set(h.live_rows()) == {cd_btc, BTC}, timeout=10000)
    assert sim.active_sockets(KEY) == 2  # one per source, both with the CryptoCompare key
    coindesk = h.controller.keys[KeyProvider.COINDESK]
    assert coindesk.state.borrowed_from is KeyProvider.CRYPTOCOMPARE
    h.controller.open_settings()
    box = h.controller.settings_dialog.dialog.key_tab.coindesk
    assert "Using your CryptoCompare key" in box.key_status_label.text()
    assert box.remove_button.isHidden()  # the borrowed key is CryptoCompare's to remove
    box.key_edit.setText(own)
    h.controller.settings_dialog.dialog.accept()
    qtbot.waitUntil(lambda: sim.active_sockets(own) == 1 and sim.active_sockets(KEY) == 1, timeout=10000)
    qtbot.waitUntil(lambda: keyring.get_password("ccdesk-test", "coindesk_api_key") == own, timeout=5000)
    assert keyring.get_password("ccdesk-test", "api_key") == KEY  # CryptoCompare's key untouched
    assert set(h.controller.secrets_for_logs()) == {KEY, own}


def test_removing_a_key_in_the_settings_deletes_it_and_its_sources_wait_for_one(qtbot, make_sim, harness):
    sim = make_sim(keys=[KEY])
    keyring = InMemoryKeyring()
    keyring.set_password("ccdesk-test", "api_key", KEY)
    h = harness(sim=sim, env={}, keyring=keyring)
    h.controller.start()
    qtbot.waitUntil(lambda: sim.active_sockets(KEY) == 1, timeout=5000)
    h.controller.open_settings()
    dialog = h.controller.settings_dialog.dialog
    box = dialog.key_tab.cryptocompare
    qtbot.waitUntil(lambda: not box.remove_button.isHidden(), timeout=5000)
    box.remove_button.click()
    with qtbot.waitSignal(h.controller.welcome_needed, timeout=5000):
        dialog.accept()
    assert keyring.get_password("ccdesk-test", "api_key") is None
    qtbot.waitUntil(lambda: sim.active_sockets(KEY) == 0, timeout=5000)
    assert h.controller.keys.key(KeyProvider.CRYPTOCOMPARE) is None
    assert h.window.status_line.state.text().endswith("no API key")


def test_sleep_resume_marks_everything_stale_until_fresh_data(qtbot, sim, harness):
    clock = JumpyClock()
    h = harness(sim=sim, clock=clock)
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)
    conn = sim.connections[0].conn_id
    sim.set_rate(0)  # no fresh data after the "resume" for now
    clock.offset += 3600
    qtbot.waitUntil(lambda: h.live_rows() == [], timeout=10000)  # stale once the jump is seen (<= 5 s)
    index = h.model.index(0, QuoteTableModel.TREND)
    assert h.model.data(index, STALE_ROLE) is True
    # One freshness rule for every view: the tray's lines and the title say stale too.
    h.tray.refresh(clock.monotonic())
    h.window.refresh(clock.monotonic())
    assert [line.endswith("(stale)") for line in h.tray.tooltip().splitlines()[1:3]] == [True, True]
    assert h.window.windowTitle().endswith("(stale)")
    qtbot.waitUntil(lambda: bool(sim.connections) and sim.connections[0].conn_id != conn, timeout=15000)
    # The new session's snapshots are fresh data: rows come back live only with them.
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)
    since = h.model.freshness.live_since[Source.CRYPTOCOMPARE]
    assert all(r.quote.received_at >= since for r in h.model.rows())


def test_network_coming_back_reconnects_at_once(qtbot, sim, harness):
    h = harness(sim=sim)
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)
    conn = sim.connections[0].conn_id
    h.controller.network._on_info_reachability_changed(QNetworkInformation.Reachability.Online)
    qtbot.waitUntil(lambda: bool(sim.connections) and sim.connections[0].conn_id != conn, timeout=15000)


def test_quit_closes_the_socket_and_ends_the_thread_within_two_seconds(qtbot, sim, harness):
    h = harness(sim=sim)
    h.controller.start()
    qtbot.waitUntil(lambda: sim.active_sockets() == 1, timeout=5000)
    t0 = time.monotonic()
    h.controller.quit()
    assert time.monotonic() - t0 < 2.0
    assert h.controller.stream.ended
    assert sim.wait_for(lambda: sim.active_sockets() == 0, 10.0)  # seen by the server's own thread
    worker = h.cc_worker()
    assert worker._client is None or worker._client.status.state is State.STOPPED


def test_geometry_is_remembered(qtbot, sim, harness):
    h = harness(sim=sim)
    h.window.resize(640, 300)
    h.window.move(40, 50)
    h.controller.start()
    h.controller.quit()
    assert h.store.get("window/geometry")
    h2 = harness(sim=sim)
    h2.store.set("window/geometry", h.store.get("window/geometry"))
    h2.controller.start()
    assert h2.window.size().width() == 640


def test_the_key_in_use_is_offered_to_the_log_filter(qtbot, sim, harness):
    h = harness(sim=sim)
    assert h.controller.secrets_for_logs() == ()
    h.controller.start()
    qtbot.waitUntil(lambda: h.controller.secrets_for_logs() == (KEY,), timeout=5000)


def test_a_subscription_limit_shows_in_the_status_line_and_on_the_refused_rows(qtbot, make_sim, harness):
    sim = make_sim(rate=50.0, seed=3, max_subs_per_socket=2)
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH, SOL), stream_url=sim.stream_url, rules=()))
    h.controller.start()
    qtbot.waitUntil(lambda: "refused some pairs" in h.window.status_line.state.text(), timeout=5000)
    assert "at most 2 pairs at once" in h.window.status_line.state.text()
    assert h.window.status_line.state.text().startswith("CryptoCompare live")
    qtbot.waitUntil(lambda: set(h.live_rows()) == {BTC, ETH}, timeout=5000)
    sol = h.model.index(2, QuoteTableModel.PRICE)
    assert h.model.data(sol) == "not available"
    assert "subscription limit (2 pairs at once)" in h.model.data(sol, Qt.ItemDataRole.ToolTipRole)


def test_the_alert_history_survives_a_restart(qtbot, sim, harness, tmp_path):
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=3600)
    settings = Settings(watchlist=(BTC,), stream_url=sim.stream_url, rules=(rule,))
    path = tmp_path / "kept.sqlite3"
    first = harness(sim=sim, settings=settings, store_path=path)
    first.controller.start()
    qtbot.waitUntil(lambda: "notified" in history_text(first, 0), timeout=10000)
    fired = first.history.entries()[0].alert
    first.controller.quit()
    second = harness(sim=sim, settings=replace(settings, rules=()), store_path=path)
    second.controller.start()
    qtbot.waitUntil(lambda: second.history.rowCount() == 1, timeout=5000)
    kept = second.history.entries()[0]
    assert (kept.alert.id, kept.alert.to_price, kept.paused) == (fired.id, fired.to_price, False)
    assert history_text(second, 0).endswith("notified")


def test_live_prices_become_minute_candles_and_the_demos_never_do(qtbot, sim, harness, tmp_path):
    path = tmp_path / "candles.sqlite3"
    h = harness(sim=sim, store_path=path)
    h.controller.start()
    qtbot.waitUntil(lambda: set(h.live_rows()) == {BTC, ETH}, timeout=5000)
    prices = {q.sub: q.price for q in h.model.quotes()}
    h.controller.quit()  # the open minutes are handed over as the streams stop, then the store closes
    store = Store.open(path)
    try:
        for sub in (BTC, ETH):
            minutes = store.candles(sub, MINUTE_S, 0)
            assert minutes, f"no candle for {sub}"
            last = minutes[-1]
            assert last.count >= 1
            assert time.time() - 180 <= last.start <= time.time()
            assert last.low <= last.close <= last.high
            assert abs(last.close - prices[sub]) / prices[sub] < 0.05  # the price the window showed
            assert store.candles(sub, HOUR_S, 0)  # rolled up as it came
    finally:
        store.close()

    demo_path = tmp_path / "demo.sqlite3"
    d = harness(settings=Settings(demo=True), store_path=demo_path)
    d.controller.start()
    qtbot.waitUntil(lambda: len(d.live_rows()) >= 2, timeout=15000)
    d.controller.quit()
    store = Store.open(demo_path)
    try:
        assert all(store.candles(sub, MINUTE_S, 0) == [] for sub in d.controller.settings.watchlist)
    finally:
        store.close()


def test_a_data_folder_that_cannot_be_written_is_a_banner(qtbot, sim, harness, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    h = harness(sim=sim, store_path=blocker / "sub" / "history.sqlite3")
    h.controller.start()
    qtbot.waitUntil(
        lambda: any(
            m.startswith("Alerts, price history and holdings are not being kept")
            for m in h.window.banner.messages()
        ),
        timeout=5000,
    )
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)  # and the app goes on


# --- sources, the demo and the empty window ---------------------------------------------------------

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
KRAKEN_ETH = parse_pair("kraken:ETH-USD")


def test_keyless_pairs_stream_with_no_key_and_a_key_source_waits_for_its_key(qtbot, sim, harness):
    settings = Settings(watchlist=(KRAKEN_BTC, BTC), stream_url=sim.stream_url, rules=())
    h = harness(sim=sim, settings=settings, env={"CCDESK_KRAKEN_URL": sim.url("kraken")})
    with qtbot.waitSignal(h.controller.welcome_needed, timeout=5000):
        h.controller.start()
    qtbot.waitUntil(lambda: KRAKEN_BTC in h.live_rows(), timeout=5000)
    assert h.window.status_line.state.text() == "Kraken live · CryptoCompare: no API key"
    assert h.controller.sources_needing_a_key() == ["CryptoCompare"]
    # A source in use needs the key: the tooltip says so; the live pinned price keeps the icon.
    h.tray.refresh(time.monotonic())
    assert h.tray.tooltip().splitlines()[1] == "No API key yet: add one in the settings, or try the demo."
    assert h.tray.look().name != "KEY_PROBLEM"
    assert h.window.prices.currentWidget() is h.window.table  # Kraken streams: no empty state
    # Watching without a key: the aggregate becomes the composite of the keyless venues.
    h.controller.use_keyless()
    composite = parse_pair("composite:BTC-USD")
    assert h.controller.settings.watchlist == (KRAKEN_BTC, composite)
    assert h.tray.look().name != "KEY_PROBLEM"  # no source needs a key any more
    qtbot.waitUntil(lambda: composite in h.live_rows(), timeout=10000)
    row = next(r for r in h.model.rows() if r.sub == composite)
    assert Source.KRAKEN in row.quote.basis
    text = h.model.data(h.model.index(h.model.rows().index(row), QuoteTableModel.PAIR))
    assert text.startswith("BTC/USD · median of ")


def test_the_store_is_backfilled_from_the_venue_and_sparklines_start_full(qtbot, sim, harness, tmp_path):
    path = tmp_path / "memory.sqlite3"
    env = {"CCDESK_KRAKEN_URL": sim.url("kraken"), "CCDESK_KRAKEN_REST_URL": sim.rest_url}
    settings = Settings(watchlist=(KRAKEN_BTC,), rules=())
    h = harness(sim=sim, settings=settings, env=env, store_path=path)
    filled = []
    h.controller.memory.history_changed.connect(filled.append)
    h.controller.start()
    qtbot.waitUntil(lambda: bool(filled), timeout=20000)  # Kraken: 720 minutes, one page
    assert filled[0] == (KRAKEN_BTC,)
    row = next(r for r in h.model.rows() if r.sub == KRAKEN_BTC)
    qtbot.waitUntil(lambda: len(row.history) >= 10, timeout=5000)  # the last 15 minutes, seeded
    assert row.history.points()[0][0] < time.monotonic() - 600  # older than this run
    qtbot.waitUntil(lambda: len(filled) >= 2, timeout=20000)  # then its hours, one page more
    h.controller.quit()

    kept = Store.open(path)
    try:
        minutes = kept.candles(KRAKEN_BTC, MINUTE_S, time.time() - 86400)
        assert len(minutes) >= 715  # Kraken serves its 720 most recent minutes (less the open one)
        # And its 720 most recent hours: a 30-day chart is whole on the first day.
        hours = kept.candles(KRAKEN_BTC, HOUR_S, 0)
        assert len(hours) >= 715
        assert hours[0].start <= time.time() - 29 * 86400
    finally:
        kept.close()
    # A stream moved elsewhere without a history URL is never backfilled from the real venue.
    requests_before = len(sim.history_hits)
    again = harness(sim=sim, settings=settings, env={"CCDESK_KRAKEN_URL": sim.url("kraken")}, store_path=path)
    again.controller.start()
    row = next(r for r in again.model.rows() if r.sub == KRAKEN_BTC)
    qtbot.waitUntil(lambda: len(row.history) >= 10, timeout=5000)  # from the store alone
    assert len(sim.history_hits) == requests_before


def sim_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("ccdesk-sim")}


def demo_started_after(harness, gate):
    """A demo app whose simulator starts once ``gate()`` returns; the simulators it started."""
    started = []

    def start_after_gate():
        gate()
        sim = start_demo()
        started.append(sim)
        return sim

    h = harness(settings=Settings(watchlist=(BTC,), rules=(), demo=True), env={})
    h.controller._start_demo_fn = start_after_gate
    h.controller.start(show_window=False)
    return h, started


def test_leaving_and_retrying_the_demo_while_it_starts_starts_one_simulator(qtbot, harness):
    before = sim_threads()
    h, started = demo_started_after(harness, lambda: time.sleep(0.5))  # a simulator takes a moment
    # "Leave the demo", then "Try the demo" again, while the first start is under way.
    h.controller.leave_demo()
    h.controller.start_demo()
    qtbot.waitUntil(lambda: h.controller._sim is not None, timeout=10000)
    qtbot.wait(1000)  # a second start, had there been one, would have landed by now
    assert len(started) == 1
    h.controller.quit()
    assert sim_threads() <= before


def test_a_demo_that_finishes_starting_after_quit_is_stopped(qtbot, harness):
    before = sim_threads()
    release = threading.Event()
    h, started = demo_started_after(harness, lambda: release.wait(10))
    h.controller.quit()  # quit delivers no more job outcomes: nobody would stop it
    release.set()
    qtbot.waitUntil(lambda: bool(started), timeout=10000)
    qtbot.waitUntil(lambda: sim_threads() <= before, timeout=10000)


def test_a_pair_that_needs_a_missing_key_says_so_in_its_row(qtbot, make_sim, harness):
    sim = make_sim(rate=20.0)
    cd_btc = parse_pair("coindesk:BTC-USD")
    settings = Settings(watchlist=(KRAKEN_BTC, cd_btc), rules=())
    h = harness(sim=sim, settings=settings, env={"CCDESK_KRAKEN_URL": sim.url("kraken")})
    h.controller.start()
    qtbot.waitUntil(lambda: KRAKEN_BTC in h.live_rows(), timeout=10000)
    row = [r.sub for r in h.model.rows()].index(cd_btc)
    cell = lambda col: h.model.data(h.model.index(row, col))  # noqa: E731
    qtbot.waitUntil(lambda: cell(h.model.AGE) == "no API key", timeout=10000)
    assert cell(h.model.PRICE) == "—"


def test_an_empty_watchlist_shows_its_empty_state_from_the_start(qtbot, harness):
    # As after "remove every pair" and a restart: no stream starts, so no connection change says so.
    h = harness(settings=Settings(watchlist=(), rules=()), env={})
    h.controller.start()
    assert h.window.prices.currentWidget() is h.window.empty_scroll
    assert h.window.empty_state.text.text().startswith("No pairs to watch.")


def test_nothing_to_stream_shows_the_empty_state_with_the_welcome_choices(qtbot, harness):
    h = harness(settings=Settings(watchlist=(BTC, ETH), rules=()), env={})
    h.controller.start()
    qtbot.waitUntil(lambda: h.window.prices.currentWidget() is h.window.empty_scroll, timeout=5000)
    assert "CryptoCompare, which need a paid API key" in h.window.empty_state.text.text()
    h.controller.apply_settings(replace(h.controller.settings, watchlist=()))
    assert h.window.empty_state.text.text().startswith("No pairs to watch.")
    # "Watch without a key" on an empty watchlist: Kraken's default pairs.
    h.window.empty_state.keyless_button.click()
    assert h.controller.settings.watchlist[0] == KRAKEN_BTC
    assert h.window.prices.currentWidget() is h.window.table


def test_the_demo_is_labelled_everywhere_and_left_in_one_click(qtbot, harness, tmp_path):
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=3600)
    h = harness(settings=Settings(watchlist=(KRAKEN_BTC,), rules=(rule,), demo=True), env={})
    h.controller.start()
    qtbot.waitUntil(lambda: KRAKEN_BTC in h.live_rows(), timeout=10000)
    h.window.refresh(time.monotonic())
    assert h.window.windowTitle().startswith("ccdesk demo — BTC/USD ")
    assert "(simulated)" in h.window.windowTitle()
    assert h.window.status_line.state.text().startswith("Demo: simulated prices · Kraken live")
    assert h.window.status_line.leave_demo_button.isVisibleTo(h.window)
    h.tray.refresh(time.monotonic())
    assert h.tray.tooltip().startswith("ccdesk: Demo: simulated prices")
    assert h.tray.look().name != "KEY_PROBLEM"  # no key is missing in the demo
    qtbot.waitUntil(lambda: len(h.notified) >= 1, timeout=10000)
    assert h.notified[0]["title"].startswith("Demo: BTC/USD · Kraken ")
    assert "simulated prices" in h.notified[0]["message"]
    assert h.controller.alerts.store.flush(5.0)
    assert h.controller.alerts.store.recent_alerts() == []  # simulated alerts are never kept
    # Verify asks the real provider, not the simulator (which accepts any key).
    assert h.controller._verify_url(KeyProvider.CRYPTOCOMPARE) is None  # the default: its own min-api
    assert h.controller._verify_url(KeyProvider.COINDESK) is None
    h.window.status_line.leave_demo_button.click()
    assert h.controller.settings.demo is False
    assert not h.window.status_line.leave_demo_button.isVisibleTo(h.window)
    assert not h.window.windowTitle().startswith("ccdesk demo")


# --- the window's part of issue 10: view state, the tray hint, the pause, row actions ---------------


def test_the_sort_and_hidden_columns_survive_a_restart(qtbot, harness):
    h = harness(env={})
    h.controller.start()
    h.window.set_sort(QuoteTableModel.PRICE, Qt.SortOrder.DescendingOrder)
    h.window.column_actions[QuoteTableModel.TREND].trigger()  # View > Columns > Trend: off
    assert h.store.get("window/sort") == "price:desc"
    assert h.store.get("window/hidden_columns") == "trend"
    h.controller.quit()
    h2 = harness(env={}, store=h.store)
    h2.controller.start()
    assert h2.window.hidden_columns() == {QuoteTableModel.TREND}
    assert h2.window.sort_column() == QuoteTableModel.PRICE
    assert h2.window.view_state() == {"sort": "price:desc", "hidden_columns": "trend"}


def test_the_first_close_to_the_tray_says_where_ccdesk_went_once(qtbot, harness, monkeypatch):
    h = harness(env={})
    said: list[tuple[str, str]] = []
    monkeypatch.setattr(h.tray, "show_message", lambda title, body: said.append((title, body)) or True)
    h.controller.start()
    h.window.close_to_tray = True  # as with a tray (the offscreen platform has none)
    h.window.close()
    assert len(said) == 1
    assert said[0][0] == "ccdesk is still running"
    assert "choose Quit from its menu" in said[0][1]
    h.window.show()
    h.window.close()
    assert len(said) == 1  # once
    h2 = harness(env={}, store=h.store)
    monkeypatch.setattr(h2.tray, "show_message", lambda title, body: said.append((title, body)) or True)
    h2.controller.start()
    h2.window.close_to_tray = True
    h2.window.close()
    assert len(said) == 1  # not after a restart either


def test_without_balloons_the_window_says_it_when_opened_again(qtbot, harness, monkeypatch):
    h = harness(env={})
    monkeypatch.setattr(h.tray, "show_message", lambda title, body: False)
    h.controller.start()
    h.window.close_to_tray = True
    h.window.close()
    assert any("keeps watching prices" in m for m in h.window.banner.messages())


def test_a_pause_shows_in_the_window_and_resumes_from_it(qtbot, harness):
    h = harness(env={})
    h.controller.start()
    assert not h.window.paused_line.isVisibleTo(h.window)
    h.controller.pause_alerts(3600.0)
    assert h.window.paused_line.isVisibleTo(h.window)
    assert h.window.paused_line.label.text().startswith("Alerts paused until ")
    h.window.paused_line.resume_button.click()
    assert h.controller.settings.alerts_paused_until is None
    assert not h.window.paused_line.isVisibleTo(h.window)
    assert not h.tray.menu().resume.isVisible()


def test_a_pause_saved_before_a_restart_shows_at_start(qtbot, harness):
    h = harness(env={}, settings=Settings(watchlist=(BTC,), rules=(), alerts_paused_until=math.inf))
    h.controller.start()
    assert h.window.paused_line.label.text() == "Alerts paused until resumed"


def test_the_row_menu_pins_and_removes_through_the_controller(qtbot, harness):
    h = harness(env={}, settings=Settings(watchlist=(BTC, ETH, SOL), rules=()))
    h.controller.start()
    assert h.window.select_pair(ETH)
    h.window.pin_action.trigger()
    assert h.controller.settings.pinned == ETH
    h.window.confirm_remove = lambda pair: True
    h.window.remove_action.trigger()
    assert h.controller.settings.watchlist == (BTC, SOL)
    assert [r.sub for r in h.model.rows()] == [BTC, SOL]


# --- rule commands: snooze, mute, re-arm, delete by id (the notification actions and the history) ---


def test_rule_commands_snooze_mute_rearm_delete_and_the_engine_obeys(qtbot, sim, harness):
    flood = MoveRule(pct=0.0001, window_s=60, cooldown_s=1, sub=BTC, id="flood")
    witness = MoveRule(pct=0.0001, window_s=60, cooldown_s=1, sub=ETH, id="witness")  # keeps firing
    once = MoveRule(pct=0.0001, window_s=60, cooldown_s=0, sub=BTC, id="once", once=True)
    settings = Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=(flood, witness, once))
    h = harness(sim=sim, settings=settings)

    def fired(rule_id):
        return sum(1 for e in h.history.entries() if e.alert.rule.id == rule_id)

    def quiet_while_the_witness_fires(rule_id):
        """Two witness alerts let anything fired before the change arrive; over two more, ``rule_id``
        must fire nothing."""
        start = fired("witness")
        qtbot.waitUntil(lambda: fired("witness") >= start + 2, timeout=10000)
        before = fired(rule_id)
        qtbot.waitUntil(lambda: fired("witness") >= start + 4, timeout=10000)
        assert fired(rule_id) == before

    c = h.controller
    c.start()
    qtbot.waitUntil(lambda: fired("flood") >= 1 and fired("once") == 1, timeout=10000)
    # The once rule fired once and is persisted as spent (it survives a restart).
    spent = next(r for r in c.settings.rules if r.id == "once")
    assert spent.spent_at is not None
    assert next(r for r in load_settings(h.store)[0].rules if r.id == "once").spent_at == spent.spent_at

    c.snooze_rule("flood", 3600.0)
    assert next(r for r in c.settings.rules if r.id == "flood").snoozed_until == pytest.approx(
        time.time() + 3600.0, abs=5.0
    )
    quiet_while_the_witness_fires("flood")

    c.rearm_rule("flood")
    now = fired("flood")
    qtbot.waitUntil(lambda: fired("flood") > now, timeout=10000)

    c.mute_rule("flood")
    assert load_settings(h.store)[0].rules[0].enabled is False  # saved
    quiet_while_the_witness_fires("flood")

    c.rearm_rule("flood")
    c.rearm_rule("once")
    now = fired("flood")
    qtbot.waitUntil(lambda: fired("flood") > now and fired("once") == 2, timeout=10000)

    c.delete_rule("flood")
    assert [r.id for r in c.settings.rules] == ["witness", "once"]
    assert [r.id for r in load_settings(h.store)[0].rules] == ["witness", "once"]
    quiet_while_the_witness_fires("flood")
    assert fired("once") == 2  # spent again after its second alert
    c.delete_rule("nope")  # an unknown id changes nothing
    assert [r.id for r in c.settings.rules] == ["witness", "once"]


# The second request raises the dialog already open: the offscreen platform cannot raise windows.
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_edit_rule_and_new_rule_at_price_open_the_editor(qtbot, sim, harness):
    rule = MoveRule(pct=2.0, window_s=300, cooldown_s=900, sub=BTC, id="edit-me")
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=(rule,)))
    c = h.controller
    c.start()
    qtbot.waitUntil(lambda: BTC in h.live_rows(), timeout=5000)
    c.edit_rule("edit-me")
    dialog = c.settings_dialog.dialog
    assert dialog is not None
    assert dialog.tabs.currentWidget() is dialog.alerts_tab
    editor = dialog.alerts_tab.rule_editor
    assert editor is not None
    assert editor.windowTitle() == "Edit move alert"
    assert editor.pct_box.text() == "2"
    editor.reject()
    c.new_rule_at_price(BTC)
    editor = dialog.alerts_tab.rule_editor
    assert editor is not None
    assert editor.windowTitle() == "New level alert"
    price = c.current_price(BTC)
    assert price is not None
    assert editor.price_label.text().startswith("Current price of BTC/USD · CCCAGG: ")
    assert float(editor.level_edit.text()) == pytest.approx(price, rel=1e-4)
    editor.accept()
    c.mute_rule("edit-me")  # from a notification, while the dialog is open
    dialog.accept()
    assert [type(r).__name__ for r in c.settings.rules] == ["MoveRule", "LevelRule"]
    assert c.settings.rules[0].id == "edit-me"
    assert c.settings.rules[0].enabled is False  # OK on the dialog did not undo the mute


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_rule_editing_from_the_history_goes_through_the_controller(qtbot, sim, harness):
    from ccdesk.core.alerts import Alert, MoveDirection

    rule = MoveRule(pct=2.0, window_s=300, cooldown_s=900, sub=BTC, id="fired")
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=(rule,)))
    c = h.controller
    c.start()
    h.history.add(Alert(BTC, rule, MoveDirection.UP, 2.1, 100.0, 102.1, 300.0, time.time()), paused=False)
    actions = h.desktop.history_actions
    assert actions is not None
    h.window.history.setCurrentIndex(h.history.index(0, 0))
    c.mute_rule("fired")
    actions.rearm_action.trigger()
    assert c.settings.rules[0].enabled is True
    actions.edit_action.trigger()
    dialog = c.settings_dialog.dialog
    assert dialog is not None
    editor = dialog.alerts_tab.rule_editor
    assert editor is not None
    editor.pct_box.setText("3")
    editor.accept()
    dialog.accept()
    assert c.settings.rules[0].pct == 3.0
    assert c.settings.rules[0].id == "fired"
    actions.delete_action.trigger()
    assert c.settings.rules == ()
    menu = actions.build_menu()
    offered = [a.text() for a in menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert offered == ["&New rule at the current price\u2026"]  # the rule is gone: only a new one


def test_choosing_a_pair_in_the_tray_menu_pins_it_and_the_icon_follows(qtbot, sim, harness):
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=()))
    h.controller.start()
    qtbot.waitUntil(lambda: len(h.live_rows()) == 2, timeout=5000)
    qtbot.waitUntil(lambda: h.tray.face().text is not None, timeout=5000)  # the price is in the icon
    h.tray._menu.aboutToShow.emit()  # offscreen there is no menu to pop up
    h.tray.menu().pair_actions[ETH].trigger()
    assert h.controller.settings.pinned == ETH
    assert load_settings(h.store)[0].pinned == ETH
    qtbot.waitUntil(lambda: h.tray.menu().pair_actions[ETH].isChecked(), timeout=5000)
    qtbot.waitUntil(
        lambda: h.tray.pinned_line() is not None and "ETH/USD" in h.tray.pinned_line(), timeout=5000
    )
    h.controller.apply_settings(replace(h.controller.settings, tray_price=False))
    assert h.tray.face().text is None  # the option turns the price off at once


def test_alert_at_this_price_from_the_window_opens_a_level_rule_at_the_price(qtbot, sim, harness):
    h = harness(sim=sim, settings=Settings(watchlist=(BTC, ETH), stream_url=sim.stream_url, rules=()))
    h.controller.start()
    qtbot.waitUntil(lambda: ETH in h.live_rows(), timeout=5000)
    assert h.window.select_pair(ETH)
    h.window.alert_action.trigger()  # the row menu's "Alert at this price…" (Ctrl+L)
    dialog = h.controller.settings_dialog.dialog
    assert dialog is not None
    editor = dialog.alerts_tab.rule_editor
    assert editor is not None
    assert editor.windowTitle() == "New level alert"
    assert editor.price_label.text().startswith("Current price of ETH/USD · CCCAGG: ")
    editor.reject()
    dialog.reject()


def test_a_move_rule_on_the_portfolio_total_fires_and_an_every_pair_rule_does_not(qtbot, sim, harness):
    from ccdesk.core.holdings import Holding
    from ccdesk.core.pairs import portfolio_pair

    total = portfolio_pair("USD")
    on_total = MoveRule(pct=0.0001, window_s=60, cooldown_s=3600, sub=total)
    # A 1-minute cooldown (the minimum) keeps BTC's own alerts under the 6-a-minute cap, so the
    # total's pop-up is never the one the cap holds back.
    every_pair = MoveRule(pct=0.0001, window_s=60, cooldown_s=60)
    settings = Settings(watchlist=(BTC,), stream_url=sim.stream_url, rules=(on_total, every_pair))
    h = harness(sim=sim, settings=settings)
    h.controller.portfolio.set_holding(Holding(BTC, 0.5, 20_000.0))
    h.controller.start()
    assert h.controller.portfolio.alerts.rules == (on_total,)

    def fired():
        return [e.alert for e in h.history.entries()]

    qtbot.waitUntil(lambda: any(a.sub == total for a in fired()), timeout=10000)
    (alert,) = [a for a in fired() if a.sub == total]
    assert alert.rule.id == on_total.id
    # The pop-up is handed over on the notifier's own thread, after the history has the alert.
    qtbot.waitUntil(lambda: any(n["title"].startswith("Portfolio · USD ") for n in h.notified), timeout=5000)
    # The total is half of BTC's price: the move is BTC's move, the value the holding's.
    qtbot.waitUntil(lambda: any(a.sub == BTC for a in fired()), timeout=10000)
    assert [a.rule.id for a in fired() if a.sub == BTC] == [every_pair.id], "every-pair fires for BTC"
    assert alert.to_price == pytest.approx(h.model.portfolio_totals()[0].value, rel=0.01)
    # The total keeps moving; the every-pair rule (which would fire on its first move) never fires for it.
    values: set[float] = set()

    def total_moved_again() -> bool:
        values.add(h.model.portfolio_totals()[0].value)
        return len(values) > 3

    qtbot.waitUntil(total_moved_again, timeout=10000)
    assert [a.rule.id for a in fired() if a.sub == total] == [on_total.id]
    assert h.controller.portfolio.pairs() == [total]
    assert h.controller.rule_price(total) is not None
