"""The benchmark's quick mode: both paths complete and the states match, on both engines.

`python -m benchmarks.run --quick` builds a slice of the 100-model benchmark project on tiny
data with plain dbt, then with sagaz-dbt (the warehouses must be equal, by row-level
checksums), then a failing sagaz-dbt run (the pre-run state must come back).  It asserts
outcomes only, never a time: the timings of a quick run mean nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.postgres import PgDatabase, in_ci, server_dsn, unreachable_reason

# benchmarks/ is next to tests/ in the repository (not in the sdist).
bench = pytest.importorskip("benchmarks.run")


def test_quick_benchmark_completes_and_states_match(tmp_path: Path) -> None:
    reason = unreachable_reason(PgDatabase.from_dsn(server_dsn()))
    if reason is not None and in_ci():
        pytest.fail(f"{reason} (CI is set, so the Postgres half must run)", pytrace=False)
    engine = "both" if reason is None else "duckdb"
    lines: list[str] = []
    result = bench.main(
        [
            "--quick",
            "--engine", engine,
            "--pg-dsn", server_dsn(),
            "--work-dir", str(tmp_path / "work"),
            "--results-dir", str(tmp_path / "results"),
        ],  # fmt: skip
        say=lines.append,
    )
    output = "\n".join(lines)
    assert not result["errors"], output
    engines = ["duckdb", "postgres"] if engine == "both" else ["duckdb"]
    assert sorted(s["engine"] for s in result["summary"]) == engines, output
    for e in engines:
        runs = {(r["tool"], r["case"]): r for r in result["runs"] if r["engine"] == e}
        assert runs[("dbt", "success")]["exit_code"] == 0, output
        assert runs[("sagaz", "success")]["status"] == "committed", output
        assert runs[("sagaz", "fail")]["status"] == "rolled_back", output
        assert runs[("sagaz", "fail")]["exit_code"] == 1, output
        names = {c["name"]: c["ok"] for c in result["checks"] if c["engine"] == e}
        assert names == {
            "success: sagaz-dbt leaves what dbt leaves": True,
            "fail: sagaz-dbt restored the pre-run state": True,
        }, output
    assert result["ok"], output
    assert (tmp_path / "results" / "quick.json").is_file()
    if engine == "both":  # the run's Postgres schemas (bench_<token>*) are dropped
        prefixes = [w["schema"] for w in result["warehouses"] if w["engine"] == "postgres"]
        assert prefixes and all(p.startswith("bench_") for p in prefixes)
        server = PgDatabase.from_dsn(server_dsn())
        schemas = [s for (s,) in server.execute("select schema_name from information_schema.schemata")]
        assert not [s for s in schemas if any(s == p or s.startswith(p + "_") for p in prefixes)]
