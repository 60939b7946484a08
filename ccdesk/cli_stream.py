"""``ccdesk stream``: prices of one or more sources to stdout, one connection (and one thread) per
source, the composite prices computed here; text lines or jsonl. The argument parsing is ``cli``'s.

Every source runs on its own: a source that is down, refused or without its key never stops the
others. The run ends when every source has ended (a rejected key, a stop), when nothing is left to
stream (every pair asked for refused, or its source ended: exit 5), or at ``--count``,
``--duration``, a signal or a closed pipe.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import Alert, MoveRule, RuleError
from ccdesk.core.api_key import ApiKey
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import SystemClock
from ccdesk.core.composite import COMPOSITE_VENUES, CompositeBook, members, refused_composites, subscriptions
from ccdesk.core.endpoints import stream_url
from ccdesk.core.events import (
    PriceArrived,
    QuotesChanged,
    Reason,
    ServerNotice,
    State,
    Status,
    StreamEvent,
    SubRejected,
)
from ccdesk.core.formatting import format_pct, format_price
from ccdesk.core.pairs import NOT_STREAMED, SOURCE_TITLES, Pair, PairError, Source, parse_pair, parse_source
from ccdesk.core.quotes import Quote
from ccdesk.core.redaction import install_redaction, redact
from ccdesk.core.sources import source_info
from ccdesk.core.stream import StreamClient, StreamConfig
from ccdesk.core.urls import UrlError, check_url
from ccdesk.core.wire import Refusal
from ccdesk.wording import (
    alert_body,
    alert_title,
    nothing_to_stream_words,
    notice_words,
    reason_words,
    refusal_words,
    status_words,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_KEY_REJECTED, EXIT_NO_KEY, EXIT_NOTHING = 0, 1, 2, 3, 4, 5


class UsageError(Exception):
    """Bad command-line input; exits 2 with the message."""


@dataclass(frozen=True, slots=True)
class Feed:
    """One source to stream: where, with which key, which pairs (and which of them are the user's:
    the others are streamed only for a composite price)."""

    source: Source
    url: str
    key: ApiKey | None
    pairs: tuple[Pair, ...]
    watched: frozenset[Pair]


KeyFor = Callable[[Source], "ApiKey | None"]
"""The key a source needs (None: none anywhere); raises ``NoKey`` when it cannot be read, and
UsageError for a malformed one."""


class NoKey(Exception):
    """The key could not be read (no keyring...); ``str(err)`` says why in plain words."""


def parse_pairs(texts: Sequence[str], default: Source) -> list[Pair]:
    """The pairs of the command line (a bare ``BTC-USD`` is ``default``'s)."""
    pairs: list[Pair] = []
    for text in texts:
        try:
            pair = parse_pair(text, default)
        except PairError as exc:
            raise UsageError(str(exc)) from None
        if pair.source is Source.PORTFOLIO:
            raise UsageError(
                f"{text!r}: the portfolio's total is for alert rules in the app; it is not streamed"
            )
        pairs.append(pair)
    return list(dict.fromkeys(pairs))


def parse_url_flags(values: Sequence[str]) -> dict[Source, str]:
    """``--url SOURCE=URL`` (repeatable) as a map."""
    urls: dict[Source, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url.strip():
            raise UsageError(f"--url {value!r}: write SOURCE=URL, e.g. kraken=wss://ws.kraken.com/v2")
        try:
            source = parse_source(name)
        except PairError as exc:
            raise UsageError(f"--url: {exc}") from None
        if source is Source.COMPOSITE:
            raise UsageError("--url: composite is computed from the other sources, not streamed")
        if source is Source.PORTFOLIO:
            raise UsageError("--url: portfolio is the holdings' total in the app, not streamed")
        urls[source] = url.strip()
    return urls


def plan_feeds(
    pairs: Sequence[Pair],
    *,
    urls: Mapping[Source, str],
    env: Mapping[str, str],
    key_for: KeyFor,
    stream_url_flag: str | None = None,
) -> tuple[list[Feed], dict[Source, str | None]]:
    """The feeds to run, and the sources left out for want of a key (with why it could not be
    read, if that is the reason).

    Raises:
        UsageError: a bad endpoint (plain ``ws://`` to another machine for a source that needs a key).
    """
    feeds: list[Feed] = []
    keyless: dict[Source, str | None] = {}
    watched = frozenset(pairs)
    for source, subs in subscriptions(pairs, COMPOSITE_VENUES).items():
        info = source_info(source)
        flag = urls.get(source) or (stream_url_flag if source is Source.CRYPTOCOMPARE else None)
        url = stream_url(source, flag=flag, env=env)
        try:
            url = check_url(
                url, what=f"The {SOURCE_TITLES[source]} URL", schemes=("ws", "wss"), sends_key=info.needs_key
            )
        except UrlError as exc:
            raise UsageError(redact(str(exc))) from None
        key: ApiKey | None = None
        if info.needs_key:
            try:
                key = key_for(source)
            except NoKey as exc:
                keyless[source] = str(exc)
                continue
            if key is None:
                keyless[source] = None
                continue
        feeds.append(Feed(source, url, key, subs, watched))
    return feeds, keyless


class Printer:
    """Turns events into lines (text or jsonl). Called from every source's thread: one lock."""

    def __init__(self, out: IO[str], fmt: str, quiet: bool, *, demo: bool = False) -> None:
        self._out = out
        self._jsonl = fmt == "jsonl"
        self._quiet = quiet
        self._demo = demo
        self.lock = threading.Lock()

    def _source(self, source: Source) -> str:
        # Simulated prices are labelled wherever they appear: "demo:kraken".
        return f"demo:{source.value}" if self._demo else source.value

    def _json(self, obj: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(obj).decode() + "\n")
        self._out.flush()

    def _err(self, text: str) -> None:
        print(f"ccdesk: {text}", file=sys.stderr, flush=True)

    def quote(self, q: Quote) -> None:
        if self._quiet:
            return
        if self._jsonl:
            obj: dict[str, Any] = {
                "kind": "quote",
                "source": self._source(q.sub.source),
                "sub": str(q.sub),
                "market": q.sub.market,
                "base": q.sub.base,
                "quote": q.sub.quote,
                "price": q.price,
                "change_24h": q.change_24h,
                "change_pct_24h": q.change_pct_24h,
                "open_24h": q.open_24h,
                "high_24h": q.high_24h,
                "low_24h": q.low_24h,
                "volume_24h": q.volume_24h,
                "last_market": q.last_market,
                "last_update": q.last_update,
                # The direction of the last price change (decoded from FLAGS bits 1/2/4, or
                # from consecutive trades), not the FLAGS bitmask itself.
                "direction": None if q.direction is None else q.direction.value,
            }
            if q.last_side is not None:
                obj.update(quantity=q.last_quantity, side=q.last_side.value)
            if q.sub.source is Source.COMPOSITE:
                obj["venues"] = [s.value for s in q.basis]
            self._json(obj)
            return
        price = "—" if q.price is None else format_price(q.price)
        if q.last_side is not None:  # a trade: no 24 h open on this channel; show the trade itself
            qty = "" if q.last_quantity is None else f"{q.last_quantity:g}"
            tail = f"{q.last_side.value:>4} {qty}"
        else:
            tail = f"{format_pct(q.change_pct_24h):>8} 24h"
        if q.sub.source is Source.COMPOSITE:
            tail += f"  median of {len(q.basis)}"
        label = q.sub.label + (" (demo)" if self._demo else "")
        self._out.write(f"{label:<28} {price:>14}  {tail}\n")
        self._out.flush()

    def status(self, source: Source, s: Status) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "status",
                    "source": self._source(source),
                    "state": s.state.value,
                    "detail": reason_words(s),
                    "reason": s.reason.value,
                    "retry_in_s": None if s.retry_in_s is None else round(s.retry_in_s, 3),
                }
            )
        else:
            self._err(f"{self._source(source)}: {status_words(s)}")

    def sub_error(self, e: SubRejected) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "sub_error",
                    "source": self._source(e.sub.source),
                    "sub": str(e.sub),
                    "reason": e.reason,
                    "refusal": e.refusal.value,
                    "info": e.info,
                    "detail": refusal_words(e),
                }
            )
        else:
            self._err(f"{e.sub}: {refusal_words(e)}")

    def notice(self, source: Source, n: ServerNotice) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "notice",
                    "source": self._source(source),
                    "notice": n.kind.value,
                    "message": n.message,
                    "limit": n.limit,
                    "info": n.info,
                    "detail": notice_words(n),
                }
            )
        else:
            self._err(f"{self._source(source)}: {notice_words(n)}")

    def alert(self, a: Alert) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "alert",
                    "source": self._source(a.sub.source),
                    "sub": str(a.sub),
                    "direction": a.direction.value,
                    "change_pct": a.change_pct,
                    "from_price": a.from_price,
                    "to_price": a.to_price,
                    "window_s": a.window_s,
                }
            )
        else:
            demo = " (demo)" if self._demo else ""
            self._out.write(f"ALERT{demo} {alert_title(a)}: {alert_body(a)}\n")
            self._out.flush()


class Run:
    """Every feed on its own thread; composite prices and their alerts under the printer's lock."""

    def __init__(self, feeds: Sequence[Feed], printer: Printer, args: argparse.Namespace) -> None:
        self._printer = printer
        self._args = args
        self._count: int | None = args.count
        self._tally = itertools.count(1)  # prices counted for --count, over every source
        self._finish_after_print = False
        self.done = threading.Event()
        self.pipe_closed = False
        self.errors: list[str] = []
        self.states: dict[Source, State] = {}
        self.nothing_left = False
        """Every pair asked for was refused, or its source ended: the run ended for want of pairs."""
        self._printed: dict[Pair, float | None] = {}
        self._live_since: dict[Source, float] = {}
        pairs = feeds[0].watched if feeds else frozenset()
        self._composites = [p for p in pairs if p.source is Source.COMPOSITE]
        self.asked = tuple(sorted(pairs, key=str))
        self._refused: set[Pair] = set()  # venue pairs refused: the user's and those behind a composite
        self._streaming = {feed.source for feed in feeds}  # the sources whose threads still run
        self._stopping = False
        self._book = CompositeBook()
        self._book.watch(self._composites)
        rules = (
            [MoveRule(pct=args.alert_pct, window_s=args.alert_window)] if args.alert_pct is not None else []
        )
        clock = SystemClock()
        self._composite_alerts = AlertFeed(rules, clock) if rules else None
        self._clients: list[tuple[Feed, StreamClient, AlertFeed | None]] = []
        backoff = BackoffPolicy(min_s=args.reconnect_min_s, max_s=args.reconnect_max_s)
        for feed in feeds:
            config = StreamConfig(
                url=feed.url,
                dialect=_dialect(feed.source),
                backoff=backoff,
                silence_timeout_s=args.silence_timeout_s,
                # Every change, uncoalesced, for the printed lines; --quiet prints none (no snapshots)
                # unless a composite needs them.
                coalesce_s=None if args.quiet and not self._composites else 0.0,
            )
            feed_alerts = AlertFeed(rules, clock, feed.watched) if rules else None
            client = StreamClient(feed.key, feed.pairs, self._handler(feed, feed_alerts), config)
            self._clients.append((feed, client, feed_alerts))
        self._running = len(self._clients)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for feed, client, _ in self._clients:
            name = f"ccdesk-stream-{feed.source.value}"
            thread = threading.Thread(target=self._runner, args=(feed, client), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop every source; wait at most ``timeout_s`` in all for their threads."""
        self._stopping = True
        for _, client, _ in self._clients:
            client.stop()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _runner(self, feed: Feed, client: StreamClient) -> None:
        state = State.STOPPED
        try:
            state = client.run()
        except Exception as exc:
            log.debug("stream thread failed", exc_info=True)
            self.errors.append(redact(f"{feed.source.value}: {type(exc).__name__}: {exc}"))
        finally:
            with self._printer.lock:
                self.states[feed.source] = state
                self._streaming.discard(feed.source)
                self._running -= 1
                if self._running <= 0:
                    self.done.set()
                else:
                    self._check_left()

    def _finish(self) -> None:
        self._stopping = True
        self.done.set()
        for _, client, _ in self._clients:
            client.stop()

    def _left_out(self, pair: Pair) -> bool:
        """True if ``pair`` can no longer stream: refused, or its source not (or no longer) running;
        a composite when every venue pair behind it is."""
        if pair.source is Source.COMPOSITE:
            return all(self._left_out(m) for m in members(pair, COMPOSITE_VENUES))
        return pair in self._refused or pair.source not in self._streaming

    def _check_left(self) -> None:
        """End the run once no pair asked for can stream (under the printer's lock)."""
        if self._stopping or self.done.is_set():
            return
        if all(self._left_out(p) for p in self.asked):
            self.nothing_left = True
            self._finish()

    def _handler(self, feed: Feed, alerts: AlertFeed | None) -> Callable[[StreamEvent], None]:
        printer = self._printer
        source = feed.source
        watched = feed.watched
        counted = self._counted

        def on_event(ev: StreamEvent) -> None:
            try:
                if type(ev) is PriceArrived:
                    # Every frame's event, so without the printer's lock (speed): a price prints
                    # nothing itself (lines come with QuotesChanged), only the alerts it fires, under
                    # the lock; this feed's alerts are its thread's alone; the tally is lock-free.
                    if alerts is not None:
                        fired = alerts.on_event(ev)
                        if fired:
                            with printer.lock:
                                for alert in fired:
                                    printer.alert(alert)
                    if ev.changed and ev.sub in watched:
                        counted()
                    return
                with printer.lock:
                    self._on_event(source, watched, alerts, ev)
            except BrokenPipeError:
                self.pipe_closed = True
                self._finish()

        return on_event

    def _on_event(
        self, source: Source, watched: frozenset[Pair], alerts: AlertFeed | None, ev: StreamEvent
    ) -> None:
        printer = self._printer
        if alerts is not None:
            for alert in alerts.on_event(ev):
                printer.alert(alert)
        t = type(ev)
        if t is QuotesChanged:
            assert isinstance(ev, QuotesChanged)
            for q in ev.quotes:
                if q.sub in watched:
                    self._print(q)
            if self._refused:  # a pair shown as sending no price (Refusal.SILENT) that now does
                self._refused.difference_update(q.sub for q in ev.quotes if q.price is not None)
            if self._composites:
                now = time.monotonic()
                for c in self._book.update(ev.quotes, self._live_since, now):
                    self._on_composite(c)
            if self._finish_after_print:
                self._finish()
        elif t is Status:
            assert isinstance(ev, Status)
            if ev.state is State.CONNECTED and ev.at is not None:
                self._live_since[source] = ev.at
            else:
                self._live_since.pop(source, None)
            printer.status(source, ev)
            if self._composites and not self.done.is_set():
                for c in self._book.refresh(self._live_since, time.monotonic()):
                    self._on_composite(c)
        elif t is SubRejected:
            assert isinstance(ev, SubRejected)
            if ev.sub in watched:
                printer.sub_error(ev)
            self._refused.add(ev.sub)
            for composite in refused_composites(self._composites, COMPOSITE_VENUES, self._refused, ev.sub):
                printer.sub_error(SubRejected(composite, "NOT_LISTED", None, Refusal.NOT_LISTED))
            self._check_left()
        elif t is ServerNotice:
            assert isinstance(ev, ServerNotice)
            printer.notice(source, ev)

    def _on_composite(self, q: Quote) -> None:
        if q.price is None or not q.basis:
            return
        before = self._printed.get(q.sub)
        self._print(q)
        if before != q.price:
            self._counted()
            if self._composite_alerts is not None:
                for alert in self._composite_alerts.on_event(PriceArrived(q.sub, q.price, True)):
                    self._printer.alert(alert)
            if self._finish_after_print:
                self._finish()

    def _print(self, q: Quote) -> None:
        if q.price is not None and self._printed.get(q.sub) != q.price:
            self._printed[q.sub] = q.price
            self._printer.quote(q)

    def _counted(self) -> None:
        # Called from every source's thread, a price's own without the lock: next() of an
        # itertools.count is one atomic step under the GIL, so no count is lost.
        if self._count is not None and next(self._tally) >= self._count:
            # The quote that reached the count is printed by the QuotesChanged that follows this
            # frame at once (coalesce_s=0); without lines, stop now.
            self._finish_after_print = True
            if self._args.quiet:
                self._finish()


def _dialect(source: Source) -> Any:
    from ccdesk.core.sources import dialect_for

    return dialect_for(source)


def check_alert_args(args: argparse.Namespace) -> None:
    if args.alert_pct is not None:
        try:
            MoveRule(pct=args.alert_pct, window_s=args.alert_window)
        except RuleError as exc:
            raise UsageError(str(exc)) from None


def no_key_words(missing: Mapping[Source, str | None]) -> str:
    """One line for the sources left out for want of a key, with the keyring's problem if any."""
    names = " and ".join(SOURCE_TITLES[s] for s in missing)
    why = next((w for w in missing.values() if w), None)
    return (
        f"no API key for {names}{f' ({why})' if why else ''}: run `ccdesk key set`, set "
        "CCDESK_API_KEY (CoinDesk Data: CCDESK_COINDESK_API_KEY), use a keyless source (kraken, "
        "coinbase, binance, okx), or try the simulator with `ccdesk stream --demo BTC-USD`"
    )


def run_stream(args: argparse.Namespace, key_for: KeyFor, install_signals: Callable[..., Any]) -> int:
    """The whole ``stream`` command once the arguments are parsed (``cli`` maps UsageError to 2)."""
    default = parse_source(args.source) if args.source else Source.KRAKEN
    pairs = parse_pairs(args.subs, default)
    if args.reconnect_max_s < args.reconnect_min_s:
        raise UsageError("--reconnect-max-s must be >= --reconnect-min-s")
    check_alert_args(args)
    urls = parse_url_flags(args.urls or [])
    sim = None
    try:
        if args.demo:
            from ccdesk.sim import start_demo

            sim = start_demo()
            demo_key = ApiKey(sim.key)
            feeds, missing = plan_feeds(
                pairs,
                urls={s: sim.url(s) for s in Source if s not in NOT_STREAMED},
                env={},
                key_for=lambda _s: demo_key,
            )
        else:
            if args.rest_url:
                try:
                    check_url(args.rest_url, what="The --rest-url", schemes=("http", "https"), sends_key=True)
                except UrlError as exc:
                    raise UsageError(redact(str(exc))) from None
            feeds, missing = plan_feeds(
                pairs, urls=urls, env=os.environ, key_for=key_for, stream_url_flag=args.stream_url
            )
        printer = Printer(sys.stdout, args.format, args.quiet, demo=sim is not None)
        if missing:
            print(f"ccdesk: {no_key_words(missing)}", file=sys.stderr, flush=True)
            if args.format == "jsonl":  # a reader of the lines learns it too
                for source in missing:
                    printer.status(source, Status(State.STOPPED, Reason.NO_KEY))
        if not feeds:
            return EXIT_NO_KEY
        keys = tuple(f.key.reveal() for f in feeds if f.key is not None)
        install_redaction(logging.getLogger(), lambda: keys)
        return _run(feeds, printer, args, install_signals)
    finally:
        if sim is not None:
            sim.stop()


def _run(
    feeds: Sequence[Feed], printer: Printer, args: argparse.Namespace, install_signals: Callable[..., Any]
) -> int:
    run = Run(feeds, printer, args)
    restore = install_signals(run.done)
    try:
        run.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not run.done.is_set():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            run.done.wait(0.5 if remaining is None else min(0.5, remaining))
    finally:
        run.stop(2.0)
        restore()
    if run.pipe_closed:
        return -1  # the caller quiets stdout
    if run.errors:
        print(f"ccdesk: the stream failed: {'; '.join(run.errors)}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    rejected = [s for s, state in run.states.items() if state is State.AUTH_FAILED]
    if rejected:
        names = " and ".join(SOURCE_TITLES[s] for s in rejected)
        print(
            f"ccdesk: the API key was rejected by {names}; check it with `ccdesk key verify`",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_KEY_REJECTED
    if run.nothing_left:
        print(f"ccdesk: {nothing_to_stream_words(run.asked)}", file=sys.stderr, flush=True)
        return EXIT_NOTHING
    return EXIT_OK
