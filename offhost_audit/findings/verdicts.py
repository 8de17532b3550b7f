"""Verdicts: can each proxy process each of its sources off-host? One function, every face uses it.

Judged per (proxy, source) pair, where a source is a Hyper-V host, a cluster or an SMB share the
proxy reads VM files from. The findings of a pair are those about the proxy and that source, the
proxy's own findings (subject kind ``proxy``: they count in every pair of the proxy), and the
source's own findings (a VM or a host-to-share finding about a host counts for every proxy that
serves that host, or the cluster the host is a node of). A finding names no proxy and no source
(an estate-wide one) counts in every pair.

Within a pair, by the severity the finding carries (the active profile's):

* a failure at ``critical``/``high`` **blocks**: ``not_ready``, naming the blocking rules;
* otherwise an ``unknown`` at ``critical``/``high``: ``unknown``, naming the undecided rules;
* otherwise a failure or unknown at ``medium``/``low``: ``ready_with_warnings``;
* otherwise ``ready``. ``info`` findings and waived findings never change a verdict.

A proxy's verdict is the worst of its pairs (a proxy is ready only when it can process every source
it serves), and says which sources differ; a source's verdict is the worst over the proxies that
serve it. The exit code's words (:func:`run_sentence`) live here too, so that the CLI summary and
the reports say the same thing.
"""

from __future__ import annotations

from typing import Any

from offhost_audit.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNKNOWN, combine
from offhost_audit.findings import Finding, at_or_above, breaches
from offhost_audit.names import norm_key
from offhost_audit.perf import paused_gc

JOB_KINDS = frozenset({"job_source", "job_proxy"})  # stage 2 subjects (findings/jobs.py): no proxy x source pair
STATES = ("not_ready", "unknown", "ready_with_warnings", "ready")  # worst first
LABELS = {
    "not_ready": "not ready",
    "unknown": "unknown",
    "ready_with_warnings": "ready with warnings",
    "ready": "ready",
    "none": "not assigned",
}
SOURCE_KINDS = ("cluster", "host", "share")
_RANK = {s: i for i, s in enumerate(STATES)}
_BLOCKING = ("critical", "high")
_WARNING = ("medium", "low")
MAX_NAMED = 3  # sources named per group in a summary line; the rest are counted


class Verdict:
    """One pair's (or a proxy's, or a source's) verdict and the findings behind it. (Plain classes,
    not dataclasses: ``evaluate`` imports this module, and dataclasses would cost it ``inspect``.)"""

    __slots__ = ("state", "blocking", "unknown", "warnings", "rows")

    def __init__(
        self,
        state: str = "ready",
        blocking: list[str] | None = None,
        unknown: list[str] | None = None,
        warnings: list[str] | None = None,
        rows: list[int] | None = None,
    ) -> None:
        self.state = state  # a STATES value; "none" for a pair that is not assigned
        self.blocking = blocking or []  # failing rules at critical/high
        self.unknown = unknown or []  # undecided rules at critical/high
        self.warnings = warnings or []  # failing or undecided rules at medium/low
        self.rows = rows or []  # indexes of the findings behind it

    def __repr__(self) -> str:
        return f"Verdict({self.state!r}, blocking={self.blocking}, unknown={self.unknown}, warnings={self.warnings})"

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def rules(self) -> list[str]:
        """The rules that make the state: blocking, undecided, or warning rules."""
        return {"not_ready": self.blocking, "unknown": self.unknown, "ready_with_warnings": self.warnings}.get(
            self.state, []
        )


class Summary:
    """A proxy's or a source's verdict over its pairs, and one line that says which pairs differ."""

    __slots__ = ("kind", "name", "verdict", "pairs", "text")

    def __init__(self, kind: str, name: str, verdict: Verdict, pairs: list[tuple[str, Verdict]], text: str) -> None:
        self.kind = kind  # "proxy", or the source's kind
        self.name = name
        self.verdict = verdict
        self.pairs = pairs  # (the other side's display name, the pair's verdict)
        self.text = text

    def __repr__(self) -> str:
        return f"Summary({self.kind!r}, {self.name!r}, {self.text!r})"

    @property
    def state(self) -> str:
        return self.verdict.state


class Verdicts:
    """Every pair's verdict (the matrix) and the summaries per proxy and per source."""

    __slots__ = ("proxies", "columns", "cells", "by_proxy", "by_source")

    def __init__(
        self,
        proxies: list[str],
        columns: list[tuple[str, str]],
        cells: dict[tuple[str, tuple[str, str]], Verdict],
        by_proxy: list[Summary],
        by_source: list[Summary],
    ) -> None:
        self.proxies = proxies  # proxy names, sorted
        self.columns = columns  # sources (kind, name): clusters, hosts, shares
        self.cells = cells  # only the pairs: the rest is "none"
        self.by_proxy = by_proxy  # worst first, then by name
        self.by_source = by_source

    def cell(self, proxy: str, column: tuple[str, str]) -> Verdict:
        return self.cells.get((proxy, column)) or Verdict("none")

    def pairs(self) -> list[tuple[str, tuple[str, str], Verdict]]:
        """Every pair, the worst first."""
        return sorted(((p, c, v) for (p, c), v in self.cells.items()), key=lambda x: (_RANK[x[2].state], x[0], x[1]))

    def proxy(self, name: str) -> Summary | None:
        return next((s for s in self.by_proxy if s.name == name), None)


def source_label(column: tuple[str, str]) -> str:
    kind, name = column
    return name if kind == "share" else f"{kind} {name}"


class _Acc:
    """Collects the rules of one side (pair, proxy, source) before they are merged into a Verdict."""

    __slots__ = ("blocking", "unknown", "warnings", "rows")

    def __init__(self) -> None:
        self.blocking: set[str] = set()
        self.unknown: set[str] = set()
        self.warnings: set[str] = set()
        self.rows: list[int] = []

    def add(self, i: int, f: Finding) -> None:
        self.rows.append(i)
        st, sev = f["status"], f.get("severity")
        if st not in ("fail", "unknown") or sev not in _BLOCKING + _WARNING:
            return  # pass, not applicable, waived; info never counts
        if sev in _WARNING:
            self.warnings.add(f["rule_id"])
        elif st == "fail":
            self.blocking.add(f["rule_id"])
        else:
            self.unknown.add(f["rule_id"])


def _merge(*accs: _Acc | None) -> Verdict:
    blocking: set[str] = set()
    unknown: set[str] = set()
    warnings: set[str] = set()
    rows: list[int] = []
    for a in accs:
        if a is not None:
            blocking |= a.blocking
            unknown |= a.unknown
            warnings |= a.warnings
            rows += a.rows
    state = "not_ready" if blocking else "unknown" if unknown else "ready_with_warnings" if warnings else "ready"
    return Verdict(state, sorted(blocking), sorted(unknown), sorted(warnings), sorted(set(rows)))


def judge(facts: dict[str, Any] | None, findings: list[Finding]) -> Verdicts:
    """Every pair's verdict and the summaries; linear in findings and pairs (46,500 findings, 2,000
    pairs: 0.3 s). The cyclic GC is paused: tens of thousands of small objects would double that."""
    with paused_gc():
        return _judge(facts or {}, findings)


def _judge(facts: dict[str, Any], findings: list[Finding]) -> Verdicts:
    display: dict[tuple[str, str], str] = {}  # (kind, UPPER) -> name as first seen
    proxies: dict[str, str] = {}
    assigned: dict[str, set[tuple[str, str]]] = {}  # proxy UPPER -> sources
    clusters_of: dict[str, list[str]] = {}  # host UPPER -> cluster UPPER names
    for c in facts.get("clusters") or []:
        if c.get("name"):
            display.setdefault(("cluster", norm_key(c["name"])), str(c["name"]))
            for n in c.get("nodes") or []:
                clusters_of.setdefault(norm_key(n), []).append(norm_key(c["name"]))
    for a in facts.get("assignments") or []:
        pu = norm_key(a["proxy"])
        proxies.setdefault(pu, str(a["proxy"]))
        for src in a.get("sources") or []:
            col = ("cluster" if src.get("kind") == "cluster" else "host", norm_key(src["name"]))
            display.setdefault(col, str(src["name"]))
            assigned.setdefault(pu, set()).add(col)

    pair: dict[tuple[str, tuple[str, str]], _Acc] = {}
    wide: dict[str, _Acc] = {}  # proxy-wide findings
    side: dict[tuple[str, str], _Acc] = {}  # source-side findings (no proxy named)
    estate = _Acc()  # neither proxy nor source
    servers: list[tuple[int, Finding, str]] = []  # proxy -> file server: placed once the shares are known

    def keys(s: dict[str, Any]) -> list[tuple[str, str]]:
        if s.get("cluster"):
            return [("cluster", norm_key(s["cluster"]))]
        if s.get("host"):
            h = norm_key(s["host"])
            display.setdefault(("host", h), str(s["host"]))
            return [("host", h)] + [("cluster", c) for c in clusters_of.get(h, [])]
        if s.get("share") and s.get("kind") != "host_share":
            return [("share", norm_key(s["share"]))]
        return []

    for i, f in enumerate(findings):
        s = f["subject"]
        if s.get("kind") in JOB_KINDS:
            continue  # a job's finding is judged over the pairs (findings/jobs.py), not one of them
        if s.get("cluster"):
            display.setdefault(("cluster", norm_key(s["cluster"])), str(s["cluster"]))
        if s.get("share") and s.get("kind") != "host_share":
            display.setdefault(("share", norm_key(s["share"])), str(s["share"]))
        p = s.get("proxy")
        if not p:
            ks = keys(s)
            if not ks:
                estate.add(i, f)
            for k in ks:
                _acc(side, k).add(i, f)
            continue
        pu = norm_key(p)
        proxies.setdefault(pu, str(p))
        if s["kind"] == "proxy":
            _acc(wide, pu).add(i, f)
            continue
        if s.get("server") and not s.get("share"):
            servers.append((i, f, pu))
            continue
        ks = keys(s)
        if not ks:
            _acc(wide, pu).add(i, f)
            continue
        mine = assigned.setdefault(pu, set())
        hit = [k for k in ks if k in mine]
        if not hit:  # a pair the assignments do not list: the cluster if the host is a node, else the host
            hit = [ks[-1] if len(ks) > 1 else ks[0]]
            mine.add(hit[0])
        for k in hit:
            _acc(pair, (pu, k)).add(i, f)
    for i, f, pu in servers:  # OHP-022 proxy -> file server: every share of that server the proxy reads
        prefix = "\\\\" + norm_key(f["subject"]["server"]) + "\\"
        mine = assigned.setdefault(pu, set())
        hit = [k for k in mine if k[0] == "share" and k[1].startswith(prefix)] or [("share", prefix[:-1])]
        for k in hit:
            display.setdefault(k, "\\\\" + str(f["subject"]["server"]))
            mine.add(k)
            _acc(pair, (pu, k)).add(i, f)

    cells: dict[tuple[str, tuple[str, str]], Verdict] = {}
    for pu, cols in assigned.items():
        for col in cols:
            cells[(proxies[pu], (col[0], display[col]))] = _merge(
                pair.get((pu, col)), wide.get(pu), side.get(col), estate
            )
    order = {k: i for i, k in enumerate(SOURCE_KINDS)}
    columns = sorted({c for cols in assigned.values() for c in cols}, key=lambda c: (order[c[0]], c[1]))
    # sources no proxy serves still get a verdict of their own (a host's VMs, say); not a cluster's node
    served: dict[tuple[str, str], list[str]] = {}  # source -> the proxies (UPPER) that serve it, sorted
    for pu in sorted(assigned):
        for col in assigned[pu]:
            served.setdefault(col, []).append(pu)
    unserved = [k for k in side if k not in served and not (k[0] == "host" and k[1] in clusters_of)]
    by_proxy = []
    for pu in sorted(proxies):
        name = proxies[pu]
        srcs = sorted(assigned.get(pu, ()), key=lambda c: (order[c[0]], c[1]))
        prs = [(source_label((c[0], display[c])), cells[(name, (c[0], display[c]))]) for c in srcs]
        v = _worst([v for _, v in prs]) if prs else _merge(wide.get(pu), estate)
        by_proxy.append(Summary("proxy", name, v, prs, _text(v, prs, "for")))
    by_source = []
    for col in sorted([*columns, *unserved], key=lambda c: (order[c[0]], c[1])):
        name = display[col]
        prs = [(proxies[pu], cells[(proxies[pu], (col[0], name))]) for pu in served.get(col, [])]
        v = _worst([v for _, v in prs]) if prs else _merge(side.get(col), estate)
        text = _text(v, prs, "via") + ("" if prs else " (no proxy in these facts serves it)")
        by_source.append(Summary(col[0], name, v, prs, text))
    by_proxy.sort(key=lambda s: _RANK[s.state])  # stable: names within a state
    by_source.sort(key=lambda s: _RANK[s.state])
    return Verdicts(
        proxies=[proxies[p] for p in sorted(proxies)],
        columns=[(k, display[(k, n)]) for k, n in columns],
        cells=cells,
        by_proxy=by_proxy,
        by_source=by_source,
    )


def _acc(d: dict[Any, _Acc], key: Any) -> _Acc:
    a = d.get(key)
    if a is None:
        a = d[key] = _Acc()
    return a


def _worst(vs: list[Verdict]) -> Verdict:
    acc = _Acc()
    for v in vs:
        acc.blocking.update(v.blocking)
        acc.unknown.update(v.unknown)
        acc.warnings.update(v.warnings)
        acc.rows += v.rows
    return _merge(acc)


def _text(v: Verdict, pairs: list[tuple[str, Verdict]], word: str) -> str:
    """``not ready: OHP-010`` when every pair agrees, else which pairs are what:
    ``not ready for host HV62 (OHP-023); ready for host HV61``."""
    if not pairs or all(pv.state == v.state and pv.rules == v.rules for _, pv in pairs):
        return v.label + (": " + ", ".join(v.rules) if v.rules else "")
    parts = []
    for state in STATES:
        group = [(n, pv) for n, pv in pairs if pv.state == state]
        if not group:
            continue
        if state == "ready":
            names = [n for n, _ in group]
            more = f" and {len(names) - MAX_NAMED:,} more" if len(names) > MAX_NAMED else ""
            parts.append(f"ready {word} " + ", ".join(names[:MAX_NAMED]) + more)
            continue
        named = [f"{n} ({', '.join(pv.rules)})" for n, pv in group[:MAX_NAMED]]
        more = f" and {len(group) - MAX_NAMED:,} more" if len(group) > MAX_NAMED else ""
        parts.append(f"{LABELS[state]} {word} " + ", ".join(named) + more)
    return "; ".join(parts)


def tally(summaries: list[Summary]) -> dict[str, int]:
    """How many summaries are in each state."""
    out = {s: 0 for s in STATES}
    for s in summaries:
        out[s.state] += 1
    return out


def tally_text(summaries: list[Summary], what: str = "proxies") -> str:
    """``Proxies: 1 not ready, 0 unknown, 0 ready with warnings, 2 ready``."""
    t = tally(summaries)
    return f"{what.capitalize()}: " + ", ".join(f"{t[s]:,} {LABELS[s]}" for s in STATES)


# --- the exit code and its words --------------------------------------------------------------------


def undecided(findings: list[Finding], fail_on: str) -> list[Finding]:
    """Findings that make the exit code 5: status unknown at or above the --fail-on severity."""
    return [f for f in findings if f["status"] == "unknown" and at_or_above(f["severity"], fail_on)]


def exit_code(findings: list[Finding], fail_on: str, *, accept_unknown: bool = False) -> int:
    """1 for a failure at or above --fail-on; else 5 for an unknown at or above it (0 with accept_unknown); else 0."""
    return combine(
        EXIT_FINDINGS if breaches(findings, fail_on) else EXIT_OK,
        EXIT_UNKNOWN if undecided(findings, fail_on) and not accept_unknown else EXIT_OK,
    )


def run_sentence(findings: list[Finding], fail_on: str, *, accept_unknown: bool = False) -> str:
    """What the run's result means, in words: the same sentence in the CLI summary and the reports."""
    fails, unknown = len(breaches(findings, fail_on)), len(undecided(findings, fail_on))
    if fails:
        text = f"{fails:,} failure(s) at or above {fail_on}: the run is not green"
        if unknown:
            text += f"; {unknown:,} more finding(s) at or above {fail_on} could not be decided"
        return text + "."
    if unknown and not accept_unknown:
        return f"No failure at or above {fail_on}, but {unknown:,} finding(s) at or above it could not be decided: the run is not green."
    if unknown:
        return (
            f"No failure at or above {fail_on}; {unknown:,} finding(s) at or above it could not be decided, "
            "accepted by --accept-unknown: the run is green."
        )
    return f"No failure or unknown at or above {fail_on}: the run is green."
