"""Isolation mode against the default mode on the 114-model project (issue 16).

    .venv/bin/python -m benchmarks.isolation --engine duckdb --rows 100000 --repeats 2

Builds the project once with plain dbt, then alternates `sagaz-dbt build` and
`sagaz-dbt build --isolation publish` on the same warehouse, each as a subprocess through
its console script, and prints the wall time, the phases of sagaz-dbt's run report
(`publish_transaction` is the publish's one transaction, from its first statement to its
commit) and whether the warehouse after the isolated run equals the one after the default
run (columns, view SQL, row checksums: benchmarks/warehouse.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.run import report_since, tool_env
from benchmarks.warehouse import Warehouse, diff

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PHASES = ("arm", "clone", "build", "release", "publish", "publish_transaction", "total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/sagaz-bench-isolation"))
    args = parser.parse_args()
    work = args.work_dir / args.engine
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    wh = Warehouse.create(args.engine, work)
    try:
        shutil.copytree(HERE / "project", work / "p", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        (work / "profiles.yml").write_text(yaml.safe_dump(wh.profile("sagaz_bench", threads=4), sort_keys=False))
        wh.load_project_raw(args.rows)
        print("plain dbt (warm-up)", _run(work, wh, "dbt"))
        for _ in range(args.repeats):
            print("default ", _run(work, wh, "sagaz-dbt"))
            after_default = wh.fingerprint()
            print("isolated", _run(work, wh, "sagaz-dbt", "--isolation", "publish"))
            differences = diff(after_default, wh.fingerprint())
            print("  warehouse equal to the default run's:", "yes" if not differences else differences[:5])
    finally:
        wh.drop()


def _run(work: Path, wh: Warehouse, tool: str, *extra: str) -> dict[str, Any]:
    cmd = [str(BIN / tool), "build", "--project-dir", str(work / "p"), "--profiles-dir", str(work), *extra]
    if tool == "sagaz-dbt":
        cmd += ["--journal-schema", wh.journal_schema]
    env = tool_env(None)
    started, wall_started = time.perf_counter(), time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work / "p", timeout=1800)
    out: dict[str, Any] = {"exit": proc.returncode, "wall_s": round(time.perf_counter() - started, 2)}
    if tool == "sagaz-dbt":
        timings = (report_since(work / "p" / "target", wall_started) or {}).get("timings", {})
        out.update({k: timings[k] for k in PHASES if k in timings})
    return out


if __name__ == "__main__":
    main()
