"""sagaz-dbt against plain `dbt build` on Spark (dbt-spark, session mode, parquet).

    .venv/bin/python -m benchmarks.spark [--repeats 3]

Unlike benchmarks/run.py, both tools run IN this process: a Spark session costs 35-55 s of
JVM start per process and Derby admits one process per metastore, so one session serves
every run (started untimed first).  Twin schemas of the Spark test project
(tests/projects/spark_shop: 2 seeds, 2 tables, 2 views, an append and an insert_overwrite
incremental), one per tool, alternating, the order flipping every repeat; medians.

Cases: `success` (a build writing batch 2), `fail` (the same build whose last test fails:
sagaz-dbt restores everything) and `rollback` (the compensation alone, from the run
report's timings).  Checked in the first repeat: after `success` sagaz-dbt's schema equals
plain dbt's (row-level checksums, tests/helpers/spark.py), and after `fail` sagaz-dbt's is
exactly as before the run while plain dbt's changed.  Results: a table on stdout and
benchmarks/results/spark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import spark  # noqa: E402

PROJECT = REPO / "tests" / "projects" / "spark_shop"


def _copy(root: Path, schema: str, folder: Path) -> Path:
    shutil.copytree(PROJECT, root)
    write_profile(root, "spark_shop", schema, folder)
    return root


def write_profile(root: Path, name: str, schema: str, folder: Path) -> None:
    """The project's profiles.yml: dbt-spark in session mode on the warehouse in `folder`."""
    profile = {name: {"target": "dev", "outputs": {"dev": spark.profile_output(schema, folder)}}}
    (root / "profiles.yml").write_text(yaml.safe_dump(profile))


def start_session(prefix: str) -> tuple[Path, Any, float]:
    """A work folder, and this process's Spark session on a warehouse inside it, started
    now (JVM and metastore); with the seconds that took.  Both tools then run in it."""
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    work = Path(tempfile.mkdtemp(prefix=prefix))
    spark.WAREHOUSE_DIR = work / "warehouse"
    started = time.monotonic()
    session = spark.session()
    session.sql("show databases").collect()
    return work, session, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    work, _, session_s = start_session("sagaz_spark_bench_")

    from dbt.cli.main import dbtRunner

    import sagaz_dbt

    plain_schema, sagaz_schema = spark.new_schema(), spark.new_schema()
    plain = _copy(work / "plain", plain_schema, spark.WAREHOUSE_DIR)
    sagaz = _copy(work / "sagaz", sagaz_schema, spark.WAREHOUSE_DIR)
    inspect = {"dbt": spark.SparkInspector(plain_schema), "sagaz": spark.SparkInspector(sagaz_schema)}
    checks: list[str] = []

    def run_plain(args: list[str]) -> float:
        t = time.monotonic()
        dbtRunner().invoke(["build", *args, "--project-dir", str(plain), "--profiles-dir", str(plain)])
        return time.monotonic() - t

    def run_sagaz(args: list[str]) -> tuple[float, dict[str, float]]:
        t = time.monotonic()
        result = sagaz_dbt.build([*args, "--project-dir", str(sagaz), "--profiles-dir", str(sagaz)])
        took = time.monotonic() - t
        expected = (1, "rolled_back") if "fail_singular" in " ".join(args) else (0, "committed")
        if (result.exit_code, result.status) != expected:
            raise SystemExit(f"sagaz-dbt {args}: exit {result.exit_code}, {result.status} (expected {expected})")
        return took, dict(result.report.timings)

    run_plain([])  # untimed warm-up: creates every relation, fills the partial-parse caches
    run_sagaz([])
    cases = {"success": ["--vars", "{batch: 2}"], "fail": ["--vars", "{batch: 2, fail_singular: true}"]}
    runs: dict[str, dict[str, list[Any]]] = {c: {"dbt": [], "sagaz": [], "phases": []} for c in cases}
    for repeat in range(options.repeats):
        for case, args in cases.items():
            order = ("dbt", "sagaz") if repeat % 2 == 0 else ("sagaz", "dbt")
            for tool in order:
                before = inspect[tool].state() if repeat == 0 else None
                if tool == "dbt":
                    runs[case]["dbt"].append(run_plain(args))
                else:
                    took, phases = run_sagaz(args)
                    runs[case]["sagaz"].append(took)
                    runs[case]["phases"].append(phases)
                if before is not None:  # the first repeat: outcomes, row by row
                    after = inspect[tool].state()
                    if case == "fail" and (after == before) != (tool == "sagaz"):
                        raise SystemExit(f"{tool} {case}: the warehouse {'changed' if tool == 'sagaz' else 'did not change'}")
                    checks.append(f"{tool} {case}: {'unchanged' if after == before else 'changed'}")
            if repeat == 0 and case == "success":
                if inspect["dbt"].state() != inspect["sagaz"].state():
                    raise SystemExit("after the successful build sagaz-dbt's warehouse differs from plain dbt's")
                checks.append("success: sagaz-dbt == plain dbt")
    summary: dict[str, Any] = {"session_start_s": round(session_s, 1), "repeats": options.repeats,
                               "load": os.getloadavg(), "checks": checks, "cases": {}}
    print(f"Spark session start: {session_s:.1f} s (once per process); load {os.getloadavg()}; checks: {checks}")
    print(f"{'case':8} {'dbt s':>8} {'sagaz s':>8} {'ratio':>6}  sagaz phases (median s)")
    for case, data in runs.items():
        d, s = statistics.median(data["dbt"]), statistics.median(data["sagaz"])
        phases = {k: round(statistics.median(p.get(k, 0.0) for p in data["phases"]), 2) for k in data["phases"][0]}
        summary["cases"][case] = {"dbt_s": round(d, 2), "sagaz_s": round(s, 2), "ratio": round(s / d, 2),
                                  "phases": phases, "runs": data}
        print(f"{case:8} {d:8.1f} {s:8.1f} {s / d:6.2f}  {phases}")
    out = HERE / "results" / "spark.json"
    out.write_text(json.dumps(summary, indent=1, default=str))
    print(f"written: {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
