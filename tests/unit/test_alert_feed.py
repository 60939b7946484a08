"""The alert feed shared by the CLI and the GUI worker: every price, resets and rule swaps."""

from __future__ import annotations

import threading

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import MoveDirection, MoveRule
from ccdesk.core.events import PriceArrived, Reason, State, Status, SubRejected
from tests.fakes import FakeClock
from tests.pairs import BTC

RULE = MoveRule(pct=1.0, window_s=60.0, direction=MoveDirection.EITHER, cooldown_s=0.0)


def test_every_price_reaches_the_engine() -> None:
    clock = FakeClock()
    feed = AlertFeed([RULE], clock)
    assert feed.on_event(PriceArrived(BTC, 100.0, True)) == ()
    clock.advance(1.0)
    fired = feed.on_event(PriceArrived(BTC, 101.5, True))
    assert [(a.sub, a.direction, a.from_price, a.to_price) for a in fired] == [
        (BTC, MoveDirection.UP, 100.0, 101.5)
    ]


def test_a_clock_jump_restarts_the_windows() -> None:
    clock = FakeClock()
    feed = AlertFeed([RULE], clock)
    feed.on_event(PriceArrived(BTC, 100.0, True))
    feed.on_event(Status(State.STALE, Reason.CLOCK_JUMP))
    clock.advance(1.0)
    # Without the reset, 100 -> 102 would fire: the window starts afresh at 102 instead.
    assert feed.on_event(PriceArrived(BTC, 102.0, True)) == ()
    assert feed.engine.retained_samples(BTC) == 1


def test_a_rejected_pair_is_forgotten() -> None:
    feed = AlertFeed([RULE], FakeClock())
    feed.on_event(PriceArrived(BTC, 100.0, True))
    assert feed.engine.retained_samples(BTC) == 1
    feed.on_event(SubRejected(BTC, "INVALID_SUB", None))
    assert feed.engine.retained_samples(BTC) == 0


def test_rules_set_from_another_thread_apply_before_the_next_price() -> None:
    clock = FakeClock()
    feed = AlertFeed([], clock)
    feed.on_event(PriceArrived(BTC, 100.0, True))
    setter = threading.Thread(target=feed.set_rules, args=([RULE],))
    setter.start()
    setter.join()
    assert feed.engine.rules == ()  # not yet: the swap happens on the stream thread
    feed.on_event(PriceArrived(BTC, 100.0, False))
    clock.advance(1.0)
    assert feed.engine.rules == (RULE,)
    assert [a.direction for a in feed.on_event(PriceArrived(BTC, 98.0, True))] == [MoveDirection.DOWN]
