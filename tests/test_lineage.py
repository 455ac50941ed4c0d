"""OpenLineage events through the standard file transport, validated against the
OpenLineage 2-0-2 run-event schema and against the `sagaz_compensation` facet schema that
sagaz-dbt ships.

openlineage-python ships no JSON schema of the spec (only generated attrs classes), so the
core schema below is transcribed from spec 2-0-2 (OpenLineage.json): the structure and every
`required` field of RunEvent, Run, Job, datasets and facets.  Formats jsonschema cannot check
without extra packages (date-time) are checked by hand.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from rich.console import Console

import sagaz_dbt
from sagaz_dbt.outputs import lineage
from sagaz_dbt.outputs.run_outputs import RunOutputs
from sagaz_dbt.dbt.session import release_connections

from helpers.tiny import make_project

OL_SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_FACET_SHAPE = {
    "type": "object",
    "properties": {
        "_producer": {"type": "string", "format": "uri"},
        "_schemaURL": {"type": "string", "format": "uri"},
    },
    "additionalProperties": True,
    "required": ["_producer", "_schemaURL"],
}
OPENLINEAGE_2_0_2 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": OL_SPEC_ID,
    "$defs": {
        "BaseEvent": {
            "type": "object",
            "properties": {
                "eventTime": {"type": "string", "format": "date-time"},
                "producer": {"type": "string", "format": "uri"},
                "schemaURL": {"type": "string", "format": "uri"},
            },
            "required": ["eventTime", "producer", "schemaURL"],
        },
        "RunEvent": {
            "allOf": [
                {"$ref": "#/$defs/BaseEvent"},
                {
                    "type": "object",
                    "properties": {
                        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
                        "run": {"$ref": "#/$defs/Run"},
                        "job": {"$ref": "#/$defs/Job"},
                        "inputs": {"type": "array", "items": {"$ref": "#/$defs/InputDataset"}},
                        "outputs": {"type": "array", "items": {"$ref": "#/$defs/OutputDataset"}},
                    },
                    "required": ["run", "job"],
                },
            ]
        },
        "Run": {
            "type": "object",
            "properties": {
                "runId": {"type": "string", "format": "uuid"},
                "facets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/RunFacet"}},
            },
            "required": ["runId"],
        },
        "Job": {
            "type": "object",
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "facets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/JobFacet"}},
            },
            "required": ["namespace", "name"],
        },
        "Dataset": {
            "type": "object",
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "facets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/DatasetFacet"}},
            },
            "required": ["namespace", "name"],
        },
        "InputDataset": {"allOf": [{"$ref": "#/$defs/Dataset"}]},
        "OutputDataset": {"allOf": [{"$ref": "#/$defs/Dataset"}]},
        "BaseFacet": _FACET_SHAPE,
        "RunFacet": {"allOf": [{"$ref": "#/$defs/BaseFacet"}]},
        "JobFacet": {"allOf": [{"$ref": "#/$defs/BaseFacet"}]},
        "DatasetFacet": {"allOf": [{"$ref": "#/$defs/BaseFacet"}]},
    },
    "$ref": "#/$defs/RunEvent",
}


def registry() -> Registry:
    facet_schema = json.loads(lineage.FACET_SCHEMA_FILE.read_text())
    return Registry().with_resources(
        [
            (OL_SPEC_ID, Resource.from_contents(OPENLINEAGE_2_0_2)),
            (facet_schema["$id"], Resource.from_contents(facet_schema)),
        ]
    )


def validate(event: dict[str, Any]) -> None:
    Draft202012Validator(OPENLINEAGE_2_0_2, registry=registry(), format_checker=FormatChecker()).validate(event)
    datetime.fromisoformat(event["eventTime"])
    uuid.UUID(event["run"]["runId"])
    facet = event["run"].get("facets", {}).get(lineage.FACET_NAME)
    if facet is not None:
        assert facet["_schemaURL"] == lineage.FACET_SCHEMA_URL
        schema = {"$ref": json.loads(lineage.FACET_SCHEMA_FILE.read_text())["$id"] + "#/$defs/SagazCompensationRunFacet"}
        Draft202012Validator(schema, registry=registry()).validate(facet)


# -- the tiny project -------------------------------------------------------------------------


def build(root: Path, *args: str) -> Any:
    out = Console(file=io.StringIO(), width=200, no_color=True)
    try:
        return sagaz_dbt.build([*args, "--project-dir", str(root), "--profiles-dir", str(root)], console=out)
    finally:
        release_connections()


def orders(root: Path) -> tuple[int, int]:
    release_connections()
    con = duckdb.connect(str(root / "wh.duckdb"), read_only=True)
    try:
        return con.execute("select count(*), sum(amount) from main.orders").fetchone()
    finally:
        con.close()


@dataclass
class Run:
    result: Any
    events: list[dict[str, Any]]
    orders: tuple[int, int]

    @property
    def parent_id(self) -> str:
        return str(uuid.UUID(hex=self.result.run_id))

    def of(self, job: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"]["name"] == job]

    def types(self, job: str) -> list[str]:
        return [e["eventType"] for e in self.of(job)]

    def facet(self, job: str, state: str, name: str) -> dict[str, Any]:
        return next(e for e in self.of(job) if e["eventType"] == state)["run"]["facets"][name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("lineage")
    root = make_project(base / "tiny")
    events_file = base / "openlineage.jsonl"
    out: dict[str, Any] = {"root": root}
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("OPENLINEAGE")] + ["GITHUB_STEP_SUMMARY"]:
            mp.delenv(var, raising=False)
        mp.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
        mp.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events_file))
        mp.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
        mp.setenv("OPENLINEAGE_NAMESPACE", "sagaz-tests")
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        seen = 0
        for name, args in (("committed", []), ("test_failed", ["--vars", "{fail: true}"]), ("model_failed", ["--vars", "{break: true}"])):
            result = build(root, *args)
            lines = events_file.read_text().splitlines() if events_file.exists() else []
            out[name] = Run(result, [json.loads(line) for line in lines[seen:]], orders(root))
            seen = len(lines)
    return out


NODES = ("seed.tiny.raw_orders", "model.tiny.orders", "model.tiny.orders_total")


def test_every_event_is_valid_openlineage(runs: dict[str, Any]) -> None:
    total = 0
    for name in ("committed", "test_failed", "model_failed"):
        for event in runs[name].events:
            validate(event)
            assert event["producer"] == lineage.PRODUCER
            assert event["job"]["namespace"] == "sagaz-tests"
            total += 1
    assert total >= 14


def test_committed_run(runs: dict[str, Any]) -> None:
    run: Run = runs["committed"]
    assert run.result.status == "committed" and run.orders == (3, 120)
    job = "sagaz-dbt-build-tiny"
    assert run.types(job) == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in run.of(job)} == {run.parent_id}
    for node in NODES:
        assert run.types(node) == ["START", "COMPLETE"], node
        node_events = run.of(node)
        assert len({e["run"]["runId"] for e in node_events}) == 1
        for event in node_events:
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == run.parent_id and parent["job"]["name"] == job
            assert lineage.FACET_NAME not in event["run"]["facets"]
    assert not [e for e in run.events if e["job"]["name"].startswith("test.")], "tests are not datasets"
    namespace = f"duckdb://{(runs['root'] / 'wh.duckdb').resolve()}"
    start = run.of("model.tiny.orders")[0]
    assert [(d["namespace"], d["name"]) for d in start["inputs"]] == [(namespace, "wh.main.raw_orders")]
    assert [(d["namespace"], d["name"]) for d in start["outputs"]] == [(namespace, "wh.main.orders")]
    assert [d["name"] for d in run.of("model.tiny.orders_total")[0]["inputs"]] == ["wh.main.orders"]
    complete = run.of("model.tiny.orders")[-1]
    assert "raw_orders" in complete["job"]["facets"]["sql"]["query"]
    assert complete["job"]["facets"]["jobType"]["jobType"] == "MODEL"


def test_rolled_back_run_aborts_what_it_undid(runs: dict[str, Any]) -> None:
    run: Run = runs["test_failed"]
    assert run.result.status == "rolled_back"
    assert run.orders == runs["committed"].orders, "the warehouse is as before the run"
    # The view was skipped after the test failed: dbt never executed it, so no run of it.
    assert run.types("model.tiny.orders_total") == []
    for node, action in (("seed.tiny.raw_orders", "rows restored"), ("model.tiny.orders", "swapped back")):
        assert run.types(node) == ["START", "ABORT"], node
        facet = run.facet(node, "ABORT", lineage.FACET_NAME)
        assert facet["status"] == "rolled_back" and facet["sagazRunId"] == run.result.run_id
        assert "test.tiny.assert_no_rows" in facet["reason"]
        [relation] = facet["relations"]
        assert (relation["node"], relation["action"], relation["restored"]) == (node, action, True)
    job = "sagaz-dbt-build-tiny"
    assert run.types(job) == ["START", "FAIL"]
    facet = run.facet(job, "FAIL", lineage.FACET_NAME)
    assert {r["name"]: r["action"] for r in facet["relations"]} == {
        "wh.main.raw_orders": "rows restored",
        "wh.main.orders": "swapped back",
        "wh.main.orders_total": "untouched",
    }
    assert "test.tiny.assert_no_rows" in run.facet(job, "FAIL", "errorMessage")["message"]


def test_model_error_fails_its_node(runs: dict[str, Any]) -> None:
    run: Run = runs["model_failed"]
    assert run.result.status == "rolled_back" and run.result.exit_code == 1
    assert run.orders == runs["committed"].orders
    assert run.types("model.tiny.orders") == ["START", "FAIL"]
    assert "no_such_column" in run.facet("model.tiny.orders", "FAIL", "errorMessage")["message"]
    facet = run.facet("model.tiny.orders", "FAIL", lineage.FACET_NAME)
    assert facet["relations"][0]["node"] == "model.tiny.orders"
    assert run.types("seed.tiny.raw_orders") == ["START", "ABORT"]
    assert run.types("sagaz-dbt-build-tiny") == ["START", "FAIL"]


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, False),
        ({"OPENLINEAGE_URL": "http://127.0.0.1:5000"}, True),
        ({"OPENLINEAGE__TRANSPORT__TYPE": "console"}, True),
        ({"OPENLINEAGE__TRANSPORT__TYPE": "console", "OPENLINEAGE_DISABLED": "true"}, False),
        ({"OPENLINEAGE_CONFIG": "/no/such/openlineage.yml"}, False),
    ],
)
def test_configured(env, expected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lineage.configured(env, cwd=tmp_path) is expected


def test_configured_by_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert lineage.configured({}, cwd=tmp_path)
    assert lineage.configured({"OPENLINEAGE_CONFIG": str(tmp_path / "openlineage.yml")}, cwd=tmp_path / "x")


def test_openlineage_is_imported_only_when_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["HOME"] = str(tmp_path)
    code = (
        "import sys, sagaz_dbt, sagaz_dbt.api, sagaz_dbt.outputs.run_outputs, sagaz_dbt.outputs.lineage as l\n"
        "assert l.for_run(None, 'ab' * 16, 'build') is None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openlineage'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_missing_package_is_a_warning_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    monkeypatch.setitem(sys.modules, "openlineage", None)
    monkeypatch.setitem(sys.modules, "openlineage.client", None)
    outputs = RunOutputs([], Console(file=io.StringIO()), "ab" * 16, "build")

    outputs._start_lineage(target=None)

    assert outputs.lineage is None
    assert any("sagaz-dbt[lineage]" in w for w in outputs.warnings)


@pytest.mark.parametrize(
    "adapter, credentials, expected",
    [
        ("postgres", {"host": "db.internal", "port": 5432, "database": "analytics"}, "postgres://db.internal:5432"),
        ("redshift", {"host": "rs.example", "port": 5439}, "redshift://rs.example:5439"),
        ("snowflake", {"account": "xy12345"}, "snowflake://xy12345"),
        ("bigquery", {"project": "p"}, "bigquery"),
        ("duckdb", {"path": ":memory:"}, "duckdb://:memory:"),
        ("duckdb", {"path": "md:my_db"}, "duckdb://md:my_db"),
    ],
)
def test_dataset_namespace(adapter, credentials, expected) -> None:
    assert lineage.dataset_namespace(adapter, SimpleNamespace(**credentials)) == expected


def test_the_validation_catches_broken_events(runs: dict[str, Any]) -> None:
    """The schemas above are not vacuous: a missing required field is caught."""
    from jsonschema import ValidationError

    event = json.loads(json.dumps(runs["test_failed"].of("sagaz-dbt-build-tiny")[-1]))
    broken = json.loads(json.dumps(event))
    del broken["job"]["name"]
    with pytest.raises(ValidationError):
        validate(broken)
    broken = json.loads(json.dumps(event))
    del broken["run"]["facets"][lineage.FACET_NAME]["relations"]
    with pytest.raises(ValidationError):
        validate(broken)
    broken = json.loads(json.dumps(event))
    broken["run"]["facets"]["errorMessage"].pop("_producer")
    with pytest.raises(ValidationError):
        validate(broken)
