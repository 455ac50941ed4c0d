"""The `sagaz-dbt` command line: a thin click layer over `sagaz_dbt.commands`."""

from sagaz_dbt.cli.main import main

__all__ = ["main"]
