"""Compiled macros kept between processes: dbt compiles each macro's Jinja to Python on its
first call in a process, and a sagaz-dbt run calls a few dozen of its own macros (the
journal, arm, release) besides dbt's.

Measured on the incremental benchmark (DuckDB, py-spy, benchmarks/README.md): compiling
macro templates took ~0.44 s of a sagaz-dbt run against ~0.16 s of plain dbt's, the
largest part of sagaz-dbt's fixed cost on a small project.  Jinja's code for a source is a
pure function of that source, of the environment it is compiled in (class, extensions,
filters, tests, syntax settings) and of the versions of Python, jinja2 and dbt; so the code
objects are stored on disk (marshal, as Python's own `__pycache__` does) under a key that
hashes all of these, and a later process makes the template from the stored code
(`Template.from_code`, which is what jinja2's `from_string` does after compiling).

Only macro templates go through it (dbt's `TemplateCache`, whose own in-process key is the
macro's source alone); a node's SQL is compiled as dbt compiles it.  A missing, unreadable
or foreign file, an unwritable folder, or `SAGAZ_DBT_CACHE_DIR` set empty: dbt compiles as
it always does, and nothing else changes.  With dbt's macro debugging on
(`DBT_MACRO_DEBUGGING`), dbt's own path runs, so its line cache is filled as it expects.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import CodeType
from typing import Any, Iterator

#: Where the cache goes; an empty value turns it off.
CACHE_DIR_ENV = "SAGAZ_DBT_CACHE_DIR"
#: A file holding more entries than this is started afresh with this process's entries
#: (a run calls a few hundred macros; edits to a project's macros add entries).
MAX_ENTRIES = 2000
#: Files of other versions (macros-<versions>.marshal: another install, or one upgraded
#: since) not written for this long are removed when this version writes its own; an
#: install still in use just compiles once more (~0.3 s) and writes its file again.
STALE_SECONDS = 30 * 24 * 3600
#: The file starts with this and the sha256 of the rest: a torn or damaged file is not read.
MAGIC = b"sagaz-dbt compiled macros 1\n"


def cache_dir() -> Path | None:
    """`SAGAZ_DBT_CACHE_DIR`, else `$XDG_CACHE_HOME/sagaz-dbt`, else `~/.cache/sagaz-dbt`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home == "~":  # no home folder: no cache, rather than one in the working folder
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "sagaz-dbt"


def _versions_key() -> str:
    """What the stored code depends on besides the source and the environment."""
    parts = [importlib.util.MAGIC_NUMBER.hex()]
    for dist in ("jinja2", "dbt-common", "dbt-core"):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=?")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def environment_key(env: Any) -> str:
    """Everything of a jinja2 environment that its compiler reads: two environments with
    the same key compile a source to the same code."""
    parts = [
        f"{type(env).__module__}.{type(env).__qualname__}",
        ",".join(sorted(env.extensions)),
        ",".join(sorted(env.filters)),
        ",".join(sorted(env.tests)),
        repr((env.block_start_string, env.block_end_string, env.variable_start_string,
              env.variable_end_string, env.comment_start_string, env.comment_end_string,
              env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
              env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
              env.optimized, env.is_async, bool(env.autoescape))),
    ]  # fmt: skip
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def entry_key(env_key: str, source: str) -> str:
    return hashlib.sha256(f"{env_key}\x00{source}".encode()).hexdigest()


@dataclass
class CodeStore:
    """One file of {entry key: code}, read once on first use and written back (merged with
    what other processes wrote meanwhile) when the outermost run ends."""

    path: Path
    _codes: dict[str, CodeType] | None = None
    _new: dict[str, CodeType] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _loaded(self) -> dict[str, CodeType]:
        """The file's entries, read on first use (under the lock)."""
        if self._codes is None:
            self._codes = _read(self.path)
        return self._codes

    def get(self, key: str) -> CodeType | None:
        with self._lock:
            code = self._loaded().get(key)
            if code is not None:
                self._used.add(key)
            return code

    def put(self, key: str, code: CodeType) -> None:
        with self._lock:
            self._loaded()[key] = code
            self._new[key] = code

    def flush(self) -> None:
        """Best effort: whatever goes wrong (a folder that cannot be written, a full disk,
        even Ctrl-C while writing: the run is over by then) only means compiling next time."""
        try:
            self._write()
        except (Exception, KeyboardInterrupt):
            pass

    def _write(self) -> None:
        with self._lock:
            if not self._new:
                return
            merged = _read(self.path)  # again: other processes may have added to it meanwhile
            if len(merged) + len(self._new) > MAX_ENTRIES:
                merged = {k: c for k, c in self._loaded().items() if k in self._used}
            merged.update(self._new)
            self._new.clear()
        payload = marshal.dumps(merged)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _sweep(self.path)


def _sweep(kept: Path) -> None:
    """Remove the folder's store files (and temporaries a killed write left) that no process
    wrote for STALE_SECONDS, except `kept`: the store of every upgrade stays otherwise."""
    cutoff = time.time() - STALE_SECONDS
    for old in kept.parent.glob("macros-*.marshal*"):
        try:
            if old != kept and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass


def _read(path: Path) -> dict[str, CodeType]:
    """The stored code, or nothing.  Code is run from it, so, like an ssh key, a file that
    another user owns or may write is not read (where the system has users: POSIX)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return {}
            raw = f.read()
        head, digest, payload = raw[: len(MAGIC)], raw[len(MAGIC) : len(MAGIC) + 32], raw[len(MAGIC) + 32 :]
        if head != MAGIC or hashlib.sha256(payload).digest() != digest:
            return {}
        data = marshal.loads(payload)
    except Exception:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: c for k, c in data.items() if isinstance(k, str) and isinstance(c, CodeType)}


class _Patch:
    """The one wrapper of dbt's `TemplateCache.get_node_template` in this process, installed
    by the outermost `cached()` and removed (after writing the store) when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._original: Any = None
        self.store: CodeStore | None = None

    def enter(self) -> None:
        from dbt_common.clients.jinja import TemplateCache

        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            try:
                folder = cache_dir()
                store = None if folder is None else CodeStore(folder / f"macros-{_versions_key()}.marshal")
            except Exception:  # a path that cannot be expanded: no cache, never a failed command
                store = None
            if store is None:
                return
            self.store = store
            self._original = TemplateCache.get_node_template
            TemplateCache.get_node_template = _wrapper(self._original, store)  # type: ignore[method-assign]

    def leave(self) -> None:
        from dbt_common.clients.jinja import TemplateCache

        with self._lock:
            self._depth -= 1
            if self._depth > 0 or self.store is None:
                return
            TemplateCache.get_node_template = self._original  # type: ignore[method-assign]
            store, self.store, self._original = self.store, None, None
        store.flush()


def _wrapper(original: Any, store: CodeStore) -> Any:
    def get_node_template(cache: Any, node: Any) -> Any:
        from dbt_common.clients import jinja as dbt_jinja

        source = node.macro_sql
        template = cache.file_cache.get(source)
        if template is not None:
            return template
        if dbt_jinja.MACRO_DEBUGGING:
            return original(cache, node)
        env = dbt_jinja.get_environment(node, capture_macros=False, native=False)
        key = entry_key(environment_key(env), source)
        template = _from_store(store, key, env)
        if template is None:
            with dbt_jinja.catch_jinja(node):  # a compile error reads as dbt's own would
                code = env.compile(source)
                template = _template(env, code)
            store.put(key, code)
        cache.file_cache[source] = template
        return template

    return get_node_template


def _from_store(store: CodeStore, key: str, env: Any) -> Any:
    """The template from stored code, or None (not stored, or code that does not load:
    then it is compiled, as if never stored)."""
    try:
        code = store.get(key)
        return None if code is None else _template(env, code)
    except Exception:
        return None


def _template(env: Any, code: CodeType) -> Any:
    """What jinja2's `from_string` makes of compiled code (dbt passes no globals)."""
    return env.template_class.from_code(env, code, env.make_globals({}), None)


_PATCH = _Patch()


@contextmanager
def cached() -> Iterator[None]:
    """Inside: dbt makes macro templates from stored code where it can, and stores what it
    compiles; the outermost exit writes the store."""
    _PATCH.enter()
    try:
        yield
    finally:
        _PATCH.leave()
