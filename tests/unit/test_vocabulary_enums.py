"""The vocabulary's enums keep the text the journal, the report and the macros store: a
journal written by an older sagaz-dbt must still read, and the JSON report keeps its words."""

from __future__ import annotations

import json

import pytest

from sagaz_dbt.vocabulary import (
    NO_BACKUP_LABEL,
    UNFINISHED,
    BackupKind,
    Phase,
    RunOutcome,
    RunStatus,
    StepStatus,
)


@pytest.mark.parametrize(
    "enum, stored",
    [
        (RunStatus, {"arming", "building", "committing", "committed", "compensating", "rolled_back"}),
        (StepStatus, {"armed", "compensated", "released", "retained"}),
        (RunOutcome, {"not_started", "committed", "rolled_back", "torn"}),
        (BackupKind, {"swap", "copy", "keys", "current", "window", "partitions"}),
    ],
)
def test_stored_text_never_changes(enum: type, stored: set[str]) -> None:
    assert {member.value for member in enum} == stored


def test_a_member_is_its_text_everywhere() -> None:
    assert f"{RunStatus.ROLLED_BACK}" == str(RunStatus.ROLLED_BACK) == "rolled_back"
    assert json.dumps({"status": RunOutcome.TORN}) == '{"status": "torn"}'
    assert "keys" in {BackupKind.KEYS} and RunStatus("building") is RunStatus.BUILDING


def test_the_unfinished_statuses_are_the_ones_the_plain_dbt_guard_refuses() -> None:
    from pathlib import Path

    guard = (Path(__file__).resolve().parents[2] / "macros" / "phases" / "guard.sql").read_text()
    listed = "(" + ", ".join(f"'{s.value}'" for s in UNFINISHED) + ")"
    assert f"status in {listed}" in guard


@pytest.mark.parametrize(
    "phase, unfinished, changed_nothing",
    [
        (Phase.SETUP, False, True),
        (Phase.RECOVERING, False, False),
        (Phase.ARMING, False, True),
        (Phase.BUILDING, True, False),
        (Phase.RELEASING, True, False),
        (Phase.COMPENSATING, True, False),
    ],
)
def test_which_phases_leave_a_run_unfinished(phase: Phase, unfinished: bool, changed_nothing: bool) -> None:
    assert phase.leaves_run_unfinished is unfinished
    assert phase.changed_nothing is changed_nothing


@pytest.mark.parametrize(
    "kind, label, row_level, restores_rows",
    [
        (BackupKind.SWAP, "kept (zero-copy)", False, False),
        (BackupKind.COPY, "copy", False, False),
        (BackupKind.KEYS, "rows by key", True, True),
        (BackupKind.CURRENT, "current rows", True, True),
        (BackupKind.WINDOW, "rows in window", False, True),
    ],
)
def test_backup_kinds(kind: BackupKind, label: str, row_level: bool, restores_rows: bool) -> None:
    assert (kind.label, kind.row_level, kind.restores_rows) == (label, row_level, restores_rows)
    assert label != NO_BACKUP_LABEL
