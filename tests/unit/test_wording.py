"""Words for people: status lines and alert texts."""

from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule
from ccdesk.core.events import Reason, State, Status
from ccdesk.wording import alert_body, alert_title, status_words
from tests.pairs import BTC


def test_move_alert_says_how_long_the_move_took():
    a = Alert(BTC, MoveRule(pct=2), MoveDirection.UP, 2.4, 100.0, 102.4, 300.0, 0.0, elapsed_s=15.0)
    assert alert_title(a) == "BTC/USD · CCCAGG up 2.4 % in 15 s"
    assert alert_body(a) == "100.00 → 102.40 (+2.40 %)"


def test_level_alert_names_the_level():
    a = Alert(
        BTC,
        LevelRule(level=95000, above=True),
        MoveDirection.UP,
        0.1,
        94990.0,
        95010.0,
        0.0,
        0.0,
        level=95000,
    )
    assert alert_title(a) == "BTC/USD · CCCAGG above 95,000.00"


def test_status_words_with_countdown():
    s = Status(State.RECONNECTING, Reason.CONNECT_FAILED, "refused", 12.0, 0.0)
    assert status_words(s) == "reconnecting: could not connect (refused); retrying in 12 s"
    assert status_words(s, retry_in_s=3) == "reconnecting: could not connect (refused); retrying in 3 s"


def test_every_state_and_reason_has_words():
    from ccdesk.core.events import Reason, State, Status
    from ccdesk.wording import reason_words, state_title, status_line_text

    for state in State:
        assert state_title(state)
    texts = {reason_words(Status(State.RECONNECTING, reason)) for reason in Reason}
    assert len(texts) == len(Reason)  # each says something of its own
    assert status_line_text(Status(State.BLOCKED, Reason.GEO_BLOCKED, None, 600.0)) == (
        "Not available here — the service is not available in your region; retrying in 10 min"
    )


def test_one_pair_label_for_every_view():
    from ccdesk.core.pairs import Pair, Source, parse_pair
    from ccdesk.wording import pair_cell_text, pair_label

    assert pair_label(Pair(Source.BINANCE, "BTC", "USDT")) == "BTC/USDT · Binance"
    assert pair_label(parse_pair("2~Coinbase~ETH~USD")) == "ETH/USD · Coinbase"
    assert pair_label(BTC) == "BTC/USD · CCCAGG"
    assert pair_cell_text(Pair(Source.KRAKEN, "SOL", "USD"), None) == pair_label(
        Pair(Source.KRAKEN, "SOL", "USD")
    )


def test_the_status_line_age_is_the_newest_price_and_never_updated_when_stale_or_down():
    from ccdesk.wording import activity_text

    assert activity_text(0.2, connected=True, stale_after_s=60) == "updated just now"
    assert activity_text(4.5, connected=True, stale_after_s=60) == "updated 4 s ago"
    assert (
        activity_text(90, connected=True, stale_after_s=60) == "last price 1 min ago"
    )  # quiet: not "updated"
    assert activity_text(4.5, connected=False, stale_after_s=60) == "last price 4 s ago"  # outage
    assert activity_text(None, connected=True, stale_after_s=60) == "waiting for prices"
    assert activity_text(None, connected=False, stale_after_s=60) == ""


def test_alert_pair_words_match_the_window_pair_column():
    from ccdesk.core.pairs import parse_pair
    from ccdesk.wording import alert_pair_words, pair_cell_text

    for text in ("binance:BTC-USDT", "kraken:ETH-USD", "2~Coinbase~ETH~USD", "BTC-USD"):
        pair = parse_pair(text)
        assert alert_pair_words(pair) == pair_cell_text(pair, None)
    assert alert_pair_words(parse_pair("binance:BTC-USDT")) == "BTC/USDT · Binance"


def test_alert_body_shows_a_small_move_with_the_decimals_it_needs():
    rule = MoveRule(pct=0.1, window_s=60.0, cooldown_s=60.0)
    a = Alert(BTC, rule, MoveDirection.DOWN, -0.0314, 0.15902, 0.15897, 60.0, 0.0, elapsed_s=20.0)
    assert alert_body(a) == "0.15902 → 0.15897 (-0.03 %)"


def test_step_alert_title_says_a_further_step():
    from ccdesk.core.alerts import StepRule

    a = Alert(BTC, StepRule(pct=2.0), MoveDirection.UP, 2.1, 100.0, 102.1, 0.0, 0.0)
    assert alert_title(a) == "BTC/USD · CCCAGG up a further 2.1 %"


def test_a_move_under_a_tenth_of_a_percent_is_not_shown_as_zero():
    a = Alert(BTC, MoveRule(pct=0.001), MoveDirection.UP, 0.0099, 100.0, 100.0099, 60.0, 0.0, elapsed_s=1.0)
    assert alert_title(a) == "BTC/USD · CCCAGG up 0.0099 % in 1 s"


def test_a_store_problem_names_everything_the_file_holds() -> None:
    # A corrupt file moved aside takes the holdings and the price history with it, not only alerts.
    from ccdesk.core.store import StoreProblem, StoreStatus
    from ccdesk.wording import store_problem_text

    for problem in StoreProblem:
        text = store_problem_text(StoreStatus(problem, "/data/ccdesk.sqlite3.corrupt-1"))
        assert "alerts" in text.lower(), problem
        assert "price history" in text, problem
        assert "holdings" in text, problem
    moved = store_problem_text(StoreStatus(StoreProblem.MOVED_ASIDE, "/data/ccdesk.sqlite3.corrupt-1"))
    assert "kept as /data/ccdesk.sqlite3.corrupt-1" in moved


def test_crosshair_says_the_stored_price_or_that_none_is_stored():
    from ccdesk.wording import chart_crosshair_text

    assert chart_crosshair_text("29 Nov 23:22", 91_553.2) == "29 Nov 23:22  91,553.20"
    assert chart_crosshair_text("29 Nov 23:22", None) == "29 Nov 23:22  no prices stored"


def test_crosshair_on_a_candle_gives_its_open_high_low_and_close():
    from ccdesk.wording import chart_crosshair_candle_text

    text = chart_crosshair_candle_text("07:22", 91_010.0, 91_050.0, 90_990.0, 91_020.0)
    assert text == "07:22  O 91,010.00  H 91,050.00  L 90,990.00  C 91,020.00"
    assert chart_crosshair_candle_text("07:22", 0.1723, 0.18, 0.17, 0.1755) == (
        "07:22  O 0.1723  H 0.1800  L 0.1700  C 0.1755"
    )
