"""Interrupts during a rollback (sagaz_dbt/runtime/interrupts.py), with real signals sent to
this process's main thread.

A user's first Ctrl-C during a rollback is only acknowledged (the rollback finishes); an
interrupt sent because the target's lock lapsed (the Spark lease) is not deferred: the
rollback would go on without the target.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from sagaz_dbt.runtime import interrupts

MAIN = threading.main_thread().ident


def _sigint_from_another_thread(urgent: bool) -> None:
    def send() -> None:
        if urgent:
            interrupts.interrupt_urgently(MAIN)
        else:
            signal.pthread_kill(MAIN, signal.SIGINT)

    thread = threading.Thread(target=send)
    thread.start()
    thread.join()


@pytest.fixture(autouse=True)
def _clean() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are handled in the main thread only")
    interrupts.clear_urgent()
    yield
    interrupts.clear_urgent()


def test_a_users_first_interrupt_during_a_rollback_is_only_acknowledged() -> None:
    said: list[str] = []
    with interrupts.interrupts_deferred(said.append):
        _sigint_from_another_thread(urgent=False)
        time.sleep(0.2)  # the handler runs here, and returns
    assert said and "will finish shortly" in said[0]


def test_a_lapsed_lock_interrupts_a_rollback_at_once() -> None:
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt, match="lock on the target was lost"):
        with interrupts.interrupts_deferred(said.append):
            _sigint_from_another_thread(urgent=True)
            time.sleep(5)  # interrupted long before
    assert said == []


def test_sigint_raises_even_where_the_process_started_ignoring_it() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # `cmd &` in a non-interactive shell
    try:
        put_back = interrupts.interruptible_main_thread()
        with pytest.raises(KeyboardInterrupt):
            _sigint_from_another_thread(urgent=True)
            time.sleep(5)
        put_back()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
