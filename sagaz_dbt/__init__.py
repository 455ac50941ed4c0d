"""sagaz-dbt: `dbt build` as a saga. A failed run restores every relation it touched.

The public library API (what orchestrators call instead of the CLI):

    from sagaz_dbt import build
    result = build(["--select", "marts", "--target", "prod"])
    if not result.success: ...
"""

from __future__ import annotations

__version__ = "0.1.0"

from sagaz_dbt.api import BuildResult, build  # noqa: E402

__all__ = ["BuildResult", "build", "__version__"]
