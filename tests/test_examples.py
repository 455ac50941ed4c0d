"""The example project (dbt_project/) and `sagaz-dbt examples`, on DuckDB and PostgreSQL.

- every pipeline builds green from nothing;
- every injected failure exits 1 and leaves every relation with its pre-run row checksum
  (the whole warehouse is compared, not just the pipeline's schema);
- re-running a batch gives the same warehouse (idempotency);
- the committed seeds are exactly what the generator writes.

PostgreSQL: SAGAZ_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/postgres), a
unique schema per workspace, dropped afterwards.  Unreachable: skipped, or failed if CI is set.
"""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from examples_support import Lab, in_ci, pg_dsn, pg_example_env, pg_unreachable_reason  # noqa: E402

from sagaz_dbt.examples import data  # noqa: E402
from sagaz_dbt.examples.pipelines import PIPELINES  # noqa: E402
from sagaz_dbt.examples.runner import Workspace, find_project  # noqa: E402

ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
#: Every failure runs on DuckDB; on Postgres one per pipeline, chosen to cover each restore
#: path (model error after swaps, post-load test failure over copied seeds, checksum test,
#: incremental partitions restored row by row) while keeping the suite fast.
POSTGRES_FAILURES = {("etl", "load"), ("quality", "rules"), ("migration", "checksum"), ("lakehouse", "gold")}
FAILURES = [("duckdb", p.name, f) for p in PIPELINES.values() for f in p.failures] + [
    pytest.param("postgres", p, f, marks=pytest.mark.postgres) for p, f in sorted(POSTGRES_FAILURES)
]
#: Re-runs of a batch: the batched pipelines (incremental partitions, "as of" marts) on DuckDB,
#: and the lakehouse on Postgres, whose partitions are where a second load could duplicate rows.
#: (The quality and migration pipelines rebuild whole tables from the same seeds.)
IDEMPOTENCY = [("duckdb", "etl"), ("duckdb", "lakehouse"), pytest.param("postgres", "lakehouse", marks=pytest.mark.postgres)]
SWITCH_ENV = ("SAGAZ_EXAMPLE_BATCH_DATE", "SAGAZ_EXAMPLE_FAIL", "SAGAZ_EXAMPLE_DUCKDB", "SAGAZ_EXAMPLE_PG_SCHEMA")


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_env() -> Iterator[dict[str, str]]:
    """SAGAZ_EXAMPLE_PG_* set from SAGAZ_TEST_PG_DSN for the module, or a skip (a failure in CI)."""
    dsn = pg_dsn()
    reason = pg_unreachable_reason(dsn)
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} (CI is set, so the Postgres tests may not be skipped)")
        pytest.skip(f"{reason}; set SAGAZ_TEST_PG_DSN to run the Postgres example tests")
    env = pg_example_env(dsn)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def example_env() -> Iterator[None]:
    """No switch leaks in from the caller's shell."""
    with pytest.MonkeyPatch.context() as mp:
        for key in SWITCH_ENV:
            mp.delenv(key, raising=False)
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        yield


@pytest.fixture(scope="module")
def labs(example_env: None) -> Iterator[dict[str, Lab]]:
    """One lab per engine for the whole module, created on first use."""
    created: dict[str, Lab] = {}
    try:
        yield created
    finally:
        for the_lab in created.values():
            the_lab.close()


@pytest.fixture
def lab(labs: dict[str, Lab], engine: str, request: pytest.FixtureRequest) -> Lab:
    if engine == "postgres":
        request.getfixturevalue("pg_env")
    if engine not in labs:
        labs[engine] = Lab(engine)
    return labs[engine]


# -- the data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", list(data.PIPELINES))
def test_committed_seeds_are_the_generator_output(pipeline: str) -> None:
    seeds = find_project() / "seeds"
    for seed in data.generate(pipeline):
        assert (seeds / seed.relpath).read_text() == seed.to_csv(), (
            f"{seed.relpath} differs from the generator: run `sagaz-dbt examples generate`"
        )


def test_generator_is_deterministic_and_scales(tmp_path: Path) -> None:
    for pipeline in data.PIPELINES:
        assert data.generate(pipeline, 500) == data.generate(pipeline, 500)
    orders = {s.name: s for s in data.generate("etl", 1000)}["raw_orders"]
    assert len(orders.rows) == 1000
    events = data.generate("lakehouse", 1000)[0]
    assert len(events.rows) == 3 * (1000 + 30)  # three batches, 3% redelivered
    paths = data.write_seeds(tmp_path, ["quality"], rows=1000, fault="nulls")
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["quality/incoming_sales.csv"]


def _quality_ratios(rows: list[tuple]) -> dict[str, float]:
    n = len(rows)
    return {
        "nulls": sum(r[1] is None for r in rows) / n,
        "duplicates": (n - len({r[0] for r in rows})) / n,
        "rules": sum(r[3] <= 0 or r[4] == "0.00" or r[6] not in ("north", "south", "east", "west") for r in rows) / n,
    }


@pytest.mark.parametrize(("fault", "threshold"), [("nulls", 0.05), ("duplicates", 0.01), ("rules", 0.10)])
def test_quality_faults_cross_the_gate_thresholds(fault: str, threshold: float) -> None:
    good = _quality_ratios(data.generate("quality")[0].rows)
    bad = _quality_ratios(data.generate("quality", fault=fault)[0].rows)
    assert good[fault] <= threshold < bad[fault]


# -- the pipelines, on both engines --------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_builds_green_from_nothing(lab: Lab, name: str) -> None:
    pipeline = PIPELINES[name]
    runs = lab.baseline(pipeline)
    assert runs.initial is not None and len(runs.initial) == 0, "the pipeline's schema was not empty"
    for run in runs.green:
        assert (run.exit_code, run.status) == (0, "committed"), _explain(run)
        failed = [f.unique_id for f in run.result.dbt.failed_nodes]
        assert not failed, failed
    built = runs.green[-1].after.only(lab.ws.schemas_of(pipeline))
    assert _relations_built(runs.green[-1]) == {rel_name for _, rel_name in built.relations}, _explain(runs.green[-1])
    assert all(rel.rows > 0 for rel in built.relations.values()), {
        rel.label: rel.rows for rel in built.relations.values()
    }
    if name == "quality":  # the default delivery is a little dirty: the gate warns, and warnings commit
        warned = {str(r.node.unique_id) for r in runs.green[-1].result.dbt.results if str(r.status) == "warn"}
        assert any("null_ratio" in uid for uid in warned) and any("duplicate_ratio" in uid for uid in warned), warned
    assert not [k for k in runs.green[-1].after.relations if "__sagaz_" in k[1]], "sagaz backups left behind"


@pytest.mark.parametrize(("engine", "name", "failure"), FAILURES)
def test_injected_failure_restores_every_relation(lab: Lab, name: str, failure: str) -> None:
    pipeline = PIPELINES[name]
    runs = lab.baseline(pipeline)
    assert runs.green and runs.green[-1].exit_code == 0, "the baseline did not build"
    batch = pipeline.batches[-1]
    before = lab.state()
    run = lab.build(pipeline, batch, pipeline.failures[failure], before=before)
    assert (run.exit_code, run.status) == (1, "rolled_back"), _explain(run)
    # The run really changed relations before it failed: the rollback had work to do.
    changed = [s for s in run.steps if s["node_status"] == "success"]
    assert changed, _explain(run)
    # The failure is the injected one, where it was meant to happen.
    failed = [f.unique_id for f in run.result.dbt.failed_nodes]
    assert pipeline.failures[failure].matches(failed), (pipeline.failures[failure].fails_at, failed)
    # Every relation of the warehouse (all pipelines' schemas) holds its pre-run rows.
    after = lab.state()
    assert before.differences(after) == [], _explain(run)
    assert after == before
    assert not [k for k in after.relations if "__sagaz_" in k[1]], "sagaz backups left behind"


@pytest.mark.parametrize(("engine", "name"), IDEMPOTENCY)
def test_rerunning_a_batch_is_idempotent(lab: Lab, name: str) -> None:
    """Loading the last loaded batch again leaves every relation as it was (the baseline's
    batches are each new data: they changed the warehouse)."""
    pipeline = PIPELINES[name]
    runs = lab.baseline(pipeline)
    assert runs.green and runs.green[-1].exit_code == 0
    for earlier, later in zip(runs.green, runs.green[1:]):
        assert later.after != earlier.after, "a new batch did not change the warehouse"
    before = lab.state()
    again = lab.build(pipeline, runs.green[-1].batch_date, before=before)
    assert (again.exit_code, again.status) == (0, "committed"), _explain(again)
    assert before.differences(again.after) == []
    assert again.after == before


# -- dbt vars, a first run that fails, and the CLI ------------------------------------------------


def test_vars_switch_failing_on_an_empty_warehouse_leaves_nothing(example_env: None) -> None:
    """`--vars '{fail: ...}'` (the dbt way, where `sagaz-dbt examples` uses the env var) on a
    fresh DuckDB: every relation the run created is dropped again."""
    from rich.console import Console

    with Workspace("dev") as ws:
        pipeline = PIPELINES["lakehouse"]
        run = ws.build(pipeline, quiet=True, extra_args=["--vars", "{fail: lakehouse_gold}"],
                       console=Console(file=StringIO()))
        assert (run.exit_code, run.status) == (1, "rolled_back"), _explain(run)
        assert [f.unique_id for f in run.result.dbt.failed_nodes] == ["model.sagaz_example.gold_daily_summary"]
        assert {s["action"] for s in run.steps if s["node_status"] == "success"} == {"dropped"}
        assert len(run.before) == 0
        assert len(run.after) == 0, run.after.differences(run.before)


def test_run_example_shows_the_rollback(labs: dict[str, Lab], example_env: None) -> None:
    """`sagaz-dbt examples run migration --fail checksum`, through the function the command
    calls, on the DuckDB lab's workspace (a fresh one would cost dbt a full parse)."""
    from rich.console import Console

    from sagaz_dbt.examples.runner import run_example

    if "duckdb" not in labs:
        labs["duckdb"] = Lab("duckdb")
    out = Console(file=StringIO(), width=200, no_color=True)
    report = run_example("migration", fail="checksum", quiet=True, console=out, workspace=labs["duckdb"].ws)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert report.ok, text
    assert [r.exit_code for r in report.runs] == [0, 1]
    assert "Rollback check" in text and "identical" in text and "DIFFERENT" not in text
    assert "OK: the failing run exited 1 and was rolled back" in text


def test_cli_examples_list_and_bad_arguments() -> None:
    from click.testing import CliRunner

    from sagaz_dbt.cli.main import cli

    listed = CliRunner().invoke(cli, ["examples", "list"])
    assert listed.exit_code == 0, listed.output
    for pipeline in PIPELINES.values():
        assert pipeline.name in listed.output
        for failure in pipeline.failures:
            assert failure in listed.output
    bad = CliRunner().invoke(cli, ["examples", "run", "etl", "--fail", "nope"])
    assert bad.exit_code != 0
    assert "has no failure 'nope'" in bad.output
    assert CliRunner().invoke(cli, ["examples", "run", "nope"]).exit_code == 2
    assert CliRunner().invoke(cli, ["examples", "run", "etl", "--from-empty"]).exit_code == 2


# -- helpers ----------------------------------------------------------------------------------------


def _relations_built(run) -> set[str]:  # type: ignore[no-untyped-def]
    return {s["relation"]["identifier"] for s in run.steps}


def _explain(run) -> str:  # type: ignore[no-untyped-def]
    dbt = run.result.dbt
    failed = [(f.unique_id, f.status, f.message[:300]) for f in dbt.failed_nodes] if dbt is not None else []
    return (
        f"{run.label}: exit {run.exit_code}, status {run.status}, error {run.result.error!r}\n"
        f"failed nodes: {failed}\n"
        f"changes: {run.before.differences(run.after)}"
    )
