"""The backup of a partitioned insert_overwrite model on Spark: by partition (O(batch))
against the whole-table copy (`meta: {sagaz: {snapshot: copy}}`), and plain dbt beside them.

    .venv/bin/python -m benchmarks.spark_partitions [--rows 1000000] [--days 100] [--repeats 3]

One Spark session in this process (as benchmarks/spark.py: a session costs 35-55 s, Derby
admits one process).  A source table of `--rows` rows over `--days` days (parquet, made by
Spark directly), and three schemas each holding the model `events_by_day`
(insert_overwrite, partition_by day) built from it by plain dbt.  Each repeat, in rotating
order: plain dbt, sagaz-dbt (partition backup), sagaz-dbt (copy) run a build whose batch
overwrites the last day (one partition, rows/days rows, with new values), and then the
same build whose test fails (sagaz-dbt rolls it back).  Reported: wall time, sagaz-dbt's
phases (run report `timings`) and medians.  Checked in the first repeat: after the
successful build every schema holds the same rows (checksums), after the failing one both
sagaz-dbt schemas are unchanged and plain dbt's changed.  Results: a table on stdout and
benchmarks/results/spark_partitions_<N>m.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import spark  # noqa: E402

from benchmarks.spark import start_session, write_profile  # noqa: E402

MODEL = """{{{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['day'],
             file_format='parquet', meta={{'sagaz': {{'snapshot': var('snapshot', 'auto')}}}}) }}}}
select id, value + {{{{ var('bump', 0) }}}} as value, day from {{{{ source('bench', 'events_src') }}}}
{{% if is_incremental() %}}where day = {last_day}{{% endif %}}
"""
TEST = "select 1 as failed from {{ ref('events_by_day') }} where {{ var('fail', false) }} limit 1\n"


def _project(root: Path, schema: str, source_schema: str, folder: Path, last_day: int, snapshot: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "bench_partitions", "version": "1.0.0", "config-version": 2, "profile": "bench_partitions",
        "vars": {"snapshot": snapshot}}))
    (root / "models" / "events_by_day.sql").write_text(MODEL.format(last_day=last_day))
    (root / "models" / "sources.yml").write_text(yaml.safe_dump({"version": 2, "sources": [
        {"name": "bench", "schema": source_schema, "tables": [{"name": "events_src"}]}]}))
    (root / "tests" / "assert_ok.sql").write_text(TEST)
    write_profile(root, "bench_partitions", schema, folder)
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    work, session, _ = start_session("sagaz_spark_partitions_")

    from dbt.cli.main import dbtRunner

    import sagaz_dbt

    source = spark.new_schema()
    session.sql(f"create schema {source}")
    session.range(options.rows).selectExpr(
        "id", "id % 1000 as value", f"cast(floor(id * {options.days} / {options.rows}) as int) as day"
    ).write.format("parquet").saveAsTable(f"{source}.events_src")
    last_day = options.days - 1
    tools = {"dbt": "auto", "partitions": "auto", "copy": "copy"}
    schemas = {tool: spark.new_schema() for tool in tools}
    roots = {tool: _project(work / tool, schemas[tool], source, spark.WAREHOUSE_DIR, last_day, snap)
             for tool, snap in tools.items()}
    inspect = {tool: spark.SparkInspector(schema) for tool, schema in schemas.items()}
    loads: list[float] = []

    def location(tool: str) -> list[str]:
        return ["--project-dir", str(roots[tool]), "--profiles-dir", str(roots[tool])]

    def run(tool: str, bump: int, fail: bool) -> tuple[float, dict[str, float]]:
        args = ["--vars", json.dumps({"bump": bump, "fail": fail})]
        loads.append(os.getloadavg()[0])
        t = time.monotonic()
        if tool == "dbt":
            dbtRunner().invoke(["build", *args, *location(tool)])
            return time.monotonic() - t, {}
        result = sagaz_dbt.build([*args, *location(tool)])
        took = time.monotonic() - t
        expected = (1, "rolled_back") if fail else (0, "committed")
        if (result.exit_code, result.status) != expected:
            raise SystemExit(f"sagaz-dbt ({tool}) {args}: exit {result.exit_code}, {result.status} (expected {expected})")
        return took, dict(result.report.timings)

    for tool in tools:  # untimed: the 1M-row table, the partial-parse caches
        if not dbtRunner().invoke(["build", *location(tool)]).success:
            raise SystemExit(f"first build of {tool} failed")
    runs: dict[str, dict[str, list[Any]]] = {f"{tool} {case}": {"s": [], "phases": []}
                                             for tool in tools for case in ("success", "fail")}
    checks: list[str] = []
    names = list(tools)
    for repeat in range(options.repeats):
        order = names[repeat % 3:] + names[:repeat % 3]
        for case in ("success", "fail"):
            states = {}
            for tool in order:
                before = inspect[tool].state() if repeat == 0 else None
                took, phases = run(tool, bump=repeat + 1 + (100 if case == "fail" else 0), fail=case == "fail")
                runs[f"{tool} {case}"]["s"].append(took)
                runs[f"{tool} {case}"]["phases"].append(phases)
                if before is not None:
                    after = inspect[tool].state()
                    states[tool] = after
                    if case == "fail" and (after == before) != (tool != "dbt"):
                        raise SystemExit(f"{tool} fail: the warehouse {'did not change' if tool == 'dbt' else 'changed'}")
            if repeat == 0 and case == "success":
                if not states["dbt"] == states["partitions"] == states["copy"]:
                    raise SystemExit("after the successful build the three schemas differ")
                checks.append("success: partitions == copy == plain dbt (checksums)")
            if repeat == 0 and case == "fail":
                checks.append("fail: plain dbt changed, both sagaz-dbt schemas unchanged (checksums)")
            if case == "fail":  # plain dbt's failing build left its data: bring it level again
                run("dbt", bump=repeat + 1, fail=False)
    summary: dict[str, Any] = {"rows": options.rows, "days": options.days, "repeats": options.repeats,
                               "load_1min": {"min": min(loads), "max": max(loads)}, "checks": checks, "cases": {}}
    print(f"{options.rows} rows over {options.days} days; load (1 min) {min(loads):.1f}-{max(loads):.1f}; {checks}")
    print(f"{'tool case':20} {'median s':>9}  (runs)  sagaz phases (median s)")
    for key, data in runs.items():
        phases = {k: round(statistics.median(p.get(k, 0.0) for p in data["phases"]), 2)
                  for k in (data["phases"][0] if data["phases"][0] else {})}
        summary["cases"][key] = {"median_s": round(statistics.median(data["s"]), 2),
                                 "runs": [round(s, 2) for s in data["s"]], "phases": phases}
        print(f"{key:20} {statistics.median(data['s']):9.1f}  {[round(s, 1) for s in data['s']]}  {phases}")
    out = HERE / "results" / f"spark_partitions_{options.rows // 1_000_000}m.json"
    out.write_text(json.dumps(summary, indent=1, default=str))
    print(f"written: {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
