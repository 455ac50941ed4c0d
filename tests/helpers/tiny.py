"""A tiny DuckDB dbt project for the CI-output and lineage tests: a seed, a table, a view, a
singular test switched by `--vars '{fail: true}'`, a model error switched by `break`, and a
warn-severity test."""

from __future__ import annotations

from pathlib import Path

DAY1 = [(1, 10), (2, 20), (3, 30)]
DAY2 = [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]


def write_seed(root: Path, rows: list[tuple[int, int]]) -> None:
    lines = ["id,amount", *(f"{i},{a}" for i, a in rows)]
    (root / "seeds" / "raw_orders.csv").write_text("\n".join(lines) + "\n")


def make_project(root: Path) -> Path:
    for folder in ("seeds", "models", "tests"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n"
    )
    (root / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{root / 'wh.duckdb'}'\n      schema: main\n      threads: 2\n"
    )
    write_seed(root, DAY1)
    (root / "models" / "orders.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select id, amount * 2 as amount from {{ ref('raw_orders') }}\n"
        "{% if var('break', false) %} where no_such_column > 0 {% endif %}\n"
    )
    (root / "models" / "orders_total.sql").write_text(
        "{{ config(materialized='view') }}\nselect sum(amount) as total from {{ ref('orders') }}\n"
    )
    (root / "tests" / "assert_no_rows.sql").write_text(
        "select * from {{ ref('orders') }} where {{ 'true' if var('fail', false) else 'false' }}\n"
    )
    (root / "tests" / "warn_big_amounts.sql").write_text(
        "{{ config(severity='warn') }}\nselect * from {{ ref('orders') }} where amount > 50\n"
    )
    return root
