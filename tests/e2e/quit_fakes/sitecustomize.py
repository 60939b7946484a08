"""A resolver that never answers, for tests/e2e/test_quit.py's app process (this folder is on its
``PYTHONPATH``, so Python imports this module at start-up).

The test machine has no slow DNS to offer: a name that does not exist fails within milliseconds.
With ``CCDESK_TEST_HANG_DNS=NAME`` set, ``socket.getaddrinfo`` for NAME appends a line to the file
named by ``CCDESK_TEST_DNS_CALLS`` and then blocks forever, as getaddrinfo does on a resolver that
drops every query; other names resolve as usual. Without the variable this module does nothing.
"""

from __future__ import annotations

import os

_HANG = os.environ.get("CCDESK_TEST_HANG_DNS")

if _HANG:
    import socket
    import threading

    _resolve = socket.getaddrinfo
    _never = threading.Event()

    def _getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host == _HANG:
            with open(os.environ["CCDESK_TEST_DNS_CALLS"], "a") as f:
                f.write(f"{host}\n")
            _never.wait()
        return _resolve(host, *args, **kwargs)

    socket.getaddrinfo = _getaddrinfo
