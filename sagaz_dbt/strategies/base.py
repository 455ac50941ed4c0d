"""What every snapshot strategy answers: does this node's relation need a copy before dbt runs?

Compensation itself is one state-driven macro (`restore_step`) for every kind: it swaps back
a kept backup if dbt renamed the relation away, restores a copy if one was taken, and drops
a relation the run created.  A strategy only decides which snapshot to arm, and says what it
costs, so the choice is explicit per node kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Strategy:
    name: str
    cost: str  # what arming costs, for the summary and the docs

    def needs_copy(self, node: Any, full_refresh: bool) -> bool:
        raise NotImplementedError


def effective_full_refresh(node: Any, full_refresh_flag: bool) -> bool:
    """dbt's rule: a node's `full_refresh` config wins over the --full-refresh flag."""
    configured = getattr(node.config, "full_refresh", None)
    return bool(configured) if configured is not None else full_refresh_flag


def has_foreign_key_contract(node: Any) -> bool:
    """An enforced contract with a foreign key makes dbt-duckdb rebuild the table in place."""
    contract = getattr(node.config, "contract", None)
    if not getattr(contract, "enforced", False):
        return False
    constraints = list(getattr(node, "constraints", []) or [])
    for column in (getattr(node, "columns", {}) or {}).values():
        constraints.extend(getattr(column, "constraints", []) or [])
    return any(str(getattr(c, "type", "")) == "foreign_key" for c in constraints)
