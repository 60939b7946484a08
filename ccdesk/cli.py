"""Command line: argument parsing and the headless commands (``stream``, ``sim``, ``key``).

Exit codes: 0 done or interrupted, 1 anything else, 2 usage error, 3 key rejected, 4 no key.
Errors go to stderr in plain words; never a traceback, never the key.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

import orjson

from ccdesk import __version__
from ccdesk.core.alert_feed import AlertFeed
from ccdesk.core.alerts import Alert, MoveRule, RuleError
from ccdesk.core.api_key import ENV_API_KEY, ApiKey, InvalidApiKey, KeySource
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.clock import SystemClock
from ccdesk.core.events import (
    PriceArrived,
    QuotesChanged,
    ServerNotice,
    State,
    Status,
    StreamEvent,
    SubRejected,
)
from ccdesk.core.formatting import format_pct, format_price
from ccdesk.core.identity import DEFAULT_REST_URL, DEFAULT_STREAM_URL
from ccdesk.core.key_check import KeyStatus
from ccdesk.core.pairs import Pair, PairError, parse_pair
from ccdesk.core.quotes import Quote
from ccdesk.core.redaction import install_redaction, redact
from ccdesk.core.rest import check_key
from ccdesk.core.secrets import SecretsError, SecretStore, resolve_key
from ccdesk.core.stream import StreamClient, StreamConfig
from ccdesk.core.urls import UrlError, check_url
from ccdesk.wording import alert_body, alert_title, key_check_words, notice_words, reason_words, status_words

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_KEY_REJECTED, EXIT_NO_KEY = 0, 1, 2, 3, 4


class UsageError(Exception):
    """Bad command-line input; exits 2 with the message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit 2 itself; keep it, plain words
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive(kind: type[float] | type[int], *, allow_zero: bool = False) -> Callable[[str], Any]:
    def conv(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>= 0' if allow_zero else '> 0'}")
        return value

    return conv


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ccdesk", description="Live crypto prices from the CryptoCompare streamer.")
    parser.add_argument("--version", action="version", version=f"ccdesk {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")
    parser.add_argument(
        "--demo", dest="app_demo", action="store_true", help="run the app on the built-in simulator"
    )
    parser.add_argument("--background", action="store_true", help="start hidden in the system tray")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="run the app offscreen on the built-in simulator, report what works, and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("stream", help="stream prices to stdout until stopped")
    s.add_argument(
        "subs", nargs="+", metavar="SUB", help="TYPE~MARKET~BASE~QUOTE (e.g. 5~CCCAGG~BTC~USD) or BTC-USD"
    )
    s.add_argument(
        "--demo", action="store_true", help="use the embedded simulator on loopback (no key, no network)"
    )
    s.add_argument(
        "--stream-url",
        default=os.environ.get("CCDESK_STREAM_URL"),
        help="streamer URL (env CCDESK_STREAM_URL)",
    )
    s.add_argument(
        "--rest-url", default=os.environ.get("CCDESK_REST_URL"), help="min-api base URL (env CCDESK_REST_URL)"
    )
    s.add_argument("--format", choices=("text", "jsonl"), default="text")
    s.add_argument("--quiet", action="store_true", help="no per-update lines")
    s.add_argument("--count", type=_positive(int), help="exit 0 after N quote updates")
    s.add_argument("--duration", type=_positive(float), metavar="S", help="exit 0 after S seconds")
    defaults = BackoffPolicy()
    s.add_argument("--reconnect-min-s", type=_positive(float), default=defaults.min_s)
    s.add_argument("--reconnect-max-s", type=_positive(float), default=defaults.max_s)
    s.add_argument("--silence-timeout-s", type=_positive(float), default=StreamConfig().silence_timeout_s)
    s.add_argument(
        "--alert-pct", type=_positive(float), metavar="P", help="alert on a move of P %% within the window"
    )
    s.add_argument(
        "--alert-window",
        type=_positive(float),
        default=300.0,
        metavar="S",
        help="alert window (default 300 s)",
    )

    m = sub.add_parser("sim", help="run the market simulator on loopback")
    m.add_argument("--port", type=_positive(int, allow_zero=True), default=0)
    m.add_argument(
        "--key", action="append", dest="keys", metavar="KEY", help="accept only this key (repeatable)"
    )
    m.add_argument(
        "--rate", type=_positive(float), default=5.0, help="update frames per second per connection"
    )
    m.add_argument("--seed", type=int, default=0)

    k = sub.add_parser("key", help="manage the API key in the OS keyring")
    ks = k.add_subparsers(dest="key_command", metavar="ACTION", parser_class=_Parser, required=True)
    kset = ks.add_parser("set", help="store a key (read from stdin, or a hidden prompt)")
    kset.add_argument("--no-verify", action="store_true", help="store without checking it against the server")
    kverify = ks.add_parser("verify", help="check the key against the server")
    for p in (kset, kverify):
        p.add_argument("--rest-url", default=os.environ.get("CCDESK_REST_URL"), help="min-api base URL")
    ks.add_parser("status", help="where the key comes from (masked)")
    ks.add_parser("delete", help="remove the key from the keyring")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.self_test:
            from ccdesk.selftest import run_self_test

            return run_self_test(sys.stdout)
        if args.command == "stream":
            return _cmd_stream(args)
        if args.command == "sim":
            return _cmd_sim(args)
        if args.command == "key":
            return _cmd_key(args)
        return _cmd_app(args)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        _err(f"unexpected error: {redact(str(exc)) or type(exc).__name__}")
        return EXIT_ERROR


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_redaction(root)


def _err(message: str) -> None:
    print(f"ccdesk: {message}", file=sys.stderr, flush=True)


def _quiet_stdout() -> None:
    # After a broken pipe, make the interpreter's final flush of stdout silent.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


# --- the desktop app ----------------------------------------------------------------------------


def _cmd_app(args: argparse.Namespace) -> int:
    try:
        from ccdesk.app import run_app
    except ImportError as exc:  # e.g. Qt's system libraries are missing
        _err(f"the desktop app cannot start: {exc}")
        return EXIT_ERROR
    return run_app(demo=args.app_demo, background=args.background)


# --- stream -------------------------------------------------------------------------------------


def _parse_subs(texts: Sequence[str]) -> list[Pair]:
    subs: list[Pair] = []
    for text in texts:
        try:
            subs.append(parse_pair(text))
        except PairError as exc:
            raise UsageError(str(exc)) from None
    return subs


def _check_url(url: str, what: str, schemes: tuple[str, ...]) -> str:
    try:
        return check_url(url, what=what, schemes=schemes, sends_key=True)
    except UrlError as exc:
        raise UsageError(redact(str(exc))) from None


def _resolve_stream_key() -> ApiKey:
    try:
        resolved = resolve_key(os.environ, SecretStore())
    except InvalidApiKey as exc:
        raise UsageError(str(exc)) from None
    except SecretsError as exc:
        _err(f"no API key available: {exc}; or try the simulator with `ccdesk stream --demo BTC-USD`")
        raise _Exit(EXIT_NO_KEY) from None
    if resolved is None:
        _err(
            f"no API key: run `ccdesk key set`, set {ENV_API_KEY}, "
            "or try the simulator with `ccdesk stream --demo BTC-USD`"
        )
        raise _Exit(EXIT_NO_KEY)
    return resolved.key


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Printer:
    """Turns stream events into lines (text or jsonl). Runs on the stream thread."""

    def __init__(self, out: IO[str], fmt: str, quiet: bool) -> None:
        self._out = out
        self._jsonl = fmt == "jsonl"
        self._quiet = quiet

    def _json(self, obj: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(obj).decode() + "\n")
        self._out.flush()

    def quote(self, q: Quote) -> None:
        if self._quiet:
            return
        if self._jsonl:
            self._json(
                {
                    "kind": "quote",
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
                    **({"quantity": q.last_quantity, "side": q.last_side.value} if q.last_side else {}),
                }
            )
        else:
            price = "—" if q.price is None else format_price(q.price)
            if q.last_side is not None:  # a trade: no 24 h open on this channel; show the trade itself
                qty = "" if q.last_quantity is None else f"{q.last_quantity:g}"
                tail = f"{q.last_side.value:>4} {qty}"
            else:
                tail = f"{format_pct(q.change_pct_24h):>8} 24h"
            self._out.write(f"{q.sub.label:<24} {price:>14}  {tail}\n")
            self._out.flush()

    def status(self, s: Status) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "status",
                    "state": s.state.value,
                    "detail": reason_words(s),
                    "reason": s.reason.value,
                    "retry_in_s": None if s.retry_in_s is None else round(s.retry_in_s, 3),
                }
            )
        else:
            print(f"ccdesk: {status_words(s)}", file=sys.stderr, flush=True)

    def sub_error(self, e: SubRejected) -> None:
        if self._jsonl:
            self._json({"kind": "sub_error", "sub": str(e.sub), "reason": e.reason, "info": e.info})
        else:
            print(
                f"ccdesk: {e.sub} rejected by the server ({e.reason}): {e.info or ''}",
                file=sys.stderr,
                flush=True,
            )

    def notice(self, n: ServerNotice) -> None:
        if self._jsonl:
            self._json(
                {
                    "kind": "notice",
                    "notice": n.kind.value,
                    "message": n.message,
                    "limit": n.limit,
                    "info": n.info,
                    "detail": notice_words(n),
                }
            )
        else:
            print(f"ccdesk: {notice_words(n)}", file=sys.stderr, flush=True)

    def alert(self, a: Alert) -> None:
        direction = a.direction.value
        if self._jsonl:
            self._json(
                {
                    "kind": "alert",
                    "sub": str(a.sub),
                    "direction": direction,
                    "change_pct": a.change_pct,
                    "from_price": a.from_price,
                    "to_price": a.to_price,
                    "window_s": a.window_s,
                }
            )
        else:
            self._out.write(f"ALERT {alert_title(a)}: {alert_body(a)}\n")
            self._out.flush()


def _cmd_stream(args: argparse.Namespace) -> int:
    subs = _parse_subs(args.subs)
    if args.reconnect_max_s < args.reconnect_min_s:
        raise UsageError("--reconnect-max-s must be >= --reconnect-min-s")
    feed: AlertFeed | None = None
    if args.alert_pct is not None:
        try:
            feed = AlertFeed([MoveRule(pct=args.alert_pct, window_s=args.alert_window)], SystemClock())
        except RuleError as exc:
            raise UsageError(str(exc)) from None

    sim = None
    try:
        if args.demo:
            from ccdesk.sim import start_demo

            sim = start_demo()
            url = sim.stream_url
            key = ApiKey(sim.key)
        else:
            url = _check_url(args.stream_url or DEFAULT_STREAM_URL, "--stream-url", ("ws", "wss"))
            if args.rest_url:
                _check_url(args.rest_url, "--rest-url", ("http", "https"))
            key = _resolve_stream_key()
        return _run_stream(args, subs, url, key, feed)
    except _Exit as e:
        return e.code
    finally:
        if sim is not None:
            sim.stop()


def _run_stream(
    args: argparse.Namespace, subs: list[Pair], url: str, key: ApiKey, feed: AlertFeed | None
) -> int:
    # Beyond the api_key=/Apikey forms, scrub the literal key from every log record.
    install_redaction(logging.getLogger(), lambda: (key.reveal(),))
    printer = _Printer(sys.stdout, args.format, args.quiet)
    config = StreamConfig(
        url=url,
        backoff=BackoffPolicy(min_s=args.reconnect_min_s, max_s=args.reconnect_max_s),
        silence_timeout_s=args.silence_timeout_s,
        # Every change, uncoalesced, for the printed lines; --quiet prints none and skips the snapshots.
        coalesce_s=None if args.quiet else 0.0,
    )
    done = threading.Event()
    outcome: dict[str, Any] = {"updates": 0, "state": None, "error": None}
    count = args.count
    printed: dict[Pair, float | None] = {}
    finish_after_print = False
    client: StreamClient

    def finish() -> None:
        done.set()
        client.stop()

    def on_event(ev: StreamEvent) -> None:
        nonlocal finish_after_print
        try:
            if feed is not None:
                for alert in feed.on_event(ev):
                    printer.alert(alert)
            t = type(ev)
            if t is PriceArrived:
                assert isinstance(ev, PriceArrived)
                if ev.changed:
                    outcome["updates"] += 1
                    if count is not None and outcome["updates"] >= count:
                        # The quote that reached the count is printed by the QuotesChanged that
                        # follows this frame at once (coalesce_s=0); without lines, stop now.
                        finish_after_print = True
                        if args.quiet:
                            finish()
            elif t is QuotesChanged:
                assert isinstance(ev, QuotesChanged)
                for q in ev.quotes:
                    if q.price is not None and printed.get(q.sub) != q.price:
                        printed[q.sub] = q.price
                        printer.quote(q)
                if finish_after_print:
                    finish()
            elif isinstance(ev, Status):
                printer.status(ev)
            elif isinstance(ev, SubRejected):
                printer.sub_error(ev)
            elif isinstance(ev, ServerNotice):
                printer.notice(ev)
        except BrokenPipeError:
            outcome["error"] = "pipe"
            finish()

    client = StreamClient(key, subs, on_event, config)

    def runner() -> None:
        try:
            outcome["state"] = client.run()
        except Exception as exc:
            log.debug("stream thread failed", exc_info=True)
            outcome["error"] = redact(f"{type(exc).__name__}: {exc}")
        finally:
            done.set()

    thread = threading.Thread(target=runner, name="ccdesk-stream", daemon=True)
    previous = _install_signal_handlers(done)
    try:
        thread.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not done.is_set():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            done.wait(0.5 if remaining is None else min(0.5, remaining))
    finally:
        client.stop()
        thread.join(2.0)
        _restore_signal_handlers(previous)
    if outcome["error"] == "pipe":
        _quiet_stdout()
        return EXIT_OK
    if outcome["error"]:
        _err(f"the stream failed: {outcome['error']}")
        return EXIT_ERROR
    if outcome["state"] is State.AUTH_FAILED:
        _err("the API key was rejected by the server; check it with `ccdesk key verify`")
        return EXIT_KEY_REJECTED
    return EXIT_OK


def _install_signal_handlers(done: threading.Event) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: done.set())
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


# --- sim ----------------------------------------------------------------------------------------


def _cmd_sim(args: argparse.Namespace) -> int:
    from ccdesk.sim.server import run

    keys = args.keys
    if keys is not None:
        for k in keys:
            try:
                ApiKey(k)
            except InvalidApiKey as exc:
                raise UsageError(f"--key: {exc}") from None
    try:
        run(port=args.port, keys=keys, rate=args.rate, seed=args.seed, out=sys.stdout)
    except OSError as exc:
        _err(f"cannot serve on port {args.port}: {exc.strerror or exc}")
        return EXIT_ERROR
    return EXIT_OK


# --- key ----------------------------------------------------------------------------------------


def _read_key_input() -> ApiKey:
    if sys.stdin is not None and sys.stdin.isatty():
        text = getpass.getpass("API key (input hidden): ")
    else:
        text = sys.stdin.readline() if sys.stdin is not None else ""
    try:
        return ApiKey(text)
    except InvalidApiKey as exc:
        raise UsageError(str(exc)) from None


def _verify(rest_url: str | None, key: ApiKey) -> int:
    if rest_url:
        _check_url(rest_url, "--rest-url", ("http", "https"))
    try:
        check = check_key(rest_url or DEFAULT_REST_URL, key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if check.ok:
        print(key_check_words(check), flush=True)
        return EXIT_OK
    _err(key_check_words(check))
    return EXIT_KEY_REJECTED if check.status is KeyStatus.INVALID_KEY else EXIT_ERROR


def _cmd_key(args: argparse.Namespace) -> int:
    store = SecretStore()
    action = args.key_command
    try:
        if action == "set":
            key = _read_key_input()
            if not args.no_verify:
                code = _verify(args.rest_url, key)
                if code != EXIT_OK:
                    _err("the key was not saved (use --no-verify to save it anyway)")
                    return code
            store.save(key)
            print(f"API key {key.masked()} saved to the keyring ({store.source()}).", flush=True)
            if os.environ.get(ENV_API_KEY, "").strip():
                print(f"note: {ENV_API_KEY} is set and takes precedence over the keyring.", flush=True)
            return EXIT_OK
        if action == "verify":
            try:
                resolved = resolve_key(os.environ, store)
            except InvalidApiKey as exc:
                raise UsageError(str(exc)) from None
            if resolved is None:
                _err(f"no API key: run `ccdesk key set` or set {ENV_API_KEY}")
                return EXIT_NO_KEY
            return _verify(args.rest_url, resolved.key)
        if action == "status":
            return _key_status(store)
        if action == "delete":
            if store.delete():
                print("API key deleted from the keyring.", flush=True)
            else:
                print("No API key was stored in the keyring.", flush=True)
            return EXIT_OK
    except SecretsError as exc:
        _err(str(exc))
        return EXIT_NO_KEY if action in ("verify", "status") else EXIT_ERROR
    raise UsageError(f"unknown key action {action!r}")


def _key_status(store: SecretStore) -> int:
    try:
        resolved = resolve_key(os.environ, store)
    except InvalidApiKey as exc:
        _err(str(exc))
        return EXIT_NO_KEY
    if resolved is None:
        print(f"No API key: not in the keyring ({store.source()}) and {ENV_API_KEY} is not set.", flush=True)
        return EXIT_NO_KEY
    where = (
        f"the {ENV_API_KEY} environment variable"
        if resolved.source is KeySource.ENV
        else f"the keyring ({store.source()}, service {store.service!r})"
    )
    print(f"API key {resolved.key.masked()} from {where}.", flush=True)
    return EXIT_OK
