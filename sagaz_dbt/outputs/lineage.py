"""OpenLineage run events for a sagaz-dbt run (`pip install 'sagaz-dbt[lineage]'`).

Active only when OpenLineage is configured the standard way (`OPENLINEAGE_URL`,
`OPENLINEAGE_CONFIG`, `OPENLINEAGE__TRANSPORT__*`, or an `openlineage.yml` in the working
directory or `~/.openlineage/`) and not disabled (`OPENLINEAGE_DISABLED=true`); only then is
`openlineage` imported.

What is emitted, in the job namespace `OPENLINEAGE_NAMESPACE` (default `default`):

- the run itself: job `sagaz-dbt-<command>-<project>`, run id = the sagaz run id (a UUID);
  START once the run is armed, COMPLETE when it committed, FAIL when it was rolled back or
  could not be restored;
- each model, seed and snapshot dbt executes: job `<unique_id>`, with a ParentRunFacet
  pointing at the run, START when dbt starts executing it, then after the saga's verdict:
  COMPLETE (committed), FAIL (the node itself failed) or ABORT (the node succeeded but its
  output was rolled back).  Inputs are the relations and sources it reads, outputs its own
  relation, named `database.schema.identifier` in a namespace made from the adapter
  (`postgres://host:port`, `duckdb:///path/to/file.duckdb`, ...).

FAIL and ABORT events carry the custom run facet `sagaz_compensation` (schema:
`sagaz_dbt/schemas/SagazCompensationRunFacet.json`) saying what was restored and how.
Terminal events are sent after the verdict, because a node's output only becomes the
warehouse's state when the run commits.  Lineage never changes a run's outcome: an
emission error becomes a sagaz-dbt warning.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sagaz_dbt.outputs.junit import is_restoring
from sagaz_dbt.vocabulary import NODE_ERRORED, RunOutcome

FACET_NAME = "sagaz_compensation"
#: Where sagaz-dbt is published; the producer URI of every event.  The facet's JSON schema
#: ships inside the package (FACET_SCHEMA_FILE); FACET_SCHEMA_URL is the address it is
#: published under, so that consumers can fetch it.
PROJECT_URL = "https://pypi.org/project/sagaz-dbt/"
PRODUCER = PROJECT_URL
FACET_SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "SagazCompensationRunFacet.json"
FACET_SCHEMA_URL = PROJECT_URL + "schemas/SagazCompensationRunFacet.json#/$defs/SagazCompensationRunFacet"
LINEAGE_RESOURCE_TYPES = ("model", "seed", "snapshot")


# -- is it on? --------------------------------------------------------------------------------


def configured(environ: dict[str, str] | None = None, cwd: Path | None = None) -> bool:
    """OpenLineage's own configuration lookup, without importing it."""
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OPENLINEAGE_URL"):
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT") for key in env):
        return True
    config = env.get("OPENLINEAGE_CONFIG")
    if config and Path(config).is_file():
        return True
    for folder in (cwd or Path.cwd(), Path.home() / ".openlineage"):
        if (folder / "openlineage.yml").is_file():
            return True
    return False


def for_run(target: Any, run_id: str, command: str) -> "LineageRun | None":
    """A LineageRun when OpenLineage is configured; None when it is not.  Raises ImportError
    when it is configured but openlineage-python is not installed."""
    if not configured():
        return None
    from openlineage.client import OpenLineageClient

    return LineageRun(OpenLineageClient(), target, run_id, command)


# -- names ------------------------------------------------------------------------------------


def dataset_namespace(adapter_type: str, credentials: Any) -> str:
    """OpenLineage's dataset namespace for a dbt target: scheme from the adapter, then the
    host (and port), account or file that identifies the warehouse."""
    kind = adapter_type.lower()
    get = lambda name: getattr(credentials, name, None)  # noqa: E731
    if kind == "duckdb":
        path = str(get("path") or ":memory:")
        if path != ":memory:" and "://" not in path and not path.startswith("md:"):
            path = str(Path(path).expanduser().resolve())
        return f"duckdb://{path}"
    if kind == "snowflake":
        return f"snowflake://{get('account')}"
    if kind == "bigquery":
        return "bigquery"
    if kind == "databricks" or kind == "spark":
        return f"{kind}://{get('host')}"
    host = get("host")
    if host:
        port = get("port")
        return f"{kind}://{host}:{port}" if port else f"{kind}://{host}"
    return f"{kind}://{get('database') or 'default'}"


def dataset_name(database: Any, schema: Any, identifier: Any) -> str:
    return ".".join(str(part) for part in (database, schema, identifier) if part)


# -- the run ----------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class LineageRun:
    """The OpenLineage side of one sagaz-dbt run."""

    def __init__(self, client: Any, target: Any, run_id: str, command: str) -> None:
        from openlineage.client import event_v2
        from openlineage.client.facet_v2 import job_type_job, parent_run, processing_engine_run

        self._ev = event_v2
        self._job_type = job_type_job
        self._parent_run = parent_run
        self._engine = processing_engine_run
        self.client = client
        self.manifest = target.session.manifest
        self.adapter_type = target.warehouse.adapter_type
        self.namespace = dataset_namespace(self.adapter_type, target.warehouse.config.credentials)
        self.job_namespace = os.environ.get("OPENLINEAGE_NAMESPACE", "default")
        project = target.identity[0]
        self.job_name = f"sagaz-dbt-{command}-{project}"
        self.run_uuid = str(uuid.UUID(hex=run_id))
        self.started: dict[str, str] = {}  # unique_id -> node run id
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    # -- events ---------------------------------------------------------------------------

    def start(self) -> None:
        """The run is armed: START for the run itself."""
        self._emit(self._event("START", self.run_uuid, self.job_name, self._run_facets(), "JOB"))

    def on_dbt_event(self, event: Any) -> None:
        """dbtRunner callback (runs in dbt's threads): START when a node starts executing."""
        if event.info.name != "NodeExecuting":
            return
        node_info = getattr(event.data, "node_info", None)
        unique_id = getattr(node_info, "unique_id", "") if node_info is not None else ""
        node = self.manifest.nodes.get(unique_id)
        if node is None or not _is_lineage_node(node):
            return
        self._start_node(node)

    def finish(self, result: Any) -> None:
        """After the verdict: a terminal event per started node, then for the run."""
        rpt = result.report
        steps = {step["unique_id"]: step for step in rpt.steps}
        reason = _reason(result)
        by_id = {res.node.unique_id: res for res in list(getattr(getattr(result, "dbt", None), "results", None) or [])}
        # A node that failed before dbt executed it (a compilation error) still gets START + FAIL.
        for unique_id, res in by_id.items():
            node = self.manifest.nodes.get(unique_id)
            if node is not None and _is_lineage_node(node) and str(res.status) in NODE_ERRORED:
                if unique_id not in self.started:
                    self._start_node(node)
        for unique_id, node_run_id in list(self.started.items()):
            node = self.manifest.nodes.get(unique_id)
            res = by_id.get(unique_id)
            status = str(getattr(res, "status", "")) if res is not None else ""
            facets = self._run_facets(parent=True)
            if rpt.status == RunOutcome.COMMITTED:
                state = "COMPLETE"
            else:
                state = "FAIL" if status in NODE_ERRORED or rpt.status == RunOutcome.TORN else "ABORT"
                step = steps.get(unique_id)
                if rpt.status in (RunOutcome.ROLLED_BACK, RunOutcome.TORN):
                    facets[FACET_NAME] = self._compensation_facet(rpt, reason, [step] if step else [])
                if status in NODE_ERRORED:
                    facets["errorMessage"] = self._error_facet(getattr(res, "message", "") or "node failed")
            self._emit(
                self._event(
                    state,
                    node_run_id,
                    unique_id,
                    facets,
                    _job_type(node),
                    node=node,
                    sql=getattr(node, "compiled_code", None),
                )
            )
        facets = self._run_facets()
        if rpt.status == RunOutcome.COMMITTED:
            state = "COMPLETE"
        else:
            state = "FAIL"
            if rpt.status in (RunOutcome.ROLLED_BACK, RunOutcome.TORN):
                facets[FACET_NAME] = self._compensation_facet(rpt, reason, list(rpt.steps))
            facets["errorMessage"] = self._error_facet(reason or "the build failed")
        self._emit(self._event(state, self.run_uuid, self.job_name, facets, "JOB"))
        try:
            self.client.close(timeout=10)
        except Exception:  # pragma: no cover - transports without close
            pass

    # -- building blocks ------------------------------------------------------------------

    def _start_node(self, node: Any) -> None:
        with self._lock:
            if node.unique_id in self.started:
                return
            node_run_id = str(uuid.uuid5(uuid.UUID(self.run_uuid), node.unique_id))
            self.started[node.unique_id] = node_run_id
        self._emit(self._event("START", node_run_id, node.unique_id, self._run_facets(parent=True), _job_type(node), node=node))

    def _event(
        self,
        state: str,
        run_id: str,
        job_name: str,
        run_facets: dict[str, Any],
        job_type: str,
        node: Any = None,
        sql: str | None = None,
    ) -> Any:
        ev = self._ev
        job_facets: dict[str, Any] = {
            "jobType": self._job_type.JobTypeJobFacet(
                processingType="BATCH", integration="DBT", jobType=job_type, producer=PRODUCER
            )
        }
        if sql:
            from openlineage.client.facet_v2 import sql_job

            job_facets["sql"] = sql_job.SQLJobFacet(query=sql, dialect=self.adapter_type, producer=PRODUCER)
        inputs: list[Any] = []
        outputs: list[Any] = []
        if node is not None:
            inputs = [ev.InputDataset(namespace=self.namespace, name=name) for name in self._input_names(node)]
            outputs = [ev.OutputDataset(namespace=self.namespace, name=_node_dataset(node))]
        return ev.RunEvent(
            eventType=getattr(ev.RunState, state),
            eventTime=_now(),
            run=ev.Run(runId=run_id, facets=run_facets),
            job=ev.Job(namespace=self.job_namespace, name=job_name, facets=job_facets),
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        )

    def _run_facets(self, parent: bool = False) -> dict[str, Any]:
        from dbt.version import __version__ as dbt_version

        from sagaz_dbt import __version__

        facets: dict[str, Any] = {
            "processing_engine": self._engine.ProcessingEngineRunFacet(
                version=str(dbt_version), name="dbt", openlineageAdapterVersion=__version__, producer=PRODUCER
            )
        }
        if parent:
            pr = self._parent_run
            facets["parent"] = pr.ParentRunFacet(
                run=pr.Run(runId=self.run_uuid),
                job=pr.Job(namespace=self.job_namespace, name=self.job_name),
                root=pr.Root(
                    run=pr.RootRun(runId=self.run_uuid),
                    job=pr.RootJob(namespace=self.job_namespace, name=self.job_name),
                ),
                producer=PRODUCER,
            )
        return facets

    def _error_facet(self, message: str) -> Any:
        from openlineage.client.facet_v2 import error_message_run

        return error_message_run.ErrorMessageRunFacet(message=str(message), programmingLanguage="SQL", producer=PRODUCER)

    def _compensation_facet(self, rpt: Any, reason: str, steps: list[dict[str, Any]]) -> Any:
        cls = compensation_facet_class()
        return cls(
            producer=PRODUCER,
            status="not_restored" if rpt.status == RunOutcome.TORN else "rolled_back",
            sagazRunId=rpt.run_id,
            reason=reason,
            relations=[
                {
                    "namespace": self.namespace,
                    "name": dataset_name(**_relation_parts(step)),
                    "node": step["unique_id"],
                    "snapshot": step["snapshot"],
                    "action": step["action"],
                    "restored": is_restoring(step["action"]),
                }
                for step in steps
            ],
        )

    def _input_names(self, node: Any) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        stack = list(getattr(getattr(node, "depends_on", None), "nodes", []) or [])
        while stack:
            uid = stack.pop(0)
            if uid in seen:
                continue
            seen.add(uid)
            source = self.manifest.sources.get(uid)
            if source is not None:
                names.append(dataset_name(source.database, source.schema, source.identifier))
                continue
            parent = self.manifest.nodes.get(uid)
            if parent is None:
                continue
            if str(parent.resource_type) == "model" and str(parent.config.materialized) == "ephemeral":
                stack.extend(getattr(parent.depends_on, "nodes", []) or [])  # read through CTEs
            elif _is_lineage_node(parent):
                names.append(_node_dataset(parent))
        return names

    def _emit(self, event: Any) -> None:
        try:
            with self._lock:
                self.client.emit(event)
        except Exception as exc:  # lineage never decides a run's outcome
            message = f"OpenLineage: could not emit {event.eventType.value} for {event.job.name}: {exc}"
            with self._lock:
                if message not in self.warnings:
                    self.warnings.append(message)


def _is_lineage_node(node: Any) -> bool:
    return str(node.resource_type) in LINEAGE_RESOURCE_TYPES and str(node.config.materialized) != "ephemeral"


def _node_dataset(node: Any) -> str:
    return dataset_name(node.database, node.schema, getattr(node, "alias", None) or node.name)


def _job_type(node: Any) -> str:
    return str(node.resource_type).upper()


def _relation_parts(step: dict[str, Any]) -> dict[str, Any]:
    rel = step["relation"]
    return {"database": rel["database"], "schema": rel["schema"], "identifier": rel["identifier"]}


def _reason(result: Any) -> str:
    rpt = result.report
    if rpt.status == RunOutcome.TORN or (rpt.status not in (RunOutcome.COMMITTED, RunOutcome.ROLLED_BACK)):
        return rpt.message
    failed = [f.get("unique_id", "") for f in rpt.failed_nodes]
    if rpt.dbt_error:
        return f"dbt stopped: {rpt.dbt_error}"
    return ("failed: " + ", ".join(failed)) if failed else ""


_FACET_CLASS: list[Any] = []


def compensation_facet_class() -> Callable[..., Any]:
    """The `sagaz_compensation` run facet (an attrs class, like openlineage's own facets)."""
    if _FACET_CLASS:
        return _FACET_CLASS[0]
    import attr
    from openlineage.client.generated.base import RunFacet

    @attr.define
    class SagazCompensationRunFacet(RunFacet):
        status: str  # rolled_back | not_restored
        sagazRunId: str  # noqa: N815
        reason: str = attr.field(default="")
        relations: list = attr.field(factory=list)  # noqa: RUF009

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA_URL

    _FACET_CLASS.append(SagazCompensationRunFacet)
    return SagazCompensationRunFacet
