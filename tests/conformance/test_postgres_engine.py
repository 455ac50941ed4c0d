"""PostgreSQL runs the whole engine conformance spec (conformance_spec.py)."""

import pytest

from conformance_spec import EngineConformance


@pytest.mark.postgres
class TestPostgres(EngineConformance):
    engine = "postgres"
