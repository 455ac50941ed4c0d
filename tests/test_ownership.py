"""Whether an unfinished run's owner may still be running (sagaz_dbt.saga.ownership.owner_alive).

The integration side (a live owner refused on the real Postgres) is in test_faults_lock.py;
this covers the decision table, including the other-host heartbeat that one machine cannot
produce for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from sagaz_dbt.saga.journal import RunRecord
from sagaz_dbt.saga.ownership import HEARTBEAT_STALE_SECONDS, owner_alive


def _run(**owner) -> RunRecord:
    return RunRecord(run_id="r", status="building", owner_token="t", **owner)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    return proc.pid


HERE = socket.gethostname()


@pytest.mark.parametrize(
    "owner, alive",
    [
        ({}, False),  # a journal older than ownership: no owner recorded
        ({"owner_host": HERE, "owner_pid": os.getpid()}, False),  # this process runs one run at a time
        ({"owner_host": HERE, "owner_pid": os.getppid()}, True),  # a live process on this host
        ({"owner_host": HERE, "owner_pid": "dead"}, False),
        ({"owner_host": "elsewhere", "owner_pid": 1, "heartbeat_epoch": 1000.0, "read_epoch": 1005.0}, True),
        (
            {"owner_host": "elsewhere", "owner_pid": 1, "heartbeat_epoch": 1000.0,
             "read_epoch": 1000.0 + HEARTBEAT_STALE_SECONDS + 1},
            False,
        ),
    ],
    ids=["no-owner", "this-process", "live-pid", "dead-pid", "fresh-heartbeat", "stale-heartbeat"],
)
def test_owner_alive(owner: dict, alive: bool) -> None:
    if owner.get("owner_pid") == "dead":
        owner = {**owner, "owner_pid": _dead_pid()}
    reason = owner_alive(_run(**owner))
    assert (reason is not None) == alive, reason


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf"])
def test_bad_lock_timeout_is_a_usage_error(value: str) -> None:
    from sagaz_dbt.errors import UsageError
    from sagaz_dbt.dbt.options import split_args

    with pytest.raises(UsageError, match="--lock-timeout"):
        split_args(["--lock-timeout", value])


def test_lock_timeout_is_taken_out_of_dbt_args() -> None:
    from sagaz_dbt.dbt.options import split_args

    split = split_args(["--lock-timeout=2.5", "--select", "x"])
    assert split.options.lock_timeout == 2.5 and split.dbt_args == ["--select", "x"]
