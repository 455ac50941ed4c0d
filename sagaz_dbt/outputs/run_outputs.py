"""What a build tells the world besides dbt's own output, wired in at a few points of
`api.build`: the `RunArmed` and `CompensationStarted` events, OpenLineage events, row
counts for the GitHub summary, `--junit-xml` and `$GITHUB_STEP_SUMMARY`.

Nothing here may change a run's outcome: every hook swallows its own errors and turns them
into a warning of the run report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.console import Console
from rich.markup import escape

from sagaz_dbt.outputs import events, github, junit
from sagaz_dbt.errors import SagazError
from sagaz_dbt.dbt.options import split_args


class RunOutputs:
    def __init__(self, args: Sequence[str], out: Console, run_id: str, command: str) -> None:
        self.args = list(args)
        self.out = out
        self.run_id = run_id
        self.command = command
        self.lineage: Any = None
        self.row_counts: dict[str, dict[str, int | None]] = {}
        self.warnings: list[str] = []

    # -- during the run -------------------------------------------------------------------

    def armed(self, target: Any, records: list[Any]) -> None:
        """The snapshots are taken and dbt is about to start."""
        kept = sum(1 for r in records if r.kept_identifier and not r.copy_identifier)
        copied = sum(1 for r in records if r.copy_identifier)
        new = sum(1 for r in records if r.pre_type is None)
        msg = (
            f"sagaz-dbt: run {self.run_id} armed: {len(records)} relation(s) protected "
            f"({kept} kept by rename, {copied} copied, {new} new)"
        )
        events.fire(
            self.out,
            events.RUN_ARMED,
            msg,
            markup=f"[dim]{escape(msg)}[/dim]",
            relations=len(records),
            kept=kept,
            copied=copied,
            new=new,
        )
        self._guard("OpenLineage", lambda: self._start_lineage(target))

    def dbt_callbacks(self) -> list[Callable[[Any], None]]:
        return [self.lineage.on_dbt_event] if self.lineage is not None else []

    def compensating(self, target: Any, records: list[Any], dbt: Any) -> None:
        """dbt failed; the rollback is about to start."""
        touched = dbt.touched
        changed = [r for r in records if r.unique_id in touched]
        msg = (
            f"sagaz-dbt: rolling back run {self.run_id}: restoring {len(changed)} changed relation(s) "
            f"of {len(records)} to their pre-run state"
        )
        events.fire(
            self.out,
            events.COMPENSATION_STARTED,
            msg,
            relations=len(records),
            changed=len(changed),
            failed_nodes=[f.unique_id for f in dbt.failed_nodes],
        )
        if github.summary_path() is not None:
            self._guard("row counts", lambda: self._count(target, changed, "rows_after"))
        self._changed = changed

    def compensated(self, target: Any) -> None:
        """The rollback committed: count what the restored relations hold again."""
        changed = getattr(self, "_changed", [])
        if changed and github.summary_path() is not None:
            self._guard("row counts", lambda: self._count(target, changed, "rows_before"))

    # -- at the end -----------------------------------------------------------------------

    def finished(self, result: Any) -> None:
        """The verdict is known: fill in row counts, send lineage, write the CI files."""
        rpt = result.report
        for step in rpt.steps:
            counts = self.row_counts.get(step["unique_id"], {})
            step["rows_before"] = counts.get("rows_before")
            step["rows_after"] = counts.get("rows_after")
        if self.lineage is not None:
            self._guard("OpenLineage", lambda: self.lineage.finish(result))
            self.warnings.extend(self.lineage.warnings)
        path = self._junit_path()
        if path:
            self._guard("--junit-xml", lambda: junit.write(result, Path(path)))
        summary = github.summary_path()
        if summary is not None:
            self._guard("GitHub step summary", lambda: github.append(result, summary))
        rpt.warnings.extend(w for w in self.warnings if w not in rpt.warnings)

    # -- helpers --------------------------------------------------------------------------

    def _junit_path(self) -> str | None:
        try:
            return split_args(self.args).options.junit_xml
        except SagazError:
            return None

    def _start_lineage(self, target: Any) -> None:
        from sagaz_dbt.outputs import lineage

        try:
            self.lineage = lineage.for_run(target, self.run_id, self.command)
        except ImportError:
            self.warnings.append(
                "OpenLineage is configured but openlineage-python is not installed: "
                "`pip install 'sagaz-dbt[lineage]'` to emit lineage events"
            )
            return
        if self.lineage is not None:
            self.lineage.start()

    def _count(self, target: Any, records: list[Any], key: str) -> None:
        """Exact row counts of the tables among `records` (views are not counted)."""
        warehouse = target.warehouse
        steps = [
            {"unique_id": r.unique_id, "database": r.database, "schema": r.schema, "identifier": r.identifier}
            for r in records
        ]
        with warehouse.transaction("sagaz_count"):
            counts = warehouse.call("count_rows", steps=steps) or {}
        for unique_id, rows in counts.items():
            self.row_counts.setdefault(unique_id, {})[key] = int(rows)

    def _guard(self, what: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:
            if os.environ.get("SAGAZ_DEBUG"):
                import traceback

                traceback.print_exception(exc)
            self.warnings.append(f"{what}: {type(exc).__name__}: {exc}")
