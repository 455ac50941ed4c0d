"""The macro package dispatches the way dbt does: one public wrapper per operation calling
`adapter.dispatch('X', 'sagaz_dbt')`, a `default__X` that raises "not implemented for
<adapter>", and an implementation per supported engine.  A forgotten implementation then
stops a run on a new engine with a clear error instead of sending it Postgres SQL.

Where each lives: the wrapper and its `default__` side by side in the file of their role
(phases/, backups/, journal/, overrides/, or the shared helpers at the root), and every
`<engine>__` body in its engine's own file(s): macros/engines/<engine>.sql or
macros/engines/<engine>/*.sql.  Adding an engine adds its file there.

Read from the .sql files as text: no dbt run needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagaz_dbt.engines.base import ENGINE_MODULES

MACROS = Path(__file__).resolve().parents[2] / "macros"
ENGINE_DIR = MACROS / "engines"

_MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\((.*?)\)\s*-?%}(.*?){%-?\s*endmacro\s*-?%}", re.S)
_DISPATCH = re.compile(r"""adapter\.dispatch\(\s*'(\w+)'\s*,\s*'sagaz_dbt'\s*\)""")
_PREFIX = re.compile(r"^(\w+?)__(\w+)$")

#: The engines every dispatched operation needs (ENGINE_MODULES: the engines sagaz-dbt runs on).
ENGINES = sorted(ENGINE_MODULES)

#: Macros that only read: they must never create, alter, insert or update anything, so that a
#: read-only command (`sagaz-dbt runs`, the lock-holder message, the plain-dbt guard) writes nothing.
READS = [
    "journal_exists",
    "journal_read_runs",
    "journal_read_steps",
    "journal_select_list",
    "find_relation",
    "find_node_relation",
    "schema_relations",
    "list_schema_relations",
    "refuse_if_unfinished",
    "count_rows",
    "changed_since_run",
    "dependent_views_of",
]
_WRITES = re.compile(r"call\s+statement|add_query|\b(create|alter|insert|update|delete|drop)\s", re.I)


def macros() -> dict[str, tuple[str, str, Path]]:
    """name -> (parameters, body, file) of every macro in the package."""
    found: dict[str, tuple[str, str, Path]] = {}
    for path in sorted(MACROS.rglob("*.sql")):
        for match in _MACRO.finditer(path.read_text()):
            name = match.group(1)
            assert name not in found, f"macro {name} is defined twice ({_rel(found[name][2])}, {_rel(path)})"
            found[name] = (match.group(2), match.group(3), path)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(MACROS).as_posix()


def engine_of_file(path: Path) -> str | None:
    """The engine a file under macros/engines/ belongs to (engines/<e>.sql, engines/<e>/...),
    none for the files outside it."""
    if not path.is_relative_to(ENGINE_DIR):
        return None
    rel = path.relative_to(ENGINE_DIR)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def dispatched() -> dict[str, list[str]]:
    """operation -> the macros that call adapter.dispatch for it."""
    out: dict[str, list[str]] = {}
    for name, (_, body, _) in macros().items():
        for op in _DISPATCH.findall(body):
            out.setdefault(op, []).append(name)
    return out


def test_the_package_dispatches_at_all() -> None:
    assert {"rename_sql", "fingerprint_sql", "create_journal_schema", "journal_table_sql"} <= set(dispatched())


@pytest.mark.parametrize("op", sorted(dispatched()))
def test_each_operation_has_one_public_wrapper(op: str) -> None:
    assert dispatched()[op] == [op], f"adapter.dispatch('{op}') outside its wrapper macro {op}: {dispatched()[op]}"


@pytest.mark.parametrize("op", sorted(dispatched()))
def test_the_default_of_each_operation_raises(op: str) -> None:
    found = macros()
    assert f"default__{op}" in found, f"{op} has no default__{op}"
    _, body, _ = found[f"default__{op}"]
    assert "raise_compiler_error" in body and f"sagaz-dbt: {op} is not implemented for" in body
    assert "adapter.type()" in body


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("op", sorted(dispatched()))
def test_each_engine_implements_each_operation(op: str, engine: str) -> None:
    found = macros()
    assert f"{engine}__{op}" in found, f"{op} has no {engine}__{op}: a {engine} run would raise"
    wrapper_params = [p.split("=")[0].strip() for p in found[op][0].split(",") if p.strip()]
    impl_params = [p.split("=")[0].strip() for p in found[f"{engine}__{op}"][0].split(",") if p.strip()]
    assert impl_params == wrapper_params, f"{engine}__{op} takes {impl_params}, the wrapper passes {wrapper_params}"


def test_every_default_macro_raises() -> None:
    """No `default__` silently holds one engine's SQL: a body for an engine is named for it."""
    silent = [
        name
        for name, (_, body, _) in macros().items()
        if name.startswith("default__") and "raise_compiler_error" not in body
    ]
    assert silent == []


def test_every_engine_macro_belongs_to_a_dispatched_operation_or_is_called_by_name() -> None:
    """An `engine__X` nobody dispatches to and nobody calls is dead (a typo in its name)."""
    found = macros()
    ops = set(dispatched())
    text = "\n".join(p.read_text() for p in MACROS.rglob("*.sql"))
    dead = []
    for name in found:
        m = _PREFIX.match(name)
        if m is None or m.group(1) not in ENGINES:
            continue
        if m.group(2) in ops or f"sagaz_dbt.{name}(" in text or m.group(2) == "get_relations":  # dbt's own dispatch
            continue
        if m.group(2) in found and not m.group(2).startswith(tuple(f"{e}__" for e in ENGINES)):
            continue  # a whole phase for one engine: Warehouse.call runs `<adapter>__<macro>` first (Spark)
        dead.append(name)
    assert dead == []


@pytest.mark.parametrize("name", READS)
def test_reads_never_write(name: str) -> None:
    found = macros()
    names = [name] + [f"{e}__{name}" for e in ENGINES if f"{e}__{name}" in found]
    for each in names:
        assert each in found, each
        body = _without_comments(found[each][1])
        assert _WRITES.search(body) is None, f"{each} writes: {_WRITES.search(body).group(0)!r}"


def _without_comments(body: str) -> str:
    return re.sub(r"{#.*?#}", "", body, flags=re.S)


def test_every_engine_folder_is_a_known_engine() -> None:
    files = sorted(ENGINE_DIR.rglob("*.sql"))
    assert files
    assert {engine_of_file(p) for p in files} <= set(ENGINES), [_rel(p) for p in files]


def test_every_engine_body_lives_in_its_engine_file() -> None:
    """`<engine>__X` (a dispatched body, a whole Spark phase, an engine-only helper, an
    override of dbt's own `<engine>__` macro) is found in macros/engines/<engine>..., and
    nowhere else: the engine's files hold all it does differently."""
    misplaced = []
    for name, (_, _, path) in macros().items():
        m = _PREFIX.match(name)
        if m is not None and m.group(1) in ENGINES and engine_of_file(path) != m.group(1):
            misplaced.append(f"{name} in {_rel(path)}")
    assert misplaced == []


def test_no_wrapper_or_default_lives_in_an_engine_file() -> None:
    """The wrapper (the macro calling adapter.dispatch) and its default__ describe the
    operation for every engine: they stay out of macros/engines/."""
    found = macros()
    misplaced = [
        f"{name} in {_rel(found[name][2])}"
        for name in [*dispatched(), *(n for n in found if n.startswith("default__"))]
        if engine_of_file(found[name][2]) is not None
    ]
    assert misplaced == []


@pytest.mark.parametrize("op", sorted(dispatched()))
def test_the_default_sits_beside_its_wrapper(op: str) -> None:
    found = macros()
    assert found[f"default__{op}"][2] == found[op][2], (
        f"default__{op} is in {_rel(found[f'default__{op}'][2])}, its wrapper in {_rel(found[op][2])}"
    )
