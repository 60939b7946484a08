"""REST key check and first-paint prices against real loopback servers (no internet, ever)."""

from __future__ import annotations

import http.server
import io
import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.adapters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.core import rest
from ccdesk.core.api_key import ApiKey, KeyProvider
from ccdesk.core.key_check import KeyCheck, KeyStatus, RateLimitPeriod
from ccdesk.core.rest import (
    DEFAULT_BASE_URL,
    DEFAULT_COINDESK_BASE_URL,
    check_coindesk_key,
    check_key,
    key_check_for,
)
from ccdesk.wording import key_check_words as describe

KEY_TEXT = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
KEY = ApiKey(KEY_TEXT)
FAST_S = 10.0
"""For answers that come at once (the loopback server's, a refused port): the timeout only bounds a
failure, so it must outlast a loaded machine's scheduling. The tests of a timeout give their own."""


# --- a loopback HTTP server ----------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class Seen:
    path: str
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)


Responder = Callable[[Seen], Reply]


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1:0; ``responder`` decides each answer."""

    def __init__(self, wrap: Callable[[socket.socket], socket.socket] | None = None) -> None:
        self.responder: Responder = lambda seen: Reply()
        self.seen: list[Seen] = []
        self.release = threading.Event()  # handlers that stall wait on this
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                owner.seen.append(seen)
                reply = owner.responder(seen)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()
                if reply.headers.get("X-Stall"):
                    owner.release.wait(10)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if wrap is not None:
            self.httpd.socket = wrap(self.httpd.socket)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def reply_with(self, status: int, body: bytes | str | object, **headers: str) -> None:
        if isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        reply = Reply(status, data, {"Content-Type": "application/json", **headers})
        self.responder = lambda seen: reply

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture
def base(server: LoopbackServer) -> str:
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session that ignores proxy settings from the environment, so loopback stays loopback."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert KEY_TEXT not in record.getMessage()
        assert KEY_TEXT not in (record.exc_text or "")


def _no_key_anywhere(check: KeyCheck) -> None:
    for text in (repr(check), describe(check), check.detail or "", check.server_message or ""):
        assert KEY_TEXT not in text


def _pick(bodies: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    (body,) = [b for b in bodies if test(b)]
    return body


# --- key check: the recorded shapes ----------------------------------------------------------


def test_valid_key_is_sent_in_the_header_and_never_in_the_url(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(200, _pick(rest_bodies, lambda b: "USD" in b and len(b) == 1))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check == KeyCheck(KeyStatus.VALID, http_status=200)
    (seen,) = server.seen
    assert seen.headers["authorization"] == f"Apikey {KEY_TEXT}"
    assert KEY_TEXT not in seen.path
    assert seen.path.startswith("/data/price?")
    assert seen.query == {"fsym": ["BTC"], "tsyms": ["USD"], "extraParams": ["ccdesk"]}
    _no_key_anywhere(check)


def test_type_99_is_rate_limited_with_the_windows(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(200, _pick(rest_bodies, lambda b: b.get("Type") == 99))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.RATE_LIMITED
    assert check.http_status == 200
    assert check.error_type == 99
    assert check.server_message == "You are over your rate limit please upgrade your account!"
    assert check.rate_limit == (
        RateLimitPeriod("second", 5, 20),
        RateLimitPeriod("minute", 5, 300),
        RateLimitPeriod("hour", 955, 3000),
        RateLimitPeriod("day", 10004, 10000),
        RateLimitPeriod("month", 15146, 75000),
    )
    assert [p.period for p in check.rate_limit if p.exhausted] == ["day"]
    assert "day: 10004 of 10000 calls" in describe(check)


def test_type_2_is_a_bad_request_naming_the_parameter(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(200, _pick(rest_bodies, lambda b: b.get("Type") == 2))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.BAD_REQUEST
    assert check.param_with_error == "tsyms"
    assert check.error_type == 2
    assert check.server_message == "There is no data for any of the toSymbols USD ."
    assert "(parameter tsyms)" in describe(check)


def test_type_1_market_error_is_a_bad_request_not_a_bad_key(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(200, _pick(rest_bodies, lambda b: "market does not exist" in b.get("Message", "")))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.BAD_REQUEST
    assert check.error_type == 1
    assert check.param_with_error is None


def test_type_1_auth_key_message_is_an_invalid_key_despite_http_200(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(200, _pick(rest_bodies, lambda b: "valid auth key" in b.get("Message", "")))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check == KeyCheck(
        KeyStatus.INVALID_KEY,
        server_message="You need a valid auth key or api key to access this endpoint",
        http_status=200,
        error_type=1,
    )


def test_http_401_with_err_object_is_an_invalid_key(
    server: LoopbackServer, base: str, session: requests.Session, rest_bodies: list[dict[str, Any]]
) -> None:
    server.reply_with(401, _pick(rest_bodies, lambda b: "Err" in b))
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.INVALID_KEY
    assert check.http_status == 401
    assert check.error_type == 2
    assert check.server_message is not None
    assert check.server_message.startswith("API key required")


# --- key check: other answers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "<html><body>Welcome to the hotel Wi-Fi</body></html>", KeyStatus.BAD_RESPONSE),
        (200, "[1, 2, 3]", KeyStatus.BAD_RESPONSE),
        (200, "", KeyStatus.BAD_RESPONSE),
        (200, '{"EUR": 1.0}', KeyStatus.BAD_RESPONSE),
        (200, '{"USD": "91230.12"}', KeyStatus.BAD_RESPONSE),
        (200, '{"USD": NaN}', KeyStatus.BAD_RESPONSE),
        (200, b"\xff\xfe not utf-8", KeyStatus.BAD_RESPONSE),
        (200, '{"Response": "Error", "Message": "new kind of error", "Type": 7}', KeyStatus.BAD_RESPONSE),
        (503, "Service Unavailable", KeyStatus.BAD_RESPONSE),
        (500, '{"Response": "Error", "Message": "Internal", "Type": 1}', KeyStatus.BAD_RESPONSE),
        (400, '{"Response": "Error", "Message": "fsym is missing", "Type": 2}', KeyStatus.BAD_REQUEST),
        (404, "Not Found", KeyStatus.BAD_RESPONSE),
        (401, "", KeyStatus.INVALID_KEY),
        (403, '{"message": "forbidden"}', KeyStatus.INVALID_KEY),
        (429, "Too Many Requests", KeyStatus.RATE_LIMITED),
        (
            429,
            '{"Data": {}, "Err": {"type": 5, "message": "slow down", "http_status_code": 429}}',
            KeyStatus.RATE_LIMITED,
        ),
        (
            400,
            '{"Data": {}, "Err": {"type": 3, "message": "bad param", "http_status_code": 400}}',
            KeyStatus.BAD_REQUEST,
        ),
        (
            502,
            '{"Data": {}, "Err": {"type": 1, "message": "upstream", "http_status_code": 502}}',
            KeyStatus.BAD_RESPONSE,
        ),
        (200, '{"Response": "Error", "Message": "Rate limit", "Type": "99"}', KeyStatus.RATE_LIMITED),
    ],
)
def test_other_answers_map_to_a_status(
    server: LoopbackServer,
    base: str,
    session: requests.Session,
    status: int,
    body: str | bytes,
    expected: KeyStatus,
) -> None:
    server.reply_with(status, body)
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is expected
    assert check.http_status == status
    _no_key_anywhere(check)


def test_server_text_is_scrubbed_and_stripped_of_control_characters(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    message = f"Invalid api key {KEY_TEXT}\x1b[31m in red\x07" + "x" * 1000
    server.reply_with(200, {"Response": "Error", "Message": message, "Type": 1, "ParamWithError": KEY_TEXT})
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.INVALID_KEY
    assert check.server_message is not None
    assert check.server_message.startswith("Invalid api key *** [31m in red")
    assert "\x1b" not in check.server_message
    assert len(check.server_message) <= 300
    _no_key_anywhere(check)


def test_oversized_answers_are_cut_off(
    server: LoopbackServer, base: str, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest, "MAX_BODY_BYTES", 1024)
    server.reply_with(200, b"{" + b" " * 5000 + b"}")
    check = check_key(base, KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.BAD_RESPONSE
    assert check.detail == "answer larger than 1024 bytes"


def test_redirects_are_not_followed_so_the_key_cannot_travel(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    elsewhere = LoopbackServer()
    try:
        server.reply_with(302, "", Location=f"http://127.0.0.1:{elsewhere.port}/data/price")
        check = check_key(base, KEY, session=session, timeout_s=FAST_S)
        assert check.status is KeyStatus.BAD_RESPONSE
        assert check.http_status == 302
        assert elsewhere.seen == []
    finally:
        elsewhere.close()


def test_default_session_is_created_and_works(
    server: LoopbackServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server.reply_with(200, {"EUR": 3.5})
    assert check_key(f"{base}/", KEY, tsym="eur", timeout_s=FAST_S).status is KeyStatus.VALID
    assert server.seen[0].query["tsyms"] == ["EUR"]


# --- key check: transport failures -----------------------------------------------------------


def test_timeout_when_the_server_never_answers(session: requests.Session) -> None:
    # The kernel completes the TCP handshake from the backlog; nobody ever reads or writes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        check = check_key(f"http://127.0.0.1:{port}", KEY, session=session, timeout_s=0.2)
    assert check.status is KeyStatus.TIMEOUT
    assert check.http_status is None
    _no_key_anywhere(check)


def test_timeout_in_the_middle_of_the_body(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    server.reply_with(200, '{"USD": 1', **{"Content-Length": "100", "X-Stall": "1"})
    check = check_key(base, KEY, session=session, timeout_s=0.2)
    assert check.status is KeyStatus.TIMEOUT


def test_connection_refused(session: requests.Session) -> None:
    # Bound but not listening: connecting is refused, and no other process can take the port meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        check = check_key(f"http://127.0.0.1:{port}", KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.CONNECTION_FAILED
    assert check.detail is not None
    assert "refused" in check.detail.lower()


def test_connection_dropped_without_an_answer(session: requests.Session) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept_and_hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        worker = threading.Thread(target=accept_and_hang_up)
        worker.start()
        check = check_key(f"http://127.0.0.1:{port}", KEY, session=session, timeout_s=5)
        worker.join(5)
    assert check.status is KeyStatus.CONNECTION_FAILED


def test_dns_failure(session: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # No DNS query may leave the machine: names under .invalid fail here the way a real
    # resolver fails them (EAI_NONAME); every other name resolves as usual.
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    check = check_key("https://min-api.ccdesk-test.invalid", KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.DNS_FAILURE
    assert check.detail is not None
    assert "Name or service not known" in check.detail
    _no_key_anywhere(check)


def test_tls_error_when_https_meets_plain_http(server: LoopbackServer, session: requests.Session) -> None:
    check = check_key(f"https://127.0.0.1:{server.port}", KEY, session=session, timeout_s=FAST_S)
    assert check.status is KeyStatus.TLS_ERROR
    assert server.seen == []  # no request (and no key) went out in clear


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


def test_tls_error_with_an_untrusted_certificate(
    self_signed: tuple[Path, Path], session: requests.Session
) -> None:
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls_server = LoopbackServer(wrap=lambda sock: context.wrap_socket(sock, server_side=True))
    try:
        check = check_key(f"https://127.0.0.1:{tls_server.port}", KEY, session=session, timeout_s=FAST_S)
        assert check.status is KeyStatus.TLS_ERROR
        assert check.detail is not None
        assert "certificate" in check.detail
        assert tls_server.seen == []
        # The same server is fine once its certificate is trusted: the failure was the trust.
        session.verify = str(cert)
        server_reply = {"USD": 1.5}
        tls_server.reply_with(200, server_reply)
        assert (
            check_key(f"https://127.0.0.1:{tls_server.port}", KEY, session=session).status is KeyStatus.VALID
        )
    finally:
        tls_server.close()


# --- base URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://min-api.cryptocompare.com", "unencrypted"),
        ("ftp://127.0.0.1", "http:// or https://"),
        ("127.0.0.1:8080", "http:// or https://"),
        ("https://user:pw@example.com", "credentials"),
        (f"https://example.com/?api_key={KEY_TEXT}", "must not contain the API key"),
        ("https://example.com/?x=1", "query"),
        ("https://example.com:port", "invalid port"),
    ],
)
def test_unusable_base_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as excinfo:
        check_key(url, KEY)
    assert KEY_TEXT not in str(excinfo.value)


class RecordingAdapter(requests.adapters.BaseAdapter):
    """A transport that answers from memory (no socket at all) and records each request."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.status
        response.raw = io.BytesIO(self.body)
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def _memory_session(status: int, body: bytes) -> tuple[requests.Session, RecordingAdapter]:
    session = requests.Session()
    session.trust_env = False
    adapter = RecordingAdapter(status, body)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def test_default_base_url_is_min_api() -> None:
    session, adapter = _memory_session(200, b'{"USD": 4069.35}')
    with session:
        assert check_key(None, KEY, session=session).status is KeyStatus.VALID
    (request,) = adapter.sent
    assert DEFAULT_BASE_URL == "https://min-api.cryptocompare.com"
    assert request.url == "https://min-api.cryptocompare.com/data/price?fsym=BTC&tsyms=USD&extraParams=ccdesk"
    assert request.headers["authorization"] == f"Apikey {KEY_TEXT}"


def test_a_base_url_path_prefix_is_kept() -> None:
    session, adapter = _memory_session(200, b'{"USD": 1}')
    with session:
        check_key("https://proxy.example/cc/", KEY, session=session)
    assert adapter.sent[0].url is not None
    assert adapter.sent[0].url.startswith("https://proxy.example/cc/data/price?")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.just(KEY_TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_shaped = st.fixed_dictionaries(
    {"Response": st.just("Error"), "Message": st.text(max_size=40) | st.just(KEY_TEXT), "Type": _json},
    optional={"RateLimit": _json, "ParamWithError": _json},
) | st.fixed_dictionaries(
    {"Err": st.dictionaries(st.sampled_from(["type", "message", "http_status_code"]), _json)}
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(status=st.sampled_from([200, 201, 301, 400, 401, 403, 404, 429, 500, 503]), body=_json | _shaped)
def test_any_answer_gives_a_typed_result_without_the_key(status: int, body: object) -> None:
    session, _ = _memory_session(status, json.dumps(body).encode())
    with session:
        check = check_key(None, KEY, session=session)
    assert isinstance(check.status, KeyStatus)
    _no_key_anywhere(check)


# --- describe ----------------------------------------------------------------------------------


def test_every_status_has_its_own_words() -> None:
    texts = {status: describe(KeyCheck(status)) for status in KeyStatus}
    assert len(set(texts.values())) == len(KeyStatus)
    for text in texts.values():
        assert text
        assert text[0].isupper()
        assert text.endswith(".")


def test_describe_uses_the_details_it_has() -> None:
    assert "(HTTP 503)" in describe(KeyCheck(KeyStatus.BAD_RESPONSE, http_status=503))
    said = describe(KeyCheck(KeyStatus.INVALID_KEY, server_message="API key required"))
    assert said.endswith('The server said: "API key required"')


# --- CoinDesk Data's key check ---------------------------------------------------------------

CD_TICK = {
    "Data": {
        "BTC-USD": {"TYPE": "266", "MARKET": "cadli", "INSTRUMENT": "BTC-USD", "VALUE": 91230.12},
    },
    "Err": {},
}


def _coindesk(base: str, session: requests.Session, **kwargs: Any) -> KeyCheck:
    check = check_coindesk_key(base, KEY, session=session, timeout_s=FAST_S, **kwargs)
    assert check.provider is KeyProvider.COINDESK
    _no_key_anywhere(check)
    return check


def test_coindesk_key_goes_in_the_header_and_never_in_the_url(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    server.reply_with(200, CD_TICK)
    check = _coindesk(base, session)
    assert check == KeyCheck(KeyStatus.VALID, http_status=200, provider=KeyProvider.COINDESK)
    (seen,) = server.seen
    assert seen.headers["authorization"] == f"Apikey {KEY_TEXT}"
    assert KEY_TEXT not in seen.path
    assert seen.path.startswith("/index/cc/v1/latest/tick?")
    assert seen.query == {"market": ["cadli"], "instruments": ["BTC-USD"], "groups": ["VALUE"]}


def test_coindesk_probe_pair_is_normalised(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    server.reply_with(200, {"Data": {"ETH-EUR": {"VALUE": 3001}}, "Err": {}})
    assert _coindesk(base, session, market=" CCIX ", instrument="eth-eur").ok
    assert server.seen[0].query["market"] == ["ccix"]
    assert server.seen[0].query["instruments"] == ["ETH-EUR"]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # The shape SOURCES.md quotes for a keyless or unaccepted call.
        (
            401,
            '{"Err":{"message":"API key required, please refer to the documentation at '
            'https://developers.coindesk.com/"}}',
            KeyStatus.INVALID_KEY,
        ),
        (401, "", KeyStatus.INVALID_KEY),
        (401, '{"Data":{},"Err":{"type":1,"message":"Invalid API key"}}', KeyStatus.INVALID_KEY),
        # Known key, no plan: never "invalid key" when the body says otherwise.
        (
            401,
            '{"Data":{},"Err":{"type":2,"message":"Your subscription does not include this endpoint"}}',
            KeyStatus.NOT_ENTITLED,
        ),
        (
            403,
            '{"Data":{},"Err":{"type":2,"message":"Access denied","http_status_code":403}}',
            KeyStatus.NOT_ENTITLED,
        ),
        (403, "<html>Forbidden</html>", KeyStatus.NOT_ENTITLED),
        (429, '{"Data":{},"Err":{"type":5,"message":"Rate limit exceeded"}}', KeyStatus.RATE_LIMITED),
        (429, "", KeyStatus.RATE_LIMITED),
        (
            400,
            '{"Data":{},"Err":{"type":2,"message":"Not found","other_info":{"param":"instruments"}}}',
            KeyStatus.BAD_REQUEST,
        ),
        (404, '{"Data":{},"Err":{"type":1,"message":"Path does not exist"}}', KeyStatus.BAD_REQUEST),
        (
            500,
            '{"Data":{},"Err":{"type":1,"message":"Internal error","http_status_code":500}}',
            KeyStatus.BAD_RESPONSE,
        ),
        (502, "<html>Bad Gateway</html>", KeyStatus.BAD_RESPONSE),
        (301, "", KeyStatus.BAD_RESPONSE),
        (200, '{"Data":{"BTC-USD":{"VALUE":"91230.12"}},"Err":{}}', KeyStatus.BAD_RESPONSE),
        (200, '{"Data":{"BTC-USD":{"VALUE":NaN}},"Err":{}}', KeyStatus.BAD_RESPONSE),
        (200, '{"Data":{"BTC-USD":{"VALUE":true}},"Err":{}}', KeyStatus.BAD_RESPONSE),
        (200, '{"Data":{"ETH-USD":{"VALUE":1}},"Err":{}}', KeyStatus.BAD_RESPONSE),
        (200, '{"Data":[],"Err":{}}', KeyStatus.BAD_RESPONSE),
        (200, '{"USD": 91230.12}', KeyStatus.BAD_RESPONSE),  # a min-api answer is not a tick
        (200, "<html>captive portal</html>", KeyStatus.BAD_RESPONSE),
        (200, '{"Data":{"BTC-USD":{"VALUE":1}},"Err":{"type":1,"message":"partial"}}', KeyStatus.BAD_REQUEST),
    ],
)
def test_coindesk_answers_map_to_a_status(
    server: LoopbackServer,
    base: str,
    session: requests.Session,
    status: int,
    body: str,
    expected: KeyStatus,
) -> None:
    server.reply_with(status, body)
    check = _coindesk(base, session)
    assert check.status is expected
    assert check.http_status == status


def test_coindesk_not_entitled_and_bad_request_keep_what_the_server_said(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    server.reply_with(403, {"Data": {}, "Err": {"type": 2, "message": "No plan for this"}})
    check = _coindesk(base, session)
    assert check.status is KeyStatus.NOT_ENTITLED
    assert check.server_message == "No plan for this"
    words = describe(check)
    assert words.startswith("CoinDesk Data knows the API key but will not serve this data with it")
    assert "refused the API key" not in words
    server.reply_with(
        400, {"Data": {}, "Err": {"type": 2, "message": "bad", "other_info": {"param": "market"}}}
    )
    check = _coindesk(base, session)
    assert check.status is KeyStatus.BAD_REQUEST
    assert check.param_with_error == "market"
    assert describe(check).startswith("CoinDesk Data rejected the request (parameter market)")


def test_coindesk_server_text_is_scrubbed(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    message = f"key {KEY_TEXT} has no subscription\x1b[31m"
    server.reply_with(
        401, {"Data": {}, "Err": {"type": 2, "message": message, "other_info": {"param": KEY_TEXT}}}
    )
    check = _coindesk(base, session)
    assert check.status is KeyStatus.NOT_ENTITLED
    assert check.server_message == "key *** has no subscription [31m"


def test_coindesk_redirects_are_not_followed(
    server: LoopbackServer, base: str, session: requests.Session
) -> None:
    elsewhere = LoopbackServer()
    try:
        server.reply_with(307, "", Location=f"http://127.0.0.1:{elsewhere.port}/index/cc/v1/latest/tick")
        check = _coindesk(base, session)
        assert check.status is KeyStatus.BAD_RESPONSE
        assert check.http_status == 307
        assert elsewhere.seen == []
    finally:
        elsewhere.close()


def test_coindesk_transport_failures_are_typed(session: requests.Session) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        check = _coindesk(f"http://127.0.0.1:{port}", session)
    assert check.status is KeyStatus.CONNECTION_FAILED
    with socket.create_server(("127.0.0.1", 0)) as silent:
        check = check_coindesk_key(
            f"http://127.0.0.1:{silent.getsockname()[1]}", KEY, session=session, timeout_s=0.2
        )
    assert (check.status, check.provider) == (KeyStatus.TIMEOUT, KeyProvider.COINDESK)


def test_coindesk_default_base_url_is_the_data_api() -> None:
    session, adapter = _memory_session(200, json.dumps(CD_TICK).encode())
    with session:
        assert check_coindesk_key(None, KEY, session=session).ok
    (request,) = adapter.sent
    assert DEFAULT_COINDESK_BASE_URL == "https://data-api.coindesk.com"
    assert request.url == (
        "https://data-api.coindesk.com/index/cc/v1/latest/tick?market=cadli&instruments=BTC-USD&groups=VALUE"
    )
    assert request.headers["authorization"] == f"Apikey {KEY_TEXT}"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://data-api.coindesk.com", "unencrypted"),
        (f"https://data-api.coindesk.com/?api_key={KEY_TEXT}", "must not contain the API key"),
        ("https://user:pw@data-api.coindesk.com", "credentials"),
    ],
)
def test_coindesk_unusable_base_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as excinfo:
        check_coindesk_key(url, KEY)
    assert KEY_TEXT not in str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"instrument": "BTCUSD"}, "not an instrument"),
        ({"instrument": "BTC-"}, "not a currency symbol"),
        ({"instrument": "BTC-USD&api_key=x"}, "not a currency symbol"),
        ({"market": "cadli&x=1"}, "not an index market"),
        ({"market": ""}, "not an index market"),
    ],
)
def test_coindesk_malformed_probe_is_refused_before_any_request(kwargs: dict[str, str], match: str) -> None:
    session, adapter = _memory_session(200, b"{}")
    with session, pytest.raises(ValueError, match=match):
        check_coindesk_key(None, KEY, session=session, **kwargs)
    assert adapter.sent == []


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(status=st.sampled_from([200, 301, 400, 401, 403, 404, 429, 500, 503]), body=_json | _shaped)
def test_any_coindesk_answer_gives_a_typed_result_without_the_key(status: int, body: object) -> None:
    session, _ = _memory_session(status, json.dumps(body).encode())
    with session:
        check = check_coindesk_key(None, KEY, session=session)
    assert isinstance(check.status, KeyStatus)
    assert check.provider is KeyProvider.COINDESK
    _no_key_anywhere(check)


def test_key_check_for_each_provider() -> None:
    assert key_check_for(KeyProvider.CRYPTOCOMPARE) is check_key
    assert key_check_for(KeyProvider.COINDESK) is check_coindesk_key
    assert {key_check_for(p) for p in KeyProvider} == {check_key, check_coindesk_key}


def test_cryptocompare_checks_say_cryptocompare_and_coindesk_checks_say_coindesk() -> None:
    for status in KeyStatus:
        cc = describe(KeyCheck(status))
        cd = describe(KeyCheck(status, provider=KeyProvider.COINDESK))
        assert "CoinDesk" not in cc
        if "CryptoCompare" in cc:
            assert cd == cc.replace("CryptoCompare", "CoinDesk Data")
        assert "CryptoCompare" not in cd
    # The CryptoCompare words are as they were.
    assert describe(KeyCheck(KeyStatus.VALID)) == "The API key works: CryptoCompare accepted it and answered."
    assert describe(KeyCheck(KeyStatus.VALID, provider=KeyProvider.COINDESK)) == (
        "The API key works: CoinDesk Data accepted it and answered."
    )
