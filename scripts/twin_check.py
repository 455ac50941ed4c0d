"""Twin check on a real dbt project: plain `dbt` and `sagaz-dbt` on twin warehouses.

    .venv/bin/python scripts/twin_check.py SOURCE [--subdir integration_tests] [--engine duckdb|postgres]
                                                  [--runs 2] [--seed-first] [-- extra build args]

SOURCE is a project folder, or a bare git repository (a fetched mirror: its HEAD is
exported). The project is copied twice into a temporary folder (never into this repo); a
`local:` package path in packages.yml that points into SOURCE keeps working because the
whole source tree is copied. Each twin gets its own warehouse (a DuckDB file, or a fresh
Postgres database of one name, the twins one after the other), runs `dbt deps` when it has packages,
then `--runs` builds: plain `dbt build` on one twin, `sagaz-dbt build` on the other. After
each build the two must agree on the exit code, every node's status in run_results.json,
and the warehouse (row-level checksums of every relation). Last, a failing run: a singular
test that always fails is added to the sagaz twin, and its warehouse must come back exactly
as it was before that run, with no sagaz relation left.

It prints one line per check and exits 1 if any failed. Nothing is committed: the projects
come from outside (fetched sources); this script is how the next regression shows.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.inspect import DuckDBInspector, PostgresInspector, diff_states  # noqa: E402
from helpers.postgres import PgDatabase, server_dsn  # noqa: E402

BIN = Path(sys.executable).parent
FAIL_TEST = "tests/zz_sagaz_twin_check_fails.sql"


def export(source: Path, dest: Path) -> None:
    if (source / "HEAD").is_file() and (source / "objects").is_dir():  # a bare mirror
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "--git-dir", str(source), "archive", "HEAD"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    else:
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb"))


class Twin:
    def __init__(self, label: str, tree: Path, subdir: str, engine: str, schema: str, dbname: str) -> None:
        self.label, self.engine, self.schema = label, engine, schema
        self.dir = tree / subdir if subdir else tree
        spec = yaml.safe_load((self.dir / "dbt_project.yml").read_text()) or {}
        self.profile = str(spec.get("profile") or spec.get("name"))
        if engine == "duckdb":
            path = self.dir / "warehouse.duckdb"
            output: dict[str, Any] = {"type": "duckdb", "path": str(path), "schema": schema, "threads": 4}
            self.inspector: Any = DuckDBInspector(path, schema)
        else:
            server = PgDatabase.from_dsn(server_dsn())
            server.execute(f'create database "{dbname}"')
            self.db = server.with_dbname(dbname)
            output = {
                "type": "postgres", "host": self.db.host, "port": self.db.port, "user": self.db.user,
                "password": self.db.password, "dbname": dbname, "schema": schema, "threads": 4,
            }
            self.inspector = PostgresInspector(self.db, schema)
        (self.dir / "profiles.yml").write_text(yaml.safe_dump({self.profile: {"target": "twin", "outputs": {"twin": output}}}))

    def run(self, exe: str, *args: str) -> tuple[int, str, dict[str, str]]:
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
        env.pop("SAGAZ_DBT_RUN_ID", None)
        proc = subprocess.run(
            [str(BIN / exe), *args, "--project-dir", str(self.dir), "--profiles-dir", str(self.dir)],
            capture_output=True, text=True, env=env, cwd=self.dir, timeout=3600,
        )
        statuses: dict[str, str] = {}
        results = self.dir / "target" / "run_results.json"
        if args and args[0] == "build" and results.is_file():
            for r in json.loads(results.read_text()).get("results", []):
                statuses[r["unique_id"]] = r["status"]
        return proc.returncode, proc.stdout + proc.stderr, statuses

    def state(self, ignore: list[str]) -> dict[str, Any]:
        return {k: v for k, v in self.inspector.state().items() if k.rsplit(".", 1)[-1] not in ignore}

    def drop(self) -> None:
        if self.engine == "postgres":
            PgDatabase.from_dsn(server_dsn()).execute(f'drop database if exists "{self.db.dbname}" with (force)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("--subdir", default="")
    ap.add_argument("--engine", choices=("duckdb", "postgres"), default="duckdb")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--schema", default="twin")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--ignore", action="append", default=[], help="a relation whose rows depend on the clock (repeatable)")
    ap.add_argument("build_args", nargs="*")
    opts = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sagaz_twin_"))
    failures = 0

    def check(ok: bool, what: str, detail: str = "") -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"\n     {detail}" if detail and not ok else ""), flush=True)

    twins: list[Twin] = []
    # One twin after the other, in a database of the same name: relation names rendered into
    # rows (dbt_utils.union_relations' _dbt_source_relation) must not differ between them.
    dbname = f"sagaz_twin_{secrets.token_hex(4)}"
    try:
        runs: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        for label, exe in (("plain", "dbt"), ("sagaz", "sagaz-dbt")):
            export(opts.source, work / label)
            twin = Twin(label, work / label, opts.subdir, opts.engine, opts.schema, dbname)
            twins.append(twin)
            if any((twin.dir / f).is_file() for f in ("packages.yml", "dependencies.yml")):
                code, out, _ = twin.run("dbt", "deps")
                check(code == 0, f"{label}: dbt deps", out[-2000:])
            for n in range(1, opts.runs + 1):
                prior = twin.state(opts.ignore) if label == "sagaz" else {}
                code, out, statuses = twin.run(exe, "build", *opts.build_args)
                state = twin.state(opts.ignore)
                if label == "plain":
                    runs.append((code, statuses, state))
                    continue
                pc, pst, pstate = runs[n - 1]
                check(pc == code, f"build {n}: exit code dbt={pc} sagaz-dbt={code}", out[-3000:])
                differing = sorted(u for u in set(pst) | set(statuses) if pst.get(u) != statuses.get(u))
                check(not differing, f"build {n}: {len(pst)} node statuses equal",
                      "; ".join(f"{u}: dbt={pst.get(u)} sagaz={statuses.get(u)}" for u in differing[:10]))
                if pc == 0:
                    diff = diff_states(pstate, state)
                    check(not diff, f"build {n}: warehouses equal ({len(pstate)} relations)", "\n     ".join(diff[:10]))
                else:  # plain dbt failed: sagaz-dbt must have put everything back
                    diff = diff_states(prior, state)
                    check(not diff, f"build {n}: dbt failed; sagaz-dbt's warehouse is as before the build", "\n     ".join(diff[:10]))
            if label == "plain":
                twin.drop()
        sagaz = twins[-1]
        before = sagaz.state(opts.ignore)
        (sagaz.dir / FAIL_TEST).parent.mkdir(exist_ok=True)
        (sagaz.dir / FAIL_TEST).write_text("select 1 as sagaz_twin_check_failure\n")
        fc, fout, _ = sagaz.run("sagaz-dbt", "build", *opts.build_args)
        check(fc == 1 and "rolled back" in fout, f"failing build: exit {fc}, rolled back", fout[-3000:])
        diff = diff_states(before, sagaz.state(opts.ignore))
        check(not diff, "failing build: warehouse exactly as before", "\n     ".join(diff[:10]))
        left = [o for o in sagaz.inspector.sagaz_objects() if not o.startswith("sagaz.")]
        check(not left, "failing build: no sagaz relation left", ", ".join(left[:10]))
    finally:
        if twins:
            twins[-1].drop()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    print(f"{failures} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
