"""A stand-in project for recovering a target whose own project no longer parses.

Compensation needs dbt's adapter and sagaz-dbt's macros, not the user's models: after a
crash, someone may well have broken a model while the warehouse waits to be restored.  The
stand-in keeps what identifies the target and its relations (project name, profile, vars,
quoting) and nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from sagaz_dbt.dbt import package

_KEPT_KEYS = ("name", "profile", "vars", "quoting", "config-version")


def make_standin(project_dir: Path) -> Path:
    with (project_dir / "dbt_project.yml").open() as fh:
        original = yaml.safe_load(fh) or {}
    spec = {key: original[key] for key in _KEPT_KEYS if key in original}
    spec.setdefault("config-version", 2)
    spec["version"] = "1.0"
    folder = Path(tempfile.mkdtemp(prefix="sagaz_standin_"))
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    package.install(folder)
    return folder
