"""What every snapshot strategy answers: which snapshot protects this node's relation?

Compensation is one state-driven macro (`restore_step`) for every kind: it swaps back a kept
backup if dbt renamed the relation away, restores rows from a row-level backup or a copy if
one was taken, and drops a relation the run created.  A strategy only decides which
snapshot to arm, and says what it costs, so the choice is explicit per node kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sagaz_dbt.engines import Engine
from sagaz_dbt.vocabulary import BackupKind


@dataclass(frozen=True)
class Snapshot:
    """How one node's pre-run state is kept (`kind`: see BackupKind)."""

    kind: BackupKind
    key_columns: tuple[str, ...] = ()
    scd: dict[str, str | None] = field(default_factory=dict)  # snapshot meta column names
    window: dict[str, str | None] = field(default_factory=dict)  # event_time, start, end (None: open)
    notice: str | None = None  # said once per model when sagaz-dbt falls back to a copy

    @property
    def row_level(self) -> bool:
        return self.kind.row_level


@dataclass(frozen=True)
class RunContext:
    """What a strategy may need to know of the run besides the node: the flags that change
    what dbt writes, the engine, and when the run started (microbatch windows hang on it)."""

    full_refresh: bool = False
    engine: Engine | None = None  # None only where no node of a model is planned (hook relations)
    event_time_start: datetime | None = None
    event_time_end: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class Strategy:
    """Chooses the snapshot (a BackupKind and its parameters) for one kind of node."""

    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        raise NotImplementedError


def effective_full_refresh(node: Any, run: RunContext) -> bool:
    """dbt's rule: a node's `full_refresh` config wins over the --full-refresh flag."""
    configured = getattr(node.config, "full_refresh", None)
    return bool(configured) if configured is not None else run.full_refresh


def rebuilt_in_place(node: Any, run: RunContext) -> bool:
    """Whether dbt's adapter rebuilds this table in place instead of by the rename swap
    (dbt-duckdb, for a table with an enforced foreign-key contract): its pre-run state must
    then be copied, as no backup rename happens to keep."""
    engine = run.engine
    return engine is not None and engine.rebuilds_foreign_key_tables_in_place and has_foreign_key_contract(node)


def has_foreign_key_contract(node: Any) -> bool:
    """An enforced contract with a foreign key.""" 
    contract = getattr(node.config, "contract", None)
    if not getattr(contract, "enforced", False):
        return False
    constraints = list(getattr(node, "constraints", []) or [])
    for column in (getattr(node, "columns", {}) or {}).values():
        constraints.extend(getattr(column, "constraints", []) or [])
    return any(str(getattr(c, "type", "")) == "foreign_key" for c in constraints)


def sagaz_meta(node: Any) -> dict[str, Any]:
    """The model's `meta.sagaz` block (config or node meta), e.g. {"partition_by": "day"}."""
    for meta in (getattr(node.config, "meta", None), getattr(node, "meta", None)):
        if isinstance(meta, dict) and isinstance(meta.get("sagaz"), dict):
            return dict(meta["sagaz"])
    return {}


def as_columns(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):  # dbt-bigquery style partition_by: {"field": ...}
        return as_columns(value.get("field"))
    return tuple(str(v) for v in value)
