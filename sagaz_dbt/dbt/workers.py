"""dbt's worker threads, stopped before a rollback when dbt did not stop them itself.

dbt joins its worker pool when a run ends, fails fast or is interrupted
(`RunnableTask.execute_nodes`); when any other exception escapes its main thread it does
not, and the nodes it had handed to the pool keep running.  Such a node could write its
relation after sagaz-dbt restored it, leaving the warehouse neither as before the run nor
as a successful run.  So the pools one invocation opens are recorded, and before a
rollback every pool dbt left open is stopped the way dbt stops its own: closed (no node
starts), the adapter's open queries cancelled where the adapter can, then joined, within a
bound.  A worker still running after the bound means the rollback must not run in this
process: the run stays in the journal for `sagaz-dbt recover`, which acts once this
process (and with it every worker thread) has ended.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sagaz_dbt.errors import WarehouseError

#: How long a rollback waits for dbt's running nodes to finish once their queries were
#: cancelled.  A cancelled query ends in well under a second; a node stuck past this bound
#: (an adapter that cannot cancel, a long statement) is left to `recover`.
STOP_TIMEOUT_SECONDS = 60.0


@dataclass
class WorkerPools:
    """The worker pools one dbt invocation opened (dbt runs one invocation at a time per process)."""

    pools: list[Any] = field(default_factory=list)

    @contextmanager
    def recording(self) -> Iterator["WorkerPools"]:
        """Record every pool `dbt.task.runnable` opens while the block runs.  dbt looks its
        pool class up in that module at each run, so a subclass put there for the
        invocation sees every pool, and the original is put back whatever happens."""
        import dbt.task.runnable as runnable

        original = runnable.DbtThreadPool
        pools = self.pools

        class RecordedPool(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                pools.append(self)

        runnable.DbtThreadPool = RecordedPool
        try:
            yield self
        finally:
            runnable.DbtThreadPool = original

    def left_open(self) -> list[Any]:
        """Pools dbt neither closed nor joined (it does both on every ending it handles)."""
        return [pool for pool in self.pools if not pool.is_closed()]

    def stop(self, cancel: Callable[[], None] | None = None, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every pool dbt left open; True once no worker runs a node any more.

        `cancel` cancels the adapter's open queries (dbt's own `cancel_open_connections`);
        its failure is not fatal: the join below is what decides."""
        open_pools = self.left_open()
        if not open_pools:
            return True
        for pool in open_pools:
            pool.close()  # no node starts from here on
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: BLE001 - best effort, as dbt's own cancel on Ctrl-C
                pass
        deadline = time.monotonic() + timeout
        for pool in open_pools:
            joiner = threading.Thread(target=_terminate_and_join, args=(pool,), name="sagaz-stop-dbt-workers", daemon=True)
            joiner.start()
            joiner.join(max(0.0, deadline - time.monotonic()))
            if joiner.is_alive():
                return False
        return True


def _terminate_and_join(pool: Any) -> None:
    """Drop the nodes still queued, then wait for the running ones (ThreadPool's terminate
    does not join thread workers; join does)."""
    pool.terminate()
    pool.join()


def cancel_open_queries(adapter: Any) -> None:
    """dbt's own cancel on Ctrl-C (`RunnableTask._cancel_connections`), without its events."""
    if not adapter.is_cancelable():
        return
    with adapter.connection_named("master"):
        adapter.cancel_open_connections()


def stop_before_rollback(pools: WorkerPools, exception: BaseException, adapter: Any, run_id: str) -> None:
    """dbt stopped abnormally (`exception`): stop the pools it left running before any
    relation is restored; when a node outlives the bound, refuse to race it (exit 2) and
    leave the run, still unfinished in the journal, to `recover`."""
    if pools.stop(cancel=lambda: cancel_open_queries(adapter)):
        return
    raise WarehouseError(
        f"dbt stopped ({exception}) and one of its worker threads was still running a node "
        f"{STOP_TIMEOUT_SECONDS:.0f} s after its queries were cancelled: the rollback did not start, so as not "
        f"to race it. The journal holds run {run_id}: `sagaz-dbt recover` finishes its rollback once this "
        "process has ended."
    )
