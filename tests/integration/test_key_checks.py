"""Each provider's key check against the loopback simulator: real sockets, ephemeral ports, no internet."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import requests

from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.key_check import KeyStatus
from ccdesk.core.rest import check_coindesk_key, check_key, key_check_for
from ccdesk.sim.server import SimServer
from ccdesk.wording import key_check_words

KEY = "sim-coindesk-key-0123456789abcdef"
WRONG = "sim-wrong-key-0123456789abcdef"
NO_PLAN = "sim-no-plan-key-0123456789abcdef"
TICK = "/index/cc/v1/latest/tick"


@pytest.fixture
def sim(make_sim: Callable[..., SimServer]) -> SimServer:
    return make_sim(keys=[KEY], coindesk_unentitled_keys=[NO_PLAN], rate=0.0, seed=3)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # loopback stays loopback whatever proxy the environment names
        yield s


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        if record.name.startswith("ccdesk"):  # urllib3 logs request lines itself; ours must not
            for key in (KEY, WRONG, NO_PLAN):
                assert key not in record.getMessage()


def _tick(sim: SimServer, session: requests.Session, query: str, key: str | None = KEY) -> requests.Response:
    headers = {} if key is None else {"authorization": f"Apikey {key}"}
    return session.get(f"{sim.rest_url}{TICK}?{query}", headers=headers, timeout=5)


def test_an_accepted_key_is_valid_and_went_only_in_the_header(
    sim: SimServer, session: requests.Session
) -> None:
    check = check_coindesk_key(sim.rest_url, ApiKey(KEY), session=session, timeout_s=5)
    assert check.ok
    assert (check.provider, check.http_status) == (KeyProvider.COINDESK, 200)
    assert key_check_words(check) == "The API key works: CoinDesk Data accepted it and answered."
    (request,) = [h for h in sim.handshakes if h.path.startswith(TICK)]
    assert request.header("authorization") == f"Apikey {KEY}"
    assert KEY not in request.path
    assert request.path == f"{TICK}?market=cadli&instruments=BTC-USD&groups=VALUE"


def test_an_unaccepted_key_is_invalid(sim: SimServer, session: requests.Session) -> None:
    check = check_coindesk_key(sim.rest_url, ApiKey(WRONG), session=session, timeout_s=5)
    assert check.status is KeyStatus.INVALID_KEY
    assert check.http_status == 401
    assert check.server_message is not None
    assert check.server_message.startswith("API key required")
    assert key_check_words(check).startswith("CoinDesk Data refused the API key.")


def test_a_key_without_a_plan_is_not_entitled(sim: SimServer, session: requests.Session) -> None:
    check = check_coindesk_key(sim.rest_url, ApiKey(NO_PLAN), session=session, timeout_s=5)
    assert check.status is KeyStatus.NOT_ENTITLED
    assert check.http_status == 403
    assert "invalid" not in key_check_words(check).lower()


def test_an_unknown_probe_instrument_is_a_bad_request_not_a_bad_key(
    sim: SimServer, session: requests.Session
) -> None:
    check = check_coindesk_key(sim.rest_url, ApiKey(KEY), instrument="NOPE-USD", session=session, timeout_s=5)
    assert check.status is KeyStatus.BAD_REQUEST
    assert check.param_with_error == "instruments"


def test_each_provider_checks_against_its_own_route(sim: SimServer, session: requests.Session) -> None:
    for provider in KeyProvider:
        assert key_check_for(provider)(sim.rest_url, ApiKey(KEY)).ok
    paths = [h.path.partition("?")[0] for h in sim.handshakes]
    assert paths == ["/data/price", TICK]
    # The CryptoCompare route is as it was: the same accepted keys, its own (min-api) check.
    assert check_key(sim.rest_url, ApiKey(WRONG), session=session).status is KeyStatus.INVALID_KEY


def test_the_rest_tick_is_the_stream_tick(sim: SimServer, session: requests.Session) -> None:
    r = _tick(sim, session, "market=cadli&instruments=BTC-USD,ETH-EUR")
    assert r.status_code == 200
    body = r.json()
    assert body["Err"] == {}
    btc = body["Data"]["BTC-USD"]
    assert (btc["TYPE"], btc["MARKET"], btc["INSTRUMENT"]) == ("266", "cadli", "BTC-USD")
    assert 50_000 < btc["VALUE"] < 150_000
    assert btc["VALUE_FLAG"] in ("UP", "DOWN", "UNCHANGED")
    opened = btc["MOVING_24_HOUR_OPEN"]
    assert btc["MOVING_24_HOUR_CHANGE_PERCENTAGE"] == pytest.approx((btc["VALUE"] - opened) / opened * 100)
    assert set(body["Data"]) == {"BTC-USD", "ETH-EUR"}
    only_value = _tick(sim, session, "market=ccix&instruments=BTC-USD&groups=VALUE").json()["Data"]["BTC-USD"]
    assert not any(k.startswith(("MOVING_24_HOUR", "CURRENT_")) for k in only_value)
    assert only_value["MARKET"] == "ccix"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("market=nope&instruments=BTC-USD", "market"),
        ("market=cadli", "instruments"),
        ("market=cadli&instruments=BTC-USD,FOO-USD", "instruments"),
        ("market=ccix&instruments=BTC-EUR", "instruments"),  # not in that index family
        ("market=cadli&instruments=BTC-USD&groups=NOPE", "groups"),
    ],
)
def test_bad_requests_name_the_parameter(
    sim: SimServer, session: requests.Session, query: str, param: str
) -> None:
    r = _tick(sim, session, query)
    assert r.status_code == 400
    body = r.json()
    assert body["Data"] == {}
    assert body["Err"]["other_info"] == {"param": param}


@pytest.mark.parametrize("key", [None, WRONG])
def test_a_missing_or_wrong_key_gets_401_with_the_err_shape(
    sim: SimServer, session: requests.Session, key: str | None
) -> None:
    r = _tick(sim, session, "market=cadli&instruments=BTC-USD", key)
    assert r.status_code == 401
    assert r.json()["Err"]["message"].startswith("API key required")


def test_any_key_is_accepted_when_the_simulator_names_none(
    make_sim: Callable[..., SimServer], session: requests.Session
) -> None:
    open_sim = make_sim(rate=0.0, coindesk_unentitled_keys=[NO_PLAN])
    assert check_coindesk_key(open_sim.rest_url, ApiKey(WRONG), session=session).ok
    assert check_coindesk_key(open_sim.rest_url, ApiKey(NO_PLAN), session=session).status is (
        KeyStatus.NOT_ENTITLED
    )
    assert _tick(open_sim, session, "market=cadli&instruments=BTC-USD", None).status_code == 401


def test_the_simulator_logs_no_key(
    sim: SimServer, session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    for key in (KEY, WRONG, NO_PLAN):
        check_coindesk_key(sim.rest_url, ApiKey(key), session=session)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ccdesk.sim"))
    assert "authorization: ***" in ours
    assert "has no plan" in ours
