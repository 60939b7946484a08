"""Ending a process that ran Qt beside daemon threads: ``os._exit`` once the log is flushed, never
Python's interpreter shutdown.

The desktop app and the self-test abandon blocked work on daemon threads by design (a keyring
waiting on an unlock prompt, a backfill's REST call, a stream thread past quit's bounded wait).
Under interpreter shutdown such a thread crashes the process if it is inside a Qt call (SIGSEGV, or
SIGABRT with "FATAL: exception not rethrown"), and Qt aborts if Python destroys a QThread that is
still running ("QThread: Destroyed while thread is still running"). Whatever must be kept is written
before this is called.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn


def end_process(code: int) -> NoReturn:
    """Flush the log and the standard streams, then end the process with ``code`` at once."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
