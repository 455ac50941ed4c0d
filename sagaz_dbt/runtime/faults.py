"""Crash and pause points for fault-injection tests.

`SAGAZ_DBT_CRASH_AT=<point>[:<n>]` makes the process SIGKILL itself the n-th time (default
1st) it passes <point>, exactly as an OOM kill or a CI timeout would: no cleanup, no
finally blocks.  The tests use it to hit every window between two durable writes.

`SAGAZ_DBT_PAUSE_AT=<point>[:<n>]` with `SAGAZ_DBT_PAUSE_FILE=<path>` makes it stop there
instead: it writes `<path>.reached` (holding its pid) and waits until `<path>` exists, so a
test can act on the warehouse at an exact moment of the run (kill a backend, restart the
server, hold a lock) and then let it go on.  Unset (as in production) each costs one
dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

ENV = "SAGAZ_DBT_CRASH_AT"
PAUSE_ENV = "SAGAZ_DBT_PAUSE_AT"
PAUSE_FILE_ENV = "SAGAZ_DBT_PAUSE_FILE"
#: A paused run gives up waiting after this long (a test that forgot it must not hang CI).
PAUSE_LIMIT_SECONDS = 300.0

_counts: dict[str, int] = {}
_lock = threading.Lock()


def _hit(env: str, point: str) -> bool:
    spec = os.environ.get(env)
    if not spec:
        return False
    name, _, nth = spec.partition(":")
    if name != point:
        return False
    with _lock:
        key = f"{env}:{point}"
        _counts[key] = _counts.get(key, 0) + 1
        return _counts[key] == (int(nth) if nth else 1)


def checkpoint(point: str) -> None:
    if _hit(ENV, point):
        os.kill(os.getpid(), signal.SIGKILL)
    if _hit(PAUSE_ENV, point):
        _pause(Path(os.environ[PAUSE_FILE_ENV]))


def _pause(release: Path) -> None:
    Path(f"{release}.reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
