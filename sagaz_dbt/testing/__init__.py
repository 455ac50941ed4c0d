"""What tests, examples and benchmarks share to check a warehouse: `inspect`, the one
warehouse inspector (row-level checksums of every relation, read directly, never through
dbt or sagaz-dbt)."""
