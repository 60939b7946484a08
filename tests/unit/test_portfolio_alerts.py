"""Alerts on the portfolio's total: the pseudo-pair (parse, label, codec, never streamed) and the
feed (only portfolio rules, only complete totals, restarts)."""

from __future__ import annotations

import pytest

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule
from ccdesk.core.composite import COMPOSITE_VENUES, subscriptions
from ccdesk.core.holdings import Holding, totals
from ccdesk.core.pairs import (
    NOT_STREAMED,
    Channel,
    PairError,
    Source,
    is_portfolio,
    keyless_twin,
    parse_pair,
    portfolio_pair,
)
from ccdesk.core.portfolio_alerts import PortfolioAlerts, portfolio_rules
from ccdesk.core.settings import Settings, SettingsError
from ccdesk.core.settings_codec import MemoryStore, load_settings, save_settings
from ccdesk.core.webhook import alert_payload
from ccdesk.wording import pair_label
from tests.fakes import FakeClock

USD_TOTAL = portfolio_pair("USD")
EUR_TOTAL = portfolio_pair("EUR")
BTC_USD = parse_pair("kraken:BTC-USD")
ETH_USD = parse_pair("coinbase:ETH-USD")
BTC_EUR = parse_pair("kraken:BTC-EUR")
MOVE = MoveRule(pct=2.0, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=0.0, sub=USD_TOTAL)
EVERY_PAIR = MoveRule(pct=0.5, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=0.0)
ON_BTC = MoveRule(pct=0.5, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=0.0, sub=BTC_USD)
HELD = [Holding(BTC_USD, 1.0, 50_000.0), Holding(ETH_USD, 10.0), Holding(BTC_EUR, 0.5)]


def _totals(btc: float | None, eth: float | None = 1000.0, btc_eur: float | None = 40_000.0):  # type: ignore[no-untyped-def]
    prices = {BTC_USD: btc, ETH_USD: eth, BTC_EUR: btc_eur}
    return totals(HELD, {p: v for p, v in prices.items() if v is not None})


# --- the pseudo-pair ----------------------------------------------------------------------------


def test_a_portfolio_pair_parses_formats_and_is_labelled() -> None:
    assert str(USD_TOTAL) == "portfolio:TOTAL-USD"
    assert parse_pair("portfolio:TOTAL-USD") == USD_TOTAL
    assert parse_pair(str(EUR_TOTAL)) == EUR_TOTAL
    assert parse_pair("PORTFOLIO:total-usd") == USD_TOTAL
    assert USD_TOTAL.source is Source.PORTFOLIO
    assert USD_TOTAL.channel is Channel.AGGREGATE
    assert is_portfolio(USD_TOTAL)
    assert not is_portfolio(BTC_USD)
    assert not is_portfolio(None)
    assert pair_label(USD_TOTAL) == "Portfolio · USD"
    assert pair_label(EUR_TOTAL) == "Portfolio · EUR"
    assert keyless_twin(USD_TOTAL) == USD_TOTAL


def test_only_the_total_is_a_portfolio_pair() -> None:
    with pytest.raises(PairError, match="TOTAL"):
        parse_pair("portfolio:BTC-USD")
    with pytest.raises(PairError):
        portfolio_pair("US D")


def test_a_portfolio_pair_is_never_streamed() -> None:
    assert Source.PORTFOLIO in NOT_STREAMED
    plan = subscriptions([BTC_USD, USD_TOTAL], COMPOSITE_VENUES)
    assert plan == {Source.KRAKEN: (BTC_USD,)}


def test_a_portfolio_pair_is_not_watched() -> None:
    with pytest.raises(SettingsError, match="portfolio"):
        Settings(watchlist=(BTC_USD, USD_TOTAL))


def test_a_rule_on_the_total_round_trips_through_the_settings_and_the_watchlist_drops_it() -> None:
    store = MemoryStore()
    level = LevelRule(level=100_000.0, above=True, sub=EUR_TOTAL)
    move = MoveRule(pct=2.0, window_s=300.0, cooldown_s=600.0, sub=USD_TOTAL)
    save_settings(store, Settings(watchlist=(BTC_USD,), rules=(move, level)), previous=None)
    back, problems = load_settings(store)
    assert problems == ()
    assert back.rules == (move, level)
    assert back.rules[0].sub == USD_TOTAL
    # A hand-edited file that watches the total: that entry is dropped, the rest kept.
    store.set("watchlist", '["kraken:BTC-USD", "portfolio:TOTAL-USD"]')
    watched, problems = load_settings(store)
    assert watched.watchlist == (BTC_USD,)
    assert any("portfolio" in p.reason for p in problems)


def test_the_webhook_payload_of_a_portfolio_alert_carries_the_move_not_the_value() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([MOVE], clock)
    feed.on_totals(_totals(50_000.0))
    clock.advance(5.0)
    (alert,) = feed.on_totals(_totals(53_000.0))
    payload = alert_payload(alert)
    assert payload["sub"] == "portfolio:TOTAL-USD"
    assert payload["portfolio"] is True
    assert payload["label"] == "Portfolio USD"
    assert payload["from_price"] is None
    assert payload["to_price"] is None
    assert payload["level"] is None
    assert payload["change_pct"] == pytest.approx(alert.change_pct)
    assert payload["direction"] == "up"
    assert "60000" not in repr(payload)
    assert "63000" not in repr(payload)


# --- the feed ---------------------------------------------------------------------------------------


def test_a_move_of_the_total_fires_a_rule_on_it() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([MOVE], clock)
    assert feed.on_totals(_totals(50_000.0)) == ()  # 50,000 + 10,000 = 60,000 USD
    clock.advance(10.0)
    assert feed.on_totals(_totals(50_500.0)) == ()  # 60,500: +0.83 %
    clock.advance(10.0)
    (alert,) = feed.on_totals(_totals(51_500.0))  # 61,500: +2.5 %
    assert alert.sub == USD_TOTAL
    assert alert.rule == MOVE
    assert alert.direction is MoveDirection.UP
    assert (alert.from_price, alert.to_price) == (60_000.0, 61_500.0)
    assert alert.change_pct == pytest.approx(2.5)


def test_rules_for_every_pair_or_another_pair_never_apply_to_the_total() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([EVERY_PAIR, ON_BTC], clock)
    assert feed.rules == ()
    feed.on_totals(_totals(50_000.0))
    clock.advance(5.0)
    assert feed.on_totals(_totals(60_000.0)) == ()
    assert portfolio_rules([EVERY_PAIR, MOVE, ON_BTC]) == (MOVE,)


def test_an_incomplete_total_feeds_nothing_and_restarts_its_windows() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([MOVE], clock)
    feed.on_totals(_totals(50_000.0))  # 60,000
    clock.advance(5.0)
    # ETH's price goes stale: the USD total is 50,500 + nothing, incomplete: not fed.
    assert feed.on_totals(_totals(50_500.0, eth=None)) == ()
    clock.advance(5.0)
    # It comes back higher: a move from 60,000 to 62,000 across the gap is not reported...
    assert feed.on_totals(_totals(52_000.0)) == ()
    clock.advance(5.0)
    # ...the window starts again at 62,000.
    (alert,) = feed.on_totals(_totals(53_500.0))  # 63,500: +2.4 %
    assert alert.from_price == 62_000.0


def test_an_incomplete_total_in_one_currency_leaves_the_others_alone() -> None:
    clock = FakeClock()
    eur = MoveRule(pct=2.0, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=0.0, sub=EUR_TOTAL)
    feed = PortfolioAlerts([MOVE, eur], clock)
    feed.on_totals(_totals(50_000.0, btc_eur=40_000.0))
    clock.advance(5.0)
    assert feed.on_totals(_totals(50_000.0, btc_eur=None)) == ()
    clock.advance(5.0)
    (alert,) = feed.on_totals(_totals(51_500.0, btc_eur=40_000.0))
    assert alert.sub == USD_TOTAL
    assert alert.from_price == 60_000.0


def test_a_change_of_holdings_restarts_the_windows() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([MOVE], clock)
    feed.on_totals(_totals(50_000.0))  # 60,000
    clock.advance(5.0)
    feed.restart()  # the user bought more: the total jumps, the market did not move
    more = totals([Holding(BTC_USD, 2.0), Holding(ETH_USD, 10.0)], {BTC_USD: 50_000.0, ETH_USD: 1000.0})
    assert feed.on_totals(more) == ()  # 110,000: no +83 % move
    clock.advance(5.0)
    after = totals([Holding(BTC_USD, 2.0), Holding(ETH_USD, 10.0)], {BTC_USD: 52_000.0, ETH_USD: 1000.0})
    (alert,) = feed.on_totals(after)  # 114,000: +3.6 % from 110,000
    assert alert.from_price == 110_000.0


def test_a_currency_with_no_holding_left_restarts_when_it_comes_back() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([MOVE], clock)
    feed.on_totals(_totals(50_000.0))
    clock.advance(5.0)
    assert feed.on_totals([]) == ()
    clock.advance(5.0)
    assert feed.on_totals(_totals(55_000.0)) == ()  # 65,000 is the new start, not +8 %


def test_a_level_rule_on_the_total_fires_on_the_crossing() -> None:
    clock = FakeClock()
    level = LevelRule(level=62_000.0, above=True, sub=USD_TOTAL)
    feed = PortfolioAlerts([level], clock)
    assert feed.on_totals(_totals(50_000.0)) == ()
    clock.advance(5.0)
    (alert,) = feed.on_totals(_totals(52_500.0))
    assert alert.level == 62_000.0
    assert alert.to_price == 62_500.0


def test_set_rules_keeps_only_the_portfolio_rules() -> None:
    clock = FakeClock()
    feed = PortfolioAlerts([], clock)
    assert feed.on_totals(_totals(50_000.0)) == ()
    feed.set_rules([EVERY_PAIR, MOVE])
    assert feed.rules == (MOVE,)


def test_the_command_line_refuses_to_stream_the_total() -> None:
    from ccdesk.cli_stream import UsageError, parse_pairs

    with pytest.raises(UsageError, match="not streamed"):
        parse_pairs(["kraken:BTC-USD", "portfolio:TOTAL-USD"], Source.KRAKEN)


def test_a_log_line_never_names_the_total_s_amount() -> None:
    from ccdesk.wording import alert_log_words, alert_title

    clock = FakeClock()
    level = LevelRule(level=62_000.0, above=True, sub=USD_TOTAL)
    feed = PortfolioAlerts([level, MOVE], clock)
    feed.on_totals(_totals(50_000.0))
    clock.advance(5.0)
    alerts = {type(a.rule): a for a in feed.on_totals(_totals(52_500.0))}
    assert "62,000" in alert_title(alerts[LevelRule])  # the desktop notification, on this machine
    assert alert_log_words(alerts[LevelRule]) == "Portfolio · USD level alert"
    assert alert_log_words(alerts[MoveRule]).startswith("Portfolio · USD up 4.2 %")
