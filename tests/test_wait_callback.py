"""psycopg2's wait callback is process-wide: the main thread switches it on around each of
sagaz-dbt's transactions (runtime/waits.py: interruptible), while the lock's heartbeat and
the blocker watch run statements on threads of their own.  A statement started while the
switch happens fails ("wait callback not available"); a heartbeat failing so drops the run's
advisory lock.  Those threads take the switch's lock: here one such thread runs statements
without pause while the main thread switches as fast as it can, and none may fail.
"""

from __future__ import annotations

import threading
import time

from sagaz_dbt.runtime import waits


def _hammer(conn, guarded: bool, stop: threading.Event, errors: list[str], done: list[int]) -> None:
    while not stop.is_set():
        try:
            if guarded:
                with waits.background_statement(), conn.cursor() as cur:
                    cur.execute("select 1")
                    cur.fetchone()
            else:
                with conn.cursor() as cur:
                    cur.execute("select 1")
                    cur.fetchone()
            done.append(1)
        except Exception as exc:  # noqa: BLE001 - what the test counts
            errors.append(f"{type(exc).__name__}: {exc}")


def _run(pg_database, guarded: bool, statements: int = 300) -> tuple[list[str], int]:
    conn = pg_database.connect()
    conn.autocommit = True
    stop, errors, done = threading.Event(), [], []
    thread = threading.Thread(target=_hammer, args=(conn, guarded, stop, errors, done), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(done) < statements and not errors and time.monotonic() < deadline:
            with waits.interruptible():
                pass
    finally:
        stop.set()
        thread.join(10)
        conn.close()
    return errors, len(done)


def test_background_statements_never_straddle_a_switch(pg_database) -> None:
    errors, done = _run(pg_database, guarded=True)
    assert done >= 300, "the background thread must have run its statements during the switches"
    assert errors == []


def test_the_race_is_real_without_the_guard(pg_database) -> None:
    """The control: the same thread without the guard does meet the switch (so the test
    above can fail).  Timing-dependent, so tried a few times before it counts as not shown."""
    for _ in range(5):
        errors, _done = _run(pg_database, guarded=False, statements=5000)
        if errors:
            assert any("wait callback" in e for e in errors), errors[:3]
            return
    import pytest

    pytest.skip("the unguarded race did not show in 5 tries on this machine (the guarded test stands alone)")
