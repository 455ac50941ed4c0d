"""Relations that hooks write: protected when the project says so, always reported.

A model's materialization writes only its own relation (and dbt's `__dbt_tmp` /
`__dbt_backup` beside it), so sagaz-dbt knows what to restore.  Hooks are free SQL:
`on-run-start` / `on-run-end` and model `pre_hook` / `post_hook` may insert into an audit
log, refresh a lookup table, grant, or write anywhere.  What a user expects of a rollback
differs by table: an audit log of runs must keep the row that says "this run failed"; a
table a hook loads for the models must go back with them.  So sagaz-dbt restores only the
relations the project lists, and reports every other relation a hook wrote:

    # dbt_project.yml
    vars:
      sagaz:
        protect: ["audit.load_control", "lookup_rates"]   # [[database.]schema.]identifier

A listed relation is copied before the run (hooks change tables in place: no zero-copy
rename exists for them) and restored on rollback like a model; one the run creates is
dropped.  The report names each relation that hooks wrote, by whom, and whether it was
protected.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from sagaz_dbt.errors import UsageError
from sagaz_dbt.backups import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind

#: The var block sagaz-dbt reads from `vars:` (dbt_project.yml or --vars).
VAR_NAME = "sagaz"
PROTECT_KEY = "protect"
ISOLATE_KEY = "isolate_backups"
#: `resource_type` of a protected relation's step (it is not a dbt node).
RESOURCE_TYPE = "hook_relation"
#: Packages whose hooks are sagaz-dbt's own (the plain-dbt guard), never reported.
OWN_PACKAGE = "sagaz_dbt"


@dataclass(frozen=True)
class RelationName:
    """A relation as the user or a hook's SQL names it.  `None` parts default to the
    target's database and schema; an unquoted part compares case-insensitively, as both
    engines fold or ignore the case of unquoted identifiers."""

    identifier: str
    schema: str | None = None
    database: str | None = None

    def resolved(self, database: str, schema: str) -> "RelationName":
        return RelationName(self.identifier, self.schema or schema, self.database or database)

    @property
    def key(self) -> tuple[str, str, str]:
        return ((self.database or "").lower(), (self.schema or "").lower(), self.identifier.lower())

    @property
    def label(self) -> str:
        return ".".join(p for p in (self.schema, self.identifier) if p)


class _HookRelationStrategy(Strategy):
    """Hooks change a relation in place: only a copy keeps its pre-run rows."""

    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.COPY)


HOOK_RELATION = _HookRelationStrategy()


def _settings(cli_vars: Mapping[str, Any], project_vars: Mapping[str, Any], project: str) -> Mapping[str, Any]:
    """The `vars: {sagaz: {...}}` block: --vars first, then the root project's own scope,
    then the global one (dbt's precedence for vars)."""
    block: Any = None
    for scope in (cli_vars, (project_vars or {}).get(project) or {}, project_vars or {}):
        if isinstance(scope, Mapping) and VAR_NAME in scope:
            block = scope[VAR_NAME]
            break
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise UsageError(f"vars.{VAR_NAME} must be a mapping, such as {{protect: [audit.run_log]}}; got {block!r}")
    return block


def isolate_backups(cli_vars: Mapping[str, Any], project_vars: Mapping[str, Any], project: str) -> bool:
    """`vars: {sagaz: {isolate_backups: true}}`: on an engine that cannot move a relation to
    another schema (DuckDB), copy each table dbt replaces (and record each view's DDL) into
    the backup schema instead of keeping it in place, so that no relation of sagaz-dbt's is
    ever listed with the user's (README, by-design differences)."""
    value = _settings(cli_vars, project_vars, project).get(ISOLATE_KEY, False)
    if not isinstance(value, bool):
        raise UsageError(f"vars.{VAR_NAME}.{ISOLATE_KEY} must be true or false; got {value!r}")
    return value


def protected_relations(cli_vars: Mapping[str, Any], project_vars: Mapping[str, Any], project: str) -> list[RelationName]:
    """The relations listed under `vars: {sagaz: {protect: [...]}}`."""
    block = _settings(cli_vars, project_vars, project)
    listed = block.get(PROTECT_KEY) or []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(x, str) and x.strip() for x in listed):
        raise UsageError(f"vars.{VAR_NAME}.{PROTECT_KEY} must be a list of relation names; got {listed!r}")
    return [parse_name(text) for text in listed]


def parse_name(text: str) -> RelationName:
    """`[[database.]schema.]identifier`; a part in double quotes keeps dots and case."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                current.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    if quoted or len(parts) > 3 or any(not p for p in parts):
        raise UsageError(f"vars.{VAR_NAME}.{PROTECT_KEY}: {text!r} is not a relation name ([[database.]schema.]identifier)")
    identifier = parts[-1]
    schema = parts[-2] if len(parts) >= 2 else None
    database = parts[-3] if len(parts) == 3 else None
    return RelationName(identifier, schema, database)


# -- what hooks wrote ----------------------------------------------------------------------


@dataclass(frozen=True)
class HookWrite:
    relation: RelationName
    written_by: str  # the hook's node: "operation.<project>.<project>-on-run-end-0", or a model's id
    protected: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"relation": self.relation.label, "written_by": self.written_by, "protected": self.protected}


@dataclass
class HookWriteCollector:
    """A dbt callback: keeps the SQL that hooks sent (on-run-* hooks, and every statement
    of the nodes that have hooks of their own); parsed only after the run, so the build
    pays a dictionary lookup per event."""

    hooked_nodes: set[str]
    statements: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: Any) -> None:
        if event.info.name != "SQLQuery":
            return
        node_info = getattr(event.data, "node_info", None)
        unique_id = getattr(node_info, "unique_id", "") if node_info is not None else ""
        if not unique_id:
            return
        if unique_id.startswith("operation.") and not unique_id.startswith(f"operation.{OWN_PACKAGE}."):
            pass
        elif unique_id not in self.hooked_nodes:
            return
        with self._lock:
            self.statements.append((unique_id, str(getattr(event.data, "sql", "") or "")))


def nodes_with_hooks(manifest: Any, uids: Iterable[str]) -> set[str]:
    """The nodes (of `uids`) that carry a pre- or post-hook of the user's."""
    out: set[str] = set()
    for uid in uids:
        node = manifest.nodes.get(uid)
        config = getattr(node, "config", None)
        if config is not None and (getattr(config, "pre_hook", None) or getattr(config, "post_hook", None)):
            out.add(uid)
    return out


def hook_writes(
    statements: Iterable[tuple[str, str]],
    dialect: str,
    own: Mapping[str, RelationName],
    protected: Iterable[RelationName],
    database: str,
    schema: str,
    journal_schema: str,
) -> list[HookWrite]:
    """The relations the collected statements wrote, other than each node's own relation
    (and dbt's or sagaz-dbt's relations beside it), once per relation and writer."""
    protected_keys = {p.resolved(database, schema).key for p in protected}
    seen: set[tuple[tuple[str, str, str], str]] = set()
    found: list[HookWrite] = []
    for unique_id, sql in statements:
        mine = own.get(unique_id)
        for name in write_targets(sql, dialect):
            rel = name.resolved(database, schema)
            if _is_internal(rel, journal_schema):
                continue
            if mine is not None and _same_or_beside(rel, mine.resolved(database, schema)):
                continue
            key = (rel.key, unique_id)
            if key in seen:
                continue
            seen.add(key)
            found.append(HookWrite(name, unique_id, protected=rel.key in protected_keys))
    return found


def write_targets(sql: str, dialect: str) -> list[RelationName]:
    """Every relation a statement (or script) inserts into, updates, deletes from, merges
    into, creates, drops, alters, truncates or copies into.  SQL sqlglot cannot read is
    skipped: the report is best effort, the protection list is exact."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if _first_keyword(sql) not in _WRITE_KEYWORDS:
        return []
    try:
        trees = sqlglot.parse(sql, dialect=dialect)
    except SqlglotError:
        return []
    out: list[RelationName] = []
    for tree in trees:
        if tree is None:
            continue
        tables: list[Any] = []
        if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Alter, exp.Copy)):
            target = tree.this
            table = target if isinstance(target, exp.Table) else (target.find(exp.Table) if target is not None else None)
            if table is not None:
                tables.append(table)
        elif isinstance(tree, (exp.Drop, exp.TruncateTable)):
            tables.extend(tree.find_all(exp.Table))
        for table in tables:
            out.append(_name_of(table))
    return out


_WRITE_KEYWORDS = {"insert", "update", "delete", "merge", "create", "drop", "alter", "truncate", "copy", "with"}


def _first_keyword(sql: str) -> str:
    """The statement's first word after whitespace and comments (dbt prefixes every query
    with a `/* {...} */` comment): a cheap filter before sqlglot parses anything."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace():
            i += 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        else:
            break
    word = []
    while i < n and (sql[i].isalpha() or sql[i] == "_"):
        word.append(sql[i])
        i += 1
    return "".join(word).lower()


def _name_of(table: Any) -> RelationName:
    def part(key: str) -> str | None:
        ident = table.args.get(key)
        if ident is None:
            return None
        name = ident.name
        return name if getattr(ident, "quoted", False) else name.lower()

    return RelationName(part("this") or table.name, part("db"), part("catalog"))


def _is_internal(rel: RelationName, journal_schema: str) -> bool:
    return "__sagaz_" in rel.identifier or (rel.schema or "").lower() == journal_schema.lower()


def _same_or_beside(rel: RelationName, own: RelationName) -> bool:
    """The node's relation, or dbt's temporary and backup relations named after it."""
    if rel.key[:2] != own.key[:2]:
        return False
    ident, base = rel.key[2], own.key[2]
    return ident == base or (ident.startswith(base) and ident[len(base):].startswith("__dbt"))


def planned_steps(names: Iterable[RelationName], start_seq: int, database: str, schema: str) -> list[Any]:
    """The listed relations as saga steps after the DAG's (each copied at arm)."""
    from sagaz_dbt.saga.plan import PlannedStep

    steps: list[Any] = []
    seen: set[tuple[str, str, str]] = set()
    for name in names:
        rel = name.resolved(database, schema)
        if rel.key in seen:
            continue
        seen.add(rel.key)
        steps.append(
            PlannedStep(
                seq=start_seq + len(steps),
                unique_id=f"{RESOURCE_TYPE}.{rel.database}.{rel.schema}.{rel.identifier}",
                resource_type=RESOURCE_TYPE,
                materialized="table",
                database=str(rel.database),
                schema=str(rel.schema),
                identifier=rel.identifier,
                snapshot=HOOK_RELATION.snapshot(None, RunContext()),
            )
        )
    return steps
