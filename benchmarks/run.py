"""sagaz-dbt against plain `dbt build`, side by side on the same warehouse.

    .venv/bin/python -m benchmarks.run                    # the full benchmark (~30 min)
    .venv/bin/python -m benchmarks.run --quick            # tiny sizes, 1 repeat, both engines (CI)
    .venv/bin/python -m benchmarks.run --engine duckdb --sizes 100k,1m --repeats 3 --cases project

Each tool runs as a subprocess of this process through its console script (`.venv/bin/dbt`,
`.venv/bin/sagaz-dbt`), so both pay the same interpreter start; each has its own copy of the
project and its own --target-path, so each keeps its own partial-parse cache; they alternate
on ONE warehouse (the order flips every repeat) and the medians are reported.

Cases, per engine and size:
  success   `build` with every test passing: wall time of each tool, ratio sagaz/dbt.
  fail      the same build whose last node (a test reading every mart) fails: plain dbt
            leaves the new data, sagaz-dbt restores everything; wall time of each tool.
  rollback  the compensation alone, from the run report's `timings` (target/sagaz/run_*.json).
  incremental (issue 5): a large incremental fact table (benchmarks/incremental_project);
            each run replaces one day, with and without a failing test.

Correctness, in the first repeat (every repeat with --verify all): both tools leave the same
warehouse after a successful run (every relation's columns, view SQL and row-level checksum),
the failing run of plain dbt changes the data (so a rollback has something to undo), the
failing sagaz-dbt run leaves the pre-run state exactly, and no `__sagaz_` relation is left.

Results: a table on stdout, benchmarks/results/<name>.json, and a chart (benchmarks/results/
overhead.png, needs matplotlib: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from benchmarks import make_project
from benchmarks.warehouse import Warehouse, diff
from sagaz_dbt.dbt.compiled_macros import CACHE_DIR_ENV as MACRO_CACHE_ENV

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
PROJECTS = {"project": HERE / "project", "incremental": HERE / "incremental_project", "large": make_project.LARGE_PROJECT}

#: The singular test that fails in the `fail` case: the last node of each build.
FAIL_TEST = {"project": "assert_run_healthy", "incremental": "assert_partition_ok", "large": "assert_run_healthy"}

#: --quick builds a slice of the 100-model project (its full build takes ~15 s even on tiny
#: data: dbt's own cost per node): 28 models (views, tables, ephemeral, an incremental model
#: with a unique_key, a seed) and their tests, the last of which is assert_kpis_healthy.
QUICK_SELECTION = ["--select", "+fct_daily_kpis", "fct_events", "--indirect-selection", "cautious"]
QUICK_FAIL_TEST = "assert_kpis_healthy"

FULL_SIZES = {"duckdb": "100k,1m,5m,20m", "postgres": "100k,1m,5m"}
FULL_INC_SIZES = "1m,10m"
#: The large project (make_project.LARGE_REPLICAS copies of the shop project, 1,026 models):
#: what grows there is the node count; its build at 100k rows takes ~2.5 min per tool.
FULL_LARGE_SIZES = "100k"
QUICK_SIZES = "5k"
QUICK_INC_SIZES = "20k"


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def label(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# -- one run of one tool ----------------------------------------------------------------------


@dataclass
class Run:
    engine: str
    kind: str  # project | incremental
    rows: int
    tool: str  # dbt | sagaz
    case: str  # success | fail
    repeat: int  # -1: warm-up
    wall_s: float
    exit_code: int
    cpu_s: float | None = None  # user+sys CPU of the process tree (DuckDB runs inside it; a Postgres server does not)
    status: str = ""  # sagaz-dbt's verdict: committed | rolled_back | ...
    timings: dict[str, float] = field(default_factory=dict)  # sagaz-dbt's phases (run report)
    load: list[float] = field(default_factory=list)
    log: str = ""


@dataclass
class Check:
    engine: str
    kind: str
    rows: int
    name: str
    ok: bool
    detail: str = ""


def tool_env(macro_cache: str | None) -> dict[str, str]:
    """The environment each measured dbt / sagaz-dbt process gets: the caller's without its
    DBT_* and SAGAZ_DBT_* settings, no telemetry or colour, and sagaz-dbt's store of
    compiled macros (sagaz_dbt/dbt/compiled_macros.py) at `macro_cache` ("": none; None:
    the user's default folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "SAGAZ_DBT_"))}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1", "DBT_USE_COLORS": "false"})
    if macro_cache is not None:
        env[MACRO_CACHE_ENV] = macro_cache
    return env


def report_since(target: Path, started: float) -> dict[str, Any] | None:
    """The newest sagaz-dbt run report (`<target>/sagaz/run_<id>.json`) written since `started`."""
    reports = [p for p in (target / "sagaz").glob("run_*.json") if p.stat().st_mtime >= started - 1]
    if not reports:
        return None
    return json.loads(max(reports, key=lambda p: p.stat().st_mtime).read_text())


class Bench:
    """One engine, one project, one size: a warehouse and the two project copies.

    With --quick both tools share one copy and one target path: the quick mode checks
    outcomes, not times, and sharing the partial-parse cache saves a full parse."""

    def __init__(self, engine: str, kind: str, rows: int, args: argparse.Namespace, say: Callable[[str], None]) -> None:
        self.engine, self.kind, self.rows, self.args = engine, kind, rows, args
        self.say = lambda msg: say(f"[{engine} {kind} {label(rows)}] {msg.strip()}")
        self.shared = bool(args.quick)
        self.dir = args.work_dir / f"{'quick-' if args.quick else ''}{kind}-{engine}-{label(rows)}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.wh = Warehouse.create(engine, self.dir, dsn=args.pg_dsn)
        self.runs: list[Run] = []
        self.checks: list[Check] = []
        self.tag = 0
        self.seq = 0
        self.selection: list[str] = QUICK_SELECTION if (args.quick and kind == "project") else []
        self.fail_test = QUICK_FAIL_TEST if (args.quick and kind == "project") else FAIL_TEST[kind]
        self.generate_s = 0.0
        if kind == "large":  # generated, not committed
            make_project.write(PROJECTS[kind], make_project.LARGE_REPLICAS)
        for tool in ("shared",) if self.shared else ("dbt", "sagaz"):
            shutil.copytree(
                PROJECTS[kind], self.dir / tool, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
            )
        if self.shared:  # installed before dbt's first parse, so sagaz-dbt's parse is partial too
            from sagaz_dbt.dbt import package

            package.install(self.dir / "shared")
        profile = self.wh.profile("sagaz_bench", threads=args.threads)
        (self.dir / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))

    # -- set-up ------------------------------------------------------------------------

    def generate(self) -> None:
        start = time.perf_counter()
        if self.kind in ("project", "large"):
            self.wh.load_project_raw(self.rows)
        else:
            self.wh.load_incremental_raw(self.rows, self.args.rows_per_day, index=not self.args.no_source_index)
        self.generate_s = round(time.perf_counter() - start, 2)
        self.say(f"  generated {label(self.rows)} rows in {self.generate_s:.1f}s")

    # -- running -----------------------------------------------------------------------

    def project_dir(self, tool: str) -> Path:
        return self.dir / ("shared" if self.shared else tool)

    def target_dir(self, tool: str) -> Path:
        return self.dir / ("target" if self.shared else f"target-{tool}")

    def command(self, tool: str) -> list[str]:
        common = [
            "build",
            "--project-dir", str(self.project_dir(tool)),
            "--profiles-dir", str(self.dir),
            "--target-path", str(self.target_dir(tool)),
            *self.selection,
        ]  # fmt: skip
        if tool == "dbt":
            return [str(BIN / "dbt"), *common]
        return [str(BIN / "sagaz-dbt"), *common, "--journal-schema", self.wh.journal_schema]

    def run(self, tool: str, case: str, repeat: int) -> Run:
        self.seq += 1
        log = self.dir / "logs" / f"{self.seq:02d}-{tool}-{case}{'-warmup' if repeat < 0 else ''}.log"
        log.parent.mkdir(exist_ok=True)
        env = tool_env(self.macro_cache())
        load = loadavg()
        started = time.time()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.run(
                self.command(tool), stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=self.project_dir(tool),
                timeout=self.args.timeout,
            )  # fmt: skip
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        run = Run(self.engine, self.kind, self.rows, tool, case, repeat, round(wall, 3), proc.returncode,
                  cpu_s=None if self.args.quick else round(cpu, 3), load=load, log=_show(log))  # fmt: skip
        if tool == "sagaz":
            report = self._report_since(started)
            if report is not None:
                run.status = str(report.get("status", ""))
                run.timings = dict(report.get("timings") or {})
        expected = 0 if case == "success" else 1
        if proc.returncode != expected:
            tail = "".join(log.read_text().splitlines(keepends=True)[-25:])
            raise RuntimeError(f"{tool} {case} exited {proc.returncode} (expected {expected}); see {log}:\n{tail}")
        self.runs.append(run)
        extra = f" [{run.status}]" if run.status else ""
        self.say(f"    {tool:5s} {case:7s} r{repeat:<2d} {wall:7.2f}s exit {proc.returncode}{extra}")
        return run

    def macro_cache(self) -> str:
        """sagaz-dbt's store of compiled macros: the work dir's own, filled by the warm-up
        run (as after a user's first run), or none (`--macro-cache off`)."""
        return "" if self.args.macro_cache == "off" else str(self.args.work_dir.resolve() / "compiled-macros")

    def _report_since(self, started: float) -> dict[str, Any] | None:
        return report_since(self.target_dir("sagaz"), started)

    # -- checking ----------------------------------------------------------------------

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(self.engine, self.kind, self.rows, name, ok, detail))
        mark = "ok" if ok else "FAILED"
        self.say(f"    check {name}: {mark}{(' - ' + detail) if detail and not ok else ''}")

    def no_leftovers(self) -> None:
        left = self.wh.sagaz_leftovers()
        if left:
            self.check("no sagaz relations left", False, ", ".join(left[:5]))

    # -- the protocol ------------------------------------------------------------------

    def measure_quick(self) -> None:
        """Both paths complete, and the states match: dbt, then sagaz-dbt on the same data
        (the same warehouse), then a failing sagaz-dbt run (new data) that must restore it."""
        self.run("dbt", "success", 0)
        expected = self.wh.fingerprint()
        self.run("sagaz", "success", 0)
        self.no_leftovers()
        after = self.wh.fingerprint()
        differences = diff(expected, after)
        self.check("success: sagaz-dbt leaves what dbt leaves", not differences and bool(after), "; ".join(differences[:5]))
        self.tag += 1
        self.wh.set_control(self.tag, self.fail_test)
        self.run("sagaz", "fail", 0)
        self.no_leftovers()
        differences = diff(after, self.wh.fingerprint())
        self.check("fail: sagaz-dbt restored the pre-run state", not differences, "; ".join(differences[:5]))
        self.wh.set_control(0)

    def measure(self, repeats: int, warmup: bool, verify: str) -> None:
        if warmup:  # builds everything once and fills both partial-parse caches; not counted
            self.run("dbt", "success", -1)
            self.run("sagaz", "success", -1)
        for r in range(repeats):
            checking = verify == "all" or (verify == "first" and r == 0)
            order = ("dbt", "sagaz") if r % 2 == 0 else ("sagaz", "dbt")
            after: dict[str, Any] = {}
            for tool in order:
                self.wh.set_control(0)
                self.run(tool, "success", r)
                if tool == "sagaz":
                    self.no_leftovers()
                if checking:
                    after[tool] = self.wh.fingerprint()
            if checking:
                differences = diff(after["dbt"], after["sagaz"])
                self.check("success: sagaz-dbt leaves what dbt leaves", not differences and bool(after["dbt"]),
                           "; ".join(differences[:5]))  # fmt: skip
                before = after[order[-1]]
            for tool in order:
                self.tag += 1
                self.wh.set_control(self.tag, self.fail_test)
                self.run(tool, "fail", r)
                if tool == "sagaz":
                    self.no_leftovers()
                if checking:
                    now = self.wh.fingerprint()
                    if tool == "dbt":
                        changed = diff(before, now)
                        self.check("fail: plain dbt's failing run changed the data", bool(changed),
                                   "the failing run changed nothing: the rollback check would prove nothing")  # fmt: skip
                    else:
                        differences = diff(before, now)
                        self.check("fail: sagaz-dbt restored the pre-run state", not differences,
                                   "; ".join(differences[:5]))  # fmt: skip
                    before = now
            self.wh.set_control(0)

    def cleanup(self, keep: bool) -> None:
        if keep:
            return
        try:
            self.wh.drop()
        finally:
            for tool in ("dbt", "sagaz"):
                shutil.rmtree(self.project_dir(tool) / "dbt_packages", ignore_errors=True)


# -- summaries --------------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(runs: list[Run], generate_s: dict[tuple[str, str, int], float], loads: dict) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for r in runs:
        if r.repeat >= 0:
            groups.setdefault((r.engine, r.kind, r.rows), []).append(r)
    out = []
    for (engine, kind, rows), rs in groups.items():
        def walls(tool: str, case: str) -> list[float]:
            return [r.wall_s for r in rs if r.tool == tool and r.case == case]

        def cpus(tool: str, case: str) -> list[float]:
            return [r.cpu_s for r in rs if r.tool == tool and r.case == case and r.cpu_s is not None]

        def phase(case: str, name: str) -> float | None:
            return median([r.timings[name] for r in rs if r.tool == "sagaz" and r.case == case and name in r.timings])

        ds, ss = median(walls("dbt", "success")), median(walls("sagaz", "success"))
        df, sf = median(walls("dbt", "fail")), median(walls("sagaz", "fail"))
        out.append(
            {
                "engine": engine,
                "kind": kind,
                "rows": rows,
                "repeats": len(walls("dbt", "success")),
                "generate_s": generate_s.get((engine, kind, rows)),
                "dbt_success_s": ds,
                "sagaz_success_s": ss,
                "success_ratio": round(ss / ds, 3) if ds and ss else None,
                "success_extra_s": round(ss - ds, 3) if ds and ss else None,
                "dbt_success_cpu_s": median(cpus("dbt", "success")),
                "sagaz_success_cpu_s": median(cpus("sagaz", "success")),
                "success_cpu_ratio": _ratio(median(cpus("sagaz", "success")), median(cpus("dbt", "success"))),
                "dbt_fail_s": df,
                "sagaz_fail_s": sf,
                "fail_extra_s": round(sf - df, 3) if df and sf else None,
                "rollback_s": phase("fail", "compensate"),
                "release_s": phase("success", "release"),
                "arm_s": phase("success", "arm"),
                "parse_s": phase("success", "parse"),
                "select_s": phase("success", "select"),
                "sagaz_build_phase_s": phase("success", "build"),
                "all_success_walls": {"dbt": walls("dbt", "success"), "sagaz": walls("sagaz", "success")},
                "all_fail_walls": {"dbt": walls("dbt", "fail"), "sagaz": walls("sagaz", "fail")},
                "load": loads.get((engine, kind, rows)),
            }
        )
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}{unit}"
    return f"{v}{unit}"


def table(summary: list[dict[str, Any]]) -> str:
    head = ["engine", "case", "rows", "n", "dbt ok", "sagaz ok", "ratio", "extra", "cpu ratio", "dbt fail",
            "sagaz fail", "fail extra", "rollback", "load (1m)"]  # fmt: skip
    rows = [head]
    for s in summary:
        load = s.get("load") or {}
        rows.append(
            [
                s["engine"], s["kind"], label(s["rows"]), str(s["repeats"]),
                fmt(s["dbt_success_s"], "s"), fmt(s["sagaz_success_s"], "s"), fmt(s["success_ratio"]),
                fmt(s["success_extra_s"], "s"), fmt(s["success_cpu_ratio"]), fmt(s["dbt_fail_s"], "s"), fmt(s["sagaz_fail_s"], "s"),
                fmt(s["fail_extra_s"], "s"), fmt(s["rollback_s"], "s"),
                f"{fmt((load.get('before') or [None])[0])}->{fmt((load.get('after') or [None])[0])}",
            ]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for dist in ("dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb", "sagaz-dbt"):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "?"
    return out


# -- main -------------------------------------------------------------------------------------


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat, no warm-up: checks, not timings")
    p.add_argument("--engine", choices=["duckdb", "postgres", "both"], default="both")
    p.add_argument("--cases", default=None,
                   help="project, incremental and/or large (the 1,026-model project), comma-separated (default "
                        "project,incremental; --quick: project, whose slice has an incremental model)")  # fmt: skip
    p.add_argument("--sizes", help="rows of the largest tables of the 100-model project, e.g. 100k,1m,20m")
    p.add_argument("--pg-sizes", help="the same for PostgreSQL only (default: --sizes, or 100k,1m,5m)")
    p.add_argument("--inc-sizes", help="rows of the incremental fact table (default 1m,10m)")
    p.add_argument("--large-sizes", help="rows of the largest tables of the 1,026-model project (case `large`; default 100k)")
    p.add_argument("--no-source-index", action="store_true",
                   help="incremental case: leave the source table unindexed on Postgres, so the batch query scans all of it")
    p.add_argument("--rows-per-day", type=int, default=None, help="rows of one day (one partition) in the incremental case")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per size (default 3; 1 with --quick; 0: the warm-up pair only, e.g. with --keep for benchmarks.gil_profile)")
    p.add_argument("--threads", type=int, default=4, help="dbt threads (profile)")
    p.add_argument("--verify", choices=["first", "all", "none"], default="first", help="checksum the warehouse in which repeats")
    p.add_argument("--pg-dsn", default=None, help="PostgreSQL server (default SAGAZ_BENCH_PG_DSN or postgres@127.0.0.1:5432)")
    p.add_argument("--name", default=None, help="results file name (default: quick or full-<timestamp>)")
    p.add_argument("--no-chart", action="store_true", help="do not render benchmarks/results/overhead.png")
    p.add_argument("--work-dir", type=Path, default=WORK, help="where warehouses and project copies go (gitignored)")
    p.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON and the chart go")
    p.add_argument("--keep", action="store_true", help="keep the warehouses (DuckDB files, Postgres schemas)")
    p.add_argument("--macro-cache", choices=["warm", "off"], default="warm",
                   help="sagaz-dbt's store of compiled macros: warm (the work dir's, filled by the warm-up run) or off (every run compiles, as a first run does)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds one dbt run may take")
    return p


def main(argv: list[str] | None = None, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    say = say or (lambda msg: print(msg, flush=True))
    engines = ["duckdb", "postgres"] if args.engine == "both" else [args.engine]
    cases = [c.strip() for c in (args.cases or ("project" if args.quick else "project,incremental")).split(",")]
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)  # 0: warm-up only (with --keep: a warehouse to profile)
    if args.rows_per_day is None:
        args.rows_per_day = 1_000 if args.quick else 10_000
    started = dt.datetime.now(dt.timezone.utc)
    name = args.name or ("quick" if args.quick else f"full-{started.strftime('%Y%m%d-%H%M%S')}")

    plan: list[tuple[str, str, int]] = []
    for engine in engines:
        if "project" in cases:
            default = QUICK_SIZES if args.quick else FULL_SIZES[engine]
            text = (args.pg_sizes if engine == "postgres" and args.pg_sizes else None) or args.sizes or default
            plan.extend((engine, "project", parse_size(s)) for s in text.split(","))
        if "large" in cases:
            text = args.large_sizes or FULL_LARGE_SIZES
            plan.extend((engine, "large", parse_size(s)) for s in text.split(","))
        if "incremental" in cases:
            text = args.inc_sizes or (QUICK_INC_SIZES if args.quick else FULL_INC_SIZES)
            plan.extend((engine, "incremental", parse_size(s)) for s in text.split(","))

    say(f"sagaz-dbt benchmark '{name}': {len(plan)} configurations, {repeats} repeat(s); load {loadavg()}")
    runs: list[Run] = []
    checks: list[Check] = []
    generated: dict[tuple[str, str, int], float] = {}
    loads: dict[tuple[str, str, int], dict[str, list[float]]] = {}
    errors: list[str] = []
    warehouses: list[dict[str, Any]] = []

    def configuration(engine: str, kind: str, rows: int) -> None:
        bench = Bench(engine, kind, rows, args, say)
        warehouses.append({"engine": engine, "kind": kind, "rows": rows, "schema": bench.wh.schema,
                           "path": str(bench.wh.path) if bench.wh.path else None, "kept": args.keep})  # fmt: skip
        bench.say(f"start (load {loadavg()})")
        loads[(engine, kind, rows)] = {"before": loadavg()}
        try:
            bench.generate()
            generated[(engine, kind, rows)] = bench.generate_s
            if args.quick:
                bench.measure_quick()
            else:
                bench.measure(repeats, warmup=True, verify=args.verify)
        except Exception as exc:  # report it and go on with the next configuration
            errors.append(f"{engine} {kind} {label(rows)}: {exc}")
            bench.say(f"ERROR: {exc}")
        finally:
            loads[(engine, kind, rows)]["after"] = loadavg()
            runs.extend(bench.runs)
            checks.extend(bench.checks)
            bench.cleanup(args.keep)

    if args.quick:  # outcomes only: the configurations run side by side to save wall time
        with ThreadPoolExecutor(max_workers=2) as pool:  # 2: the cores of the reference machine
            for future in [pool.submit(configuration, *c) for c in plan]:
                future.result()
    else:  # timings: one configuration at a time
        for c in plan:
            configuration(*c)

    summary = summarize(runs, generated, loads)
    result = {
        "name": name,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_at_end": loadavg()},
        "versions": versions(),
        "settings": {"repeats": repeats, "threads": args.threads, "macro_cache": args.macro_cache, "rows_per_day": args.rows_per_day,
                     "source_index": not args.no_source_index,
                     "warmup": not args.quick, "verify": args.verify},  # fmt: skip
        "summary": summary,
        "checks": [asdict(c) for c in checks],
        "runs": [asdict(r) for r in runs],
        "errors": errors,
        "warehouses": warehouses,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    say("")
    say(table(summary))
    failed = [c for c in checks if not c.ok]
    say(f"\nchecks: {len(checks) - len(failed)} passed, {len(failed)} failed; results in {_show(out)}")
    for c in failed:
        say(f"  FAILED {c.engine} {c.kind} {label(c.rows)}: {c.name}: {c.detail}")
    for e in errors:
        say(f"  ERROR {e}")
    if not args.no_chart and not args.quick:
        try:
            from benchmarks.chart import render

            path = render(result, args.results_dir / "overhead.png")
            say(f"chart: {_show(path)}")
        except ImportError:
            say("chart skipped: matplotlib is not installed (pip install -e '.[bench]')")
    result["ok"] = not failed and not errors
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
