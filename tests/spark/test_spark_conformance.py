"""Spark (dbt-spark, session mode, parquet) runs the engine conformance spec
(tests/conformance/conformance_spec.py) on the shop project, in this tier's one Spark
session per worker (tests/spark/conftest.py), a schema per project.

What differs on Spark is data, not branches: the shop project's snapshot is off there
(dbt-spark builds snapshots only on Delta/Hudi tables) and orders_current overwrites one
partition per order instead of delete+insert (dbt-spark has no delete+insert).  What
Spark cannot protect is not skipped: the refusal scenarios below assert that sagaz-dbt
refuses it before anything changes.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import pytest

from conformance.conformance_spec import EngineConformance
from helpers.project import Project, assert_same_state

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]


class TestSpark(EngineConformance):
    engine = "spark"
    shop_relations = 13  # no snapshot
    seed_restored_by = "swapped back"  # dbt-spark drops and re-creates a seed: the drop was kept
    journal_objects = ["sagaz.sagaz_marks", "sagaz.sagaz_runs", "sagaz.sagaz_runs_log", "sagaz.sagaz_steps", "sagaz.sagaz_steps_log"]
    day2_new_rows = {"payments_log": 3, "orders_current": 2}
    independent_of_fct_orders = frozenset({"model.shop.payments_log", "model.shop.orders_current"})

    # -- what Spark cannot protect is refused, changing nothing ----------------------------

    #: name -> (extra args, file to write or None, what the refusal names)
    REFUSED: ClassVar[dict[str, tuple[list[str], tuple[str, str] | None, str]]] = {
        "snapshot": (["--vars", "{spark_snapshots: true}"], None, "snapshots on Spark"),
        "merge": (
            [],
            (
                "models/incremental/orders_merged.sql",
                "{{ config(incremental_strategy='merge', unique_key='order_id') }}\n"
                "select order_id, status from {{ ref('stg_orders') }}\n",
            ),
            "incremental_strategy 'merge'",
        ),
    }

    def test_unprotectable_nodes_are_refused(self, built: Callable[..., Project], subtests: Any) -> None:
        project = built(self.engine)
        before = project.state()
        project.use_seed_data("day2")  # a run that went ahead would change every seed
        for kind, (args, model, named) in self.REFUSED.items():
            with subtests.test(refused=kind):
                written = project.write(*model) if model else None
                try:
                    result = project.sagaz(*args)
                finally:
                    if written:
                        written.unlink()
                assert result.exit_code == 2, f"{result.status}: {result.error}\n{project.last_output}"
                assert named in str(result.error) and "nothing was changed" in str(result.error), result.error
                assert_same_state(before, project.state(), f"after the refused {kind}")
                assert project.leftovers() == []
