"""The drop-in details of issue 13, one assertion each, through the library entry point
(`sagaz_dbt.build`, the CLI's core), so each also runs against older code: what is armed,
which flags pass through, what is printed, what lands in `target/`.

One prebuilt DuckDB shop warehouse per test; two dbt-backed runs at most."""

from __future__ import annotations

import json

from helpers.project import assert_same_state

UNUSED_PATH = "\n    nosuchdir:\n      +materialized: table\n"


def test_seed_arms_only_the_seeds_it_loads(built):
    project = built("duckdb")
    before = project.state()

    result = project.sagaz("--select", "customers+", command="seed")

    assert result.exit_code == 0, project.last_output
    armed = {uid for uid, _status in project.journal_steps(result.run_id)}
    assert armed == {"seed.shop.customers"}, armed
    after = project.state()
    models = [k for k, v in before.items() if k != "{schema}.customers"]
    assert {k: after[k] for k in models} == {k: before[k] for k in models}
    assert project.leftovers() == []


def test_warn_error_options_pass_through_and_parse_warnings_print_once(built, capsys):
    project = built("duckdb")
    text = (project.root / "dbt_project.yml").read_text()
    # an unused config path under seeds: dbt warns about it while parsing
    project.write("dbt_project.yml", text.replace("seeds:\n  shop:\n", "seeds:\n  shop:" + UNUSED_PATH, 1))
    before = project.state()
    capsys.readouterr()  # the baseline's build

    result = project.sagaz(
        "--select", "payments", "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}'
    )

    printed = capsys.readouterr().out  # dbt's own lines (and sagaz-dbt's, echoed by Project.sagaz)
    assert result.exit_code == 0, printed
    assert printed.count("Configuration paths exist in your dbt_project.yml") == 1, printed
    assert printed.index("Registered adapter") < printed.index("Configuration paths exist") < printed.index("Found ")
    assert_same_state(before, project.state(), "after re-seeding the same payments")


def test_artifacts_are_dbts(built):
    project = built("duckdb")

    result = project.sagaz("--select", "customers")

    assert result.exit_code == 0, project.last_output
    target = project.root / "target"
    assert not (target / "perf_info.json").exists(), "only `dbt parse` writes perf_info.json"
    manifest = json.loads((target / "manifest.json").read_text())
    own = [uid for uid in manifest["macros"] if uid.startswith("macro.sagaz_dbt.")]
    assert own == []
    referenced = [
        uid
        for m in [*manifest["macros"].values(), *manifest["nodes"].values()]
        for uid in m.get("depends_on", {}).get("macros", [])
        if uid.startswith("macro.sagaz_dbt.")
    ]
    assert referenced == []
    assert (target / "sagaz" / f"run_{result.run_id}.json").is_file()

    quiet = project.sagaz("--select", "customers", "--no-write-json", "--quiet")

    assert quiet.exit_code == 0
    assert not (target / "sagaz" / f"run_{quiet.run_id}.json").exists(), "--no-write-json writes no report"
    assert "sagaz-dbt" not in project.last_output, "--quiet prints only errors"


def test_console_script_takes_global_flags_and_version(built):
    """The real `sagaz-dbt` script: global flags before the sub-command, `--version` after it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = built("duckdb")
    exe = str(Path(sys.executable).parent / "sagaz-dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_PROFILES_DIR": str(project.root)}
    env.pop("SAGAZ_DBT_RUN_ID", None)

    version = subprocess.run([exe, "build", "--version"], capture_output=True, text=True, env=env, cwd=project.root)
    assert version.returncode == 0, version.stdout + version.stderr
    assert "dbt-core" in version.stdout

    proc = subprocess.run(
        [exe, "--no-use-colors", "--debug", "seed", "--select", "customers"],
        capture_output=True, text=True, env=env, cwd=project.root, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Command `dbt seed` succeeded" in proc.stdout
    assert "cli seed" not in proc.stdout
    assert "\x1b[" not in proc.stdout
