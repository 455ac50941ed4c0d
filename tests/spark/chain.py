"""One process of a kill-and-recover chain (tests/spark/test_spark_kill.py).

    python chain.py PROJECT_DIR SCHEMA ACTIONS_JSON

ACTIONS_JSON is a list of ["dbt", args...] (plain dbt), ["dbt_refused", args...] (plain
dbt, which the guard should stop: prints PLAIN DBT refused/RAN), ["sagaz", args...] (sagaz-dbt
build), ["recover"], ["dump", PATH] (the schema's state and sagaz's own relations, as JSON),
["write", RELPATH, TEXT] (a file of the project), ["truncate_copies"] (empty every
`__sagaz_cp_` table of the schema: what a kill while arming copied a table leaves) or ["crash_at", POINT] (sets
SAGAZ_DBT_CRASH_AT from here on: the actions after it SIGKILL the process at POINT, the
actions before it cannot).  Each process
starts its own Spark session on the project's warehouse folder: Derby admits one process,
so the chain's processes run one after the other, and the test's own session (another
folder) never reads this warehouse.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.spark import SparkInspector  # noqa: E402

STARTED = time.monotonic()


def main(project_dir: str, schema: str, actions: list[list[str]]) -> int:
    import sagaz_dbt
    from dbt.cli.main import dbtRunner
    from sagaz_dbt.api import recover

    location = ["--project-dir", project_dir, "--profiles-dir", project_dir]
    for action, *args in actions:
        print(f"ACTION {action} {args[:1]} at {time.monotonic() - STARTED:.1f} s", flush=True)
        if action == "crash_at":
            os.environ["SAGAZ_DBT_CRASH_AT"] = args[0]
        elif action == "write":
            (Path(project_dir) / args[0]).write_text(args[1])
        elif action == "dbt":
            if not dbtRunner().invoke(["build", *args, *location]).success:
                return 3
        elif action == "dbt_refused":  # the plain-dbt guard must stop it before any node runs
            result = dbtRunner().invoke(["build", *args, *location])
            refused = not result.success and "is unfinished" in str(result.exception)
            print("PLAIN DBT", "refused" if refused else f"RAN (success={result.success}, {result.exception})", flush=True)
        elif action == "sagaz":
            print("EXIT", sagaz_dbt.build([*args, *location]).exit_code, flush=True)
        elif action == "recover":
            recover(location)
        elif action == "truncate_copies":  # every whole-table copy of the schema emptied (a half-made copy)
            _start_session_as_dbt_would(project_dir)
            inspector = SparkInspector(schema)
            for name in [o for o in inspector.sagaz_objects() if o.startswith(schema + ".") and "__sagaz_cp_" in o]:
                inspector.execute(f"truncate table {name}")
                print("TRUNCATED", name, flush=True)
        elif action == "dump":
            inspector = SparkInspector(schema)
            Path(args[0]).write_text(
                json.dumps({"state": inspector.state(), "sagaz": inspector.sagaz_objects()}, default=str)
            )
    return 0


def _start_session_as_dbt_would(project_dir: str) -> None:
    """Before dbt has started this process's Spark session: start it with the profile's
    settings (dbt-spark's later getOrCreate then reuses it), on the chain's warehouse."""
    import yaml

    from helpers import spark

    profile = yaml.safe_load((Path(project_dir) / "profiles.yml").read_text())
    output = next(iter(profile.values()))["outputs"]["dev"]
    spark.session(Path(output["server_side_parameters"]["spark.sql.warehouse.dir"]).parent)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
