"""The hub: one independent connection per source in use, on real sockets against the simulator (one
simulator per source, so that one can die alone), and composite prices on the GUI thread."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from PySide6.QtCore import QObject, Slot

from ccdesk.core.alerts import MoveRule
from ccdesk.core.api_key import ApiKey
from ccdesk.core.clock import SystemClock
from ccdesk.core.connections import Connections
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.qt.stream_hub import Endpoint, StreamHub

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
KRAKEN_ETH = parse_pair("kraken:ETH-USD")
CC_BTC = parse_pair("5~CCCAGG~BTC~USD")
COINBASE_BTC = parse_pair("coinbase:BTC-USD")
COMPOSITE_BTC = parse_pair("composite:BTC-USD")
KEY = "hub-key-0123456789"


class Collector(QObject):
    def __init__(self, hub: StreamHub) -> None:
        super().__init__()
        self.arrivals: dict[object, list[float]] = defaultdict(list)  # pair -> monotonic times
        self.quotes: dict[object, object] = {}
        self.connections: list[Connections] = []
        self.rejected = []
        self.alerts = []
        hub.quotes_changed.connect(self.on_quotes)
        hub.connections_changed.connect(self.on_connections)
        hub.sub_rejected.connect(self.rejected.append)
        hub.alert_fired.connect(self.alerts.append)

    @Slot(object)
    def on_quotes(self, changed) -> None:
        now = time.monotonic()
        for q in changed.quotes:
            self.arrivals[q.sub].append(now)
            self.quotes[q.sub] = q

    @Slot(object)
    def on_connections(self, c) -> None:
        self.connections.append(c)

    def state(self, source: Source) -> State | None:
        if not self.connections:
            return None
        status = self.connections[-1].statuses.get(source)
        return None if status is None else status.state


def endpoints(sims):
    """Each source at its simulator; the key only for the source that needs one."""

    def endpoint(source: Source) -> Endpoint:
        return Endpoint(sims[source].url(source), ApiKey(KEY) if source is Source.CRYPTOCOMPARE else None)

    return endpoint


@pytest.fixture
def hub_with(qtbot):
    made = []

    def make(endpoint):
        hub = StreamHub(SystemClock(), endpoint)
        made.append(hub)
        return hub, Collector(hub)

    yield make
    for hub in made:
        assert hub.stop(3000), "a stream thread did not end"
        assert hub.ended


def test_each_source_streams_on_its_own_connection(qtbot, make_sim, hub_with):
    sims = {Source.KRAKEN: make_sim(rate=20.0, seed=3), Source.CRYPTOCOMPARE: make_sim(rate=20.0, seed=3)}
    hub, got = hub_with(endpoints(sims))
    hub.configure([KRAKEN_BTC, CC_BTC], ())
    qtbot.waitUntil(lambda: {KRAKEN_BTC, CC_BTC} <= set(got.quotes), timeout=5000)
    assert hub.sources() == (Source.KRAKEN, Source.CRYPTOCOMPARE)
    qtbot.waitUntil(lambda: got.connections[-1].all_live(), timeout=5000)
    # The key goes to the source that needs it, never to a keyless one.
    assert sims[Source.CRYPTOCOMPARE].handshakes[-1].header("authorization") == f"Apikey {KEY}"
    assert all(h.header("authorization") is None for h in sims[Source.KRAKEN].handshakes)


def test_one_source_dying_neither_stalls_nor_restarts_the_others(qtbot, make_sim, hub_with):
    # Three sources, each on a simulator of its own (the same seeded market), so one can die alone.
    sims = {s: make_sim(rate=50.0, seed=3) for s in (Source.KRAKEN, Source.COINBASE, Source.CRYPTOCOMPARE)}
    hub, got = hub_with(endpoints(sims))
    hub.configure([KRAKEN_BTC, COINBASE_BTC, CC_BTC], ())
    qtbot.waitUntil(lambda: got.connections and got.connections[-1].all_live(), timeout=5000)
    qtbot.waitUntil(lambda: {KRAKEN_BTC, COINBASE_BTC, CC_BTC} <= set(got.quotes), timeout=5000)
    survivors = (Source.KRAKEN, Source.COINBASE)
    sockets = {s: sims[s].connections[0].conn_id for s in survivors}
    seen = len(got.connections)
    t0 = time.monotonic()
    # Its server goes away for 2 s (from another thread: this one must keep its event loop running).
    outage = threading.Thread(target=sims[Source.CRYPTOCOMPARE].restart, kwargs={"down_s": 2.0})
    outage.start()
    qtbot.waitUntil(lambda: got.state(Source.CRYPTOCOMPARE) is not State.CONNECTED, timeout=5000)
    qtbot.waitUntil(lambda: got.state(Source.CRYPTOCOMPARE) is State.CONNECTED, timeout=15000)
    t1 = time.monotonic()
    outage.join(5)
    # The other two streamed through it all: the same sockets, live in every state reported since,
    # and their prices kept coming while CryptoCompare was down (the simulated market trades several
    # times a second; a stalled source would deliver none).
    for source, pair in ((Source.KRAKEN, KRAKEN_BTC), (Source.COINBASE, COINBASE_BTC)):
        assert sims[source].connections[0].conn_id == sockets[source]
        assert all(c.statuses[source].state is State.CONNECTED for c in got.connections[seen:])
        during = [t for t in got.arrivals[pair] if t0 <= t <= t1]
        assert len(during) >= 3, f"{source.value} delivered {len(during)} prices in {t1 - t0:.1f} s"
    # The dead one recovered alone and streams again.
    n = len(got.arrivals[CC_BTC])
    qtbot.waitUntil(lambda: len(got.arrivals[CC_BTC]) > n, timeout=5000)


def test_a_source_without_its_key_says_so_and_the_others_stream(qtbot, make_sim, hub_with):
    sim = make_sim(rate=20.0)

    def endpoint(s):
        return Status(State.STOPPED, Reason.NO_KEY) if s is Source.CRYPTOCOMPARE else Endpoint(sim.url(s))

    hub, got = hub_with(endpoint)
    hub.configure([KRAKEN_BTC, CC_BTC], ())
    qtbot.waitUntil(lambda: KRAKEN_BTC in got.quotes, timeout=5000)
    assert got.connections[-1].statuses[Source.CRYPTOCOMPARE].reason is Reason.NO_KEY
    assert CC_BTC not in got.quotes


def test_watchlist_changes_touch_only_the_sources_they_concern(qtbot, make_sim, hub_with):
    sim = make_sim(rate=20.0)
    hub, got = hub_with(endpoints(defaultdict(lambda: sim)))
    hub.configure([KRAKEN_BTC], ())
    qtbot.waitUntil(lambda: KRAKEN_BTC in got.quotes, timeout=5000)
    kraken = sim.connections[0].conn_id
    hub.configure([KRAKEN_BTC, KRAKEN_ETH, CC_BTC], ())  # one more Kraken pair, a new source
    qtbot.waitUntil(lambda: {KRAKEN_ETH, CC_BTC} <= set(got.quotes), timeout=5000)
    by_path = {c.path: c for c in sim.connections}
    assert by_path["/kraken/v2"].conn_id == kraken  # added on the live socket
    hub.configure([KRAKEN_ETH], ())  # CryptoCompare no longer used: its connection closes
    assert sim.wait_for(lambda: [c.path for c in sim.connections] == ["/kraken/v2"], 5.0)
    assert hub.sources() == (Source.KRAKEN,)
    assert set(got.connections[-1].statuses) == {Source.KRAKEN}
    assert sim.connections[0].conn_id == kraken


def test_a_composite_price_is_the_median_of_its_venues_and_alerts_on_it_alone(qtbot, make_sim, hub_with):
    sim = make_sim(rate=20.0, seed=4)
    hub, got = hub_with(lambda s: Endpoint(sim.url(s)))
    rule = MoveRule(pct=0.0001, window_s=60, cooldown_s=0)
    hub.configure([COMPOSITE_BTC], (rule,), venues=(Source.KRAKEN,))
    qtbot.waitUntil(lambda: COMPOSITE_BTC in got.quotes, timeout=5000)
    q = got.quotes[COMPOSITE_BTC]
    assert q.basis == (Source.KRAKEN,)
    kraken = got.quotes[KRAKEN_BTC]  # the venue's own quotes pass through too
    assert q.price == kraken.price or got.arrivals[COMPOSITE_BTC]
    qtbot.waitUntil(lambda: bool(got.alerts), timeout=10000)
    # Alerts fire on the composite price, never on the venue pair streamed only to compute it.
    assert {a.sub for a in got.alerts} == {COMPOSITE_BTC}


def test_the_sources_batches_reach_the_views_merged_at_most_ten_times_a_second(qtbot):
    from ccdesk.core.events import QuotesChanged
    from ccdesk.core.quotes import Quote
    from ccdesk.qt.stream_hub import FLUSH_S
    from tests.fakes import FakeClock

    clock = FakeClock()
    hub = StreamHub(clock, lambda source: Status(State.STOPPED, Reason.NO_KEY))
    batches: list[QuotesChanged] = []
    hub.quotes_changed.connect(batches.append)

    def batch(*quotes: tuple[object, float], at: float) -> QuotesChanged:
        return QuotesChanged(
            tuple(Quote(sub=p, price=x, direction=None, received_at=at) for p, x in quotes), at
        )

    # After a quiet spell a batch goes out at once: one source adds no delay.
    hub._on_quotes_changed(batch((KRAKEN_BTC, 1.0), at=1000.0))
    assert [[q.price for q in b.quotes] for b in batches] == [[1.0]]
    # Within FLUSH_S, other sources' batches wait and go out as one, newest quote per pair.
    clock.advance(FLUSH_S / 4)
    hub._on_quotes_changed(batch((COINBASE_BTC, 2.0), (KRAKEN_ETH, 3.0), at=1000.02))
    hub._on_quotes_changed(batch((CC_BTC, 4.0), (COINBASE_BTC, 2.5), at=1000.01))
    assert len(batches) == 1
    clock.advance(FLUSH_S)
    qtbot.waitUntil(lambda: len(batches) == 2, timeout=2000)
    merged = batches[1]
    assert [(q.sub, q.price) for q in merged.quotes] == [
        (COINBASE_BTC, 2.5),
        (KRAKEN_ETH, 3.0),
        (CC_BTC, 4.0),
    ]
    assert merged.last_data_at == 1000.02  # the newest of the sources'
    hub.stop()
