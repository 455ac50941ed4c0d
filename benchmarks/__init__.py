"""Benchmarks: sagaz-dbt against plain dbt build (see benchmarks/README.md)."""
