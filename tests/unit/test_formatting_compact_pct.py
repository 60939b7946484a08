"""``compact_pct``: the mini panel's one-decimal change, whose arrow never contradicts its number."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.formatting import compact_pct


@pytest.mark.parametrize(
    ("pct", "text"),
    [
        (2.14, "▲2.1%"),
        (-0.42, "▼0.4%"),
        (0.0, "■0.0%"),
        (0.049, "■0.0%"),
        (-0.0499, "■0.0%"),
        (0.05, "▲0.1%"),
        (-0.05, "▼0.1%"),
        (123.456, "▲123.5%"),
        (None, ""),
        (math.nan, ""),
        (math.inf, ""),
    ],
)
def test_compact_pct(pct: float | None, text: str) -> None:
    assert compact_pct(pct) == text


@given(st.floats(min_value=-1000, max_value=1000))
def test_arrow_agrees_with_the_number(pct: float) -> None:
    text = compact_pct(pct)
    number = float(text[1:-1])
    assert (text[0] == "■") == (number == 0.0)
    assert text[0] != "▲" or pct > 0
    assert text[0] != "▼" or pct < 0
