"""The strict number readers: ASCII decimals only, finite, capped; checked against float()."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.core.numbers import MAX_DECIMAL_CHARS, read_decimal, read_price, read_unsigned


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("91230.12", 91230.12),
        ("0.00000123", 0.00000123),
        ("0", 0.0),
        ("-0.5", -0.5),
        ("7", 7.0),
        ("1.2e-05", 1.2e-05),  # str(0.000012)
        ("1e+16", 1e16),  # str(1e16)
        ("1.2E-8", 1.2e-8),  # Java's BigDecimal.toString()
        ("0.000000000000000001", 1e-18),
        (12, 12.0),
        (-3, -3.0),
        (0.25, 0.25),
        (2**63, float(2**63)),
    ],
)
def test_reads_json_numbers_and_ascii_decimals(text, value):
    assert read_decimal(text) == value
    assert type(read_decimal(text)) is float


@pytest.mark.parametrize(
    "text",
    [
        # what float() accepts but a wire price must not be
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1_000",
        " 1",
        "1 ",
        "1\n",
        "+1",
        "1.",
        ".5",
        "007",
        "-",
        "",
        "1e",
        "1e+",
        "0x10",
        "--1",
        # digits of other scripts: float() reads them all
        "١٢٣",  # Arabic-Indic
        "\uff11\uff12\uff13",  # fullwidth 123
        "\u0663.\u0665",  # Arabic-Indic 3.5
        "1٣",
        "१",  # Devanagari
        # what float() refuses anyway
        "²",
        "½",
        "1,000",
        "1.2.3",
        "1e999",  # finite text, infinite value
        "-1e999",
        "1" * (MAX_DECIMAL_CHARS + 1),
        # not numbers
        None,
        True,
        False,
        [1],
        {"a": 1},
        b"1",
        float("nan"),
        float("inf"),
        -float("inf"),
        10**400,  # float() of it raises OverflowError
        -(10**400),
    ],
)
def test_refuses_everything_else_without_raising(text):
    assert read_decimal(text) is None
    assert read_price(text) is None


def test_length_cap_is_inclusive():
    text = "1." + "0" * (MAX_DECIMAL_CHARS - 2)
    assert read_decimal(text) == 1.0
    assert read_decimal(text + "0") is None
    assert read_decimal("12", max_chars=1) is None


@pytest.mark.parametrize("value", [0, 0.0, "0", "0.0", "0e5", -1, -0.5, "-1", "-0.0", "1e-400"])
def test_prices_are_positive(value):
    assert read_price(value) is None


def test_price_text_has_no_sign_and_price_numbers_may():
    assert read_price("91230.12") == 91230.12
    assert read_price("-5") is None  # no sign in price text
    assert read_price(5) == 5.0
    assert read_decimal("-5") == -5.0


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (2050, 2050),
        ("2050", 2050),
        ("0002", 2),
        (0, 0),
        ("0", 0),
        (-1, None),
        ("-1", None),
        (True, None),
        (2.0, None),
        ("2.0", None),
        ("", None),
        (" 2", None),
        ("2\n", None),
        ("²", None),  # isdigit() is True; int() raises
        ("٣", None),  # isdigit() is True; int() reads 3
        ("\uff13", None),  # fullwidth 3
        ("1_0", None),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        (10**18, None),
        pytest.param(10**5000, None, id="10**5000"),
        (None, None),
    ],
)
def test_unsigned_reads_ascii_digits_only(value, result):
    assert read_unsigned(value) == result


def test_unsigned_digit_cap():
    assert read_unsigned("123", max_digits=3) == 123
    assert read_unsigned("1234", max_digits=3) is None
    assert read_unsigned(999, max_digits=3) == 999
    assert read_unsigned(1000, max_digits=3) is None


# --- properties ---------------------------------------------------------------------------------

# The grammar the readers accept, written independently of ccdesk.core.numbers (RFC 8259 §6), and
# a length-bounded copy to draw examples from.
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", re.ASCII)
ascii_decimals = st.from_regex(
    re.compile(r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?([eE][-+]?[0-9]{1,3})?", re.ASCII), fullmatch=True
)
# Anything at all, with the characters that trip digit checks well represented.
odd_text = st.text(
    st.characters(categories=("Nd", "No", "Zs", "Cf", "Pd", "Sm"))
    | st.sampled_from("0123456789.-+eE_ ,nNaIi\n\x00")
    | st.characters(),
    max_size=45,
)


@given(ascii_decimals)
def test_agrees_with_float_on_ascii_decimals(text):
    expected = float(text)
    if not math.isfinite(expected):
        assert read_decimal(text) is None
    else:
        assert read_decimal(text) == expected
    positive = text[0] != "-" and math.isfinite(expected) and expected > 0
    assert read_price(text) == (expected if positive else None)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_reads_back_what_python_and_json_write(x):
    # repr() and json.dumps() both write the shortest text that reads back as the same double,
    # switching to an exponent for small and large values.
    assert read_decimal(repr(x)) == x
    assert read_decimal(x) == x
    assert read_price(repr(x)) == (x if x > 0 else None)


@settings(max_examples=5 * settings().max_examples)
@given(odd_text)
def test_anything_accepted_is_an_ascii_json_number_that_float_reads_the_same(text):
    value = read_decimal(text)
    if value is not None:
        assert text.isascii()
        assert JSON_NUMBER.fullmatch(text)
        assert value == float(text)
        assert math.isfinite(value)
    unsigned = read_unsigned(text)
    if unsigned is not None:
        assert text.isascii()
        assert text.isdigit()
        assert unsigned == int(text)


@given(st.integers() | st.sampled_from([2**1023, 2**1024, -(2**1024), 10**400]))
def test_ints_never_raise(n):
    try:
        expected = float(n)
    except OverflowError:
        expected = None
    assert read_decimal(n) == expected
    assert read_unsigned(n) == (n if 0 <= n < 10**18 else None)
