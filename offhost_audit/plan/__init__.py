"""``offhost-audit plan``: the fewest proxies that serve every source, from a run's pair verdicts.

**Sources** are the sources of the pair matrix (findings/verdicts.py): Hyper-V clusters (their CSVs
included: the CSV rules judge the proxy x cluster pair), Hyper-V hosts, and SMB shares. When the
backup server's jobs were read (``vbr.jobs``), only the sources its enabled off-host jobs use are
planned; without them, every source of the matrix.

**Eligible**: a proxy may serve a source when their pair's verdict is *ready* or *ready with
warnings* (warnings do not block off-host processing; they are listed), and its capacity takes the
source's load. A pair without a verdict (the proxy does not serve that source in the facts) is not
eligible: a missing verdict is never a pass.

**Load**: a source's load is the number of VM disks its off-host jobs process at once, each disk one
task: every disk of the VMs those jobs back up (every VM when the jobs were not read), counted at the
source that holds it: a CSV disk at its cluster, an SMB disk at its share, another disk at its
standalone host (a cluster node's local disk is processed on-host, OHP-031). The jobs are assumed
to run in one window (the worst case). VMs whose disks were not collected make the load unknown:
counted as what is known, with a warning.

**Capacity**: a proxy's max tasks (the backup server's value, else the inventory's); unknown
capacity takes no load (never a pass). A ``--candidate`` gets VBR's default for a new proxy: its
CPU cores.

**Redundancy K**: each source gets K different eligible proxies, and each of them must take the
source's whole load alone (DECISIONS.md): the load is reserved on all K. The optimisation itself
is in :mod:`offhost_audit.plan.solver`.

**What-ifs** (:func:`make` plans the run as it is too, and compares): ``without`` takes proxies
away (the jobs that then fall back come from the job verdicts, :func:`falling_back`);
``fixed`` (:func:`assume_fixed`) counts findings as passing before the verdicts are judged again;
a candidate is made a proxy in the facts (:func:`as_candidates`) and the caller evaluates them
with the policies (the core never runs the engine).
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Sequence
from typing import Any

from offhost_audit.errors import InputError
from offhost_audit.findings import Finding, job_verdicts, verdicts
from offhost_audit.names import norm_key, norm_name, unc_key
from offhost_audit.plan import solver

SCHEMA_ID = "offhost-audit/plan/1"
ELIGIBLE = ("ready", "ready_with_warnings")
_RULE = re.compile(r"OHP-[0-9]{3}")
Key = tuple[str, str]  # (kind, normalised name)


class Source:
    __slots__ = ("key", "kind", "name", "load", "load_known", "cells")

    def __init__(self, key: Key, name: str) -> None:
        self.key = key
        self.kind = key[0]
        self.name = name
        self.load = 0
        self.load_known = True
        self.cells: dict[str, verdicts.Verdict] = {}  # proxy display name -> the pair's verdict

    @property
    def label(self) -> str:
        return verdicts.source_label((self.kind, self.name))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name}


class Estate:
    """What the planner needs from one run: sources, proxies, capacities, eligibility, jobs."""

    def __init__(self, facts: dict[str, Any], findings: list[Finding], without: Sequence[str] = ()) -> None:
        judged = verdicts.judge(facts, findings)
        self.warnings: list[str] = []
        self.capacity = _capacities(facts)
        self.vbr_state = _vbr_states(facts)
        gone = {norm_name(p) for p in without}
        self.proxies = [p for p in judged.proxies if norm_name(p) not in gone]
        self.removed = [p for p in judged.proxies if norm_name(p) in gone]
        self.clusters_of = _clusters_of(facts)
        self.sources: dict[Key, Source] = {}
        self.down: dict[Key, list[str]] = {}  # source -> the --without proxies that had a verdict for it
        for (proxy, column), v in judged.cells.items():
            if norm_name(proxy) not in gone:
                self._source(column).cells[proxy] = v
            else:
                self.down.setdefault(self._source(column).key, []).append(proxy)
        for s in judged.by_source:
            self._source((s.kind, s.name))
        self.jobs = _active_jobs(facts)
        self.job_sources: dict[str, list[Key]] = {}
        self._loads(facts)
        if self.jobs is not None:  # plan only what the off-host jobs use
            used = {k for ks in self.job_sources.values() for k in ks}
            for k in used - set(self.sources):  # a job's source no proxy has a verdict for: unservable
                self._source(k)
            dropped = [s for k, s in self.sources.items() if k not in used]
            if dropped:
                self.warnings.append(
                    f"{len(dropped):,} source(s) no enabled off-host job uses are left out of the plan"
                )
            self.sources = {k: s for k, s in self.sources.items() if k in used}
        self.order = sorted(self.sources.values(), key=lambda s: (verdicts.SOURCE_KINDS.index(s.kind), s.name))

    def _source(self, column: tuple[str, str]) -> Source:
        key = _key(*column)
        s = self.sources.get(key)
        if s is None:
            s = self.sources[key] = Source(key, column[1])
        return s

    def eligible(self, s: Source) -> list[str]:
        """The proxies that may serve ``s``: a ready pair and room for its load."""
        return [p for p, v in sorted(s.cells.items()) if v.state in ELIGIBLE and self.fits(p, s.load)]

    def fits(self, proxy: str, load: int) -> bool:
        cap = self.cap(proxy)
        return cap is not None and cap >= load

    def cap(self, proxy: str) -> int | None:
        return self.capacity.get(norm_name(proxy))

    def why_not(self, s: Source) -> list[dict[str, Any]]:
        """Each proxy with a verdict for ``s`` that may not serve it, and why."""
        out = []
        for p, v in sorted(s.cells.items()):
            cap = self.cap(p)
            if v.state not in ELIGIBLE:
                out.append(
                    {"proxy": p, "state": v.state, "rules": v.rules, "reason": f"{v.label}: {', '.join(v.rules)}"}
                )
            elif cap is None:
                out.append({"proxy": p, "state": v.state, "rules": [], "reason": "max tasks unknown"})
            elif cap < s.load:
                out.append({"proxy": p, "state": v.state, "rules": [], "reason": f"max tasks {cap} < load {s.load}"})
        return out

    def _loads(self, facts: dict[str, Any]) -> None:
        vms = facts.get("vms")
        listed: list[dict[str, Any]] = vms if isinstance(vms, list) else []
        nodes: dict[str, str] = {h: cs[0] for h, cs in self.clusters_of.items() if cs}
        covered: set[int] | None = None  # indexes of the VMs the jobs back up; None: every VM
        if self.jobs is not None:
            covered = set()
            index = _VmIndex(listed, nodes)
            for j in self.jobs:
                keys: list[Key] = []
                for src in (j.get("sources") or []) if isinstance(j.get("sources"), list) else []:
                    picked = index.of(src)
                    covered |= picked
                    keys += self._job_columns(src, nodes)
                    for i in picked:
                        keys += [k for k, _ in _disk_sources(listed[i], nodes)]
                self.job_sources[str(j.get("name"))] = list(dict.fromkeys(keys))
        if not isinstance(vms, list):
            for s in self.sources.values():
                s.load_known = False
            self.warnings.append("the VMs were not collected: every load is unknown (counted as 0)")
            return
        unknown = 0
        for i, vm in enumerate(vms):
            if covered is not None and i not in covered:
                continue
            if not isinstance(vm.get("disks"), list):
                unknown += 1
                h = norm_name(vm["host"])
                where = self.sources.get(("cluster", nodes[h]) if h in nodes else ("host", h))
                if where is not None:
                    where.load_known = False
                continue
            for key, name in _disk_sources(vm, nodes):
                self._source((key[0], name)).load += 1
        if unknown:
            self.warnings.append(f"{unknown:,} VM(s) without collected disks: their sources' loads are too low")

    def _job_columns(self, src: dict[str, Any], nodes: dict[str, str]) -> list[Key]:
        kind, name = src.get("kind"), src.get("name")
        if kind == "cluster":
            return [("cluster", norm_name(name))]
        host = name if kind == "host" else src.get("host")
        if not host:
            return []
        h = norm_name(host)
        if ("cluster", h) in self.sources:  # a VM whose host names a cluster
            return [("cluster", h)]
        out: list[Key] = [("host", h)] if ("host", h) in self.sources or h not in nodes else []
        return out + ([("cluster", nodes[h])] if h in nodes else [])


def _key(kind: str, name: str) -> Key:
    return (kind, (unc_key(name) or norm_key(name)) if kind == "share" else norm_name(name))


def _capacities(facts: dict[str, Any]) -> dict[str, int]:
    """Max tasks per proxy (normalised name): the backup server's value wins over the inventory's."""
    out: dict[str, int] = {}
    for a in facts.get("assignments") or []:
        if isinstance(a.get("max_tasks"), int):
            out[norm_name(a["proxy"])] = a["max_tasks"]
    for p in (facts.get("vbr") or {}).get("proxies") or []:
        if isinstance(p.get("max_tasks"), int):
            out[norm_name(p["name"])] = p["max_tasks"]
    return out


def _vbr_states(facts: dict[str, Any]) -> dict[str, str]:
    """What the backup server says stops a proxy today (disabled, offline), by normalised name: a
    plan may use it (the role is there), but it works only once that is put right."""
    out = {}
    for p in (facts.get("vbr") or {}).get("proxies") or []:
        why = [w for k, v, w in (("disabled", True, "disabled"), ("online", False, "offline")) if p.get(k) is v]
        if why:
            out[norm_name(p["name"])] = " and ".join(why)
    return out


def _clusters_of(facts: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in facts.get("clusters") or []:
        for n in c.get("nodes") or []:
            out.setdefault(norm_name(n), []).append(norm_name(c["name"]))
    for h in facts.get("hosts") or []:
        m = h.get("cluster")
        if isinstance(m, dict) and m.get("member") and m.get("name"):
            cs = out.setdefault(norm_name(h["name"]), [])
            if norm_name(m["name"]) not in cs:
                cs.append(norm_name(m["name"]))
    return out


def _active_jobs(facts: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The enabled off-host jobs (as the job rules count them); None when the jobs were not read."""
    jobs = (facts.get("vbr") or {}).get("jobs")
    if not isinstance(jobs, list):
        return None
    return [j for j in jobs if j.get("mode") != "on_host" and j.get("enabled") is not False]


class _VmIndex:
    """The VMs by name, by host and by cluster (their host's, or their own), built once: a job's
    sources are looked up, not searched for (500 jobs x 50,000 VMs)."""

    def __init__(self, vms: list[dict[str, Any]], nodes: dict[str, str]) -> None:
        self.by_name: dict[str, list[int]] = {}
        self.by_host: dict[str, list[int]] = {}
        self.by_cluster: dict[str, list[int]] = {}
        self.places: list[set[str]] = []  # per VM: its host and cluster, normalised
        for i, v in enumerate(vms):
            host = norm_name(v["host"])
            cluster = norm_name(v["cluster"]) if v.get("cluster") else nodes.get(host)
            self.by_name.setdefault(str(v.get("name")), []).append(i)
            self.by_host.setdefault(host, []).append(i)
            if cluster:
                self.by_cluster.setdefault(cluster, []).append(i)
            self.places.append({host, cluster} if cluster else {host})

    def of(self, src: dict[str, Any]) -> set[int]:
        """The VMs a job's source covers: a VM by its exact name (and host or cluster, when given),
        a host's VMs, or a cluster's."""
        kind, name = src.get("kind"), norm_name(src.get("name"))
        if kind == "vm":
            where = norm_name(src["host"]) if src.get("host") else None  # the VM's host or cluster, as VBR names it
            return {i for i in self.by_name.get(str(src.get("name")), []) if where is None or where in self.places[i]}
        if kind == "host":
            return set(self.by_host.get(name, []))
        return set(self.by_cluster.get(name, []))


def _disk_sources(vm: dict[str, Any], nodes: dict[str, str]) -> list[tuple[Key, str]]:
    """Where each of a VM's disks is processed off-host: (source key, display name) per disk."""
    host = norm_name(vm["host"])
    cluster = norm_name(vm["cluster"]) if vm.get("cluster") else nodes.get(host)
    out: list[tuple[Key, str]] = []
    for d in vm.get("disks") or []:
        st = d.get("storage")
        if st == "csv" and cluster:
            out.append((("cluster", cluster), str(vm.get("cluster") or cluster)))
        elif st == "smb":
            k = unc_key(d.get("share") or d.get("path"))
            if k:
                out.append((("share", k), k))
        elif not cluster:  # a standalone host's volume (SAN); a cluster node's local disk stays on-host
            out.append((("host", host), str(vm["host"])))
    return out


# --- what-ifs ----------------------------------------------------------------------------------------


def assume_fixed(findings: list[Finding], specs: list[str]) -> tuple[list[Finding], list[str]]:
    """``RULE[:SUBJECT]`` each: the failing or undecided findings of RULE (whose subject name matches
    the SUBJECT glob, case-insensitive, as a waiver's subject does) count as passing. Returns the new
    findings and a warning per spec that matched nothing."""
    parsed = []
    for spec in specs:
        rule, _, subject = spec.partition(":")
        rule = rule.strip().upper()
        if not _RULE.fullmatch(rule):
            raise InputError(f"--assume-fixed {spec!r}: expected RULE[:SUBJECT] with RULE like OHP-010")
        parsed.append((spec, rule, subject.strip().casefold() or "*"))
    hits = dict.fromkeys(specs, 0)
    out = []
    for f in findings:
        for spec, rule, pattern in parsed:
            if (
                f["rule_id"] == rule
                and f["status"] in ("fail", "unknown")
                and fnmatch.fnmatchcase(str(f["subject"].get("name", "")).casefold(), pattern)  # as a waiver's glob
            ):
                f = {**f, "status": "pass"}
                hits[spec] += 1
        out.append(f)
    return out, [f"--assume-fixed {s}: no failing or undecided finding matches" for s, n in hits.items() if not n]


def as_candidates(facts: dict[str, Any], hosts: list[str]) -> dict[str, Any]:
    """The facts with each of ``hosts`` made an off-host proxy: the ``proxy`` role, and an assignment
    to every cluster and standalone Hyper-V host of the document with max tasks = its CPU cores (VBR's
    default for a new proxy; unknown when the cores were not collected). Evaluate the result with the
    policies to judge the candidates by the proxy rules. An InputError for a host that is not in the
    facts or is a proxy already."""
    doc = copy.deepcopy(facts)
    by = {norm_name(h["name"]): h for h in doc.get("hosts") or []}
    proxies = {norm_name(a["proxy"]) for a in doc.get("assignments") or []}
    proxies |= {norm_name(p["name"]) for p in (doc.get("vbr") or {}).get("proxies") or []}
    proxies |= {k for k, h in by.items() if "proxy" in (h.get("roles") or [])}
    nodes = _clusters_of(doc)
    sources = [{"kind": "cluster", "name": c["name"]} for c in doc.get("clusters") or [] if c.get("name")]
    sources += [
        {"kind": "host", "name": h["name"]}
        for k, h in by.items()
        if "hyperv_host" in (h.get("roles") or []) and k not in nodes
    ]
    for name in hosts:
        k = norm_name(name)
        h = by.get(k)
        if h is None:
            raise InputError(
                f"--candidate {name}: no such host in the run's facts (a candidate must have been collected)"
            )
        if k in proxies:
            raise InputError(f"--candidate {name}: already an off-host proxy in this run")
        h["roles"] = sorted({*(h.get("roles") or []), "proxy"})
        cores = (h.get("hardware") or {}).get("cpu_cores")
        mine = [s for s in sources if norm_name(s["name"]) != k]
        doc.setdefault("assignments", None)
        doc["assignments"] = [
            *(doc["assignments"] or []),
            {"proxy": h["name"], "max_tasks": cores or None, "sources": mine},
        ]
    return doc


# --- the plan ----------------------------------------------------------------------------------------


def make(
    facts: dict[str, Any],
    findings: list[Finding],
    *,
    redundancy: int = 1,
    without: Sequence[str] = (),
    fixed: Sequence[str] = (),
    candidates: Sequence[str] = (),
    scenario: tuple[dict[str, Any], list[Finding]] | None = None,
    time_limit: float = 10.0,
    run_id: int | None = None,
    solver_name: str = "highs",
) -> dict[str, Any]:
    """The plan document (README "offhost-audit plan", schema/plan.schema.json).

    ``facts``/``findings``: the run. ``scenario``: the facts and findings re-evaluated with the
    ``candidates`` made proxies (:func:`as_candidates`, then the policies); ``fixed``: the
    ``--assume-fixed`` specs; ``without``: proxies taken away. With any what-if the run as it is
    is planned too, and the document says what changes."""
    if redundancy < 1:
        raise InputError(f"--redundancy {redundancy}: expected 1 or more")
    base_facts, base_findings = facts, findings
    s_facts, s_findings = scenario if scenario is not None else (facts, findings)
    s_findings, warnings = assume_fixed(s_findings, list(fixed)) if fixed else (s_findings, [])
    what_if = bool(without or fixed or candidates)
    est = Estate(s_facts, s_findings, list(without))
    known = {norm_name(p) for p in est.proxies + est.removed}
    for p in without:
        if norm_name(p) not in known:
            raise InputError(
                f"--without {p}: no such proxy in this run (proxies: {', '.join(est.proxies + est.removed) or 'none'})"
            )
    doc = {
        "schema": SCHEMA_ID,
        "run": run_id,
        "redundancy": redundancy,
        **_plan(est, redundancy, time_limit, solver_name),
    }
    doc["warnings"] = warnings + est.warnings + doc["warnings"]
    doc["what_if"] = None
    if what_if:
        base = Estate(base_facts, base_findings)
        before = _plan(base, redundancy, time_limit, solver_name)
        doc["what_if"] = _compare(
            (base_facts, base_findings), base, est, before, doc, list(without), list(fixed), list(candidates)
        )
    return doc


def _plan(est: Estate, k: int, time_limit: float, solver_name: str) -> dict[str, Any]:
    index = {p: i for i, p in enumerate(est.proxies)}
    eligible = [tuple(index[p] for p in est.eligible(s)) for s in est.order]
    need = [min(k, len(e)) for e in eligible]
    caps = [est.cap(p) or 0 for p in est.proxies]
    sol = solver.solve(eligible, [s.load for s in est.order], need, caps, time_limit=time_limit, solver=solver_name)
    load = [0] * len(est.proxies)
    served: list[list[str]] = [[] for _ in est.proxies]
    assignments, unservable, short, spof = [], [], [], []
    for i, s in enumerate(est.order):
        names = [est.proxies[p] for p in sol.assigned[i]]
        for p in sol.assigned[i]:
            load[p] += s.load
            served[p].append(s.label)
        elig = [est.proxies[p] for p in eligible[i]]
        warn = sorted({r for p in names for r in s.cells[p].warnings})
        if names:
            assignments.append(
                {
                    "source": s.as_dict(),
                    "load": s.load,
                    "load_known": s.load_known,
                    "proxies": names,
                    "eligible": elig,
                    "warnings": warn,
                }
            )
        if not elig:
            unservable.append(_blocked(est, s))
        elif len(elig) < k:
            short.append({**_blocked(est, s), "eligible": elig, "needed": k})
        if len(elig) == 1:
            spof.append({"source": s.as_dict(), "proxy": elig[0]})
    proxies = [
        {
            "name": p,
            "capacity": est.cap(p),
            "load": load[i],
            "utilisation": round(load[i] / cap, 4) if (cap := est.cap(p)) else None,
            "used": bool(served[i]),
            "sources": served[i],
        }
        for i, p in enumerate(est.proxies)
    ]
    warnings = [] if sol.method == "milp" else [f"greedy answer: {sol.note}"]
    warnings += [
        f"{p['name']} is in the plan but {est.vbr_state[norm_name(p['name'])]} in VBR: put that right first"
        for p in proxies
        if p["used"] and norm_name(p["name"]) in est.vbr_state
    ]
    if sol.status in ("infeasible", "overloaded"):
        warnings.append(sol.note or "no plan")
    return {
        "solver": {
            "method": sol.method,
            "label": "HiGHS MILP" if sol.method == "milp" else "greedy heuristic (fallback, no optimality claim)",
            "status": sol.status,
            "gap": sol.gap,
            "seconds": round(sol.seconds, 3),
            "time_limit": time_limit,
            "variables": sol.variables,
            "groups": len(solver.groups(eligible, [s.load for s in est.order], need)),
            "phases": [ph.as_dict() for ph in sol.phases],
            "note": sol.note,
        },
        "proxies_needed": sum(1 for p in proxies if p["used"]),
        "sources": len(est.order),
        "proxies": proxies,
        "assignments": assignments,
        "unservable": unservable,
        "redundancy_short": short,
        "single_points_of_failure": spof,
        "warnings": warnings,
    }


def _blocked(est: Estate, s: Source) -> dict[str, Any]:
    why = est.why_not(s)
    common = set(why[0]["rules"]) if why and len(why) == len(s.cells) else set()
    for w in why[1:]:
        common &= set(w["rules"])
    return {
        "source": s.as_dict(),
        "load": s.load,
        "candidates": why,
        "rules_blocking_every_candidate": sorted(common),
        "reason": "every candidate is blocked"
        if s.cells
        else f"its only proxies are down (--without {', '.join(sorted(est.down[s.key]))})"
        if s.key in est.down
        else "no proxy in this run has a verdict for it",
    }


def falling_back(facts: dict[str, Any], findings: list[Finding], without: Sequence[str]) -> list[dict[str, Any]]:
    """The jobs that lose off-host processing when ``without`` are down: the (job, source) pairs that
    go off-host tonight (:mod:`offhost_audit.findings.job_verdicts`, from OHP-040's candidates)
    whose every good candidate is among ``without``. They fall back to on-host, or fail when the
    job's fail-over to on-host is off (or was not read), as the job verdicts say."""
    gone = {norm_name(p) for p in without}
    out = []
    for j in job_verdicts.judge_jobs(facts, findings).jobs:
        hit = []
        for src in j.sources:
            good = [c.name for c in src.candidates if c.state == "good"]
            if src.state == "off_host" and good and all(norm_name(c) in gone for c in good):
                hit.append(src.source)
        if hit:
            fails = j.failover is not True
            out.append(
                {
                    "job": j.name,
                    "sources": hit,
                    "outcome": "fails" if fails else "falls_back_to_on_host",
                    "text": f"job {j.name}: "
                    + (f"fails ({j.failover_text})" if fails else "falls back to on-host processing")
                    + f" for {', '.join(hit)}",
                }
            )
    return out


def _compare(
    run: tuple[dict[str, Any], list[Finding]],
    base: Estate,
    est: Estate,
    before: dict[str, Any],
    after: dict[str, Any],
    without: list[str],
    fixed: list[str],
    candidates: list[str],
) -> dict[str, Any]:
    lost, gained = [], []
    for key, s in base.sources.items():
        now = est.sources.get(key)
        was, got = base.eligible(s), est.eligible(now) if now else []
        if was and not got:
            lost.append({"source": s.as_dict(), "had": was})
        elif not was and got:
            gained.append({"source": s.as_dict(), "now": got})
    for key, s in est.sources.items():
        if key not in base.sources and est.eligible(s):
            gained.append({"source": s.as_dict(), "now": est.eligible(s)})
    jobs = falling_back(*run, without) if without else []
    cands = []
    for c in candidates:
        name = next((p for p in est.proxies if norm_name(p) == norm_name(c)), c)
        srcs = [s for s in est.order if name in s.cells]
        cands.append(
            {
                "host": name,
                "capacity": est.cap(name),
                "can_serve": [s.as_dict() for s in srcs if name in est.eligible(s)],
                "blocked": [
                    {"source": s.as_dict(), "reason": w["reason"], "rules": w["rules"]}
                    for s in srcs
                    for w in est.why_not(s)
                    if w["proxy"] == name
                ],
                "in_plan": next((p["used"] for p in after["proxies"] if p["name"] == name), False),
            }
        )
    return {
        "without": without,
        "assume_fixed": fixed,
        "candidates": cands,
        "before": {
            "proxies_needed": before["proxies_needed"],
            "unservable": len(before["unservable"]),
            "redundancy_short": len(before["redundancy_short"]),
            "status": before["solver"]["status"],
        },
        "after": {
            "proxies_needed": after["proxies_needed"],
            "unservable": len(after["unservable"]),
            "redundancy_short": len(after["redundancy_short"]),
            "status": after["solver"]["status"],
        },
        "lost": lost,
        "gained": gained,
        "jobs": jobs,
    }


def carry_waivers(run: list[Finding], found: list[Finding]) -> list[Finding]:
    """A re-evaluation's findings with the run's waivers kept: a finding the run had waived (same
    rule, same subject name) stays waived."""
    waived = {(f["rule_id"], f["subject"].get("name")) for f in run if f["status"] == "waived"}
    return [
        {**f, "status": "waived"}
        if (f["rule_id"], f["subject"].get("name")) in waived and f["status"] in ("fail", "unknown")
        else f
        for f in found
    ]


def covered(doc: dict[str, Any]) -> bool:
    """Whether the plan gives every source its proxies (the exit code: 0, else 1)."""
    return (
        not doc["unservable"]
        and not doc["redundancy_short"]
        and doc["solver"]["status"] not in ("infeasible", "overloaded")
        and all(len(a["proxies"]) >= doc["redundancy"] for a in doc["assignments"])
    )
