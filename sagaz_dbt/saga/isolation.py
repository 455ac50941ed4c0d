"""Isolation mode (`--isolation publish`): readers see the whole new run or the old warehouse.

dbt builds and tests every selected node in a *shadow* relation next to its production
relation (`__sagaz_shadow_<run token>__<identifier>`, macros/phases/isolation.sql), and only a
build in which every error-severity test passed is published, in one transaction: each
production relation moves aside, its shadow takes its name, the moved-aside relations are
dropped, and the journal marks the run committed.  A failed build only drops the shadows:
production was never written.

How dbt is pointed at the shadows without editing the project: sagaz-dbt hands dbt the
manifest it parsed, and dbt resolves `ref()` and `{{ this }}` from a manifest node's
database, schema and alias (`BaseRelation.create_from`).  For the build, each selected
node's alias (and relation_name) is the shadow's, so refs between selected nodes resolve to
shadows, refs to unselected nodes to production, and tests read the shadows.  The aliases
are put back when dbt announces the end of the run (EndRunResult), before it writes
`manifest.json` and `run_results.json`, so those name the production relations.

Crash safety reuses the saga's journal: each shadow is journaled, before it exists, as a
relation the run creates (pre_type none), so the ordinary rollback and `recover` drop it;
the publish commits together with the run's `committed` status.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from sagaz_dbt.saga import sqltext
from sagaz_dbt.errors import UsageError
from sagaz_dbt.runtime.faults import checkpoint
from sagaz_dbt.saga.detail import StepDetail
from sagaz_dbt.saga.journal import RunRecord, RunStatus, StepRecord
from sagaz_dbt.saga.plan import PlannedStep
from sagaz_dbt.dbt.session import BuildOutcome, DbtSession
from sagaz_dbt.saga.saga import Saga, SagaOutcome, StepOutcome
from sagaz_dbt.vocabulary import IsolationMode
from sagaz_dbt.dbt.warehouse import Warehouse

#: Commands whose every write is a node relation the shadows can take.
COMMANDS = ("build", "run")
#: Materializations built from scratch in the shadow (nothing to copy).
FROM_SCRATCH = {("model", "table"), ("model", "view"), ("seed", "seed")}
#: Materializations that continue from the production rows: cloned into the shadow first.
CONTINUED = {("model", "incremental"), ("snapshot", "snapshot")}


@dataclass(frozen=True)
class Shadow:
    """One node built in a shadow: where it is, and what it will replace."""

    record: StepRecord  # journaled: identifier is the shadow as the catalog holds it
    alias: str  # the alias dbt builds under (the shadow name before the engine folds it)
    production: str  # the production identifier as the catalog holds it
    clone: bool  # its production rows are copied into the shadow before the build

    @property
    def exists_in_production(self) -> bool:
        return self.record.detail.production_type is not None


@dataclass
class PublishResult:
    saga: SagaOutcome
    seconds: float  # the publish transaction, from its first statement to its commit


def requested(args: Sequence[str]) -> bool:
    """Whether these `sagaz-dbt build` arguments ask for `--isolation publish` (flags that do
    not parse are left to the default path, which reports them)."""
    from sagaz_dbt.dbt.options import split_args

    try:
        return split_args(args).options.isolation is IsolationMode.PUBLISH
    except UsageError:
        return False


def refuse_unsupported(
    command: str, options: Any, params: dict[str, Any], plan: list[PlannedStep], engine: Any, manifest: Any
) -> None:
    """Raise UsageError (exit 2, nothing changed) for what this version cannot isolate."""
    if options.isolation is not IsolationMode.PUBLISH:
        return
    if command not in COMMANDS:
        raise UsageError(
            f"--isolation publish supports `{'` and `'.join(COMMANDS)}` only, not `{command}`; nothing was changed"
        )
    if not engine.transactional_ddl:
        raise UsageError(
            f"--isolation publish needs DDL in one transaction, which {engine.adapter_type} lacks; nothing was changed"
        )
    if params.get("defer") or params.get("state"):
        raise UsageError(
            "--isolation publish does not support --state/--defer yet (the shadows' aliases would differ from the "
            "state's); nothing was changed"
        )
    unsupported = [
        f"{p.unique_id} ({p.materialized})"
        for p in plan
        if (p.resource_type, p.materialized) not in FROM_SCRATCH | CONTINUED or _is_microbatch(manifest, p)
    ]
    if unsupported:
        shown = ", ".join(unsupported[:10]) + (" ..." if len(unsupported) > 10 else "")
        raise UsageError(
            "--isolation publish supports table, view and incremental models, seeds and snapshots; the selection also has "
            f"{shown}. Exclude them or build without --isolation; nothing was changed"
        )


def _is_microbatch(manifest: Any, step: PlannedStep) -> bool:
    config = manifest.nodes[step.unique_id].config
    return str(getattr(config, "incremental_strategy", None) or "") == "microbatch"


def arm(saga: Saga, run: RunRecord, plan: list[PlannedStep], manifest: Any, full_refresh: bool) -> list[Shadow]:
    """Journal the run and every shadow's name, in one transaction, before any shadow exists."""
    warehouse = saga.warehouse
    with warehouse.transaction("sagaz_arm"):
        armed = saga._call(
            "arm_isolation",
            run=run.__dict__,
            nodes=[{"database": p.database, "schema": p.schema, "identifier": p.identifier} for p in plan],
        )
        shadows = [_shadow(p, dict(a), manifest, full_refresh) for p, a in zip(plan, armed)]
        saga._call(
            "journal_finish_arming",
            run_id=saga.run_id,
            steps=[s.record.as_bindings() for s in shadows],
            status=RunStatus.BUILDING.value,
            owner=saga.owner.__dict__ if saga.owner is not None else None,
        )
        saga._before_commit()
    checkpoint("isolation-armed")
    return shadows


def _shadow(step: PlannedStep, armed: dict[str, Any], manifest: Any, full_refresh: bool) -> Shadow:
    node = manifest.nodes[step.unique_id]
    production_type = armed["pre_type"]
    refresh = full_refresh if node.config.get("full_refresh") is None else bool(node.config.get("full_refresh"))
    # dbt's snapshot materialization ignores --full-refresh: a snapshot always continues its history.
    refresh = refresh and step.resource_type != "snapshot"
    clone = (step.resource_type, step.materialized) in CONTINUED and production_type == "table" and not refresh
    record = StepRecord.of(
        step,
        str(armed["shadow_stored"]),
        detail=StepDetail(
            isolation=IsolationMode.PUBLISH,
            production=str(armed["identifier"]),
            production_type=production_type,
            kept=str(armed["kept"]),
            cloned=clone,
        ),
    )
    return Shadow(record=record, alias=str(armed["shadow"]), production=str(armed["identifier"]), clone=clone)


def clone(saga: Saga, shadows: list[Shadow], say: Callable[[str], None]) -> None:
    """Copy each continued model's production rows into its shadow (already journaled), so
    dbt merges this run's rows into them; one transaction each (a crash leaves shadows the
    journal knows, which `recover` drops)."""
    for s in shadows:
        if not s.clone:
            continue
        r = s.record
        what = "snapshot" if r.resource_type == "snapshot" else f"{r.materialized} model"
        say(f"copying {r.schema}.{s.production} into its shadow ({what}: the run adds to its current rows)")
        with saga.warehouse.transaction("sagaz_clone"):
            saga.warehouse.call(
                "clone_into_shadow", database=r.database, schema=r.schema, identifier=s.production, shadow=r.identifier
            )
        checkpoint("isolation-cloned")


class ShadowAliases:
    """Points the manifest's nodes at their shadows for the build, and back afterwards.

    dbt fires EndRunResult after the last node and before it writes manifest.json and
    run_results.json: the aliases are put back there (and in any case when the build
    returns), so the artifacts name production relations."""

    def __init__(self, manifest: Any, shadows: Iterable[Shadow], warehouse: Warehouse) -> None:
        self.manifest = manifest
        self.saved: dict[str, tuple[Any, Any]] = {}
        self._shadows = list(shadows)
        self._warehouse = warehouse

    def apply(self) -> None:
        relation_cls = self._warehouse.adapter.Relation
        config = self._warehouse.config
        for s in self._shadows:
            node = self.manifest.nodes[s.record.unique_id]
            self.saved[node.unique_id] = (node.alias, node.relation_name)
            node.alias = s.alias
            node.relation_name = str(relation_cls.create_from(config, node))

    def on_event(self, event: Any) -> None:
        if event.info.name == "EndRunResult":
            self.restore()

    def restore(self) -> None:
        for uid, (alias, relation_name) in self.saved.items():
            node = self.manifest.nodes[uid]
            node.alias, node.relation_name = alias, relation_name
        self.saved.clear()


def build(session: DbtSession, aliases: ShadowAliases, callbacks: list[Callable[[Any], None]]) -> BuildOutcome:
    aliases.apply()
    try:
        return session.build(callbacks=[aliases.on_event, *callbacks])
    finally:
        aliases.restore()


def publish(saga: Saga, shadows: list[Shadow], keep_backups: bool = False) -> PublishResult:
    """Every built shadow takes its production relation's place, in one transaction.

    What only reads the run's own shadows (the SQL of shadow views, to re-create them under
    their production names where views bind by name) is read before the transaction opens,
    to keep it short; what others may change (the views that read production) inside it."""
    warehouse = saga.warehouse
    by_oid = warehouse.engine.binds_views_to_oids
    ordered = sorted(shadows, key=lambda s: s.record.seq)
    steps = [s.record.as_macro_arg() for s in ordered]
    renames = {s.record.identifier: s.production for s in ordered}
    views: dict[str, str] = {}
    if not by_oid:
        with warehouse.transaction("sagaz_publish_read"):
            views = _republished_views(saga, ordered, renames)
    started = time.perf_counter()
    warnings: list[str] = []
    with warehouse.transaction("sagaz_publish"):
        saga._claim()
        outside = _outside_views(saga, ordered) if by_oid else []
        checkpoint("isolation-publishing")
        done = saga._call("publish_run", run_id=saga.run_id, steps=steps, views=views)
        warnings.extend(_rebind(warehouse, outside))
        retained = [_retained(s).as_bindings() for s in ordered] if keep_backups else None
        saga._call("finish_publish", run_id=saga.run_id, moved=list(done["moved"]), retained=retained)
        saga._before_commit()
    seconds = time.perf_counter() - started
    checkpoint("isolation-published")
    actions = done["actions"]
    outcome = SagaOutcome(saga.run_id, RunStatus.COMMITTED, warnings=warnings)
    outcome.steps = [StepOutcome(s.record, str(actions.get(s.record.seq, ""))) for s in ordered]
    return PublishResult(saga=outcome, seconds=seconds)


def _retained(shadow: Shadow) -> StepRecord:
    """The journal step after a publish that keeps backups: the production relation, and
    its pre-run version under the kept name, which `sagaz-dbt rollback` swaps back (a
    relation the run created is dropped)."""
    existed = shadow.record.detail.production_type
    return dataclasses.replace(
        shadow.record,
        identifier=shadow.production,
        pre_type=existed,
        kept_identifier=shadow.record.detail.kept if existed else None,
        status="retained",
    )


def _rebind(warehouse: Warehouse, views: list[OutsideView]) -> list[str]:
    """Re-create each outside view from its own definition, so it reads the published
    relation.  One that cannot (the new relation lacks a column it reads) is rolled back to
    a savepoint and left on the moved-aside relation, which the publish then drops with
    it, as plain dbt's DROP ... CASCADE would: said in a warning, with its definition.

    The statement runs on the driver's cursor: dbt's adapter rolls the whole transaction
    back on any error, which would throw away the publish's renames."""
    warnings: list[str] = []
    handle = warehouse.adapter.connections.get_thread_connection().handle
    for view in views:
        if view.kind == "m":  # materialized views are re-created with their indexes (matviews.sql)
            warehouse.call(
                "replace_view", database=warehouse.database, schema=view.schema, identifier=view.name,
                select_sql=view.definition, kind=view.kind,
            )
            continue
        sql = warehouse.call(
            "replace_view_sql", database=warehouse.database, schema=view.schema, identifier=view.name,
            select_sql=view.definition,
        )
        with handle.cursor() as cursor:
            cursor.execute("savepoint sagaz_rebind")
            try:
                cursor.execute(str(sql))
            except Exception as exc:
                cursor.execute("rollback to savepoint sagaz_rebind")
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                warnings.append(
                    f"view {view.schema}.{view.name} reads {view.reads}, whose published version it cannot "
                    f"follow ({first}); it is dropped as plain dbt would drop it. Its definition was:\n{view.definition}"
                )
            else:
                cursor.execute("release savepoint sagaz_rebind")
    return warnings


def _republished_views(saga: Saga, shadows: list[Shadow], renames: dict[str, str]) -> dict[str, str]:
    """Views bound by name (DuckDB): each shadow view's SELECT with every shadow name it
    reads replaced by the production name, to create it under its production name."""
    out: dict[str, str] = {}
    dialect = saga.warehouse.engine.sqlglot_dialect
    by_place: dict[tuple[str, str], list[Shadow]] = {}
    for s in shadows:
        by_place.setdefault((s.record.database, s.record.schema), []).append(s)
    for (database, schema), group in by_place.items():
        found = saga.warehouse.call(
            "shadow_view_definitions", database=database, schema=schema, identifiers=[s.record.identifier for s in group]
        ) or {}
        for s in group:
            definition = found.get(s.record.identifier)
            if definition is not None:
                out[str(s.record.seq)] = sqltext.view_select_renamed(str(definition), renames, dialect)
    return out


@dataclass(frozen=True)
class OutsideView:
    """A view the run does not build that reads a relation the publish replaces."""

    schema: str
    name: str
    kind: str  # pg_class.relkind: 'v' view, 'm' materialized view
    definition: str  # its SELECT as the catalog prints it, naming the production relations
    reads: str  # the replaced relation, for messages


def _outside_views(saga: Saga, shadows: list[Shadow]) -> list[OutsideView]:
    """Views bound to OIDs (Postgres) that read a production relation the publish replaces
    and are not themselves published (hand-made views, unselected dbt views): read before
    the renames, re-created after them so they bind to the published relations instead of
    being dropped with the moved-aside ones."""
    replaced = [s for s in shadows if s.exists_in_production]
    if not replaced:
        return []
    pairs = [
        {"seq": s.record.seq, "schema": s.record.schema, "identifier": s.production, "target": s.record.identifier}
        for s in replaced
    ]
    by_seq = {s.record.seq: s for s in replaced}
    published = {(s.record.schema, s.production) for s in shadows}
    seen: set[tuple[str, str]] = set()
    out: list[OutsideView] = []
    for view in saga.warehouse.call("dependent_views_of", database=saga.journal.database, pairs=pairs) or []:
        place = (str(view["schema"]), str(view["name"]))
        if "__sagaz_" in place[1] or place in published or place in seen:
            continue
        seen.add(place)
        source = by_seq[int(view["seq"])]
        out.append(
            OutsideView(
                schema=place[0],
                name=place[1],
                kind=str(view["kind"]),
                definition=str(view["definition"]),
                reads=f"{source.record.schema}.{source.production}",
            )
        )
    return out
