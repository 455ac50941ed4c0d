"""Where a build's time goes in every thread: one `sagaz-dbt build` and one `dbt build` under
py-spy, on a warehouse `python -m benchmarks.run --keep` left, grouped by phase.

    .venv/bin/python -m benchmarks.gil_profile benchmarks/.work/project-duckdb-100k

dbt builds in worker threads that contend for the interpreter lock, so a main-thread
profiler (pyinstrument, benchmarks/profile.py) misses most of a build.  `py-spy --gil`
samples whichever thread holds the lock: the samples add up to the Python time of the run,
comparable between the two tools.  Prints seconds per group (imports, sagaz-dbt's phases,
dbt's main thread, dbt's worker threads) and writes the raw stacks next to the work dir's
logs (`gil-<tool>.txt`, flamegraph.pl's input format).

`--wall` samples the main thread's wall time instead (`py-spy --idle`, waits included),
which is what a small run's extra is made of; it also prints the seconds any thread spent
compiling macro templates (dbt's `TemplateCache.get_node_template`), the cost that
sagaz_dbt/dbt/compiled_macros.py removes.  Set SAGAZ_DBT_CACHE_DIR (empty: no store) to
profile a run with or without sagaz-dbt's store of compiled macros.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

from benchmarks.run import BIN

RATE = 250
OTHER = "other (parse, dbt's main thread)"
COMPILE = "macro template compiling (any thread)"
#: First match wins: a stack belongs to the first group whose marker it contains.
GROUPS = [
    ("imports", ["_find_and_load"]),
    ("dbt's worker threads", ["Thread._bootstrap"]),
    ("sagaz-dbt: parse (dbt's parse)", ["DbtSession.parse"]),
    ("sagaz-dbt: select", ["DbtSession.select"]),
    ("sagaz-dbt: lock", ["Target.locked"]),
    ("sagaz-dbt: arm", ["_Build._arm"]),
    ("sagaz-dbt: release", ["_Build._release"]),
    ("sagaz-dbt: rollback", ["_Build._compensate"]),
]


def group(raw: Path, wall: bool = False) -> dict[str, float]:
    seconds: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "get_node_template" in stack:
            seconds[COMPILE] += int(count) / RATE
        if wall and "Thread._bootstrap" in stack:
            continue  # --wall: the main thread's time only (worker threads wait most of it)
        name = next((g for g, marks in GROUPS if any(m in stack for m in marks)), OTHER)
        seconds[name] += int(count) / RATE
    return dict(seconds)


def record(work: Path, tool: str, wall: bool = False) -> Path:
    out = work / f"{'wall' if wall else 'gil'}-{tool}.txt"
    if tool == "dbt":
        cmd = [str(BIN / "dbt"), "build", "--project-dir", "dbt", "--profiles-dir", ".", "--target-path", str(work / "target-dbt")]
    else:
        journal = _journal_schema(work)
        cmd = [str(BIN / "sagaz-dbt"), "build", "--project-dir", "sagaz", "--profiles-dir", ".",
               "--target-path", str(work / "target-sagaz"), "--journal-schema", journal]  # fmt: skip
    subprocess.run([str(BIN / "py-spy"), "record", "--idle" if wall else "--gil", "-r", str(RATE), "-f", "raw", "-o", str(out), "--", *cmd],
                   cwd=work, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return out


def _journal_schema(work: Path) -> str:
    """The journal schema the harness used (its profiles.yml names the base schema)."""
    import yaml

    profile = yaml.safe_load((work / "profiles.yml").read_text())
    output = next(iter(profile.values()))["outputs"]
    schema = next(iter(output.values()))["schema"]
    return f"{schema}_sagaz"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, help="a benchmark work dir kept with --keep")
    p.add_argument("--wall", action="store_true", help="the main thread's wall time (py-spy --idle), not GIL-held time")
    a = p.parse_args(argv)
    work = a.work.resolve()
    result = {tool: group(record(work, tool, a.wall), a.wall) for tool in ("sagaz", "dbt")}
    names = [g for g, _ in GROUPS] + [OTHER]
    print(f"{'group':36s} {'sagaz-dbt':>10s} {'dbt':>8s} {'extra':>8s}")
    for name in names:
        s, d = result["sagaz"].get(name, 0.0), result["dbt"].get(name, 0.0)
        if s or d:
            print(f"{name:36s} {s:10.2f} {d:8.2f} {s - d:+8.2f}")
    total_s, total_d = (sum(v for k, v in result[t].items() if k != COMPILE) for t in ("sagaz", "dbt"))
    label = "total (main thread, wall seconds)" if a.wall else "total (GIL-held seconds)"
    print(f"{label:36s} {total_s:10.2f} {total_d:8.2f} {total_s - total_d:+8.2f}")
    s, d = result["sagaz"].get(COMPILE, 0.0), result["dbt"].get(COMPILE, 0.0)
    print(f"{COMPILE:36s} {s:10.2f} {d:8.2f} {s - d:+8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
