"""What each backup job does tonight: one verdict per job and per source, every face uses it.

Read from the job rules' findings (stage 2, ``policies/jobs/``), never judged again here: OHP-040
decides each (job, source), and its evidence lists the candidate proxies with what stops each and
the stage-1 pair whose verdict counted; the findings behind a candidate are that pair's failing or
undecided findings of the rules that stop it (:func:`offhost_audit.findings.verdicts.judge`), plus
the job's OHP-041 finding about that proxy. A job's source is:

* ``off_host``: a candidate proxy works;
* ``falls_back``: none works and fail-over to on-host is on: the job runs on-host, silently;
* ``fails``: none works and fail-over is off (or was not read: it fails or runs on-host);
* ``unknown``: no candidate is known to be good, one is undecided (or no OHP-040 finding judged it).

A source that goes off-host by its candidates still runs on-host when VBR cannot take its volumes
off-host: a failing OHP-043 (its cluster uses Storage Spaces Direct: on-host only, it falls back) or
a failing OHP-042 that says VBR uses the software VSS provider on one of its hosts (it falls back or
fails, as fail-over says). Those findings are the source's ``causes``; their undecided findings
change nothing (REST reads no cluster node's volume settings: that would make every job unknown).

A job is the worst of its sources; a job that is disabled or set to on-host mode is neither judged
nor at risk. Jobs at risk: those with a source that falls back, fails or is unknown.
"""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.findings import Finding, verdicts
from offhost_audit.names import norm_key

STATES = ("fails", "falls_back", "unknown", "off_host", "on_host", "disabled")  # worst first
AT_RISK = ("fails", "falls_back", "unknown")
LABELS = {
    "fails": "fails",
    "falls_back": "falls back to on-host",
    "unknown": "unknown",
    "off_host": "off-host",
    "on_host": "on-host job",
    "disabled": "disabled",
}
NO_JOBS = "no jobs read from the backup server (discover/--backup-server reads them)"
_RANK = {s: i for i, s in enumerate(STATES)}
SHOWN = 10  # candidates named per source (as OHP-040's message); the rows behind them are all kept
_RULES = re.compile(r"OHP-\d{3}")
_CANDIDATE_RULE, _LISTED_RULE, _VSS_RULE, _S2D_RULE = "OHP-040", "OHP-041", "OHP-042", "OHP-043"


class Candidate:
    """A proxy the job may use for a source: ``good``, ``blocked`` or ``undecided``, why, and the
    findings behind it (row numbers into the findings)."""

    __slots__ = ("name", "state", "reasons", "rules", "rows")

    def __init__(self, name: str, state: str, reasons: list[str], rules: list[str], rows: list[int]) -> None:
        self.name, self.state, self.reasons, self.rules, self.rows = name, state, reasons, rules, rows

    def __repr__(self) -> str:
        return f"Candidate({self.name!r}, {self.state!r}, {self.reasons})"

    @property
    def text(self) -> str:
        """``PROXY01: blocked by OHP-010``, ``PROXY01: disabled in VBR (OHP-041)`` or ``PROXY02: ready``:
        every rule behind it named."""
        text = f"{self.name}: " + ("; ".join(self.reasons) if self.reasons else "ready")
        more = [r for r in self.rules if r not in text]
        return text + (f" ({', '.join(more)})" if more else "")


class SourceVerdict:
    """One source of a job: what happens to it tonight, through which candidates."""

    __slots__ = ("kind", "name", "state", "tonight", "candidates", "row", "waived", "causes")

    def __init__(
        self,
        kind: str,
        name: str,
        state: str,
        tonight: str,
        candidates: list[Candidate],
        row: int | None,
        waived: bool = False,
    ) -> None:
        self.kind, self.name, self.state, self.tonight = kind, name, state, tonight
        self.candidates = candidates
        self.row = row  # the OHP-040 finding, None when no finding judged this source
        self.waived = waived  # the OHP-040 finding is waived: what happens tonight is the same
        self.causes: list[Cause] = []  # what keeps the source on-host whatever the proxy (S2D, software VSS)

    def __repr__(self) -> str:
        return f"SourceVerdict({self.kind!r}, {self.name!r}, {self.state!r})"

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def source(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def rules(self) -> list[str]:
        """The rules that stop the candidates or keep the source on-host (none for one that goes off-host)."""
        stop = {r for c in self.candidates if c.state != "good" for r in c.rules}
        return sorted(stop | {c.rule for c in self.causes})

    @property
    def rows(self) -> list[int]:
        """The OHP-040 finding, the findings behind every candidate that does not work, and the causes."""
        rows = {self.row} if self.row is not None else set()
        rows.update(i for c in self.candidates if c.state != "good" for i in c.rows)
        rows.update(c.row for c in self.causes)
        return sorted(rows)

    @property
    def blockers(self) -> str:
        """``PROXY01: blocked by OHP-010; PROXY02: disabled in VBR (OHP-041)``: the candidates that do
        not work (at most SHOWN, then how many more), then what keeps the source on-host
        (``cluster HVCL01: Storage Spaces Direct, ...``)."""
        shown, more = self.stopped()
        return "; ".join(
            [c.text for c in shown] + ([f"and {more:,} more"] if more else []) + [c.text for c in self.causes]
        )

    def stopped(self) -> tuple[list[Candidate], int]:
        """The first SHOWN candidates that do not work, and how many more there are (automatic
        selection may have hundreds; the OHP-040 finding's evidence lists them all)."""
        bad = [c for c in self.candidates if c.state != "good"]
        return bad[:SHOWN], max(0, len(bad) - SHOWN)


class Cause:
    """A failing finding that keeps a source on-host whatever the proxy (S2D, the software VSS provider)."""

    __slots__ = ("rule", "name", "text", "row")

    def __init__(self, rule: str, name: str, text: str, row: int) -> None:
        self.rule, self.name, self.text, self.row = rule, name, text, row  # name: the cluster's or host's

    def __repr__(self) -> str:
        return f"Cause({self.text!r})"


class JobVerdict:
    """One job: its settings as read, its sources' verdicts, its own findings (OHP-041)."""

    __slots__ = ("name", "enabled", "mode", "failover", "selection", "state", "sources", "own_rows")

    def __init__(
        self,
        name: str,
        enabled: Any,
        mode: Any,
        failover: Any,
        selection: str,
        state: str,
        sources: list[SourceVerdict],
        own_rows: list[int],
    ) -> None:
        self.name, self.enabled, self.mode, self.failover = name, enabled, mode, failover
        self.selection = selection  # "automatic selection" or "PROXY01, PROXY02" (as listed)
        self.state = state
        self.sources = sources
        self.own_rows = own_rows  # the job's failing or undecided OHP-041 findings

    def __repr__(self) -> str:
        return f"JobVerdict({self.name!r}, {self.state!r}, {self.sources})"

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def at_risk(self) -> bool:
        return self.state in AT_RISK

    @property
    def failover_text(self) -> str:
        return {True: "fail-over to on-host on", False: "fail-over to on-host off"}.get(
            self.failover, "fail-over to on-host not read"
        )

    @property
    def rows(self) -> list[int]:
        return sorted({i for s in self.sources for i in s.rows} | set(self.own_rows))


class JobVerdicts:
    """Every job's verdict, worst first; ``read`` is False when the facts hold no jobs list."""

    __slots__ = ("read", "jobs")

    def __init__(self, read: bool, jobs: list[JobVerdict]) -> None:
        self.read, self.jobs = read, jobs

    @property
    def at_risk(self) -> list[JobVerdict]:
        return [j for j in self.jobs if j.at_risk]

    def risky_sources(self) -> list[tuple[JobVerdict, SourceVerdict]]:
        """Every (job, source) that falls back, fails or is unknown, the worst first."""
        out = [(j, s) for j in self.jobs for s in j.sources if s.state in AT_RISK and j.at_risk]
        return sorted(out, key=lambda x: _RANK[x[1].state])

    def job(self, name: str) -> JobVerdict | None:
        return next((j for j in self.jobs if j.name == name), None)

    def tally(self) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for j in self.jobs:
            out[j.state] += 1
        return out

    def tally_text(self) -> str:
        """``Jobs: 2 of 5 at risk (1 fails, 1 falls back to on-host, 0 unknown); 3 off-host``, or NO_JOBS."""
        if not self.read:
            return "Jobs: " + NO_JOBS
        t = self.tally()
        risk = ", ".join(f"{t[s]:,} {LABELS[s]}" for s in AT_RISK)
        rest = ", ".join(f"{t[s]:,} {LABELS[s]}" for s in STATES[3:] if t[s] or s == "off_host")
        return f"Jobs: {sum(t[s] for s in AT_RISK):,} of {len(self.jobs):,} at risk ({risk}); {rest}"


def judge_jobs(
    facts: dict[str, Any] | None, findings: list[Finding], judged: verdicts.Verdicts | None = None
) -> JobVerdicts:
    """Every job of ``facts['vbr']['jobs']`` with its verdict; ``judged`` is ``verdicts.judge`` of the
    same facts and findings when the caller has it (computed here otherwise)."""
    vbr = (facts or {}).get("vbr")
    raw = vbr.get("jobs") if isinstance(vbr, dict) else None
    if not isinstance(raw, list):
        return JobVerdicts(False, [])
    by_job: dict[str, list[int]] = {}  # job name -> rows of its OHP-040 / OHP-041 findings
    for i, f in enumerate(findings):
        s = f.get("subject") or {}
        if s.get("kind") in verdicts.JOB_KINDS and s.get("job") is not None:
            by_job.setdefault(str(s["job"]), []).append(i)
    if judged is None and by_job:
        judged = verdicts.judge(facts, findings)
    place = _Places(facts or {}, findings)
    jobs = [
        _job(j, findings, by_job.get(str(j.get("name")), []), judged, place)
        for j in raw
        if isinstance(j, dict) and j.get("name") is not None
    ]
    jobs.sort(key=lambda j: (_RANK[j.state], j.name))
    return JobVerdicts(True, jobs)


def _real_status(f: Finding) -> str:
    w = f.get("waiver")
    return str((w or {}).get("status") or f["status"]) if f["status"] == "waived" else str(f["status"])


class _Places:
    """Which hosts and clusters a job source covers (by name, as the facts spell them), and the failing
    OHP-042 (software VSS provider) and OHP-043 (Storage Spaces Direct) findings on them."""

    def __init__(self, facts: dict[str, Any], findings: list[Finding]) -> None:
        self.nodes: dict[str, set[str]] = {}  # cluster -> hosts
        self.clusters_of: dict[str, set[str]] = {}  # host -> clusters
        self.s2d: dict[str, int] = {}  # cluster -> its failing OHP-043
        self.software: dict[str, int] = {}  # host -> its failing OHP-042 for the software provider
        for i, f in enumerate(findings):
            if f["rule_id"] not in (_VSS_RULE, _S2D_RULE) or _real_status(f) != "fail":
                continue
            sub = f.get("subject") or {}
            if f["rule_id"] == _S2D_RULE and sub.get("cluster"):
                self.s2d[norm_key(sub["cluster"])] = i
            elif sub.get("host") and any(
                isinstance(e, dict)
                and isinstance(e.get("value"), dict)
                and e["value"].get("vss_provider") == "software"
                for e in f.get("evidence") or []
            ):
                self.software[norm_key(sub["host"])] = i
        if not self.s2d and not self.software:
            return  # nothing keeps a source on-host: no need for the memberships
        for c in facts.get("clusters") or []:
            if isinstance(c, dict) and c.get("name"):
                for n in c.get("nodes") or []:
                    self._member(norm_key(c["name"]), norm_key(n))
        for h in facts.get("hosts") or []:
            m = h.get("cluster") if isinstance(h, dict) else None
            if isinstance(m, dict) and m.get("member") is True and m.get("name") and h.get("name"):
                self._member(norm_key(m["name"]), norm_key(h["name"]))

    def _member(self, cluster: str, host: str) -> None:
        self.nodes.setdefault(cluster, set()).add(host)
        self.clusters_of.setdefault(host, set()).add(cluster)

    def causes(self, kind: str, name: str, host: Any) -> list[Cause]:
        """What keeps a source (a cluster, a host, or a VM on ``host``) on-host, whatever the proxy."""
        if not self.s2d and not self.software:
            return []
        if kind == "vm" and host is None:
            return []  # its host was not read
        where = norm_key(host if kind == "vm" else name)
        if kind == "cluster" or where in self.nodes:  # a VM's "host" may name its cluster
            clusters, hosts = {where}, set(self.nodes.get(where, ()))
        else:
            clusters, hosts = set(self.clusters_of.get(where, ())), {where}
        out = [
            Cause(
                _S2D_RULE, c, f"cluster {c}: Storage Spaces Direct, processed on-host only ({_S2D_RULE})", self.s2d[c]
            )
            for c in sorted(clusters & self.s2d.keys())
        ]
        return out + [
            Cause(_VSS_RULE, h, f"host {h}: VBR uses the software VSS provider ({_VSS_RULE})", self.software[h])
            for h in sorted(hosts & self.software.keys())
        ]


def _on_host(src: SourceVerdict, causes: list[Cause], failover: Any) -> None:
    """A source that goes off-host (or is undecided) by its candidates, but that VBR processes on-host."""
    src.causes = causes
    if not causes or src.state in ("falls_back", "fails"):
        return
    why = "; ".join(c.text for c in causes)
    if any(c.rule == _S2D_RULE for c in causes) or failover is True:
        src.state, src.tonight = "falls_back", f"runs on-host tonight, silently ({why})"
    elif failover is False:
        src.state, src.tonight = "fails", f"the job fails (fail-over to on-host is off; {why})"
    else:
        src.state, src.tonight = "fails", f"fails or runs on-host (fail-over to on-host was not read; {why})"


def _job(
    j: dict[str, Any],
    findings: list[Finding],
    rows: list[int],
    judged: verdicts.Verdicts | None,
    place: _Places,
) -> JobVerdict:
    mine = [findings[i] for i in rows]
    name, failover = str(j["name"]), j.get("failover_to_on_host")
    sel: dict[str, Any] = j["proxies"] if isinstance(j.get("proxies"), dict) else {}
    if sel.get("automatic") is True:
        selection = "automatic selection"
    elif isinstance(sel.get("names"), list):
        selection = ", ".join(str(n) for n in sel["names"]) or "no proxy listed"
    else:
        selection = "proxy selection not read"
    listed = {
        norm_key(f["subject"].get("candidate")): i
        for f, i in zip(mine, rows, strict=True)
        if f["rule_id"] == _LISTED_RULE and _real_status(f) in ("fail", "unknown")
    }
    sources: list[SourceVerdict] = []
    state = "disabled" if j.get("enabled") is False else "on_host" if j.get("mode") == "on_host" else ""
    if not state:
        sources = [
            _source(f, i, failover, listed, judged, findings)
            for f, i in zip(mine, rows, strict=True)
            if f["rule_id"] == _CANDIDATE_RULE
        ]
        if not sources:  # no OHP-040 finding judged the job (a profile without the rule, an export)
            sources = [
                SourceVerdict(
                    str(s.get("kind")), str(s.get("name")), "unknown", "not judged (no OHP-040 finding)", [], None
                )
                for s in j.get("sources") or []
                if isinstance(s, dict)
            ]
        hosts = {
            (str(x.get("kind")), norm_key(x.get("name"))): x.get("host")
            for x in j.get("sources") or []
            if isinstance(x, dict)
        }
        for src in sources:
            _on_host(src, place.causes(src.kind, src.name, hosts.get((src.kind, norm_key(src.name)))), failover)
        sources.sort(key=lambda s: _RANK[s.state])
        state = sources[0].state if sources else "off_host"
    return JobVerdict(
        name, j.get("enabled"), j.get("mode"), failover, selection, state, sources, sorted(listed.values())
    )


def _source(
    f: Finding,
    row: int,
    failover: Any,
    listed: dict[str, int],
    judged: verdicts.Verdicts | None,
    findings: list[Finding],
) -> SourceVerdict:
    s, status = f["subject"], _real_status(f)
    ev = {e.get("path"): e.get("value") for e in f.get("evidence") or [] if isinstance(e, dict)}
    candidates: list[Candidate] = []
    for name in ev.get("candidates[ready]") or []:
        candidates.append(Candidate(str(name), "good", [], [], []))
    for c in ev.get("candidates") or []:
        if isinstance(c, dict):
            candidates.append(_candidate(c, listed, judged, findings))
    if status == "pass":
        good = [c.name for c in candidates if c.state == "good"]
        named = ", ".join(good[:SHOWN]) + (f" and {len(good) - SHOWN:,} more" if len(good) > SHOWN else "")
        state, tonight = "off_host", f"off-host through {named}" if good else "off-host"
    elif status == "fail":
        if failover is True:
            state, tonight = "falls_back", "runs on-host tonight, silently (fail-over to on-host is on)"
        elif failover is False:
            state, tonight = "fails", "the job fails (fail-over to on-host is off)"
        else:
            state, tonight = "fails", "fails or runs on-host (fail-over to on-host was not read)"
    elif status == "unknown":
        state, tonight = "unknown", "cannot tell: no candidate proxy is known to be good"
    else:  # not applicable
        state, tonight = "off_host", str(f.get("message", ""))
    return SourceVerdict(
        str(s.get("source_kind")), str(s.get("source")), state, tonight, candidates, row, f["status"] == "waived"
    )


def _candidate(
    c: dict[str, Any], listed: dict[str, int], judged: verdicts.Verdicts | None, findings: list[Finding]
) -> Candidate:
    name = str(c.get("name"))
    blocks = [str(b) for b in c.get("blocks") or []]
    missing = [str(m) for m in c.get("missing") or []]
    rules = sorted({r for b in blocks + missing for r in _RULES.findall(b)})
    rows: set[int] = set()
    pair = c.get("pair")
    if isinstance(pair, dict) and judged is not None:
        v = judged.cells.get((str(pair.get("proxy")), (str(pair.get("kind")), str(pair.get("source")))))
        if v is not None:
            rows.update(i for i in v.rows if findings[i]["rule_id"] in rules and _real_status(findings[i]) != "pass")
    if norm_key(name) in listed:
        rows.add(listed[norm_key(name)])
        rules = sorted({*rules, _LISTED_RULE})
    state = "blocked" if blocks else "undecided" if missing else "good"
    reasons = blocks or [f"undecided ({m})" for m in missing]
    return Candidate(name, state, reasons, rules, sorted(rows))
