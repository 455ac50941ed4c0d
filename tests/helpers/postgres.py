"""The PostgreSQL server the integration tests run against.

Other engineers run the suite concurrently on the same server, so each test session works
in a database of its own (`sagaz_test_<hex>`), dropped at the end, and each project in a
schema of its own inside it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg2
from psycopg2.extensions import parse_dsn

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_dsn() -> str:
    return os.environ.get("SAGAZ_TEST_PG_DSN") or DEFAULT_DSN


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class PgDatabase:
    """One database on the test server: connection facts for psycopg2 and for profiles.yml."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_dsn(cls, dsn: str) -> "PgDatabase":
        parts = parse_dsn(dsn)
        return cls(
            host=parts.get("host") or "127.0.0.1",
            port=int(parts.get("port") or 5432),
            user=parts.get("user") or "postgres",
            password=parts.get("password") or "",
            dbname=parts.get("dbname") or "postgres",
        )

    def with_dbname(self, dbname: str) -> "PgDatabase":
        return PgDatabase(self.host, self.port, self.user, self.password, dbname)

    def connect(self, **kwargs: Any) -> Any:
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            connect_timeout=5,
            **kwargs,
        )
        conn.autocommit = True
        return conn

    def execute(self, sql: str, params: Any = None) -> list[tuple]:
        """Run one statement in autocommit; returns its rows (empty for DDL)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description is not None else []
        finally:
            conn.close()


def unreachable_reason(server: PgDatabase) -> str | None:
    try:
        server.connect().close()
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL is not reachable at {server.host}:{server.port} ({first}); set SAGAZ_TEST_PG_DSN"
    return None


def create_session_database(server: PgDatabase) -> PgDatabase:
    name = f"sagaz_test_{secrets.token_hex(5)}"
    server.execute(f'create database "{name}"')
    return server.with_dbname(name)


def drop_session_database(server: PgDatabase, db: PgDatabase) -> None:
    server.execute(f'drop database if exists "{db.dbname}" with (force)')
