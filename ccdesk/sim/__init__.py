"""The loopback market simulator (demo mode and tests): a real streamer v2 + min-api server."""

from ccdesk.sim.server import SimServer, run

__all__ = ["SimServer", "run"]
