"""Benchmark: microseconds per frame of each source's parser alone, in-process, on a recorded real
data frame (orjson decoding, validation and the typed event; no socket, no quote book).

Run from the repo root:  .venv/bin/python tests/bench/parsers.py [--number 200000] [--repeat 7]

Each parser parses its frame ``number`` times, ``repeat`` times over; the best and the median run
are reported (the best is the least disturbed by other work on a shared machine). Not a test:
numbers go in the README.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.core.pairs import parse_pair  # noqa: E402
from ccdesk.core.sources.coindesk import CoinDesk  # noqa: E402
from ccdesk.core.sources.cryptocompare import CryptoCompareParser  # noqa: E402
from ccdesk.core.sources.kraken import Kraken  # noqa: E402
from ccdesk.core.sources.okx import Okx  # noqa: E402
from ccdesk.core.wire import MAX_FRAME_BYTES, QuoteUpdate  # noqa: E402

DATA = REPO / "tests" / "data"


def _source_frame(source: str, what: str, origin_part: str = "") -> bytes:
    for line in (DATA / "sources-examples.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["source"] == source and item["what"] == what and origin_part in item["origin"]:
            return line.encode()[line.index('"frame":') + len('"frame":') : -1]
    raise LookupError(f"{source} {what} {origin_part}")


def _cryptocompare_frame() -> bytes:
    for line in (DATA / "stream-examples.jsonl").read_text().splitlines():
        if json.loads(line).get("TYPE") == "5":
            return line.encode()  # the first recorded TYPE 5 (CCCAGG BTC-USD, with PRICE)
    raise LookupError("no TYPE 5 frame")


def cases() -> list[tuple[str, Callable[[bytes], object], bytes]]:
    """(name, parse, recorded frame) per source; every frame must parse to a QuoteUpdate with a price."""
    okx, coindesk, kraken = Okx(), CoinDesk(), Kraken()
    okx_pair, cd_pair = parse_pair("okx:BTC-USDT"), parse_pair("coindesk:ETH-BTC")
    kraken_pair = parse_pair("kraken:ALGO-USD")
    return [
        ("cryptocompare (TYPE 5 CCCAGG)", CryptoCompareParser().parse, _cryptocompare_frame()),
        (
            "kraken (ticker snapshot)",
            kraken.parser({kraken.wire_key(kraken_pair): kraken_pair}, MAX_FRAME_BYTES).parse,
            _source_frame("kraken", "ticker snapshot"),
        ),
        (
            "okx (tickers push, live)",
            okx.parser({okx.wire_key(okx_pair): okx_pair}, MAX_FRAME_BYTES).parse,
            _source_frame("okx", "tickers push", "recorded live"),
        ),
        (
            "coindesk (index tick 985)",
            coindesk.parser({coindesk.wire_key(cd_pair): cd_pair}, MAX_FRAME_BYTES).parse,
            _source_frame("coindesk", "index tick 985"),
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}; {args.number} parses x {args.repeat}")
    print(f"{'parser':34} {'bytes':>6} {'best us':>8} {'median us':>10}")
    for name, parse, frame in cases():
        ev = parse(frame)
        assert isinstance(ev, QuoteUpdate), (name, ev)
        assert "PRICE" in ev.fields, (name, ev)
        assert not ev.dropped, (name, ev)
        runs = timeit.repeat(lambda p=parse, f=frame: p(f), number=args.number, repeat=args.repeat)
        per = [r / args.number * 1e6 for r in runs]
        print(f"{name:34} {len(frame):>6} {min(per):>8.2f} {statistics.median(per):>10.2f}")


if __name__ == "__main__":
    main()
