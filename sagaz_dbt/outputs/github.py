"""GitHub Actions: a Markdown summary of the run on the job's summary page.

When `GITHUB_STEP_SUMMARY` is set (GitHub sets it in every step), `sagaz-dbt build` appends
to that file: the verdict, what ran, what failed (with dbt's message and the number of failing
rows), and what was restored: relation, snapshot strategy, action, and the rows the relation
held before the run and after the failed run (counted while rolling back).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

from dbt.artifacts.schemas.results import NodeStatus

from sagaz_dbt.outputs.junit import clean, is_restoring
from sagaz_dbt.vocabulary import NODE_FAILED_OR_ERRORED, RunOutcome, StepAction

ENV = "GITHUB_STEP_SUMMARY"

_VERDICT = {
    RunOutcome.COMMITTED: "✅ committed",
    RunOutcome.ROLLED_BACK: "↩️ rolled back",
    RunOutcome.TORN: "🚨 NOT restored",
    RunOutcome.NOT_STARTED: "⛔ did not start",
}


def summary_path() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def append(result: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    text = render(result)
    with target.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return target


def render(result: Any) -> str:
    rpt = result.report
    command = rpt.command[0] if rpt.command else "build"
    lines: list[str] = [f"## sagaz-dbt {command}: {_VERDICT.get(rpt.status, rpt.status)}", ""]
    lines.append(_verdict_sentence(result))
    lines.append("")
    lines.append(f"Run `{rpt.run_id}` · exit code {rpt.exit_code} · `sagaz-dbt {_cell(' '.join(rpt.command))}`")
    lines.append("")

    results = list(getattr(getattr(result, "dbt", None), "results", None) or [])
    if results:
        lines.extend(_what_ran(results))
    failed = [r for r in results if str(r.status) in NODE_FAILED_OR_ERRORED]
    if failed:
        lines += ["### What failed", "", "| node | status | message | failing rows |", "|---|---|---|---|"]
        for res in failed:
            failures = getattr(res, "failures", None)
            lines.append(
                f"| {_code(res.node.unique_id)} | {res.status} | {_cell(res.message)} | "
                f"{'' if failures is None else failures} |"
            )
        lines.append("")
    warned = [r for r in results if str(r.status) == NodeStatus.Warn]
    if warned:
        lines += ["### Warnings (no rollback)", "", "| test | message |", "|---|---|"]
        lines += [f"| {_code(r.node.unique_id)} | {_cell(r.message)} |" for r in warned]
        lines.append("")

    if rpt.status == RunOutcome.ROLLED_BACK:
        lines.extend(_restored(rpt.steps))
    elif rpt.status == RunOutcome.COMMITTED and rpt.steps:
        retained = sum(1 for s in rpt.steps if s["action"] == StepAction.RETAINED)
        tail = (
            f"backups kept: `sagaz-dbt rollback {rpt.run_id}` undoes this run."
            if retained
            else "their backups were released."
        )
        lines += [f"{len(rpt.steps)} relation(s) were protected; {tail}", ""]
    if rpt.warnings:
        lines += ["### sagaz-dbt warnings", ""]
        lines += [f"- {_cell(w)}" for w in rpt.warnings]
        lines.append("")
    if results:
        lines.extend(_all_nodes(results))
    return "\n".join(lines).rstrip("\n") + "\n\n"


def _verdict_sentence(result: Any) -> str:
    rpt = result.report
    if rpt.status == RunOutcome.COMMITTED:
        return "Every change of this run is in the warehouse." + (
            f" ⚠️ {_cell(rpt.message)}" if rpt.message else ""
        )
    if rpt.status == RunOutcome.ROLLED_BACK:
        return "The build failed; **the warehouse is exactly as it was before the run.**"
    if rpt.status == RunOutcome.TORN:
        return (
            f"**The rollback did not finish: the warehouse is not restored.** {_cell(rpt.message)} "
            "Run `sagaz-dbt recover` with the same flags."
        )
    return f"sagaz-dbt did not start: {_cell(rpt.message)} No relation was changed."


def _what_ran(results: list[Any]) -> list[str]:
    kinds: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for res in results:
        kind = str(res.node.resource_type)
        kinds[kind] = kinds.get(kind, 0) + 1
        status = str(res.status)
        statuses[status] = statuses.get(status, 0) + 1
    ran = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
    outcome = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return ["### What ran", "", f"{ran}: {outcome}.", ""]


def _restored(steps: list[dict[str, Any]]) -> list[str]:
    restored = [s for s in steps if is_restoring(s["action"])]
    lines = ["### What was restored", ""]
    if not restored:
        return lines + ["The run had not changed any relation yet: nothing needed restoring.", ""]
    lines += [
        "| relation | node | snapshot | action | rows before | rows after |",
        "|---|---|---|---|---|---|",
    ]
    for step in restored:
        rel = step["relation"]
        lines.append(
            f"| {_code(rel['schema'] + '.' + rel['identifier'])} | {_code(step['unique_id'])} | {step['snapshot']} | "
            f"{step['action']} | {_rows(step.get('rows_before'))} | {_rows(step.get('rows_after'))} |"
        )
    lines += [
        "",
        "*rows before*: what the relation held before the run, and holds again; *rows after*: what the "
        "failed run had left in it, now discarded (blank: a view, or not counted).",
        "",
    ]
    untouched = len(steps) - len(restored)
    if untouched:
        lines += [f"{untouched} other relation(s) of the run were not changed by dbt and needed nothing.", ""]
    return lines


def _all_nodes(results: list[Any]) -> list[str]:
    lines = [f"<details><summary>All {len(results)} dbt nodes</summary>", "", "| node | status | time |", "|---|---|---|"]
    for res in results:
        lines.append(f"| {_code(res.node.unique_id)} | {res.status} | {float(res.execution_time or 0):.2f}s |")
    return lines + ["", "</details>", ""]


def _rows(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def _cell(text: Any) -> str:
    """One Markdown table cell: no pipes, no line breaks."""
    value = clean(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()
    value = html.escape(value[:500], quote=False) + ("…" if len(value) > 500 else "")  # GitHub renders HTML
    return value


def _code(text: Any) -> str:
    """A name as an inline code span in a table cell: literal whatever it holds (Markdown,
    HTML, brackets), with a backtick fence longer than any run of backticks in it."""
    value = clean(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
