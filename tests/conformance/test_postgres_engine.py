"""PostgreSQL runs the whole engine conformance spec (conformance_spec.py), in both modes."""

import pytest

from conformance_spec import EngineConformance
from sagaz_dbt.vocabulary import IsolationMode


@pytest.mark.postgres
class TestPostgres(EngineConformance):
    engine = "postgres"


class TestPostgresIsolated(TestPostgres):
    isolation = IsolationMode.PUBLISH
