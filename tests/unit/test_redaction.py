"""Redaction of API keys from text and from log records going through real logging handlers."""

from __future__ import annotations

import io
import logging
import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.redaction import REDACTED, RedactingFilter, install_redaction, redact

SECRET = "f00dfacecafe0123456789abcdef0123456789abcdef0123456789abcdef0123"
# URL-safe key characters; "*" is excluded because it is the replacement text.
KEY_ALPHABET = string.ascii_letters + string.digits + "-_.~"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"GET https://min-api.cryptocompare.com/data/price?api_key={SECRET}&fsym=BTC",
            "GET https://min-api.cryptocompare.com/data/price?api_key=***&fsym=BTC",
        ),
        (
            f"wss://streamer.cryptocompare.com/v2?api_key={SECRET}",
            "wss://streamer.cryptocompare.com/v2?api_key=***",
        ),
        (f"url=https%3A%2F%2Fh%2F%3Fapi_key%3D{SECRET}", "url=https%3A%2F%2Fh%2F%3Fapi_key%3D***"),
        (f"authorization: Apikey {SECRET}\r\nHost: x", "authorization: ***\r\nHost: x"),
        (f"Authorization: Bearer {SECRET}", "Authorization: ***"),
        (
            f"{{'Accept': 'application/json', 'authorization': 'Apikey {SECRET}'}}",
            "{'Accept': 'application/json', 'authorization': '***'}",
        ),
        (f'{{"api_key": "{SECRET}", "n": 1}}', '{"api_key": "***", "n": 1}'),
        (f"[('authorization', 'Apikey {SECRET}')]", "[('authorization', 'Apikey ***')]"),
        (f"x-api-key: {SECRET}", "x-api-key: ***"),
    ],
)
def test_redact_removes_credentials_by_pattern(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "You need a valid auth key or api key to access this endpoint",
        "API key required, please refer to the documentation at https://developers.coindesk.com/",
        "GET https://min-api.cryptocompare.com/data/price?fsym=BTC&tsyms=USD",
        "5~CCCAGG~BTC~USD price 26014.13",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_removes_literal_secrets_and_their_url_encoding() -> None:
    key = "ab+cd/ef=gh"
    text = f"raw {key} quoted ab%2Bcd%2Fef%3Dgh plus ab%2Bcd%2Fef%3Dgh end"
    out = redact(text, [key, ""])
    assert out == "raw *** quoted *** plus *** end"


def test_redact_prefers_the_longest_literal() -> None:
    assert redact("token abcdef", ["abc", "abcdef"]) == "token ***"


def test_redact_is_idempotent() -> None:
    text = f"authorization: Apikey {SECRET} api_key={SECRET} {SECRET}"
    once = redact(text, [SECRET])
    assert redact(once, [SECRET]) == once
    assert SECRET not in once


@given(secret=st.text(alphabet=KEY_ALPHABET, min_size=1, max_size=80))
def test_redact_patterns_hide_any_url_safe_key(secret: str) -> None:
    for text in (
        f"https://h/data/price?fsym=BTC&api_key={secret}&tsyms=USD",
        f"headers={{'authorization': 'Apikey {secret}'}}",
        f"authorization: Apikey {secret}",
        f"sent Apikey {secret} to the server",
    ):
        out = redact(text)
        assert REDACTED in out
        assert f"api_key={secret}" not in out
        assert f"Apikey {secret}" not in out


@given(
    secret=st.text(alphabet=KEY_ALPHABET + "+/=!$", min_size=1, max_size=80),
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
)
def test_redact_literal_secret_never_survives(secret: str, prefix: str, suffix: str) -> None:
    out = redact(f"{prefix}{secret}{suffix}{secret}", [secret])
    assert secret not in out


# --- through a real logging handler -----------------------------------------------------------


@pytest.fixture
def log_setup() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """An isolated logger with a real StreamHandler; redaction installed on both."""
    logger = logging.getLogger("ccdesk.test.redaction")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    installed = install_redaction(logger, lambda: [SECRET])
    try:
        yield logger, stream
    finally:
        logger.removeFilter(installed)
        logger.removeHandler(handler)
        handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_log_line_with_api_key_url_is_redacted(log_setup: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_setup
    logger.info("GET %s", f"https://min-api.cryptocompare.com/data/price?api_key={SECRET}&fsym=BTC")
    assert stream.getvalue() == (
        "INFO ccdesk.test.redaction GET https://min-api.cryptocompare.com/data/price?api_key=***&fsym=BTC\n"
    )


def test_log_line_with_header_dict_is_redacted(log_setup: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_setup
    logger.debug("headers: %s", {"authorization": f"Apikey {SECRET}", "Accept": "application/json"})
    out = stream.getvalue()
    assert SECRET not in out
    assert "'authorization': '***'" in out
    assert "'Accept': 'application/json'" in out


def test_logged_exception_carrying_the_key_is_redacted(
    log_setup: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_setup
    try:
        raise ConnectionError(f"could not reach wss://h/v2?api_key={SECRET} with key {SECRET}")
    except ConnectionError:
        logger.exception("stream failed for %s", SECRET)
    out = stream.getvalue()
    assert SECRET not in out
    assert "ERROR ccdesk.test.redaction stream failed for ***" in out
    assert "Traceback (most recent call last)" in out
    assert "ConnectionError: could not reach wss://h/v2?api_key=*** with key ***" in out


def test_records_from_child_loggers_are_redacted_by_the_handler_filter(
    log_setup: tuple[logging.Logger, io.StringIO],
) -> None:
    # A logger's own filters never see records propagating from children; the handler's do.
    _, stream = log_setup
    logging.getLogger("ccdesk.test.redaction.child").warning("key %s", SECRET)
    assert stream.getvalue() == "WARNING ccdesk.test.redaction.child key ***\n"


def test_stack_info_is_redacted(log_setup: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_setup
    record = logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "msg", (), None, sinfo=f"Stack {SECRET}"
    )
    logger.handle(record)
    assert SECRET not in stream.getvalue()
    assert "Stack ***" in stream.getvalue()


def test_unformattable_arguments_are_redacted_not_leaked(
    log_setup: tuple[logging.Logger, io.StringIO], capsys: pytest.CaptureFixture[str]
) -> None:
    logger, stream = log_setup
    logger.info("value %d", f"Apikey {SECRET}")
    out = stream.getvalue()
    assert SECRET not in out
    assert "unformattable log arguments" in out
    # logging.Handler.handleError would have printed the raw arguments to stderr.
    assert SECRET not in capsys.readouterr().err


def test_a_failing_secrets_provider_still_applies_the_patterns() -> None:
    def provider() -> list[str]:
        raise RuntimeError("provider broke")

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", (f"?api_key={SECRET}",), None)
    assert RedactingFilter(provider).filter(record) is True
    assert record.getMessage() == "url ?api_key=***"


def test_filter_formats_args_once_and_clears_them() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s and %d%%", ("a", 5), None)
    RedactingFilter().filter(record)
    assert record.msg == "a and 5%"
    assert record.args == ()
    assert record.getMessage() == "a and 5%"


def test_install_redaction_defaults_to_the_root_logger() -> None:
    root = logging.getLogger()
    installed = install_redaction()
    try:
        assert installed in root.filters
        assert all(installed in handler.filters for handler in root.handlers)
    finally:
        root.removeFilter(installed)
        for handler in root.handlers:
            handler.removeFilter(installed)
