"""Subscription strings: parse, validate, format."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.subs import Channel, Sub, SubError, aggregate, parse_sub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5~CCCAGG~BTC~USD", Sub(Channel.AGGREGATE, "CCCAGG", "BTC", "USD")),
        ("2~Coinbase~ETH~USD", Sub(Channel.TICKER, "Coinbase", "ETH", "USD")),
        ("0~Binance~BTC~USDT", Sub(Channel.TRADE, "Binance", "BTC", "USDT")),
        ("5~cccagg~btc~usd", Sub(Channel.AGGREGATE, "CCCAGG", "BTC", "USD")),
        ("BTC-USD", Sub(Channel.AGGREGATE, "CCCAGG", "BTC", "USD")),
        (" eth/eur ", Sub(Channel.AGGREGATE, "CCCAGG", "ETH", "EUR")),
        ("5~CCCAGG~1INCH~USD", Sub(Channel.AGGREGATE, "CCCAGG", "1INCH", "USD")),
    ],
)
def test_parse_accepts_and_normalises(text, expected):
    assert parse_sub(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("BTCUSD", "not a subscription"),
        ("5~CCCAGG~BTC", "has 3 parts"),
        ("7~CCCAGG~BTC~USD", "type '7' is not supported"),
        ("x~CCCAGG~BTC~USD", "type 'x' is not supported"),
        ("5~Coinbase~BTC~USD", "only exists for market CCCAGG"),
        ("2~CCCAGG~BTC~USD", "use type 5"),
        ("2~Coin base~BTC~USD", "not a valid exchange name"),
        ("5~CCCAGG~BT C~USD", "base symbol"),
        ("5~CCCAGG~BTC~US$", "quote symbol"),
        ("5~CCCAGG~BTC~BTC", "both BTC"),
        # The shorthand passes the same checks as the long form.
        ("0/0", "both 0"),
        ("btc/BTC", "both BTC"),
        ("eth-eth", "both ETH"),
        # Symbols are ASCII as written: upper-casing would turn these into SS and I.
        ("5~CCCAGG~\u00df~USD", "base symbol"),
        ("5~CCCAGG~BTC~\u0131", "quote symbol"),
        # The type is ASCII digits, not whatever int() takes.
        ("+5~CCCAGG~BTC~USD", "type '\\+5' is not supported"),
        ("0_5~CCCAGG~BTC~USD", "type '0_5' is not supported"),
        ("\uff15~CCCAGG~BTC~USD", "is not supported"),
    ],
)
def test_parse_rejects_with_a_message_naming_the_problem(text, words):
    with pytest.raises(SubError, match=words.replace("(", r"\(").replace("$", r"\$")):
        parse_sub(text)


def test_format_round_trips_and_labels():
    for text in ("5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD", "0~Binance~BTC~USDT"):
        assert str(parse_sub(text)) == text
    assert parse_sub("BTC-USD").label == "BTC/USD"
    assert parse_sub("2~Coinbase~ETH~USD").label == "ETH/USD Coinbase"
    assert parse_sub("0~Binance~BTC~USDT").label == "BTC/USDT Binance trades"
    assert aggregate("sol", "usd") == parse_sub("5~CCCAGG~SOL~USD")


def test_subs_are_hashable_values():
    assert len({parse_sub("BTC-USD"), parse_sub("5~CCCAGG~BTC~USD")}) == 1


_parts = st.sampled_from(
    ["0", "2", "5", "05", "btc", "BTC", "usd", "cccagg", "Coinbase", "\u00df", "", " ", "-"]
)


@given(st.lists(_parts, min_size=1, max_size=4), st.sampled_from(["~", "-", "/"]))
def test_whatever_parses_formats_to_a_string_that_parses_back_to_it(parts, separator):
    try:
        sub = parse_sub(separator.join(parts))
    except SubError:
        return
    assert parse_sub(str(sub)) == sub
    assert sub.base != sub.quote
