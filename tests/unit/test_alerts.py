"""Tests for ccdesk.core.alerts: move and level rules, cooldowns, re-arming, bounded memory."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.core.alerts import (
    Alert,
    AlertEngine,
    LevelRule,
    MoveDirection,
    MoveRule,
    Rule,
    RuleError,
)
from tests.fakes import FakeClock
from tests.pairs import BTC, ETH


def make(*rules: Rule) -> tuple[AlertEngine, FakeClock]:
    clock = FakeClock()
    return AlertEngine(rules, clock), clock


def feed(
    engine: AlertEngine, clock: FakeClock, prices: Iterable[float], dt: float = 1.0, sub=BTC
) -> list[Alert]:
    """Feed prices dt seconds apart (the first one at the current time); return every alert."""
    alerts: list[Alert] = []
    for i, price in enumerate(prices):
        if i:
            clock.advance(dt)
        alerts.extend(engine.on_price(sub, price))
    return alerts


# --- move rules -------------------------------------------------------------------------------


def test_slow_move_fires_where_a_previous_tick_rule_would_not() -> None:
    # +0.1 % per tick, 30 ticks 8 s apart: +3 % in 4 minutes.
    prices = [100.0 * 1.001**k for k in range(31)]
    tick_changes = [(b - a) / a * 100 for a, b in itertools.pairwise(prices)]
    assert max(tick_changes) < 1.0  # the guide's "1 % versus the previous tick" never sees it
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0))

    alerts = feed(engine, clock, prices, dt=8.0)

    # Against the start of the window (100): 1.001**20 = 1.0202 fires on tick 20, 160 s in; the
    # window restarts there, and the 10 ticks after it add only 1 %.
    assert [(a.direction, a.from_price, a.to_price, a.elapsed_s) for a in alerts] == [
        (MoveDirection.UP, 100.0, prices[20], 160.0)
    ]
    assert alerts[0].change_pct == pytest.approx(2.019, abs=1e-3)


@pytest.mark.parametrize(("duration_s", "fires"), [(200.0, True), (290.0, True), (400.0, False)])
def test_a_move_fires_only_if_it_fits_in_the_window(duration_s: float, fires: bool) -> None:
    # +3 % spread evenly (geometrically) over duration_s, one tick a second; pct 2.5, window 300.
    # Over 400 s, the start of any 300 s window is only 1.03**0.75 - 1 = 2.24 % below its end.
    n = int(duration_s)
    prices = [100.0 * 1.03 ** (k / n) for k in range(n + 1)]
    engine, clock = make(MoveRule(pct=2.5, window_s=300.0))

    alerts = feed(engine, clock, prices)

    assert bool(alerts) is fires
    for alert in alerts:
        assert alert.change_pct >= 2.5
        assert alert.elapsed_s <= 300.0


@pytest.mark.parametrize(("age_s", "fires"), [(299.999, True), (300.0, True), (300.001, False)])
def test_the_window_edge_is_exact_for_a_price_alone_in_its_bucket(age_s: float, fires: bool) -> None:
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0))
    engine.on_price(BTC, 100.0)
    clock.advance(age_s)

    alerts = engine.on_price(BTC, 102.5)

    assert [(a.from_price, a.elapsed_s) for a in alerts] == ([(100.0, age_s)] if fires else [])


def test_a_move_slower_than_the_window_never_fires_at_any_update_rate() -> None:
    # +1.99 % per 300 s, steadily, at 200 updates a second for 20 minutes: +8 % in all, but never
    # 2 % against a price at most 300 s old. The bucketing must not stretch the window.
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.UP))
    step = 1.0199 ** (1 / (300 * 200))
    price = 100.0
    for _ in range(20 * 60 * 200):
        clock.advance(0.005)
        price *= step
        assert engine.on_price(BTC, price) == ()
    assert price > 108.0


@pytest.mark.parametrize(("age_s", "fires"), [(299.5, True), (300.0, True), (300.5, False)])
def test_the_reference_is_the_first_price_of_its_bucket(age_s: float, fires: bool) -> None:
    # Buckets are 1 s wide. 101.5 arrives 0.5 s after 100, in the same bucket, so it is never a
    # reference: the granularity documented in the module. At 300.5 s, 100 has left the window
    # and the next reference is the next bucket's first price (here the current one), not 101.5,
    # although 101.5 is exactly 300 s old.
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0))
    engine.on_price(BTC, 100.0)
    clock.advance(0.5)
    assert engine.on_price(BTC, 101.5) == ()
    clock.advance(age_s - 0.5)

    alerts = engine.on_price(BTC, 97.9)  # -2.1 % from 100, -3.5 % from 101.5

    assert [(a.direction, a.from_price, a.elapsed_s) for a in alerts] == (
        [(MoveDirection.DOWN, 100.0, age_s)] if fires else []
    )


@pytest.mark.parametrize(
    ("watch", "end_price", "expected"),
    [
        (MoveDirection.UP, 102.6, MoveDirection.UP),
        (MoveDirection.UP, 97.4, None),
        (MoveDirection.DOWN, 97.4, MoveDirection.DOWN),
        (MoveDirection.DOWN, 102.6, None),
        (MoveDirection.EITHER, 102.6, MoveDirection.UP),
        (MoveDirection.EITHER, 97.4, MoveDirection.DOWN),
        (MoveDirection.EITHER, 97.6, None),  # -3.4 % from the window's high, but only -2.4 % from its start
        (MoveDirection.EITHER, 102.4, None),  # +3.4 % from the window's low, but only +2.4 % from its start
    ],
)
def test_direction_filter_against_the_start_of_the_window(
    watch: MoveDirection, end_price: float, expected: MoveDirection | None
) -> None:
    engine, clock = make(MoveRule(pct=2.5, window_s=300.0, direction=watch))

    alerts = feed(engine, clock, [100.0, 101.0, 99.0, end_price], dt=60.0)

    assert [(a.direction, a.from_price, a.to_price, a.elapsed_s) for a in alerts] == (
        [(expected, 100.0, end_price, 180.0)] if expected else []
    )


def test_a_dip_that_recovers_fires_down_once_and_never_up() -> None:
    # 100 -> 97 -> 100 within a minute, default cooldown (600 s, longer than the window).
    engine, clock = make(MoveRule(pct=3.0, window_s=300.0))

    alerts = feed(engine, clock, [100.0, 98.5, 97.0, 98.5, 100.0], dt=15.0)
    alerts += feed(engine, clock, [100.0] * 1800)  # then flat for half an hour

    # The recovery is back to the start-of-window price: no up move. (Measured from the dip's
    # low it would be +3.09 %; the window restarted at 97, but by the time the cooldown ends, 97
    # has left the window.)
    assert [(a.direction, a.from_price, a.to_price) for a in alerts] == [(MoveDirection.DOWN, 100.0, 97.0)]


def test_a_dip_short_of_pct_and_its_recovery_fire_nothing() -> None:
    # -2.45 % then back: +2.51 % from the low, but 0 % against the start of the window.
    engine, clock = make(MoveRule(pct=2.5, window_s=300.0, cooldown_s=0.0))

    assert feed(engine, clock, [100.0, 99.0, 97.55, 99.0, 100.0, 100.05], dt=10.0) == []


def test_a_spike_is_measured_from_the_start_of_the_window_not_from_a_low_inside_it() -> None:
    engine, clock = make(MoveRule(pct=3.0, window_s=300.0, cooldown_s=0.0))

    alerts = feed(engine, clock, [100.0, 98.0, 100.5, 102.9, 103.1], dt=30.0)

    # 102.9 is +5 % from the low (98) but +2.9 % from the start: only 103.1 fires.
    assert [(a.direction, a.from_price, a.to_price, a.elapsed_s) for a in alerts] == [
        (MoveDirection.UP, 100.0, 103.1, 120.0)
    ]


def test_move_alert_fields() -> None:
    rule = MoveRule(pct=2.0, window_s=120.0, sub=BTC)
    engine, clock = make(rule)
    engine.on_price(BTC, 50.0)
    clock.advance(30.0)
    clock.jump_wall(5.0)

    (alert,) = engine.on_price(BTC, 49.0)

    assert alert == Alert(
        sub=BTC,
        rule=rule,
        direction=MoveDirection.DOWN,
        change_pct=-2.0,
        from_price=50.0,
        to_price=49.0,
        window_s=120.0,
        at=clock.time(),
        level=None,
        elapsed_s=30.0,
    )


def test_a_one_second_spike_in_a_flood_fires() -> None:
    rng = random.Random(7)
    engine, clock = make(MoveRule(pct=3.0, window_s=300.0, direction=MoveDirection.UP))
    alerts: list[Alert] = []
    # 1000 updates a second for 400 s of noise within +-0.05 %, then one second at +3.1 %.
    noise: list[tuple[float, float]] = []  # (monotonic time, price)
    for _ in range(400_000):
        clock.advance(0.001)
        price = 100.0 * (1 + rng.uniform(-0.0005, 0.0005))
        noise.append((clock.monotonic(), price))
        alerts += engine.on_price(BTC, price)
    assert alerts == []
    spike_t = clock.monotonic() + 0.001
    for _ in range(1000):
        clock.advance(0.001)
        alerts += engine.on_price(BTC, 103.1)

    # It fires on the spike's first update, against the price at the start of the window: one
    # that arrived at most 300 s (and, at 1 kHz, more than 300 - 1 - 0.001 s) before.
    assert [(a.direction, a.to_price) for a in alerts] == [(MoveDirection.UP, 103.1)]
    (alert,) = alerts
    assert alert.at == pytest.approx(clock.time() - 1.0 + 0.001)
    assert 299.0 < alert.elapsed_s <= 300.0
    ref_t = spike_t - alert.elapsed_s
    assert [p for t, p in noise if t == ref_t] == [alert.from_price]


def test_memory_is_bounded_at_thousands_of_updates_a_second() -> None:
    window_s = 60.0
    engine, clock = make(MoveRule(pct=50.0, window_s=window_s), MoveRule(pct=50.0, window_s=6.0))
    rng = random.Random(3)
    price = 100.0
    retained: list[int] = []
    for i in range(3 * 60 * 2000):  # three minutes at 2 kHz
        clock.advance(0.0005)
        price *= 1 + rng.uniform(-0.0001, 0.0001)
        assert engine.on_price(BTC, price) == ()
        if i % 10_000 == 0:
            retained.append(engine.retained_samples(BTC))

    # Each rule keeps one price per bucket (0.2 s and 0.02 s) still in its window: ~301 each,
    # not the 120,000 and 12,000 updates its window saw.
    assert max(retained) <= 2 * 302
    assert engine.retained_samples(BTC) >= 2 * 299


def test_a_price_that_jumps_and_stays_fires_once_then_needs_a_further_full_move() -> None:
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0, cooldown_s=60.0))

    first = feed(engine, clock, [100.0, 103.0])
    sitting = feed(engine, clock, [103.0] * 7200)  # two hours, far past the cooldown
    further = feed(engine, clock, [103.0, 104.0, 105.2])

    assert [(a.from_price, a.to_price) for a in first] == [(100.0, 103.0)]
    assert sitting == []
    # The window restarted at the alert's price: the next alert is measured from 103.
    assert [(a.direction, a.from_price, a.to_price) for a in further] == [(MoveDirection.UP, 103.0, 105.2)]


def test_after_an_up_alert_the_window_restarts_so_a_small_pullback_does_not_fire() -> None:
    engine, clock = make(MoveRule(pct=3.0, window_s=300.0, cooldown_s=0.0))

    alerts = feed(engine, clock, [100.0, 103.5, 100.5, 101.0, 100.3])

    # 103.5 -> 100.3 is -3.09 %: the second alert is measured from the first alert's price.
    assert [(a.direction, a.from_price, a.to_price) for a in alerts] == [
        (MoveDirection.UP, 100.0, 103.5),
        (MoveDirection.DOWN, 103.5, 100.3),
    ]


def test_cooldown_suppresses_a_second_move_and_expires() -> None:
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0, cooldown_s=600.0))

    alerts = feed(engine, clock, [100.0, 103.0])
    clock.advance(100.0)
    assert engine.on_price(BTC, 99.0) == ()  # -3.9 % from 103, but in the cooldown
    clock.advance(600.0)
    assert engine.on_price(BTC, 99.0) == ()  # cooldown over; 103 has left the window
    clock.advance(10.0)
    alerts += engine.on_price(BTC, 96.0)

    assert [(a.direction, a.from_price, a.to_price) for a in alerts] == [
        (MoveDirection.UP, 100.0, 103.0),
        (MoveDirection.DOWN, 99.0, 96.0),
    ]


def test_a_move_made_during_the_cooldown_fires_when_it_ends_if_still_in_the_window() -> None:
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0, cooldown_s=60.0))

    feed(engine, clock, [100.0, 103.0])
    clock.advance(10.0)
    assert engine.on_price(BTC, 106.2) == ()  # +3.1 % from 103, in the cooldown
    clock.advance(50.0)
    (alert,) = engine.on_price(BTC, 106.2)  # 60 s after the first alert

    assert (alert.direction, alert.from_price, alert.to_price, alert.elapsed_s) == (
        MoveDirection.UP,
        103.0,
        106.2,
        60.0,
    )


def test_after_a_cooldown_prices_seen_during_it_are_not_references() -> None:
    engine, clock = make(MoveRule(pct=3.0, window_s=1000.0, cooldown_s=60.0))
    feed(engine, clock, [100.0, 104.0])  # fires, the window restarts at 104
    for price in (100.0, 110.0):  # -3.8 % and +5.8 % from 104: suppressed by the cooldown
        clock.advance(10.0)
        assert engine.on_price(BTC, price) == ()
    clock.advance(80.0)

    assert engine.on_price(BTC, 105.0) == ()  # -4.5 % from 110, but +1 % from the start, 104
    clock.advance(1.0)
    (alert,) = engine.on_price(BTC, 107.2)

    assert (alert.direction, alert.from_price, alert.elapsed_s) == (MoveDirection.UP, 104.0, 101.0)


def test_cooldown_and_state_are_per_rule_and_pair() -> None:
    fast = MoveRule(pct=2.0, window_s=60.0, cooldown_s=600.0)
    slow = MoveRule(pct=2.0, window_s=600.0, cooldown_s=600.0)
    engine, clock = make(fast, slow)
    engine.on_price(BTC, 100.0)
    engine.on_price(ETH, 10.0)
    clock.advance(30.0)

    btc = engine.on_price(BTC, 103.0)
    eth = engine.on_price(ETH, 10.3)

    assert {(a.sub, a.rule) for a in btc} == {(BTC, fast), (BTC, slow)}
    assert {(a.sub, a.rule) for a in eth} == {(ETH, fast), (ETH, slow)}


def test_rule_scope_all_pairs_or_one() -> None:
    everyone = MoveRule(pct=2.0)
    eth_only = MoveRule(pct=1.0, sub=ETH)
    engine, clock = make(everyone, eth_only)
    engine.on_price(BTC, 100.0)
    engine.on_price(ETH, 100.0)
    clock.advance(10.0)

    btc_small = engine.on_price(BTC, 101.5)
    eth_small = engine.on_price(ETH, 101.5)
    clock.advance(10.0)
    btc_big = engine.on_price(BTC, 102.5)

    assert btc_small == ()
    assert [(a.sub, a.rule) for a in eth_small] == [(ETH, eth_only)]
    assert [(a.sub, a.rule) for a in btc_big] == [(BTC, everyone)]


def test_windows_use_monotonic_time_not_wall_time() -> None:
    engine, clock = make(MoveRule(pct=2.0, window_s=300.0))
    engine.on_price(BTC, 100.0)
    clock.advance(10.0)
    clock.jump_wall(-86_400.0)  # the wall clock steps back a day: the move still took 10 s

    (alert,) = engine.on_price(BTC, 102.5)

    assert alert.elapsed_s == 10.0
    assert alert.at == clock.time()

    engine2, clock2 = make(MoveRule(pct=2.0, window_s=300.0))
    engine2.on_price(BTC, 100.0)
    clock2.advance(400.0)
    clock2.jump_wall(-390.0)  # wall says 10 s; 400 s really passed, so 100 left the window
    assert engine2.on_price(BTC, 102.5) == ()


# --- level rules ------------------------------------------------------------------------------


def test_level_fires_on_an_upward_crossing_and_not_again_while_above() -> None:
    rule = LevelRule(level=70_000.0, above=True, cooldown_s=0.0)
    engine, clock = make(rule)

    alerts = feed(engine, clock, [69_000.0, 69_900.0, 70_000.0, 70_500.0, 70_000.0, 70_100.0])

    assert alerts == [
        Alert(
            sub=BTC,
            rule=rule,
            direction=MoveDirection.UP,
            change_pct=pytest.approx(100 / 699),
            from_price=69_900.0,
            to_price=70_000.0,
            window_s=0.0,
            at=clock.time() - 3.0,
            level=70_000.0,
        )
    ]


def test_level_first_price_beyond_the_level_only_disarms() -> None:
    engine, clock = make(LevelRule(level=100.0, above=True, cooldown_s=0.0, hysteresis_pct=1.0))

    alerts = feed(engine, clock, [105.0, 101.0, 99.5, 100.0, 98.9, 100.0])

    # 105 is already above: no alert. 99.5 is inside the 1 % margin (re-arm below 99), so the
    # return to 100 is not a crossing; after 98.9 it is.
    assert [(a.from_price, a.to_price) for a in alerts] == [(98.9, 100.0)]


def test_level_hovering_inside_the_hysteresis_margin_fires_once() -> None:
    engine, clock = make(LevelRule(level=100.0, above=True, cooldown_s=0.0, hysteresis_pct=0.1))

    alerts = feed(engine, clock, [99.0] + [100.05, 99.95] * 500)

    assert [(a.from_price, a.to_price) for a in alerts] == [(99.0, 100.05)]


def test_level_below_rule_mirrors() -> None:
    engine, clock = make(LevelRule(level=100.0, above=False, cooldown_s=0.0, hysteresis_pct=1.0))

    alerts = feed(engine, clock, [95.0, 102.0, 100.0, 100.5, 99.0, 101.5, 99.9])

    # 95 is already below: disarmed. 102 re-arms (above 101); 100 fires; 100.5 does not re-arm.
    assert [(a.direction, a.from_price, a.to_price, a.level) for a in alerts] == [
        (MoveDirection.DOWN, 102.0, 100.0, 100.0),
        (MoveDirection.DOWN, 101.5, 99.9, 100.0),
    ]


def test_level_cooldown_suppresses_a_crossing_which_still_disarms() -> None:
    engine, clock = make(LevelRule(level=100.0, above=True, cooldown_s=600.0, hysteresis_pct=1.0))

    first = feed(engine, clock, [98.0, 101.0, 98.0, 101.0], dt=60.0)  # the 2nd crossing: cooldown
    clock.advance(600.0)
    sitting = feed(engine, clock, [101.0, 102.0])  # cooldown over; no new crossing
    again = feed(engine, clock, [98.0, 100.5])

    assert [(a.from_price, a.to_price) for a in first] == [(98.0, 101.0)]
    assert sitting == []
    assert [(a.from_price, a.to_price) for a in again] == [(98.0, 100.5)]


# --- prices, engine lifecycle -----------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_invalid_prices_are_ignored(bad: float) -> None:
    level = LevelRule(level=100.0, above=True, cooldown_s=0.0)
    move = MoveRule(pct=3.0, cooldown_s=0.0)
    engine, clock = make(level, move)

    assert engine.on_price(BTC, bad) == ()  # not the first price: 101 is, and it only disarms
    alerts = feed(engine, clock, [101.0, 99.0, bad, bad, 99.5, 101.5])

    # The level alert comes from 99.5, the last valid price. The move rule's window starts at
    # 101, the first valid price (-2 % at most since); a bad price never became its reference.
    assert [(a.rule, a.from_price, a.to_price) for a in alerts] == [(level, 99.5, 101.5)]
    assert engine.on_price(ETH, bad) == ()
    assert engine.retained_samples(ETH) == 0


def test_nothing_fired_returns_the_empty_tuple() -> None:
    engine, _ = make(MoveRule(pct=2.0))
    result = engine.on_price(BTC, 100.0)
    assert result == ()
    assert isinstance(result, tuple)
    assert AlertEngine([], FakeClock()).on_price(BTC, 100.0) == ()


def test_duplicate_rules_count_once() -> None:
    engine, clock = make(MoveRule(pct=2.0), MoveRule(pct=2.0))
    assert engine.rules == (MoveRule(pct=2.0),)
    assert len(feed(engine, clock, [100.0, 103.0])) == 1


def test_set_rules_keeps_state_of_kept_rules_and_drops_removed_ones() -> None:
    kept = MoveRule(pct=2.0, cooldown_s=600.0)
    removed = LevelRule(level=100.0, above=True, cooldown_s=600.0)
    engine, clock = make(kept, removed)
    assert [a.rule for a in feed(engine, clock, [99.0, 103.0])] == [kept, removed]

    added = MoveRule(pct=1.0, cooldown_s=600.0)
    engine.set_rules([kept, added])
    clock.advance(10.0)
    # kept: in its cooldown and its window restarted at 103; added: fresh, sees only 106.2.
    assert engine.on_price(BTC, 106.2) == ()
    clock.advance(10.0)
    assert [a.rule for a in engine.on_price(BTC, 107.5)] == [added]

    engine.set_rules([kept, added, removed])  # re-added: fresh, the first price only disarms
    assert engine.on_price(BTC, 108.0) == ()
    with pytest.raises(TypeError, match="not an alert rule"):
        engine.set_rules([kept, "5%"])  # type: ignore[list-item]


def test_forget_drops_a_pair() -> None:
    engine, clock = make(LevelRule(level=100.0, above=True, cooldown_s=0.0))
    engine.on_price(BTC, 99.0)
    engine.forget(BTC)
    engine.forget(ETH)  # never seen: fine

    assert feed(engine, clock, [101.0]) == []  # a first price again: it only disarms


def test_reset_restarts_move_windows_but_keeps_level_arming_and_cooldowns() -> None:
    move = MoveRule(pct=2.0, cooldown_s=0.0)
    level = LevelRule(level=105.0, above=True, cooldown_s=0.0)
    cooled = MoveRule(pct=1.0, cooldown_s=3600.0, sub=ETH)
    engine, clock = make(move, level, cooled)
    # +1.5 %: only `cooled` fires, and starts its cooldown.
    assert [a.rule for a in feed(engine, clock, [10.0, 10.15], sub=ETH)] == [cooled]
    engine.on_price(BTC, 100.0)

    engine.reset()  # e.g. resumed from suspend: 100 is not a reference any more
    clock.advance(1.0)
    after = engine.on_price(BTC, 106.0)
    engine.on_price(ETH, 10.0)
    clock.advance(1.0)
    later = engine.on_price(BTC, 108.5)
    eth = engine.on_price(ETH, 10.5)

    assert [(a.rule, a.from_price) for a in after] == [(level, 100.0)]  # crossed while away
    assert [(a.rule, a.from_price) for a in later] == [(move, 106.0)]
    assert [a.rule for a in eth] == [move]  # +5 %, but `cooled` is still in its cooldown


@pytest.mark.parametrize(
    ("make_rule", "message"),
    [
        (lambda: MoveRule(pct=0.0), "more than 0 %"),
        (lambda: MoveRule(pct=-1.0), "more than 0 %"),
        (lambda: MoveRule(pct=math.nan), "finite"),
        (lambda: MoveRule(pct=2.0, window_s=0.0), "window"),
        (lambda: MoveRule(pct=2.0, window_s=math.inf), "finite"),
        (lambda: MoveRule(pct=2.0, cooldown_s=-1.0), "cooldown"),
        (lambda: MoveRule(pct=2.0, direction="up"), "direction"),  # type: ignore[arg-type]
        (lambda: MoveRule(pct=100.0, direction=MoveDirection.DOWN), "cannot fall"),
        (lambda: MoveRule(pct="2"), "number"),  # type: ignore[arg-type]
        (lambda: MoveRule(pct=2.0, sub="BTC-USD"), "sub"),  # type: ignore[arg-type]
        (lambda: LevelRule(level=0.0, above=True), "level"),
        (lambda: LevelRule(level=math.inf, above=True), "finite"),
        (lambda: LevelRule(level=1.0, above=1), "above"),  # type: ignore[arg-type]
        (lambda: LevelRule(level=1.0, above=True, cooldown_s=-5.0), "cooldown"),
        (lambda: LevelRule(level=1.0, above=True, hysteresis_pct=100.0), "re-arm"),
        (lambda: LevelRule(level=1.0, above=True, hysteresis_pct=-0.1), "re-arm"),
    ],
)
def test_invalid_rules_are_refused_with_a_plain_message(make_rule, message: str) -> None:
    with pytest.raises(RuleError, match=message) as info:
        make_rule()
    assert isinstance(info.value, ValueError)


def test_rules_are_hashable_values() -> None:
    assert MoveRule(pct=2.0, sub=BTC) == MoveRule(2.0, 300.0, MoveDirection.EITHER, 600.0, BTC)
    assert len({LevelRule(1.0, True), LevelRule(1.0, True), LevelRule(1.0, False)}) == 2


# --- properties -------------------------------------------------------------------------------

_steps = st.lists(
    st.tuples(
        st.one_of(st.floats(0.0, 4.0), st.sampled_from([0.0, 1 / 60, 10 / 300])),
        st.floats(90.0, 110.0),
    ),
    min_size=1,
    max_size=120,
)


def _qualifies(ref: float, price: float, pct: float, way: MoveDirection) -> bool:
    change = (price - ref) / ref * 100.0
    return change >= pct if way is MoveDirection.UP else change <= -pct


@settings(deadline=None)
@given(
    pct=st.sampled_from([0.3, 2.0, 5.0, 15.0]),
    direction=st.sampled_from(list(MoveDirection)),
    steps=_steps,
)
def test_move_alerts_match_a_start_of_window_model(
    pct: float, direction: MoveDirection, steps: Sequence[tuple[float, float]]
) -> None:
    """Model: the reference may be any sample since the last alert that is at most window_s old
    and has no earlier sample within window_s - bucket_s (the documented granularity). The engine
    must fire if the current price qualifies against all of them, must not if against none,
    and must name one of them as the reference."""
    window_s = 10.0
    bucket_s = window_s / 300
    slack = 1e-9  # float rounding of times at the edges
    engine, clock = make(MoveRule(pct=pct, window_s=window_s, direction=direction, cooldown_s=0.0))
    history: list[tuple[float, float]] = []
    for dt, price in steps:
        clock.advance(dt)
        now = clock.monotonic()
        history.append((now, price))
        alerts = engine.on_price(BTC, price)

        ways = [d for d in (MoveDirection.UP, MoveDirection.DOWN) if direction in (d, MoveDirection.EITHER)]
        candidates: list[tuple[float, float]] = []
        for t, p in history:
            if now - t <= window_s + slack:
                candidates.append((t, p))
            if now - t <= window_s - bucket_s - slack:
                break  # every later sample has an earlier one inside window_s - bucket_s
        assert candidates
        verdicts = [any(_qualifies(p, price, pct, way) for way in ways) for _, p in candidates]
        if all(verdicts):
            assert len(alerts) == 1
        if not any(verdicts):
            assert alerts == ()
        for alert in alerts:
            assert alert.direction in ways
            assert (alert.to_price, alert.window_s) == (price, window_s)
            assert alert.change_pct == (price - alert.from_price) / alert.from_price * 100.0
            assert _qualifies(alert.from_price, price, pct, alert.direction)
            assert 0.0 <= alert.elapsed_s <= window_s
            assert any(p == alert.from_price and now - t == alert.elapsed_s for t, p in candidates)
        if alerts:
            history = [(now, price)]


@settings(deadline=None)
@given(
    pct=st.sampled_from([0.5, 2.0, 10.0]),
    steps=st.lists(st.tuples(st.floats(0.0, 500.0), st.floats(-1.0, 1.0)), max_size=100),
)
def test_no_alert_while_prices_stay_in_a_narrow_band(
    pct: float, steps: Sequence[tuple[float, float]]
) -> None:
    # The band is +-pct/3 around the first price: any price differs from any reference, the
    # start of the window wherever it is, by less than pct. (+-pct/2 would not do: 99 -> 101 is
    # +2.02 %.)
    engine, clock = make(MoveRule(pct=pct, window_s=300.0, cooldown_s=0.0))
    alerts = list(engine.on_price(BTC, 100.0))
    for dt, x in steps:
        clock.advance(dt)
        alerts += engine.on_price(BTC, 100.0 * (1 + x * pct / 300))
    assert alerts == []


@settings(deadline=None)
@given(
    cooldown_s=st.sampled_from([0.0, 5.0, 30.0]),
    steps=st.lists(st.tuples(st.floats(0.0, 3.0), st.floats(50.0, 150.0)), max_size=150),
)
def test_alerts_are_never_closer_than_the_cooldown(
    cooldown_s: float, steps: Sequence[tuple[float, float]]
) -> None:
    rules = (
        MoveRule(pct=1.0, window_s=20.0, cooldown_s=cooldown_s),
        LevelRule(level=100.0, above=True, cooldown_s=cooldown_s, hysteresis_pct=0.0),
    )
    engine, clock = make(*rules)
    fired: dict[Rule, list[float]] = {rule: [] for rule in rules}
    for dt, price in steps:
        clock.advance(dt)
        for alert in engine.on_price(BTC, price):
            fired[alert.rule].append(clock.monotonic())
    for times in fired.values():
        assert all(b - a >= cooldown_s for a, b in itertools.pairwise(times))


@settings(deadline=None)
@given(
    above=st.booleans(),
    hysteresis_pct=st.sampled_from([0.0, 0.5, 5.0]),
    prices=st.lists(st.floats(90.0, 110.0), min_size=1, max_size=100),
)
def test_level_alerts_fire_exactly_on_armed_crossings(
    above: bool, hysteresis_pct: float, prices: Sequence[float]
) -> None:
    level = 100.0
    engine, clock = make(LevelRule(level, above, cooldown_s=0.0, hysteresis_pct=hysteresis_pct))
    m = hysteresis_pct / 100

    def beyond(p: float) -> bool:  # at or past the level on the firing side
        return p >= level if above else p <= level

    def clear(p: float) -> bool:  # back past the re-arm margin
        return p < level * (1 - m) if above else p > level * (1 + m)

    for i, price in enumerate(prices):
        if i:
            clock.advance(1.0)
        alerts = engine.on_price(BTC, price)
        # Armed iff the latest earlier price that armed (the first price on the near side, or any
        # price past the margin) or disarmed (any price at or past the level) armed it.
        deciding = [p for j, p in enumerate(prices[:i]) if j == 0 or beyond(p) or clear(p)]
        should_fire = bool(deciding) and not beyond(deciding[-1]) and beyond(price)
        assert [(a.from_price, a.to_price) for a in alerts] == (
            [(prices[i - 1], price)] if should_fire else []
        )
