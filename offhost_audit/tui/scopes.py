"""Drill-down scopes: which findings a dashboard row or a matrix cell stands for (no Textual here).

A scope is recomputed from the facts and findings it is given, never kept as row numbers: after a
profile switch, a waiver or a re-run the findings are a new list, and the same drill-down must list
the same subjects in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offhost_audit.findings import Finding, job_verdicts, unknowns, verdicts
from offhost_audit.tui import estate


@dataclass(frozen=True)
class Scope:
    """A named subset of the findings; ``rows(facts, findings)`` gives its row numbers."""

    label: str
    select: Callable[[dict[str, Any], list[Finding]], list[int]]

    def rows(self, facts: dict[str, Any], findings: list[Finding]) -> list[int]:
        return self.select(facts, findings)


def summary(kind: str, name: str) -> Scope:
    """A proxy's or a source's failures and unknowns: the findings behind its verdict (the
    dashboard's proxies and sources tables), from ``verdicts.judge``."""

    def select(facts: dict[str, Any], findings: list[Finding]) -> list[int]:
        judged = verdicts.judge(facts, findings)
        found = judged.by_proxy if kind == "proxy" else judged.by_source
        v = next((x for x in found if x.kind == kind and x.name == name), None)
        return [i for i in (v.verdict.rows if v else []) if findings[i]["status"] in ("fail", "unknown")]

    return Scope(f"{kind} {name}: failures and unknowns", select)


def collection_failure(target: str, collector: str) -> Scope:
    """The unknown findings a failed collector run caused (the dashboard's manifest table)."""

    def select(facts: dict[str, Any], findings: list[Finding]) -> list[int]:
        return unknowns.findings_for_failure(findings, target, collector)

    return Scope(f"unknown because {target} {collector} failed", select)


def cell(proxy_name: str, column: tuple[str, str]) -> Scope:
    """The findings behind one proxy x source cell of the matrix."""

    def select(facts: dict[str, Any], findings: list[Finding]) -> list[int]:
        return estate.matrix(facts, findings).cell(proxy_name, column).rows

    return Scope(f"{proxy_name} × {column[0]} {column[1]}", select)


def job(name: str, kind: str | None = None, source: str | None = None) -> Scope:
    """The findings behind a job's source (its OHP-040 finding and what blocks each candidate proxy),
    or, with no source, the job's own (OHP-041): the Jobs view's and the dashboard's rows."""

    def select(facts: dict[str, Any], findings: list[Finding]) -> list[int]:
        j = job_verdicts.judge_jobs(facts, findings).job(name)
        if j is None:
            return []
        if kind is None:
            return j.own_rows
        return next((s.rows for s in j.sources if (s.kind, s.name) == (kind, source)), [])

    return Scope(f"job {name}" + (f", {kind} {source}" if kind else "") + ": what blocks it", select)
