"""Everything that touches dbt-core: its arguments, the in-process session, hooks, the macro package."""
