"""The library entry points: what the CLI and orchestrators (Airflow, Dagster) call.

`build(args)` takes exactly the arguments of `dbt build` and returns a `BuildResult`
instead of printing a verdict and exiting; the CLI is a thin layer over it.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rich.console import Console

from sagaz_dbt import package, report
from sagaz_dbt.args import DbtArgs
from sagaz_dbt.errors import ProjectError, SagazError, TornWarehouseError
from sagaz_dbt.journal import DEFAULT_SCHEMA, Journal, RunRecord, RunStatus
from sagaz_dbt.plan import make_plan
from sagaz_dbt.runner import BuildOutcome, DbtSession, release_connections
from sagaz_dbt.saga import Saga, SagaOutcome
from sagaz_dbt.warehouse import Warehouse

#: Arms the rename override in the macro package for the duration of one run.
RUN_ID_ENV = "SAGAZ_DBT_RUN_ID"


@dataclass
class BuildResult:
    run_id: str
    exit_code: int
    status: str  # committed | rolled_back | torn | not_started
    report: report.RunReport
    report_path: Path | None = None
    dbt: BuildOutcome | None = None
    saga: SagaOutcome | None = None
    error: SagazError | None = None
    recovered: list[SagaOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.exit_code == 0


def build(
    args: Sequence[str],
    *,
    command: str = "build",
    journal_schema: str = DEFAULT_SCHEMA,
    console: Console | None = None,
) -> BuildResult:
    """Run `dbt <command> ARGS` as a saga: on any error-severity failure, restore every
    relation the run touched; on success, leave exactly what dbt leaves."""
    out = console or report.console()
    run_id = uuid.uuid4().hex
    rpt = report.new_report(run_id, [command, *args])
    result = BuildResult(run_id=run_id, exit_code=2, status="not_started", report=rpt)
    previous = os.environ.get(RUN_ID_ENV)
    os.environ[RUN_ID_ENV] = run_id  # dbt snapshots the environment at each invocation
    target_dir: Path | None = None
    try:
        dbt_args = DbtArgs.parse(command, args)
        project_dir = dbt_args.project_dir
        if not (project_dir / "dbt_project.yml").is_file():
            raise ProjectError(f"no dbt_project.yml in {project_dir}: pass --project-dir or cd into the project")
        package.install(project_dir)
        session = DbtSession(dbt_args)
        manifest = session.parse()
        selected = session.select()
        warehouse = Warehouse(manifest)
        target_dir = Path(warehouse.config.project_root) / warehouse.config.target_path
        journal = Journal(warehouse, journal_schema)
        result.recovered = recover_unfinished(warehouse, journal, out)
        rpt.recovered_runs = [r.run_id for r in result.recovered]

        plan = make_plan(manifest, selected, dbt_args.full_refresh)
        saga = Saga(warehouse, journal, run_id)
        run = RunRecord(
            run_id=run_id,
            status=RunStatus.ARMING.value,
            project_name=str(warehouse.config.project_name),
            target_name=str(warehouse.config.target_name),
            target_schema=str(warehouse.config.credentials.schema),
            command=" ".join([command, *args]),
        )
        records = saga.arm(run, plan)

        dbt = session.build()
        result.dbt = dbt
        rpt.dbt_success = dbt.success
        rpt.dbt_error = str(dbt.exception) if dbt.exception is not None else None
        rpt.failed_nodes = [f.__dict__ for f in dbt.failed_nodes]
        node_status = {uid: o.status for uid, o in dbt.tracker.outcomes.items()}

        if dbt.exit_code == 0:
            result.saga = saga.release(records)
            result.status = rpt.status = "committed"
        else:
            result.saga = saga.compensate(
                records, touched=dbt.touched, message=_failure_message(dbt)
            )
            result.status = rpt.status = "rolled_back"
        rpt.add_saga(result.saga, node_status)
        result.exit_code = rpt.exit_code = dbt.exit_code
    except TornWarehouseError as exc:
        result.error = exc
        result.status = rpt.status = "torn"
        rpt.message = str(exc)
        result.exit_code = rpt.exit_code = exc.exit_code
    except SagazError as exc:
        result.error = exc
        rpt.message = str(exc)
        result.exit_code = rpt.exit_code = exc.exit_code
    finally:
        if previous is None:
            os.environ.pop(RUN_ID_ENV, None)
        else:
            os.environ[RUN_ID_ENV] = previous
        release_connections()
    if target_dir is not None:
        result.report_path = rpt.write(target_dir)
    report.print_summary(rpt, out)
    if result.error is not None and result.status != "torn":
        out.print(f"[red]sagaz-dbt: {result.error}[/red]\nNo relation was changed.")
    return result


def recover_unfinished(warehouse: Warehouse, journal: Journal, out: Console) -> list[SagaOutcome]:
    """Finish every interrupted run of this project and target before starting a new one."""
    project = str(warehouse.config.project_name)
    target = str(warehouse.config.target_name)
    schema = str(warehouse.config.credentials.schema)
    with warehouse.transaction("sagaz_journal_read"):
        unfinished = journal.unfinished_runs()
    outcomes: list[SagaOutcome] = []
    for run in unfinished:
        if (run.project_name, run.target_name, run.target_schema) != (project, target, schema):
            continue
        out.print(f"sagaz-dbt: run {run.run_id} was interrupted while {run.status}; finishing it first.")
        outcome = Saga(warehouse, journal, run.run_id).recover(RunStatus(run.status))
        out.print(f"sagaz-dbt: run {run.run_id} is now {outcome.status.value}.")
        outcomes.append(outcome)
    return outcomes


def _failure_message(dbt: BuildOutcome) -> str:
    if dbt.exception is not None:
        return f"dbt stopped: {dbt.exception}"
    failed = [f.unique_id for f in dbt.failed_nodes]
    return "failed: " + ", ".join(failed[:20]) + (" ..." if len(failed) > 20 else "")
