"""Benchmark: frames/s that `ccdesk stream --quiet` ingests from a simulator firehose, in every
source's dialect; for CryptoCompare side by side with the guide's naive client (WebSocketApp +
json.loads per message), in one run.

Run from the repo root:  .venv/bin/python tests/bench/ingest.py [--dialect NAME|all] [--frames 400000]
                         [--rounds 5] [--vs /path/to/other/checkout/.venv/bin/python]

Each dialect is measured with the command a user runs:
``ccdesk stream --quiet --count N --url SOURCE=URL SOURCE:PAIR`` (one BTC pair; CoinDesk Data gets
CCDESK_API_KEY, as its fallback key). The simulator's firehose sends that venue's own update frames
(shaped like its real ones, each with a new price, ``Venue.firehose``), as fast as the socket takes
them, exactly N per connection.

``--vs`` adds, for CryptoCompare only, ``ccdesk stream --quiet`` of another checkout (its own venv;
0.1's command line: ``ccdesk stream --stream-url URL PAIR``, key in CCDESK_API_KEY), so a change to
the hot path is measured before/after in one run. 0.1 has no other source.

Each client runs as its own process against an in-process simulator. A client's ingest rate is
(N - 1) / (T(N) - T(1)): T is the wall time of the whole process, so start-up and connection set-up
cancel out (T(1) ends at the subscribe's snapshot, which --count counts). Rounds go over every
client in turn, and the medians of the rounds are reported with their range, as a markdown table.
Not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.sim.server import SimServer  # noqa: E402

SUB = "5~CCCAGG~BTC~USD"
KEY = "bench-key-0123456789"
#: The pair streamed in each dialect, as `ccdesk stream` takes it.
PAIRS = {
    "cryptocompare": "cryptocompare:BTC-USD",  # 5~CCCAGG~BTC~USD
    "kraken": "kraken:BTC-USD",
    "coinbase": "coinbase:BTC-USD",
    "binance": "binance:BTC-USDT",
    "okx": "okx:BTC-USDT",
    "coindesk": "coindesk:BTC-USD",  # the cadli index
}
KEYLESS = ("kraken", "coinbase", "binance", "okx")
KEYLESS_TARGET = 100_000

# The guide's client, with only the URL (and the count) changed.
NAIVE = textwrap.dedent(
    f"""
    import json, sys, websocket
    url, key, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = 0
    def on_open(ws):
        pass
    def on_message(ws, message):
        global seen
        data = json.loads(message)
        if data.get("TYPE") == "20":
            ws.send(json.dumps({{"action": "SubAdd", "subs": [{SUB!r}]}}))
        elif data.get("TYPE") == "5" and "PRICE" in data:
            seen += 1
            if seen >= target:
                ws.close()
    ws = websocket.WebSocketApp(url, header={{"authorization": "Apikey " + key}},
                                on_open=on_open, on_message=on_message)
    ws.run_forever()
    sys.exit(0 if seen >= target else 1)
    """
)

Command = Callable[[str, int], tuple[list[str], Path]]
"""A client's command line and working folder, for a simulator URL and a count."""


@dataclass
class Client:
    """One client of one dialect, and what the rounds measured."""

    dialect: str
    name: str
    command: Command
    rates: list[float] = field(default_factory=list)
    frame_bytes: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600
    )
    return time.perf_counter() - t0


def checkout_of(python: str) -> Path:
    """The checkout a venv's python belongs to (``CHECKOUT/.venv/bin/python``). ``python -m ccdesk``
    imports the package of its working folder first, so each client must run in its own checkout."""
    return Path(python).absolute().parents[2]


def ccdesk_stream(python: str, dialect: str) -> Command:
    """This checkout's `ccdesk stream --quiet` on one dialect."""
    return lambda url, n: (
        [python, "-m", "ccdesk", "stream", "--quiet", "--count", str(n), "--url", f"{dialect}={url}",
         PAIRS[dialect]],
        checkout_of(python),
    )  # fmt: skip


def ccdesk_stream_01(python: str) -> Command:
    """0.1's `ccdesk stream --quiet` (CryptoCompare only; its URL flag is --stream-url)."""
    return lambda url, n: (
        [python, "-m", "ccdesk", "stream", "--quiet", "--count", str(n), "--stream-url", url, SUB],
        checkout_of(python),
    )


def measure(client: Client, frames: int, env: dict[str, str]) -> None:
    """One round of one client: T(1) and T(frames), each against a fresh simulator."""
    times = {}
    for n in (1, frames):
        with SimServer(firehose=True, firehose_limit=n, heartbeat_s=3600) as sim:
            cmd, cwd = client.command(sim.url(client.dialect), n)
            times[n] = timed(cmd, env, cwd)
        if n == frames:
            (run,) = sim.firehose_runs
            client.frame_bytes.append(run.bytes / run.frames)
    client.rates.append((frames - 1) / (times[frames] - times[1]))


def decode_comparison() -> None:
    """Why orjson is a dependency: decode time per frame of the firehose's own frames."""
    import json

    import orjson

    from ccdesk.core.pairs import parse_pair
    from ccdesk.core.sources.cryptocompare import CryptoCompareParser
    from ccdesk.sim.firehose import build_cycle
    from ccdesk.sim.market import Market

    frames = [orjson.dumps(f) for f in build_cycle(Market(0), [parse_pair(SUB)], 4096)]
    parser = CryptoCompareParser()

    def per_frame_us(fn) -> float:
        runs = []
        for _ in range(7):
            t0 = time.perf_counter()
            for f in frames:
                fn(f)
            runs.append((time.perf_counter() - t0) / len(frames) * 1e6)
        return statistics.median(runs)

    size = statistics.mean(len(f) for f in frames)
    j, o, p = per_frame_us(json.loads), per_frame_us(orjson.loads), per_frame_us(parser.parse)
    print(
        f"decode, {size:.0f}-byte frames: json.loads {j:.2f} us, orjson.loads {o:.2f} us ({j / o:.1f}x), "
        f"CryptoCompareParser.parse (orjson + validation + typed event) {p:.2f} us"
    )


def table(clients: list[Client], rounds: int) -> None:
    print(f"| dialect | client | frames/s (median of {rounds}) | range | bytes/frame |")
    print("|---|---|---:|---|---:|")
    for c in clients:
        median = f"{c.median:,.0f}"
        if c.name.startswith("`ccdesk"):
            median = f"**{median}**"
        spread = f"{min(c.rates):,.0f} \u2013 {max(c.rates):,.0f}"  # an en dash, as in the README
        print(f"| {c.dialect} | {c.name} | {median} | {spread} | {statistics.median(c.frame_bytes):.0f} |")


def verdicts(clients: list[Client]) -> None:
    ours = {c.dialect: c for c in clients if c.name == "`ccdesk stream --quiet`"}
    naive = next((c for c in clients if c.name.startswith("naive")), None)
    vs = next((c for c in clients if "(--vs)" in c.name), None)
    print()
    if naive is not None:
        print(f"- cryptocompare, ccdesk / naive: {ours['cryptocompare'].median / naive.median:.1f}x")
    if vs is not None:
        ratio = ours["cryptocompare"].median / vs.median
        verdict = "met" if ratio >= 1.0 else "MISSED"
        rounds = ", ".join(f"{a / b:.3f}" for a, b in zip(ours["cryptocompare"].rates, vs.rates, strict=True))
        print(
            f"- cryptocompare, this checkout / --vs: {ratio:.3f} (per round: {rounds}); "
            f"target >= 1.0 (no slower): {verdict}"
        )
    for dialect in KEYLESS:
        c = ours.get(dialect)
        if c is not None:
            verdict = "met" if c.median >= KEYLESS_TARGET else "MISSED"
            print(f"- {dialect}: {c.median:,.0f} frames/s; target >= {KEYLESS_TARGET:,}: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialect", choices=(*PAIRS, "all"), default="all")
    parser.add_argument("--frames", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--vs", metavar="PYTHON", help="another checkout's venv python, for before/after (CryptoCompare)"
    )
    args = parser.parse_args()
    dialects = list(PAIRS) if args.dialect == "all" else [args.dialect]

    env = dict(os.environ, CCDESK_API_KEY=KEY)
    with tempfile.TemporaryDirectory() as tmp:
        naive_py = Path(tmp, "naive.py")
        naive_py.write_text(NAIVE)
        clients: list[Client] = []
        for dialect in dialects:
            clients.append(Client(dialect, "`ccdesk stream --quiet`", ccdesk_stream(sys.executable, dialect)))
            if dialect != "cryptocompare":
                continue
            clients.append(
                Client(
                    dialect,
                    "naive WebSocketApp + json.loads",
                    lambda url, n: ([sys.executable, str(naive_py), url, KEY, str(n)], Path(tmp)),
                )
            )
            if args.vs:
                clients.append(Client(dialect, "`ccdesk stream --quiet` (--vs)", ccdesk_stream_01(args.vs)))
        for _ in range(args.rounds):
            for client in clients:
                measure(client, args.frames, env)

    print(
        f"# ingest benchmark: {args.frames:,} frames x {args.rounds} rounds, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores"
    )
    if args.vs:
        print(f"(--vs: {args.vs})")
    print()
    table(clients, args.rounds)
    verdicts(clients)
    if "cryptocompare" in dialects:
        print()
        decode_comparison()
    return 0


if __name__ == "__main__":
    sys.exit(main())
