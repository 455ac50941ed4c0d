"""A/B of sagaz-dbt's own phases between two checkouts, on one warehouse, alternating.

The success/fail ratios against plain dbt are only as steady as the machine: on a shared
2-core machine the walls of two identical builds differ by seconds, more than a change to
arm or release can move.  This compares what a change touches, the phases sagaz-dbt times
itself (`target/sagaz/run_<id>.json`), between two installs of sagaz-dbt building the same
warehouse in turn, so both see the same data, catalog and load.

    .venv/bin/python -m benchmarks.phase_ab --a /work/old/.venv --b .venv --engine postgres --rows 100k --rounds 5

Each round runs, for A then B (B then A on odd rounds): a successful build, then a failing
one (the control row's test fails at the end: every model is rolled back).  Each checkout has
its own project copy (its own macro package and partial-parse cache) and its own
compiled-macro store, filled by one untimed pair first.  Prints the median of each phase per
side and writes the runs to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.run import Bench, build_parser, parse_size, report_since, tool_env
from benchmarks.warehouse import diff

PHASES = ("select", "lock", "arm", "build", "release", "compensate", "total")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.phase_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--a", type=Path, required=True, help="virtualenv of side A (its bin/sagaz-dbt)")
    p.add_argument("--b", type=Path, required=True, help="virtualenv of side B")
    p.add_argument("--engine", choices=["duckdb", "postgres"], default="postgres")
    p.add_argument("--rows", default="100k")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    args = build_parser().parse_args(["--engine", a.engine, "--threads", "4"])
    args.rows_per_day = 10_000
    bench = Bench(a.engine, "project", parse_size(a.rows), args, lambda m: print(m, flush=True))
    sides = {"A": a.a.resolve(), "B": a.b.resolve()}
    runs: list[dict] = []
    try:
        bench.generate()
        bench.wh.set_control(0)
        bench.run("dbt", "success", -1)
        for side in sides:  # each side its own project copy, partial-parse cache and macro store
            shutil.copytree(bench.project_dir("sagaz"), bench.dir / f"sagaz-{side}",
                            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))  # fmt: skip
        for rnd in range(-1, a.rounds):
            order = ["A", "B"] if rnd % 2 == 0 else ["B", "A"]
            for side in order:
                for case in ("success", "fail"):
                    if case == "fail":
                        bench.tag += 1
                        bench.wh.set_control(bench.tag, bench.fail_test)
                        before = bench.wh.fingerprint()
                    else:
                        bench.wh.set_control(0)
                    run = _run(bench, side, sides[side], case)
                    run["round"] = rnd
                    if case == "fail":  # the rollback left exactly the pre-run warehouse
                        differences = diff(before, bench.wh.fingerprint())
                        if differences:
                            raise RuntimeError(f"{side}'s rollback did not restore: {differences[:5]}")
                    print(f"round {rnd} {side} {case}: {run['wall_s']:.2f}s "
                          + " ".join(f"{k} {run['timings'].get(k, 0):.3f}" for k in PHASES if k in run["timings"]), flush=True)  # fmt: skip
                    if rnd >= 0:
                        runs.append(run)
        bench.wh.set_control(0)
    finally:
        bench.cleanup(False)
    print("\nmedians (seconds) of", a.rounds, "rounds:")
    for case in ("success", "fail"):
        for phase in PHASES:
            values = {s: [r["timings"][phase] for r in runs if r["side"] == s and r["case"] == case and phase in r["timings"]]
                      for s in sides}  # fmt: skip
            if all(values.values()):  # and the walls below
                ma, mb = statistics.median(values["A"]), statistics.median(values["B"])
                print(f"  {case:7s} {phase:10s} A {ma:6.3f}  B {mb:6.3f}  B-A {mb - ma:+6.3f}")
    for case in ("success", "fail"):
        walls = {s: statistics.median([r["wall_s"] for r in runs if r["side"] == s and r["case"] == case]) for s in sides}
        print(f"  {case:7s} {'wall':10s} A {walls['A']:6.3f}  B {walls['B']:6.3f}  B-A {walls['B'] - walls['A']:+6.3f}")
    if a.out is not None:
        a.out.write_text(json.dumps({"sides": {k: str(v) for k, v in sides.items()}, "runs": runs}, indent=2) + "\n")


def _run(bench: Bench, side: str, venv: Path, case: str) -> dict:
    project = bench.dir / f"sagaz-{side}"
    target = bench.dir / f"target-{side}"
    env = tool_env(str(bench.dir / f"compiled-macros-{side}"))
    cmd = [str(venv / "bin" / "sagaz-dbt"), "build", "--project-dir", str(project), "--profiles-dir", str(bench.dir),
           "--target-path", str(target), "--journal-schema", bench.wh.journal_schema]  # fmt: skip
    started = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=project, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    expected = 0 if case == "success" else 1
    if proc.returncode != expected:
        raise RuntimeError(f"{side} {case} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    report = report_since(target, started) or {}
    return {"side": side, "case": case, "wall_s": round(wall, 3), "status": report.get("status"),
            "timings": dict(report.get("timings") or {})}  # fmt: skip


if __name__ == "__main__":
    main()
