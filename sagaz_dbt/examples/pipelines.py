"""The catalogue of example pipelines: what each builds, its batches, and the failures it
can be given (a bug switched on with the `fail` switch, or bad input data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sagaz_dbt.examples.data import BATCH_DATES, DATA_FAULTS


@dataclass(frozen=True)
class Failure:
    """One way to make a pipeline's run fail."""

    name: str  # what `--fail` takes
    kind: str  # "bug": the `fail` switch (dbt var / env var); "data": bad seed data
    description: str
    switch: str | None = None  # the value of the `fail` switch, for bugs
    #: The dbt nodes that fail (unique_id prefixes): the first always, the others may too.
    fails_at: tuple[str, ...] = ()

    def matches(self, failed_nodes: list[str]) -> bool:
        """Did the run fail where this failure is meant to make it fail?"""
        return (
            any(uid.startswith(self.fails_at[0]) for uid in failed_nodes)
            and all(any(uid.startswith(p) for p in self.fails_at) for uid in failed_nodes)
        )

    @property
    def data_fault(self) -> str | None:
        return self.name if self.kind == "data" else None


@dataclass(frozen=True)
class Pipeline:
    name: str  # also its dbt tag, folder and schema suffix
    title: str
    summary: str
    guarantee: str  # what sagaz-dbt's rollback guarantees for it
    batches: tuple[str | None, ...]  # the green runs, in order (None: no batch switch)
    failures: dict[str, Failure] = field(default_factory=dict)
    rerun: str | None = None  # a batch re-run at the end of a green demo (idempotency)

    @property
    def selector(self) -> str:
        return f"tag:{self.name}"

    @property
    def schema_suffix(self) -> str:
        return self.name


def _bug(name: str, switch: str, description: str, *fails_at: str) -> Failure:
    return Failure(name=name, kind="bug", description=description, switch=switch, fails_at=fails_at)


def _data(pipeline: str, name: str, *fails_at: str) -> Failure:
    return Failure(name=name, kind="data", description=DATA_FAULTS[pipeline][name], fails_at=fails_at)


PIPELINES: dict[str, Pipeline] = {
    p.name: p
    for p in (
        Pipeline(
            name="etl",
            title="ETL: raw -> staging -> dims/facts",
            summary="raw_* seeds -> stg_customers/stg_products/stg_orders -> dim_customers, dim_products, fct_orders "
            "(tables, rebuilt as of a batch date)",
            guarantee="a failing transform or load leaves no new staging table and no partial mart: "
            "every table is the previous run's",
            batches=(BATCH_DATES[1], BATCH_DATES[2]),
            failures={
                f.name: f
                for f in (
                    _bug("transform", "etl_transform", "stg_orders casts a text column to a number (model error)",
                         "model.sagaz_example.stg_orders"),
                    _bug("load", "etl_load", "fct_orders reads a column renamed upstream (model error after the "
                         "dimensions are built)", "model.sagaz_example.fct_orders"),
                    _data("etl", "orphans", "test.sagaz_example.relationships_fct_orders_customer_id"),
                )
            },
        ),
        Pipeline(
            name="quality",
            title="Quality gate: thresholds, schema and business rules, quarantine",
            summary="incoming_sales -> stg_sales (null/duplicate ratio gate) -> sales_quarantine + fct_sales "
            "(contract, business rules) -> post-load quarantine-ratio gate",
            guarantee="a gate that errors rolls the load back: the delivery, staging, quarantine and fact table "
            "are all the previous run's; warnings never roll back",
            batches=(None,),
            failures={
                f.name: f
                for f in (
                    _data("quality", "nulls", "test.sagaz_example.sagaz_example_null_ratio_stg_sales_customer_id"),
                    _data("quality", "duplicates", "test.sagaz_example.sagaz_example_duplicate_ratio_stg_sales_sale_id"),
                    _data("quality", "rules", "test.sagaz_example.assert_quarantine_ratio_below_threshold"),
                )
            },
        ),
        Pipeline(
            name="migration",
            title="Migration: legacy tables copied and verified",
            summary="legacy_customers, legacy_orders -> migrated_customers, migrated_orders, verified by "
            "row_count_matches and checksum_matches tests",
            guarantee="a row-count or checksum mismatch rolls the target back: the migrated tables are the "
            "previous run's (or gone, on a first migration)",
            batches=(None,),
            failures={
                f.name: f
                for f in (
                    _bug("rowcount", "migration_rowcount", "migrated_orders forgets the cancelled orders",
                         "test.sagaz_example.sagaz_example_row_count_matches_migrated_orders",
                         "test.sagaz_example.sagaz_example_checksum_matches_migrated_orders"),
                    _bug("checksum", "migration_checksum", "migrated_orders drops the cents of every amount",
                         "test.sagaz_example.sagaz_example_checksum_matches_migrated_orders"),
                )
            },
        ),
        Pipeline(
            name="lakehouse",
            title="Lakehouse: bronze -> silver -> gold by batch date",
            summary="landing_events -> bronze_events -> silver_events -> gold_event_metrics, gold_daily_summary "
            "(incremental, delete+insert on batch_date)",
            guarantee="a failure in any layer undoes the batch in every layer (bronze, silver and gold hold "
            "exactly the previous batches); re-running a batch is idempotent",
            batches=BATCH_DATES,
            rerun=BATCH_DATES[1],
            failures={
                f.name: f
                for f in (
                    _bug("gold", "lakehouse_gold", "gold_daily_summary reads a column that does not exist "
                         "(model error in gold)", "model.sagaz_example.gold_daily_summary"),
                    _bug("silver", "lakehouse_silver", "silver_events keeps redelivered events (unique test "
                         "fails)", "test.sagaz_example.unique_silver_events_event_id"),
                )
            },
        ),
    )
}


def get(name: str) -> Pipeline:
    try:
        return PIPELINES[name]
    except KeyError:
        raise KeyError(f"unknown example {name!r}; choose one of {', '.join(PIPELINES)}") from None
