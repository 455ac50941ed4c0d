"""Helpers for the integration suite (see tests/conftest.py for the fixtures)."""

import pytest

#: Parametrize engine-level tests with `@pytest.mark.parametrize("engine", ENGINES)`.
ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
