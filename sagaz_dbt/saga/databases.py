"""Runs that would write more than one database in one transaction are refused.

Every phase of a run (arming, release, rollback, recovery) is one warehouse transaction
that changes the run's relations and its journal together: that is what makes a crash
leave either the old state or the new one.  DuckDB lets one transaction write only one
attached database ("a single transaction can only write to a single attached database"),
so a profile with `attach:` whose models write to an attached database cannot be
protected: the release or the rollback would fail half-way and block every later build.
Such a run is refused before anything is armed.  Reading an attached database (sources
there) is fine: only the databases the run writes count.
"""

from __future__ import annotations

from typing import Iterable

from sagaz_dbt.engines import Engine
from sagaz_dbt.errors import UsageError
from sagaz_dbt.saga.plan import PlannedStep

def refuse_other_databases(plan: Iterable[PlannedStep], journal_database: str, engine: Engine) -> None:
    """Raise a UsageError (exit 2, nothing changed) if a step writes outside the journal's
    database, on an engine whose transactions cannot write several (none so far can: DuckDB
    refuses it, and dbt-postgres cannot reach another database at all)."""
    if engine.multi_database_transactions:
        return
    home = journal_database.lower()  # DuckDB and Postgres-unquoted database names: case-insensitive here
    outside = [step for step in plan if (step.database or journal_database).lower() != home]
    if not outside:
        return
    shown = ", ".join(f"{s.unique_id} (database {s.database})" for s in outside[:5])
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    raise UsageError(
        f"this run writes to a database other than {journal_database}, where its journal lives: {shown}{more}. "
        f"A {engine.adapter_type} transaction can write only one database, so sagaz-dbt could not release or roll "
        "back such a run in one step, and refuses it before changing anything. Build only the models of "
        f"{journal_database} through sagaz-dbt (--select/--exclude), and the others with plain dbt or in a "
        "profile whose main database is theirs."
    )
