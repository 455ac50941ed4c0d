"""Files that a model writes outside the warehouse: dbt-duckdb's `external` materialization.

An external model writes its rows to a file (or, with `partition_by`, a folder of files) and
creates a view that reads that path.  The view is kept and swapped back like any view, but
a view reads whatever file is at its path: without a backup of the file itself, a rollback
would "restore" a view that reads the failed run's rows.  So the file is copied while
arming, beside itself under a sagaz name, recorded in the step's journal entry, put back by
the rollback (before the warehouse transaction, and idempotently, so `recover` can finish
it after any crash), and deleted on release.

The location is worked out as dbt-duckdb works it out (`location`, else
`<external_root>/<identifier>.<format>`, or a folder with `options.partition_by`).  A
location that is only known at run time (Jinja in it) or that is not a local path is
refused before anything changes: sagaz-dbt cannot copy what it cannot find.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagaz_dbt.errors import UsageError

MATERIALIZATION = "external"
_REMOTE = ("s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "http://", "https://", "hf://", "r2://")


@dataclass(frozen=True)
class ExternalFile:
    path: str  # absolute
    backup: str | None  # absolute; None: the path did not exist before the run
    # Journaled in the step's detail as {"external_file": {"path", "backup"}} (saga/detail.py).


def location(node: Any, external_root: str | None) -> Path | None:
    """Where an external model writes, or None for every other node."""
    config = node.config
    if str(getattr(config, "materialized", "")) != MATERIALIZATION:
        return None
    raw = config.get("location") if hasattr(config, "get") else None
    if raw is None:
        options = (config.get("options") if hasattr(config, "get") else None) or {}
        root = external_root or "."
        name = node.alias or node.name
        raw = f"{root}/{name}" if options.get("partition_by") else f"{root}/{name}.{config.get('format') or 'parquet'}"
    text = str(raw)
    if "{{" in text or "{%" in text:
        raise UsageError(
            f"{node.unique_id}: its external location {text!r} is rendered only while dbt runs, so sagaz-dbt "
            "cannot back up the file it overwrites; give the model a literal `location`"
        )
    if text.lower().startswith(_REMOTE):
        raise UsageError(
            f"{node.unique_id} writes {text!r}, which is not a local path: sagaz-dbt cannot back up that file, "
            "so it cannot restore the model's rows on rollback. Build this model with plain dbt, or write it locally."
        )
    return Path(os.path.abspath(text))


def backup_path(path: Path, token: str) -> Path:
    return path.with_name(f"{path.name}.sagaz_bk_{token}")


def back_up(path: Path, token: str) -> ExternalFile:
    """Copy the file (or folder) at `path` beside itself; nothing if it does not exist."""
    if not path.exists():
        return ExternalFile(str(path), None)
    target = backup_path(path, token)
    _remove(target)  # a copy a crash left half-written before its journal entry existed
    if path.is_dir():
        shutil.copytree(path, target)
    else:
        shutil.copy2(path, target)
    return ExternalFile(str(path), str(target))


def restore(entry: ExternalFile) -> None:
    """Put the pre-run file back; safe to repeat (a repeat finds the backup gone)."""
    path = Path(entry.path)
    if entry.backup is None:
        _remove(path)  # the run created it
        return
    backup = Path(entry.backup)
    if not backup.exists():
        return  # already restored by an earlier, interrupted rollback
    _remove(path)
    os.replace(backup, path)


def release(entry: ExternalFile) -> None:
    if entry.backup is not None:
        _remove(Path(entry.backup))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
