"""The example project's pipelines, their input data and a runner (`sagaz-dbt examples`).

    from sagaz_dbt.examples import run_example
    report = run_example("lakehouse", fail="gold")
    assert report.ok
"""

from __future__ import annotations

from sagaz_dbt.examples.pipelines import PIPELINES, Failure, Pipeline
from sagaz_dbt.examples.runner import ExampleReport, Workspace, run_example

__all__ = ["PIPELINES", "ExampleReport", "Failure", "Pipeline", "Workspace", "run_example"]
