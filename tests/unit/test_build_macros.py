"""The package macros a build keeps (sagaz_dbt/dbt/build_macros.py), on the real package.

A macro left out of the build would fail the node calling it, so the closure is checked by
property for every engine: each macro a kept macro names (with or without the package
prefix) or dispatches to is kept too.  And the saving is real: the phase macros, which only
sagaz-dbt's own phases call, are left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers.tiny import DAY2, make_project, write_seed
from sagaz_dbt.api import open_target
from sagaz_dbt.dbt.build_macros import BATCH_BACKUP_MACRO, build_macro_ids
from sagaz_dbt.dbt.options import split_args
from sagaz_dbt.dbt.package import PACKAGE_NAME
from sagaz_dbt.dbt.session import release_connections

HOOKS_SOURCE = Path(__file__).resolve().parents[2] / "sagaz_dbt" / "saga" / "hooks.py"
#: The macros the injected hooks call (saga/hooks.py renders them into node hooks).
HOOK_MACROS = sorted(set(re.findall(r"sagaz_dbt\.([a-z_]+)\(", HOOKS_SOURCE.read_text())))
ENGINES = ["duckdb", "postgres", "spark"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = make_project(tmp_path_factory.mktemp("build_macros") / "tiny")
    args = ["--project-dir", str(root), "--profiles-dir", str(root)]
    target = open_target("build", split_args(args).dbt_args, split_args(args).options)
    try:
        yield target.session.manifest
    finally:
        release_connections()


def _kept(manifest: Any, engine: str) -> dict[str, Any]:
    texts = [f"{{{{ {PACKAGE_NAME}.{name}() }}}}" for name in HOOK_MACROS]
    ids = build_macro_ids(manifest, [engine], texts)
    return {manifest.macros[uid].name: manifest.macros[uid] for uid in ids}


def test_the_hook_macros_are_found_in_hooks_py() -> None:
    assert {"backup_touched_rows", "backup_current_rows", "mark_built"} <= set(HOOK_MACROS)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_macro_a_kept_macro_calls_is_kept(manifest: Any, engine: str) -> None:
    own = {m.name for m in manifest.macros.values() if m.package_name == PACKAGE_NAME}
    kept = _kept(manifest, engine)
    missing: list[str] = []
    for name, macro in kept.items():
        for word in set(re.findall(r"\b\w+\b", macro.macro_sql)) & own:
            if word not in kept:
                missing.append(f"{name} -> {word}")
        for dispatched in re.findall(r"dispatch\('(\w+)', '" + PACKAGE_NAME + "'\\)", macro.macro_sql):
            for variant in (f"{engine}__{dispatched}", f"default__{dispatched}"):
                if variant in own and variant not in kept:
                    missing.append(f"{name} -> {variant}")
    assert not missing


@pytest.mark.parametrize("engine", ENGINES)
def test_the_overrides_and_hook_macros_are_kept(manifest: Any, engine: str) -> None:
    kept = _kept(manifest, engine)
    assert {"rename_relation", "drop_relation", *HOOK_MACROS, BATCH_BACKUP_MACRO} <= set(kept)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_macro_python_calls_is_kept_when_no_text_names_it(manifest: Any, engine: str) -> None:
    """saga/batch_backups.py calls it from Python: kept with no hook text at all (a comment
    in rows.sql mentions it, so the hooks' closure alone would not prove this)."""
    kept = {manifest.macros[uid].name for uid in build_macro_ids(manifest, [engine])}
    assert BATCH_BACKUP_MACRO in kept


@pytest.mark.parametrize("engine", ENGINES)
def test_the_phase_macros_and_other_engines_are_left_out(manifest: Any, engine: str) -> None:
    kept = _kept(manifest, engine)
    assert not {"arm_run", "release_run", "journal_runs", "changed_since_run"} & set(kept)
    others = [e for e in ENGINES if e != engine]
    assert not [n for n in kept if n.split("__")[0] in others]
    own = sum(1 for m in manifest.macros.values() if m.package_name == PACKAGE_NAME)
    assert len(kept) < own / 2


def test_a_user_text_naming_a_macro_keeps_it(manifest: Any) -> None:
    kept = _kept(manifest, "duckdb")
    assert "arm_run" not in kept
    with_user = build_macro_ids(manifest, ["duckdb"], ["select {{ sagaz_dbt.arm_run }}"])
    assert "arm_run" in {manifest.macros[uid].name for uid in with_user}


def test_a_build_runs_without_the_phase_macros_and_its_rollback_has_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real build: while dbt builds, the manifest holds only the kept package macros; a
    failing build's rollback (which calls the phase macros) still restores the warehouse."""
    import duckdb

    from sagaz_dbt.api import build
    from sagaz_dbt.dbt import artifacts

    root = make_project(tmp_path / "tiny")
    args = ["--project-dir", str(root), "--profiles-dir", str(root)]
    seen: list[set[str]] = []
    original = artifacts.OwnMacrosHidden.hide

    def spy(self: Any, keep: frozenset[str] | None = None) -> None:
        original(self, keep)
        if keep is not None:  # the build's hide: what dbt's nodes will see
            seen.append({m.name for m in self.manifest.macros.values() if m.package_name == PACKAGE_NAME})

    monkeypatch.setattr(artifacts.OwnMacrosHidden, "hide", spy)
    assert build(args).exit_code == 0
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        before = con.sql("select id, amount from main.orders order by id").fetchall()
    assert before and seen
    assert "rename_relation" in seen[0] and "arm_run" not in seen[0] and "compensate_run" not in seen[0]

    write_seed(root, DAY2)  # the failing build changes the data: only a rollback brings it back
    failed = build([*args, "--vars", "{fail: true}"])
    assert failed.exit_code == 1 and failed.status == "rolled_back"
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        assert con.sql("select id, amount from main.orders order by id").fetchall() == before
    release_connections()
