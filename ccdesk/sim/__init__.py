"""The loopback market simulator (demo mode and tests): a real streamer v2 + min-api server."""

from __future__ import annotations

from ccdesk.core.demo import DEMO_KEY, Demo

DEMO_FIRST_MOVE_BY_S = 20.0
"""A demo's first sharp move (at least 2.5 % over 5-25 s, on a watched coin) starts at the latest
this long after the first subscription: the default "2 % within 5 min" rule shows what an alert
looks like within about 45 s, every time, not only most times."""


def start_demo() -> Demo:
    """Start a simulator on an ephemeral loopback port for demo mode (the app and ``ccdesk stream
    --demo``). The server module (asyncio, websockets) is imported only here, not at start-up."""
    from ccdesk.sim.server import SimServer

    server = SimServer(port=0, first_move_by_s=DEMO_FIRST_MOVE_BY_S).start()
    return Demo(server.stream_url, server.rest_url, DEMO_KEY, server.stop, server.urls())


__all__ = ["start_demo"]
