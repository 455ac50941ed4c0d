"""Counts and times every dbt macro call and sagaz-dbt's phases, in a `sagaz-dbt build` (or
`dbt build`) started with this folder on PYTHONPATH (Python imports sitecustomize at start):

    PYTHONPATH=benchmarks/counting SAGAZ_BENCH_COUNT_MACROS=/tmp/calls SAGAZ_BENCH_PHASE_CPU=/tmp/phases \
        .venv/bin/sagaz-dbt build --project-dir ... --select ...

writes /tmp/calls.<pid> (calls, inclusive seconds, macro name; `TOP:` = called by the adapter or
sagaz-dbt's Python) and /tmp/phases.<pid> (thread CPU, process CPU and wall seconds of
Saga.arm / release / compensate and of the dbt build).  With both set, the calls file also
has a line `<phase>/<macro>` for the calls made while that phase ran (calls only, no time):
what each phase's per-relation Jinja costs in macro calls.  Inclusive times include the
counter's own overhead; the call counts are exact.  Used for benchmarks/README.md's
attribution; never imported by sagaz-dbt.
"""
import atexit, collections, os, time, threading
current_phase = [None]  # the saga phase running now (set by the phase wrappers below)
if os.environ.get("SAGAZ_BENCH_COUNT_MACROS"):
    from dbt.clients import jinja as dj
    counts = collections.Counter(); times = collections.Counter()
    orig = dj.MacroGenerator.__call__
    local = threading.local()
    def patched(self, *a, **k):
        name = self.macro.name
        counts[name] += 1
        if current_phase[0] is not None:
            counts[f"{current_phase[0]}/{name}"] += 1
        t0 = time.perf_counter()
        try:
            return orig(self, *a, **k)
        finally:
            times[name] += time.perf_counter() - t0
    dj.MacroGenerator.__call__ = patched
    from dbt_common.clients import jinja as cj
    orig2 = cj.CallableMacroGenerator.__call__
    def patched2(self, *a, **k):
        counts["TOP:" + self.macro.name] += 1
        t0 = time.perf_counter()
        try:
            return orig2(self, *a, **k)
        finally:
            times["TOP:" + self.macro.name] += time.perf_counter() - t0
    cj.CallableMacroGenerator.__call__ = patched2
    @atexit.register
    def dump():
        if not counts: return
        with open(os.environ["SAGAZ_BENCH_COUNT_MACROS"] + f".{os.getpid()}", "w") as fh:
            for n, c in counts.most_common():
                fh.write(f"{c:8d} {times[n]:8.3f} {n}\n")

if os.environ.get("SAGAZ_BENCH_PHASE_CPU"):
    import importlib, json as _json
    phase_cpu = {}
    def _wrap(modname, clsname, meth):
        def install():
            try:
                mod = importlib.import_module(modname)
            except Exception:
                return False
            cls = getattr(mod, clsname, None)
            if cls is None or not hasattr(cls, meth):
                return False
            orig = getattr(cls, meth)
            def wrapped(self, *a, **k):
                t0 = time.thread_time(); p0 = time.process_time(); w0 = time.perf_counter()
                if clsname == "Saga":
                    current_phase[0] = meth
                try:
                    return orig(self, *a, **k)
                finally:
                    if clsname == "Saga":
                        current_phase[0] = None
                    phase_cpu[meth] = {"thread_cpu": round(time.thread_time() - t0, 3), "process_cpu": round(time.process_time() - p0, 3), "wall": round(time.perf_counter() - w0, 3)}
            setattr(cls, meth, wrapped)
            return True
        return install
    installs = [_wrap(m, c, f) for m, c, f in [
        ("sagaz_dbt.saga.saga", "Saga", "arm"), ("sagaz_dbt.saga.saga", "Saga", "release"), ("sagaz_dbt.saga.saga", "Saga", "compensate"),
        ("sagaz_dbt.saga", "Saga", "arm"), ("sagaz_dbt.saga", "Saga", "release"), ("sagaz_dbt.saga", "Saga", "compensate"),
        ("sagaz_dbt.dbt.session", "DbtSession", "build"), ("sagaz_dbt.runner", "DbtSession", "build")]]
    for i in installs:
        i()
    @atexit.register
    def _dump_phase():
        if phase_cpu:
            with open(os.environ["SAGAZ_BENCH_PHASE_CPU"] + f".{os.getpid()}", "w") as fh:
                _json.dump(phase_cpu, fh)
