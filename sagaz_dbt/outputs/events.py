"""sagaz-dbt's own messages: rich text for people, JSON lines for machines.

With dbt's `--log-format json` (or `DBT_LOG_FORMAT=json`) every line dbt prints is a JSON
object; sagaz-dbt's lines then are too, in dbt's envelope, so one log pipeline reads both:

    {"info": {"name": "RunRolledBack", "code": "SGZ003", "level": "warn", "msg": "...",
              "ts": "2026-11-23T16:38:57.623059Z", "pid": 123, "thread": "MainThread",
              "invocation_id": "<dbt's>", "category": "sagaz", "extra": {}},
     "data": {"run_id": "...", ...}}

The console handed around the code base is a `rich.console.Console` either way: under JSON
it is a `JsonConsole`, whose `print` turns any message (even one printed with plain
`console.print`) into a `SagazMessage` event, so nothing else ever reaches stdout.  The named
events below carry structured `data`; `fire` prints them as text or emits them as JSON.

Colour follows dbt: `--no-use-colors`, `DBT_USE_COLORS=false` and `NO_COLOR` turn it off.
The level follows dbt's console rule too (`console_level`): `--log-level none` prints
nothing of sagaz-dbt's, `--quiet` only its errors, `--log-level warn` warnings and errors.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Callable, Sequence

from rich.console import Console
from rich.text import Text

CATEGORY = "sagaz"


@dataclass(frozen=True)
class EventType:
    name: str
    code: str
    level: str  # debug | info | warn | error, as dbt


RUN_ARMED = EventType("RunArmed", "SGZ001", "info")
RUN_COMMITTED = EventType("RunCommitted", "SGZ002", "info")
RUN_ROLLED_BACK = EventType("RunRolledBack", "SGZ003", "warn")  # also: compensation finished
RUN_TORN = EventType("RunNotRestored", "SGZ004", "error")
COMPENSATION_STARTED = EventType("CompensationStarted", "SGZ010", "info")
COMPENSATION_PROGRESS = EventType("CompensationProgress", "SGZ011", "info")
SAGAZ_WARNING = EventType("SagazWarning", "SGZ020", "warn")
SAGAZ_MESSAGE = EventType("SagazMessage", "SGZ030", "info")

_FALSE = ("0", "false", "no", "off")


# -- what the user asked for ------------------------------------------------------------------


def _flag_value(tokens: Sequence[str], flag: str) -> str | None:
    """The value of `--flag VALUE` or `--flag=VALUE` (the last one wins, as in click)."""
    found: str | None = None
    tokens = list(tokens)
    for i, token in enumerate(tokens):
        if token == flag and i + 1 < len(tokens):
            found = tokens[i + 1]
        elif token.startswith(flag + "="):
            found = token.split("=", 1)[1]
    return found


def log_format(tokens: Sequence[str]) -> str:
    """dbt's console log format for these arguments: text, debug, json or default."""
    value = _flag_value(tokens, "--log-format") or os.environ.get("DBT_LOG_FORMAT") or "default"
    return value.strip().lower()


def use_colors(tokens: Sequence[str]) -> bool:
    """dbt's --use-colors/--no-use-colors, DBT_USE_COLORS, and the NO_COLOR convention."""
    if os.environ.get("NO_COLOR"):
        return False
    for token in reversed(list(tokens)):
        if token == "--no-use-colors":
            return False
        if token == "--use-colors":
            return True
    return os.environ.get("DBT_USE_COLORS", "").strip().lower() not in _FALSE


def _switch(tokens: Sequence[str], on: Sequence[str], off: Sequence[str], envvar: str) -> bool:
    """A dbt boolean flag: the last of its spellings on the command line, else its env var."""
    for token in reversed(list(tokens)):
        if token in on:
            return True
        if token in off:
            return False
    value = os.environ.get(envvar)
    return value is not None and value.strip().lower() not in (*_FALSE, "")


def console_level(tokens: Sequence[str]) -> str:
    """dbt's console threshold (dbt/events/logging.py): `none`, else `error` under --quiet,
    `debug` under --debug, else --log-level (DBT_LOG_LEVEL), default `info`."""
    level = (_flag_value(tokens, "--log-level") or os.environ.get("DBT_LOG_LEVEL") or "info").strip().lower()
    if level == "none":
        return "none"
    if _switch(tokens, ("--quiet", "-q"), ("--no-quiet",), "DBT_QUIET"):
        return "error"
    if _switch(tokens, ("--debug", "-d"), ("--no-debug",), "DBT_DEBUG"):
        return "debug"
    return level if level in _ORDER else "info"


def shows(out: Console, level: str) -> bool:
    """Would a message of this level reach the user?"""
    threshold = getattr(out, "threshold", "info")
    return threshold != "none" and _ORDER.get(level, 1) >= _ORDER.get(threshold, 1)


def console_for(tokens: Sequence[str], console: Console, run_id: str | None = None) -> Console:
    """The console sagaz-dbt's messages go to, for the user's dbt arguments."""
    threshold = console_level(tokens)
    if isinstance(console, JsonConsole):
        console.run_id = run_id or console.run_id
        console.threshold = threshold
        return console
    if log_format(tokens) == "json":
        return JsonConsole(file=console.file, run_id=run_id, threshold=threshold)
    if not use_colors(tokens):
        console.no_color = True
    if threshold in ("debug", "info") or isinstance(console, LevelConsole):
        return console
    return LevelConsole.like(console, threshold)


class LevelConsole(Console):
    """A text console that drops messages below dbt's console level.  A message's level is
    its colour (red: error, yellow: warn, else info), as under JSON; a table or another
    renderable goes with the message printed just before it."""

    threshold: str = "info"

    @classmethod
    def like(cls, console: Console, threshold: str) -> "LevelConsole":
        made = cls(
            file=console.file,
            width=console.width,
            no_color=console.no_color,
            highlight=False,
            soft_wrap=console.soft_wrap,
            force_terminal=console.is_terminal,
        )
        made.threshold = threshold
        made._last_level = "info"
        return made

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        texts = [o for o in objects if isinstance(o, str)]
        level = getattr(self, "_last_level", "info") if objects else "info"
        if texts:
            level = _level_of(texts[0])
            self._last_level = level
        if shows(self, level):
            super().print(*objects, **kwargs)


# -- JSON lines -------------------------------------------------------------------------------


def _dbt_invocation_id() -> str | None:
    """dbt's invocation id of the latest dbt command in this process (after the build: the
    build's, as in run_results.json).  None before dbt was imported."""
    module = sys.modules.get("dbt_common.invocation")
    if module is None:
        return None
    try:
        return str(module.get_invocation_id())
    except Exception:  # pragma: no cover - dbt internals moved
        return None


def envelope(event: EventType, msg: str, data: dict[str, Any], level: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "category": CATEGORY,
        "code": event.code,
        "extra": {},
        "level": level or event.level,
        "msg": msg,
        "name": event.name,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    invocation_id = _dbt_invocation_id()
    if invocation_id:
        info["invocation_id"] = invocation_id
    return {"data": data, "info": info}


class JsonConsole(Console):
    """A console whose every message is one JSON line in dbt's envelope."""

    def __init__(self, file: IO[str] | None = None, run_id: str | None = None, threshold: str = "info") -> None:
        super().__init__(file=file, no_color=True, highlight=False, soft_wrap=True, width=10_000)
        self.run_id = run_id
        self.threshold = threshold
        self._write_lock = threading.Lock()

    def emit(self, event: EventType, msg: str, level: str | None = None, **data: Any) -> None:
        if not shows(self, level or event.level):
            return
        payload = {"run_id": self.run_id, **data} if self.run_id else dict(data)
        line = json.dumps(envelope(event, msg, payload, level), default=str, sort_keys=True)
        with self._write_lock:
            self.file.write(line + "\n")
            self.file.flush()

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", **kwargs: Any) -> None:  # type: ignore[override]
        """Any plain `console.print` becomes a SagazMessage; the level follows its colour."""
        if not objects:
            return  # blank spacer lines mean nothing to a machine
        level = "info"
        parts: list[str] = []
        for obj in objects:
            if isinstance(obj, str):
                text = Text.from_markup(obj) if kwargs.get("markup", True) else Text(obj)
                level = _worst(level, _level_of(obj))
                parts.append(text.plain)
            else:  # a table or another renderable: its plain-text rendering
                buffer = io.StringIO()
                Console(file=buffer, no_color=True, width=160, highlight=False).print(obj)
                parts.append(buffer.getvalue().rstrip("\n"))
        msg = sep.join(parts).strip()
        if msg:
            self.emit(SAGAZ_MESSAGE, msg, level=level)


def _level_of(markup: str) -> str:
    head = markup.lstrip()[:24].lower()
    if head.startswith("[") and "red" in head.split("]", 1)[0]:
        return "error"
    if head.startswith("[") and "yellow" in head.split("]", 1)[0]:
        return "warn"
    return "info"


_ORDER = {"debug": 0, "info": 1, "warn": 2, "error": 3}


def _worst(a: str, b: str) -> str:
    return a if _ORDER[a] >= _ORDER[b] else b


# -- firing -----------------------------------------------------------------------------------


def is_json(out: Console) -> bool:
    return isinstance(out, JsonConsole)


def fire(out: Console, event: EventType, msg: str, markup: str | None = None, **data: Any) -> None:
    """Tell the user: `markup` (or `msg`) as text, or `msg` and `data` as one JSON line."""
    if isinstance(out, JsonConsole):
        out.emit(event, msg, **data)
    elif markup is not None:
        out.print(markup, highlight=False)
    else:
        out.print(msg, markup=False, highlight=False)


def live_terminal(out: Console) -> bool:
    """A person watching a terminal (not a CI log, a file or a pipe)."""
    return not is_json(out) and out.is_terminal and not os.environ.get("CI")


def progress(out: Console) -> Callable[..., None]:
    """The compensation's progress callback (`saga.Progress`, called with `done, total`; a
    phase is one transaction, so the saga reports once, when it committed): one live line on
    a terminal, plain lines in CI logs and files, CompensationProgress events under JSON."""
    live = live_terminal(out)
    state = {"width": 0}

    def show(done: int, total: int) -> None:
        if not shows(out, "info"):
            return
        line = f"sagaz-dbt: {done} of {total} relations restored"
        if is_json(out):
            fire(out, COMPENSATION_PROGRESS, line, done=done, total=total)
        elif live:
            padded = line.ljust(state["width"])
            state["width"] = len(line)
            out.file.write("\r" + padded + ("\n" if done >= total else ""))
            out.file.flush()
        else:
            out.print(line, markup=False, highlight=False)

    return show
