"""Incremental models.

An incremental run merges, deletes and inserts into the existing table in place, so the
pre-run rows are copied before dbt starts (O(table)).  A full refresh rebuilds the table
through dbt's backup rename instead, which the swap path keeps at zero cost.
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.strategies.base import Strategy, effective_full_refresh, has_foreign_key_contract


class IncrementalStrategy(Strategy):
    def needs_copy(self, node: Any, full_refresh: bool) -> bool:
        if effective_full_refresh(node, full_refresh):
            return has_foreign_key_contract(node)
        return True


INCREMENTAL = IncrementalStrategy(name="copy", cost="copy of the table (swap when full-refreshed)")
