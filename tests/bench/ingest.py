"""Benchmark: frames/s that `ccdesk stream --quiet` ingests from a simulator firehose, side by
side with the guide's naive client (WebSocketApp + json.loads per message), in one run.

Run from the repo root:  .venv/bin/python tests/bench/ingest.py [--frames 400000] [--rounds 5]
                         [--vs /path/to/other/checkout/.venv/bin/python]

``--vs`` adds a third client: ``ccdesk stream --quiet`` of another checkout (its own venv), so a
change to the hot path is measured before/after in one run, rounds interleaved.

Each client runs as its own process against the same in-process simulator (firehose mode: it
sends type-5 partial updates, each with a new price, as fast as the socket takes them, exactly
N per connection). A client's ingest rate is (N - 1) / (T(N) - T(1)): T is the wall time of the
whole process, so start-up and connection set-up cancel out. Rounds alternate the two clients,
and the medians are reported with their ratio. Not a test: numbers go in the README.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.sim.server import SimServer  # noqa: E402

SUB = "5~CCCAGG~BTC~USD"

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vs", metavar="PYTHON", help="another checkout's venv python, for before/after")
    args = parser.parse_args()

    env = dict(os.environ, CCDESK_API_KEY="bench-key-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        naive_py = Path(tmp, "naive.py")
        naive_py.write_text(NAIVE)

        def ccdesk_stream(python: str):  # type: ignore[no-untyped-def]
            return lambda url, n: (
                [python, "-m", "ccdesk", "stream", "--quiet", "--count", str(n), "--stream-url", url, SUB],
                checkout_of(python),
            )

        clients = {
            "ccdesk stream --quiet": ccdesk_stream(sys.executable),
            "naive WebSocketApp + json.loads": lambda url, n: (
                [sys.executable, str(naive_py), url, env["CCDESK_API_KEY"], str(n)],
                Path(tmp),
            ),
        }
        if args.vs:
            clients["ccdesk stream --quiet (--vs)"] = ccdesk_stream(args.vs)
        rates: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, make in clients.items():
                times = {}
                for n in (1, args.frames):
                    with SimServer(firehose=True, firehose_limit=n, heartbeat_s=3600) as sim:
                        cmd, cwd = make(sim.stream_url, n)
                        times[n] = timed(cmd, env, cwd)
                rates[name].append((args.frames - 1) / (times[args.frames] - times[1]))

    print(
        f"# ingest benchmark: {args.frames} frames x {args.rounds} rounds, {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    med = {name: statistics.median(r) for name, r in rates.items()}
    for name, r in rates.items():
        print(
            f"{name:<34} median {med[name]:>10,.0f} frames/s   (rounds: {', '.join(f'{x:,.0f}' for x in r)})"
        )
    names = list(rates)
    print(f"ratio: {med[names[0]] / med[names[1]]:.1f}x")
    if args.vs:
        print(f"this checkout / --vs: {med[names[0]] / med[names[2]]:.3f}")
    decode_comparison()
    return 0


if __name__ == "__main__":
    sys.exit(main())
