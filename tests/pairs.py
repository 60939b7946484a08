"""The subscriptions the tests share, one of each channel: CCCAGG aggregates, an exchange ticker and
a trade stream. Plain core values (no Qt), for every tier."""

from __future__ import annotations

from ccdesk.core.pairs import parse_pair

#: CCCAGG aggregates (channel 5), the watchlist's usual pairs.
BTC = parse_pair("BTC-USD")  # 5~CCCAGG~BTC~USD
ETH = parse_pair("ETH-USD")  # 5~CCCAGG~ETH~USD
SOL = parse_pair("SOL-USD")  # 5~CCCAGG~SOL~USD

#: One exchange's ticker (channel 2).
ETH_COINBASE = parse_pair("2~Coinbase~ETH~USD")

#: One exchange's trades (channel 0).
BTC_TRADES = parse_pair("0~Binance~BTC~USDT")
