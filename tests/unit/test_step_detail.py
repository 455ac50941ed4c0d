"""The typed step detail (sagaz_dbt/saga/detail.py) reads and writes the journal's stored JSON
exactly as the dict-based code wrote it: the macros read that object (`fromjson(step.detail)`)
and runs journaled by older versions must still recover."""

from __future__ import annotations

import json

import pytest

from sagaz_dbt.backups.external_files import ExternalFile
from sagaz_dbt.saga.detail import StepDetail
from sagaz_dbt.saga.journal import StepRecord
from sagaz_dbt.vocabulary import BackupKind, IsolationMode

#: (stored object as the dict-based code wrote it, the typed fields it reads as)
STORED = [
    pytest.param({}, {}, id="nothing"),
    pytest.param({"fingerprinted": True}, {"fingerprinted": True}, id="table swap"),
    pytest.param({"fingerprinted": False}, {"fingerprinted": False}, id="a retry's step"),
    pytest.param(
        {"mode": "keys", "key_columns": ["id", "day"], "keys_identifier": "orders__sagaz_ky_0123456789", "fingerprinted": True,
         "fingerprint": '{"id": 1}'},
        {"mode": BackupKind.KEYS, "key_columns": ["id", "day"], "keys_identifier": "orders__sagaz_ky_0123456789",
         "fingerprinted": True, "fingerprint": '{"id": 1}'},
        id="keys",
    ),
    pytest.param(
        {"mode": "keys", "key_columns": ["id"], "keys_identifier": None},
        {"mode": BackupKind.KEYS, "key_columns": ["id"]},
        id="keys, no keys table",
    ),
    pytest.param(
        {"mode": "current", "valid_to": "dbt_valid_to", "scd_id": "dbt_scd_id", "valid_to_current": None,
         "new_schema": True},
        {"mode": BackupKind.CURRENT, "valid_to": "dbt_valid_to", "scd_id": "dbt_scd_id", "new_schema": True},
        id="current",
    ),
    pytest.param(
        {"mode": "window", "event_time": "ts", "start": "2026-01-01 00:00:00+00:00", "end": None,
         "backup_schema": "shop__sagaz"},
        {"mode": BackupKind.WINDOW, "event_time": "ts", "window_start": "2026-01-01 00:00:00+00:00",
         "backup_schema": "shop__sagaz"},
        id="window, open",
    ),
    pytest.param(
        {"external_file": {"path": "/data/out.parquet", "backup": None}, "fingerprinted": True},
        {"external_file": ExternalFile("/data/out.parquet", None), "fingerprinted": True},
        id="external file",
    ),
    pytest.param(
        {"kept_schema": "shop__sagaz", "view_indexes": [["ix", "CREATE INDEX ix ON shop.mv USING btree (a)"]],
         "pre_temporaries": [["db", "main", "m__dbt_tmp20260101000000000000"]], "view_text": "select 1",
         "create_sql": "CREATE TABLE shop.t (a INTEGER)", "view_sql": "CREATE VIEW shop.v AS SELECT 1"},
        {"kept_schema": "shop__sagaz", "view_indexes": [["ix", "CREATE INDEX ix ON shop.mv USING btree (a)"]],
         "pre_temporaries": [["db", "main", "m__dbt_tmp20260101000000000000"]], "view_text": "select 1",
         "create_sql": "CREATE TABLE shop.t (a INTEGER)", "view_sql": "CREATE VIEW shop.v AS SELECT 1"},
        id="places and DDL",
    ),
    pytest.param(
        {"isolation": "publish", "production": "orders", "production_type": None, "kept": "orders__sagaz_kp", "cloned": False},
        {"isolation": IsolationMode.PUBLISH, "production": "orders", "kept": "orders__sagaz_kp"},
        id="shadow of a new relation",
    ),
    pytest.param(
        {"isolation": "publish", "production": "orders", "production_type": "table", "kept": "k", "cloned": True},
        {"isolation": IsolationMode.PUBLISH, "production": "orders", "production_type": "table", "kept": "k",
         "cloned": True},
        id="cloned shadow",
    ),
    pytest.param({"mode": "keys", "key_columns": [], "keys_identifier": "k", "added_later": {"x": 1}},
                 {"mode": BackupKind.KEYS, "key_columns": [], "keys_identifier": "k", "extra": {"added_later": {"x": 1}}},
                 id="a key this version does not know"),
]


@pytest.mark.parametrize("stored, typed", STORED)
def test_a_stored_detail_reads_typed_and_writes_back_unchanged(stored: dict, typed: dict) -> None:
    detail = StepDetail.from_json(json.loads(json.dumps(stored)))
    assert detail == StepDetail(**typed)
    assert detail.to_json() == stored
    assert json.loads(json.dumps(detail.to_json())) == stored


def test_the_journal_columns_carry_the_detail_as_json() -> None:
    detail = StepDetail(mode=BackupKind.WINDOW, event_time="ts", window_start="a", window_end="b", fingerprinted=True)
    record = StepRecord(seq=0, unique_id="model.p.m", resource_type="model", materialized="incremental",
                        database="db", schema="s", identifier="m", detail=detail)
    stored = {"mode": "window", "event_time": "ts", "start": "a", "end": "b", "fingerprinted": True}
    assert json.loads(record.as_bindings()["detail"]) == stored
    assert json.loads(record.as_macro_arg()["detail"]) == stored
    assert record.kept_schema == "s"


def test_an_unreadable_mode_is_an_error() -> None:
    with pytest.raises(ValueError):
        StepDetail.from_json({"mode": "sideways"})
