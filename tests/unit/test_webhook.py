"""Webhook payload and POST, against a real loopback HTTP server (no internet)."""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule, StepRule
from ccdesk.core.delivery import WebhookFailure
from ccdesk.core.pairs import parse_pair
from ccdesk.core.webhook import alert_payload, check_webhook_url, post_alert, webhook_host
from ccdesk.wording import webhook_words
from tests.pairs import BTC

SECRET = "T0KEN-in-the-path"


def move_alert() -> Alert:
    return Alert(
        sub=BTC,
        rule=MoveRule(pct=1.0, window_s=300.0, id="move-1"),
        direction=MoveDirection.UP,
        change_pct=1.3,
        from_price=91_000.0,
        to_price=92_183.0,
        window_s=300.0,
        at=1_700_000_000.0,
        elapsed_s=120.0,
    )


class Recorder:
    """What the loopback server saw and how it answers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.status = 204
        self.headers: dict[str, str] = {}


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            rec.requests.append((self.command, self.path, dict(self.headers), body))
            self.send_response(rec.status)
            for name, value in rec.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook/{SECRET}?token={SECRET}", rec
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_alert_payload_has_the_documented_fields() -> None:
    alert = move_alert()
    payload = alert_payload(alert)
    assert payload == {
        "kind": "alert",
        "sub": "5~CCCAGG~BTC~USD",
        "pair": "BTC/USD",
        "label": "BTC/USD",
        "rule": "move",
        "direction": "up",
        "change_pct": 1.3,
        "from_price": 91_000.0,
        "to_price": 92_183.0,
        "window_s": 300.0,
        "level": None,
        "at": 1_700_000_000.0,
        "simulated": False,
        "rule_id": "move-1",
    }
    json.dumps(payload, allow_nan=False)  # strict JSON


def test_alert_payload_for_a_level_rule() -> None:
    sub = parse_pair("2~Coinbase~ETH~USD")
    alert = Alert(
        sub=sub,
        rule=LevelRule(level=3000.0, above=False),
        direction=MoveDirection.DOWN,
        change_pct=-0.2,
        from_price=3001.0,
        to_price=2995.0,
        window_s=0.0,
        at=1_700_000_100.0,
        level=3000.0,
    )
    payload = alert_payload(alert)
    assert payload["rule"] == "level"
    assert payload["rule_id"] == alert.rule.id
    assert payload["level"] == 3000.0
    assert payload["direction"] == "down"
    assert payload["label"] == "ETH/USD Coinbase"
    assert payload["sub"] == "2~Coinbase~ETH~USD"


def test_success_posts_json(server: tuple[str, Recorder]) -> None:
    url, rec = server
    result = post_alert(url, alert_payload(move_alert()), timeout_s=5.0)
    assert result.ok
    assert result.http_status == 204
    assert result.failure is None
    assert result.failure is None
    [(method, path, headers, body)] = rec.requests
    assert method == "POST"
    assert path == f"/hook/{SECRET}?token={SECRET}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == alert_payload(move_alert())


def test_a_session_is_reused(server: tuple[str, Recorder]) -> None:
    url, rec = server
    with requests.Session() as session:
        first = post_alert(url, {"kind": "alert"}, session=session)
        second = post_alert(url, {"kind": "alert", "n": 2}, session=session)
    assert first.ok
    assert second.ok
    assert [json.loads(r[3]) for r in rec.requests] == [{"kind": "alert"}, {"kind": "alert", "n": 2}]


def test_http_500_is_a_clear_failure_without_the_token(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.status = 500
    result = post_alert(url, {"kind": "alert"})
    assert not result.ok
    assert result.http_status == 500
    assert result.failure is WebhookFailure.HTTP_ERROR
    assert result.failure is not None
    assert "answered HTTP 500 Internal Server Error" in webhook_words(result)
    assert "127.0.0.1:" in webhook_words(result)
    assert SECRET not in webhook_words(result)


def test_a_redirect_is_not_followed(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.status = 302
    rec.headers = {"Location": "/elsewhere"}
    result = post_alert(url, {"kind": "alert"})
    assert not result.ok
    assert result.http_status == 302
    assert result.failure is not None
    assert "redirect" in webhook_words(result)
    assert len(rec.requests) == 1  # no follow-up GET


def test_timeout_when_the_server_never_answers() -> None:
    # A listening socket that never accepts: connect succeeds (the backlog), the answer never comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        result = post_alert(f"http://127.0.0.1:{port}/hook", {"kind": "alert"}, timeout_s=0.3)
    assert not result.ok
    assert result.http_status is None
    assert result.failure is WebhookFailure.TIMEOUT
    assert webhook_words(result) == f"the webhook at 127.0.0.1:{port} did not answer within 0.3 s"


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = post_alert(f"http://127.0.0.1:{port}/hook/{SECRET}", {"kind": "alert"}, timeout_s=2.0)
    assert not result.ok
    assert result.http_status is None
    assert result.failure is WebhookFailure.CONNECTION_FAILED
    assert (
        webhook_words(result) == f"could not connect to the webhook at 127.0.0.1:{port} (connection refused)"
    )


@pytest.mark.parametrize("url", ["", "ftp://example.com/x", "example.com/hook", "http://", "http://h:99999/"])
def test_bad_urls_are_refused_before_any_network(url: str) -> None:
    assert check_webhook_url(url) is not None
    result = post_alert(url, {"kind": "alert"})
    assert not result.ok
    assert result.failure is WebhookFailure.BAD_URL
    assert webhook_words(result) == check_webhook_url(url)


def test_non_finite_numbers_are_not_sent(server: tuple[str, Recorder]) -> None:
    url, rec = server
    result = post_alert(url, {"kind": "alert", "change_pct": math.nan})
    assert not result.ok
    assert result.failure is WebhookFailure.BAD_PAYLOAD
    assert rec.requests == []


def test_webhook_host_never_shows_path_or_query() -> None:
    assert webhook_host(f"https://hooks.example.com/services/{SECRET}?k={SECRET}") == "hooks.example.com"
    assert webhook_host("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert webhook_host("http://h:99999/") == "?"


def test_alert_payload_for_a_step_rule() -> None:
    rule = StepRule(pct=2.0, id="step-1")
    alert = Alert(BTC, rule, MoveDirection.UP, 2.1, 100.0, 102.1, 0.0, 1_700_000_000.0)
    payload = alert_payload(alert)
    assert (payload["rule"], payload["rule_id"], payload["window_s"]) == ("step", "step-1", 0.0)
