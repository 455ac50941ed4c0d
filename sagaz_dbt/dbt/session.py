"""dbt driven in-process through `dbtRunner`: parse once, select, build once.

dbtRunner is not safe to run concurrently in one process (global flags, adapter factory
and event manager), so a `DbtSession` runs one invocation at a time and reuses the parsed
manifest for every later invocation (no second parse).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from dbt.artifacts.schemas.results import NodeStatus

from sagaz_dbt.dbt import selection
from sagaz_dbt.dbt.args import DbtArgs
from sagaz_dbt.dbt.build_macros import build_macro_ids
from sagaz_dbt.dbt.artifacts import (
    OwnMacrosHidden,
    ParseMessages,
    preserved_file,
    strip_own_macros_file,
    strip_own_results_file,
)
from sagaz_dbt.errors import ProjectError, UsageError
from sagaz_dbt.dbt.workers import WorkerPools
from sagaz_dbt.runtime.faults import checkpoint
from sagaz_dbt.runtime.heap import collector_paused, long_lived_frozen
from sagaz_dbt.vocabulary import NODE_FAILED_OR_ERRORED

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

#: dbt node types whose relation a build can change.
STEP_RESOURCE_TYPES = ("model", "seed", "snapshot")


@dataclass
class NodeOutcome:
    unique_id: str
    resource_type: str = ""
    status: str = ""
    message: str = ""
    failures: int | None = None


@dataclass
class BuildTracker:
    """Collects what dbt reports per node while it builds (callbacks run in dbt's threads)."""

    started: set[str] = field(default_factory=set)
    outcomes: dict[str, NodeOutcome] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name not in ("NodeStart", "NodeFinished"):
            return
        node_info = getattr(event.data, "node_info", None)
        unique_id = getattr(node_info, "unique_id", "") if node_info is not None else ""
        if not unique_id:
            return
        with self._lock:
            if name == "NodeStart":
                self.started.add(unique_id)
            else:
                outcome = self.outcomes.setdefault(unique_id, NodeOutcome(unique_id))
                outcome.status = getattr(node_info, "node_status", "") or outcome.status
                outcome.resource_type = getattr(node_info, "resource_type", "") or outcome.resource_type
        if name == "NodeFinished":
            checkpoint("node-finished")


@dataclass
class BuildOutcome:
    """What the single `dbt build` invocation returned."""

    success: bool
    exception: BaseException | None
    results: list[Any]
    tracker: BuildTracker
    #: The worker pools the invocation opened: stopped before a rollback when dbt left one
    #: running (it stopped abnormally; see workers.py).
    workers: WorkerPools = field(default_factory=WorkerPools)

    @property
    def touched(self) -> set[str]:
        """Nodes dbt actually executed (it also "starts" the nodes it then skips)."""
        outcomes = self.tracker.outcomes
        return {
            uid
            for uid in self.tracker.started
            if uid not in outcomes or outcomes[uid].status != NodeStatus.Skipped
        }

    @property
    def exit_code(self) -> int:
        """dbt's own exit code for this outcome (0 ok, 1 failures, 2 runtime error)."""
        if self.exception is not None:
            return 2
        return 0 if self.success else 1

    @property
    def failed_nodes(self) -> list[NodeOutcome]:
        out: list[NodeOutcome] = []
        for res in self.results:
            status = str(getattr(res, "status", ""))
            if status in NODE_FAILED_OR_ERRORED:
                node = res.node
                out.append(
                    NodeOutcome(
                        unique_id=node.unique_id,
                        resource_type=str(node.resource_type),
                        status=status,
                        message=str(getattr(res, "message", "") or ""),
                        failures=getattr(res, "failures", None),
                    )
                )
        return out


class DbtSession:
    """One project, one target: parse, select and build through dbtRunner."""

    def __init__(self, args: DbtArgs) -> None:
        self.args = args
        self.manifest: Any = None
        self.parse_messages = ParseMessages()
        self.extra_tokens: list[str] = []  # added to the build invocation (retry's --state)

    def parse(self) -> Any:
        """Parse quietly, without writing manifest.json or perf_info.json (the build writes
        dbt's artifacts; `sagaz_dbt.dbt.artifacts`); the parse's messages are kept for the build."""
        from dbt.cli.main import dbtRunner

        self.parse_messages = ParseMessages()
        overrides: dict[str, Any] = {}
        if self.args.command == "retry":
            overrides = selection.retry_parse_overrides(
                self.args.project_dir, str(self._target_dir()), dict(self.args.params), dict(self.args.explicit)
            )
        tokens = ["parse", *self.args.tokens_for("parse", **overrides), "--quiet", "--no-write-json"]
        with preserved_file(self._target_dir() / "perf_info.json"), collector_paused():
            res = dbtRunner(callbacks=[self.parse_messages.record]).invoke(tokens)
        if not res.success or res.result is None:
            raise ProjectError(_explain(res.exception) or "dbt could not parse the project")
        self.manifest = res.result
        if self.args.params.get("write_json", True) is not False:
            self._write_manifest()
        return self.manifest

    def _write_manifest(self) -> None:
        """target/manifest.json (and semantic_manifest.json) as `dbt build` writes them right
        after parsing, without sagaz-dbt's macros; dbt writes them again at the end."""
        from dbt.parser.manifest import write_manifest

        own = OwnMacrosHidden(self.manifest)
        own.hide()
        try:
            write_manifest(self.manifest, str(self._target_dir()))
        finally:
            own.restore()

    def _target_dir(self) -> Path:
        return target_dir_of(self.args)

    def select(self) -> list[str]:
        """The unique ids `dbt <command>` with the user's selection will execute."""
        from dbt.cli.main import dbtRunner

        if self.args.command == "retry":
            params = dict(self.args.params)
            state = selection.retry_state(self.args.project_dir, str(self._target_dir()), params)
            if state is not None:  # the previous invocation was rolled back: retry all of it
                self.extra_tokens = ["--state", str(state)]
                params["state"] = str(state)
            return selection.retry_nodes(self.args.project_dir, str(self._target_dir()), params)
        tokens = [
            "ls",
            *selection.ls_tokens(self.args.command, self.args.tokens_for("list")),
            "--output",
            "json",
            "--output-keys",
            "unique_id",
            "--log-level",
            "none",
        ]
        res = dbtRunner(manifest=self.manifest).invoke(tokens)
        if not res.success:
            raise UsageError(_explain(res.exception) or "dbt could not resolve the selection")
        ids: list[str] = []
        for line in res.result or []:
            ids.append(json.loads(line)["unique_id"])
        return ids

    def build(self, callbacks: Iterable[Callable[[Any], None]] = ()) -> BuildOutcome:
        from dbt.cli.main import dbtRunner

        tracker = BuildTracker()
        own_macros = OwnMacrosHidden(self.manifest)
        runner = dbtRunner(
            manifest=self.manifest,
            callbacks=[*self._replay(), tracker, own_macros.on_event, *callbacks],
        )
        started = time.time()
        pools = WorkerPools()
        try:
            # dbt's cost per node grows with the macro count: the build sees only those it can call
            own_macros.hide(keep=build_macro_ids(self.manifest, _adapter_types()))
            with pools.recording(), long_lived_frozen():
                res = runner.invoke([self.args.command, *self.args.tokens, *self.extra_tokens])
        finally:
            own_macros.restore()
            if self.args.command == "retry":  # it parsed again itself: not our manifest object
                strip_own_macros_file(self._target_dir() / "manifest.json", since=started)
                strip_own_results_file(self._target_dir() / "run_results.json", since=started)
        results = list(getattr(res.result, "results", None) or [])
        return BuildOutcome(
            success=bool(res.success), exception=res.exception, results=results, tracker=tracker, workers=pools
        )


    def _replay(self) -> list[Callable[[Any], None]]:
        """`dbt retry` parses the project again itself, but after sagaz-dbt's parse with the
        same target and vars its partial parse succeeds silently: the messages are ours."""
        return [self.parse_messages.replay_after_adapter]


def _adapter_types() -> list[str]:
    """The registered adapter's type and its parents' (dispatch's search order)."""
    from dbt.adapters.factory import FACTORY, get_adapter_type_names

    return [name for adapter in FACTORY.adapters for name in get_adapter_type_names(adapter)]


def target_dir_of(args: DbtArgs) -> Path:
    """dbt's target folder for these arguments (--target-path, DBT_TARGET_PATH, the project)."""
    target_path = args.params.get("target_path") or _project_target_path(args.project_dir)
    path = Path(target_path)
    return path if path.is_absolute() else args.project_dir / path


def _project_target_path(project_dir: Path) -> str:
    """dbt's target path when no flag or DBT_TARGET_PATH sets it: dbt_project.yml, or `target`."""
    import yaml

    try:
        data = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        data = {}
    value = data.get("target-path") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str) and "{{" not in value else "target"


def release_connections() -> None:
    """Close every connection dbt left open in this process, including what an engine's
    adapter keeps between invocations (dbt-duckdb's open database holds the file lock, which
    a library caller, or the next process, needs back)."""
    from dbt.adapters.factory import FACTORY

    from sagaz_dbt.engines import known_engines

    FACTORY.reset_adapters()
    for engine in known_engines():
        engine.release_connections()


def _explain(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = str(exc).strip()
    return text or type(exc).__name__
