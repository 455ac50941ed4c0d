"""dbt's worker pool after an abnormal stop (sagaz_dbt/dbt/workers.py), on dbt's own pool class.

dbt joins its pool on every ending it handles; when another exception escapes its main
thread it does not.  These tests open the pool as `dbt.task.runnable` does, leave it as such
a stop leaves it (a node running, nodes queued), and check that `stop()` starts no queued
node, cancels, waits for the running one, and says False when the bound passes first.
"""

from __future__ import annotations

import threading
import time

import dbt.task.runnable as runnable

from sagaz_dbt.dbt.workers import WorkerPools


def _pool_left_running(pools: WorkerPools, node: threading.Event, started: threading.Event, ran: list[str]):
    with pools.recording():
        pool = runnable.DbtThreadPool(1)  # looked up in dbt's module, as execute_nodes does

    def running_node() -> None:
        started.set()
        node.wait(30)
        ran.append("running")

    pool.apply_async(running_node)
    pool.apply_async(lambda: ran.append("queued"))
    assert started.wait(10)
    return pool


def test_recording_sees_dbt_pools_and_puts_the_class_back() -> None:
    original = runnable.DbtThreadPool
    pools = WorkerPools()
    with pools.recording():
        pool = runnable.DbtThreadPool(1)
    assert runnable.DbtThreadPool is original
    assert pools.pools == [pool] and isinstance(pool, original)
    pool.close()
    pool.join()
    assert pools.left_open() == [] and pools.stop(timeout=1) is True


def test_stop_cancels_waits_for_the_running_node_and_starts_no_queued_one() -> None:
    pools, node, started, ran = WorkerPools(), threading.Event(), threading.Event(), []
    _pool_left_running(pools, node, started, ran)
    cancelled: list[bool] = []

    def cancel() -> None:  # stands for the adapter's query cancel: the node then ends
        cancelled.append(True)
        threading.Timer(0.2, node.set).start()

    assert pools.stop(cancel=cancel, timeout=10) is True
    assert cancelled == [True]
    assert ran == ["running"], "the running node was waited for, the queued one never started"
    time.sleep(0.2)
    assert ran == ["running"]


def test_stop_says_false_when_a_node_outlives_the_bound() -> None:
    pools, node, started, ran = WorkerPools(), threading.Event(), threading.Event(), []
    _pool_left_running(pools, node, started, ran)
    failing = lambda: (_ for _ in ()).throw(RuntimeError("adapter cannot cancel"))  # noqa: E731
    assert pools.stop(cancel=failing, timeout=0.3) is False
    assert ran == []
    node.set()  # let the thread end


def test_dbt_opens_its_node_pools_only_where_recording_sees_them() -> None:
    """The recording replaces `dbt.task.runnable.DbtThreadPool` for the invocation: it sees
    every pool only while dbt builds its node pools there and nowhere else, by looking the
    name up in that module at run time.  A dbt that opens a pool (or worker threads)
    elsewhere would escape the stop before a rollback: this fails on such a dbt."""
    import ast
    from pathlib import Path

    import dbt

    roots = [Path(p) for p in dbt.__path__]
    made: list[str] = []
    for root in roots:
        for source in root.rglob("*.py"):
            relative = source.relative_to(root).as_posix()
            if relative.startswith("adapters/") or relative.startswith("include/"):
                continue  # adapters' connection threads and catalog executors: not node pools
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in ("DbtThreadPool", "ThreadPool", "ThreadPoolExecutor", "Pool", "Thread"):
                        shape = "module global" if isinstance(func, ast.Name) else "attribute"
                        made.append(f"{relative}:{name}:{shape}")
    assert made == ["task/runnable.py:DbtThreadPool:module global"], made
