"""The commands sagaz-dbt adds around dbt's: build (a saga), recover, and the run history.

    target.py   the target a command acts on: open_target, Target (lock, journal, ownership)
    build.py    build: explicit phases, one rule for what a stop leaves
    recover.py  recover: finish interrupted runs
    history.py  runs, rollback, gc

This package's own namespace re-exports `sagaz_dbt.dbt.kinds` only (which dbt commands are
sagas, and how a `dbt` command line splits up): the command modules load dbt's runner and the
saga.  The library entry points are in `sagaz_dbt.api`.
"""

from sagaz_dbt.dbt.kinds import (
    RESOURCE_TYPES,
    CommandKind,
    CommandLine,
    dbt_commands,
    dbt_group,
    kind_of,
    split_command_line,
    stores_failures,
)

__all__ = [
    "RESOURCE_TYPES",
    "CommandKind",
    "CommandLine",
    "dbt_commands",
    "dbt_group",
    "kind_of",
    "split_command_line",
    "stores_failures",
]
