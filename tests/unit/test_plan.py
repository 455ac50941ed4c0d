"""Plan ordering (sagaz_dbt/saga/plan.py): steps in topological order over the manifest DAG, through
nodes that are not steps, ties broken by id; compensation walks this order backwards, so a
relation is restored before the ones it reads.  Manifests are tests/helpers/nodes.py stand-ins."""

from __future__ import annotations

import random

import pytest

from helpers.nodes import Config, DependsOn, Manifest, Node
from sagaz_dbt.engines import for_adapter
from sagaz_dbt.saga.plan import make_plan
from sagaz_dbt.backups import RunContext

RUN = RunContext(engine=for_adapter("duckdb"))


def node(name: str, *parents: str, materialized: str = "table", resource_type: str = "model", **kw: object) -> Node:
    return Node(
        name=name,
        resource_type=resource_type,
        config=Config(materialized=materialized),
        depends_on=DependsOn([p if "." in p else f"model.p.{p}" for p in parents]),
        **kw,  # type: ignore[arg-type]
    )


def order(manifest: Manifest, selected: list[str] | None = None) -> list[str]:
    chosen = selected if selected is not None else list(manifest.nodes)
    return [s.unique_id.rsplit(".", 1)[1] for s in make_plan(manifest, chosen, RUN)]


# (what, nodes, selected names or None for all, expected order)
ORDERS = [
    ("chain", [node("c", "b"), node("b", "a"), node("a")], None, ["a", "b", "c"]),
    ("ties by id", [node("z"), node("m"), node("a")], None, ["a", "m", "z"]),
    ("diamond", [node("d", "b", "c"), node("c", "a"), node("b", "a"), node("a")], None, ["a", "b", "c", "d"]),
    (
        "id order never beats a dependency",
        [node("a", "z"), node("z")],
        None,
        ["z", "a"],
    ),
    (
        "through an ephemeral model",
        [node("a", "eph"), node("eph", "z", materialized="ephemeral"), node("z")],
        None,
        ["z", "a"],
    ),
    (
        "through an unselected model",
        [node("a", "mid"), node("mid", "z"), node("z")],
        ["a", "z"],
        ["z", "a"],
    ),
    (
        "seeds and snapshots are steps; tests are not",
        [
            node("m", "seed.p.s", "snapshot.p.snap"),
            node("s", resource_type="seed", materialized="seed"),
            node("snap", "seed.p.s", resource_type="snapshot", materialized="snapshot"),
            node("t", "m", resource_type="test", materialized="test"),
        ],
        None,
        ["s", "snap", "m"],
    ),
    ("disabled models are not steps", [node("a"), Node(name="off", config=Config(enabled=False))], None, ["a"]),
]


@pytest.mark.parametrize("parent_map", [True, False], ids=["parent_map", "depends_on"])
@pytest.mark.parametrize("what, nodes, selected, expected", ORDERS, ids=[o[0] for o in ORDERS])
def test_order(what: str, nodes: list[Node], selected: list[str] | None, expected: list[str], parent_map: bool) -> None:
    manifest = Manifest.of(*nodes, parent_map=parent_map)
    chosen = None if selected is None else [f"model.p.{n}" for n in selected]
    assert order(manifest, chosen) == expected


def test_a_cycle_still_plans_every_node() -> None:
    """dbt refuses to parse a cycle; should one reach the planner, no node is lost."""
    manifest = Manifest.of(node("a", "b"), node("b", "a"), node("c"))
    assert sorted(order(manifest)) == ["a", "b", "c"]


def test_unknown_selected_ids_are_ignored() -> None:
    assert order(Manifest.of(node("a")), ["model.p.a", "model.p.gone", "source.p.raw.x"]) == ["a"]


def test_steps_carry_the_relation_and_sequence() -> None:
    manifest = Manifest.of(node("b", "a", alias="b_alias", schema="mart"), node("a", materialized="view"))
    steps = make_plan(manifest, list(manifest.nodes), RUN)
    assert [(s.seq, s.identifier, s.schema, s.materialized, s.snapshot.kind) for s in steps] == [
        (0, "a", "main", "view", "swap"),
        (1, "b_alias", "mart", "table", "swap"),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_random_dags_are_ordered(seed: int) -> None:
    """Property: every step comes after each of its (transitive) step ancestors."""
    rng = random.Random(seed)
    names = [f"n{i:02d}" for i in range(25)]
    nodes = []
    for i, name in enumerate(names):
        parents = rng.sample(names[:i], k=min(i, rng.randint(0, 3)))
        materialized = "ephemeral" if rng.random() < 0.2 else "table"
        nodes.append(node(name, *parents, materialized=materialized))
    rng.shuffle(nodes)
    manifest = Manifest.of(*nodes)
    position = {name: i for i, name in enumerate(order(manifest))}
    by_name = {n.name: n for n in nodes}

    def ancestors(name: str) -> set[str]:
        found: set[str] = set()
        stack = [p.rsplit(".", 1)[1] for p in by_name[name].depends_on.nodes]
        while stack:
            p = stack.pop()
            if p not in found:
                found.add(p)
                stack.extend(q.rsplit(".", 1)[1] for q in by_name[p].depends_on.nodes)
        return found

    assert set(position) == {n.name for n in nodes if n.config.materialized != "ephemeral"}
    for name in position:
        for parent in ancestors(name) & set(position):
            assert position[parent] < position[name], f"{parent} must come before {name}"
