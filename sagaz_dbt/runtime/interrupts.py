"""Signals during a run.

SIGTERM (CI timeouts, orchestrators, `kill`) is turned into the KeyboardInterrupt that
Ctrl-C raises, so both take the same path: dbt stops, the run is compensated.  While the
compensation itself runs, the first interrupt is only acknowledged: the rollback is one
transaction and usually takes milliseconds.  A second one abandons it, and since nothing of
an abandoned transaction is applied, the journal still says what `sagaz-dbt recover` must do.
A wait for another session's lock (sagaz_dbt.runtime.waits) is not "shortly": the first interrupt
ends it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sagaz_dbt.runtime import waits


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


#: Set by a lock that lapsed while held (the Spark lease): its interrupt is not deferred.  A
#: rollback that goes on without the target could meet another process's recovery of the
#: same run; stopped, it leaves a journal that `recover` finishes.
_URGENT = threading.Event()


def interrupt_urgently(thread_id: int) -> None:
    """Interrupt `thread_id` (a command's main thread) as Ctrl-C does, but so that even a
    rollback's deferral stops at once.  A handler is in place: `interruptible_main_thread`."""
    _URGENT.set()
    signal.pthread_kill(thread_id, signal.SIGINT)


def clear_urgent() -> None:
    _URGENT.clear()


def interruptible_main_thread() -> Callable[[], None]:
    """Make sure SIGINT raises KeyboardInterrupt in the main thread (a process started in
    the background by a non-interactive shell ignores it); returns what puts it back."""
    current = signal.getsignal(signal.SIGINT)
    if current in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def put_back() -> None:
            if _in_main_thread():  # signal.signal works in the main thread only
                signal.signal(signal.SIGINT, current)

        return put_back
    return lambda: None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if not _in_main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"received signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_deferred(notice: Callable[[str], None]) -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    count = {"n": 0}

    def _handler(signum: int, frame: Any) -> None:
        count["n"] += 1
        if _URGENT.is_set():
            raise KeyboardInterrupt("the lock on the target was lost")
        if waits.waiting_on_lock():
            # Waiting on another session's lock is not "finishing shortly": stop now.  The
            # statement is cancelled and its transaction rolls back; nothing half applied.
            raise KeyboardInterrupt("interrupted while waiting for a lock")
        if count["n"] == 1:
            waits.request_interrupt(True)
            notice(
                "sagaz-dbt: the rollback is running and will finish shortly; "
                "interrupt again to abandon it (then run `sagaz-dbt recover`). It stops at once "
                "if it has to wait for another session's lock."
            )
            return
        raise KeyboardInterrupt("rollback abandoned")

    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        waits.request_interrupt(False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
