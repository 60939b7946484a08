"""Command line: argument parsing and the headless commands (``stream``, ``sim``, ``key``, ``history``).

Exit codes: 0 done or interrupted, 1 anything else, 2 usage error, 3 key rejected, 4 no key,
5 nothing to export (``history``: no store yet, a pair with no stored prices).
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
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ccdesk import __version__, cli_history
from ccdesk.core.api_key import ENV_API_KEY, ApiKey, InvalidApiKey, KeyProvider, KeySource
from ccdesk.core.backoff import BackoffPolicy
from ccdesk.core.endpoints import key_check_url
from ccdesk.core.key_check import KeyStatus
from ccdesk.core.pairs import PairError, Source, parse_source
from ccdesk.core.redaction import install_redaction, redact
from ccdesk.core.rest import key_check_for
from ccdesk.core.secrets import SecretsError, SecretStore, resolve_key
from ccdesk.core.stream import StreamConfig
from ccdesk.core.urls import UrlError, check_url
from ccdesk.wording import key_check_words

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


def _port(text: str) -> int:
    value: int = _positive(int, allow_zero=True)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535; 0 picks a free one)")
    return value


def _source_name(text: str) -> str:
    try:
        source: Source = parse_source(text)
    except PairError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(source.value)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ccdesk",
        description=(
            "Live crypto prices in the tray: Kraken, Coinbase, Binance and OKX without a key, "
            "CryptoCompare and CoinDesk Data with one."
        ),
    )
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

    s = sub.add_parser(
        "stream",
        help="stream prices to stdout until stopped",
        description=(
            "Stream live prices. A pair is SOURCE:BASE-QUOTE (kraken:BTC-USD, binance:BTC-USDT, "
            "coindesk:ccix:BTC-USD, composite:BTC-USD) or CryptoCompare's TYPE~MARKET~BASE~QUOTE; a bare "
            "BTC-USD is the --source's. Each source streams on its own connection. `ccdesk sources` "
            "lists them."
        ),
    )
    s.add_argument("subs", nargs="+", metavar="PAIR", help="kraken:BTC-USD, BTC-USD, 5~CCCAGG~BTC~USD ...")
    s.add_argument(
        "--source",
        type=_source_name,
        default=None,
        help="the source of a pair written without one (default: kraken; needs no key)",
    )
    s.add_argument(
        "--demo", action="store_true", help="use the embedded simulator on loopback (no key, no network)"
    )
    s.add_argument(
        "--url",
        action="append",
        dest="urls",
        metavar="SOURCE=URL",
        help="a source's endpoint (repeatable; env CCDESK_<SOURCE>_URL, e.g. CCDESK_KRAKEN_URL)",
    )
    s.add_argument(
        "--stream-url",
        default=None,
        help="CryptoCompare's streamer URL (env CCDESK_STREAM_URL)",
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

    src = sub.add_parser("sources", help="list the price sources: key or not, endpoint, pair spelling")
    src.add_argument("--format", choices=("text", "json"), default="text")

    m = sub.add_parser("sim", help="run the market simulator on loopback")
    m.add_argument("--port", type=_port, default=0)
    m.add_argument(
        "--key", action="append", dest="keys", metavar="KEY", help="accept only this key (repeatable)"
    )
    m.add_argument(
        "--rate", type=_positive(float), default=5.0, help="update frames per second per connection"
    )
    m.add_argument("--seed", type=int, default=0)

    k = sub.add_parser("key", help="manage the API keys in the OS keyring (one per provider)")
    ks = k.add_subparsers(dest="key_command", metavar="ACTION", parser_class=_Parser, required=True)
    kset = ks.add_parser("set", help="store a key (read from stdin, or a hidden prompt)")
    kset.add_argument("--no-verify", action="store_true", help="store without checking it against the server")
    kverify = ks.add_parser("verify", help="check the key against the server")
    for p in (kset, kverify):
        p.add_argument(
            "--rest-url",
            default=None,
            help="the provider's REST base URL (env CCDESK_REST_URL, CCDESK_COINDESK_REST_URL)",
        )
    kstatus = ks.add_parser("status", help="where the key comes from (masked)")
    kdelete = ks.add_parser("delete", help="remove the key from the keyring")
    for p in (kset, kverify, kstatus, kdelete):
        p.add_argument(
            "--provider",
            choices=[x.value for x in KeyProvider],
            default=KeyProvider.CRYPTOCOMPARE.value,
            help="whose key: cryptocompare (the default) or coindesk (CoinDesk Data)",
        )
    cli_history.add_parser(sub, _Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.self_test:
            from ccdesk.process import end_process
            from ccdesk.selftest import run_self_test

            end_process(run_self_test(sys.stdout))  # its Qt app and threads: as the desktop app ends
        if args.command == "stream":
            return _cmd_stream(args)
        if args.command == "sim":
            return _cmd_sim(args)
        if args.command == "sources":
            return _cmd_sources(args)
        if args.command == "key":
            return _cmd_key(args)
        if args.command == "history":
            return _cmd_history(args)
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


# --- history ------------------------------------------------------------------------------------


def _cmd_history(args: argparse.Namespace) -> int:
    try:
        return cli_history.run(args)
    except cli_history.UsageError as exc:
        raise UsageError(str(exc)) from None


# --- stream -------------------------------------------------------------------------------------


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


def _cmd_stream(args: argparse.Namespace) -> int:
    from ccdesk import cli_stream

    def install(done: threading.Event) -> Callable[[], None]:
        previous = _install_signal_handlers(done)
        return lambda: _restore_signal_handlers(previous)

    try:
        code = cli_stream.run_stream(args, _key_for_source, install)
    except cli_stream.UsageError as exc:
        raise UsageError(str(exc)) from None
    if code < 0:  # the reader went away: not an error
        _quiet_stdout()
        return EXIT_OK
    return code


def _key_for_source(source: Source) -> ApiKey | None:
    """The key a source needs: its provider's environment variables, else the keyring (CoinDesk
    Data falls back to the CryptoCompare key: one account serves both); None if there is none (the
    source is left out and the others stream)."""
    from ccdesk.cli_stream import NoKey
    from ccdesk.core.sources import source_info

    provider = source_info(source).key
    if provider is None:
        return None
    try:
        resolved = resolve_key(os.environ, SecretStore(provider=provider), provider)
    except InvalidApiKey as exc:
        raise UsageError(str(exc)) from None
    except SecretsError as exc:
        raise NoKey(str(exc)) from None
    return None if resolved is None else resolved.key


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


# --- sources ------------------------------------------------------------------------------------


def _cmd_sources(args: argparse.Namespace) -> int:
    from ccdesk.core.endpoints import env_url_name
    from ccdesk.core.sources import source_info

    rows = []
    for source in Source:
        if source is Source.PORTFOLIO:
            continue  # the holdings' total, for alert rules in the app: not a source of prices
        if source is Source.COMPOSITE:
            rows.append(
                {
                    "name": source.value,
                    "title": "Composite",
                    "key": None,
                    "url": None,
                    "env": None,
                    "spelling": "composite:BTC-USD: the same pair on Kraken, Coinbase, Binance and OKX",
                    "change_24h": "the median of the venues' rolling 24 h changes",
                    "limits": "the median of the venues' prices at most 10 s old; USD and USDT never mixed",
                }
            )
            continue
        info = source_info(source)
        rows.append(
            {
                "name": source.value,
                "title": info.title,
                "key": None if info.key is None else info.key.value,
                "url": info.default_url,
                "env": env_url_name(source),
                "spelling": info.spelling,
                "change_24h": info.change_24h,
                "limits": info.limits,
            }
        )
    if args.format == "json":
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(), flush=True)
        return EXIT_OK
    for row in rows:
        provider = {"cryptocompare": "CryptoCompare", "coindesk": "CoinDesk Data"}.get(str(row["key"]))
        key = "no key needed" if row["key"] is None else f"needs a paid {provider} API key"
        print(f"{row['name']}: {row['title']}, {key}")
        if row["url"]:
            print(f"  endpoint:  {row['url']}  (override: --url {row['name']}=URL or {row['env']})")
        print(f"  pairs:     {row['spelling']}")
        print(f"  24 h:      {row['change_24h']}")
        print(f"  limits:    {row['limits']}")
    print("A pair without a source (BTC-USD) is kraken's unless --source says otherwise.")
    return EXIT_OK


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


def _verify(provider: KeyProvider, rest_url: str | None, key: ApiKey) -> int:
    rest_url = rest_url or key_check_url(provider, env=os.environ)
    if rest_url:
        _check_url(rest_url, "--rest-url", ("http", "https"))
    try:
        check = key_check_for(provider)(rest_url, key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if check.ok:
        print(key_check_words(check), flush=True)
        return EXIT_OK
    _err(key_check_words(check))
    refused = (KeyStatus.INVALID_KEY, KeyStatus.NOT_ENTITLED)
    return EXIT_KEY_REJECTED if check.status in refused else EXIT_ERROR


def _cmd_key(args: argparse.Namespace) -> int:
    provider = KeyProvider(args.provider)
    store = SecretStore(provider=provider)
    # CryptoCompare's words are as they always were; another provider's key is named.
    what = "API key" if provider is KeyProvider.CRYPTOCOMPARE else f"{provider.title} key"
    flag = "" if provider is KeyProvider.CRYPTOCOMPARE else f" --provider {provider.value}"
    action = args.key_command
    try:
        if action == "set":
            key = _read_key_input()
            if not args.no_verify:
                code = _verify(provider, args.rest_url, key)
                if code != EXIT_OK:
                    _err("the key was not saved (use --no-verify to save it anyway)")
                    return code
            store.save(key)
            print(f"{what} {key.masked()} saved to the keyring ({store.source()}).", flush=True)
            if os.environ.get(provider.env_var, "").strip():
                print(f"note: {provider.env_var} is set and takes precedence over the keyring.", flush=True)
            return EXIT_OK
        if action == "verify":
            try:
                resolved = resolve_key(os.environ, store, provider)
            except InvalidApiKey as exc:
                raise UsageError(str(exc)) from None
            if resolved is None:
                _err(f"no {what}: run `ccdesk key set{flag}` or set {provider.env_var}")
                return EXIT_NO_KEY
            return _verify(provider, args.rest_url, resolved.key)
        if action == "status":
            return _key_status(store, provider)
        if action == "delete":
            if store.delete():
                print(f"{what} deleted from the keyring.", flush=True)
            else:
                print(f"No {what} was stored in the keyring.", flush=True)
            return EXIT_OK
    except SecretsError as exc:
        _err(str(exc))
        return EXIT_NO_KEY if action in ("verify", "status") else EXIT_ERROR
    raise UsageError(f"unknown key action {action!r}")


def _key_status(store: SecretStore, provider: KeyProvider) -> int:
    try:
        resolved = resolve_key(os.environ, store, provider)
    except InvalidApiKey as exc:
        _err(str(exc))
        return EXIT_NO_KEY
    what = "API key" if provider is KeyProvider.CRYPTOCOMPARE else f"{provider.title} key"
    if resolved is None:
        names = provider.env_vars
        unset = f"{names[0]} is not set" if len(names) == 1 else f"{' and '.join(names)} are not set"
        print(f"No {what}: not in the keyring ({store.source()}) and {unset}.", flush=True)
        return EXIT_NO_KEY
    if resolved.source is KeySource.ENV:
        where = f"the {resolved.env_var} environment variable"
    elif provider is KeyProvider.CRYPTOCOMPARE:
        where = f"the keyring ({store.source()}, service {store.service!r})"
    else:
        where = f"the keyring ({store.source()}, service {store.service!r}, entry {resolved.keyring_entry!r})"
    shared = f" (your {resolved.owner.title} key: one account serves both)" if resolved.shared else ""
    print(f"{what} {resolved.key.masked()} from {where}{shared}.", flush=True)
    return EXIT_OK
