"""Bad input: exit 2, a message that says what is wrong, and nothing changed."""

from __future__ import annotations

import pytest

from helpers.project import assert_same_state

#: name -> (args, a word the message must contain)
BAD_ARGS = {
    "unknown_selector": (["--selector", "no_such_selector"], "no_such_selector"),
    "unknown_target": (["--target", "no_such_target"], "no_such_target"),
    "missing_profile": (["--profile", "no_such_profile"], "no_such_profile"),
    "malformed_vars": (["--vars", "{fail_singular: [true"], "vars"),
}


def assert_not_started(project, result, before, needle: str) -> None:
    assert result.exit_code == 2, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "not_started"
    assert result.error is not None
    assert needle.lower() in str(result.error).lower(), str(result.error)
    assert needle.lower() in project.last_output.lower()
    assert_same_state(before, project.state(), "after bad input vs before")
    assert project.journal_run(result.run_id) is None
    assert project.leftovers() == []


@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_arguments(case, built):
    project = built("duckdb")
    before = project.state()
    project.use_seed_data("day2")  # a run that went ahead would change the warehouse
    args, needle = BAD_ARGS[case]

    result = project.sagaz(*args)

    assert_not_started(project, result, before, needle)


def test_project_that_does_not_parse(built):
    project = built("duckdb")
    before = project.state()
    project.use_seed_data("day2")
    project.write("models/marts/broken.sql", "select * from {{ ref('no_such_model') }}\n")

    result = project.sagaz()

    assert_not_started(project, result, before, "no_such_model")


@pytest.mark.postgres
def test_database_down(built):
    project = built("postgres")
    before = project.state()
    project.use_seed_data("day2")
    project.write_profile(host="127.0.0.1", port=1)

    result = project.sagaz()

    project.write_profile()
    assert result.exit_code == 2, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "not_started"
    message = str(result.error).lower()
    assert "unreachable" in message or "connect" in message, message
    assert_same_state(before, project.state(), "after a run against a closed port vs before")
    assert project.journal_run(result.run_id) is None
