"""The naming rule of every relation sagaz-dbt creates (macros/naming.sql), by property.

The real macro is exercised (one parse of a tiny DuckDB project, one macro call per
property), with Postgres's limit passed in: the rule is the same on every engine, only the
byte limit differs (`identifier_byte_limit`, checked per engine in tests/test_names.py).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Iterator

import pytest

from helpers.tiny import make_project
from sagaz_dbt.api import open_target
from sagaz_dbt.dbt.options import split_args
from sagaz_dbt.dbt.session import release_connections

LIMIT = 63
KINDS = ["bk", "cp", "ky", "sc"]  # sc: the backup schema of a schema (backup_schema_name)
TOKEN = "0123456789"
HEAD_BYTES = len("__sagaz_bk_") + len(TOKEN) + len("__")


@pytest.fixture(scope="module")
def macro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = make_project(tmp_path_factory.mktemp("naming") / "tiny")
    args = ["--project-dir", str(root), "--profiles-dir", str(root)]
    target = open_target("build", split_args(args).dbt_args, split_args(args).options)

    def call(macro_name: str, /, **kwargs: Any) -> Any:
        return target.warehouse.call(macro_name, **kwargs)

    try:
        yield call
    finally:
        release_connections()


def _identifiers() -> list[str]:
    """Identifiers a warehouse accepts, chosen to break a naive rule: every length from 1 to
    63 bytes in ASCII and in 2-, 3- and 4-byte characters, quotes, spaces, case twins, and
    names that share a prefix up to the limit."""
    rng = random.Random(12)
    alphabet = ["a", "Z", "_", "0", " ", '"', "'", "ü", "é", "日", "本", "\U0001f600", "-", "."]
    out: set[str] = set()
    for size in range(1, LIMIT + 1):
        for unit in ("a", "ü", "日", "\U0001f600"):
            width = len(unit.encode())
            if size % width == 0:
                out.add(unit * (size // width))
        chars: list[str] = []
        while len("".join(chars).encode()) < size:
            chars.append(rng.choice(alphabet))
        out.add("".join(chars))
    for base in ("orders", "Customer LTV", 'say "hi"', "o'brien"):
        out.update({base, base.upper(), base.lower(), base.title(), base.swapcase()})
    for shared in (10, 33, 42, 51, 55, 60, 62):
        prefix = "p" * shared
        for tail in ("a", "b", "ab", "ba", "A", "ü"):
            name = prefix + tail
            if len(name.encode()) <= LIMIT:
                out.add(name)
    out.add("x" * 61)
    out.add("x" * 51 + "y" * 10)
    out.add("x" * 51 + "z" * 10)
    return sorted(out)


def test_names_fit_are_unique_and_keep_sagaz(macro: Any) -> None:
    identifiers = _identifiers()
    assert len(identifiers) > 200
    names = macro("names_for", identifiers=identifiers, kinds=KINDS, token=TOKEN, limit=LIMIT)
    assert len(names) == len(identifiers) * len(KINDS)

    by_name: dict[str, tuple[str, str]] = {}
    for i, identifier in enumerate(identifiers):
        for j, kind in enumerate(KINDS):
            name = names[i * len(KINDS) + j]
            assert len(name.encode("utf-8")) <= LIMIT, (identifier, name)
            assert name.startswith(f"__sagaz_{kind}_{TOKEN}__"), name
            assert name not in by_name, f"{identifier!r} and {by_name[name][0]!r} share {name!r}"
            by_name[name] = (identifier, kind)
            whole = f"__sagaz_{kind}_{TOKEN}__" + identifier
            if len(whole.encode()) <= LIMIT:
                assert name == whole  # short names are readable as they are
            else:
                # Cut on a character boundary, followed by a hash of the FULL identifier.
                head, tag = name[HEAD_BYTES:].rsplit("_", 1)
                assert identifier.startswith(head) and head, (identifier, name)
                assert tag == hashlib.md5(identifier.encode()).hexdigest()[:8]
                # As long as possible: one more character of the identifier would not fit.
                assert len(identifier[: len(head) + 1].encode()) + 9 + HEAD_BYTES > LIMIT


def test_case_twins_and_shared_prefixes_never_collide(macro: Any) -> None:
    twins = ["orders", "Orders", "ORDERS"]
    long_twins = ["a" * 51 + "b" * 10, "a" * 51 + "B" * 10, "a" * 51 + "c" * 10, "ü" * 26, "ü" * 25 + "u"]
    names = macro("names_for", identifiers=twins + long_twins, kinds=["bk"], token=TOKEN, limit=LIMIT)
    assert len(set(names)) == len(names), names
    assert names[:3] == [f"__sagaz_bk_{TOKEN}__{t}" for t in twins]


def test_no_limit_keeps_the_whole_name(macro: Any) -> None:
    long = "a" * 300 + "ü" * 40
    assert macro("names_for", identifiers=[long], kinds=["cp"], token=TOKEN, limit=None) == [
        f"__sagaz_cp_{TOKEN}__{long}"
    ]


def test_the_rule_is_deterministic(macro: Any) -> None:
    """The arm phase and the rename override compute names in different dbt invocations."""
    identifiers = ["x" * 61, "ü" * 26, "orders"]
    first = macro("names_for", identifiers=identifiers, kinds=KINDS, token=TOKEN, limit=LIMIT)
    assert macro("names_for", identifiers=identifiers, kinds=KINDS, token=TOKEN, limit=LIMIT) == first


def test_arm_refuses_a_name_two_steps_would_share_or_that_exists(macro: Any) -> None:
    """claim_name is what arm_step calls for every name before anything is kept or copied."""
    from sagaz_dbt.errors import WarehouseError

    owners: dict[Any, str] = {}
    a = {"database": "db", "schema": "s", "identifier": "a"}
    b = {"database": "db", "schema": "s", "identifier": "b"}
    # A backup name must be free in the step's schema and in the run's backup schema of it.
    backups = macro("backup_schema_name", schema="s")
    empty = {("relations", "db", "s"): {}, ("relations", "db", backups): {}}
    macro("claim_name", step=a, name="a__sagaz_bk_1", is_backup=True, memo=dict(empty), owners=owners)
    with pytest.raises(WarehouseError, match=r"s\.b and s\.a would both use the name s\.a__sagaz_bk_1"):
        macro("claim_name", step=b, name="a__sagaz_bk_1", is_backup=True, memo=dict(empty), owners=owners)
    leftover = {("relations", "db", "s"): {"b__sagaz_cp_1": ("b__sagaz_cp_1", "table")}}
    with pytest.raises(WarehouseError, match=r"s\.b__sagaz_cp_1 \(the backup name of s\.b\) already exists"):
        macro("claim_name", step=b, name="b__sagaz_cp_1", is_backup=True, memo=leftover, owners={})
    in_backups = {("relations", "db", "s"): {}, ("relations", "db", backups): {"b__sagaz_cp_1": ("b__sagaz_cp_1", "table")}}
    with pytest.raises(WarehouseError, match=r"already exists"):
        macro("claim_name", step=b, name="b__sagaz_cp_1", is_backup=True, memo=in_backups, owners={})
