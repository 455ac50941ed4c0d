"""Keep Python's cyclic garbage collector off the parsed project while dbt builds.

A full collection walks every tracked object, and by the build the process holds dbt's
parsed manifest, the parse's messages and the run's plan: millions of long-lived objects
that no collection will ever free.  dbt's build allocates steadily (a context per node, its
events), so the collector runs full collections over them again and again: measured on the
114-model benchmark, ~10 full collections cost plain dbt ~1.0 s and sagaz-dbt, which holds
more, ~1.4 s of a ~12 s build, on the one core the GIL allows.

`gc.freeze()` moves every object alive at that moment into a permanent generation the
collector skips; `gc.unfreeze()` puts them back afterwards, so a library caller that runs
many builds in one process does not keep what a build left behind.  Nothing is freed later
or differently than it would be: objects created during the build are collected as usual.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

#: How many `long_lived_frozen` contexts are open (collector_paused freezes only inside one).
_open = 0


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Inside: the objects alive on entry are out of the collector's sight.  Nested, each
    entry freezes what was made since (the parsed manifest, after the imports); only the
    outermost exit unfreezes, and a caller that froze its own objects before keeps them
    frozen."""
    global _open
    outermost = gc.get_freeze_count() == 0
    gc.freeze()
    _open += 1
    try:
        yield
    finally:
        _open -= 1
        if outermost:
            gc.unfreeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside (dbt's parse builds the manifest, a large graph of
    objects that all stay alive).  Inside `long_lived_frozen`, what was made is then frozen
    with the rest, and that context's exit makes it collectable again; outside one, nothing
    is frozen (a library caller's process would keep it for good)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _open > 0:
            gc.freeze()
        if was_enabled:
            gc.enable()
