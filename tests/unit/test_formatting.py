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


@pytest.mark.parametrize(
    "age", [0.2, 0.99, 1.0, 4.5, 9.99, 10.0, 12.3, 59.9, 60.0, 61.5, 3599.0, 3600.0, 9000.0]
)
def test_next_age_change_is_exactly_when_the_text_changes(age):
    from ccdesk.core.formatting import next_age_change

    nxt = next_age_change(age)
    assert nxt > age
    assert format_age(nxt - 1e-6) == format_age(age)  # unchanged until then
    assert format_age(nxt) != format_age(age)  # and different from then on
