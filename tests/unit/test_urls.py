"""The one URL validator: schemes, hosts, ports, no api_key=, and no plain text where a key goes."""

from __future__ import annotations

import pytest

from ccdesk.core.urls import UrlError, check_url, is_loopback, url_host

WS = ("ws", "wss")


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        (" wss://x.example/v2 ", {"schemes": WS}, "wss://x.example/v2"),
        ("ws://x.example/v2", {"schemes": WS}, "ws://x.example/v2"),  # no key sent: plain is fine
        ("ws://127.0.0.1:9/v2", {"schemes": WS, "sends_key": True}, "ws://127.0.0.1:9/v2"),
        ("ws://localhost/v2", {"schemes": WS, "sends_key": True}, "ws://localhost/v2"),
        ("ws://[::1]:80/v2", {"schemes": WS, "sends_key": True}, "ws://[::1]:80/v2"),
        ("HTTPS://Example.COM/x?y=1", {"schemes": ("http", "https")}, "HTTPS://Example.COM/x?y=1"),
    ],
)
def test_accepted(text, kwargs, expected):
    assert check_url(text, what="The URL", **kwargs) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "words"),
    [
        ("", {"schemes": WS}, "The URL is empty"),
        ("wss://x.example/" + "a" * 2100, {"schemes": WS}, "too long"),
        ("wss://x .example", {"schemes": WS}, "spaces or control characters"),
        ("wss://x.example:99999/", {"schemes": WS}, "invalid port"),
        ("https://x.example", {"schemes": WS}, "must be a ws:// or wss:// URL with a host"),
        ("wss:///v2", {"schemes": WS}, "with a host"),
        ("wss://x.example/v2?API_KEY=s3cret", {"schemes": WS}, "must not contain the API key"),
        ("wss://u:p@x.example/v2", {"schemes": WS, "sends_key": True}, "credentials"),
        ("https://x.example/?q=1", {"schemes": ("https",), "plain": True}, "query"),
        ("ws://x.example/v2", {"schemes": WS, "sends_key": True}, "refusing to send the API key unencrypted"),
        ("http://10.0.0.1/", {"schemes": ("http",), "sends_key": True}, "use https://"),
    ],
)
def test_refused_in_plain_words(text, kwargs, words):
    with pytest.raises(UrlError, match=r"^The URL") as err:
        check_url(text, what="The URL", **kwargs)
    assert words in str(err.value)
    assert "s3cret" not in str(err.value)


def test_loopback_and_host_for_messages():
    assert is_loopback("127.0.0.2")
    assert is_loopback("LOCALHOST")
    assert not is_loopback("10.0.0.1")
    assert not is_loopback("example.com")
    assert not is_loopback(None)
    assert url_host("https://hooks.example:8443/x?token=s3cret") == "hooks.example:8443"
    assert url_host("https://x:bad/") == "?"
