"""sagaz-dbt as users get it: built into a wheel and an sdist, installed (not editable) into a
fresh virtualenv outside the repository, and run from there on a project outside it.

Offline and fast: the wheel is built with `python -m build --no-isolation` (hatchling comes
with the `test` extra), and the fresh virtualenv borrows this environment's dependencies
read-only through a `.pth` line (dbt, duckdb...), while `pip install --no-deps` puts the
wheel itself into the new environment.  Nothing of the repository is importable there: the
sagaz_dbt package and its dbt macros must come from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import duckdb
import pytest

import sagaz_dbt

REPO = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SAGAZ_DBT_RUN_ID", "GITHUB_STEP_SUMMARY")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("DBT_", "OPENLINEAGE"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", **extra)
    return env


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel built from the sdist (as pip would from PyPI's sdist).
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)], cwd=out)
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_wheel_and_sdist_carry_the_macros_and_one_version(dist: Path) -> None:
    version = sagaz_dbt.__version__
    wheel = _one(dist, f"sagaz_dbt-{version}-py3-none-any.whl")
    sdist = _one(dist, f"sagaz_dbt-{version}.tar.gz")
    # Every file, in the folders too (phases/, backups/, journal/, overrides/, engines/...).
    macros = sorted(p.relative_to(REPO / "macros").as_posix() for p in (REPO / "macros").rglob("*.sql"))
    assert macros and any("/" in m for m in macros)

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = Parser().parsestr(zf.read(f"sagaz_dbt-{version}.dist-info/METADATA").decode())
        entry_points = zf.read(f"sagaz_dbt-{version}.dist-info/entry_points.txt").decode()
    assert {f"sagaz_dbt/_dbt_package/macros/{m}" for m in macros} <= names
    assert "sagaz_dbt/schemas/SagazCompensationRunFacet.json" in names
    assert not any(n.startswith(("tests/", "macros/")) for n in names)
    assert metadata["Version"] == version
    assert {"lineage", "postgres", "test"} <= set(metadata.get_all("Provides-Extra"))
    assert "sagaz-dbt = sagaz_dbt.cli:main" in entry_points

    with tarfile.open(sdist) as tf:
        members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
    assert {f"macros/{m}" for m in macros} <= members
    assert {"pyproject.toml", "sagaz_dbt/__init__.py", "README.md"} <= members


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv).stdout.strip())
    # The dependencies, read-only from this environment (a plain path: its .pth files, among
    # them the editable install of this repository, are not processed).
    (site / "_sagaz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = _one(dist, "sagaz_dbt-*.whl")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "--no-index", str(wheel)], cwd=venv)
    return venv


def test_installed_wheel_is_what_runs(fresh_venv: Path) -> None:
    python = fresh_venv / "bin" / "python"
    proc = _run(
        [str(python), "-c", "import sagaz_dbt, sagaz_dbt.dbt.package as p; print(sagaz_dbt.__file__); print(p.macro_source_dir())"],
        cwd=fresh_venv,
    )
    module, macros = (Path(line) for line in proc.stdout.split())
    assert module.is_relative_to(fresh_venv) and not module.is_relative_to(REPO)
    assert macros.is_relative_to(fresh_venv) and macros.parts[-2:] == ("_dbt_package", "macros")

    version = _run([str(fresh_venv / "bin" / "sagaz-dbt"), "--version"], cwd=fresh_venv).stdout
    from dbt.version import __version__ as dbt_version

    assert version.startswith(f"sagaz-dbt {sagaz_dbt.__version__} (dbt-core {dbt_version}")


def test_installed_console_script_builds_a_project(fresh_venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    for folder in ("seeds", "models", "tests"):
        (project / folder).mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nconfig-version: 2\nprofile: shop\n")
    (project / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{project / 'wh.duckdb'}'\n      schema: main\n      threads: 2\n"
    )
    (project / "seeds" / "raw_orders.csv").write_text("id,amount\n1,10\n2,20\n3,30\n")
    (project / "models" / "orders.sql").write_text(
        "{{ config(materialized='table') }}\nselect id, amount * 2 as amount from {{ ref('raw_orders') }}\n"
    )
    (project / "models" / "orders_total.sql").write_text(
        "{{ config(materialized='view') }}\nselect sum(amount) as total from {{ ref('orders') }}\n"
    )
    (project / "tests" / "assert_positive.sql").write_text("select * from {{ ref('orders') }} where amount <= 0\n")

    proc = subprocess.run(
        [str(fresh_venv / "bin" / "sagaz-dbt"), "build", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "committed" in proc.stdout
    con = duckdb.connect(str(project / "wh.duckdb"), read_only=True)
    try:
        assert con.execute("select id, amount from main.orders order by id").fetchall() == [(1, 20), (2, 40), (3, 60)]
        assert con.execute("select total from main.orders_total").fetchone() == (120,)
    finally:
        con.close()
    # The macro package dbt loaded is the wheel's copy.
    installed_root = project / "dbt_packages" / "sagaz_dbt" / "macros"
    installed = {p.relative_to(installed_root): p.read_text() for p in installed_root.rglob("*.sql")}
    (shipped_root,) = fresh_venv.glob("lib/python*/site-packages/sagaz_dbt/_dbt_package/macros")
    shipped = {p.relative_to(shipped_root): p.read_text() for p in shipped_root.rglob("*.sql")}
    assert installed and installed == shipped
