"""The simulator's market model: determinism, frame shapes, FLAGS, REST bodies, sharp moves."""

from __future__ import annotations

from collections import deque

import pytest

from ccdesk.core.pairs import Channel, Pair, Source, parse_pair
from ccdesk.sim import DEMO_FIRST_MOVE_BY_S, rest
from ccdesk.sim.firehose import build_cycle
from ccdesk.sim.frames import ALWAYS_FIELDS, FIELD_ORDER, INDEX_ONLY_FIELDS, StreamView
from ccdesk.sim.market import FIRST_MOVE_MIN_PCT, TRADE_HISTORY, Market, round_price
from tests.fakes import FakeClock
from tests.pairs import BTC, BTC_TRADES, ETH_COINBASE

STEP_S = 0.1


def _market(seed: int = 0, **kwargs: float | None) -> tuple[Market, FakeClock]:
    clock = FakeClock()
    return Market(seed, wall=clock.time, **kwargs), clock


def _run(market: Market, clock: FakeClock, seconds: float, focus: set[str] | None = None) -> None:
    for _ in range(round(seconds / STEP_S)):
        clock.advance(STEP_S)
        market.advance(STEP_S, focus)


def test_same_seed_same_market_different_seed_different_market() -> None:
    a, clock_a = _market(7)
    b, clock_b = _market(7)
    c, clock_c = _market(8)
    for m, clock in ((a, clock_a), (b, clock_b), (c, clock_c)):
        _run(m, clock, 20)
    for sub in (BTC, ETH_COINBASE):
        assert a.snapshot(sub) == b.snapshot(sub)
        assert a.snapshot(sub) != c.snapshot(sub)
    assert a.trades(BTC_TRADES) == b.trades(BTC_TRADES)
    assert rest.pricemultifull(a, ["BTC", "ETH"], ["USD", "EUR"]) == rest.pricemultifull(
        b, ["BTC", "ETH"], ["USD", "EUR"]
    )


def test_realistic_catalogue() -> None:
    market, _ = _market()
    subs = {str(s) for s in market.subs()}
    for base in ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "DOT", "LINK", "AVAX", "BNB", "MATIC"):
        assert f"5~CCCAGG~{base}~USD" in subs
    assert {"5~CCCAGG~BTC~EUR", "5~CCCAGG~ETH~BTC", "5~CCCAGG~BTC~USDT"} <= subs
    assert {"2~Coinbase~BTC~USD", "2~Kraken~ETH~EUR", "0~Binance~BTC~USDT", "0~Bitstamp~BTC~USD"} <= subs
    # Binance has no USD books; unknown coins and markets do not exist.
    for missing in ("2~Binance~BTC~USD", "5~CCCAGG~FOO~USD", "2~Nowhere~BTC~USD", "5~CCCAGG~BTC~JPY"):
        assert not market.has(parse_pair(missing))
    btc = market.snapshot(BTC)["PRICE"]
    assert 80_000 < btc < 100_000
    assert 2_500 < market.snapshot(parse_pair("5~CCCAGG~ETH~USD"))["PRICE"] < 3_700
    assert 0.1 < market.snapshot(parse_pair("5~CCCAGG~DOGE~USD"))["PRICE"] < 0.25
    # Cross rates agree: ETH/BTC ~ ETH/USD / BTC/USD.
    eth_btc = market.snapshot(parse_pair("5~CCCAGG~ETH~BTC"))["PRICE"]
    assert eth_btc == pytest.approx(market.snapshot(parse_pair("5~CCCAGG~ETH~USD"))["PRICE"] / btc, rel=1e-3)


def test_aggregate_snapshot_is_complete() -> None:
    market, clock = _market()
    snap = market.snapshot(BTC)
    assert list(snap) == [f for f in FIELD_ORDER if f in snap]  # the streamer's field order
    assert set(FIELD_ORDER) <= set(snap)
    assert snap["TYPE"] == "5"
    assert (snap["MARKET"], snap["FROMSYMBOL"], snap["TOSYMBOL"]) == ("CCCAGG", "BTC", "USD")
    assert isinstance(snap["FLAGS"], int)
    assert isinstance(snap["LASTTRADEID"], str)
    assert snap["LASTUPDATE"] == int(clock.time())
    assert snap["LOW24HOUR"] <= snap["PRICE"] <= snap["HIGH24HOUR"]
    assert snap["LOWHOUR"] <= snap["OPENHOUR"] <= snap["HIGHHOUR"]
    assert snap["VOLUMEHOUR"] <= snap["VOLUMEDAY"] <= snap["VOLUME24HOUR"]
    assert snap["MAXSUPPLY"] == 21_000_000
    assert snap["CIRCULATINGSUPPLYMKTCAP"] == pytest.approx(snap["CIRCULATINGSUPPLY"] * snap["PRICE"])
    assert snap["BID"] < snap["ASK"]


def test_ticker_snapshot_has_no_index_only_fields() -> None:
    market, _ = _market()
    snap = market.snapshot(ETH_COINBASE)
    assert snap["TYPE"] == "2"
    assert snap["MARKET"] == "Coinbase"
    assert not INDEX_ONLY_FIELDS & set(snap)
    assert {"PRICE", "BID", "ASK", "OPEN24HOUR", "VOLUME24HOUR", "LASTTRADEID"} <= set(snap)


def test_partials_carry_only_changes_and_merge_back_to_the_full_state() -> None:
    market, clock = _market(3)
    view = StreamView(market)
    merged = view.snapshot(BTC)
    saw_volume_only = False
    for _ in range(300):
        clock.advance(STEP_S)
        market.advance(STEP_S)
        before = dict(merged)
        for frame in view.update(BTC):
            assert set(ALWAYS_FIELDS) <= set(frame)
            assert frame["TYPE"] == "5"
            changed = set(frame) - set(ALWAYS_FIELDS)
            assert changed, "a partial frame with nothing in it"
            for field in changed:
                assert frame[field] != before[field], f"{field} sent although unchanged"
            if "PRICE" not in frame:
                saw_volume_only = True
            merged.update(frame)
        assert {k: v for k, v in merged.items() if k != "FLAGS"} == {
            k: v for k, v in market.snapshot(BTC).items() if k != "FLAGS"
        }
    assert saw_volume_only, "never a frame without PRICE (only volumes changed)"


def test_flags_describe_the_change_this_client_saw() -> None:
    market, clock = _market(5)
    view = StreamView(market)
    last = view.snapshot(BTC)
    seen: set[int] = set()
    for _ in range(300):
        clock.advance(STEP_S)
        market.advance(STEP_S)
        for frame in view.update(BTC):
            flags = frame["FLAGS"]
            assert isinstance(flags, int)
            for field, (up, down, same) in {
                "PRICE": (1, 2, 4),
                "BID": (8, 16, 32),
                "ASK": (64, 128, 256),
                "MEDIAN": (512, 1024, 2048),
            }.items():
                bits = flags & (up | down | same)
                if field not in frame:
                    assert bits == same
                elif frame[field] > last[field]:
                    assert bits == up
                else:
                    assert bits == down
                seen.add(bits)
            last = {**last, **frame}
    assert {1, 2, 4} <= seen


def test_ticker_partials_and_flags() -> None:
    market, clock = _market(11)
    view = StreamView(market)
    last = view.snapshot(ETH_COINBASE)
    frames = []
    for _ in range(200):
        clock.advance(STEP_S)
        market.advance(STEP_S)
        frames += view.update(ETH_COINBASE)
    assert frames
    for frame in frames:
        assert frame["TYPE"] == "2"
        assert not INDEX_ONLY_FIELDS & set(frame)
        if "PRICE" in frame:
            assert frame["FLAGS"] & 7 == (1 if frame["PRICE"] > last["PRICE"] else 2)
        last = {**last, **frame}


def test_trades_replay_then_only_new_ones() -> None:
    market, clock = _market(2)
    view = StreamView(market)
    replay = view.replay(BTC_TRADES)
    assert len(replay) == TRADE_HISTORY
    first = replay[-1]
    assert first["TYPE"] == "0"
    assert (first["M"], first["FSYM"], first["TSYM"]) == ("Binance", "BTC", "USDT")
    assert set(first) >= {"F", "ID", "TS", "Q", "P", "TOTAL", "RTS", "CCSEQ"}
    new: list[dict] = []
    for _ in range(50):
        clock.advance(STEP_S)
        market.advance(STEP_S)
        new += view.update(BTC_TRADES)
    assert new
    seqs = [t["CCSEQ"] for t in replay + new]
    assert seqs == sorted(set(seqs)), "trades repeated or out of order"
    for trade in new:
        assert trade["F"] in ("1", "2")
        assert isinstance(trade["ID"], str)
        assert trade["TOTAL"] == pytest.approx(trade["Q"] * trade["P"], rel=1e-6)


def test_rest_price_body() -> None:
    market, clock = _market()
    _run(market, clock, 2)
    body = rest.price(market, "BTC", ["USD", "EUR"])
    assert body == {
        "USD": market.snapshot(BTC)["PRICE"],
        "EUR": market.snapshot(parse_pair("5~CCCAGG~BTC~EUR"))["PRICE"],
    }
    # No direct DOGE/EUR market: REST converts through BTC, but the stream has no such sub.
    assert not market.has(parse_pair("5~CCCAGG~DOGE~EUR"))
    doge_eur = rest.price(market, "DOGE", ["EUR"])["EUR"]
    btc = rest.price(market, "BTC", ["USD", "EUR"])
    assert doge_eur == pytest.approx(rest.price(market, "DOGE", ["USD"])["USD"] * btc["EUR"] / btc["USD"])


def test_rest_errors_have_the_classic_shapes() -> None:
    market, _ = _market()
    missing = rest.price(market, "FOO", ["USD"])
    assert missing["Response"] == "Error"
    assert missing["Type"] == 1
    assert missing["Message"] == "cccagg_or_exchange market does not exist for this coin pair (FOO-USD)"
    no_tsym = rest.price(market, "BTC", ["XYZ"])
    assert (no_tsym["Response"], no_tsym["Type"], no_tsym["ParamWithError"]) == ("Error", 2, "tsyms")
    assert rest.price(market, "", ["USD"])["ParamWithError"] == "fsym"
    assert rest.pricemultifull(market, ["FOO"], ["USD"])["Type"] == 1


def test_rest_pricemultifull_raw() -> None:
    market, clock = _market(4)
    _run(market, clock, 5)
    body = rest.pricemultifull(market, ["BTC", "ETH", "FOO"], ["USD", "EUR"])
    assert set(body) == {"RAW", "DISPLAY"}
    assert set(body["RAW"]) == {"BTC", "ETH"}
    for fsym in ("BTC", "ETH"):
        for tsym in ("USD", "EUR"):
            raw = body["RAW"][fsym][tsym]
            assert raw["TYPE"] == "5"
            assert isinstance(raw["FLAGS"], str)
            int(raw["FLAGS"])
            assert raw["CHANGE24HOUR"] == raw["PRICE"] - raw["OPEN24HOUR"]
            assert raw["CHANGEPCT24HOUR"] == (raw["PRICE"] - raw["OPEN24HOUR"]) / raw["OPEN24HOUR"] * 100
            assert raw["CHANGEPCTDAY"] == (raw["PRICE"] - raw["OPENDAY"]) / raw["OPENDAY"] * 100
            assert raw["CHANGEPCTHOUR"] == (raw["PRICE"] - raw["OPENHOUR"]) / raw["OPENHOUR"] * 100
            assert isinstance(body["DISPLAY"][fsym][tsym]["PRICE"], str)
    assert body["RAW"]["BTC"]["USD"]["PRICE"] == market.snapshot(BTC)["PRICE"]


def test_hour_rollover_resets_openhour() -> None:
    market, clock = _market()
    start_hour = int(clock.time() // 3600)
    while int(clock.time() // 3600) == start_hour:
        clock.advance(60)
        market.advance(0.1)
    market.advance(0.1)
    snap = market.snapshot(BTC)
    assert snap["VOLUMEHOUR"] < snap["VOLUMEDAY"]
    assert snap["LOWHOUR"] <= snap["OPENHOUR"] <= snap["HIGHHOUR"]
    assert abs(snap["OPENHOUR"] / snap["PRICE"] - 1) < 0.01


def _first_alert_s(
    seed: int, bases: list[str], limit_s: float, pct: float = 2.0, first_move_by_s: float | None = None
) -> float | None:
    """Seconds until some watched pair moved ``pct`` % within 5 min (what a demo alert checks)."""
    market, clock = _market(seed, first_move_by_s=first_move_by_s)
    subs = [Pair(Source.CRYPTOCOMPARE, b, "USD", "CCCAGG", Channel.AGGREGATE) for b in bases]
    history: dict[Pair, deque[tuple[float, float]]] = {s: deque() for s in subs}
    t = 0.0
    while t < limit_s:
        clock.advance(STEP_S)
        market.advance(STEP_S, set(bases))
        t += STEP_S
        for sub in subs:
            price = market.snapshot(sub)["PRICE"]
            window = history[sub]
            window.append((t, price))
            while window[0][0] < t - 300:
                window.popleft()
            low = min(p for _, p in window)
            high = max(p for _, p in window)
            if price >= low * (1 + pct / 100) or price <= high * (1 - pct / 100):
                return t
    return None


def test_sharp_moves_make_a_two_percent_alert_fire_within_about_a_minute() -> None:
    # Deterministic per seed; several seeds show it is the design, not one lucky draw.
    times = [_first_alert_s(seed, ["BTC", "ETH", "SOL"], limit_s=120) for seed in range(8)]
    assert all(t is not None for t in times), times
    within_a_minute = [t for t in times if t is not None and t <= 60]
    assert len(within_a_minute) >= 6, times


def test_no_sharp_moves_when_disabled() -> None:
    market, clock = _market(1, sharp_move_prob=0.0)
    start = market.snapshot(BTC)["PRICE"]
    _run(market, clock, 60, {"BTC"})
    assert market.sharp_moves == []
    assert abs(market.snapshot(BTC)["PRICE"] / start - 1) < 0.02


def test_firehose_frames_cycle_with_a_new_price_every_frame() -> None:
    market, _ = _market()
    subs = [BTC, ETH_COINBASE]
    frames = build_cycle(market, subs, 1000)
    assert len(frames) == 1000
    assert len({f["PRICE"] for f in frames}) > 900
    for k, sub in enumerate(subs):
        own = frames[k::2]
        assert all(f["FROMSYMBOL"] == sub.base and f["MARKET"] == sub.market for f in own)
        for prev, cur in zip([own[-1], *own[:-1]], own, strict=True):  # cyclic: replayable in a loop
            assert cur["PRICE"] != prev["PRICE"]
            assert cur["FLAGS"] & 7 == (1 if cur["PRICE"] > prev["PRICE"] else 2)
            assert set(ALWAYS_FIELDS) <= set(cur)
            # Shaped like a real partial after a trade, not a slimmed-down benchmark frame.
            assert {"BID", "ASK", "LASTVOLUME", "VOLUMEHOUR", "VOLUMEDAY", "VOLUME24HOURTO"} <= set(cur)
            if sub.channel is Channel.AGGREGATE:
                assert {"MEDIAN", "CURRENTSUPPLYMKTCAP"} <= set(cur)


def test_round_price_keeps_sensible_precision() -> None:
    assert round_price(91234.567891) == 91234.5679
    assert round_price(0.1712345678912) == 0.171234568


def test_the_promised_first_move_comes_on_time_once_and_only_for_a_watched_coin() -> None:
    market, clock = _market(3, sharp_move_prob=0.0, first_move_by_s=20.0)
    _run(market, clock, 60.0)  # nobody watches: no promise to keep
    _run(market, clock, 60.0, {"NOTACOIN"})
    assert market.sharp_moves == []
    _run(market, clock, 19.9, {"ETH", "NOTACOIN"})
    assert market.sharp_moves == []
    _run(market, clock, 0.5, {"ETH", "NOTACOIN"})
    [move] = market.sharp_moves
    assert move.base == "ETH"
    assert move.start_s == pytest.approx(120.0 + 20.0, abs=2 * STEP_S)
    assert FIRST_MOVE_MIN_PCT <= abs(move.pct) <= 4.0
    _run(market, clock, 120.0, {"ETH"})
    assert len(market.sharp_moves) == 1  # kept once; then chance alone (here none)


def test_a_weak_chance_move_does_not_count_as_the_promised_one() -> None:
    # Chance draws 1.5-4 %: find a seed whose first move is too small for a 2 % rule to see it.
    for seed in range(100):
        market, clock = _market(seed, sharp_move_prob=0.0, first_move_by_s=20.0)
        market._start_sharp_move({"BTC"})
        if abs(market.sharp_moves[0].pct) < FIRST_MOVE_MIN_PCT:
            break
    else:
        raise AssertionError("no seed drew a weak move")
    _run(market, clock, 20.2, {"BTC"})
    assert len(market.sharp_moves) == 2
    assert abs(market.sharp_moves[1].pct) >= FIRST_MOVE_MIN_PCT


def test_with_the_demo_promise_a_two_percent_alert_always_fires_within_45_s() -> None:
    # Chance alone leaves a few seeds in a hundred without an alert for over two minutes (a demo
    # that shows nothing for that long); the promise bounds it for every seed.
    times = [
        _first_alert_s(seed, ["BTC", "ETH", "SOL"], limit_s=120, first_move_by_s=DEMO_FIRST_MOVE_BY_S)
        for seed in range(20)
    ]
    assert all(t is not None and t <= 45 for t in times), times
