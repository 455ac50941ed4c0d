"""Where sagaz-dbt's extra time goes: one `sagaz-dbt build` under pyinstrument, with dbt's
debug log of every statement, on a warehouse that plain dbt has built once.

    .venv/bin/python -m benchmarks.profile --case large --rows 100k          # 1,026 models, DuckDB
    .venv/bin/python -m benchmarks.profile --case project --engine postgres   # 114 models

Writes, under benchmarks/.work/profile-<case>-<engine>-<rows>/:
  profile.txt    pyinstrument's call tree of the sagaz-dbt process (the whole run)
  profile.html   the same, to browse
  statements.txt every statement sagaz-dbt's own phases and injected hooks sent, counted and
                 timed from dbt's debug log (dbt logs each statement's duration)
and prints the run report's phases and the statement table.  The warehouse is built by
plain dbt first (arming then finds every relation, as in a real project's second run).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.run import BIN, Bench, build_parser, label, parse_size, tool_env

#: The statement kinds sagaz-dbt adds, recognised in the SQL dbt logs (first match wins).
KINDS = [
    ("hook: mark_built (post-hook fingerprint)", re.compile(r"insert into \S*sagaz_marks", re.I)),
    ("hook: backup_touched_rows (pre-hook)", re.compile(r"__sagaz_(ky|cp)_", re.I)),
    ("arm/release: journal", re.compile(r"sagaz_(runs|steps|journal)\b", re.I)),
    ("arm: fingerprints (one union query)", re.compile(r"union all\s+select \d+ as sagaz_i", re.I)),
    ("catalog read", re.compile(r"duckdb_(tables|views|indexes|constraints)\(\)|pg_class|pg_namespace|information_schema", re.I)),
    ("sagaz script (renames/drops)", re.compile(r"^\s*(alter|drop|create table)", re.I)),
]


def statements(log: Path) -> dict[str, list[float]]:
    """{kind: [seconds]} of every statement in dbt's JSON debug log of the sagaz-dbt run,
    by connection: sagaz_* connections are sagaz-dbt's phases; a node's hooks are recognised
    by their SQL."""
    out: dict[str, list[float]] = defaultdict(list)
    pending: dict[str, tuple[str, str]] = {}
    rotated = sorted(log.parent.glob(log.name + ".*"), key=lambda f: -int(f.suffix[1:]) if f.suffix[1:].isdigit() else 0)
    lines = [line for f in [*rotated, log] for line in f.read_text(errors="replace").splitlines()]
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        name = event.get("info", {}).get("name")
        data = event.get("data", {})
        conn = str(data.get("conn_name", "") or data.get("node_info", {}).get("unique_id", ""))
        thread = event.get("info", {}).get("thread", "")
        if name == "SQLQuery":
            pending[thread] = (conn, str(data.get("sql", "")))
        elif name == "SQLQueryStatus" and thread in pending:
            conn, sql = pending.pop(thread)
            elapsed = float(data.get("elapsed", 0.0))
            body = re.sub(r"^/\*.*?\*/\s*", "", sql, flags=re.S)
            kind = next((k for k, rx in KINDS if rx.search(body)), None)
            if conn.startswith("sagaz_"):
                out[f"{conn}: {kind or 'other'}"].append(elapsed)
            elif kind is not None and kind.startswith("hook"):
                out[kind].append(elapsed)
            else:
                out["dbt's own statements"].append(elapsed)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--case", choices=["project", "large", "incremental"], default="large")
    p.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    p.add_argument("--rows", default="100k")
    p.add_argument("--interval", type=float, default=0.001, help="pyinstrument's sampling interval")
    p.add_argument("--runs", type=int, default=1, help="sagaz-dbt builds to profile (after one untimed)")
    p.add_argument("--fail", action="store_true",
                   help="profile failing builds (a test fails at the end: every model is rolled back)")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    rows = parse_size(a.rows)
    args = build_parser().parse_args(["--engine", a.engine, "--threads", "4"])
    args.rows_per_day = 10_000
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    bench = Bench(a.engine, a.case, rows, args, say)
    out = args.work_dir / f"profile-{a.case}-{a.engine}-{label(rows)}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        bench.generate()
        bench.wh.set_control(0)
        bench.run("dbt", "success", -1)
        bench.run("sagaz", "success", -1)  # the partial-parse cache and the journal exist from now on
        for i in range(a.runs):
            if a.fail:  # new data and a failing test, as the benchmark's failing runs
                bench.tag += 1
                bench.wh.set_control(bench.tag, bench.fail_test)
            env = tool_env(bench.macro_cache())  # the store the warm-up run filled
            logs = out / f"dbt-logs-{i}"
            cmd = [
                sys.executable, "-m", "pyinstrument", "--interval", str(a.interval), "-r", "pyisession",
                "-o", str(out / f"profile-{i}.pyisession"), "--", str(BIN / "sagaz-dbt"),
                *bench.command("sagaz")[1:], "--log-path", str(logs), "--log-format-file", "json",
                "--log-level-file", "debug", "--log-file-max-bytes", "0",
            ]  # fmt: skip
            started = time.time()
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, cwd=bench.project_dir("sagaz"), capture_output=True, text=True)
            wall = time.perf_counter() - t0
            (out / f"stdout-{i}.txt").write_text(proc.stdout + proc.stderr)
            if a.fail and proc.returncode != 1:
                say(f"expected the failing build to exit 1, it exited {proc.returncode}")
            report = bench._report_since(started) or {}
            say(f"sagaz-dbt under pyinstrument: {wall:.1f}s exit {proc.returncode}; phases {report.get('timings')}")
            for renderer, ext, extra in (("text", "txt", ["--show-all"]), ("html", "html", [])):
                subprocess.run([sys.executable, "-m", "pyinstrument", "--load", str(out / f"profile-{i}.pyisession"),
                                "-r", renderer, *extra, "-o", str(out / f"profile-{i}.{ext}")], check=False)  # fmt: skip
            table = statements(logs / "dbt.log") if (logs / "dbt.log").exists() else {}
            lines = [f"{'statements':<60s} {'n':>6s} {'total s':>8s} {'ms each':>8s}"]
            for kind, times in sorted(table.items(), key=lambda kv: -sum(kv[1])):
                lines.append(f"{kind:<60s} {len(times):6d} {sum(times):8.2f} {1000 * sum(times) / len(times):8.1f}")
            (out / f"statements-{i}.txt").write_text("\n".join(lines) + "\n")
            (out / f"report-{i}.json").write_text(json.dumps(report, indent=2))
            say("\n".join(lines))
    finally:
        if not a.keep:
            bench.cleanup(False)


if __name__ == "__main__":
    main()
