"""`packages.yml` / `dependencies.yml` listing packages that `dbt deps` never installed.

dbt-core refuses to run when the project lists more packages than its packages-install-path
holds (`RuntimeConfig.load_dependencies`: folders not starting with `__`).  sagaz-dbt installs
its own macro package into that folder, which used to satisfy the count and let the run fail
later (or, with an unused package, silently succeed where dbt refuses).  sagaz-dbt must give
dbt's own message, exit 2, before installing anything or touching the warehouse.
"""

from __future__ import annotations

import shutil

import pytest

from helpers.project import assert_same_state

HUB = "  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n"
CASES = {
    # name -> (file, its text, folders already under dbt_packages/ besides ours)
    "packages_yml": ("packages.yml", "packages:\n" + HUB, []),
    "dependencies_yml": ("dependencies.yml", "packages:\n" + HUB, []),
    "two_listed_one_installed": (
        "packages.yml",
        "packages:\n" + HUB + "  - package: dbt-labs/codegen\n    version: 0.13.1\n",
        ["dbt_utils"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_uninstalled_packages_stop_like_dbt(case, built):
    project = built("duckdb")
    filename, text, installed = CASES[case]
    project.write(filename, text)
    packages_dir = project.root / "dbt_packages"
    shutil.rmtree(packages_dir, ignore_errors=True)
    for name in installed:
        project.write(f"dbt_packages/{name}/dbt_project.yml", f"name: {name}\nversion: '1.0'\nconfig-version: 2\n")
    before = project.state()
    project.use_seed_data("day2")  # a run that went ahead would change the warehouse

    plain = project.dbt()  # the reference: plain dbt on the same folder
    assert not plain.success
    expected = str(plain.exception).strip().splitlines()[-1].strip()
    assert '"dbt deps"' in expected, expected

    result = project.sagaz()

    assert result.exit_code == 2, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "not_started"
    assert str(result.error) == expected
    assert expected in project.last_output
    assert sorted(p.name for p in packages_dir.iterdir()) == sorted(installed) if packages_dir.exists() else not installed
    assert_same_state(before, project.state(), "after a run with uninstalled packages vs before")
    assert project.journal_run(result.run_id) is None
