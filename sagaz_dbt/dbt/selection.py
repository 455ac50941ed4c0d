"""The nodes a saga command will execute, with that command's own selection semantics.

`dbt seed --select x+` loads only seeds, `dbt run` only models: arming every node `ls`
lists by default would copy (and journal) relations the command never touches.  So `ls`
gets the command's resource types (`commands.RESOURCE_TYPES`), or for `build` the user's
own `--resource-type` / `--exclude-resource-type`.  `dbt retry` runs the previous
invocation's failed and skipped nodes, read from its `run_results.json` exactly as dbt's
RetryTask reads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbt.artifacts.schemas.results import NodeStatus

from sagaz_dbt.dbt.kinds import RESOURCE_TYPES
from sagaz_dbt.errors import UsageError
from sagaz_dbt.vocabulary import NODE_RETRYABLE

#: dbt's RetryTask.RETRYABLE_STATUSES (plus `warn` under --warn-error).
_RETRYABLE = NODE_RETRYABLE


def ls_tokens(command: str, base: list[str]) -> list[str]:
    """`ls` arguments listing what `dbt <command>` with the same selection executes."""
    types = RESOURCE_TYPES.get(command)
    if types is None:
        return base
    out = list(base)
    for resource_type in types:
        out.extend(["--resource-type", resource_type])
    return out


def _previous_results(project_dir: Path, target_path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The previous invocation's run_results.json, where dbt's RetryTask looks for it."""
    state = params.get("state")
    folder = Path(state) if state else Path(target_path)
    if not folder.is_absolute():
        folder = project_dir / folder
    path = folder / "run_results.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None  # dbt retry itself reports "Could not find previous run"
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def retry_parse_overrides(
    project_dir: Path, target_path: str, params: dict[str, Any], explicit: dict[str, Any]
) -> dict[str, Any]:
    """`dbt retry` runs against the previous invocation's target and profile, with its vars
    unless --vars is given again (RetryTask: only vars and threads override).  sagaz-dbt's
    own parse must see the same, or it would arm another warehouse's relations."""
    previous = _previous_results(project_dir, target_path, params)
    args = (previous or {}).get("args") or {}
    overrides: dict[str, Any] = {}
    for name in ("target", "profile"):
        if args.get(name):
            overrides[name] = args[name]
    if "vars" not in explicit and args.get("vars"):
        overrides["vars"] = args["vars"]
    return overrides


def retry_nodes(project_dir: Path, target_path: str, params: dict[str, Any]) -> list[str]:
    """The unique ids `dbt retry` will run: the previous run's retryable results."""
    previous = _previous_results(project_dir, target_path, params)
    if previous is None:
        return []
    retryable = set(_RETRYABLE)
    if params.get("warn_error"):
        retryable.add(NodeStatus.Warn)
    which = (previous.get("args") or {}).get("which")
    return [
        r["unique_id"]
        for r in previous.get("results", [])
        if str(r.get("status")) in retryable and not (which != "run-operation" and r["unique_id"].startswith("operation."))
    ]


#: Where a rolled-back invocation is remembered, under sagaz-dbt's own `target/sagaz/`.
_ROLLED_BACK = Path("sagaz") / "rolled_back_invocation.json"
_RETRY_STATE = Path("sagaz") / "retry_state"


_BUILT = Path("sagaz") / "built_invocation.json"


def _invocation(target_dir: Path) -> str | None:
    try:
        return str(json.loads((target_dir / "run_results.json").read_text())["metadata"]["invocation_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_rollback(target_dir: Path) -> None:
    """After a rollback, nothing of the invocation dbt recorded in run_results.json landed:
    remember its invocation id, so `sagaz-dbt retry` re-runs all of it, not only its failures."""
    invocation = _invocation(target_dir)
    if invocation is None:
        return
    path = target_dir / _ROLLED_BACK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"invocation_id": invocation}) + "\n")


def note_built(target_dir: Path, run_id: str) -> None:
    """dbt has returned for run `run_id`: note which invocation run_results.json holds, so a
    `recover` that rolls this run back after a crash remembers it too (remember_recovered)."""
    invocation = _invocation(target_dir)
    if invocation is None:
        return
    path = target_dir / _BUILT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "invocation_id": invocation}) + "\n")


def remember_recovered(target_dir: Path, run_id: str) -> None:
    """`recover` rolled back run `run_id`: if run_results.json is still that run's dbt
    invocation, `retry` must re-run all of it, as after the build's own rollback."""
    try:
        built = json.loads((target_dir / _BUILT).read_text())
    except (OSError, ValueError):
        return
    if built.get("run_id") == run_id and built.get("invocation_id") == _invocation(target_dir):
        remember_rollback(target_dir)


def retry_state(project_dir: Path, target_path: str, params: dict[str, Any]) -> Path | None:
    """For `retry` after a rolled-back invocation: a state folder whose run_results.json
    marks every node of that invocation retryable (dbt reads run_results.json from --state,
    and only from there).  None when the previous invocation was not rolled back."""
    previous = _previous_results(project_dir, target_path, params)
    target_dir = Path(target_path) if Path(target_path).is_absolute() else project_dir / target_path
    try:
        remembered = json.loads((target_dir / _ROLLED_BACK).read_text())["invocation_id"]
    except (OSError, ValueError, KeyError):
        return None
    if previous is None or previous.get("metadata", {}).get("invocation_id") != remembered:
        return None
    for result in previous.get("results", []):
        if str(result.get("status")) not in _RETRYABLE:
            result["status"] = NodeStatus.Skipped.value
    folder = target_dir / _RETRY_STATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run_results.json").write_text(json.dumps(previous))
    return folder
