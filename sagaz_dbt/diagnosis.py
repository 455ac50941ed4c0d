"""What an engine error means, in words a user can act on.

dbt wraps engine errors in exceptions whose text starts with a banner ("Runtime Error",
"Database Error"); the first line alone says nothing (a disk-full rollback used to be reported
as just "Runtime Error").  `describe` keeps the engine's own words, and `cause` recognises the
few conditions that need the user to act on the machine rather than on the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: Lines dbt puts before the engine's message.
_BANNERS = {"Runtime Error", "Database Error", "Compilation Error", "Internal Error"}


class Cause(str, Enum):
    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    PERMISSION = "permission"


@dataclass(frozen=True)
class _Rule:
    cause: Cause
    needles: tuple[str, ...]  # lower-case fragments of the engines' messages
    advice: str


#: Engine texts seen for each cause (DuckDB's IO errors carry errno and strerror; Postgres
#: says "could not extend file ... No space left on device", SQLSTATE 53100 disk_full).
_RULES = (
    _Rule(
        Cause.DISK_FULL,
        ("no space left on device", '"errno":"28"', "disk full", "file too large", "could not extend file"),
        "the disk holding the warehouse (or its WAL / temp directory) is full: free space there",
    ),
    _Rule(
        Cause.READ_ONLY,
        ("read-only file system", "read-only mode", "in a read-only transaction"),
        "the warehouse is read-only for this connection: run with a target that may write",
    ),
    _Rule(
        Cause.PERMISSION,
        ("permission denied", "must be owner of"),
        "the target's role lacks a privilege sagaz-dbt needs (create in the target and journal schemas)",
    ),
)


def describe(exc: BaseException, limit: int = 2000) -> str:
    """The error's own words on one line, without dbt's banner lines."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if line not in _BANNERS]
    text = " ".join(kept) if kept else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cause(exc: BaseException) -> Cause | None:
    for rule in _RULES:
        if _matches(exc, rule):
            return rule.cause
    return None


def advice(exc: BaseException) -> str | None:
    """What to do about it, when the cause is one we recognise."""
    for rule in _RULES:
        if _matches(exc, rule):
            return rule.advice
    return None


def _matches(exc: BaseException, rule: _Rule) -> bool:
    text = _chain_text(exc).lower()
    return any(needle in text for needle in rule.needles)


def _chain_text(exc: BaseException) -> str:
    """The text of the exception and of every cause under it (dbt re-raises engine errors)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)
