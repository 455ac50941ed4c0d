"""Bounded, interruptible waits for every statement sagaz-dbt issues.

A rename or a drop queues behind any reader's open transaction (one BI query is enough), and
without a bound it waits forever, deaf to Ctrl-C: libpq blocks in C, so Python's signal
handlers only run once the server answers.  Three things fix that:

- every sagaz-dbt transaction starts with the engine's lock timeout (`--lock-timeout`,
  Postgres `set_config('lock_timeout', ..., true)`: local to the transaction);
- while a transaction runs, psycopg2 waits through `_interruptible_wait` (psycopg2's
  "green" mode): a signal raises in Python, the statement is cancelled on the server, the
  transaction rolls back, and the interrupt carries on as a KeyboardInterrupt;
- a watcher names who blocks the statement (`pg_blocking_pids` + `pg_stat_activity`) while it
  waits, since once the timeout fires the wait, and with it the evidence, is gone.

A phase that times out is retried with backoff (`retry`), then fails with
`LockWaitError`: its transaction rolled back, nothing half applied, the journal unchanged.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

from sagaz_dbt.errors import WarehouseError

T = TypeVar("T")

DEFAULT_LOCK_TIMEOUT = 10.0
#: How often a timed-out phase is tried in all, and the first pause between two tries.
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0
#: A statement still running after this long gets its blockers looked up.
WATCH_AFTER_SECONDS = 0.3
WATCH_EVERY_SECONDS = 0.25


@dataclass(frozen=True)
class Blocker:
    """A session that held a lock sagaz-dbt's statement waited for."""

    pid: int
    user: str
    application: str
    state: str
    query: str

    def describe(self) -> str:
        app = f" ({self.application})" if self.application else ""
        query = " ".join(self.query.split())
        if len(query) > 160:
            query = query[:157] + "..."
        return f"pid {self.pid}, user {self.user}{app}, {self.state}: {query}"


class LockWaitError(WarehouseError):
    """A phase waited for a lock longer than --lock-timeout on every try; nothing of it applied."""

    def __init__(self, message: str, blockers: list[Blocker]) -> None:
        super().__init__(message)
        self.blockers = blockers


@dataclass
class WaitPolicy:
    """How long one statement may wait for a lock, and how often a phase is tried."""

    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF

    @property
    def lock_timeout_ms(self) -> int:
        return max(int(self.lock_timeout * 1000), 1)


# -- interruptible waits (psycopg2 green mode) ----------------------------------------------

_interrupt = threading.Event()
_blocked = threading.Event()
#: An interrupt that arrived while a phase was not (yet) seen waiting: the phase ends if it
#: starts waiting for another session's lock (the watcher cancels the statement).
_pending = threading.Event()


#: How often the wait looks up from the socket, and how long a cancel may go unanswered.
_POLL_SECONDS = 0.5
_CANCEL_GRACE_SECONDS = 5.0


def _interruptible_wait(conn: Any) -> None:
    """psycopg2.extras.wait_select, remembering that an interrupt cancelled the statement
    (psycopg2 then reports a QueryCanceledError, which `reraise_interrupt` turns back)."""
    import select

    from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE

    cancelled_at: float | None = None
    while True:
        try:
            state = conn.poll()
            if state == POLL_OK:
                return
            if state == POLL_READ:
                select.select([conn.fileno()], [], [], _POLL_SECONDS)
            elif state == POLL_WRITE:
                select.select([], [conn.fileno()], [], _POLL_SECONDS)
            else:
                raise conn.OperationalError(f"bad state from poll: {state}")
            if cancelled_at is not None and time.monotonic() - cancelled_at > _CANCEL_GRACE_SECONDS:
                # The server never answered the cancel (a partitioned network): give up on the
                # connection; its transaction commits nothing and the server rolls it back.
                raise KeyboardInterrupt("the cancelled statement did not end; connection abandoned")
        except KeyboardInterrupt:
            if cancelled_at is not None:
                raise  # a second interrupt, or the cancel went unanswered: stop waiting now
            _interrupt.set()
            cancelled_at = time.monotonic()
            conn.cancel()  # the server answers with an error, which ends the loop


@contextmanager
def interruptible() -> Iterator[None]:
    """Make psycopg2 statements of the main thread interruptible for the block.

    Only around sagaz-dbt's own transactions, not dbt's build: green mode refuses COPY, and
    dbt has its own interrupt handling."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        from psycopg2 import extensions
    except ImportError:  # no Postgres adapter installed
        yield
        return
    with _switch:
        previous = extensions.get_wait_callback()
        extensions.set_wait_callback(_interruptible_wait)
    _interrupt.clear()
    try:
        yield
    finally:
        with _switch:
            extensions.set_wait_callback(previous)


#: psycopg2's wait callback is process-wide, and a statement that another thread starts
#: while the main thread switches it (entering or leaving `interruptible`) fails with
#: "wait callback not available".  The switch, and every statement of sagaz-dbt's own
#: background threads (the lock's heartbeat, the blocker watch), take this lock, so no
#: statement straddles a switch: a heartbeat that failed so would drop the run's lock.
_switch = threading.RLock()


@contextmanager
def background_statement() -> Iterator[None]:
    """Around a statement run by a thread other than the main one, on a psycopg2 connection."""
    with _switch:
        yield


def reraise_interrupt(exc: BaseException) -> None:
    """If `exc` is the server's answer to a cancel an interrupt sent, raise the interrupt."""
    if _interrupt.is_set():
        _interrupt.clear()
        raise KeyboardInterrupt("interrupted while waiting for the warehouse") from exc


def waiting_on_lock() -> bool:
    """True while a sagaz-dbt statement is seen waiting for another session's lock."""
    return _blocked.is_set()


def request_interrupt(pending: bool) -> None:
    """Remember (True) or forget (False) an interrupt acknowledged while a phase was not
    waiting: should the phase start waiting for a lock, it stops then."""
    if pending:
        _pending.set()
    else:
        _pending.clear()


# -- who blocks us --------------------------------------------------------------------------

_BLOCKERS_SQL = """
select a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
       coalesce(a.query, '')
from pg_stat_activity a
where a.pid = any(pg_blocking_pids(%s))
order by a.pid
"""


@dataclass
class BlockerWatch:
    """Looks, from a connection of its own, for the sessions that block `pid`'s statement.

    The connection is opened only if the transaction is still running after
    WATCH_AFTER_SECONDS, so a phase that never waits costs nothing."""

    open_connection: Callable[[], Any]
    pid: int
    cancel: Callable[[], None] | None = None  # cancels the watched statement (psycopg2 cancel)
    seen: list[Blocker] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "BlockerWatch":
        self._thread = threading.Thread(target=self._run, name="sagaz-blocker-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Blocker]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        _blocked.clear()
        return self.seen

    def _run(self) -> None:
        if self._stop.wait(WATCH_AFTER_SECONDS):
            return
        try:
            conn = self.open_connection()
        except Exception:
            return
        try:
            while not self._stop.is_set():
                with background_statement(), conn.cursor() as cur:
                    cur.execute(_BLOCKERS_SQL, (self.pid,))
                    rows = cur.fetchall()
                if rows:
                    self.seen = [Blocker(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]
                    _blocked.set()
                    if _pending.is_set() and self.cancel is not None:
                        _interrupt.set()  # the main thread raises KeyboardInterrupt for it
                        self.cancel()
                else:
                    _blocked.clear()
                self._stop.wait(WATCH_EVERY_SECONDS)
        except Exception:
            pass
        finally:
            try:
                conn.close()
            except Exception:
                pass


#: The blockers the last timed-out transaction saw (read by `retry` for its message).
_last_blockers: list[Blocker] = []


def record_blockers(blockers: list[Blocker]) -> None:
    global _last_blockers
    _last_blockers = list(blockers)


def last_blockers() -> list[Blocker]:
    return list(_last_blockers)


# -- recognising a timed-out wait ---------------------------------------------------------

#: What a lock wait that gave up looks like, per engine: Postgres SQLSTATE 55P03
#: (lock_not_available); DuckDB does not wait, it fails a conflicting write at once.
_TIMEOUT_MARKERS = ("canceling statement due to lock timeout", "could not obtain lock", "lock timeout")
_CONFLICT_MARKERS = ("write-write conflict", "conflict on tuple deletion", "conflict on update")


def is_lock_wait(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "pgcode", None) == "55P03":
            return True
        text = str(seen).lower()
        if any(m in text for m in _TIMEOUT_MARKERS) or any(m in text for m in _CONFLICT_MARKERS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry(
    what: str,
    body: Callable[[], T],
    policy: WaitPolicy,
    notice: Callable[[str], None],
    then: str,
) -> T:
    """Run `body` (one whole phase: one transaction); on a lock wait, try again with backoff,
    then fail naming the sessions that blocked it.  `then` says what the user does next."""
    pause = policy.backoff
    for attempt in range(1, max(policy.attempts, 1) + 1):
        record_blockers([])
        try:
            return body()
        except Exception as exc:
            if not is_lock_wait(exc):
                raise
            blockers = last_blockers()
            if attempt >= policy.attempts:
                raise LockWaitError(_wait_message(what, policy, blockers, then), blockers) from exc
            notice(
                f"sagaz-dbt: {what} waited {policy.lock_timeout:g} s for a lock"
                f"{' held by ' + blockers[0].describe() if blockers else ''}; "
                f"trying again in {pause:g} s (try {attempt + 1} of {policy.attempts})."
            )
            if _pending.is_set():
                raise KeyboardInterrupt("interrupted while waiting for a lock") from exc
            _blocked.set()  # an interrupt during the pause ends it at once, too
            try:
                time.sleep(pause)
            finally:
                _blocked.clear()
            pause *= 2
    raise AssertionError("unreachable")


def _wait_message(what: str, policy: WaitPolicy, blockers: list[Blocker], then: str) -> str:
    lines = [
        f"{what} waited for a lock {policy.attempts} time(s), {policy.lock_timeout:g} s each "
        "(--lock-timeout), and gave up. Nothing of it was applied (its transaction rolled back)."
    ]
    if blockers:
        lines.append("Blocking session(s):")
        lines.extend(f"  {b.describe()}" for b in blockers)
    else:
        lines.append("The blocking session had ended by the time it was looked up.")
    lines.append(then)
    return "\n".join(lines)
