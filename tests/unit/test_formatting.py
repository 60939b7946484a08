"""Price, percentage and duration formatting."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.formatting import (
    DOWN_ARROW,
    FLAT_MARK,
    UP_ARROW,
    _decimals,
    change_arrow,
    change_sign,
    compact_price,
    format_age,
    format_duration,
    format_pct,
    format_price,
    format_prices_apart,
    plain_price,
)


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (91230.123, "91,230.12"),
        (152.3, "152.30"),
        (1.23456, "1.2346"),
        (0.172345, "0.1723"),
        (0.0000123456, "0.00001235"),
        (float("nan"), "—"),
    ],
)
def test_price_is_formatted_for_its_magnitude(price, text):
    assert format_price(price) == text


@pytest.mark.parametrize(
    ("price", "text"),
    [
        # Rounding up across 1: shown as 1.0 itself is, with the 4 decimals of prices near 1.
        (0.99995, "1.0000"),
        (0.99994, "0.9999"),
        (1.0, "1.0000"),
        (-0.99995, "-1.0000"),
        # Within the 1-100 band a carry changes nothing: 4 decimals on both sides of 10.
        (9.99995, "10.0000"),  # the double is 9.99995000000000001...: it rounds up
        (9.99994, "9.9999"),
        # Rounding up across 100: 2 decimals, as 100.0 gets, not "100.0000".
        (99.995, "99.9950"),
        (99.9999, "99.9999"),
        (99.99995, "99.9999"),  # the double is 99.99994999999...: it rounds down
        (99.99996, "100.00"),
        (-99.99996, "-100.00"),
        (100.0, "100.00"),
        (999.995, "1,000.00"),
        # Rounding up across a power of ten below 1: still four significant digits, not five.
        (0.099995, "0.1000"),
        (0.0999949, "0.09999"),
        (-0.099995, "-0.1000"),
        (0.00099999, "0.001000"),
        (0.1, "0.1000"),
        (0.001, "0.001000"),
        (0.0, "0"),
    ],
)
def test_the_magnitude_is_that_of_the_rounded_price(price, text):
    assert format_price(price) == text


# Prices just below a power of ten, where rounding carries: 0.099995, 99.99996...
near_powers_of_ten = st.builds(lambda e, k: 10.0**e * (1 - k), st.integers(-8, 8), st.floats(0, 1e-4))


@given(st.floats(min_value=1e-8, max_value=1e9) | near_powers_of_ten)
def test_a_price_reads_like_the_prices_next_to_its_rounded_value(price):
    # Whatever the price, its text is what the value it rounds to would show: the digits a price
    # shows never depend on which side of a power of ten it started.
    text = format_price(price)
    assert format_price(float(text.replace(",", ""))) == text
    decimals = len(text.partition(".")[2])
    shown = float(text.replace(",", ""))
    if shown >= 100:
        assert decimals == 2
    elif shown >= 1:
        assert decimals == 4
    else:
        assert len(text.partition(".")[2].lstrip("0")) == 4  # four significant digits


def test_pct_and_durations():
    assert format_pct(2.144) == "+2.14%"
    assert format_pct(-0.42) == "-0.42%"
    assert format_pct(None) == "n/a"
    assert format_pct(0.001) == "0.00%"
    assert format_duration(45) == "45 s"
    assert format_duration(300) == "5 min"
    assert format_duration(5400) == "1 h 30 min"
    assert format_age(0.3) == "now"
    assert format_age(4) == "4 s ago"


@pytest.mark.parametrize(
    ("pct", "arrow", "text"),
    [
        (2.144, UP_ARROW, "+2.14%"),
        (-0.42, DOWN_ARROW, "-0.42%"),
        (-0.001, FLAT_MARK, "0.00%"),  # was "▼ 0.00%" in the window
        (0.001, FLAT_MARK, "0.00%"),
        (-0.0, FLAT_MARK, "0.00%"),
        (0.0, FLAT_MARK, "0.00%"),
        (0.005, UP_ARROW, "+0.01%"),
        (-0.005, DOWN_ARROW, "-0.01%"),
        (math.nextafter(0.005, 0), FLAT_MARK, "0.00%"),
        (math.nextafter(-0.005, 0), FLAT_MARK, "0.00%"),
        (None, "", "n/a"),
        (float("nan"), "", "n/a"),
        (float("inf"), "", "n/a"),
    ],
)
def test_change_arrow_agrees_with_the_number_shown(pct, arrow, text):
    assert change_arrow(pct) == arrow
    assert format_pct(pct) == text


@given(st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-0.02, max_value=0.02))
def test_arrow_and_sign_never_contradict_the_text(pct):
    text = format_pct(pct)
    sign = change_sign(pct)
    if text == "n/a":
        assert (sign, change_arrow(pct)) == (None, "")
    elif text == "0.00%":
        assert (sign, change_arrow(pct)) == (0, FLAT_MARK)
    elif text.startswith("+"):
        assert (sign, change_arrow(pct)) == (1, UP_ARROW)
    else:
        assert text.startswith("-")
        assert (sign, change_arrow(pct)) == (-1, DOWN_ARROW)
    assert text != "+0.00%"
    assert text != "-0.00%"


@pytest.mark.parametrize(
    "age", [0.2, 0.99, 1.0, 4.5, 9.99, 10.0, 12.3, 59.9, 60.0, 61.5, 3599.0, 3600.0, 9000.0]
)
def test_next_age_change_is_exactly_when_the_text_changes(age):
    from ccdesk.core.formatting import next_age_change

    nxt = next_age_change(age)
    assert nxt > age
    assert format_age(nxt - 1e-6) == format_age(age)  # unchanged until then
    assert format_age(nxt) != format_age(age)  # and different from then on


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (91234.5, "91.2k"),
        (3102.4, "3,102"),
        (9999.4, "9,999"),
        (9999.6, "10.0k"),
        (152.34, "152.3"),
        (99.999, "100.0"),
        (12.345, "12.35"),
        (1.2345, "1.234"),
        (0.17064, "0.1706"),
        (0.0012, "0.0012"),
        (0.00001234, "1.2e-5"),
        (123456, "123k"),
        (999_400, "999k"),
        (999_960, "1.00M"),
        (1_250_000, "1.25M"),
        (2.5e9, "2.50B"),
        (0.0, "0"),
        (-5.5, "-5.500"),
        (math.nan, "—"),
        (math.inf, "—"),
    ],
)
def test_compact_price_fits_an_icon(price: float, text: str) -> None:
    assert compact_price(price) == text
    assert len(text) <= 6


@pytest.mark.parametrize(
    ("price", "text"),
    [(91230.12, "91230.12"), (1234567.891, "1234567.89"), (0.17064, "0.1706"), (math.nan, "")],
)
def test_plain_price_has_no_grouping(price: float, text: str) -> None:
    assert plain_price(price) == text


# --- prices told apart ---


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (0.15902, 0.15897, ("0.15902", "0.15897")),  # format_price gives 0.1590 for both
        (0.1590, 0.1723, ("0.1590", "0.1723")),  # already apart: format_price's decimals
        (91_000.0, 92_183.0, ("91,000.00", "92,183.00")),
        (91_000.001, 91_000.004, ("91,000.001", "91,000.004")),
        (1.23456789, 1.23456788, ("1.23456789", "1.23456788")),
        (5.0, 5.0, ("5.0000", "5.0000")),  # equal: no extra decimals
        (0.5, 0.5 + 1e-15, ("0.5000", "0.5000")),  # apart only beyond the cap of 12 decimals
        (float("nan"), 1.0, ("—", "1.0000")),
    ],
)
def test_format_prices_apart(first: float, second: float, expected: tuple[str, str]) -> None:
    assert format_prices_apart(first, second) == expected


@given(st.floats(min_value=1e-6, max_value=1e7), st.floats(min_value=1e-6, max_value=1e7))
def test_prices_apart_differ_whenever_they_differ_at_12_decimals(a: float, b: float) -> None:
    fa, fb = format_prices_apart(a, b)
    assert _decimals(fa) == _decimals(fb)
    if f"{a:.12f}" != f"{b:.12f}":
        assert fa != fb
