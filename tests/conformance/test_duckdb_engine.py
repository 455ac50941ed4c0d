"""DuckDB runs the whole engine conformance spec (conformance_spec.py), in both modes."""

from conformance_spec import EngineConformance
from sagaz_dbt.vocabulary import IsolationMode


class TestDuckDB(EngineConformance):
    engine = "duckdb"


class TestDuckDBIsolated(TestDuckDB):
    isolation = IsolationMode.PUBLISH
