"""The audit service: the CLI and the TUI both call this, nothing else.

One pipeline: :func:`run` takes an :class:`AuditRequest` (what to audit, how to collect, how to
evaluate, where to record and which waivers) and runs collect -> evaluate -> waivers -> record ->
previous-run lookup. The pieces (:func:`evaluate_facts`, :func:`record_run`, ...) stay public for
tests and the lab; a face that audits calls :func:`run`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from offhost_audit import facts as facts_doc
from offhost_audit.engine import embedded, engine_module, pool
from offhost_audit.engine.metadata import enrich
from offhost_audit.engine.sources import dumps_compact
from offhost_audit.errors import EXIT_NOT_STORED, EXIT_OK, InputError
from offhost_audit.findings import Finding, jobs as jobs_stage, sorted_findings
from offhost_audit.perf import paused_gc
from offhost_audit.store.history_errors import HistoryError
from offhost_audit.store.runs import Run, utc_now_iso
from offhost_audit.text import redact_url

# NamedTuples, not dataclasses: `evaluate` must not import dataclasses (tests/test_startup.py).


class CollectOptions(NamedTuple):
    """How to collect (``collect`` and ``audit``'s options; see collect.collect_facts)."""

    concurrency: int = 16
    call_timeout: float = 60.0
    target_timeout: float = 300.0
    insecure: bool = False
    progress: Any = False  # False, True (a bar on stderr) or a callback (target, collector, status)
    resolver: Any = None  # a credentials.Resolver other than the default
    batch: bool = True  # one powershell.exe per host (False: one per script, --no-batch)


class EvaluateOptions(NamedTuple):
    """How to evaluate (see :func:`evaluate_facts`)."""

    profile: str | None = None
    opa_url: str | None = None
    engine: str = "embedded"
    jobs: int | None = None
    policies: Path | None = None
    progress: Callable[[int, int], None] | None = None
    reuse: bool = True  # False: --no-reuse (every part evaluated; the parts are still recorded)


class RecordOptions(NamedTuple):
    """Where the run goes and which waivers apply (see :func:`record_run`)."""

    db: Any = None  # a history path, an open history.History, or None for the default file
    save: bool = True  # False: --no-history (the run is built, not stored)
    keep_runs: int | None = None
    waivers: str | os.PathLike[str] | None = None  # a waivers file, or None for none
    previous: bool = False  # look up the previous run of the same estate and its trend (reports)


class AuditRequest(NamedTuple):
    """One audit: the facts come from ``inventory`` (collected), ``facts_path`` (a facts file) or
    ``facts`` (a document in hand, e.g. the TUI's merged re-collection), in that order."""

    inventory: Any = None  # an inventory.Inventory
    inventory_path: str | os.PathLike[str] | None = None  # the file it came from (the run's estate)
    estate: str | None = None  # the run's estate when not its inventory file (audit --backup-server)
    facts_path: str | os.PathLike[str] | None = None
    facts: dict[str, Any] | None = None
    facts_json: str | None = None  # ``facts`` as JSON text when the caller has it
    save_facts: str | os.PathLike[str] | None = None  # also write the collected facts
    collect: CollectOptions = CollectOptions()
    evaluate: EvaluateOptions = EvaluateOptions()
    record: RecordOptions = RecordOptions()


class AuditResult(NamedTuple):
    """What :func:`run` gives back. ``run``: a runs.Run (facts, findings with the waivers applied,
    meta; ``id`` None when not stored). ``stored``: EXIT_OK or EXIT_NOT_STORED (6). ``history_error``:
    why the history did not take the run, or why the previous run could not be read (the run is
    kept either way). ``previous``/``trend``: the previous run of the same estate and the estate's
    runs up to this one, when ``RecordOptions.previous`` asked and the run was stored. ``parts``:
    the evaluation's re-use of unchanged parts (an ``engine.reuse.Reuse``: parts, re-used, from
    which run, the evaluation's seconds), None when the run is not stored or evaluated on a server."""

    run: Any
    stored: int = EXIT_OK
    history_error: HistoryError | None = None
    previous: Any = None
    trend: list[Any] = []
    parts: Any = None


def run(request: AuditRequest) -> AuditResult:
    """Collect (or read), evaluate, apply the waivers, record, and look up the previous run.

    Errors before the run exists raise (InputError exit 2, AuditIncompleteError exit 3, ...); a
    history that cannot store the run does not: ``stored`` is EXIT_NOT_STORED and ``history_error``
    says why."""
    store, parts = _open_for_reuse(request)
    try:
        return _run(request, store, parts)
    finally:
        if store is not None and store is not request.record.db:
            store.close()


def _run(request: AuditRequest, store: Any, parts: Any) -> AuditResult:
    ev, rec = request.evaluate, request.record
    options = _evaluate_options(ev, parts)
    if request.inventory is not None:
        doc, found, warnings = _collect_and_evaluate(request.inventory, request.collect, ev, request.save_facts, parts)
    elif request.facts_path is not None:
        doc, found, warnings = evaluate_document(request.facts_path, **options)
    elif request.facts is not None:
        doc = request.facts
        found = evaluate_facts(doc, facts_json=request.facts_json, **options)
        warnings = run_warnings(doc)
    else:
        raise InputError("nothing to audit: give an inventory or a facts file")
    audited = record_run(
        doc,
        found,
        engine=ev.engine,
        profile=ev.profile,
        opa_url=ev.opa_url,
        policies=ev.policies,
        inventory_path=request.inventory_path,
        facts_path=request.facts_path,
        estate=request.estate,
        waivers=rec.waivers,
        warnings=warnings,
        save=False,
        parts=parts,
    )
    if not rec.save:
        return AuditResult(audited)
    if parts is not None and parts.store_error is not None:  # damaged file, or cannot open: never written to
        return AuditResult(audited, EXIT_NOT_STORED, parts.store_error, parts=parts)
    db = rec.db if store is None else store
    try:
        store_run(audited, db, keep_runs=rec.keep_runs)
    except HistoryError as e:
        return AuditResult(audited, EXIT_NOT_STORED, e, parts=parts)
    if not rec.previous:
        return AuditResult(audited, parts=parts)
    try:
        previous, trend = previous_runs(db, audited.id)
    except HistoryError as e:
        return AuditResult(audited, EXIT_OK, e, parts=parts)
    return AuditResult(audited, EXIT_OK, None, previous, trend, parts)


def _open_for_reuse(request: AuditRequest) -> tuple[Any, Any]:
    """For a run that is stored and evaluated here: (the history, open; None when there is none yet
    or it cannot be used) and the re-use of its unchanged parts (engine/reuse.py; with
    ``--no-reuse`` one that looks nothing up: the parts are still recorded). (None, None) otherwise.
    A history that is damaged (``PRAGMA quick_check``) or cannot be opened is never read: every
    part is evaluated, and the run is not stored (``parts.store_error`` says why). A stored record
    that does not read back only means nothing is re-used: the run is stored, as with a damaged
    previous run (tests/hardening/test_promise_history.py)."""
    ev, rec = request.evaluate, request.record
    if not rec.save or ev.opa_url:
        return None, None
    from offhost_audit.engine.reuse import Reuse
    from offhost_audit.store import history  # sqlite3: only when a run is stored (tests/test_startup.py)

    parts = Reuse()
    if not ev.reuse or (
        not isinstance(rec.db, history.History) and not Path(rec.db or history.default_db_path()).exists()
    ):
        return None, parts  # nothing to look up (the first run creates the file when it stores)
    try:
        store = rec.db if isinstance(rec.db, history.History) else history.History(rec.db)
        store.check()
    except HistoryError as e:
        parts.error = parts.store_error = e
        return None, parts
    estate = estate_key(request.inventory_path, request.facts_path)
    parts.lookup = lambda context: store.stored_parts(estate, context)
    return store, parts


def _evaluate_options(ev: EvaluateOptions, parts: Any) -> dict[str, Any]:
    """evaluate_facts' keyword arguments from the options (``reuse`` becomes ``parts``)."""
    options = ev._asdict()
    del options["reuse"]
    return {**options, "parts": parts}


def previous_runs(db: Any, run_id: int) -> tuple[Any, list[Any]]:
    """The previous run of run ``run_id``'s estate (or None) and the estate's runs up to it (the
    trend, newest 60): what the reports show as "since the previous run". ``db``: a path, an open
    ``history.History`` or None (the default file); never creates a database. HistoryError when
    the history cannot be read."""
    from offhost_audit.store import history  # sqlite3: only when a run is stored (tests/test_startup.py)

    store = db if isinstance(db, history.History) else history.History(db, create=False)
    try:
        return store.previous(run_id), store.runs(limit=60, estate=store.estate(run_id), up_to=run_id)
    finally:
        if store is not db:
            store.close()


def collect_checked(inventory: Any, options: CollectOptions) -> dict[str, Any]:
    """Collect and validate facts; AuditIncompleteError (exit 3) when no collector succeeded."""
    from offhost_audit import collect  # collectors pull in pywinrm/ldap3/impacket: not needed by evaluate

    doc = collect.collect_facts(inventory, **options._asdict())
    facts_doc.validate(doc, source="collected facts")
    collect.require_some_success(doc)
    return doc


def plan(inventory: Any, resolver: Any = None) -> dict[str, int]:
    """Collector runs per target that collecting ``inventory`` will make (for a progress display)."""
    from offhost_audit import collect  # as in collect_checked
    from offhost_audit.collectors import registry

    collectors = registry()
    return {t.name: collect.plan_size([t], collectors) for t in inventory.targets(resolver=resolver)}


def evaluate_facts(
    facts: dict[str, Any],
    *,
    profile: str | None = None,
    opa_url: str | None = None,
    facts_json: str | None = None,
    policies: Path | None = None,
    engine: str = "embedded",
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    parts: Any = None,
) -> list[Finding]:
    """Evaluate a validated facts document; findings carry title, remediation and doc_url.

    ``profile``: the guidance profile (default: the facts' vbr.profile, else the policies' default);
    an unknown name raises InputError. ``opa_url``: evaluate on that OPA server instead of the
    embedded engine. ``facts_json``: the facts as JSON text when the caller already has it (skips
    re-serialising a large document). ``policies``: a policy folder other than the shipped one.
    ``engine``: "embedded" (regorus, the default) or "opa" (OPA's Go engine in process, the
    reference; an InputError when its package is not installed). Ignored with ``opa_url``.
    ``jobs``: worker processes for the independent parts of the estate (None: the usable cores;
    1: one pass in this process; see engine/pool.py); with ``opa_url`` always one pass.
    ``progress``: called with (parts evaluated, parts) as the engine finishes each part.
    Raises PolicyError (exit 2) for policy errors and EngineUnavailableError (exit 3) when the
    OPA server does not answer. When the facts hold the backup server's jobs or volume settings,
    stage 2 (findings/jobs.py) judges them over stage 1's pair verdicts and its findings join the
    list (with ``opa_url`` on the embedded engine). ``parts``: an ``engine.reuse.Reuse``: stage 1's
    findings of the parts unchanged since a stored run are taken from it (ignored with ``opa_url``).
    """
    started, cpu = time.perf_counter(), time.process_time()
    compiled = engine_module(engine if not opa_url else "embedded").compiled(policies)
    name = embedded.resolve_profile(compiled, facts, profile)
    text = [facts_json]  # given to the engine once, then dropped (a large document's text)
    del facts_json

    def stage1(doc: dict[str, Any] | None) -> list[Finding]:
        """Stage 1's findings of ``doc`` (None: the facts), enriched."""
        if opa_url:
            from offhost_audit.engine import opa_server

            raw = opa_server.evaluate(opa_url, compiled.sources, facts, name)
        elif doc is None:
            raw = pool.evaluate(compiled, engine, facts, text.pop(), name, jobs=jobs, progress=progress)
        else:
            raw = pool.evaluate(compiled, engine, doc, None, name, jobs=jobs, progress=progress)
        with paused_gc():
            return enrich(raw, compiled.metadata, facts if doc is None else doc)

    if parts is None or opa_url:
        found = stage1(None)
    else:
        from offhost_audit.engine import reuse

        parts.context = reuse.context(compiled, engine, name)
        found = reuse.evaluate(reuse.Keyed(facts, parts.context), stage1, parts)
        if progress and parts.reused == len(parts.keys):
            progress(1, 1)  # every part re-used: nothing else says that evaluation finished
    text.clear()
    with paused_gc():
        stage2 = embedded.compiled(policies) if opa_url else compiled
        found = sorted_findings(found + job_findings(stage2, facts, found, name))
    if parts is not None:
        parts.seconds, parts.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return found


def job_findings(compiled: Any, facts: dict[str, Any], found: list[Finding], profile: str) -> list[Finding]:
    """Stage 2: the job rules over stage 1's pair verdicts (``found``: stage 1's enriched findings);
    nothing when the facts hold no jobs or volume settings from the backup server."""
    if not jobs_stage.wanted(facts):
        return []
    second = compiled.evaluate_json(
        dumps_compact(jobs_stage.stage_input(facts, found)), profile, embedded.JOB_FINDINGS_RULE
    )
    return enrich(second, compiled.metadata, facts)


def prepare_parallel() -> None:
    """Call before a full-screen UI takes the terminal: evaluation in worker processes then works
    from inside it (see engine/pool.py ``prepare``)."""
    pool.prepare()


def profiles(engine: str = "embedded") -> list[str]:
    """The guidance profiles the shipped policies define, sorted."""
    return sorted(engine_module(engine).compiled().profiles)


def check_profile(profile: str, engine: str = "embedded") -> None:
    """An InputError (exit 2) naming the valid profiles when ``profile`` is not one of them."""
    embedded.resolve_profile(engine_module(engine).compiled(), {}, profile)


def resolve_profile(facts: dict[str, Any], profile: str | None = None, engine: str = "embedded") -> str:
    """The profile an evaluation of these facts uses: ``profile``, else the facts' vbr.profile, else the default."""
    return embedded.resolve_profile(engine_module(engine).compiled(), facts, profile)


def rule_description(rule_id: str, engine: str = "embedded") -> str | None:
    """A rule's METADATA description, or None."""
    meta = engine_module(engine).compiled().metadata.get(rule_id)
    return meta.description if meta else None


def run_warnings(facts: dict[str, Any]) -> list[str]:
    """Run-level warnings recorded in the facts (e.g. TLS validation turned off)."""
    return [str(w) for w in (facts.get("warnings") or [])]


def evaluate_file(path: str | os.PathLike[str], **options: Any) -> tuple[list[Finding], list[str]]:
    """Read, validate and evaluate a facts file: (sorted findings, run warnings); ``options`` as
    for :func:`evaluate_document` (profile, opa_url, policies, engine, jobs).

    The file's text goes to the engine as is (no re-serialising of a large document). Validation
    runs first, in this process: running it in a forked child beside the engine was measured
    slower here (copy-on-write faults and a busy second core), see benchmarks/bench_evaluate.py.
    """
    _, found, warnings = evaluate_document(path, **options)
    return found, warnings


def evaluate_document(
    path: str | os.PathLike[str],
    *,
    profile: str | None = None,
    opa_url: str | None = None,
    policies: Path | None = None,
    engine: str = "embedded",
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    parts: Any = None,
) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """evaluate_file that also returns the facts document: (facts, sorted findings, run warnings)."""
    text = facts_doc.read_text(path)
    doc = facts_doc.loads(text, source=str(path))
    found = evaluate_facts(
        doc,
        profile=profile,
        opa_url=opa_url,
        facts_json=text,
        policies=policies,
        engine=engine,
        jobs=jobs,
        progress=progress,
        parts=parts,
    )
    return doc, found, run_warnings(doc)


def run_audit(
    inventory: Any,
    *,
    concurrency: int = 16,
    call_timeout: float = 60.0,
    target_timeout: float = 300.0,
    insecure: bool = False,
    progress: Any = False,
    resolver: Any = None,
    save_facts: str | os.PathLike[str] | None = None,
    **evaluate: Any,
) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """Collect, then evaluate (no waivers, no history): :func:`run`'s first two steps, for the lab
    and tests. The collection options as in :class:`CollectOptions`, ``evaluate`` as in
    :class:`EvaluateOptions`; returns the facts, the findings and the run warnings."""
    collect_options = CollectOptions(concurrency, call_timeout, target_timeout, insecure, progress, resolver)
    return _collect_and_evaluate(inventory, collect_options, EvaluateOptions(**evaluate), save_facts, None)


def _collect_and_evaluate(
    inventory: Any,
    options: CollectOptions,
    ev: EvaluateOptions,
    save_facts: str | os.PathLike[str] | None,
    parts: Any,
) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """Raises AuditIncompleteError (exit 3) when no collector succeeded anywhere; the facts are
    saved first when asked, so nothing is lost. The engine is checked before collecting (a missing
    OPA package fails fast)."""
    from offhost_audit import collect  # as in collect_checked

    engine_module(ev.engine).compiled()
    doc = collect.collect_facts(inventory, **options._asdict())
    if save_facts:
        facts_doc.save(save_facts, doc)
    else:
        facts_doc.validate(doc, source="collected facts")
    collect.require_some_success(doc)
    found = evaluate_facts(doc, **_evaluate_options(ev, parts))
    warnings = run_warnings(doc)
    failed = [e for e in doc.get("collection") or [] if e["status"] != "ok"]
    if failed:
        warnings.append(
            f"{len(failed)} collector run(s) failed or were skipped: their rules say unknown "
            "(see the facts' collection manifest, --save-facts)"
        )
    return doc, found, warnings


def scope_of(facts: dict[str, Any], rules: list[str]) -> dict[str, list[str]]:
    """The targets and rules a run covered (what `diff` needs to tell "fixed" from "not evaluated")."""
    names: set[str] = set()
    for h in facts.get("hosts") or []:
        names.add(str(h.get("name")))
    for c in facts.get("clusters") or []:
        names.add(str(c.get("name")))
        names.update(str(n) for n in c.get("nodes") or [])
    for s in facts.get("shares") or []:
        if s.get("server"):
            names.add(str(s["server"]))
    for p in (facts.get("vbr") or {}).get("proxies") or []:
        names.add(str(p.get("name")))
    for e in facts.get("collection") or []:
        names.add(str(e.get("target")))
    names.discard("None")
    return {"targets": sorted(names), "rules": sorted(rules)}


def estate_key(inventory_path: Any = None, facts_path: Any = None) -> str | None:
    """Which estate a run audits, for "the previous run of the same estate": the inventory file, else
    the facts file (absolute paths); None when the run came from neither."""
    if inventory_path:
        return f"inventory:{os.path.abspath(inventory_path)}"
    if facts_path:
        return f"facts:{os.path.abspath(facts_path)}"
    return None


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def no_waivers_summary() -> dict[str, Any]:
    """The waivers summary of a run without a waivers file (``waivers.apply(f, None).summary(None)``)."""
    return {
        "path": None,
        "count": 0,
        "applied": {},
        "expired": [],
        "unmatched": [],
        "expiring_soon": [],
        "problems": [],
        "ignored_broad": [],
        "broad": [],
    }


def record_run(
    facts: dict[str, Any],
    findings: list[Finding],
    *,
    engine: str = "embedded",
    profile: str | None = None,
    opa_url: str | None = None,
    policies: Path | None = None,
    inventory_path: str | os.PathLike[str] | None = None,
    facts_path: str | os.PathLike[str] | None = None,
    estate: str | None = None,
    waivers: str | os.PathLike[str] | None = None,
    warnings: list[str] | None = None,
    db: Any = None,
    save: bool = True,
    keep_runs: int | None = None,
    now: Any = None,
    parts: Any = None,
) -> Any:
    """Apply the waivers and record the run in the history: the one place a finished audit goes.

    ``findings`` as ``evaluate_facts`` returned them (in ``sorted_findings`` order); ``engine``: the engine's name as recorded
    ("embedded", "opa"; "opa-server" when ``opa_url``); ``waivers``: a waivers file or None (no
    waivers; a bad file raises InputError, exit 2); ``db``: a history path, an open
    ``history.History``, or None for the default file; ``estate``: the run's estate key when not
    its inventory or facts file (``backup-server:HOST`` for ``audit --backup-server``); ``save=False`` (``--no-history``) returns the
    run without storing it (``run.id`` None); ``keep_runs``: prune to the newest N after saving.
    Returns a ``Run`` (``offhost_audit.store.runs``) whose findings have the waivers applied and whose meta records time,
    hashes, profile, engine, scope, warnings and the waivers summary (expired, unmatched, expiring).
    ``parts``: the ``engine.reuse.Reuse`` the findings were evaluated with: meta ``reuse`` says how
    many parts there were and how many were re-used (from which run), and the parts are stored.
    """

    if keep_runs is not None and keep_runs < 1:
        raise InputError(f"--keep-runs must be 1 or more, not {keep_runs}")
    compiled = embedded.compiled(policies)
    bundle = "\n".join(f"{s.rel}\n{s.text}" for s in sorted(compiled.sources, key=lambda s: s.rel))
    if waivers:
        from offhost_audit.store import waivers as waivers_mod  # YAML: not on a lean evaluate (tests/test_startup.py)

        wfile = waivers_mod.load(waivers)
        applied = waivers_mod.apply(findings, wfile, now=now)
        found, waived = sorted_findings(applied.findings), applied.summary(wfile)  # a waived finding moves
        marked = applied.findings
        warnings = [*(warnings or []), *applied.warnings()]  # waivers ignored as too broad: every face shows them
    else:  # what apply() and summary() give for no waivers (tests/engine/test_policy_cache.py checks)
        found, waived, marked = list(findings), no_waivers_summary(), findings
    meta: dict[str, Any] = {
        "estate": estate or estate_key(inventory_path, facts_path),
        "inventory": str(inventory_path) if inventory_path else None,
        "inventory_hash": _sha256(Path(inventory_path).read_bytes()) if inventory_path else None,
        "facts_file": str(facts_path) if facts_path else None,
        "facts_generated_at": facts.get("generated_at"),
        "policy_bundle_hash": _sha256(bundle.encode("utf-8")),
        "profile": embedded.resolve_profile(compiled, facts, profile),
        "engine": "opa-server" if opa_url else engine,
        "opa_url": redact_url(opa_url) if opa_url else None,  # a password in it is never stored
        "warnings": list(warnings or []),
        "waivers": waived,
        **scope_of(facts, list(compiled.metadata)),
    }
    if parts is not None:
        meta["reuse"] = parts.summary()
    started = utc_now_iso()
    run = Run(id=None, started_at=started, meta=meta, facts=facts, findings=found)
    if parts is not None:  # apply() keeps the order (a marked finding is a copy): evaluated -> stored position
        at = {id(f): i for i, f in enumerate(found)}
        run.parts = parts.record({id(f): at[id(m)] for f, m in zip(findings, marked)})
    if save:
        store_run(run, db, keep_runs=keep_runs)
    return run


def store_run(run: Any, db: Any = None, *, keep_runs: int | None = None) -> None:
    """Save a run built by ``record_run(save=False)`` in the history (sets ``run.id``); then prune to
    the newest ``keep_runs``. ``db``: a path, an open ``history.History`` or None (the default file).
    A history that cannot be used raises ``history.HistoryError`` (one line; the run is still in hand)."""
    from offhost_audit.store import history  # sqlite3: not on a lean evaluate (tests/test_startup.py)

    store = db if isinstance(db, history.History) else history.History(db)
    try:
        run.id = store.save_run(run.meta, run.findings, facts=run.facts, started_at=run.started_at, parts=run.parts)
        if keep_runs is not None:
            store.prune(keep_runs)
    finally:
        if store is not db:
            store.close()
