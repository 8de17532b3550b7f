"""Re-use of unchanged parts: stage 1's findings of a part whose inputs did not change since a
stored run are taken from that run instead of being evaluated again.

A part is a connected component of the split (engine/split.py ``partition``), not a worker batch;
an estate that does not split is one part. A part's key is a SHA-256 over a canonical encoding
(JSON with sorted keys) of exactly what its findings are a function of:

- the context (:func:`context`): the policy bundle (``policy_cache.key``: every source's path and
  text, the package version, the engine and its build), the engine's name, the profile, the facts
  schema version, the findings format (:data:`FINDINGS_FORMAT`), the source of the code that
  completes the engine's findings and compares names (:data:`_FINDINGS_CODE`) and the key format;
- the global sections every part carries (``vbr`` but for the jobs and per-host volume settings,
  which only stage 2 reads; ``domains``, ``schema_version``...; whether the estate has shares at
  all, which a rule reads);
- the part's own entries (assignments, hosts, clusters, VMs, shares, computer accounts), in
  document order;
- each collector run's target, collector, status and error text: a run on a machine or cluster of
  the part in the part's key, a run on anything else (the backup server, a domain controller) in
  every part's key.

Never in it: ``generated_at``, ``generator``, the run warnings or a collector run's ``duration_ms``
(no rule reads them; the parts evaluated here are given without them, so a part's findings come
from exactly what its key covers). The findings of the parts evaluated in a run are found by their
subject (proxy, host, server, cluster, share); when one cannot be placed in exactly one part, no
evaluated part's key is recorded (the next run evaluates them again). Stage 2 (the job rules) is
not a part: it always runs, over all of stage 1's findings.

Any doubt means evaluating: a key not found, another context (a policy edit, another profile or
engine, a new release), a history that cannot be read. The history (store/history.py) keeps each
run's keys and, per part, the positions of its findings in the run's findings (no second copy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

from offhost_audit import __version__
from offhost_audit.engine import engine_module, policy_cache, split
from offhost_audit.facts import SCHEMA_VERSION
from offhost_audit.findings import Finding
from offhost_audit.perf import json_dumps

KEY_FORMAT = 1  # what goes into a key and how: a change makes every stored key miss
FINDINGS_FORMAT = 1  # the findings' shape: bump when it changes
# what turns the engine's findings into stored ones (enrich: METADATA, unknowns' evidence and advice)
# and how names are compared: their source is in the context, so an edit makes every key miss
_FINDINGS_CODE = ("engine/metadata.py", "findings/unknowns.py", "collector_specs.py", "names.py", "engine/split.py")
UNKEYED = ("generated_at", "generator", "warnings", "collection")  # top-level sections outside the global digest
STAGE2_ONLY = ("jobs", "hyperv_hosts")  # vbr's sections only the job rules read (tests/engine/test_reuse.py checks)
_SUBJECT = (("proxy", "h"), ("host", "h"), ("server", "h"), ("cluster", "c"), ("share", "s"))

Previous = tuple[int, dict[str, list[Finding]]]  # (run id, stage 1 findings by part key)


class Reuse:
    """One evaluation's re-use: in, how to find a stored run's parts (``lookup``: context -> Previous
    or None; None: evaluate every part, ``--no-reuse``); out, this run's parts and what was re-used.

    After the evaluation: ``context``, ``keys`` (every part's), ``findings`` (per part, its stage 1
    findings: the objects in the returned list; None for a part whose findings could not be told
    apart), ``reused`` (parts taken from run ``from_run``), ``seconds`` and ``cpu_seconds`` (the
    evaluation phase: wall time, and this process's CPU time, without worker processes'), ``error`` (why the history could not be read: every part was evaluated)."""

    def __init__(self, lookup: Callable[[str], Previous | None] | None = None) -> None:
        self.lookup = lookup
        self.context = ""
        self.keys: list[str] = []
        self.findings: list[list[Finding] | None] = []
        self.reused = 0
        self.from_run: int | None = None
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.error: Exception | None = None
        self.store_error: Exception | None = None  # the history file itself could not be used: not stored

    def summary(self) -> dict[str, Any]:
        """What the run records (meta ``reuse``) and the faces show."""
        return {"parts": len(self.keys), "reused": self.reused, "from_run": self.from_run}

    def record(self, position: dict[int, int]) -> dict[str, Any] | None:
        """The parts to store with the run: keys and, per part, its findings' positions in the stored
        findings (``position``: id(finding as evaluated) -> its index there); None when none can be."""
        keys, where = [], []
        for key, found in zip(self.keys, self.findings):
            if found is None:
                continue
            at = [position.get(id(f)) for f in found]
            if any(p is None for p in at):
                continue
            keys.append(key)
            where.append(at)
        return {"context": self.context, "keys": keys, "findings": where} if keys else None


def context(compiled: Any, engine: str, profile: str) -> str:
    """The digest of everything outside the facts that a part's findings depend on."""
    bundle = policy_cache.key(compiled.sources, engine_module(engine).engine_tag())
    text = f"offhost-audit parts {KEY_FORMAT} {__version__} findings {FINDINGS_FORMAT} {_code()} facts {SCHEMA_VERSION}"
    return _sha(f"{text}\nengine {engine}\nprofile {profile}\nbundle {bundle}".encode())


@cache
def _code() -> str:
    """The digest of the code in _FINDINGS_CODE ("?" when a file cannot be read: the release alone then)."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _FINDINGS_CODE:
        try:
            h.update(rel.encode() + b"\0" + (package / rel).read_bytes() + b"\0")
        except OSError:
            return "?"
    return h.hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Keyed:
    """The parts of a facts document and their keys."""

    def __init__(self, doc: dict[str, Any], ctx: str) -> None:
        self.doc = doc
        self.partition = split.partition(doc)
        parts = self.partition.parts if self.partition is not None else []
        self.parts: list[dict[str, list[int]]] | None = parts if len(parts) > 1 else None
        n = len(self.parts) if self.parts is not None else 1
        self.runs = [
            {k: e.get(k) for k in ("target", "collector", "status", "error")} for e in _seq(doc.get("collection"))
        ]
        self.run_parts = [self._owners(e["target"]) for e in self.runs]  # empty: every part's
        mine: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for e, owners in zip(self.runs, self.run_parts):
            for p in owners:
                mine[p].append(e)
        globals_ = {k: v for k, v in doc.items() if k not in split.SPLIT_KEYS and k not in UNKEYED}
        if isinstance(doc.get("vbr"), dict):
            globals_["vbr"] = _stage1_vbr(doc["vbr"])
        # what every part sees of the split lists: absent, null or a list (and whether the estate
        # has shares at all, which a rule reads: a part without shares is given the first one)
        globals_["split lists"] = {
            k: "list" if isinstance(doc[k], list) else doc[k] for k in split.SPLIT_KEYS if k in doc
        }
        globals_["has shares"] = bool(doc.get("shares"))
        shared = [e for e, owners in zip(self.runs, self.run_parts) if not owners]
        shared_digest = _sha(json_dumps([globals_, shared], sort_keys=True))
        self.keys = [
            _sha(f"{ctx}\n{shared_digest}\n".encode() + json_dumps([self._entries(p), mine[p]], sort_keys=True))
            for p in range(n)
        ]

    def _owners(self, target: Any) -> set[int]:
        """The parts a collector run on ``target`` belongs to (its machine's or cluster's); none: every part's."""
        if self.parts is None or self.partition is None:
            return set()
        return {p for p in (self.partition.owner("h", target), self.partition.owner("c", target)) if p is not None}

    def _entries(self, p: int) -> dict[str, Any]:
        doc = self.doc
        if self.parts is None:
            return {k: doc[k] for k in split.SPLIT_KEYS if k in doc}
        return {k: [doc[k][i] for i in idx] for k, idx in self.parts[p].items()}

    def document(self, which: list[int]) -> dict[str, Any]:
        """The facts document of these parts (what their keys cover), to evaluate."""
        if self.parts is None:
            part = dict(self.doc)
        else:
            part = split.document(self.doc, [self.parts[p] for p in which])
        chosen = set(which)
        part["collection"] = [e for e, owners in zip(self.runs, self.run_parts) if not owners or owners & chosen]
        for k in ("generated_at", "generator", "warnings"):
            part.pop(k, None)
        if isinstance(part.get("vbr"), dict):
            part["vbr"] = _stage1_vbr(part["vbr"])
        return part

    def owner(self, f: Finding) -> int | None:
        """The part whose facts gave this finding: the one part its subject's names belong to, else None."""
        if self.parts is None:
            return 0
        assert self.partition is not None
        subject = f.get("subject") or {}
        found = {self.partition.owner(kind, subject.get(field)) for field, kind in _SUBJECT if subject.get(field)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None


def evaluate(
    keyed: Keyed, evaluate_parts: Callable[[dict[str, Any] | None], list[Finding]], reuse: Reuse
) -> list[Finding]:
    """Stage 1's findings (enriched) of the keyed document: the stored findings of unchanged parts,
    ``evaluate_parts(document)`` for the rest (None: the whole facts document, as without re-use).
    Fills ``reuse``."""
    reuse.keys = keyed.keys
    previous = None
    if reuse.lookup is not None:
        try:
            previous = reuse.lookup(reuse.context)
        except Exception as e:  # noqa: BLE001 - a history that cannot be read: evaluate everything
            reuse.error = e
    stored = previous[1] if previous else {}
    hit = [p for p, k in enumerate(keyed.keys) if k in stored]
    todo = [p for p, k in enumerate(keyed.keys) if k not in stored]
    reuse.findings = [None] * len(keyed.keys)
    found: list[Finding] = []
    for p in hit:
        mine = list(stored[keyed.keys[p]])
        reuse.findings[p] = mine
        found += mine
    if hit:
        assert previous is not None
        reuse.reused, reuse.from_run = len(hit), previous[0]
    if todo:
        fresh = evaluate_parts(keyed.document(todo) if hit else None)
        by_part: dict[int, list[Finding]] = {p: [] for p in todo}
        placed = True
        for f in fresh:
            owner = keyed.owner(f)
            if owner is None or owner not in by_part:
                placed = False
                break
            by_part[owner].append(f)
        if placed:
            for p in todo:
                reuse.findings[p] = by_part[p]
        found += fresh
    return found


def _stage1_vbr(vbr: dict[str, Any]) -> dict[str, Any]:
    """The backup server's section as stage 1 reads it: without the jobs and per-host volume settings,
    which only stage 2 (always evaluated again) reads, so that a changed job changes no part's key."""
    return {k: v for k, v in vbr.items() if k not in STAGE2_ONLY}


def _seq(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []
