"""Seeds: dbt truncates and reloads (or drops and recreates) the table, so it is copied
first.  Seeds are small by design."""

from __future__ import annotations

from typing import Any

from sagaz_dbt.strategies.base import Strategy


class SeedStrategy(Strategy):
    def needs_copy(self, node: Any, full_refresh: bool) -> bool:
        return True


SEED = SeedStrategy(name="copy", cost="copy of the seed table")
