"""The `sagaz-dbt build` console script: dbt's exit codes (0 / 1 / 2) from a real subprocess.

Selections are narrow (the payments seed and its tests) to keep the subprocesses short; the
in-process tests cover whole builds."""

from __future__ import annotations

from helpers.project import assert_same_state


def test_cli_exit_codes_0_and_1(built):
    project = built("duckdb")
    project.use_seed_data("day2")
    before = project.state()

    failed = project.cli("--select", "payments", "--vars", "{min_payment_amount: 1000}")

    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "rolled back" in failed.stdout
    assert_same_state(before, project.state(), "after a failed CLI run vs before")

    ok = project.cli("--select", "payments")

    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    assert "committed" in ok.stdout
    after = project.state()
    assert after["{schema}.payments"]["rows"] == before["{schema}.payments"]["rows"] + 3
    others = [k for k, v in before.items() if v["type"] == "table" and k != "{schema}.payments"]
    assert {k: after[k] for k in others} == {k: before[k] for k in others}, "only the selected seed changes"
    assert project.leftovers() == []


def test_cli_exit_code_2(built):
    project = built("duckdb")
    before = project.state()

    proc = project.cli("--selector", "no_such_selector")

    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no_such_selector" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert_same_state(before, project.state(), "after a usage error vs before")
