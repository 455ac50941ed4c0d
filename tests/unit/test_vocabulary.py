"""Every action a macro can return is a StepAction, and each is classified: a rollback that
put a relation back is never reported as having left it untouched (JUnit, GitHub summary and
OpenLineage all read `is_restoring`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagaz_dbt.vocabulary import StepAction, is_restoring

MACROS = Path(__file__).resolve().parents[2] / "macros"

#: Literal strings macros return that are not step actions.
NOT_ACTIONS = {"", "lower"}

_RETURNED = re.compile(r"""return\(\s*'([^']*)'\s*\)|set action = '([^']*)'""")


def returned_literals() -> set[str]:
    found: set[str] = set()
    for path in MACROS.rglob("*.sql"):
        for match in _RETURNED.finditer(path.read_text()):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found - NOT_ACTIONS


def test_the_macros_return_actions_at_all() -> None:
    assert {"swapped back", "recreated", "untouched"} <= returned_literals()


@pytest.mark.parametrize("literal", sorted(returned_literals()))
def test_every_action_a_macro_returns_is_known(literal: str) -> None:
    assert StepAction(literal)  # ValueError names the one missing


@pytest.mark.parametrize(
    "action, restoring",
    [
        ("swapped back", True),
        ("rows restored", True),
        ("rows restored (keys)", True),
        ("rows restored (current)", True),
        ("rows restored (partitions)", True),
        ("copy swapped in", True),
        ("dropped", True),
        ("recreated", True),
        ("indexes restored", True),
        ("view restored", True),
        ("untouched", False),
        ("missing", False),
        ("missing (accepted)", False),
        ("released", False),
        ("retained", False),
        ("no backup", False),
        ("something new", False),
    ],
)
def test_which_actions_count_as_restored(action: str, restoring: bool) -> None:
    assert is_restoring(action) is restoring
