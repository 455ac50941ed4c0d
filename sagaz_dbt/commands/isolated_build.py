"""`sagaz-dbt build --isolation publish`: the run's phases in isolation mode.

The default mode (commands/build.py) lets dbt write production and restores it after a failure;
this one lets dbt write shadows and publishes them only after a success (isolation.py
holds the mechanics).  It shares the default mode's set-up (parse, selection, lock,
recovery of older runs), journal and report, and changes nothing on the default path.

    setup     parse, select, refuse what is not supported (exit 2, nothing changed)
    arming    journal the run and every shadow's name (one transaction)
    building  clone continued models into their shadows; ONE dbt invocation on the shadows
    publish   dbt succeeded: every shadow takes its production name (one transaction)
    discard   dbt failed: the shadows are dropped (the ordinary rollback of created relations)
"""

from __future__ import annotations

import os
import uuid
from typing import Sequence

from rich.console import Console
from rich.markup import escape

from sagaz_dbt.outputs import events, run_outputs as outputs, report

from sagaz_dbt.saga import isolation

from sagaz_dbt.dbt import selection

from sagaz_dbt.runtime import waits
from sagaz_dbt.saga.databases import refuse_other_databases
from sagaz_dbt.errors import SagazError, TornWarehouseError
from sagaz_dbt.runtime.heap import long_lived_frozen
from sagaz_dbt.runtime.faults import checkpoint
from sagaz_dbt.saga.hooks import inject as inject_hooks
from sagaz_dbt.runtime.interrupts import interrupts_deferred, sigterm_as_interrupt
from sagaz_dbt.runtime.lock import LockLostError
from sagaz_dbt.dbt.options import split_args
from sagaz_dbt.dbt.workers import stop_before_rollback
from sagaz_dbt.saga.plan import make_plan, plan_for_command
from sagaz_dbt.dbt.session import release_connections
from sagaz_dbt.saga.saga import Saga, SagaOutcome, StepOutcome
from sagaz_dbt.commands.build import BuildResult, _failure_message, _lost, _run_record, _unexpected
from sagaz_dbt.commands.build import _interrupted as default_interrupted
from sagaz_dbt.commands.history import drop_old_backups
from sagaz_dbt.commands.recover import RECOVER_LATER, recover_before_build
from sagaz_dbt.commands.target import JOURNAL_ENV, one_command, open_target, still_owner
from sagaz_dbt.vocabulary import Phase, RunOutcome, StepAction


def build(args: Sequence[str], *, command: str = "build", console: Console | None = None) -> BuildResult:
    run_id = uuid.uuid4().hex
    out = events.console_for(args, console or report.console(), run_id=run_id)
    emitters = outputs.RunOutputs(args, out, run_id, command)
    rpt = report.new_report(run_id, [command, *args])
    clock = report.PhaseClock(rpt.timings)
    result = BuildResult(run_id=run_id, exit_code=2, status=RunOutcome.NOT_STARTED, report=rpt)
    phase = Phase.SETUP
    target = None
    with one_command(run_id), sigterm_as_interrupt(), long_lived_frozen():
        try:
            split = split_args(args)
            os.environ[JOURNAL_ENV] = split.options.journal_schema
            target = open_target(command, split.dbt_args, split.options)
            clock.lap("parse")
            selected = target.session.select()
            manifest = target.session.manifest
            plan = plan_for_command(command, make_plan(manifest, selected, target.run_context()))
            isolation.refuse_unsupported(
                command, split.options, dict(target.args.params), plan, target.warehouse.engine, manifest
            )
            refuse_other_databases(plan, target.journal.database, target.warehouse.engine)
            clock.lap("select")
            with target.locked(out):
                phase = Phase.RECOVERING
                result.recovered = recover_before_build(target, out, run_id)
                rpt.recovered_runs = [r.run_id for r in result.recovered]
                phase = Phase.SETUP
                clock.lap("lock")
                saga = Saga(target.warehouse, target.journal, run_id, owner=target.ensure_owner(out))
                saga.guard = lambda: still_owner(target, saga, out)
                phase = Phase.ARMING
                run = _run_record(target, run_id, command, args)
                shadows = waits.retry(
                    f"arming run {run_id}",
                    lambda: isolation.arm(saga, run, plan, manifest, target.args.full_refresh),
                    target.warehouse.waits,
                    out.print,
                    then="No relation was changed: build again once the blocking session is gone.",
                )
                records = [s.record for s in shadows]
                target.lock.start_heartbeat(target.journal.schema, run_id, saga.owner.token)
                out.print(
                    f"[dim]sagaz-dbt: run {run_id} isolated: {len(shadows)} relation(s) build in shadows; "
                    "production changes only if the whole build passes[/dim]"
                )
                clock.lap("arm")
                phase = Phase.BUILDING
                isolation.clone(saga, shadows, lambda msg: out.print(f"sagaz-dbt: {escape(msg)}"))
                clock.lap("clone")
                aliases = isolation.ShadowAliases(manifest, shadows, target.warehouse)
                # No hook of sagaz-dbt's own in isolation mode; this hides the package's guard hook
                # node, as the default mode does, so the output and run_results.json are plain dbt's.
                hooks = inject_hooks(manifest, [])
                try:
                    dbt = isolation.build(target.session, aliases, [hooks.on_event, *emitters.dbt_callbacks()])
                finally:
                    hooks.remove()
                checkpoint("built")
                clock.lap("build")
                result.dbt = dbt
                rpt.record_build(dbt)
                result.exit_code = dbt.exit_code
                failure = _failure_message(dbt) if dbt.exit_code != 0 else None
                if failure is None:
                    phase = Phase.RELEASING
                    still_owner(target, saga, out)
                    try:
                        with interrupts_deferred(out.print):
                            published = waits.retry(
                                f"publishing run {run_id}",
                                lambda: isolation.publish(saga, shadows, keep_backups=split.options.keep_backups > 0),
                                target.warehouse.waits,
                                out.print,
                                then=RECOVER_LATER,
                            )
                    except LockLostError:
                        raise
                    except SagazError as exc:
                        # The publish is one transaction: it rolled back whole.  Nothing was published.
                        failure = f"the publish failed ({exc})"
                        result.error, result.exit_code = SagazError(f"{failure}; nothing was published"), 2
                    else:
                        drop_old_backups(target, keep=split.options.keep_backups, out=out)
                        if split.options.keep_backups > 0:
                            out.print(
                                f"sagaz-dbt: the pre-run relations are kept: `sagaz-dbt rollback {run_id}` undoes this run."
                            )
                        clock.lap("publish")
                        rpt.timings["publish_transaction"] = round(published.seconds, 4)
                        result.saga, result.status = published.saga, RunOutcome.COMMITTED
                if failure is not None:
                    phase = Phase.COMPENSATING
                    if dbt.exception is not None:  # no worker of dbt's may write once shadows go
                        stop_before_rollback(dbt.workers, dbt.exception, target.warehouse.adapter, run_id)
                    still_owner(target, saga, out)
                    with interrupts_deferred(out.print):
                        result.saga = waits.retry(
                            f"discarding the shadows of run {run_id}",
                            lambda: saga.compensate(records, touched=None, message=failure),
                            target.warehouse.waits,
                            out.print,
                            then=RECOVER_LATER,
                        )
                    clock.lap("discard")
                    result.status = RunOutcome.ROLLED_BACK
                    out.print("sagaz-dbt: nothing was published: production was never written, and the shadows are dropped.")
                    if target.args.params.get("write_json", True) is not False:
                        selection.remember_rollback(target.target_dir)
                # The caller's BuildResult and the report both name production relations (what was
                # published or left alone), never the shadows.
                result.saga = _as_production(result.saga, shadows)
                rpt.add_saga(result.saga, {u: o.status for u, o in dbt.tracker.outcomes.items()})
        except TornWarehouseError as exc:
            result.error, result.status, result.exit_code = exc, RunOutcome.TORN, exc.exit_code
        except LockLostError as exc:
            result.error, result.exit_code = _lost(exc, phase, run_id), 2
            result.status = RunOutcome.TORN if phase.leaves_run_unfinished else result.status
        except SagazError as exc:
            result.error, result.exit_code = exc, exc.exit_code
            result.status = RunOutcome.TORN if phase.leaves_run_unfinished else result.status
        except Exception as exc:
            result.error, result.exit_code = _unexpected(exc, phase, run_id), 2
            result.status = RunOutcome.TORN if phase.leaves_run_unfinished else result.status
        except KeyboardInterrupt:
            result.error, result.exit_code = _interrupted(phase, run_id), 2
            result.status = RunOutcome.TORN if phase.leaves_run_unfinished else result.status
        finally:
            release_connections()
    rpt.status, rpt.exit_code = result.status, result.exit_code
    rpt.message = str(result.error) if result.error is not None else ""
    emitters.finished(result)
    clock.total()
    if target is not None and target.args.params.get("write_json", True) is not False:
        result.report_path = rpt.write(target.target_dir)
    report.print_summary(rpt, out)
    if result.error is not None and result.status != RunOutcome.TORN:
        out.print(f"[red]sagaz-dbt: {escape(str(result.error))}[/red]")
        if phase.changed_nothing:
            out.print("No relation was changed.")
    return result


def _as_production(outcome: SagaOutcome, shadows: list[isolation.Shadow]) -> SagaOutcome:
    """The report names the production relations (what was published or left alone)."""
    import dataclasses

    by_seq = {s.record.seq: s for s in shadows}
    steps = []
    for step in outcome.steps:
        shadow = by_seq.get(step.step.seq)
        if shadow is None:
            steps.append(step)
            continue
        record = dataclasses.replace(
            step.step, identifier=shadow.production, pre_type=shadow.record.detail.production_type
        )
        # A failed run drops the shadow: the production relation itself was never touched.
        action = StepAction.UNTOUCHED.value if step.action == StepAction.DROPPED.value else step.action
        steps.append(StepOutcome(record, action))
    return SagaOutcome(outcome.run_id, outcome.status, steps, list(outcome.warnings))


def _interrupted(phase: Phase, run_id: str) -> SagazError:
    """What an interrupt outside dbt leaves in isolation mode: production untouched unless
    the publish committed (it runs with interrupts deferred), shadows for `recover`."""
    if not phase.leaves_run_unfinished:
        return default_interrupted(phase, run_id)
    return TornWarehouseError(
        f"run {run_id} was interrupted before it published: production was not changed. Its shadow relations "
        "are left until `sagaz-dbt recover` with the same flags (or the next `sagaz-dbt build`) drops them"
    )
