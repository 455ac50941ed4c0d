"""How many macro calls each sagaz-dbt phase makes, and which macros: the per-relation part
of arm, release and rollback is Jinja, and dbt spends ~0.1 ms of context building on every
macro call (benchmarks/README.md), so the count per relation is what a cut has to lower.

    .venv/bin/python -m benchmarks.macro_calls build --project-dir P --profiles-dir P ...

Runs the sagaz-dbt command given (in this process, as the CLI would), counting dbt's
MacroGenerator calls made while each saga phase runs, and prints per phase: wall seconds,
macro calls, and the macros called at least --min times.  The counting wrapper adds its own
cost, so the seconds are for comparing counts' effect, not for the benchmark table.
"""

from __future__ import annotations

import collections
import sys
import time
from typing import Any, Callable

PHASES = ("arm", "release", "compensate")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    least = 20
    if args[:1] == ["--min"]:
        least, args = int(args[1]), args[2:]
    from dbt.clients import jinja as dbt_jinja

    from sagaz_dbt.cli.main import dispatch
    from sagaz_dbt.saga.saga import Saga

    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    seconds: dict[str, float] = {}
    active: list[str | None] = [None]
    original_call = dbt_jinja.MacroGenerator.__call__

    def counting(self: Any, *a: Any, **k: Any) -> Any:
        if active[0] is not None:
            counts[(active[0], self.macro.name)] += 1
        return original_call(self, *a, **k)

    def timed(phase: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *a: Any, **k: Any) -> Any:
            active[0], started = phase, time.perf_counter()
            try:
                return method(self, *a, **k)
            finally:
                active[0] = None
                seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - started

        return wrapper

    dbt_jinja.MacroGenerator.__call__ = counting  # type: ignore[method-assign]
    for phase in PHASES:
        setattr(Saga, phase, timed(phase, getattr(Saga, phase)))
    code = 2
    try:
        code = dispatch(args)
    finally:
        for phase in PHASES:
            if phase not in seconds:
                continue
            total = sum(n for (p, _), n in counts.items() if p == phase)
            print(f"{phase}: {seconds[phase]:.3f} s, {total} macro calls", file=sys.stderr)
            for (p, name), n in counts.most_common():
                if p == phase and n >= least:
                    print(f"    {n:6d}  {name}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
