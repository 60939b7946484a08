"""Subscription strings: parse, validate, format."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.pairs import Channel, Pair, PairError, Source, aggregate, keyless_twin, parse_pair


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5~CCCAGG~BTC~USD", Pair(Source.CRYPTOCOMPARE, "BTC", "USD", "CCCAGG", Channel.AGGREGATE)),
        ("2~Coinbase~ETH~USD", Pair(Source.CRYPTOCOMPARE, "ETH", "USD", "Coinbase", Channel.TICKER)),
        ("0~Binance~BTC~USDT", Pair(Source.CRYPTOCOMPARE, "BTC", "USDT", "Binance", Channel.TRADE)),
        ("5~cccagg~btc~usd", Pair(Source.CRYPTOCOMPARE, "BTC", "USD", "CCCAGG", Channel.AGGREGATE)),
        ("BTC-USD", Pair(Source.CRYPTOCOMPARE, "BTC", "USD", "CCCAGG", Channel.AGGREGATE)),
        (" eth/eur ", Pair(Source.CRYPTOCOMPARE, "ETH", "EUR", "CCCAGG", Channel.AGGREGATE)),
        ("5~CCCAGG~1INCH~USD", Pair(Source.CRYPTOCOMPARE, "1INCH", "USD", "CCCAGG", Channel.AGGREGATE)),
    ],
)
def test_parse_accepts_and_normalises(text, expected):
    assert parse_pair(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("BTCUSD", "is not a pair"),
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
    with pytest.raises(PairError, match=words.replace("(", r"\(").replace("$", r"\$")):
        parse_pair(text)


def test_format_round_trips_and_labels():
    for text in ("5~CCCAGG~BTC~USD", "2~Coinbase~ETH~USD", "0~Binance~BTC~USDT"):
        assert str(parse_pair(text)) == text
    assert parse_pair("BTC-USD").label == "BTC/USD"
    assert parse_pair("2~Coinbase~ETH~USD").label == "ETH/USD Coinbase"
    assert parse_pair("0~Binance~BTC~USDT").label == "BTC/USDT Binance trades"
    assert aggregate("sol", "usd") == parse_pair("5~CCCAGG~SOL~USD")


def test_subs_are_hashable_values():
    assert len({parse_pair("BTC-USD"), parse_pair("5~CCCAGG~BTC~USD")}) == 1


_parts = st.sampled_from(
    ["0", "2", "5", "05", "btc", "BTC", "usd", "cccagg", "Coinbase", "\u00df", "", " ", "-"]
)


@given(st.lists(_parts, min_size=1, max_size=4), st.sampled_from(["~", "-", "/"]))
def test_whatever_parses_formats_to_a_string_that_parses_back_to_it(parts, separator):
    try:
        sub = parse_pair(separator.join(parts))
    except PairError:
        return
    assert parse_pair(str(sub)) == sub
    assert sub.base != sub.quote


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kraken:BTC-USD", "kraken:BTC-USD"),
        ("Kraken:xbt-usd", "kraken:BTC-USD"),  # Kraken's old name for bitcoin
        ("coinbase:eth/usd", "coinbase:ETH-USD"),
        ("binance:BTC-USDT", "binance:BTC-USDT"),
        ("okx:btc usdt", "okx:BTC-USDT"),
        ("coindesk:BTC-USD", "coindesk:BTC-USD"),
        ("coindesk:cadli:BTC-USD", "coindesk:BTC-USD"),  # the default index is not written
        ("coindesk:CCIX:BTC-USD", "coindesk:ccix:BTC-USD"),
        ("composite:BTC-USD", "composite:BTC-USD"),
        ("cryptocompare:BTC-USD", "5~CCCAGG~BTC~USD"),
        ("ETH USD Binance", "binance:ETH-USD"),  # a source named last
        ("eth usd BITSTAMP", "2~Bitstamp~ETH~USD"),  # else a CryptoCompare exchange, any case
    ],
)
def test_every_form_parses_to_its_canonical_text(text, expected):
    pair = parse_pair(text)
    assert str(pair) == expected
    assert parse_pair(str(pair)) == pair


def test_a_bare_pair_takes_the_callers_default_source():
    assert str(parse_pair("BTC-USD")) == "5~CCCAGG~BTC~USD"  # what it always meant
    assert str(parse_pair("btc/usd", default=Source.KRAKEN)) == "kraken:BTC-USD"
    assert str(parse_pair("ETH USD", default=Source.COINBASE)) == "coinbase:ETH-USD"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("krakn:BTC-USD", "'krakn' is not a source; the sources are kraken, coinbase, binance"),
        ("coindesk:nope:BTC-USD", "'nope' is not a CoinDesk index; use cadli, ccix, ccixbe"),
        ("kraken:spot:BTC-USD", "expected kraken:BASE-QUOTE"),
        ("kraken:BTC", "expected kraken:BASE-QUOTE"),
        ("binance:btc-btc", "both BTC"),
        ("BTC USD EUR Kraken", "is not a pair"),
        ("eth usd SomeNewExchange", "neither a source (kraken, coinbase"),
        ("not a pair", "write 2~EXCHANGE~NOT~A"),
    ],
)
def test_bad_new_forms_name_the_bad_part(text, words):
    with pytest.raises(PairError, match=re.escape(words)):
        parse_pair(text)


def test_labels_say_where_the_price_comes_from():
    assert parse_pair("kraken:BTC-USD").label == "BTC/USD Kraken"
    assert parse_pair("coindesk:BTC-USD").label == "BTC/USD CoinDesk"
    assert parse_pair("coindesk:ccixbe:BTC-USD").label == "BTC/USD CoinDesk CCIXBE"
    assert parse_pair("composite:BTC-USD").label == "BTC/USD composite"
    assert parse_pair("5~CCCAGG~BTC~USD").label == "BTC/USD"
    assert parse_pair("kraken:BTC-USD") != parse_pair("coinbase:BTC-USD")
    assert len({parse_pair("kraken:BTC-USD"), parse_pair("KRAKEN:btc/usd")}) == 1


@pytest.mark.parametrize(
    ("text", "twin"),
    [
        ("5~CCCAGG~BTC~USD", "composite:BTC-USD"),  # an index: the keyless venues' median
        ("coindesk:ccix:ETH-USD", "composite:ETH-USD"),
        ("2~Coinbase~ETH~USD", "coinbase:ETH-USD"),  # an exchange ccdesk streams itself
        ("0~Binance~BTC~USDT", "binance:BTC-USDT"),
        ("2~Kraken~XBT~EUR", "kraken:BTC-EUR"),  # Kraken's old name for bitcoin, as Kraken spells it
        ("2~Bitstamp~BTC~USD", "composite:BTC-USD"),  # an exchange it does not
        ("okx:BTC-USDT", "okx:BTC-USDT"),  # keyless already
        ("composite:SOL-USD", "composite:SOL-USD"),
    ],
)
def test_keyless_twin(text, twin):
    assert str(keyless_twin(parse_pair(text))) == twin
