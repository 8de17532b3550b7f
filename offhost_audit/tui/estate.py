"""What the dashboard and the matrix compute from facts and findings (no Textual here).

* ``matrix``: proxies x Hyper-V hosts, clusters and SMB shares; each cell ready / blocked (by which
  rules) / unknown / not assigned, with the findings behind it.
* ``manifest_failures`` and ``findings_for_failure``: the collection manifest's failures and the
  ``unknown`` findings each one caused (a missing fact of that target).
* ``fact_path``: an evidence path such as ``hosts[PROXY01].storage.disks[].unique_id`` as steps
  through the facts document, for the facts explorer's jump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from offhost_audit.collector_specs import SPECS
from offhost_audit.engine.sources import paused_gc
from offhost_audit.findings import Finding
from offhost_audit.names import norm_key, norm_name

COLUMN_KINDS = ("cluster", "host", "share")


@dataclass
class Cell:
    state: str  # ready | blocked | unknown | none (not assigned, no finding)
    rules: list[str] = field(default_factory=list)  # blocking rules (blocked) or undecided rules (unknown)
    rows: list[int] = field(default_factory=list)  # finding row numbers behind the cell


@dataclass
class Matrix:
    proxies: list[str]
    columns: list[tuple[str, str]]  # (kind, name)
    cells: dict[tuple[str, tuple[str, str]], Cell]  # only the assigned pairs: the rest is "none"

    def cell(self, proxy: str, column: tuple[str, str]) -> Cell:
        return self.cells.get((proxy, column)) or Cell("none")

    def pairs(self) -> list[tuple[str, tuple[str, str], Cell]]:
        """Every assigned (proxy, source) cell, blocked first, then unknown, then ready."""
        rank = {"blocked": 0, "unknown": 1, "ready": 2, "none": 3}
        return sorted(
            ((p, c, cell) for (p, c), cell in self.cells.items()), key=lambda x: (rank[x[2].state], x[0], x[1])
        )


def matrix(facts: dict[str, Any], findings: list[Finding]) -> Matrix:
    """Linear in findings and assigned pairs (a 50,000-finding estate has ~12,000 pairs, not 15 million cells)."""
    with paused_gc():
        return _matrix(facts, findings)


def _matrix(facts: dict[str, Any], findings: list[Finding]) -> Matrix:
    """Proxies x sources. A proxy-wide finding (subject kind proxy) counts in every cell of that proxy."""

    display: dict[tuple[str, str], str] = {}  # (kind, UPPER) -> name as first seen
    assigned: dict[str, set[tuple[str, str]]] = {}
    proxies: dict[str, str] = {}
    for a in facts.get("assignments") or []:
        p = norm_key(a["proxy"])
        proxies.setdefault(p, str(a["proxy"]))
        for src in a.get("sources") or []:
            col = ("cluster" if src.get("kind") == "cluster" else "host", norm_key(src["name"]))
            display.setdefault(col, str(src["name"]))
            assigned.setdefault(p, set()).add(col)
    pair: dict[tuple[str, tuple[str, str]], list[int]] = {}
    wide: dict[str, list[int]] = {}
    share_rows: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        s = f["subject"]
        if s["kind"] == "host_share" and s.get("share"):
            share_rows.setdefault(norm_key(s["share"]), []).append(i)
        p = s.get("proxy")
        if not p:
            continue
        pu = norm_key(p)
        proxies.setdefault(pu, str(p))
        if s["kind"] == "proxy":
            wide.setdefault(pu, []).append(i)
            continue
        for kind in COLUMN_KINDS:
            if s.get(kind):
                col = (kind, norm_key(s[kind]))
                display.setdefault(col, str(s[kind]))
                pair.setdefault((pu, col), []).append(i)
                assigned.setdefault(pu, set()).add(col)
                break
    order = {k: i for i, k in enumerate(COLUMN_KINDS)}
    columns = sorted({c for cols in assigned.values() for c in cols}, key=lambda c: (order[c[0]], c[1]))
    cells: dict[tuple[str, tuple[str, str]], Cell] = {}
    for pu, cols in assigned.items():
        for col in cols:
            rows = (
                pair.get((pu, col), []) + wide.get(pu, []) + (share_rows.get(col[1], []) if col[0] == "share" else [])
            )
            cells[(proxies[pu], (col[0], display[col]))] = _cell(findings, sorted(set(rows)))
    return Matrix(
        proxies=[proxies[p] for p in sorted(proxies)], columns=[(k, display[(k, n)]) for k, n in columns], cells=cells
    )


def _cell(findings: list[Finding], rows: list[int]) -> Cell:
    blocking = sorted({findings[i]["rule_id"] for i in rows if findings[i]["status"] == "fail"})
    if blocking:
        return Cell("blocked", blocking, rows)
    unknown = sorted({findings[i]["rule_id"] for i in rows if findings[i]["status"] == "unknown"})
    return Cell("unknown" if unknown else "ready", unknown, rows)


def manifest_failures(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The (target, collector) runs that did not succeed, in manifest order."""
    return [e for e in facts.get("collection") or [] if e.get("status") != "ok"]


# Where each collector's facts land (hosts[T].<key>, or a top-level list), from its declaration: how a
# failed run of it shows in the ``missing`` paths of the findings it made unknown.
_AREAS = {s.id: s.areas for s in SPECS}


def findings_for_failure(findings: list[Finding], target: str, collector: str | None = None) -> list[int]:
    """Rows of the ``unknown`` findings that miss a fact this (target, collector) run would have given.

    A fact of the target (``hosts[T].storage...``, ``shares[\\\\T\\...]``) in the area the collector
    fills; a collector this module does not know matches every missing fact of the target.
    """
    t = norm_name(target)
    areas = _AREAS.get(collector or "")
    host_marks = [f"[{t}].{a.upper()}" for a in areas if a.islower()] if areas else [f"[{t}]"]
    global_marks = [a for a in areas if a.isupper()] if areas else []
    out = []
    for i, f in enumerate(findings):
        if f["status"] != "unknown":
            continue
        for p in (str(m).upper() for m in f.get("missing") or []):
            if (
                any(m in p for m in host_marks)
                or (f"[\\\\{t}\\" in p and (not areas or "SHARES[" in global_marks))
                or (any(p.startswith(g) for g in global_marks) and t in _subject_names(f))
            ):
                out.append(i)
                break
    return out


def _subject_names(f: Finding) -> set[str]:
    return {norm_key(v) for k, v in f["subject"].items() if k != "kind" and v}


_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def fact_path(path: str) -> list[str | tuple[str]]:
    """``hosts[PROXY01].storage.disks[].unique_id`` -> ['hosts', ('PROXY01',), 'storage', 'disks', ('',), 'unique_id'].

    A plain string is a key; a 1-tuple is a list item chosen by its name (empty: every item).
    """
    steps: list[str | tuple[str]] = []
    i = 0
    while i < len(path):
        if path[i] == ".":
            i += 1
            continue
        if path[i] == "[":
            end = path.find("]", i)
            # share paths hold backslashes but no ']'; a missing ']' ends the path
            end = len(path) if end < 0 else end
            steps.append((path[i + 1 : end],))
            i = end + 1
            continue
        m = _STEP.match(path, i)
        if not m or not m.group(1):
            break
        steps.append(m.group(1))
        i = m.end()
    return steps


_ITEM_KEYS = ("unc", "name", "dns_name", "target", "proxy", "id")


def item_name(item: Any) -> str | None:
    """The name a list item is addressed by in evidence paths (hosts[NAME], shares[UNC], ...)."""
    if isinstance(item, dict):
        for k in _ITEM_KEYS:
            if item.get(k) is not None:
                v = item[k]
                return f"{v} {item.get('collector')}" if k == "target" and item.get("collector") else str(v)
    return None


def resolve(doc: Any, steps: list[str | tuple[str]]) -> list[int | str]:
    """The longest prefix of ``steps`` that exists in ``doc``, as concrete keys and list indexes."""
    out: list[int | str] = []
    node = doc
    for step in steps:
        if isinstance(step, tuple):
            if not isinstance(node, list) or not step[0]:
                break
            if step[0].isdigit():  # acl[0]: a position
                if int(step[0]) >= len(node):
                    break
                out.append(int(step[0]))
                node = node[int(step[0])]
                continue
            want = norm_key(step[0])
            idx = next(
                (
                    j
                    for j, it in enumerate(node)
                    if isinstance(it, dict)
                    and any(isinstance(it.get(k), str) and norm_key(it[k]) == want for k in _ITEM_KEYS)
                ),
                None,
            )
            if idx is None:
                break
            out.append(idx)
            node = node[idx]
        else:
            if not isinstance(node, dict) or step not in node:
                break
            out.append(step)
            node = node[step]
    return out
