"""Recent prices per pair, thinned to one sample per step, with the gaps where no price came (an outage,
a reconnect), for sparklines. Pure; injected times."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

SEED_GAP_AFTER_S = 150.0
"""Seeded prices are minute closes: a gap is a missing minute (more than two and a half apart)."""

DEFAULT_GAP_AFTER_S = 60.0
"""No price for longer than this is a gap in the line: the window's default stale threshold, so the
line breaks exactly where the table would have shown the price as stale."""


class Sample(NamedTuple):
    """One point of a sparkline: monotonic time, price, and whether a gap comes before it."""

    t: float
    price: float
    after_gap: bool = False


class PriceHistory:
    """The last ``window_s`` seconds of one pair's prices, at most one sample per ``step_s``.

    Within a step the latest price wins, so the line ends at the current price. Memory is
    bounded by ``window_s / step_s + 1`` samples however fast prices arrive.

    A sample starts a new segment (a gap before it) when no price came for more than
    ``gap_after_s``, or when it belongs to another connection session than the sample before it
    (the ``session`` given to ``add``: the monotonic time that session began). A line drawn across
    a reconnect would show a move nobody saw as a smooth one.
    """

    def __init__(
        self, window_s: float = 900.0, step_s: float = 2.0, gap_after_s: float = DEFAULT_GAP_AFTER_S
    ) -> None:
        if window_s <= 0 or step_s <= 0 or gap_after_s <= 0:
            raise ValueError("window_s, step_s and gap_after_s must be > 0")
        self.window_s = window_s
        self.step_s = step_s
        self.gap_after_s = gap_after_s
        self._samples: deque[Sample] = deque(maxlen=int(window_s / step_s) + 1)
        self._session: float | None = None
        self._break_next = False

    def add(self, t: float, price: float, session: float | None = None) -> None:
        """Record ``price`` at monotonic time ``t``, received in the connection session that began
        at ``session`` (None: unknown, only the time decides the gaps)."""
        samples = self._samples
        new_session = self._break_next or (
            session is not None and self._session is not None and session != self._session
        )
        self._break_next = False
        if session is not None:
            self._session = session
        if samples and not new_session and t - samples[-1].t < self.step_s:
            last = samples[-1]
            samples[-1] = last._replace(price=price)  # same step: keep its time, take the newest price
        else:
            gap = bool(samples) and (new_session or t - samples[-1].t > self.gap_after_s)
            samples.append(Sample(t, price, gap))
        while samples and samples[0].t < t - self.window_s:
            samples.popleft()

    def seed(self, points: Iterable[tuple[float, float]], gap_after_s: float = SEED_GAP_AFTER_S) -> None:
        """Put older prices before the live ones: ``(monotonic t, price)`` points, such as the
        store's minute closes after a restart, so the line starts full. Points at or after the first
        live sample, and points outside the window, are left out; a gap is drawn wherever two
        neighbours are more than ``gap_after_s`` apart (between the points and the live samples too).
        """
        live = list(self._samples)
        first_live = live[0].t if live else math.inf
        newest = live[-1].t if live else -math.inf
        points = sorted((t, p) for t, p in points if t < first_live and 0.0 < p < math.inf)
        if points:
            newest = max(newest, points[-1][0])
        seeded: list[Sample] = []
        for t, price in points:
            if t < newest - self.window_s:
                continue
            seeded.append(Sample(t, price, bool(seeded) and t - seeded[-1].t > gap_after_s))
        if not seeded:
            return
        if live:
            head = live[0]
            live[0] = head._replace(after_gap=head.after_gap or head.t - seeded[-1].t > gap_after_s)
        self._samples.clear()
        self._samples.extend(seeded + live)  # maxlen keeps the newest

    def break_line(self) -> None:
        """The next sample starts a new segment whatever its time (the connection was lost)."""
        self._break_next = bool(self._samples)

    def points(self) -> list[tuple[float, float]]:
        """``(t, price)`` samples, oldest first (gaps not marked; see ``segments``)."""
        return [(s.t, s.price) for s in self._samples]

    def segments(self) -> list[list[tuple[float, float]]]:
        """The samples split at the gaps: each segment is a run of ``(t, price)`` to join with a line,
        oldest first. The first sample kept never starts with a gap (older ones have scrolled away)."""
        out: list[list[tuple[float, float]]] = []
        for s in self._samples:
            if not out or s.after_gap:
                out.append([])
            out[-1].append((s.t, s.price))
        return out

    def __len__(self) -> int:
        return len(self._samples)
