"""Assertions on how a sagaz-dbt run ended: committed (the journal says so, nothing of
sagaz-dbt is left) or rolled back (the warehouse equals its pre-run state, row for row)."""

from __future__ import annotations

import json
from typing import Any

from helpers.project import Project, assert_same_state


def statuses(project: Project) -> dict[str, str]:
    """unique_id -> status from target/run_results.json."""
    data = json.loads((project.root / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}


def actions(result: Any) -> dict[str, str]:
    """unique_id -> what the saga did to the step's relation."""
    return {s.step.unique_id: s.action for s in result.saga.steps}


def assert_committed(project: Project, result: Any) -> None:
    assert result.exit_code == 0, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "committed"
    assert result.error is None
    assert project.journal_run(result.run_id)[0] == "committed"
    steps = project.journal_steps(result.run_id)
    assert steps and {status for _, status in steps} == {"released"}, steps
    assert project.leftovers() == [], "a committed run must not leave sagaz relations behind"


def assert_rolled_back(project: Project, result: Any, before: dict, failing: str) -> None:
    assert result.exit_code == 1, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "rolled_back", result.error
    assert result.error is None
    failed = [f.unique_id for f in result.dbt.failed_nodes]
    assert any(uid.startswith(failing) for uid in failed), failed
    assert project.journal_run(result.run_id)[0] == "rolled_back"
    assert {status for _, status in project.journal_steps(result.run_id)} <= {"compensated"}
    assert_same_state(before, project.state(), "after rollback vs before the run")
    assert project.leftovers() == [], "a rolled-back run must not leave sagaz relations behind"
    assert "rolled back" in project.last_output
