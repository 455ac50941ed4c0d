"""The example CI job of docs/ci.md, run line for line: `dbt` replaced by `sagaz-dbt` everywhere.

Issue 13's bar for the drop-in: a team swaps `dbt` for `sagaz-dbt` in its pipeline and
nothing else changes.  This test reads the GitHub Actions job from docs/ci.md, takes every
`run:` line that calls `sagaz-dbt`, and runs the steps in order on one twin warehouse; the
same steps with `dbt` (sagaz-dbt's own flags removed: they are what a team adds) run on the
other.  Each step must exit as dbt's does, the build must leave the warehouse dbt leaves,
and a failing build (the same job with a failing test) must leave it as before the run
while dbt leaves its half-built state.  The doc is the input, so an edit to the job that
breaks the drop-in fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from helpers.project import assert_same_state
from test_conformance_cli import _invoke, _plain_dbt, _sagaz

DOC = Path(__file__).resolve().parent.parent / "docs" / "ci.md"
FAIL_TEST = "{min_payment_amount: 1000}"

#: sagaz-dbt's own flags (sagaz_dbt/dbt/options.py), with the number of values each takes: what a
#: team adds to a line when it adopts sagaz-dbt; plain dbt's twin runs the line without them.
SAGAZ_ONLY = {"--junit-xml": 1, "--wait": 0, "--wait-timeout": 1}


def job_lines(text: str) -> list[list[str]]:
    """Every `sagaz-dbt ...` command of the doc's GitHub Actions job, in step order."""
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None, "docs/ci.md has no yaml job"
    job = yaml.safe_load(block.group(1))
    steps = next(iter(job["jobs"].values()))["steps"]
    lines: list[list[str]] = []
    for step in steps:
        script = step.get("run")
        if not script:
            continue
        for command in script.replace("\\\n", " ").splitlines():
            argv = shlex.split(command)
            if argv and argv[0] == "sagaz-dbt":
                lines.append(argv[1:])
    return lines


def without_sagaz_flags(argv: list[str]) -> list[str]:
    out, skip = [], 0
    for token in argv:
        if skip:
            skip -= 1
            continue
        if token in SAGAZ_ONLY:
            skip = SAGAZ_ONLY[token]
            continue
        out.append(token)
    return out


def test_the_job_is_read_from_the_doc() -> None:
    lines = job_lines(DOC.read_text())
    commands = [" ".join(argv[:2]) if argv[0] == "source" else argv[0] for argv in lines]
    assert commands == ["deps", "debug", "source freshness", "build", "docs"], lines
    assert without_sagaz_flags(["build", "--target", "ci", "--junit-xml", "r.xml", "--wait", "--wait-timeout", "9"]) == [
        "build",
        "--target",
        "ci",
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("failing", [False, True], ids=["green", "failing-test"])
def test_the_docs_ci_job_runs_with_sagaz_dbt_in_every_line(
    failing: bool, twins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, sagaz = twins("postgres", prebuilt=True)
    for project in (plain, sagaz):
        project.write_profile(target="ci")  # the doc's profile has a `ci` target
        project.use_seed_data("day2")  # new data: a build that lands changes the warehouse
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    before = sagaz.state()
    for argv in job_lines(DOC.read_text()):
        if argv[0] == "build" and failing:
            argv = [*argv, "--vars", FAIL_TEST]
        # relative report paths land in each project's folder, as in the job's checkout
        want = _invoke(_plain_dbt, tuple(without_sagaz_flags(argv)), plain, env, monkeypatch)
        got = _invoke(_sagaz, tuple(argv), sagaz, env, monkeypatch)
        shown = f"{argv}\n--- dbt ---\n{want.stdout[-2000:]}\n--- sagaz-dbt ---\n{got.stdout[-2000:]}"
        assert got.exit_code == want.exit_code, shown
        assert got.results == want.results, shown
        if argv[0] == "build":
            assert got.exit_code == (1 if failing else 0), shown
            if failing:
                assert_same_state(before, sagaz.state(), "after the failing job's build vs before it")
                assert plain.state() != before, "plain dbt's failing build changed nothing: the test proves nothing"
            else:
                assert_same_state(plain.state(), sagaz.state(), "sagaz-dbt's warehouse vs dbt's")
            junit = sagaz.root / "reports" / "sagaz-dbt.xml"
            assert junit.is_file(), "--junit-xml wrote no report"
            assert ("<failure" in junit.read_text()) is failing
            assert summary.is_file() and "sagaz-dbt" in summary.read_text()
        if failing and argv[0] == "build":
            break  # the doc's next steps run `if: success()`
    assert sagaz.leftovers() == []
