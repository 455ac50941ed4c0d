"""What a run tells its user: a saga summary after dbt's own output, and a JSON report
under `target/sagaz/run_<id>.json` for machines (its schema: docs/run-report.md).

Under dbt's `--log-format json` the summary is a few JSON events instead (see
`sagaz_dbt.outputs.events`)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sagaz_dbt.outputs import events
from sagaz_dbt.saga.journal import StepRecord
from sagaz_dbt.saga.saga import SagaOutcome
from sagaz_dbt.vocabulary import NO_BACKUP_LABEL, BackupKind, RunOutcome, StepAction

#: Bumped only when a key changes meaning or disappears; new keys may appear in any version.
REPORT_VERSION = 1

#: The top-level keys of run_<id>.json, in order (docs/run-report.md documents each).
REPORT_KEYS = (
    "report_version",
    "sagaz_version",
    "run_id",
    "command",
    "status",
    "exit_code",
    "started_at",
    "finished_at",
    "dbt_success",
    "dbt_error",
    "failed_nodes",
    "steps",
    "warnings",
    "recovered_runs",
    "hook_relations",
    "message",
    "timings",
)

#: The keys of each entry of "steps".
STEP_KEYS = (
    "unique_id",
    "resource_type",
    "materialized",
    "relation",
    "existed_before",
    "type_before",
    "snapshot",
    "node_status",
    "action",
    "rows_before",
    "rows_after",
)


@dataclass
class RunReport:
    run_id: str
    command: list[str]
    status: str  # committed | rolled_back | torn | not_started | nothing_to_do
    exit_code: int
    started_at: str
    finished_at: str = ""
    dbt_success: bool | None = None
    dbt_error: str | None = None
    failed_nodes: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recovered_runs: list[str] = field(default_factory=list)
    hook_relations: list[dict[str, Any]] = field(default_factory=list)  # HookWrite.as_dict()
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (PhaseClock)

    def add_saga(self, saga: SagaOutcome, node_status: dict[str, str]) -> None:
        for outcome in saga.steps:
            step = outcome.step
            self.steps.append(
                {
                    "unique_id": step.unique_id,
                    "resource_type": step.resource_type,
                    "materialized": step.materialized,
                    "relation": {"database": step.database, "schema": step.schema, "identifier": step.identifier},
                    "existed_before": step.pre_type is not None,
                    "type_before": step.pre_type,
                    "snapshot": snapshot_label(step),
                    "node_status": node_status.get(step.unique_id, "not run"),
                    "action": outcome.action,
                    # Counted only when a consumer needs them (GitHub step summary), else null.
                    "rows_before": None,
                    "rows_after": None,
                }
            )
        self.warnings.extend(saga.warnings)

    def record_build(self, dbt: Any) -> None:
        """What the dbt invocation returned (runner.BuildOutcome)."""
        self.dbt_success = dbt.success
        self.dbt_error = str(dbt.exception) if dbt.exception is not None else None
        self.failed_nodes = [f.__dict__ for f in dbt.failed_nodes]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document, with exactly REPORT_KEYS in that order."""
        data = {"report_version": REPORT_VERSION, "sagaz_version": _sagaz_version(), **self.__dict__}
        return {key: data.get(key) for key in REPORT_KEYS}

    def write(self, target_dir: Path) -> Path:
        self.finished_at = _now()
        folder = target_dir / "sagaz"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"run_{self.run_id}.json"
        payload = self.as_dict()
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        return path


def _sagaz_version() -> str:
    from sagaz_dbt import __version__

    return __version__


def snapshot_label(step: StepRecord) -> str:
    """How the step's pre-run state was kept, in the words the README uses."""
    mode = step.detail.mode
    if mode is not None and mode.restores_rows:
        return mode.label
    if step.copy_identifier:
        return BackupKind.COPY.label
    if step.detail.isolation is not None:  # built in a shadow (isolation.py); cloned: incremental rows copied in
        return "shadow (copy)" if step.detail.cloned else "shadow"
    if step.kept_identifier:
        return BackupKind.SWAP.label
    return NO_BACKUP_LABEL


class PhaseClock:
    """Seconds spent in each phase of a run, for the report's `timings`."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into
        self.start = self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.into[phase] = round(now - self.last, 3)
        self.last = now

    def total(self) -> None:
        self.into["total"] = round(time.perf_counter() - self.start, 3)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_report(run_id: str, command: list[str]) -> RunReport:
    return RunReport(run_id=run_id, command=command, status=RunOutcome.NOT_STARTED.value, exit_code=2, started_at=_now())


def console() -> Console:
    """stdout like dbt; colour only on a terminal and never with NO_COLOR."""
    no_color = bool(os.environ.get("NO_COLOR")) or os.environ.get("DBT_USE_COLORS", "").lower() in ("0", "false")
    out = Console(no_color=no_color, highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 160)  # logs and CI: never squeeze tables to 80 columns
        out.soft_wrap = True  # nor break a message over lines, as dbt's own lines never are
    return out


def rolled_back_verdict(report: RunReport) -> str:
    """What a rollback can truthfully claim: every relation the run protected is back; what
    it did not protect (tables hooks or --store-failures wrote, an empty schema it could not
    drop) is named in the warnings, so the claim says so instead of covering the warehouse."""
    if report.warnings:
        return (
            "every relation the run protected is exactly as it was before the run; "
            f"{len(report.warnings)} warning(s) below name what it left as the run left it."
        )
    return "the warehouse is exactly as it was before the run."


def print_summary(report: RunReport, out: Console) -> None:
    if events.is_json(out):
        _emit_summary(report, out)
        return
    out.print()
    if report.status == RunOutcome.COMMITTED and "publish_transaction" in report.timings:  # --isolation publish
        published = sum(1 for s in report.steps if s["action"] == StepAction.PUBLISHED)
        out.print(
            f"[green]sagaz-dbt: run {report.run_id} committed[/green]: {published} relation(s) published in one "
            f"transaction ({report.timings['publish_transaction'] * 1000:.0f} ms)."
        )
    elif report.status == RunOutcome.COMMITTED:
        released = sum(1 for s in report.steps if s["action"] == StepAction.RELEASED)
        retained = sum(1 for s in report.steps if s["action"] == StepAction.RETAINED)
        tail = f"{released} backup(s) released."
        if retained:
            tail = f"backups of {retained} relation(s) kept: `sagaz-dbt rollback {report.run_id}` undoes this run."
        out.print(
            f"[green]sagaz-dbt: run {report.run_id} committed[/green]: {len(report.steps)} relation(s) protected; {tail}"
        )
    elif report.status == RunOutcome.ROLLED_BACK:
        out.print(f"[red]sagaz-dbt: run {report.run_id} rolled back[/red]: {rolled_back_verdict(report)}")
        table = Table(title=None, show_lines=False, header_style="bold")
        for col in ("relation", "node", "dbt status", "snapshot", "restored by"):
            table.add_column(col)
        for step in report.steps:
            rel = step["relation"]
            table.add_row(  # names are user text: cells are Text, never markup
                Text(f"{rel['schema']}.{rel['identifier']}"),
                Text(str(step["unique_id"])),
                Text(str(step["node_status"])),
                Text(str(step["snapshot"])),
                Text(str(step["action"])),
            )
        out.print(table)
    elif report.status == RunOutcome.TORN:
        out.print(f"[bold red]sagaz-dbt: run {report.run_id} is NOT restored.[/bold red] {escape(report.message)}")
    for warning in report.warnings:
        out.print(f"[yellow]sagaz-dbt warning:[/yellow] {escape(warning)}")


def _emit_summary(report: RunReport, out: Console) -> None:
    """The summary as JSON events: one for the verdict, one per warning."""
    steps = [
        {key: step[key] for key in ("unique_id", "relation", "node_status", "snapshot", "action")}
        for step in report.steps
    ]
    if report.status == RunOutcome.COMMITTED:
        retained = sum(1 for s in report.steps if s["action"] == StepAction.RETAINED)
        events.fire(
            out,
            events.RUN_COMMITTED,
            f"sagaz-dbt: run {report.run_id} committed: {len(report.steps)} relation(s) protected",
            exit_code=report.exit_code,
            relations=len(report.steps),
            backups_retained=retained,
            steps=steps,
        )
    elif report.status == RunOutcome.ROLLED_BACK:
        events.fire(
            out,
            events.RUN_ROLLED_BACK,
            f"sagaz-dbt: run {report.run_id} rolled back: {rolled_back_verdict(report)}",
            exit_code=report.exit_code,
            failed_nodes=[f.get("unique_id") for f in report.failed_nodes],
            steps=steps,
        )
    elif report.status == RunOutcome.TORN:
        events.fire(
            out,
            events.RUN_TORN,
            f"sagaz-dbt: run {report.run_id} is NOT restored. {report.message}",
            exit_code=report.exit_code,
            message=report.message,
        )
    for warning in report.warnings:
        events.fire(out, events.SAGAZ_WARNING, f"sagaz-dbt warning: {warning}", warning=warning)
