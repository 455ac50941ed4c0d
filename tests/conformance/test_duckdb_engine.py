"""DuckDB runs the whole engine conformance spec (conformance_spec.py)."""

from conformance_spec import EngineConformance


class TestDuckDB(EngineConformance):
    engine = "duckdb"
