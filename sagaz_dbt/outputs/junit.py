"""`--junit-xml PATH`: the run as a JUnit XML report, for CI test tabs and gates.

One <testcase> per dbt node that dbt reported on (model, seed, snapshot, test...):

- a test that failed: <failure> whose message is dbt's ("Got 3 results, configured to fail
  if != 0") and whose text gives the number of failing rows and the compiled SQL path;
- a node that errored: <error> with dbt's message;
- a skipped node: <skipped>; a test that warned passes, with the warning in <system-out>;
- a node whose relation sagaz-dbt restored says so in <system-out>.

Plus one testcase for the transaction itself, `sagaz_dbt.rollback`: it fails only when the
warehouse could not be restored (a torn run), errors when sagaz-dbt could not start or could
not finish releasing a successful run's backups, and passes otherwise (committed, or rolled
back cleanly).  Written with the standard library; the layout is the common Ant/Jenkins one
that GitHub, GitLab and Jenkins reporters read.
"""

from __future__ import annotations

import os
import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt.artifacts.schemas.results import NodeStatus

from sagaz_dbt.vocabulary import NODE_ERRORED, NODE_FAILED, RunOutcome, is_restoring

ROLLBACK_CLASSNAME = "sagaz_dbt"
ROLLBACK_NAME = "rollback"

#: dbt statuses -> JUnit outcome.
_FAILED = NODE_FAILED
_ERRORED = NODE_ERRORED
_SKIPPED = {NodeStatus.Skipped}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd]")



def clean(text: Any) -> str:
    """dbt messages may carry colour codes; XML 1.0 forbids most control characters."""
    return _NOT_XML.sub("", _ANSI.sub("", "" if text is None else str(text)))


def build_tree(result: Any) -> ET.ElementTree:
    """The report for one `sagaz_dbt.build` result (a `BuildResult`)."""
    rpt = result.report
    steps = {step["unique_id"]: step for step in rpt.steps}
    suite = ET.Element("testsuite", name=f"sagaz-dbt {rpt.command[0] if rpt.command else 'build'}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0

    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", rpt.run_id),
        ("status", rpt.status),
        ("exit_code", rpt.exit_code),
        ("command", " ".join(rpt.command)),
        ("dbt_version", _dbt_version()),
        ("sagaz_version", _sagaz_version()),
    ):
        ET.SubElement(props, "property", name=name, value=clean(value))

    dbt = getattr(result, "dbt", None)
    for res in list(getattr(dbt, "results", None) or []):
        case, outcome, seconds = _node_case(res, steps)
        suite.append(case)
        counts["tests"] += 1
        if outcome:
            counts[outcome] += 1
        total_time += seconds

    case, outcome = _rollback_case(result)
    suite.append(case)
    counts["tests"] += 1
    if outcome:
        counts[outcome] += 1

    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total_time:.3f}")
    suite.set("timestamp", rpt.started_at or datetime.now(timezone.utc).isoformat(timespec="seconds"))
    suite.set("hostname", socket.gethostname())
    root = ET.Element("testsuites", name="sagaz-dbt", **{k: suite.get(k, "") for k in (*counts, "time")})
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write(result: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    build_tree(result).write(target, encoding="utf-8", xml_declaration=True)
    return target


def _node_case(res: Any, steps: dict[str, dict[str, Any]]) -> tuple[ET.Element, str | None, float]:
    node = res.node
    resource_type = str(getattr(node, "resource_type", "node"))
    status = str(getattr(res, "status", ""))
    seconds = float(getattr(res, "execution_time", 0.0) or 0.0)
    case = ET.Element(
        "testcase",
        classname=f"{resource_type}.{getattr(node, 'package_name', '')}",
        name=str(getattr(node, "name", node.unique_id)),
        time=f"{seconds:.3f}",
    )
    path = getattr(node, "original_file_path", None)
    if path:
        case.set("file", str(path))
    message = clean(getattr(res, "message", "") or "")
    failures = getattr(res, "failures", None)
    compiled = getattr(node, "compiled_path", None)
    outcome: str | None = None
    out_lines: list[str] = [f"unique_id: {node.unique_id}", f"dbt status: {status}"]

    if status in _FAILED:
        outcome = "failures"
        element = ET.SubElement(case, "failure", message=message or "test failed", type=status)
        body = [f"failing rows: {failures if failures is not None else 'unknown'}", message]
        if compiled:
            body.append(f"compiled SQL: {compiled}")
        element.text = "\n".join(line for line in body if line)
    elif status in _ERRORED:
        outcome = "errors"
        element = ET.SubElement(case, "error", message=_first_line(message) or "error", type=status)
        element.text = message
    elif status in _SKIPPED:
        outcome = "skipped"
        ET.SubElement(case, "skipped", message=message or "skipped: an upstream node failed or errored")
    elif status == NodeStatus.Warn:
        out_lines.append(f"WARN ({failures} failing rows): {message}" if failures is not None else f"WARN: {message}")

    step = steps.get(node.unique_id)
    if step is not None:
        action = step["action"]
        if is_restoring(action):
            out_lines.append(f"rolled back by sagaz-dbt: {action} (snapshot: {step['snapshot']})")
        else:
            out_lines.append(f"sagaz-dbt: {action} (snapshot: {step['snapshot']})")
    ET.SubElement(case, "system-out").text = "\n".join(out_lines)
    return case, outcome, seconds


def _rollback_case(result: Any) -> tuple[ET.Element, str | None]:
    rpt = result.report
    case = ET.Element("testcase", classname=ROLLBACK_CLASSNAME, name=ROLLBACK_NAME, time="0.000")
    restored = [s for s in rpt.steps if is_restoring(s["action"])]
    lines = [f"run {rpt.run_id}: {rpt.status} (exit code {rpt.exit_code})"]
    for step in rpt.steps:
        rel = step["relation"]
        lines.append(f"{rel['schema']}.{rel['identifier']} ({step['unique_id']}): {step['snapshot']} -> {step['action']}")
    error = getattr(result, "error", None)
    outcome: str | None = None
    if rpt.status == RunOutcome.TORN:
        outcome = "failures"
        element = ET.SubElement(
            case,
            "failure",
            message=_first_line(clean(error or rpt.message)) or "the warehouse could not be restored",
            type="not_restored",
        )
        element.text = clean(error or rpt.message) + "\nRun `sagaz-dbt recover` with the same flags."
    elif error is not None:
        outcome = "errors"
        kind = "release_failed" if rpt.status == RunOutcome.COMMITTED else "not_started"
        element = ET.SubElement(case, "error", message=_first_line(clean(error)), type=kind)
        element.text = clean(error) + ("" if rpt.status == RunOutcome.COMMITTED else "\nNo relation was changed.")
    elif rpt.status == RunOutcome.ROLLED_BACK:
        lines.insert(1, f"the warehouse is exactly as it was before the run: {len(restored)} relation(s) restored")
    ET.SubElement(case, "system-out").text = "\n".join(lines)
    return case, outcome


def _first_line(text: str) -> str:
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def _dbt_version() -> str:
    try:
        from dbt.version import __version__

        return str(__version__)
    except Exception:  # pragma: no cover
        return "unknown"


def _sagaz_version() -> str:
    from sagaz_dbt import __version__

    return __version__
