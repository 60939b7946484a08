"""REST bodies from the market model: min-api's /data/price and /data/pricemultifull, CoinDesk Data's
/index/cc/v1/latest/tick, and their errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ccdesk.core.pairs import AGGREGATE_MARKET, Channel, Pair, Source
from ccdesk.sim.market import (
    QUOTE_SHARE,
    TOP_TIER_SHARE,
    Coin,
    Fields,
    Instrument,
    Market,
    find_coin,
    round_money,
    round_price,
)

# The stream venue's own tick, so REST and stream show the same index to the digit. Imported,
# not copied; it is private to the venue module only because nothing else needed it before.
from ccdesk.sim.venues.coindesk import GROUPS as COINDESK_GROUPS
from ccdesk.sim.venues.coindesk import MARKETS as COINDESK_MARKETS
from ccdesk.sim.venues.coindesk import _tick as coindesk_stream_tick

Body = dict[str, Any]

_PRICE_FIELDS = frozenset(
    {"PRICE", "BID", "ASK", "MEDIAN", "OPENDAY", "HIGHDAY", "LOWDAY", "OPEN24HOUR", "HIGH24HOUR"}
    | {"LOW24HOUR", "OPENHOUR", "HIGHHOUR", "LOWHOUR"}
)
_QUOTE_VOLUME_FIELDS = frozenset(
    {"LASTVOLUMETO", "VOLUMEDAYTO", "VOLUME24HOURTO", "VOLUMEHOURTO", "TOPTIERVOLUME24HOURTO"}
    | {"CURRENTSUPPLYMKTCAP", "CIRCULATINGSUPPLYMKTCAP", "MAXSUPPLYMKTCAP"}
)
_CURRENCY_SIGN = {"USD": "$", "EUR": "€", "BTC": "Ƀ", "ETH": "Ξ", "USDT": "₮"}


def price(market: Market, fsym: str, tsyms: Sequence[str]) -> Body:
    """Body of ``GET /data/price?fsym=..&tsyms=..``: ``{"USD": 91230.12, ...}`` or a classic error.

    Pairs without a direct market are converted through BTC, as the real API does.
    """
    fsym = fsym.strip().upper()
    tsyms = [t.strip().upper() for t in tsyms if t.strip()]
    if not fsym:
        return _param_error("fsym param is empty or null.", "fsym")
    if not tsyms:
        return _param_error("tsyms param is empty or null.", "tsyms")
    if find_coin(fsym) is None:
        return market_missing_error(fsym, tsyms[0])
    out: Body = {}
    for tsym in tsyms:
        quote = _quote(market, fsym, tsym)
        if quote is not None:
            out[tsym] = quote.state["PRICE"]
    if not out:
        return _no_tsyms_error(tsyms)
    return out


def pricemultifull(market: Market, fsyms: Sequence[str], tsyms: Sequence[str]) -> Body:
    """Body of ``GET /data/pricemultifull``: ``{"RAW": {F: {T: {...}}}, "DISPLAY": {...}}``.

    RAW has the type-5 fields plus CHANGE*/CHANGEPCT* (from OPEN24HOUR, OPENDAY, OPENHOUR),
    FLAGS as a string, supply and market cap, as the real endpoint does.
    """
    fsyms = [f.strip().upper() for f in fsyms if f.strip()]
    tsyms = [t.strip().upper() for t in tsyms if t.strip()]
    if not fsyms:
        return _param_error("fsyms param is empty or null.", "fsyms")
    if not tsyms:
        return _param_error("tsyms param is empty or null.", "tsyms")
    raw: dict[str, dict[str, Body]] = {}
    display: dict[str, dict[str, Body]] = {}
    for fsym in fsyms:
        for tsym in tsyms:
            quote = _quote(market, fsym, tsym)
            if quote is None:
                continue
            body = _raw_body(quote, fsym=fsym, tsym=tsym)
            raw.setdefault(fsym, {})[tsym] = body
            display.setdefault(fsym, {})[tsym] = _display_body(body, fsym, tsym)
    if not raw:
        if find_coin(fsyms[0]) is None:
            return market_missing_error(fsyms[0], tsyms[0])
        return _no_tsyms_error(tsyms)
    return {"RAW": raw, "DISPLAY": display}


def market_missing_error(fsym: str, tsym: str) -> Body:
    """The classic min-api error (HTTP 200) for a pair with no market."""
    return {
        "Response": "Error",
        "Message": f"cccagg_or_exchange market does not exist for this coin pair ({fsym}-{tsym})",
        "HasWarning": False,
        "Type": 1,
        "RateLimit": {},
        "Data": {},
        "Cooldown": 0,
    }


def path_missing_error() -> Body:
    """The body of a 404: no such endpoint."""
    return {"Response": "Error", "Message": "Path does not exist", "Type": 1, "Data": {}}


def key_required_error() -> Body:
    """The body of a 401: the key is missing or not accepted (the CoinDesk-era shape)."""
    return {
        "Data": {},
        "Err": {
            "type": 2,
            "message": "API key required, please refer to the documentation at "
            "https://developers.coindesk.com/",
            "http_status_code": 401,
        },
    }


COINDESK_TICK_PATH = "/index/cc/v1/latest/tick"
COINDESK_REST_TICK_TYPE = "266"
"""The TYPE of a REST index tick (SOURCES.md); the stream's is ``"1101"``."""


def coindesk_latest_tick(
    market: Market, index: str, instruments: Sequence[str], groups: Sequence[str]
) -> tuple[int, Body]:
    """HTTP status and body of ``GET /index/cc/v1/latest/tick?market=..&instruments=..&groups=..``.

    Success: ``{"Data": {"BTC-USD": {"TYPE": "266", "MARKET": "cadli", "INSTRUMENT": "BTC-USD",
    "VALUE": ..., ...}}, "Err": {}}`` with the stream's fields for the groups asked for (all when
    none). An unknown market, group or instrument (or one outside its index family) is a 400 whose
    ``Err`` names the parameter: the shape of the real 401 (``key_required_error``) with the
    simulator's own words, as no real 400 body is stored.
    """
    index = index.strip()
    names = [i.strip() for i in instruments if i.strip()]
    wanted = [g.strip().upper() for g in groups if g.strip()] or list(COINDESK_GROUPS)
    if index not in COINDESK_MARKETS:
        known = ", ".join(COINDESK_MARKETS)
        return 400, _data_api_error(2, f"market {index[:40]!r} is not an index market ({known}).", "market")
    if not names:
        return 400, _data_api_error(1, "instruments is a required parameter.", "instruments")
    unknown_groups = [g for g in wanted if g not in COINDESK_GROUPS]
    if unknown_groups:
        return 400, _data_api_error(2, f"unknown groups: {', '.join(unknown_groups)[:80]}.", "groups")
    data: Body = {}
    missing: list[str] = []
    for name in names:
        tick = _coindesk_tick(market, index, name, frozenset(wanted))
        if tick is None:
            missing.append(name[:40])
        else:
            data[name] = tick
    if missing:
        message = f"instruments not found on {index}: {', '.join(missing)}."
        return 400, _data_api_error(2, message, "instruments")
    return 200, {"Data": data, "Err": {}}


def _coindesk_tick(market: Market, index: str, name: str, groups: frozenset[str]) -> Body | None:
    base, dash, quote = name.partition("-")
    symbols_ok = all(s.isascii() and s.isalnum() and s.isupper() for s in (base, quote))
    if not dash or not symbols_ok or (index != "cadli" and quote != "USD"):
        return None
    inst = _index(market, base, quote)
    if inst is None:
        return None
    pair = Pair(Source.COINDESK, base, quote, index, Channel.AGGREGATE)
    tick: Body = coindesk_stream_tick(pair, dict(inst.fields), groups)
    tick["TYPE"] = COINDESK_REST_TICK_TYPE
    return tick


def coindesk_refusal(status: int, message: str) -> Body:
    """The body of a refused key on the data API (``status`` 401 or 403): ``{"Data": {}, "Err": {...}}``."""
    return {"Data": {}, "Err": {"type": 2, "message": message, "http_status_code": status}}


COINDESK_NOT_ENTITLED_MESSAGE = (
    "Your API key does not have access to this endpoint: your subscription plan does not include it."
)
"""The simulator's own words for a key without a plan (no real 403 body is stored)."""


def _data_api_error(error_type: int, message: str, param: str) -> Body:
    return {
        "Data": {},
        "Err": {
            "type": error_type,
            "message": message,
            "other_info": {"param": param},
            "http_status_code": HTTPStatus.BAD_REQUEST.value,
        },
    }


def _no_tsyms_error(tsyms: Sequence[str]) -> Body:
    names = ",".join(tsyms)
    return {
        "Response": "Error",
        "Message": f"There is no data for any of the toSymbols {names} .",
        "HasWarning": True,
        "Type": 2,
        "RateLimit": {},
        "Data": {},
        "Warning": f"There is no data for the toSymbol/s {names} ",
        "ParamWithError": "tsyms",
    }


def _param_error(message: str, param: str) -> Body:
    return {
        "Response": "Error",
        "Message": message,
        "HasWarning": False,
        "Type": 2,
        "RateLimit": {},
        "Data": {},
        "ParamWithError": param,
    }


@dataclass(frozen=True, slots=True)
class _Quote:
    """The type-5 state of a coin in one quote currency, and how the API says it got there."""

    state: Fields
    coin: Coin
    conversion_type: str  # "direct" or "multiply"
    conversion_symbol: str  # "" or the currency converted through


def _index(market: Market, base: str, quote: str) -> Instrument | None:
    return market.find(Pair(Source.CRYPTOCOMPARE, base, quote, AGGREGATE_MARKET, Channel.AGGREGATE))


def _quote(market: Market, fsym: str, tsym: str) -> _Quote | None:
    """``fsym``'s index in ``tsym``, or None if REST has no price for the pair."""
    coin = find_coin(fsym)
    if fsym == tsym or coin is None:
        return None
    direct = _index(market, fsym, tsym)
    if direct is not None:
        return _Quote(dict(direct.fields), coin, "direct", "")
    # Convert through BTC, as the real API does: fsym -> BTC -> tsym.
    btc_quote = _index(market, "BTC", tsym)
    via = _index(market, fsym, "USD")
    btc_usd = market.instrument(Pair(Source.CRYPTOCOMPARE, "BTC", "USD", AGGREGATE_MARKET, Channel.AGGREGATE))
    if fsym == "BTC" or btc_quote is None or via is None:
        return None
    factor = btc_quote.fields["PRICE"] / btc_usd.fields["PRICE"]
    out: Fields = {}
    for k, v in via.fields.items():
        if k in _PRICE_FIELDS:
            v = round_price(v * factor)
        elif k in _QUOTE_VOLUME_FIELDS and v != -1:
            v = round_money(v * factor)
        out[k] = v
    out["TOSYMBOL"] = tsym
    return _Quote(out, coin, "multiply", "BTC")


def _raw_body(quote: _Quote, *, fsym: str, tsym: str) -> Body:
    state, coin = quote.state, quote.coin
    body = dict(state)
    body["FLAGS"] = str(state["FLAGS"])
    last = state["PRICE"]
    for suffix, open_field in (("24HOUR", "OPEN24HOUR"), ("DAY", "OPENDAY"), ("HOUR", "OPENHOUR")):
        opened = state[open_field]
        body[f"CHANGE{suffix}"] = last - opened
        body[f"CHANGEPCT{suffix}"] = (last - opened) / opened * 100 if opened else 0
    body["CONVERSIONTYPE"] = quote.conversion_type
    body["CONVERSIONSYMBOL"] = quote.conversion_symbol
    body["CONVERSIONLASTUPDATE"] = state["LASTUPDATE"]
    body["SUPPLY"] = coin.current_supply
    body["MKTCAP"] = state.get("CURRENTSUPPLYMKTCAP", round_money(coin.current_supply * last))
    body["MKTCAPPENALTY"] = 0
    body["CIRCULATINGSUPPLY"] = coin.circulating_supply
    body["CIRCULATINGSUPPLYMKTCAP"] = state.get(
        "CIRCULATINGSUPPLYMKTCAP", round_money(coin.circulating_supply * last)
    )
    body["TOTALVOLUME24H"] = state["VOLUME24HOUR"] / QUOTE_SHARE.get(tsym, 0.5)
    body["TOTALVOLUME24HTO"] = state["VOLUME24HOURTO"] / QUOTE_SHARE.get(tsym, 0.5)
    body["TOTALTOPTIERVOLUME24H"] = body["TOTALVOLUME24H"] * TOP_TIER_SHARE
    body["TOTALTOPTIERVOLUME24HTO"] = body["TOTALVOLUME24HTO"] * TOP_TIER_SHARE
    body["IMAGEURL"] = f"/media/sim/{fsym.lower()}.png"
    return body


def _display_body(raw: Body, fsym: str, tsym: str) -> Body:
    fsign = _CURRENCY_SIGN.get(fsym, fsym)
    tsign = _CURRENCY_SIGN.get(tsym, tsym)
    out: Body = {"FROMSYMBOL": fsign, "TOSYMBOL": tsign, "MARKET": raw["MARKET"]}
    for k, v in raw.items():
        if k in out or isinstance(v, str):
            continue
        if k.startswith("CHANGEPCT"):
            out[k] = f"{v:.2f}"
        elif k == "LASTUPDATE" or k == "CONVERSIONLASTUPDATE":
            out[k] = "Just now"
        elif k in _PRICE_FIELDS or k.startswith("CHANGE"):
            out[k] = f"{tsign} {v:,.2f}" if abs(v) >= 1 else f"{tsign} {v:.6f}"
        elif k.endswith("TO") or "MKTCAP" in k:
            out[k] = f"{tsign} {v:,.0f}"
        else:
            out[k] = f"{fsign} {v:,.2f}"
    out["LASTMARKET"] = raw.get("LASTMARKET", raw["MARKET"])
    return out
