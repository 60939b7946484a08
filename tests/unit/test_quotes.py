"""Quote state: merging partial frames, derived changes, FLAGS, trades, data age."""

import json

import pytest

from ccdesk.core.pairs import parse_pair
from ccdesk.core.quotes import PriceDirection, PriceFlags, QuoteBook, price_direction
from ccdesk.core.sources.cryptocompare import CryptoCompareParser
from ccdesk.core.wire import QuoteUpdate, Trade, TradeSide
from tests.fakes import FakeClock
from tests.pairs import BTC, BTC_TRADES


def update(**fields):
    frame = {"TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": "BTC", "TOSYMBOL": "USD", "FLAGS": 4, **fields}
    ev = CryptoCompareParser().parse(json.dumps(frame))
    assert isinstance(ev, QuoteUpdate), ev
    return ev


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def book(clock):
    return QuoteBook(clock)


def test_partial_frames_merge_into_one_state(book):
    book.apply_update(
        update(
            PRICE=100.0,
            OPEN24HOUR=80.0,
            HIGH24HOUR=110.0,
            LOW24HOUR=79.0,
            VOLUME24HOUR=5.0,
            LASTMARKET="Kraken",
            FLAGS=1,
        )
    )
    assert book.apply_update(update(VOLUME24HOUR=6.0, FLAGS=4)) is None  # no PRICE: nothing lost
    book.apply_update(update(PRICE=96.0, FLAGS=2))
    q = book.quote(BTC)
    assert q.price == 96.0
    assert q.open_24h == 80.0
    assert q.high_24h == 110.0
    assert q.low_24h == 79.0
    assert q.volume_24h == 6.0
    assert q.last_market == "Kraken"
    assert q.direction is PriceDirection.DOWN


def test_change_is_computed_from_open24hour_because_the_stream_has_no_changepct(book, rest_bodies):
    # The recorded REST RAW has the server's own CHANGE*; the stream fields alone must reproduce it.
    raw = next(b for b in rest_bodies if "RAW" in b)["RAW"]["BTC"]["USD"]
    stream_fields = {k: raw[k] for k in ("PRICE", "OPEN24HOUR", "OPENDAY", "OPENHOUR")}
    book.apply_update(update(**stream_fields, FLAGS=int(raw["FLAGS"])))
    q = book.quote(BTC)
    assert q.change_24h == pytest.approx(raw["CHANGE24HOUR"], abs=1e-9)
    assert q.change_pct_24h == pytest.approx(raw["CHANGEPCT24HOUR"], rel=1e-12)
    assert q.change_pct_day == pytest.approx(raw["CHANGEPCTDAY"], rel=1e-12)
    assert q.change_pct_hour == pytest.approx(raw["CHANGEPCTHOUR"], rel=1e-12)
    assert q.direction is PriceDirection.UNCHANGED  # FLAGS "2052" = 2048 + 4


def test_change_is_unknown_until_open24hour_arrives(book):
    book.apply_update(update(PRICE=100.0))
    q = book.quote(BTC)
    assert q.change_pct_24h is None
    assert q.change_24h is None
    book.apply_update(update(OPEN24HOUR=50.0))
    assert book.quote(BTC).change_pct_24h == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("flags", "direction"),
    [
        (1, PriceDirection.UP),
        (2, PriceDirection.DOWN),
        (4, PriceDirection.UNCHANGED),
        (2050, PriceDirection.DOWN),
        (2052, PriceDirection.UNCHANGED),
        (1 | 16 | 64 | 512, PriceDirection.UP),
        (8 | 64, None),
        (0, None),
    ],
)
def test_flags_are_a_bitmask(flags, direction):
    assert price_direction(flags) is direction


def test_the_first_of_the_price_bits_set_wins_whatever_else_is_set():
    for flags in range(1 << 12):  # every combination of the documented bits
        expected = (
            PriceDirection.UP
            if flags & PriceFlags.PRICE_UP
            else PriceDirection.DOWN
            if flags & PriceFlags.PRICE_DOWN
            else PriceDirection.UNCHANGED
            if flags & PriceFlags.PRICE_UNCHANGED
            else None
        )
        assert price_direction(flags) is expected, flags


def test_flags_enum_names_each_bit():
    assert PriceFlags(2050) == PriceFlags.PRICE_DOWN | PriceFlags.MEDIAN_UNCHANGED


def test_a_frame_without_price_bits_keeps_the_last_direction(book):
    book.apply_update(update(PRICE=100.0, FLAGS=1))
    book.apply_update(update(BID=99.0, FLAGS=8))
    assert book.quote(BTC).direction is PriceDirection.UP


def test_trades_set_last_price_quantity_and_side(book):
    sub = parse_pair("0~Binance~BTC~USDT")
    book.apply_trade(Trade(sub, 100.0, 0.5, TradeSide.BUY, 1700000000, "1"))
    book.apply_trade(Trade(sub, 99.0, 0.25, TradeSide.SELL, 1700000001, "2"))
    q = book.quote(sub)
    assert (q.price, q.last_quantity, q.last_side, q.direction) == (
        99.0,
        0.25,
        TradeSide.SELL,
        PriceDirection.DOWN,
    )
    assert q.last_update == 1700000001
    assert q.last_market == "Binance"


def test_each_pair_keeps_its_own_data_age(book, clock):
    eth = parse_pair("5~CCCAGG~ETH~USD")
    book.apply_update(update(PRICE=100.0))
    clock.advance(30)
    book.apply_update(
        CryptoCompareParser().parse(
            b'{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"ETH","TOSYMBOL":"USD","FLAGS":1,"PRICE":3.0}'
        )
    )
    clock.advance(5)
    now = clock.monotonic()
    assert book.quote(BTC).age_s(now) == pytest.approx(35)
    assert book.quote(eth).age_s(now) == pytest.approx(5)
    assert book.quote(BTC).is_stale(now, 30)
    assert not book.quote(eth).is_stale(now, 30)


def test_snapshots_are_immutable_and_independent(book):
    book.apply_update(update(PRICE=100.0))
    q1 = book.quote(BTC)
    book.apply_update(update(PRICE=101.0))
    assert q1.price == 100.0
    with pytest.raises(AttributeError):
        q1.price = 5  # type: ignore[misc]


def test_forget(book):
    book.apply_update(update(PRICE=100.0))
    book.forget(BTC)
    assert book.quote(BTC) is None
    assert len(book) == 0


def _trade(price: float, ts: float | None, tid: str | None) -> Trade:
    return Trade(BTC_TRADES, price, 0.01, TradeSide.BUY, ts, tid)


def test_replayed_trades_never_move_the_price():
    book = QuoteBook(FakeClock())
    history = [_trade(100.0 + i, 1000.0 + i, str(500 + i)) for i in range(20)]
    assert [book.apply_trade(t) for t in history] == [100.0 + i for i in range(20)]
    # A reconnect replays the same 20 trades: none is news, the price stays the newest one.
    assert [book.apply_trade(t) for t in history] == [None] * 20
    assert book.price(BTC_TRADES) == 119.0
    # A newer trade, and a second trade in the same second with a new id, are.
    assert book.apply_trade(_trade(120.0, 1019.0, "520")) == 120.0
    assert book.apply_trade(_trade(121.0, 1020.0, "521")) == 121.0
    assert book.apply_trade(_trade(90.0, 1005.0, "999")) is None  # older than the newest: a replay
    q = book.quote(BTC_TRADES)
    assert q is not None
    assert q.price == 121.0


def test_trades_without_a_time_are_told_apart_by_their_id():
    book = QuoteBook(FakeClock())
    assert book.apply_trade(_trade(1.0, None, "a")) == 1.0
    assert book.apply_trade(_trade(2.0, None, "a")) is None
    assert book.apply_trade(_trade(3.0, None, None)) == 3.0  # nothing to tell it by: taken


def test_a_bad_field_costs_only_itself(book):
    # OPEN24HOUR of 0 used to throw the whole frame away, its valid PRICE included.
    assert book.apply_update(update(PRICE=100.0, OPEN24HOUR=0, HIGH24HOUR=110.0, FLAGS=1)) == 100.0
    q = book.quote(BTC)
    assert (q.price, q.open_24h, q.high_24h, q.direction) == (100.0, None, 110.0, PriceDirection.UP)
    assert q.change_pct_24h is None  # no open: no change, never a division by the bad zero


def test_a_bad_price_is_dropped_and_the_rest_of_its_frame_merged(book):
    book.apply_update(update(PRICE=100.0, FLAGS=1))
    ev = update(PRICE=0, OPEN24HOUR=80.0, FLAGS=2)
    assert ev.dropped == ("PRICE is not positive",)
    assert book.apply_update(ev) is None  # no price taken from it
    q = book.quote(BTC)
    assert q.price == 100.0
    assert q.open_24h == 80.0
    assert q.direction is PriceDirection.UP  # FLAGS of a frame without a price do not move it


def test_merge_update_says_the_price_before_and_the_frame_s_price(book):
    assert book.merge_update(update(PRICE=100.0, FLAGS=1)) == (None, 100.0)
    assert book.merge_update(update(PRICE=101.0, FLAGS=1)) == (100.0, 101.0)
    assert book.merge_update(update(PRICE=101.0, FLAGS=4)) == (101.0, 101.0)  # a repeat
    assert book.merge_update(update(VOLUME24HOUR=6.0, FLAGS=4)) == (101.0, None)  # no price in it
    q = book.quote(BTC)
    assert (q.price, q.volume_24h, q.direction) == (101.0, 6.0, PriceDirection.UNCHANGED)


@pytest.mark.parametrize(("wire", "direction"), [("2", PriceDirection.DOWN), ("2050", PriceDirection.DOWN)])
def test_flags_as_ascii_digits_decode(book, wire, direction):
    book.apply_update(update(PRICE=100.0, FLAGS=wire))
    assert book.quote(BTC).direction is direction


@pytest.mark.parametrize("wire", ["²", "٣", "\uff13", "1²"])  # superscript 2, Arabic-Indic 3, fullwidth 3
def test_flags_in_other_digits_never_reach_the_book(book, wire):
    # "²" used to pass str.isdigit() in the parser and raise ValueError from int() here.
    book.apply_update(update(PRICE=100.0, FLAGS=1))
    assert book.apply_update(update(PRICE=101.0, FLAGS=wire)) == 101.0
    q = book.quote(BTC)
    assert q.price == 101.0
    assert q.direction is PriceDirection.UP  # the unreadable FLAGS carried no direction
