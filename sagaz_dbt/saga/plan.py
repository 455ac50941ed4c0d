"""From the manifest and the selection to ordered saga steps.

A step is a node whose relation `dbt build` may change (model, seed, snapshot; not
ephemeral models or tests).  Steps are in topological order: compensation walks them in
reverse, so a view is restored before the table it reads.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Any, Iterable

from sagaz_dbt import backups
from sagaz_dbt.errors import UsageError
from sagaz_dbt.dbt.session import STEP_RESOURCE_TYPES
from sagaz_dbt.backups import RunContext, Snapshot
from sagaz_dbt.backups.external_files import ExternalFile
from sagaz_dbt.vocabulary import BackupKind


@dataclass(frozen=True)
class PlannedStep:
    seq: int
    unique_id: str
    resource_type: str
    materialized: str
    database: str
    schema: str
    identifier: str
    snapshot: Snapshot
    #: An external model's file, backed up before arming (journaled in the step's detail).
    external_file: ExternalFile | None = None
    #: Armed with change detection: its nodes' post-hooks mark what they built (not a retry's).
    fingerprinted: bool = True


def make_plan(manifest: Any, selected: Iterable[str], run: RunContext) -> list[PlannedStep]:
    chosen = {uid for uid in selected if _is_step(manifest, uid)}
    _refuse_unprotectable(manifest, chosen, run)
    ordered = _topological(manifest, chosen)
    steps: list[PlannedStep] = []
    for seq, uid in enumerate(ordered):
        node = manifest.nodes[uid]
        steps.append(
            PlannedStep(
                seq=seq,
                unique_id=uid,
                resource_type=str(node.resource_type),
                materialized=str(node.config.materialized),
                database=node.database or "",  # dbt-spark has none
                schema=node.schema,
                identifier=node.alias or node.name,
                snapshot=backups.for_node(node).snapshot(node, run),
            )
        )
    return steps


def _refuse_unprotectable(manifest: Any, chosen: set[str], run: RunContext) -> None:
    """A node the engine cannot protect refuses the whole run (exit 2) before anything
    changes: running it unprotected would break the all-or-nothing promise."""
    if run.engine is None:
        return
    reasons = [(uid, run.engine.refusal(manifest.nodes[uid])) for uid in sorted(chosen)]
    refused = [f"  {uid}: {why}" for uid, why in reasons if why]
    if refused:
        raise UsageError(
            f"sagaz-dbt cannot protect {len(refused)} selected node(s) on {run.engine.adapter_type}, and refuses "
            "the run; nothing was changed:\n" + "\n".join(refused) + "\nExclude them (--exclude) or build them with plain dbt."
        )


def _is_step(manifest: Any, uid: str) -> bool:
    node = manifest.nodes.get(uid)
    if node is None or str(node.resource_type) not in STEP_RESOURCE_TYPES:
        return False
    return str(node.config.materialized) != "ephemeral" and bool(node.config.enabled)


def _topological(manifest: Any, chosen: set[str]) -> list[str]:
    """Kahn's algorithm over the chosen nodes, following dependencies through nodes that are
    not chosen (an ephemeral model between two tables still orders them); ties break by id
    so the order is stable run to run."""
    parents: dict[str, set[str]] = {uid: _chosen_ancestors(manifest, uid, chosen) for uid in chosen}
    children: dict[str, set[str]] = {uid: set() for uid in chosen}
    for uid, ps in parents.items():
        for p in ps:
            children[p].add(uid)
    indegree = {uid: len(ps) for uid, ps in parents.items()}
    ready = [uid for uid, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        uid = heapq.heappop(ready)
        order.append(uid)
        for child in children[uid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(chosen):  # a cycle: dbt would have refused to parse
        order.extend(sorted(chosen - set(order)))
    return order


def _chosen_ancestors(manifest: Any, uid: str, chosen: set[str]) -> set[str]:
    found: set[str] = set()
    stack = list(manifest.parent_map.get(uid, []) if manifest.parent_map else _depends_on(manifest, uid))
    seen: set[str] = set()
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent in chosen:
            found.add(parent)
            continue
        stack.extend(manifest.parent_map.get(parent, []) if manifest.parent_map else _depends_on(manifest, parent))
    return found


def _depends_on(manifest: Any, uid: str) -> list[str]:
    node = manifest.nodes.get(uid)
    return list(getattr(getattr(node, "depends_on", None), "nodes", []) or []) if node is not None else []


def plan_for_command(command: str, plan: list[Any]) -> list[Any]:
    """`dbt retry` parses the project again itself, so the row-level backup pre-hooks that
    sagaz-dbt adds to its own manifest never reach the nodes it runs: such steps copy their
    table before the run instead (and say so); materialized view models, which only a
    pre-hook can keep, are refused; and no step is marked as built (see below)."""
    if command != "retry":
        return plan
    from sagaz_dbt.saga.hooks import MATERIALIZED_VIEW

    kept_by_hook = [step for step in plan if step.materialized == MATERIALIZED_VIEW]
    if kept_by_hook:
        # The pre-hook that keeps a materialized view's pre-run rows would not run either,
        # and there is no copy of a materialized view to fall back on: refuse, changing nothing.
        names = ", ".join(step.unique_id for step in kept_by_hook[:5])
        raise UsageError(
            f"`sagaz-dbt retry` cannot protect materialized view models ({names}): dbt retry parses the "
            "project again, without the pre-hook that keeps their pre-run rows. Nothing was changed; "
            "re-run those nodes with `sagaz-dbt build --select ...` instead."
        )
    out = []
    for step in plan:
        if step.snapshot.row_level:
            why = f"{step.identifier}: copying the whole table before the run, because `dbt retry` re-parses the project"
            step = replace(step, snapshot=Snapshot(BackupKind.COPY, notice=why))
        # Nor do the post-hooks that mark what the run built (fingerprint.sql): without them
        # recovery would take every relation the retry built for a later change and refuse.
        # Such steps are recovered as older journals' are, without that check.
        out.append(replace(step, fingerprinted=False))
    return out
