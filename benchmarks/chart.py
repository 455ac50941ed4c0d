"""The benchmark chart: overhead and rollback time against table size.

    .venv/bin/python -m benchmarks.chart benchmarks/results/full-*.json   # re-render from JSON

Several result files can be merged (a later file wins for the same engine, case and size),
so a big-size run and a medium-size run make one chart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STYLE = {
    ("duckdb", "project"): ("tab:orange", "o", "-", "DuckDB, 114-model project"),
    ("postgres", "project"): ("tab:blue", "o", "-", "PostgreSQL, 114-model project"),
    ("duckdb", "incremental"): ("tab:orange", "s", "--", "DuckDB, incremental: one day replaced"),
    ("postgres", "incremental"): ("tab:blue", "s", "--", "PostgreSQL, incremental: one day replaced"),
    ("duckdb", "large"): ("tab:red", "D", "", "DuckDB, 1,026-model project"),
}


def merge(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, str, int], dict[str, Any]] = {}
    for result in results:
        for s in result["summary"]:
            by_key[(s["engine"], s["kind"], s["rows"])] = s
    return [by_key[k] for k in sorted(by_key)]


def _series(summary: list[dict[str, Any]], engine: str, kind: str, key: str) -> tuple[list[int], list[float]]:
    points = sorted((s["rows"], s[key]) for s in summary if s["engine"] == engine and s["kind"] == kind and s.get(key) is not None)
    return [p[0] for p in points], [p[1] for p in points]


def render(result: dict[str, Any] | list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = result if isinstance(result, list) else [result]
    summary = merge(results)
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4))
    panels = [
        ("success_ratio", "wall time sagaz-dbt / dbt (successful build)", "ratio"),
        ("success_extra_s", "extra seconds of sagaz-dbt (successful build)", "seconds"),
        ("rollback_s", "rollback time (compensation, from the run report)", "seconds"),
    ]
    for ax, (key, title, unit) in zip(axes, panels):
        for (engine, kind), (color, marker, line, name) in STYLE.items():
            xs, ys = _series(summary, engine, kind, key)
            if xs:
                ax.plot(xs, ys, color=color, marker=marker, linestyle=line, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("rows in the largest tables (incremental: in the fact table)")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if key == "success_ratio":
            ax.axhline(1.05, color="grey", linestyle=":", label="goal: 1.05")
            ax.axhline(1.0, color="black", linewidth=0.6)
        if key == "rollback_s":
            ax.axhline(1.0, color="grey", linestyle=":", label="goal (114-model project): 1 s")
        values = [s[key] for s in summary if s.get(key) is not None]
        if key == "success_ratio":
            ax.set_ylim(min([0.8, *[v - 0.05 for v in values]]), max([1.6, *[v + 0.05 for v in values]]))
        else:  # a run can be faster than dbt's (noise): show it below zero rather than clip it
            lowest = min(values, default=0.0)
            ax.set_ylim(bottom=lowest - 0.2 if lowest < 0 else 0.0)
            if lowest < 0:
                ax.axhline(0.0, color="black", linewidth=0.6)
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=3, fontsize=8, frameon=False)
    loads = sorted({(r.get("machine") or {}).get("cpus") for r in results} - {None})
    repeats = sorted({s.get("repeats") for s in summary} - {None})
    fig.suptitle(
        f"sagaz-dbt vs dbt build — medians of {', '.join(map(str, repeats))} alternating repeats, "
        f"{', '.join(map(str, loads))}-core machine shared with other jobs (load in the JSON)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    files = [Path(a) for a in sys.argv[1:]]
    if not files:
        sys.exit("usage: python -m benchmarks.chart RESULT.json [RESULT.json ...]")
    out = files[0].parent / "overhead.png"
    print(render([json.loads(f.read_text()) for f in files], out))
