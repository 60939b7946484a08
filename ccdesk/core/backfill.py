"""Backfill: the minutes the store is missing (start-up, suspend, outage), fetched from the pair's
own venue over REST, politely, and handed to a sink (``Store.record_candles``). No Qt.

- :func:`missing_ranges` finds the holes in stored candle starts up to the last finished period.
- :class:`HostPacer` is shared by every backfill of the app: at most one request per
  ``min_interval_s`` per host, a host held back for its Retry-After after a 429, and a host that
  failed ``max_failures`` times in a row rested for ``rest_s`` (other pairs on it then give up at
  once instead of knocking again).
- :class:`Backfill` runs one pair: it blocks (pacing, retries, the network), so it runs on a
  background thread (the Qt layer's jobs pool), never on the GUI or the stream thread. Time and
  waiting are injected (a clock, a ``wait`` that a cancel can cut short), so it is tested with a
  fake clock and a fake HTTP get, never with sleeps.

Every outcome is a typed :class:`BackfillResult`; a page that came is kept even when a later one
fails (pages go newest first, so a backfill cut short still fills the recent part).
"""

from __future__ import annotations

import enum
import logging
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ccdesk.core.api_key import ApiKey
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle, period_start
from ccdesk.core.clock import Clock
from ccdesk.core.history_rest import (
    HistoryError,
    HistoryProblem,
    HistoryRequest,
    HttpGet,
    fetch_page,
    history_url,
    venue_history,
)
from ccdesk.core.pairs import Pair, Source
from ccdesk.core.redaction import redact

log = logging.getLogger(__name__)

DEFAULT_MAX_GAP_S: Final = 86400
"""How far back a backfill looks by default: a day of minutes (the venues' reach is longer; a
day keeps a start-up to a few requests per pair)."""

DEFAULT_MAX_HOUR_GAP_S: Final = 30 * 86400
"""How far back hourly candles are backfilled: the chart's longest range (30 days), so the 7 d and
30 d charts are whole from the first start, not only from the day ccdesk was installed."""

_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
Range = tuple[int, int]
"""Period starts ``[start, end)``."""
Sink = Callable[[Pair, Sequence[Candle], int], None]
"""Where candles go: ``(pair, candles, period_s)``, e.g. ``Store.record_candles``. Must not block long."""
Waiter = Callable[[float], bool]
"""Wait up to ``seconds``; False when the backfill was cancelled meanwhile (``Event.wait`` negated)."""
KeyLookup = Callable[[Source], ApiKey | None]


def missing_ranges(
    starts: Iterable[int], since: float, until: float, period_s: int = MINUTE_S
) -> list[Range]:
    """The periods in ``[since, until)`` with no candle in ``starts``, as ranges, oldest first.

    ``until`` is typically now: the period it falls in is still open and never counts as missing;
    ``since`` is rounded up to a period start.
    """
    first = -(-int(since) // period_s) * period_s
    last = period_start(until, period_s)
    have = sorted({s for s in starts if first <= s < last and s % period_s == 0})
    out: list[Range] = []
    cursor = first
    for s in have:
        if s > cursor:
            out.append((cursor, s))
        cursor = s + period_s
    if cursor < last:
        out.append((cursor, last))
    return out


def coalesce(ranges: Iterable[Range], within_s: int) -> list[Range]:
    """Ranges closer than ``within_s`` joined into one (one request for many small holes; what is
    fetched twice is merged by the store, never duplicated)."""
    out: list[Range] = []
    for lo, hi in sorted(ranges):
        if out and lo - out[-1][1] < within_s:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """How politely a backfill asks.

    Attributes:
        min_interval_s: at least this long between two requests to one host (all pairs together).
            1 s is below every venue's public limit (Kraken's ~1/s public counter is the lowest;
            Coinbase 10/s, OKX candles 20/s, Binance 6000 weight/min) and a day of minutes is 1-5
            pages per pair, so a 20-pair start-up takes well under two minutes per venue.
        max_failures: this many failures in a row on one host and the backfill gives up on it.
        backoff_s: the first delay after a failure without a Retry-After; doubles per failure.
        max_backoff_s: the cap of that delay.
        rate_limited_s: the delay after a 429 that names no Retry-After.
        rest_s: after giving up, the host is left alone this long by every backfill.
    """

    min_interval_s: float = 1.0
    max_failures: int = 5
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    rate_limited_s: float = 10.0
    rest_s: float = 600.0


class HostPacer:
    """Per-host pacing shared by every backfill (thread-safe). Times are the clock's monotonic."""

    def __init__(self, clock: Clock, policy: PacingPolicy | None = None) -> None:
        self._clock = clock
        self.policy = policy or PacingPolicy()
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._resting: dict[str, float] = {}

    def reserve(self, host: str) -> float:
        """Book the next slot on ``host``; returns how long to wait before sending (0 = now)."""
        with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.policy.min_interval_s
            return slot - now

    def hold(self, host: str, seconds: float) -> None:
        """Nobody sends to ``host`` for ``seconds`` (a Retry-After, a backoff)."""
        with self._lock:
            until = self._clock.monotonic() + max(0.0, seconds)
            self._next[host] = max(self._next.get(host, 0.0), until)

    def rest(self, host: str) -> None:
        """``host`` failed too often: every backfill leaves it alone for ``policy.rest_s``."""
        with self._lock:
            self._resting[host] = self._clock.monotonic() + self.policy.rest_s

    def resting(self, host: str) -> bool:
        """Whether ``host`` is being left alone after repeated failures."""
        with self._lock:
            return self._clock.monotonic() < self._resting.get(host, float("-inf"))


class BackfillOutcome(enum.Enum):
    """How a pair's backfill ended."""

    DONE = "done"
    """Every page was answered (``unfilled`` lists what the venue itself has no candles for)."""
    NOTHING_TO_DO = "nothing_to_do"
    """No period was missing within the venue's reach."""
    GAVE_UP = "gave_up"
    """``max_failures`` failures in a row (or the host is resting): the rest is left for later."""
    STOPPED = "stopped"
    """An answer that asking again will not change (``problem``: no key, key refused, pair not
    listed, request refused, no history for the source)."""
    CANCELLED = "cancelled"
    """Cancelled (the app quits, the pair was removed)."""


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """The outcome of one pair's backfill, for the log and a quiet status line; no user words.

    Attributes:
        pair: The pair.
        period_s: The period filled.
        outcome: How it ended.
        asked: The ranges that were missing (and asked for) within the venue's reach.
        unfilled: The periods still missing in ``asked`` afterwards: pages not fetched, and holes
            the venue itself had (no trades, an outage on its side).
        candles: How many candles were handed to the sink.
        requests: How many requests were sent.
        problem: The last problem met, or None.
        detail: Its scrubbed detail, for the log.
    """

    pair: Pair
    period_s: int
    outcome: BackfillOutcome
    asked: tuple[Range, ...] = ()
    unfilled: tuple[Range, ...] = ()
    candles: int = 0
    requests: int = 0
    problem: HistoryProblem | None = None
    detail: str = ""


@dataclass(slots=True)
class _Tally:
    got: set[int] = field(default_factory=set)
    candles: int = 0
    requests: int = 0
    problem: HistoryProblem | None = None
    detail: str = ""


class Backfill:
    """Backfills pairs from their venues' REST history into a sink.

    Args:
        get: The HTTP get (``history_rest.RequestsGet()``; a fake in tests).
        sink: Where candles go (``store.record_candles``).
        clock: ``time()`` for the periods, ``monotonic()`` for pacing.
        pacer: The app's one :class:`HostPacer`.
        wait: Waits (``lambda s: not cancel_event.wait(s)``); False means cancelled.
        key_for: The API key of a keyed source, or None (CryptoCompare, CoinDesk); never logged.
        urls: Base URL overrides by source (the simulator's ``rest_url``, the environment).
        rng: Jitter for the backoff.
    """

    def __init__(
        self,
        get: HttpGet,
        sink: Sink,
        clock: Clock,
        pacer: HostPacer,
        wait: Waiter,
        *,
        key_for: KeyLookup | None = None,
        urls: dict[Source, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._get = get
        self._sink = sink
        self._clock = clock
        self._pacer = pacer
        self._wait = wait
        self._key_for = key_for or (lambda _s: None)
        self._urls = dict(urls or {})
        self._rng = rng or random.Random()

    def fill(
        self,
        pair: Pair,
        stored_starts: Iterable[int],
        *,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        period_s: int = MINUTE_S,
    ) -> BackfillResult:
        """Fill what is missing among ``stored_starts`` over the last ``max_gap_s`` (start-up, and
        after a suspend or an outage: the same call, the holes are found from the store)."""
        now = self._clock.time()
        return self.run(
            pair, missing_ranges(stored_starts, now - max_gap_s, now, period_s), period_s=period_s
        )

    def run(self, pair: Pair, ranges: Sequence[Range], *, period_s: int = MINUTE_S) -> BackfillResult:
        """Fetch ``ranges`` of ``pair`` (clipped to the venue's reach), newest page first; the
        result is logged (one line per pair and period)."""
        result = self._run(pair, ranges, period_s)
        log.info(
            "backfill %s %s: %s, %d candles in %d requests, %d ranges unfilled%s",
            pair,
            "minutes" if period_s == MINUTE_S else "hours",
            result.outcome.value,
            result.candles,
            result.requests,
            len(result.unfilled),
            f" ({result.problem.value}: {result.detail})" if result.problem else "",
        )
        return result

    def _run(self, pair: Pair, ranges: Sequence[Range], period_s: int) -> BackfillResult:
        try:
            venue = venue_history(pair.source)
            base_url = history_url(pair.source, override=self._urls.get(pair.source))
        except HistoryError as exc:
            return BackfillResult(
                pair, period_s, BackfillOutcome.STOPPED, problem=exc.problem, detail=exc.detail
            )
        key = self._key_for(pair.source) if venue.keyed else None
        if venue.keyed and key is None:
            return BackfillResult(pair, period_s, BackfillOutcome.STOPPED, problem=HistoryProblem.NO_KEY)
        now = self._clock.time()
        try:
            within = max(venue.page_size(0, now, period_s) // 4, 1) * period_s
            pages = [
                page
                for lo, hi in reversed(coalesce(ranges, within))
                for page in venue.pages(pair, lo, hi, now, period_s)
            ]
        except HistoryError as exc:
            return BackfillResult(
                pair, period_s, BackfillOutcome.STOPPED, problem=exc.problem, detail=exc.detail
            )
        asked = tuple(_clip(ranges, [(p.start, p.end) for p in pages]))
        if not pages:
            return BackfillResult(pair, period_s, BackfillOutcome.NOTHING_TO_DO)
        host = urllib.parse.urlsplit(base_url).netloc
        tally = _Tally()
        outcome = BackfillOutcome.DONE
        for page in pages:
            outcome = self._page(pair, page, base_url, host, key, tally)
            if outcome is not BackfillOutcome.DONE:
                break
        unfilled = tuple(r for lo, hi in asked for r in missing_ranges(tally.got, lo, hi, period_s))
        return BackfillResult(
            pair,
            period_s,
            outcome,
            asked,
            unfilled,
            tally.candles,
            tally.requests,
            tally.problem,
            tally.detail,
        )

    def _page(
        self, pair: Pair, page: HistoryRequest, base_url: str, host: str, key: ApiKey | None, tally: _Tally
    ) -> BackfillOutcome:
        policy = self._pacer.policy
        failures = 0
        while True:
            if self._pacer.resting(host):
                tally.problem = tally.problem or HistoryProblem.SERVER
                tally.detail = tally.detail or f"{host} is left alone after repeated failures"
                return BackfillOutcome.GAVE_UP
            delay = self._pacer.reserve(host)
            if delay > 0 and not self._wait(delay):
                return BackfillOutcome.CANCELLED
            if not self._wait(0):
                return BackfillOutcome.CANCELLED
            tally.requests += 1
            try:
                candles = fetch_page(self._get, base_url, page, key)
            except HistoryError as exc:
                # A server's words may echo what it was sent: scrubbed of the key and control characters.
                detail = redact(exc.detail, (key.reveal(),) if key is not None else ())
                tally.problem, tally.detail = exc.problem, _UNPRINTABLE.sub(" ", detail)
                if not exc.problem.retryable:
                    return BackfillOutcome.STOPPED
                failures += 1
                if failures >= policy.max_failures:
                    self._pacer.rest(host)
                    return BackfillOutcome.GAVE_UP
                self._pacer.hold(host, self._delay(exc, failures))
                continue
            if candles:
                self._sink(pair, candles, page.period_s)
                tally.candles += len(candles)
                tally.got.update(c.start for c in candles)
            return BackfillOutcome.DONE

    def _delay(self, exc: HistoryError, failures: int) -> float:
        policy = self._pacer.policy
        if exc.retry_after_s is not None:
            return exc.retry_after_s
        if exc.problem is HistoryProblem.RATE_LIMITED:
            return float(policy.rate_limited_s * 2.0 ** (failures - 1))
        ceiling = min(policy.max_backoff_s, policy.backoff_s * 2.0 ** (failures - 1))
        return self._rng.uniform(ceiling / 2, ceiling)


def _clip(ranges: Sequence[Range], pages: Sequence[Range]) -> list[Range]:
    """The parts of ``ranges`` that ``pages`` cover (what was actually asked for), oldest first."""
    out: list[Range] = []
    for lo, hi in sorted(ranges):
        for plo, phi in sorted(pages):
            a, b = max(lo, plo), min(hi, phi)
            if a < b:
                if out and out[-1][1] == a:
                    out[-1] = (out[-1][0], b)
                else:
                    out.append((a, b))
    return out


class SuspendDetector:
    """Notices a suspend/resume (or a wall clock that stepped forward): wall time advanced more
    than monotonic time (which stands still while the machine sleeps) since the last check.

    Call :meth:`check` now and then (every few seconds, from any one thread); a jump of more than
    ``threshold_s`` is a gap in the live candles, time to backfill.
    """

    def __init__(self, clock: Clock, threshold_s: float = 60.0) -> None:
        self._clock = clock
        self.threshold_s = threshold_s
        self._offset = clock.time() - clock.monotonic()

    def check(self) -> float | None:
        """Seconds the wall clock jumped ahead since the last check, when more than the threshold."""
        offset = self._clock.time() - self._clock.monotonic()
        jumped, self._offset = offset - self._offset, offset
        return jumped if jumped > self.threshold_s else None


StoredStarts = Callable[[Pair, int, float], Sequence[Candle]]
"""``(pair, period_s, since) -> candles``, e.g. ``Store.candles``: read on the job's thread."""


class BackfillRunner:
    """What the app builds once (the composition root): jobs for the Qt jobs pool that backfill
    pairs from what the store is missing. One pair is never backfilled by two jobs at once.

    A pair's minutes (the last ``max_gap_s``) come first, its hours (the last ``max_hour_gap_s``;
    the last day's hours are already there, rolled up from the minutes) after every pair's minutes:
    the sparklines and the recent chart need the minutes. ``hours_next`` says whether a pair's
    hours are still to be asked for: not when the venue stopped its minutes (no key, a refused key,
    a pair it does not list, no history at all), as asking again would get the same answer.

    Args:
        backfill: The :class:`Backfill` (its sink is the store's ``record_candles``).
        stored: Reads a pair's stored candles (``store.candles``); blocks on the disk, so it is
            called inside the job, never on the GUI thread.
        clock: Wall time for the gap.
        cancel: Set when the app quits: a running job stops at its next wait.
        max_gap_s: How far back to look for minutes (default a day).
        max_hour_gap_s: How far back to look for hours (default 30 days; 0: no hours).
    """

    def __init__(
        self,
        backfill: Backfill,
        stored: StoredStarts,
        clock: Clock,
        cancel: threading.Event,
        *,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        max_hour_gap_s: float = DEFAULT_MAX_HOUR_GAP_S,
    ) -> None:
        self._backfill = backfill
        self._stored = stored
        self._clock = clock
        self._cancel = cancel
        self.max_gap_s = max_gap_s
        self.max_hour_gap_s = max_hour_gap_s
        self._lock = threading.Lock()
        self._busy: set[Pair] = set()

    def jobs(self, pairs: Iterable[Pair]) -> dict[Source, Callable[[], tuple[BackfillResult, ...]]]:
        """One job per source (so venues are fetched side by side, each at its own host's pace),
        each backfilling its pairs one after the other. Run each with ``BackgroundJobs.run``."""
        by_source: dict[Source, list[Pair]] = {}
        for pair in dict.fromkeys(pairs):
            by_source.setdefault(pair.source, []).append(pair)
        return {source: self._job(tuple(group)) for source, group in by_source.items()}

    def _job(self, pairs: tuple[Pair, ...]) -> Callable[[], tuple[BackfillResult, ...]]:
        def run() -> tuple[BackfillResult, ...]:
            minutes = [r for pair in pairs if (r := self.run_pair(pair)) is not None]
            hours = [r for m in minutes if self.hours_next(m) and (r := self.run_pair(m.pair, HOUR_S))]
            return (*minutes, *hours)

        return run

    def hours_next(self, minutes: BackfillResult) -> bool:
        """Whether the pair of this minutes' result still has its hours to backfill."""
        return (
            minutes.period_s == MINUTE_S
            and self.max_hour_gap_s > 0
            and minutes.outcome is not BackfillOutcome.STOPPED
        )

    def run_pair(self, pair: Pair, period_s: int = MINUTE_S) -> BackfillResult | None:
        """Backfill one pair's minutes (or hours) now (blocking); None when cancelled before it
        began or when another job is already on it."""
        if self._cancel.is_set():
            return None
        with self._lock:
            if pair in self._busy:
                return None
            self._busy.add(pair)
        try:
            max_gap_s = self.max_gap_s if period_s == MINUTE_S else self.max_hour_gap_s
            return self._fill(pair, period_s, max_gap_s)
        finally:
            with self._lock:
                self._busy.discard(pair)

    def _fill(self, pair: Pair, period_s: int, max_gap_s: float) -> BackfillResult:
        since = self._clock.time() - max_gap_s
        starts = [c.start for c in self._stored(pair, period_s, since)]
        return self._backfill.fill(pair, starts, max_gap_s=max_gap_s, period_s=period_s)
