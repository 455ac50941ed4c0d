"""The engine conformance spec: what every engine sagaz-dbt supports must do, as scenarios
on the shop project (tests/projects/shop), each checked on the warehouse's rows.

    class TestMyEngine(EngineConformance):
        engine = "myengine"   # a key of tests/conftest.py's `project` fixture

is all a new engine adds (tests/conformance/test_<engine>_engine.py) to inherit the whole
spec.  An expectation that truly differs per engine is a class attribute here, overridden
in the subclass, never an `if engine == ...` in a scenario.

Every scenario also runs in isolation mode (`--isolation publish`, issue 16): a subclass
that sets `isolation = IsolationMode.PUBLISH` (TestDuckDBIsolated, TestPostgresIsolated)
runs each sagaz-dbt invocation with the flag.  What the modes do differently by design is
said once, in MODES; the scenarios and their warehouse checks are the same.

The scenarios:
- success: a first build, and a second run with new data (incremental, and with
  --full-refresh), leave exactly what plain `dbt build` leaves on a twin warehouse;
- failure: a failing singular test, a failing test on a seed, a model error mid-DAG, a
  failing `--select` subset, and a failing full refresh each restore the warehouse exactly;
  relations the run created are dropped; a failed first build leaves an empty warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from helpers.inspect import JOURNAL_SCHEMA, JOURNAL_TABLES
from helpers.outcomes import actions, assert_committed, assert_rolled_back, statuses
from helpers.project import Project, assert_same_state
from sagaz_dbt.vocabulary import IsolationMode, StepAction, is_restoring

SINGULAR_TEST = "test.shop.assert_revenue_reconciles"

#: name -> (extra args, unique id prefix of the node that fails)
FAILURES = {
    "failing_singular_test": (["--vars", "{fail_singular: true}"], SINGULAR_TEST),
    "failing_generic_test_on_seed": (["--vars", "{min_payment_amount: 1000}"], "test.shop.at_least_payments_amount"),
    "model_error_mid_dag": (["--vars", "{break_model: true}"], "model.shop.fct_orders"),
    "select_subset_with_failure": (["--select", "stg_orders+", "--vars", "{fail_singular: true}"], SINGULAR_TEST),
    # Full refresh: seeds are dropped and recreated, incremental models rebuilt through a swap.
    "full_refresh_with_failure": (["--full-refresh", "--vars", "{fail_singular: true}"], SINGULAR_TEST),
}


@dataclass(frozen=True)
class ModeOutcomes:
    """Where a run in one `--isolation` mode ends differently from the other by design (the
    warehouse checks never differ: a success equals plain dbt's warehouse, a failure leaves
    the pre-run warehouse, and no sagaz-named relation is left either way)."""

    #: Added to every sagaz-dbt invocation.
    flags: tuple[str, ...]
    #: A failed run had written production and put it back (the default mode), or production
    #: was never written (isolation: the report says every relation is untouched).
    failure_restores: bool
    #: What the report says a failed run did to a relation it was to create: dropped it (the
    #: default mode), or left it untouched (isolation: only its shadow existed, and is dropped).
    created_then_failed: str
    #: Every step's action after a committed run, or None where the modes' release differs
    #: per step (the default mode: released, no backup, ...).
    committed_action: str | None
    #: The journal tables a first build creates (isolation adds no post-hook, so no marks).
    journal_tables: tuple[str, ...]
    #: What the run's output says after a failure.
    failure_says: str


MODES = {
    IsolationMode.NONE: ModeOutcomes(
        flags=(),
        failure_restores=True,
        created_then_failed=StepAction.DROPPED.value,
        committed_action=None,
        journal_tables=("sagaz_marks", "sagaz_runs", "sagaz_steps"),
        failure_says="rolled back: the warehouse is exactly as it was before the run",
    ),
    IsolationMode.PUBLISH: ModeOutcomes(
        flags=("--isolation", "publish"),
        failure_restores=False,
        created_then_failed=StepAction.UNTOUCHED.value,
        committed_action=StepAction.PUBLISHED.value,
        journal_tables=("sagaz_runs", "sagaz_steps"),
        failure_says="nothing was published: production was never written",
    ),
}


def assert_names_production(result: Any) -> None:
    """The caller's result names the user's relations, never one of sagaz-dbt's own."""
    named = [s.step.identifier for s in result.saga.steps]
    assert named and not [n for n in named if "__sagaz_" in n], named


class EngineConformance:
    """Subclass per engine (named Test<Engine>) and set `engine`."""

    __test__ = False  # the spec itself is not a test; its subclasses are
    engine: ClassVar[str]
    #: Relations the shop project builds (plain dbt's count).
    shop_relations: ClassVar[int] = 14
    #: How a seed reloaded by a failed run comes back (an action of sagaz_dbt.vocabulary).
    seed_restored_by: ClassVar[str] = "rows restored"
    #: The mode every sagaz-dbt invocation runs in (a subclass per mode and engine).
    isolation: ClassVar[IsolationMode] = IsolationMode.NONE
    #: What the journal schema holds after a committed run.
    journal_objects: ClassVar[list[str]] = ["sagaz.sagaz_marks", "sagaz.sagaz_runs", "sagaz.sagaz_steps"]
    #: Relations that take in day 2's data incrementally -> how many rows it adds to each.
    day2_new_rows: ClassVar[dict[str, int]] = {"payments_log": 3, "orders_current": 2, "customers_snapshot": 2}
    #: Nodes on branches independent of fct_orders: they still run (and are restored) when it fails.
    independent_of_fct_orders: ClassVar[frozenset[str]] = frozenset(
        {"model.shop.payments_log", "snapshot.shop.customers_snapshot"}
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__test__ = True

    @property
    def mode(self) -> ModeOutcomes:
        return MODES[self.isolation]

    def sagaz(self, project: Project, *args: str) -> Any:
        """sagaz-dbt on `project` in this class's mode."""
        return project.sagaz(*self.mode.flags, *args)

    def assert_committed(self, project: Project, result: Any) -> None:
        assert_committed(project, result)
        assert_names_production(result)
        if self.mode.committed_action is not None:
            assert set(actions(result).values()) == {self.mode.committed_action}, actions(result)

    def assert_rolled_back(self, project: Project, result: Any, before: dict, failing: str) -> None:
        assert_rolled_back(project, result, before, failing)
        assert_names_production(result)
        assert self.mode.failure_says in project.last_output

    def assert_failed_run_changed(self, result: Any) -> dict[str, str]:
        """The relations a failed run had changed and restored (returned), or, in isolation,
        the proof that it changed none: the report says every relation is untouched."""
        acts = actions(result)
        restored = {uid: a for uid, a in acts.items() if is_restoring(a)}
        if self.mode.failure_restores:
            # The run did change relations before it failed: the rollback had real work to do.
            assert restored, acts
        else:
            assert acts and set(acts.values()) == {StepAction.UNTOUCHED.value}, acts
        return restored

    # -- success equals plain dbt ----------------------------------------------------------

    def test_first_build_equals_plain_dbt(self, twins: Callable[..., tuple[Project, Project]]) -> None:
        plain, sagaz = twins(self.engine)
        reference = plain.dbt()
        assert reference.success

        result = self.sagaz(sagaz)

        self.assert_committed(sagaz, result)
        # Every build of the shop project warns (severity: warn); a warning never rolls back.
        assert [r.node.name for r in result.dbt.results if str(r.status) == "warn"] == ["at_least_stg_orders_amount__10"]
        expected = plain.state()
        assert len(expected) == self.shop_relations, sorted(expected)
        assert_same_state(expected, sagaz.state(), "sagaz-dbt's warehouse vs plain dbt's")
        # Drop-in: the same target/ artifacts, with the same node outcomes.
        assert statuses(sagaz) == statuses(plain)
        # The journal schema holds the journal and nothing else (on Postgres the session's
        # database shares one journal schema between tests: other runs' tables may be there).
        objects = set(sagaz.sagaz_objects())
        required = (
            set(self.journal_objects)
            if self.isolation is IsolationMode.NONE
            else {f"{JOURNAL_SCHEMA}.{t}" for t in self.mode.journal_tables}
        )
        assert required <= objects, objects
        assert objects <= {f"{JOURNAL_SCHEMA}.{t}" for t in JOURNAL_TABLES}, objects

    def test_second_run_with_new_data_equals_plain_dbt(self, twins: Callable[..., tuple[Project, Project]]) -> None:
        """Incremental models (append, delete+insert or its engine's equivalent), the snapshot and the seeds take in a
        second day of data exactly as plain dbt does, incrementally or fully refreshed."""
        self._second_run(twins, [])

    def test_second_run_full_refresh_equals_plain_dbt(self, twins: Callable[..., tuple[Project, Project]]) -> None:
        self._second_run(twins, ["--full-refresh"])

    def _second_run(self, twins: Callable[..., tuple[Project, Project]], flags: list[str]) -> None:
        plain, sagaz = twins(self.engine, prebuilt=True)
        before = sagaz.state()

        for p in (plain, sagaz):
            p.use_seed_data("day2")
        assert plain.dbt(*flags).success
        result = self.sagaz(sagaz, *flags)

        self.assert_committed(sagaz, result)
        after = sagaz.state()
        assert_same_state(plain.state(), after, "second run: sagaz-dbt's warehouse vs plain dbt's")
        # The second run really was incremental and really changed data.
        for name, added in self.day2_new_rows.items():
            assert after[f"{{schema}}.{name}"]["rows"] == before[f"{{schema}}.{name}"]["rows"] + added, name
        assert sagaz.query("select status from {schema}.orders_current where order_id = 5") == [("completed",)]

    # -- failure restores exactly ----------------------------------------------------------

    def test_failed_second_build_restores_everything(self, built: Callable[..., Project], subtests: Any) -> None:
        """On a warehouse built once, each way of failing leaves it exactly as it was.  The cases
        run one after the other on the same warehouse: each starts from the state the previous
        rollback restored, which is the state before all of them."""
        project = built(self.engine)
        before = project.state()
        # New data, so that a run that kept its changes would leave a different warehouse.
        project.use_seed_data("day2")

        for failure, (args, failing) in FAILURES.items():
            with subtests.test(failure=failure):
                result = self.sagaz(project, *args)

                self.assert_rolled_back(project, result, before, failing)
                restored = self.assert_failed_run_changed(result)
                if failure == "failing_generic_test_on_seed" and self.mode.failure_restores:
                    # The seed was reloaded before its test failed; downstream nodes were skipped.
                    assert restored.get("seed.shop.payments", "").startswith(self.seed_restored_by), actions(result)
                if failure == "model_error_mid_dag" and self.mode.failure_restores:
                    # Independent branches kept running after fct_orders failed; they are restored too.
                    assert self.independent_of_fct_orders <= set(restored), actions(result)
                if failure == "select_subset_with_failure":
                    # Relations outside the selection are not part of the run at all.
                    assert "seed.shop.payments" not in actions(result)

    def test_failed_run_drops_relations_it_created(self, built: Callable[..., Project]) -> None:
        project = built(self.engine)
        before = project.state()
        project.use_seed_data("day2")
        project.write(
            "models/loyalty/loyalty_tiers.sql",
            "{{ config(materialized='table', schema='loyalty') }}\n"
            "select customer_id, case when country in ('PT', 'FR') then 'gold' else 'silver' end as tier\n"
            "from {{ ref('stg_customers') }}\n",
        )
        project.write(
            "models/loyalty/loyalty_emails.sql",
            "{{ config(materialized='view') }}\nselect customer_id, email from {{ ref('stg_customers') }}\n",
        )

        result = self.sagaz(project, "--vars", "{break_model: true}")

        self.assert_rolled_back(project, result, before, "model.shop.fct_orders")
        acts = actions(result)
        assert acts["model.shop.loyalty_tiers"] == self.mode.created_then_failed, acts
        assert acts["model.shop.loyalty_emails"] == self.mode.created_then_failed, acts

    def test_failed_first_build_leaves_an_empty_warehouse(self, project: Callable[..., Project]) -> None:
        proj = project(self.engine)

        result = self.sagaz(proj, "--vars", "{fail_singular: true}")

        self.assert_rolled_back(proj, result, {}, SINGULAR_TEST)
        assert set(actions(result).values()) == {self.mode.created_then_failed}, actions(result)
