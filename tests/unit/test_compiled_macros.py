"""The store of compiled macros (sagaz_dbt/dbt/compiled_macros.py): a template made from
stored code is the template dbt would have compiled, and every way the store can be missing
or wrong ends in dbt compiling as it always does."""

from __future__ import annotations

import hashlib
import marshal
import threading
from pathlib import Path
from types import SimpleNamespace

import dbt.include.global_project as global_project
import jinja2
import pytest
from dbt_common.clients import jinja as dbt_jinja
from dbt_common.exceptions import CompilationError

from sagaz_dbt.dbt import compiled_macros

REPO = Path(__file__).resolve().parents[2]
MACRO = dbt_jinja.get_dbt_macro_name("m")  # dbt's parser renames every macro
BLOCKS = {"macro", "materialization", "test", "data_test"}


def _macro_sources(folder: Path) -> list[str]:
    out = []
    for path in sorted(folder.rglob("*.sql")):
        for block in dbt_jinja.extract_toplevel_blocks(path.read_text(), allowed_blocks=BLOCKS, collect_raw_data=False):
            out.append(block.full_block)
    return out


OWN = _macro_sources(REPO / "macros")
DBT = _macro_sources(Path(global_project.PACKAGE_PATH) / "macros")


def _node(source: str) -> SimpleNamespace:
    return SimpleNamespace(macro_sql=source, name="m")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(compiled_macros.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _template(source: str) -> jinja2.Template:
    """What dbt's macro machinery asks for, through whatever get_node_template is now."""
    return dbt_jinja.TemplateCache().get_node_template(_node(source))


def _process(*sources: str) -> None:
    """What one sagaz-dbt process does: asks for these macros' templates, then ends."""
    with compiled_macros.cached():
        for source in sources:
            _template(source)


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = dbt_jinja.MacroFuzzEnvironment.compile

    def counting(self, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(source)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(dbt_jinja.MacroFuzzEnvironment, "compile", counting)
    return calls


def test_the_sources_are_found() -> None:
    assert len(OWN) > 50 and len(DBT) > 200


def test_every_macro_from_stored_code_is_the_one_dbt_compiles(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every macro of sagaz-dbt's package and of dbt's global project: the template made in a
    later process (from the file) has the same macros, blocks and line map as dbt's own."""
    sources = OWN + DBT
    _process(*sources)
    assert len(list(store.glob("macros-*.marshal"))) == 1
    calls = _compiles(monkeypatch)
    with compiled_macros.cached():
        for source in sources:
            ours = _template(source)
            theirs = dbt_jinja.get_template(source, {}, node=_node(source))
            assert ours.debug_info == theirs.debug_info
            assert sorted(ours.blocks) == sorted(theirs.blocks)
            assert sorted(ours.module.__dict__) == sorted(theirs.module.__dict__)
    assert len(calls) == len(sources)  # dbt's get_template above, once each: none of ours


RENDERED = [
    ("{% macro m(a, b) %}{{ a ~ '-' ~ b }}{% endmacro %}", ("x", 1)),
    ("{% macro m(xs) %}{% for x in xs %}{% if x > 2 %}{% break %}{% endif %}{{ x }},{% endfor %}{% endmacro %}", ([1, 2, 3, 4],)),
    ("{% macro m(d) %}{% set out = [] %}{% do out.append(d | length) %}{{ out }}{% endmacro %}", ({"a": 1},)),
    ("{% macro m(s) %}{{ s | upper | replace('A', '\"') }}{# note #}{% endmacro %}", ("a'b",)),
    ("{% macro m(n) -%}\n  {%- set ns = namespace(t=0) -%}{%- for i in range(n) -%}{%- set ns.t = ns.t + i -%}{%- endfor -%}{{ ns.t }}\n{%- endmacro %}", (5,)),
]  # fmt: skip


@pytest.mark.parametrize("source,args", RENDERED)
def test_a_macro_from_stored_code_renders_as_dbts(store: Path, source: str, args: tuple) -> None:
    _process(source)
    with compiled_macros.cached():
        ours = _template(source).make_module(vars={}).__dict__[MACRO](*args)
    theirs = dbt_jinja.get_template(source, {}, node=_node(source)).make_module(vars={}).__dict__[MACRO](*args)
    assert str(ours) == str(theirs)


def test_a_later_process_compiles_nothing_it_stored(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _compiles(monkeypatch)
    _process(OWN[0])
    assert calls == [OWN[0]]
    _process(OWN[0], OWN[1])
    assert calls == [OWN[0], OWN[1]]  # the second process compiled only what was new
    _process(OWN[1])
    assert calls == [OWN[0], OWN[1]]


def _signed(payload: bytes) -> bytes:
    return compiled_macros.MAGIC + hashlib.sha256(payload).digest() + payload


@pytest.mark.parametrize(
    "damage",
    [b"", b"not marshal", marshal.dumps({}), compiled_macros.MAGIC + b"0" * 32 + marshal.dumps({}),
     _signed(b"not marshal"), _signed(marshal.dumps([1, 2])), _signed(marshal.dumps({"k": "not code"}))],
)  # fmt: skip
def test_a_damaged_file_means_compiling(store: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes) -> None:
    _process(OWN[0])
    (path,) = store.glob("macros-*.marshal")
    path.write_bytes(damage)
    calls = _compiles(monkeypatch)
    _process(OWN[0])
    assert calls == [OWN[0]]
    _process(OWN[0])
    assert calls == [OWN[0]]  # and the file is whole again


def test_turned_off_by_an_empty_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled_macros.CACHE_DIR_ENV, "")
    original = dbt_jinja.TemplateCache.get_node_template
    with compiled_macros.cached():
        assert dbt_jinja.TemplateCache.get_node_template is original


def test_the_patch_is_removed_by_the_outermost_exit(store: Path) -> None:
    original = dbt_jinja.TemplateCache.get_node_template
    with compiled_macros.cached():
        with compiled_macros.cached():
            pass
        assert dbt_jinja.TemplateCache.get_node_template is not original
    assert dbt_jinja.TemplateCache.get_node_template is original


def test_an_unwritable_folder_means_compiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(compiled_macros.CACHE_DIR_ENV, str(blocker / "cache"))
    with compiled_macros.cached():
        assert MACRO in _template(RENDERED[0][0]).module.__dict__


def test_macro_debugging_takes_dbts_own_path(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbt_jinja, "MACRO_DEBUGGING", True)
    _process(OWN[0])
    assert not list(store.glob("macros-*.marshal"))


def test_a_compile_error_reads_as_dbts(store: Path) -> None:
    source = "{% macro m() %}{{ x | no_such_filter }}{% endmacro %}"
    with pytest.raises(CompilationError) as theirs:
        dbt_jinja.get_template(source, {}, node=_node(source))
    with compiled_macros.cached(), pytest.raises(CompilationError) as ours:
        _template(source)
    assert str(ours.value) == str(theirs.value)


def test_the_key_follows_the_environment() -> None:
    env = dbt_jinja.get_environment(None, capture_macros=False, native=False)
    same = dbt_jinja.get_environment(None, capture_macros=False, native=False)
    assert compiled_macros.environment_key(env) == compiled_macros.environment_key(same)
    native = dbt_jinja.get_environment(None, capture_macros=False, native=True)
    assert compiled_macros.environment_key(native) != compiled_macros.environment_key(env)
    same.filters["extra"] = str
    assert compiled_macros.environment_key(same) != compiled_macros.environment_key(env)
    same = dbt_jinja.get_environment(None, capture_macros=False, native=False)
    same.trim_blocks = True
    assert compiled_macros.environment_key(same) != compiled_macros.environment_key(env)


def test_a_file_others_may_write_is_not_read(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code is run from the store, so a file that group or others may write is ignored."""
    _process(OWN[0])
    (path,) = store.glob("macros-*.marshal")
    path.chmod(0o666)
    calls = _compiles(monkeypatch)
    _process(OWN[0])
    assert calls == [OWN[0]]


def test_no_home_folder_means_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (compiled_macros.CACHE_DIR_ENV, "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(compiled_macros.os.path, "expanduser", lambda p: p)
    assert compiled_macros.cache_dir() is None
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert compiled_macros.cache_dir() == Path("/somewhere/sagaz-dbt")


def test_stored_code_that_does_not_load_is_compiled_again(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that reads but holds the wrong code for a key (no `root`): compiled as dbt would."""
    env = dbt_jinja.get_environment(None, capture_macros=False, native=False)
    key = compiled_macros.entry_key(compiled_macros.environment_key(env), OWN[0])
    _process(OWN[1])
    (path,) = store.glob("macros-*.marshal")
    path.write_bytes(_signed(marshal.dumps({key: compile("x = 1", "<template>", "exec")})))
    calls = _compiles(monkeypatch)
    with compiled_macros.cached():
        assert sorted(_template(OWN[0]).blocks) == sorted(dbt_jinja.get_template(OWN[0], {}).blocks)
    assert calls[0] == OWN[0]


def test_a_path_that_cannot_be_expanded_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled_macros.CACHE_DIR_ENV, "~no_such_user_sagaz/cache")
    original = dbt_jinja.TemplateCache.get_node_template
    for _ in range(2):  # and the next command is not left half set up
        with compiled_macros.cached():
            assert dbt_jinja.TemplateCache.get_node_template is original
            assert MACRO in _template(RENDERED[0][0]).module.__dict__


def test_the_patch_is_removed_when_the_command_fails(store: Path) -> None:
    original = dbt_jinja.TemplateCache.get_node_template
    with pytest.raises(KeyboardInterrupt), compiled_macros.cached():
        _template(OWN[0])
        raise KeyboardInterrupt
    assert dbt_jinja.TemplateCache.get_node_template is original
    assert list(store.glob("macros-*.marshal"))  # and what it compiled was kept


@pytest.mark.parametrize("error", [OSError, MemoryError, KeyboardInterrupt])
def test_writing_the_store_never_fails_the_command(store: Path, monkeypatch: pytest.MonkeyPatch, error: type) -> None:
    def fail(*args: object) -> bytes:
        raise error()

    monkeypatch.setattr(compiled_macros.marshal, "dumps", fail)
    _process(OWN[0])  # no exception
    assert not list(store.glob("macros-*.marshal"))


def test_builds_in_many_threads_share_the_store(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = OWN[:40]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for source in sources[offset:] + sources[:offset]:
                assert _template(source).blocks is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with compiled_macros.cached():
        threads = [threading.Thread(target=work, args=(i * 5,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    calls = _compiles(monkeypatch)
    _process(*sources)
    assert calls == []  # every one of them was stored


def test_a_store_over_the_limit_keeps_what_this_process_used(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled_macros, "MAX_ENTRIES", 3)
    _process(*OWN[:3])
    _process(OWN[0], OWN[3])  # over the limit: keeps OWN[0] (used) and OWN[3] (new)
    calls = _compiles(monkeypatch)
    _process(OWN[0], OWN[3])
    assert calls == []
    _process(OWN[1])
    assert calls == [OWN[1]]


def test_stale_files_of_other_versions_are_removed_when_this_one_writes(store: Path) -> None:
    """Each upgrade writes a new file (its key hashes the versions); the old ones go after
    STALE_SECONDS without a write, and a recent one (another install in use) stays."""
    import os
    import time

    store.mkdir(parents=True)
    old, recent, torn = store / "macros-old.marshal", store / "macros-recent.marshal", store / "macros-x.marshal1.tmp"
    unrelated = store / "notes.txt"
    for f in (old, recent, torn, unrelated):
        f.write_bytes(b"x")
    long_ago = time.time() - compiled_macros.STALE_SECONDS - 60
    for f in (old, torn, unrelated):
        os.utime(f, (long_ago, long_ago))
    _process(OWN[0])
    assert not old.exists() and not torn.exists()
    assert recent.exists() and unrelated.exists()
    mine = next(p for p in store.glob("macros-*.marshal") if p not in (recent,))
    os.utime(mine, (long_ago, long_ago))
    _process(OWN[1])  # writing again never removes its own file, however old it looked
    assert mine.exists()
