"""The library entry points: what the CLI and orchestrators (Airflow, Dagster) call.

`build(args)` takes exactly the arguments of `dbt build` (plus sagaz-dbt's few own flags)
and returns a `BuildResult` instead of printing a verdict and exiting; `recover`, `runs`,
`rollback` and `gc` take the same project/profile/target flags.  The CLI is a thin layer.

The commands live in `sagaz_dbt.commands` (one module each); this module keeps the names
they always had here.
"""

from __future__ import annotations

from sagaz_dbt.commands.build import BuildResult, build
from sagaz_dbt.commands.history import RunSummary, gc, rollback, runs
from sagaz_dbt.commands.recover import recover, recover_unfinished
from sagaz_dbt.commands.target import JOURNAL_ENV, RUN_ID_ENV, Target, open_target

__all__ = [
    "BuildResult",
    "JOURNAL_ENV",
    "RUN_ID_ENV",
    "RunSummary",
    "Target",
    "build",
    "gc",
    "open_target",
    "recover",
    "recover_unfinished",
    "rollback",
    "runs",
]
