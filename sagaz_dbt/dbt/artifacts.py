"""Keep what a user sees of dbt (console lines and `target/` files) as plain dbt leaves it.

sagaz-dbt parses the project once itself (it must arm before dbt builds) and hands the
manifest to the build.  Left alone, that would (1) hide dbt's parse-time messages (the parse
runs quietly; the build does not parse again), (2) leave `target/perf_info.json`, which only
`dbt parse` writes, and (3) put sagaz-dbt's macro package into `target/manifest.json`.
Each has one small fix here:

- `ParseMessages` records the parse's messages and writes them, through dbt's own loggers
  (so with dbt's level, format and colours), right after the build's "Registered adapter"
  line: where plain `dbt build` prints them.
- `preserved_file` puts a file the parse writes back the way it was.
- `OwnMacrosHidden` takes the `sagaz_dbt` macros out of the manifest just before dbt writes
  `manifest.json` at the end of the run (on EndRunResult), and puts them back afterwards,
  because the compensation still calls them.  For the build itself it already takes out
  those the build cannot call (`build_macros`: dbt's cost per node grows with the macro
  count).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sagaz_dbt.dbt.package import PACKAGE_NAME

#: The parse's messages come between these two events (the adapter line is printed by the
#: build too; the perf-info line belongs to `dbt parse` only).
_FIRST_AFTER = "AdapterRegistered"
_STOP_AT = {"ParsePerfInfoPath", "CommandCompleted", "ArtifactWritten"}


@dataclass
class ParseMessages:
    """A dbtRunner callback for the parse, and another for the build that replays them."""

    recorded: list[Any] = field(default_factory=list)
    _state: str = "before"  # before -> recording -> done
    _replayed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, event: Any) -> None:
        name = event.info.name
        if self._state == "before":
            if name == _FIRST_AFTER:
                self._state = "recording"
            return
        if self._state == "recording":
            if name in _STOP_AT:
                self._state = "done"
                return
            copy = type(event)()
            copy.CopyFrom(event)
            self.recorded.append(copy)

    def replay_after_adapter(self, event: Any) -> None:
        """Build callback: after dbt printed "Registered adapter", print the parse's lines."""
        if event.info.name != _FIRST_AFTER:
            return
        with self._lock:
            if self._replayed:
                return
            self._replayed = True
        self.replay()

    def replay(self) -> None:
        from dbt_common.events.functions import get_event_manager
        from dbt_common.invocation import get_invocation_id

        manager = get_event_manager()
        for msg in self.recorded:
            msg.info.invocation_id = get_invocation_id()
            for logger in list(getattr(manager, "loggers", [])):
                if logger.filter(msg):
                    logger.write_line(msg)


@contextmanager
def preserved_file(path: Path) -> Iterator[None]:
    """Whatever happens inside, `path` ends as it was: same bytes, or absent."""
    before = path.read_bytes() if path.is_file() else None
    try:
        yield
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        elif not path.is_file() or path.read_bytes() != before:
            path.write_bytes(before)


@dataclass
class OwnMacrosHidden:
    """Keeps the `sagaz_dbt` macros out of the manifest.json dbt writes at the end of a run."""

    manifest: Any
    hidden: dict[str, Any] = field(default_factory=dict)
    #: (object with depends_on, its original macro list) for every reference rewritten
    rewritten: list[tuple[Any, list[str]]] = field(default_factory=list)

    def on_event(self, event: Any) -> None:
        if event.info.name == "EndRunResult":
            self.hide()

    def hide(self, keep: frozenset[str] | None = None) -> None:
        """Take the package's macros out: before a build, all but those in `keep` (the ones
        it may call, `build_macros`); before dbt writes manifest.json (`keep` None), all of
        them, with dbt's references to them pointed back at dbt's own."""
        macros = self.manifest.macros
        for uid in [uid for uid, m in macros.items() if m.package_name == PACKAGE_NAME and uid not in (keep or ())]:
            self.hidden[uid] = macros.pop(uid)
        _forget_macro_indexes(self.manifest)
        if keep is not None or not self.hidden:
            return  # the build runs with dbt's references as they are
        # dbt's own macros resolved `drop_relation` & co. to the override: point them back
        # at the macro plain dbt resolves them to (the one in the `dbt` package).
        for holder in [*macros.values(), *self.manifest.nodes.values()]:
            depends_on = getattr(holder, "depends_on", None)
            used = list(getattr(depends_on, "macros", None) or [])
            if not any(uid in self.hidden for uid in used):
                continue
            self.rewritten.append((depends_on, used))
            depends_on.macros = _without_own(used, {u: m.name for u, m in self.hidden.items()}, macros)

    def restore(self) -> None:
        """Idempotent: the macros are back for the compensation and later invocations."""
        self.manifest.macros.update(self.hidden)
        self.hidden.clear()
        _forget_macro_indexes(self.manifest)
        for depends_on, used in self.rewritten:
            depends_on.macros = used
        self.rewritten.clear()


def _forget_macro_indexes(manifest: Any) -> None:
    """dbt indexes the manifest's macros by name and by package on first use and never
    again: after macros are taken out or put back, the indexes are rebuilt from them."""
    for index in ("_macros_by_name", "_macros_by_package"):
        if hasattr(manifest, index):
            setattr(manifest, index, None)


def _without_own(used: list[str], names: dict[str, str], macros: dict[str, Any]) -> list[str]:
    """A node's macro list with each of our macros (`names`: uid -> macro name) replaced by
    the `dbt` macro of that name plain dbt resolves to, when there is one."""
    out: list[str] = []
    for uid in used:
        if uid in names:
            uid = f"macro.dbt.{names[uid]}"
            if uid not in macros:
                continue
        if uid not in out:
            out.append(uid)
    return out


def strip_own_macros_file(path: Path, since: float | None = None) -> None:
    """The same for a manifest.json dbt wrote from a manifest sagaz-dbt never held: `dbt
    retry` parses again itself, and a passed-through command (compile, docs generate, ...)
    parses with the package still in dbt_packages/.  dbt writes it with plain `json.dump`,
    so a load and dump of the edited document keeps dbt's format.  `since`: only a file
    written at or after that time (the command may not have written one)."""
    document = _written_since(path, since)
    if document is None:
        return
    macros = document.get("macros")
    if not isinstance(macros, dict):
        return
    own = {uid: m for uid, m in macros.items() if isinstance(m, dict) and m.get("package_name") == PACKAGE_NAME}
    nodes = document.get("nodes") or {}
    own_nodes = [uid for uid, n in nodes.items() if isinstance(n, dict) and n.get("package_name") == PACKAGE_NAME]
    if not own and not own_nodes:
        return
    for uid in own:
        del macros[uid]
    for uid in own_nodes:  # the guard's on-run-start hook (macros/phases/guard.sql)
        del nodes[uid]
        for graph in ("parent_map", "child_map"):
            links = document.get(graph)
            if isinstance(links, dict):
                links.pop(uid, None)
                for targets in links.values():
                    if isinstance(targets, list) and uid in targets:
                        targets.remove(uid)
    names = {uid: m.get("name", "") for uid, m in own.items()}
    for section in ("macros", "nodes"):
        for holder in (document.get(section) or {}).values():
            depends_on = holder.get("depends_on") if isinstance(holder, dict) else None
            used = depends_on.get("macros") if isinstance(depends_on, dict) else None
            if used and any(uid in own for uid in used):
                depends_on["macros"] = _without_own(used, names, macros)
    _rewrite(path, document)


def strip_own_results_file(path: Path, since: float | None = None) -> None:
    """`dbt retry` parses the project again itself, so it runs (and reports) the installed
    package's on-run-start guard, inert in a sagaz-dbt run: take its result out of the
    run_results.json it wrote, which then lists what plain `dbt retry` lists."""
    document = _written_since(path, since)
    if document is None:
        return
    results = document.get("results")
    if not isinstance(results, list):
        return
    prefix = f"operation.{PACKAGE_NAME}."
    kept = [r for r in results if not (isinstance(r, dict) and str(r.get("unique_id", "")).startswith(prefix))]
    if len(kept) == len(results):
        return
    document["results"] = kept
    _rewrite(path, document)


def _written_since(path: Path, since: float | None) -> dict[str, Any] | None:
    """The JSON artifact at `path`, if dbt wrote it at or after `since` (None: any time)."""
    import json

    try:
        if since is not None and path.stat().st_mtime < since:
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _rewrite(path: Path, document: dict[str, Any]) -> None:
    """dbt writes its artifacts with plain `json.dump`: so do we, to keep its format."""
    import json

    with path.open("w", encoding="utf-8") as fh:
        json.dump(document, fh)
