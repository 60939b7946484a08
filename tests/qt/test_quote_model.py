"""The price table model: order, formatting, freshness, rejected pairs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Source, parse_pair
from ccdesk.core.quotes import PriceDirection, Quote
from ccdesk.qt.quote_model import (
    DARK_COLORS,
    HISTORY_ROLE,
    LINE_COLOR_ROLE,
    PAIR_ROLE,
    SORT_ROLE,
    STALE_COLOR,
    STALE_ROLE,
    UP_COLOR,
    QuoteTableModel,
)
from tests.pairs import BTC, ETH, ETH_COINBASE


def quote(sub, price, at, open_24h=None):
    return Quote(sub=sub, price=price, direction=PriceDirection.UP, open_24h=open_24h, received_at=at)


@pytest.fixture
def model(qtbot):
    m = QuoteTableModel(stale_after_s=30)
    m.set_watchlist([BTC, ETH, ETH_COINBASE])
    return m


def text(m, row, col, role=Qt.ItemDataRole.DisplayRole):
    return m.data(m.index(row, col), role)


def test_rows_follow_the_watchlist_and_show_formatted_data(model):
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 91230.123, 101.0, open_24h=89000.0)])
    model.refresh(105.0)
    assert [text(model, r, model.PAIR) for r in range(3)] == [
        "BTC/USD · CCCAGG",
        "ETH/USD · CCCAGG",
        "ETH/USD · Coinbase",
    ]
    assert text(model, 0, model.PRICE) == "91,230.12"
    assert text(model, 0, model.CHANGE) == "▲ +2.51%"
    assert text(model, 0, model.CHANGE, Qt.ItemDataRole.ForegroundRole) == UP_COLOR
    assert text(model, 0, model.AGE) == "4 s ago"
    assert text(model, 1, model.PRICE) == "…"  # no data yet


def test_old_data_is_stale_and_greyed_with_its_age(model):
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0)])
    model.refresh(140.0)
    assert text(model, 0, model.AGE) == "stale · 35 s ago"
    assert text(model, 0, model.PRICE, Qt.ItemDataRole.ForegroundRole) == STALE_COLOR
    assert text(model, 0, model.TREND, STALE_ROLE) is True


def test_disconnected_means_stale_even_if_young(model):
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0)])
    model.refresh(102.0)
    assert text(model, 0, model.TREND, STALE_ROLE) is False
    model.set_live_since({})
    assert text(model, 0, model.TREND, STALE_ROLE) is True


def test_data_from_before_a_reconnect_is_not_live(model):
    # Monotonic time stops during suspend: a pre-sleep quote can look young; the session start decides.
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0)])
    model.set_live_since(Freshness.everywhere(200.0).live_since)
    model.refresh(201.0)
    assert text(model, 0, model.TREND, STALE_ROLE) is True
    model.update_quotes([quote(BTC, 101.0, 200.5)])
    assert text(model, 0, model.TREND, STALE_ROLE) is False


def test_rejected_pair_says_so(model):
    model.mark_rejected(ETH, "rejected by the server (INVALID_SUB)")
    assert text(model, 1, model.PRICE) == "not available"
    assert "INVALID_SUB" in text(model, 1, 0, Qt.ItemDataRole.ToolTipRole)


def test_a_row_whose_source_waits_on_the_user_says_why_instead_of_loading(qtbot):
    model = QuoteTableModel(stale_after_s=30)
    model.set_watchlist([parse_pair("kraken:BTC-USD"), parse_pair("coindesk:BTC-USD")])
    assert text(model, 1, model.PRICE) == "…"  # loading
    with qtbot.waitSignal(model.dataChanged):
        model.set_blocked({Source.COINDESK: "the API key was rejected"})
    assert [text(model, 1, c) for c in (model.PRICE, model.AGE)] == ["—", "the API key was rejected"]
    assert text(model, 1, 0, Qt.ItemDataRole.ToolTipRole).endswith(": the API key was rejected")
    assert text(model, 0, model.PRICE) == "…"  # another source's row still loads
    model.set_blocked({})
    assert text(model, 1, model.PRICE) == "…"


def test_sparkline_history_and_watchlist_changes_keep_data(model):
    model.set_live_since(Freshness.everywhere(0.0).live_since)
    for i in range(10):
        model.update_quotes([quote(BTC, 100.0 + i, i * 10.0)])
    assert [len(seg) for seg in text(model, 0, model.TREND, HISTORY_ROLE)] == [10]
    model.set_watchlist([ETH, BTC])
    assert text(model, 1, model.PRICE) == "109.00"


def test_tick_repaints_only_cells_that_changed(model, qtbot):
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0), quote(ETH, 10.0, 101.0)])
    changed = []
    model.dataChanged.connect(
        lambda tl, br, roles=(): changed.append((tl.row(), tl.column(), br.row(), br.column()))
    )
    model.refresh(102.0)  # first tick after the update: the rows it touched get one refresh
    changed.clear()
    model.refresh(102.4)  # "1 s ago" in both: nothing to repaint
    assert changed == []
    model.refresh(103.2)  # ages moved on: only the age cells
    assert changed == [(0, model.AGE, 0, model.AGE), (1, model.AGE, 1, model.AGE)]
    changed.clear()
    model.refresh(140.0)  # both went stale: whole rows
    assert changed == [(0, 0, 0, model.LAST), (1, 0, 1, model.LAST)]


def test_next_change_is_the_soonest_age_text_or_staleness_change(model):
    model.set_live_since(Freshness.everywhere(100.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0), quote(ETH, 10.0, 95.0)])
    model.refresh(103.5)
    # BTC is 2.5 s old ("2 s ago" until 3 s); ETH is before the session start (not live): 8.5 s -> 9 s.
    assert model.next_change(103.5) == pytest.approx(104.0)
    model.refresh(131.0)  # BTC 30 s old: next text at 35 s, but it turns stale at 30 s + epsilon
    assert model.next_change(131.0) == pytest.approx(131.001, abs=1e-6)


def test_a_change_that_rounds_to_zero_is_flat_in_text_and_colour(model):
    model.set_live_since(Freshness.everywhere(0.0).live_since)
    model.update_quotes([quote(BTC, 100.0, 101.0, open_24h=100.001)])  # -0.001 %
    model.refresh(101.5)
    change = model.index(0, QuoteTableModel.CHANGE)
    assert model.data(change) == "■ 0.00%"  # never "▼ 0.00%"
    assert model.data(change, Qt.ItemDataRole.ForegroundRole) is None


def test_a_reconnect_breaks_the_sparkline_into_two_segments(model):
    model.set_live_since({BTC.source: 0.0})
    for t in (1.0, 3.0, 5.0):
        model.update_quotes([quote(BTC, 100.0 + t, t)])
    model.set_live_since({})  # the connection dropped...
    model.set_live_since({BTC.source: 8.0})  # ...and came back 3 s later: too short for a time gap
    for t in (9.0, 11.0):
        model.update_quotes([quote(BTC, 120.0 + t, t)])
    assert text(model, 0, model.TREND, HISTORY_ROLE) == [
        [(1.0, 101.0), (3.0, 103.0), (5.0, 105.0)],
        [(9.0, 129.0), (11.0, 131.0)],
    ]


def test_the_stale_threshold_is_where_the_line_breaks(model):
    model.set_live_since({BTC.source: 0.0})
    model.update_quotes([quote(BTC, 1.0, 1.0)])
    model.update_quotes([quote(BTC, 2.0, 25.0)])  # 24 s later: within the 30 s threshold
    model.update_quotes([quote(BTC, 3.0, 60.0)])  # 35 s later: it was stale in between
    assert [len(s) for s in text(model, 0, model.TREND, HISTORY_ROLE)] == [2, 1]


def test_colours_follow_the_scheme_and_the_line_colour_says_up_down_or_stale(model):
    model.set_live_since({BTC.source: 0.0})
    model.update_quotes([quote(BTC, 100.0, 1.0, open_24h=90.0)])
    model.update_quotes([quote(BTC, 99.0, 4.0, open_24h=90.0)])
    model.refresh(5.0)
    assert text(model, 0, model.TREND, LINE_COLOR_ROLE) == model.colors.down
    model.set_colors(DARK_COLORS)
    assert text(model, 0, model.CHANGE, Qt.ItemDataRole.ForegroundRole) == DARK_COLORS.up  # +10 % on the day
    assert text(model, 0, model.TREND, LINE_COLOR_ROLE) == DARK_COLORS.down  # down over the line's span
    model.refresh(100.0)
    assert text(model, 0, model.TREND, LINE_COLOR_ROLE) == DARK_COLORS.stale
    assert DARK_COLORS.up.lightness() > UP_COLOR.lightness()  # lighter on a dark background


def test_sort_keys_are_numbers_and_no_data_has_none(model):
    model.set_live_since({BTC.source: 0.0})
    model.update_quotes(
        [quote(BTC, 91000.0, 1.0, open_24h=90000.0), quote(ETH, 3100.0, 2.0, open_24h=3200.0)]
    )
    assert text(model, 0, model.PRICE, SORT_ROLE) == 91000.0
    assert text(model, 1, model.CHANGE, SORT_ROLE) == pytest.approx(-3.125)
    assert text(model, 0, model.PAIR, SORT_ROLE) == "btc/usd · cccagg"
    assert text(model, 2, model.PRICE, SORT_ROLE) is None  # no price yet
    assert text(model, 2, model.PAIR, PAIR_ROLE) == ETH_COINBASE
    assert model.price_at(0) == 91000.0
    assert model.price_at(2) is None
    assert model.price_at(7) is None
    assert model.newest_update_at() == 2.0
