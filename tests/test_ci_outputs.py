"""CI gate outputs, checked against what the warehouse really holds afterwards:
--junit-xml, $GITHUB_STEP_SUMMARY, target/sagaz/run_<id>.json, --log-format json, and the
compensation progress line and colours.

One tiny DuckDB project (a seed, a table model, a view, a singular test that fails with
`--vars '{fail: true}'` and a warn-severity test that always warns) is built twice: day 1
commits in-process, then day 2's seed with the failing test runs through the real console
script with every output switched on, and is rolled back.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from rich.console import Console
from rich.markup import escape

import sagaz_dbt
from sagaz_dbt.outputs import events, github, junit, report
from sagaz_dbt.errors import TornWarehouseError
from sagaz_dbt.dbt.session import release_connections

from helpers.tiny import DAY1, DAY2, make_project, write_seed

REPO = Path(__file__).resolve().parent.parent


def location(root: Path) -> list[str]:
    return ["--project-dir", str(root), "--profiles-dir", str(root)]


def run_inprocess(root: Path, *args: str, console: Console | None = None) -> tuple[Any, str]:
    buffer = io.StringIO()
    out = console or Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
    try:
        result = sagaz_dbt.build([*args, *location(root)], console=out)
    finally:
        release_connections()
    return result, buffer.getvalue()


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE", "SAGAZ_DBT_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", **extra)
    return env


def warehouse(root: Path) -> dict[str, Any]:
    """What the warehouse holds, read with duckdb itself."""
    release_connections()
    con = duckdb.connect(str(root / "wh.duckdb"), read_only=True)
    try:
        relations = con.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall()
        state: dict[str, Any] = {"relations": relations}
        for name in ("raw_orders", "orders"):
            state[name] = con.execute(f"select count(*), sum(amount) from main.{name}").fetchone()
        state["orders_total"] = con.execute("select total from main.orders_total").fetchone()[0]
        return state
    finally:
        con.close()


@dataclass
class Scenario:
    root: Path
    ok: Any  # in-process BuildResult of day 1
    ok_state: dict[str, Any]
    ok_xml: Path
    failed: subprocess.CompletedProcess
    failed_state: dict[str, Any]
    failed_xml: Path
    summary: Path

    def report(self, run_id: str) -> dict[str, Any]:
        return json.loads((self.root / "target" / "sagaz" / f"run_{run_id}.json").read_text())

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.failed.stdout.splitlines() if line.strip()]

    def sagaz_events(self) -> list[dict[str, Any]]:
        return [e for e in self.json_lines() if e["info"].get("category") == "sagaz"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    base = tmp_path_factory.mktemp("ci_outputs")
    root = make_project(base / "tiny")
    summary = base / "step_summary.md"
    ok_xml, failed_xml = base / "ok.xml", base / "reports" / "failed.xml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GITHUB_STEP_SUMMARY", str(summary))
        mp.setenv("NO_COLOR", "1")
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        for var in [v for v in os.environ if v.startswith("OPENLINEAGE")] + ["SAGAZ_DBT_RUN_ID"]:
            mp.delenv(var, raising=False)
        ok, _ = run_inprocess(root, "--junit-xml", str(ok_xml))
        assert ok.exit_code == 0, (ok.status, ok.error)
        ok_state = warehouse(root)

        write_seed(root, DAY2)
        exe = Path(sys.executable).parent / "sagaz-dbt"
        failed = subprocess.run(
            [str(exe), "build", "--vars", "{fail: true}", "--log-format", "json", "--junit-xml", str(failed_xml), *location(root)],
            capture_output=True,
            text=True,
            env=cli_env(GITHUB_STEP_SUMMARY=str(summary), CI="true"),
            cwd=base,
            timeout=300,
        )
    failed_state = warehouse(root)
    return Scenario(root, ok, ok_state, ok_xml, failed, failed_state, failed_xml, summary)


def cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}


# -- the two runs did what they should --------------------------------------------------------


def test_day1_committed_and_day2_rolled_back(scenario: Scenario) -> None:
    assert scenario.ok.status == "committed"
    assert scenario.ok_state["raw_orders"] == (3, 60)
    assert scenario.ok_state["orders"] == (3, 120)
    assert scenario.failed.returncode == 1, scenario.failed.stdout[-3000:] + scenario.failed.stderr[-3000:]
    # The rollback put everything back: day 2's five rows are nowhere.
    assert scenario.failed_state == scenario.ok_state


# -- JUnit XML --------------------------------------------------------------------------------


def test_junit_of_a_committed_run(scenario: Scenario) -> None:
    found = cases(scenario.ok_xml)
    assert set(found) == {
        "seed.tiny.raw_orders",
        "model.tiny.orders",
        "model.tiny.orders_total",
        "test.tiny.assert_no_rows",
        "test.tiny.warn_big_amounts",
        "sagaz_dbt.rollback",
    }
    for name, case in found.items():
        assert case.find("failure") is None and case.find("error") is None and case.find("skipped") is None, name
    # The warn-severity test passes the gate; its warning and failing rows are recorded.
    warned = found["test.tiny.warn_big_amounts"].findtext("system-out")
    big = [a * 2 for _, a in DAY1 if a * 2 > 50]
    assert f"WARN ({len(big)} failing rows)" in warned
    suite = ET.parse(scenario.ok_xml).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "0", "0")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["status"] == "committed" and props["run_id"] == scenario.ok.run_id
    assert "committed" in found["sagaz_dbt.rollback"].findtext("system-out")


def test_junit_of_a_rolled_back_run(scenario: Scenario) -> None:
    found = cases(scenario.failed_xml)
    failure = found["test.tiny.assert_no_rows"].find("failure")
    assert failure is not None
    assert failure.get("message") == f"Got {len(DAY2)} results, configured to fail if != 0"
    # The failing rows are what `orders` held during the run: day 2's rows.
    assert f"failing rows: {len(DAY2)}" in failure.text
    # The view was skipped after the test failed; the seed and the table ran, then were restored.
    assert found["model.tiny.orders_total"].find("skipped") is not None
    assert "rolled back by sagaz-dbt: rows restored" in found["seed.tiny.raw_orders"].findtext("system-out")
    assert "rolled back by sagaz-dbt: swapped back" in found["model.tiny.orders"].findtext("system-out")
    # The rollback testcase passes, because the warehouse really is as before the run.
    rollback = found["sagaz_dbt.rollback"]
    assert rollback.find("failure") is None and rollback.find("error") is None
    assert "exactly as it was before the run: 2 relation(s) restored" in rollback.findtext("system-out")
    assert scenario.failed_state == scenario.ok_state
    suite = ET.parse(scenario.failed_xml).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "0", "1")


def test_junit_when_nothing_could_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "tiny")
    xml, summary = tmp_path / "j.xml", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result, _ = run_inprocess(root, "--junit-xml", str(xml), "--no-such-dbt-flag")

    assert result.exit_code == 2 and result.status == "not_started"
    found = cases(xml)
    assert list(found) == ["sagaz_dbt.rollback"]
    error = found["sagaz_dbt.rollback"].find("error")
    assert error is not None and error.get("type") == "not_started"
    assert "no-such-dbt-flag" in error.get("message")
    assert "No relation was changed." in error.text
    assert not (root / "wh.duckdb").exists()
    assert "did not start" in summary.read_text()


def test_junit_fails_the_rollback_case_when_the_warehouse_is_torn() -> None:
    rpt = report.new_report("abc123", ["build"])
    rpt.status, rpt.exit_code = "torn", 2
    rpt.message = "run abc123 could not be rolled back: connection lost"
    result = SimpleNamespace(report=rpt, dbt=None, error=TornWarehouseError(rpt.message))

    case = cases_from_tree(junit.build_tree(result))["sagaz_dbt.rollback"]

    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "not_restored"
    assert "connection lost" in failure.get("message")
    assert "sagaz-dbt recover" in failure.text


def cases_from_tree(tree: ET.ElementTree) -> dict[str, ET.Element]:
    return {f"{c.get('classname')}.{c.get('name')}": c for c in tree.getroot().iter("testcase")}


# -- GitHub step summary ----------------------------------------------------------------------


def test_github_step_summary(scenario: Scenario) -> None:
    text = scenario.summary.read_text()
    committed, rolled_back = text.split("## sagaz-dbt build: ")[1:]
    assert committed.startswith("✅ committed")
    assert "3 relation(s) were protected" in committed
    assert "test.tiny.warn_big_amounts" in committed  # under "Warnings (no rollback)"
    assert rolled_back.startswith("↩️ rolled back")
    assert "the warehouse is exactly as it was before the run" in rolled_back
    failed_row = next(line for line in rolled_back.splitlines() if "`test.tiny.assert_no_rows` | fail" in line)
    assert failed_row.rstrip().endswith(f"| {len(DAY2)} |")
    restored = {
        line.split("|")[1].strip(" `"): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in rolled_back.splitlines()
        if line.startswith("| `main.")
    }
    # relation -> node, snapshot, action, rows before, rows after; the counts are the warehouse's.
    assert restored["main.raw_orders"] == [
        "`seed.tiny.raw_orders`", "copy", "rows restored", str(scenario.failed_state["raw_orders"][0]), str(len(DAY2))
    ]
    assert restored["main.orders"] == [
        "`model.tiny.orders`", "kept (zero-copy)", "swapped back", str(scenario.failed_state["orders"][0]), str(len(DAY2))
    ]
    assert "main.orders_total" not in restored  # skipped by dbt: nothing to restore


def test_github_summary_cells_are_safe() -> None:
    assert github._cell("a | b\nc") == "a \\| b c"
    assert github._cell("\x1b[31mred\x1b[0m") == "red"


# -- the JSON run report ----------------------------------------------------------------------


def test_run_report_keys_are_stable_and_documented(scenario: Scenario) -> None:
    docs = (REPO / "docs" / "run-report.md").read_text()
    failed_run_id = scenario.sagaz_events()[0]["data"]["run_id"]
    for run_id in (scenario.ok.run_id, failed_run_id):
        data = scenario.report(run_id)
        assert tuple(data) == report.REPORT_KEYS
        assert data["report_version"] == report.REPORT_VERSION
        assert data["sagaz_version"] == sagaz_dbt.__version__
        for step in data["steps"]:
            assert tuple(step) == report.STEP_KEYS
            assert set(step["relation"]) == {"database", "schema", "identifier"}
    for key in (*report.REPORT_KEYS, *report.STEP_KEYS):
        assert f"`{key}`" in docs, f"docs/run-report.md does not document {key}"
    failed = scenario.report(failed_run_id)
    assert failed["status"] == "rolled_back" and failed["exit_code"] == 1
    by_node = {s["unique_id"]: s for s in failed["steps"]}
    assert by_node["model.tiny.orders"]["rows_before"] == scenario.failed_state["orders"][0]
    assert by_node["model.tiny.orders"]["rows_after"] == len(DAY2)
    assert [f["unique_id"] for f in failed["failed_nodes"]] == ["test.tiny.assert_no_rows"]


# -- --log-format json ------------------------------------------------------------------------


def test_log_format_json_makes_every_line_json(scenario: Scenario) -> None:
    lines = scenario.json_lines()  # raises if any stdout line is not JSON
    assert any(e["info"]["name"] == "MainReportVersion" for e in lines), "dbt's own lines are there too"
    ours = scenario.sagaz_events()
    names = [e["info"]["name"] for e in ours]
    assert names[0] == "RunArmed"
    assert names.count("CompensationStarted") == 1
    assert names[-1] == "RunRolledBack"
    run_id = ours[0]["data"]["run_id"]
    for event in ours:
        info = event["info"]
        assert {"name", "code", "level", "msg", "ts", "pid", "thread", "category", "extra"} <= set(info)
        assert info["code"].startswith("SGZ") and info["level"] in ("debug", "info", "warn", "error")
        assert info["ts"].endswith("Z")
        assert event["data"]["run_id"] == run_id
    progress = [e["data"] for e in ours if e["info"]["name"] == "CompensationProgress"]
    assert progress and {p["total"] for p in progress} == {3} and progress[-1]["done"] == 3
    verdict = ours[-1]
    assert verdict["info"]["level"] == "warn"
    assert {s["unique_id"]: s["action"] for s in verdict["data"]["steps"]} == {
        "seed.tiny.raw_orders": "rows restored",
        "model.tiny.orders": "swapped back",
        "model.tiny.orders_total": "untouched",
    }
    assert verdict["data"]["failed_nodes"] == ["test.tiny.assert_no_rows"]
    assert scenario.failed.stderr.strip() == "" or "Traceback" not in scenario.failed.stderr


def test_json_console_turns_any_message_into_an_event() -> None:
    buffer = io.StringIO()
    out = events.console_for(["--log-format=json"], Console(file=buffer), run_id="r1")

    out.print(f"[red]sagaz-dbt: {escape('boom [x]')}[/red]")
    out.print("plain [PASS] text", markup=False)
    out.print()
    events.fire(out, events.SAGAZ_WARNING, "careful", warning="careful")

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [(e["info"]["name"], e["info"]["level"], e["info"]["msg"]) for e in lines] == [
        ("SagazMessage", "error", "sagaz-dbt: boom [x]"),
        ("SagazMessage", "info", "plain [PASS] text"),
        ("SagazWarning", "warn", "careful"),
    ]
    assert all(e["data"]["run_id"] == "r1" for e in lines)


@pytest.mark.parametrize(
    "tokens, env, expected",
    [
        ([], {}, "default"),
        (["--log-format", "json"], {}, "json"),
        (["--log-format=JSON"], {}, "json"),
        ([], {"DBT_LOG_FORMAT": "json"}, "json"),
        (["--log-format", "text"], {"DBT_LOG_FORMAT": "json"}, "text"),
    ],
)
def test_log_format_detection(tokens, env, expected, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_LOG_FORMAT", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert events.log_format(tokens) == expected


# -- progress and colours ---------------------------------------------------------------------


def test_progress_is_a_live_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    buffer = io.StringIO()
    show = events.progress(Console(file=buffer, force_terminal=True))
    for done in (1, 2, 3):
        show(done, 3)
    text = buffer.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("3 of 3 relations restored\n")


def test_progress_is_plain_lines_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    buffer = io.StringIO()
    show = events.progress(Console(file=buffer, force_terminal=True, no_color=True))
    for done in (1, 2, 3):
        show(done, 3)
    show(3, 3)  # a saga that reports once, after its single transaction
    assert "\r" not in buffer.getvalue()
    assert buffer.getvalue().splitlines() == [
        *(f"sagaz-dbt: {i} of 3 relations restored" for i in (1, 2, 3)),
        "sagaz-dbt: 3 of 3 relations restored",
    ]


def test_progress_is_plain_lines_in_a_file_or_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    buffer = io.StringIO()
    events.progress(Console(file=buffer))(2, 2)
    assert buffer.getvalue() == "sagaz-dbt: 2 of 2 relations restored\n"


@pytest.mark.parametrize(
    "tokens, env, colored",
    [
        ([], {}, True),
        (["--no-use-colors"], {}, False),
        (["--no-use-colors", "--use-colors"], {}, True),
        ([], {"DBT_USE_COLORS": "false"}, False),
        ([], {"NO_COLOR": "1"}, False),
        (["--use-colors"], {"NO_COLOR": "1"}, False),
    ],
)
def test_colours_follow_dbt_and_no_color(tokens, env, colored, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "DBT_USE_COLORS"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    buffer = io.StringIO()
    out = events.console_for(tokens, Console(file=buffer, force_terminal=True, color_system="standard"))
    out.print("[red]rolled back[/red]")
    assert ("\x1b[" in buffer.getvalue()) is colored
