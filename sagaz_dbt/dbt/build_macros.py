"""Which of the `sagaz_dbt` macros a dbt build can call, so the others stay out of its way.

dbt builds a fresh macro namespace of EVERY macro in the manifest for each node it compiles
and executes, for each test and for each `execute_macro`, and resolves each macro the
adapter calls by name (`drop_relation`, `rename_relation`) by scanning them all.  That cost
is linear in the manifest's macro count: the package's 275 macros (every engine's variants,
the arm, release and restore phases) on top of the ~500 of a small project made each node's
context ~1.5 times as expensive to build, several seconds of a 100-model build's CPU.  A
build only calls a few dozen of them: the overrides dbt's materializations reach by name,
the macros of the hooks sagaz-dbt injects, and what those call.  The rest are taken out of
the manifest for the build (`artifacts.OwnMacrosHidden.hide(keep=...)`) and put back before
the release or the rollback, which need them.

The closure is conservative: every name of one of the package's macros that appears as a
word in a kept macro's text is kept, and a name dispatched in the package's namespace keeps
every `<prefix>__<name>` variant, so a call dbt's static analysis would miss (a dispatch, a
call without the package prefix) keeps its macro.  A macro wrongly left out would fail the
node that calls it (and the run rolls back); `tests/unit/test_build_macros.py` pins the
closure on the package itself.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from sagaz_dbt.dbt.package import PACKAGE_NAME

_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
#: `adapter.dispatch('name', 'sagaz_dbt')`: every engine's `<prefix>__name` may be called.
_DISPATCH = re.compile(r"""dispatch\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]""" + PACKAGE_NAME + r"""['"]""")
#: `sagaz_dbt.name` in a user's text (a hook, a model, a macro of the project).
_QUALIFIED = re.compile(r"\b" + PACKAGE_NAME + r"\.([A-Za-z_][A-Za-z0-9_]*)")
#: The macro saga/batch_backups.py calls from Python during a build (no text names it).
BATCH_BACKUP_MACRO = "backup_batch_rows"
#: Macros sagaz-dbt's own Python calls during a build: kept like the ones a text names.
CALLED_FROM_PYTHON = frozenset({BATCH_BACKUP_MACRO})


def build_macro_ids(
    manifest: Any, adapter_types: Iterable[str], entry_texts: Iterable[str] = ()
) -> frozenset[str]:
    """The unique ids of the package's macros a build may call: the overrides of macros
    dbt or the adapter define (dbt resolves those by name, package first), every macro a
    text of the project names as `sagaz_dbt.<name>` (the injected hooks, a user's own
    hooks, models and macros), and everything those mention, transitively.
    `adapter_types`: the prefixes a dispatch may pick (the adapter's type and its parents');
    `default__` is always one."""
    prefixes = tuple(f"{t}__" for t in [*adapter_types, "default"])
    own = {uid: m for uid, m in manifest.macros.items() if m.package_name == PACKAGE_NAME}
    by_name: dict[str, list[str]] = {}
    for uid, macro in own.items():
        by_name.setdefault(macro.name, []).append(uid)
    others = {m.name for m in manifest.macros.values() if m.package_name != PACKAGE_NAME}

    roots: set[str] = {name for name in by_name if name in others}
    roots.update(CALLED_FROM_PYTHON)
    texts = list(entry_texts)
    texts.extend(m.macro_sql for m in manifest.macros.values() if m.package_name != PACKAGE_NAME)
    texts.extend(_node_texts(manifest))
    for text in texts:
        if PACKAGE_NAME in text:
            roots.update(_QUALIFIED.findall(text))

    keep: set[str] = set()
    pending = [name for name in roots if name in by_name]
    seen_names: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen_names:
            continue
        seen_names.add(name)
        for uid in by_name.get(name, []):
            keep.add(uid)
            text = own[uid].macro_sql
            mentioned = {w for w in _WORD.findall(text) if w in by_name}
            for dispatched in _DISPATCH.findall(text):
                mentioned.update(p + dispatched for p in prefixes if p + dispatched in by_name)
            pending.extend(mentioned - seen_names)
    return frozenset(keep)


def _node_texts(manifest: Any) -> Iterable[str]:
    """Each node's SQL and hooks (a user may call the package's macros from them)."""
    for node in manifest.nodes.values():
        yield str(getattr(node, "raw_code", "") or "")
        config = getattr(node, "config", None)
        for hook in [*(getattr(config, "pre_hook", None) or []), *(getattr(config, "post_hook", None) or [])]:
            yield str(getattr(hook, "sql", "") or "")
