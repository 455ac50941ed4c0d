"""The target a command acts on: the parsed project bound to its warehouse, journal and lock.

Every command (build, recover, runs, rollback, gc) starts by opening its target; those that
change the warehouse hold it locked (`Target.locked`) and check before each phase that they
still own it (`Target.ensure_owner`).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from rich.console import Console
from rich.markup import escape

from sagaz_dbt.dbt import compiled_macros, package

from sagaz_dbt.runtime import waits
from sagaz_dbt.dbt.args import DbtArgs
from sagaz_dbt.errors import ProjectError
from sagaz_dbt.saga.journal import Journal, RunRecord, StepRecord
from sagaz_dbt.runtime.lock import PROCESS_LOCK, TargetLock, target_lock
from sagaz_dbt.dbt.options import SagazOptions, split_args
from sagaz_dbt.saga.ownership import Owner, OwnerAliveError, owner_alive
from sagaz_dbt.dbt.session import DbtSession, release_connections
from sagaz_dbt.saga.saga import Saga
from sagaz_dbt.dbt.standin import make_standin
from sagaz_dbt.backups import RunContext
from sagaz_dbt.vocabulary import UNFINISHED, RunStatus
from sagaz_dbt.dbt.warehouse import Warehouse

#: Arms the rename override in the macro package for the duration of one run.
RUN_ID_ENV = "SAGAZ_DBT_RUN_ID"
#: Where the armed overrides find this run's journal.
JOURNAL_ENV = "SAGAZ_DBT_JOURNAL"
#: Set when vars.sagaz.isolate_backups asks DuckDB to copy instead of keeping in place (naming.sql).
ISOLATE_ENV = "SAGAZ_DBT_ISOLATE_BACKUPS"


@dataclass
class Target:
    """A parsed project bound to its warehouse and journal."""

    args: DbtArgs
    options: SagazOptions
    session: DbtSession
    warehouse: Warehouse
    journal: Journal
    target_dir: Path  # dbt's target/ folder (respects --target-path)
    identity: tuple[str, str, str]  # project, target name, target schema: whose runs are whose
    owner: Owner | None = None  # while the target is locked: this process's claim on its runs
    unfinished: list[RunRecord] | None = None  # while locked: the unfinished runs read on locking

    def own_runs(self, statuses: list[RunStatus] | None = None, migrate: bool = True) -> list[RunRecord]:
        """This target's runs; `migrate=False` for reads that must write nothing."""
        with self.warehouse.transaction("sagaz_journal_read"):
            runs = self.journal.runs(statuses, migrate=migrate)
        return [r for r in runs if (r.project_name, r.target_name, r.target_schema) == self.identity]

    def steps(self, run_id: str, migrated: bool = True) -> list[StepRecord]:
        with self.warehouse.transaction("sagaz_journal_read"):
            return self.journal.steps(run_id, migrated=migrated)

    @contextmanager
    def locked(self, out: Console) -> Iterator[None]:
        """Hold the target, and only while no unfinished run's owner is alive: such a run
        lost its lock but goes on, so nobody else may act.  With --wait, queue behind it
        (letting the lock go, so that it can take it back); without, refuse at once."""
        deadline = time.monotonic() + self.options.wait_timeout
        announced = False
        while True:
            with target_lock(
                self.lock,
                wait=self.options.wait,
                timeout=max(deadline - time.monotonic(), 0.0),
                describe_holder=self._describe_holder,
                on_wait=lambda msg: out.print(f"sagaz-dbt: {escape(msg)}"),
            ) as lock:
                unfinished = self.own_runs(UNFINISHED)
                live = [(run, why) for run in unfinished if (why := owner_alive(run)) is not None]
                if not live:
                    lock.interrupt_on_loss()
                    self.owner, self.unfinished = Owner.new(lock.lock_pid), unfinished
                    try:
                        yield
                    finally:
                        self.owner = self.unfinished = None
                    return
                if not self.options.wait or time.monotonic() > deadline:
                    raise owner_alive_error(*live[0])
            if not announced:
                out.print(f"sagaz-dbt: waiting for run {live[0][0].run_id}, which lost its lock but is still running")
                announced = True
            time.sleep(1.0)

    @property
    def lock(self) -> TargetLock:
        return self.warehouse.locking

    def ensure_owner(self, out: Console) -> Owner:
        """Before every phase: this process must still hold the target (else LockLostError).
        A lock the server dropped is taken back when nobody else holds it; the phase's
        journal claim then proves nobody acted on the run meanwhile."""
        assert self.owner is not None, "ensure_owner outside `locked`"
        if self.lock.ensure_held():
            self.owner = self.owner.with_lock_pid(self.lock.lock_pid)
            out.print("sagaz-dbt: the connection holding this run's lock was lost; the lock was free, so it was taken back.")
        return self.owner


    @property
    def config_schema(self) -> str:
        return self.identity[2]

    def run_context(self) -> RunContext:
        params = self.args.params
        return RunContext(
            full_refresh=self.args.full_refresh,
            engine=self.warehouse.engine,
            event_time_start=params.get("event_time_start"),
            event_time_end=params.get("event_time_end"),
        )

    def _describe_holder(self) -> str:
        try:
            running = self.own_runs(UNFINISHED, migrate=False)  # another run holds the lock
        except Exception:
            return "a run whose journal entry could not be read"
        if not running:
            return "a run that has not written its journal entry yet"
        last = running[-1]
        return f"run {last.run_id}, {last.status} since {last.started_at}: {last.command}"


def open_target(
    command: str, tokens: Sequence[str], options: SagazOptions, out: Console | None = None
) -> Target:
    """Validate the arguments, install the macro package and parse the project once.

    With `out` (recovery and the history commands), a project that no longer parses is
    replaced by a stand-in that holds only sagaz-dbt's macros: restoring the warehouse must
    not wait for someone to fix a model."""
    dbt_args = DbtArgs.parse(command, tokens)
    project_dir = dbt_args.project_dir
    if not (project_dir / "dbt_project.yml").is_file():
        raise ProjectError(f"no dbt_project.yml in {project_dir}: pass --project-dir or run from the project folder")
    if out is None:  # dbt's "run dbt deps", before ours is installed; recovery falls back to a stand-in
        package.check_dependencies_installed(project_dir)
    package.install(project_dir)
    session = DbtSession(dbt_args)
    try:
        manifest = session.parse()
    except ProjectError as exc:
        if out is None:
            raise
        standin = make_standin(project_dir)
        out.print(f"sagaz-dbt: the project does not parse ({escape(str(exc))}); using a stand-in with only sagaz-dbt's macros.")
        dbt_args = DbtArgs.parse(command, [*tokens, "--project-dir", str(standin)])
        session = DbtSession(dbt_args)
        manifest = session.parse()
    warehouse = Warehouse(manifest)
    warehouse.journal_schema = options.journal_schema
    warehouse.locking = warehouse.engine.lock(warehouse)  # an unsupported adapter is refused here
    warehouse.waits = waits.WaitPolicy(lock_timeout=options.lock_timeout)
    config = warehouse.config
    return Target(
        args=dbt_args,
        options=options,
        session=session,
        warehouse=warehouse,
        journal=Journal(warehouse, options.journal_schema),
        target_dir=Path(config.project_root) / config.target_path,
        identity=(str(config.project_name), str(config.target_name), str(config.credentials.schema)),
    )


@contextmanager
def maintenance(args: Sequence[str], out: Console | None, lock: bool = True) -> Iterator[Target]:
    """The set-up the commands other than build share: the target, parsed (or stood in for,
    when `out` is given and the project no longer parses), locked unless only read."""
    split = split_args(args)
    with one_command(None):
        try:
            target = open_target("build", split.dbt_args, split.options, out=out)
            if lock:
                assert out is not None
                with target.locked(out):
                    yield target
            else:
                yield target
        finally:
            release_connections()


@contextmanager
def one_command(run_id: str | None) -> Iterator[None]:
    """What every sagaz-dbt command runs inside: alone in this process (PROCESS_LOCK),
    with dbt's compiled macros kept between processes (dbt/compiled_macros.py), and
    `run_id` armed (None: disarmed)."""
    with PROCESS_LOCK, compiled_macros.cached(), armed(run_id):
        yield


@contextmanager
def armed(run_id: str | None) -> Iterator[None]:
    """Set (or clear) the variable that arms the macro package's rename override; dbt
    snapshots the environment at each invocation, so it must be set before parsing."""
    previous = os.environ.get(RUN_ID_ENV)
    if run_id is None:
        os.environ.pop(RUN_ID_ENV, None)
    else:
        os.environ[RUN_ID_ENV] = run_id
    try:
        yield
    finally:
        os.environ.pop(JOURNAL_ENV, None)
        os.environ.pop(ISOLATE_ENV, None)
        if previous is None:
            os.environ.pop(RUN_ID_ENV, None)
        else:
            os.environ[RUN_ID_ENV] = previous


def owner_alive_error(run: RunRecord, why: str) -> OwnerAliveError:
    return OwnerAliveError(
        f"run {run.run_id} is unfinished ({run.status}) and {why}: it lost its lock on this target but "
        "still owns its relations, so sagaz-dbt will not touch them. Nothing was changed. Wait for that run "
        "to finish (it takes its lock back before its next step), or pass --wait to queue behind it; if its "
        "process is truly gone, run `sagaz-dbt recover` once it has exited (another host: once its heartbeat "
        "is 30 s old)."
    )


def still_owner(target: Target, saga: Saga, out: Console) -> None:
    """The guard before (and inside, just before the commit of) every phase."""
    saga.owner = target.ensure_owner(out)
