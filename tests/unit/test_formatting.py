"""Price, percentage and duration formatting."""

import pytest

from ccdesk.core.formatting import format_age, format_duration, format_pct, format_price


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
