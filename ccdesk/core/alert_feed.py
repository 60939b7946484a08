"""Feeds every price of one stream to the alert engine: the piece the CLI and the GUI worker share.

It runs on the stream thread (it owns the engine, as the stream client owns its quote book). Rules
may be replaced from any thread; the swap happens on the stream thread before the next price.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ccdesk.core.alerts import Alert, AlertEngine, Rule
from ccdesk.core.clock import Clock
from ccdesk.core.events import PriceArrived, Reason, Status, StreamEvent, SubRejected
from ccdesk.core.pairs import Pair

_NONE: tuple[Alert, ...] = ()


class AlertFeed:
    """Turns stream events into fired alerts.

    Every ``PriceArrived`` of a watched pair reaches the engine (a one-second spike counts); a
    clock jump (suspend and resume) restarts the move windows, because monotonic time stopped while
    asleep; a pair the server refused is forgotten.

    ``watched``: the pairs the user watches, or None for every pair streamed. A pair streamed only
    to compute a composite price is not watched: its moves are the composite's to alert on.
    """

    def __init__(self, rules: Iterable[Rule], clock: Clock, watched: Iterable[Pair] | None = None) -> None:
        self._engine = AlertEngine(rules, clock)
        self._lock = threading.Lock()
        self._pending: tuple[Rule, ...] | None = None
        self._watched: frozenset[Pair] | None = None if watched is None else frozenset(watched)

    @property
    def engine(self) -> AlertEngine:
        """The engine (stream thread only)."""
        return self._engine

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rules; any thread. Applied before the next price."""
        with self._lock:
            self._pending = tuple(rules)

    def set_watched(self, watched: Iterable[Pair] | None) -> None:
        """Replace the pairs alerted on (None: every pair); any thread (one reference swap)."""
        self._watched = None if watched is None else frozenset(watched)

    def on_event(self, ev: StreamEvent) -> tuple[Alert, ...]:
        """Feed one stream event (stream thread); returns the alerts it fired, usually none."""
        t = type(ev)
        if t is PriceArrived:
            if self._pending is not None:
                self._apply_pending()
            assert isinstance(ev, PriceArrived)
            watched = self._watched
            if watched is not None and ev.sub not in watched:
                return _NONE
            return self._engine.on_price(ev.sub, ev.price)
        if t is Status:
            assert isinstance(ev, Status)
            if ev.reason is Reason.CLOCK_JUMP:
                self._engine.reset()
        elif t is SubRejected:
            assert isinstance(ev, SubRejected)
            self._engine.forget(ev.sub)
        return _NONE

    def _apply_pending(self) -> None:
        with self._lock:
            rules, self._pending = self._pending, None
        if rules is not None:
            self._engine.set_rules(rules)
