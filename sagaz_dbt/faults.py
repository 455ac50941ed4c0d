"""Crash points for fault-injection tests.

`SAGAZ_DBT_CRASH_AT=<point>[:<n>]` makes the process SIGKILL itself the n-th time (default
1st) it passes <point>, exactly as an OOM kill or a CI timeout would: no cleanup, no
finally blocks.  The tests use it to hit every window between two durable writes; unset (as
in production) it costs one dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "SAGAZ_DBT_CRASH_AT"

_counts: dict[str, int] = {}
_lock = threading.Lock()


def checkpoint(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        hit = _counts[point] == (int(nth) if nth else 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
