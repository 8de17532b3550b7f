"""Evaluation in a process pool: the independent parts of an estate (engine/split.py) at once.

One engine pass per part, each in a worker process started with the ``spawn`` method on every
platform (what Windows has), so nothing rests on state inherited through fork: a worker gets the
policy folder, the engine's name, the profile and the part's facts as JSON text, compiles the
policies itself (once per worker) and returns the engine's findings as JSON text. The parts'
findings together are the single pass's (a rule's finding is computed inside one part);
:func:`offhost_audit.findings.sorted_findings` orders them the same either way.

With ``jobs`` 1 the parts are evaluated one after the other in this process: the same CPU time,
and the engine (which keeps the memory of its largest evaluation: regorus allocates with mimalloc)
holds a quarter of the estate at a time instead of all of it. One pass in this process when the
estate is small (``MIN_SPLIT_HOSTS``: below it the workers' start-up costs more than the split
saves, see benchmarks/bench_split.py) or does not split (see split.plan).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offhost_audit.engine import split
from offhost_audit.engine.embedded import findings_list
from offhost_audit.engine.sources import dumps_compact
from offhost_audit.errors import AuditError, EngineUnavailableError, PolicyError

LAST_TIMINGS: list[dict[str, float]] = []  # the last pooled evaluation's per-part timings (benchmarks)
MIN_SPLIT_HOSTS = 2000  # measured: see the README's Performance section
PARTS_PER_JOB = 2  # more parts than workers evens out parts of different sizes
SEQUENTIAL_PARTS = 4  # --jobs 1: the engine holds one part at a time (it keeps its peak memory: mimalloc)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # Windows, macOS
        return max(1, os.cpu_count() or 1)


def evaluate(
    compiled: Any,
    engine: str,
    facts: dict[str, Any],
    facts_json: str | None,
    profile: str,
    *,
    jobs: int | None = None,
    min_hosts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """The engine's findings for the facts: in parallel parts when that pays, else one pass here.

    ``compiled``: the engine's compiled policies (``engine_module(engine).compiled(root)``);
    ``facts_json``: the facts as JSON text when the caller has it; ``jobs``: worker processes
    (None: the usable cores); ``min_hosts``: split only estates of at least this many hosts
    (None: MIN_SPLIT_HOSTS); ``progress``: called with (parts done, parts) as parts finish (a
    single pass calls it only at its end).
    """
    jobs = usable_cores() if jobs is None else jobs
    min_hosts = MIN_SPLIT_HOSTS if min_hosts is None else min_hosts
    parts = split.plan(facts, max(jobs * PARTS_PER_JOB, SEQUENTIAL_PARTS), min_hosts=min_hosts)
    LAST_TIMINGS.clear()
    tick = progress or (lambda done, total: None)
    if parts is None:
        one = compiled.evaluate_json(facts_json if facts_json is not None else dumps_compact(facts), profile)
        tick(1, 1)
        return one
    if jobs == 1:  # one part after the other in this process: the same CPU, a quarter of the engine's memory
        del facts_json
        found: list[dict[str, Any]] = []
        for n, part in enumerate(parts, 1):
            found.extend(compiled.evaluate_json(dumps_compact(part), profile))
            tick(n, len(parts))
        return found
    import logging  # like the pool's imports: only when splitting
    from concurrent.futures import ProcessPoolExecutor  # only when splitting: ~40 ms of imports
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    log = logging.getLogger(__name__)

    t0 = time.time()
    root = str(compiled.root)
    texts = [dumps_compact(p) for p in parts]
    del parts
    sizes = [len(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -sizes[i])  # the largest first
    out: list[list[dict[str, Any]] | None] = [None] * len(texts)
    timings: list[dict[str, float]] = []
    with ProcessPoolExecutor(max_workers=min(jobs, len(texts)), mp_context=get_context("spawn")) as ex:
        futures = {i: ex.submit(evaluate_part, engine, root, profile, texts[i]) for i in order}
        del texts
        for i in order:
            try:
                ok, payload, timing = futures.pop(i).result()
            except BrokenProcessPool as e:
                raise EngineUnavailableError(
                    f"an evaluation worker process stopped abruptly ({e}); --jobs 1 evaluates in one process"
                ) from None
            if not ok:
                raise PolicyError(payload)
            out[i] = findings_list(payload)
            timings.append(timing)
            tick(len(timings), len(out))
            log.debug(
                "part %d/%d: %.2f s CPU in worker %d, %.2f-%.2f s",
                i + 1,
                len(out),
                timing["cpu"],
                timing["pid"],
                timing["start"] - t0,
                timing["end"] - t0,
            )
    LAST_TIMINGS[:] = timings
    return [f for found in out for f in found or ()]


def prepare() -> None:
    """Start multiprocessing's resource tracker now, while ``sys.stderr`` is still a file.

    A full-screen UI (Textual) replaces ``sys.stderr`` with an object whose ``fileno()`` is -1; the
    tracker, started on the first pool, passes that descriptor on and fails ("bad value(s) in
    fds_to_keep"). Started before the UI takes the terminal, later pools reuse it. About 30 ms.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


_compiled_here: dict[tuple[str, str], Any] = {}


def evaluate_part(engine: str, root: str, profile: str, facts_json: str) -> tuple[bool, str, dict[str, float]]:
    """In a worker: (True, the engine's findings as JSON text, timings) or (False, the error message, timings).

    timings: ``start``/``end`` (time.time()) and ``cpu`` (this process's CPU seconds for the part,
    policy compilation included on a worker's first part), for the debug log and the benchmark.
    """
    start, cpu = time.time(), time.process_time()
    timing = lambda: {"start": start, "end": time.time(), "cpu": time.process_time() - cpu, "pid": os.getpid()}  # noqa: E731
    try:
        key = (engine, root)
        compiled = _compiled_here.get(key)
        if compiled is None:
            from offhost_audit.engine import engine_module

            compiled = _compiled_here[key] = engine_module(engine).compiled(Path(root))
        out = compiled.evaluate_json_text(facts_json, profile)
        return True, out, timing()
    except AuditError as e:
        return False, str(e), timing()
