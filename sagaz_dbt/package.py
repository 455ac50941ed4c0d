"""Puts the `sagaz_dbt` macro package where dbt loads it.

dbt loads every folder under the project's packages-install-path (default `dbt_packages/`)
as a package, listed in `packages.yml` or not.  `dbt deps` empties that folder, so the
package is (re)installed at the start of every run.  Files are rewritten only when their
content changed, so dbt's partial parsing keeps its cache between runs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PACKAGE_NAME = "sagaz_dbt"

_PROJECT_YML = """\
# Installed by sagaz-dbt at the start of every run; safe to delete.
name: sagaz_dbt
version: '0.1.0'
config-version: 2
require-dbt-version: [">=1.11.0", "<1.12.0"]
macro-paths: ["macros"]
# Stops plain dbt on a target with an unfinished sagaz-dbt run (macros/guard.sql).  The
# test keeps a stale partial-parse cache harmless once `dbt deps` has removed this folder.
on-run-start: ["{{ sagaz_dbt.guard_sql() if sagaz_dbt is defined else '' }}"]
"""


def macro_source_dir() -> Path:
    """The macros shipped with this install: inside the wheel, or the repo's `macros/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_dbt_package" / "macros", here.parent / "macros"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sagaz-dbt's macro package is missing from this installation")


def packages_install_path(project_dir: Path) -> Path:
    """Where dbt looks for packages, per the project's `packages-install-path`."""
    project_file = project_dir / "dbt_project.yml"
    configured = "dbt_packages"
    if project_file.is_file():
        with project_file.open() as fh:
            data = yaml.safe_load(fh) or {}
        configured = data.get("packages-install-path") or configured
    path = Path(configured)
    return path if path.is_absolute() else project_dir / path


def install(project_dir: Path) -> Path:
    """Install (or refresh) the macro package into `project_dir`; returns its folder."""
    dest = packages_install_path(project_dir) / PACKAGE_NAME
    macros_dest = dest / "macros"
    macros_dest.mkdir(parents=True, exist_ok=True)
    _write_if_changed(dest / "dbt_project.yml", _PROJECT_YML)
    source = macro_source_dir()
    wanted = {p.name for p in source.glob("*.sql")}
    for src in source.glob("*.sql"):
        _write_if_changed(macros_dest / src.name, src.read_text())
    for stale in macros_dest.glob("*.sql"):
        if stale.name not in wanted:
            stale.unlink()
    return dest


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    path.write_text(text)
