"""Puts the `sagaz_dbt` macro package where dbt loads it.

dbt loads every folder under the project's packages-install-path (default `dbt_packages/`)
as a package, listed in `packages.yml` or not.  `dbt deps` empties that folder, so the
package is (re)installed at the start of every run.  Files are rewritten only when their
content changed, so dbt's partial parsing keeps its cache between runs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sagaz_dbt.errors import ProjectError

PACKAGE_NAME = "sagaz_dbt"

_PROJECT_YML = """\
# Installed by sagaz-dbt at the start of every run; safe to delete.
name: sagaz_dbt
version: '0.1.0'
config-version: 2
require-dbt-version: [">=1.11.0", "<1.12.0"]
macro-paths: ["macros"]
# Stops plain dbt on a target with an unfinished sagaz-dbt run (macros/phases/guard.sql).  The
# test keeps a stale partial-parse cache harmless once `dbt deps` has removed this folder.
on-run-start: ["{{ sagaz_dbt.guard_sql() if sagaz_dbt is defined else '' }}"]
"""


def macro_source_dir() -> Path:
    """The macros shipped with this install: inside the wheel, or the repo's `macros/`."""
    here = Path(__file__).resolve().parent.parent  # the sagaz_dbt package
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


def check_dependencies_installed(project_dir: Path) -> None:
    """Refuse to run, as dbt does, when `packages.yml` / `dependencies.yml` lists more
    packages than the install path holds.

    dbt-core makes this check while loading the project (`RuntimeConfig.load_dependencies`):
    packages specified > folders under packages-install-path not starting with `__`.  Our own
    folder would count as one installed package and hide a missing `dbt deps` until a macro
    is missing mid-run, so the same rule is applied here first, without our folder, and
    before anything is installed or connected; the message is dbt's own."""
    from dbt.config.project import package_and_project_data_from_root
    from dbt.exceptions import UninstalledPackagesFoundError
    from dbt_common.exceptions import DbtBaseException

    try:
        packages_data, specified_path = package_and_project_data_from_root(str(project_dir))
    except DbtBaseException as exc:  # both files set `packages`: dbt's own error
        raise ProjectError(str(exc).strip()) from exc
    specified = (packages_data.get("packages") if isinstance(packages_data, dict) else None) or []
    if not specified:
        return
    root = packages_install_path(project_dir)
    installed = (
        [p for p in root.iterdir() if p.is_dir() and not p.name.startswith("__") and p.name != PACKAGE_NAME]
        if root.exists()
        else []
    )
    if len(specified) > len(installed):
        configured = _configured_install_path(project_dir)
        error = UninstalledPackagesFoundError(len(specified), len(installed), specified_path, configured)
        raise ProjectError(error.get_message())


def _configured_install_path(project_dir: Path) -> str:
    """packages-install-path as written in dbt_project.yml (dbt prints it that way)."""
    project_file = project_dir / "dbt_project.yml"
    if project_file.is_file():
        with project_file.open() as fh:
            data = yaml.safe_load(fh) or {}
        if data.get("packages-install-path"):
            return str(data["packages-install-path"])
    return "dbt_packages"


def install(project_dir: Path) -> Path:
    """Install (or refresh) the macro package into `project_dir`; returns its folder."""
    dest = packages_install_path(project_dir) / PACKAGE_NAME
    macros_dest = dest / "macros"
    macros_dest.mkdir(parents=True, exist_ok=True)
    _write_if_changed(dest / "dbt_project.yml", _PROJECT_YML)
    source = macro_source_dir()
    # Engine folders too (macros/engines/spark/): dbt reads macro paths recursively.
    wanted = {p.relative_to(source) for p in source.rglob("*.sql")}
    for rel in wanted:
        (macros_dest / rel).parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(macros_dest / rel, (source / rel).read_text())
    for stale in macros_dest.rglob("*.sql"):
        if stale.relative_to(macros_dest) not in wanted:
            stale.unlink()
    return dest


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    path.write_text(text)
