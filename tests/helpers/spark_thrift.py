"""A real Spark Thrift server for the tests (`method: thrift`), and what reads it.

`ThriftServer` starts pyspark's own HiveThriftServer2 (spark-submit, one JVM, local[2]) on a
free port with a warehouse and Derby metastore of its own in a temporary folder, and stops
it.  `ThriftInspector` reads the warehouse through a PyHive connection of its own, never
through dbt or sagaz-dbt, and computes the same state as `SparkInspector` (row-level
checksums: helpers/spark.py `spark_state`).

Authentication: the server runs with HiveServer2's default, `hive.server2.authentication
NONE`, which is SASL PLAIN with any password; dbt-spark's default (no `auth` in the
profile) is PyHive's `NONE`, the same.  `auth: NOSASL` would need the server started with
`--hiveconf hive.server2.authentication=NOSASL`.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from helpers.project import Project
from helpers.spark import JOURNAL_SCHEMA, SparkInspector, _relations, spark_state

#: The lease's claim tables in the journal schema (sagaz_dbt/engines/spark.py).
LEASE_PREFIX = "sagaz_lease_"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThriftServer:
    def __init__(self, folder: Path) -> None:
        import pyspark

        self.folder = folder
        self.port = free_port()
        self.submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        self.proc: subprocess.Popen | None = None
        self.log = folder / "thrift-server.log"

    def start(self, timeout: float = 420.0) -> float:
        """Start the server and wait until it answers a query; returns the seconds it took."""
        started = time.monotonic()
        conf = {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.warehouse.dir": str(self.folder / "tables"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={self.folder / 'metastore_db'};create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.folder}",
        }
        command = [
            str(self.submit), "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            "--master", "local[2]", "--driver-memory", "1g",
            *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
            "--hiveconf", f"hive.server2.thrift.port={self.port}",
            "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
            "spark-internal",
        ]  # fmt: skip
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)
        deadline = started + timeout
        logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)  # "could not connect" until up
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Spark Thrift server exited ({self.proc.returncode}):\n{self._log_tail()}")
            try:
                ThriftSession(self.port).rows("select 1")
                return time.monotonic() - started
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Spark Thrift server did not answer in {timeout:g} s:\n{self._log_tail()}")
                time.sleep(1.0)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # the session spark-submit started: its JVM
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            return "(no log)"

    def profile_output(self, schema: str) -> dict[str, Any]:
        return {
            "type": "spark",
            "method": "thrift",
            "host": "127.0.0.1",
            "port": self.port,
            "user": "sagaz-tests",
            "schema": schema,
            "threads": 1,
            "poll_interval": 1,  # dbt-spark's default of 5 s makes every statement cost 5 s
            "connect_retries": 0,
        }


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Collected:
    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows

    def collect(self) -> list[tuple]:
        return self._rows


class ThriftSession:
    """What `spark_state` and `_relations` ask of a Spark session, over PyHive."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: Any = None

    def rows(self, sql: str) -> list[tuple]:
        from pyhive import hive

        if self._conn is None:
            self._conn = hive.connect(host="127.0.0.1", port=self.port, username="sagaz-tests")
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    def sql(self, sql: str, args: list[Any] | None = None) -> _Collected:
        if args:
            pieces = sql.split("?")
            assert len(pieces) == len(args) + 1, sql
            sql = "".join(p + literal(a) for p, a in zip(pieces, args)) + pieces[-1]
        return _Collected(self.rows(sql))

    def columns(self, relation: str) -> list[tuple[str, str]]:
        out = []
        for name, kind, *_ in self.rows(f"describe table {relation}"):
            if not name or name.startswith("#"):
                break
            out.append((name, kind))
        return out

    def partition_columns(self, relation: str) -> list[str]:
        found, out = False, []
        for name, *_ in self.rows(f"describe table {relation}"):
            if name == "# Partition Information":
                found = True
            elif found and name and not name.startswith("#"):
                out.append(name)
            elif found and not name:
                break
        return out

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


class ThriftInspector(SparkInspector):
    """Each look opens a new Thrift session: a session caches the file lists of the tables it
    read, and reading a table another session rewrote since fails (FAILED_READ_FILE)."""

    def __init__(self, base_schema: str, port: int) -> None:
        super().__init__(base_schema)
        self.port = port

    @property
    def spark(self) -> ThriftSession:
        return ThriftSession(self.port)

    def _schemas(self, spark: Any) -> list[str]:
        names = [r[0] for r in spark.sql("show schemas").collect()]
        return sorted(n for n in names if n == self.base_schema or n.startswith(self.base_schema + "_"))

    def state(self) -> dict[str, dict[str, Any]]:
        spark = self.spark
        try:
            return spark_state(spark, self._schemas(spark), self._label)
        finally:
            spark.close()

    def schemas(self) -> list[str]:
        spark = self.spark
        try:
            return [self._label(s) for s in self._schemas(spark)]
        finally:
            spark.close()

    def sagaz_objects(self) -> list[str]:
        spark = self.spark
        try:
            found = [f"{s}.{n}" for s in self._schemas(spark) for n, _ in _relations(spark, s) if "sagaz" in n]
            return found + [f"{JOURNAL_SCHEMA}.{n}" for n, _ in _relations(spark, JOURNAL_SCHEMA)]
        finally:
            spark.close()

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        return self._once(lambda spark: spark.sql(sql, list(params) if params is not None else None).collect())

    def execute(self, sql: str) -> None:
        self._once(lambda spark: spark.rows(sql))

    def _once(self, body: Any) -> Any:
        spark = self.spark
        try:
            return body(spark)
        finally:
            spark.close()

    def claims(self) -> list[str]:
        """The lease's claim tables now in the journal schema."""
        rows = self._once(lambda spark: spark.rows(f"show tables in {JOURNAL_SCHEMA} like '{LEASE_PREFIX}*'"))
        return sorted(str(r[1]) for r in rows if str(r[1]).startswith(LEASE_PREFIX))

    def claim_age_and_ttl(self, table: str) -> tuple[float, float]:
        """(seconds since the claim's last beat, on the server's clock; its TTL)."""
        assert re.fullmatch(r"sagaz_lease_[0-9a-f]+", table), table
        beat, ttl, now = self._once(
            lambda spark: spark.rows(
                f"select max(beat_micros), max(ttl_seconds), unix_micros(current_timestamp()) from {JOURNAL_SCHEMA}.{table}"
            )
        )[0]
        return (int(now) - int(beat)) / 1e6, float(ttl)


class ThriftProject(Project):
    """A copy of a test project whose profile points at the Thrift server."""

    def __init__(self, name: str, root: Path, schema: str, server: ThriftServer) -> None:
        self.server = server
        super().__init__(name, "spark", root, schema)
        self.inspector = ThriftInspector(schema, server.port)

    def write_profile(self, target: str = "dev", **overrides: Any) -> None:
        import yaml

        output = {**self.server.profile_output(self.schema), **overrides}
        profile = {self.name: {"target": target, "outputs": {target: output}}}
        (self.root / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
