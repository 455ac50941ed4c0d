"""The collector settings around a build (sagaz_dbt/runtime/heap.py): what is frozen is
unfrozen again, so a process that runs many builds (a library caller, this test suite)
keeps nothing a build left behind."""

from __future__ import annotations

import gc

from sagaz_dbt.runtime.heap import collector_paused, long_lived_frozen


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_a_build_freezes_what_lives_and_unfreezes_it_after() -> None:
    assert gc.get_freeze_count() == 0
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
        with long_lived_frozen():  # the build inside the run: freezes the manifest too
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0  # only the outermost exit unfreezes
    assert gc.get_freeze_count() == 0


def test_the_parse_runs_without_collections_and_its_objects_are_frozen_inside_a_run() -> None:
    with long_lived_frozen():
        before = gc.get_freeze_count()
        with collector_paused():
            assert not gc.isenabled()
            made = [_Node() for _ in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(made)
    assert gc.get_freeze_count() == 0


def test_outside_a_run_the_parse_freezes_nothing() -> None:
    with collector_paused():
        _ = [_Node() for _ in range(100)]
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_cyclic_garbage_of_a_run_is_collected_after_it() -> None:
    import weakref

    with long_lived_frozen():
        with collector_paused():
            node = _Node()
            ref = weakref.ref(node)
            del node
    gc.collect()
    assert ref() is None
