"""Every source's state as one value, and how the views say it."""

from __future__ import annotations

from ccdesk.core.api_key import KeyProvider
from ccdesk.core.connections import Connections
from ccdesk.core.endpoints import env_url_name, key_check_url, stream_url
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.wording import connections_text, source_status_text

LIVE = Status(State.CONNECTED, Reason.WELCOMED, at=5.0)
LOST = Status(State.RECONNECTING, Reason.CONNECTION_LOST, retry_in_s=5.0, retry_at=105.0)
NO_KEY = Status(State.STOPPED, Reason.NO_KEY)


def test_sources_are_kept_in_source_order_and_live_since_only_for_connected_ones():
    c = Connections({Source.COINDESK: NO_KEY, Source.KRAKEN: LIVE})
    assert [s for s, _ in c] == [Source.KRAKEN, Source.COINDESK]
    assert c.live_since() == {Source.KRAKEN: 5.0}
    assert not c.all_live()
    assert c.with_status(Source.COINDESK, LIVE).all_live()
    assert c.only({Source.KRAKEN}).statuses == {Source.KRAKEN: LIVE}


def test_the_worst_state_leads_and_a_composite_follows_its_best_venue():
    c = Connections({Source.KRAKEN: LIVE, Source.COINBASE: LOST, Source.COINDESK: NO_KEY})
    assert c.worst() is NO_KEY
    assert c.for_pair(parse_pair("coinbase:BTC-USD")) is LOST
    assert c.for_pair(parse_pair("composite:BTC-USD")) is LIVE
    assert c.for_pair(None) is NO_KEY
    assert Connections().worst() is None


def test_the_line_names_each_source():
    c = Connections({Source.KRAKEN: LIVE, Source.COINDESK: NO_KEY})
    assert connections_text(c) == "Kraken live · CoinDesk: no API key"
    assert connections_text(c, demo=True).startswith("Demo: simulated prices · Kraken live")
    # One source that is not live: its state in full, with the countdown at ``now``.
    one = Connections({Source.COINBASE: LOST})
    assert connections_text(one, 102.0) == ("Coinbase: Reconnecting — connection lost; retrying in 3 s")
    assert source_status_text(Source.COINBASE, LOST, 101.0) == ("Coinbase: connection lost; retrying in 4 s")
    assert connections_text(Connections()) == "No pairs to watch"


def test_endpoints_come_from_the_flag_the_environment_the_setting_or_the_default():
    assert env_url_name(Source.KRAKEN) == "CCDESK_KRAKEN_URL"
    env = {"CCDESK_KRAKEN_URL": "ws://127.0.0.1:1/kraken", "CCDESK_STREAM_URL": "ws://127.0.0.1:2/v2"}
    assert stream_url(Source.KRAKEN, env=env) == "ws://127.0.0.1:1/kraken"
    assert stream_url(Source.KRAKEN, flag="ws://x/", env=env) == "ws://x/"
    assert stream_url(Source.CRYPTOCOMPARE, env=env, setting="wss://s/") == "ws://127.0.0.1:2/v2"
    assert stream_url(Source.CRYPTOCOMPARE, env={}, setting="wss://s/") == "wss://s/"
    assert stream_url(Source.KRAKEN, env={}) == "wss://ws.kraken.com/v2"
    assert stream_url(Source.CRYPTOCOMPARE) == "wss://streamer.cryptocompare.com/v2"


def test_each_providers_key_is_checked_where_its_variable_or_the_settings_say():
    cc, cd = KeyProvider.CRYPTOCOMPARE, KeyProvider.COINDESK
    assert key_check_url(cc) is None
    assert key_check_url(cd) is None
    assert key_check_url(cc, setting="https://rest.example") == "https://rest.example"
    assert key_check_url(cd, setting="https://rest.example") is None  # the setting is min-api's
    env = {"CCDESK_REST_URL": "http://127.0.0.1:1", "CCDESK_COINDESK_REST_URL": " http://127.0.0.1:2 "}
    assert key_check_url(cc, env=env, setting="https://rest.example") == "http://127.0.0.1:1"
    assert key_check_url(cd, env=env) == "http://127.0.0.1:2"
