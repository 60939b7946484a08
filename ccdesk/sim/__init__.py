"""The loopback market simulator (demo mode and tests): a real streamer v2 + min-api server."""

from __future__ import annotations

from ccdesk.core.demo import DEMO_KEY, Demo


def start_demo() -> Demo:
    """Start a simulator on an ephemeral loopback port for demo mode (the app and ``ccdesk stream
    --demo``). The server module (asyncio, websockets) is imported only here, not at start-up."""
    from ccdesk.sim.server import SimServer

    server = SimServer(port=0).start()
    return Demo(server.stream_url, server.rest_url, DEMO_KEY, server.stop, server.urls())


__all__ = ["start_demo"]
