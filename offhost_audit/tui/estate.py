"""What the dashboard and the matrix compute from facts and findings (no Textual here).

* ``matrix``: proxies x Hyper-V hosts, clusters and SMB shares, each pair's verdict
  (``offhost_audit.findings.verdicts.judge``: the verdict every face shows), with the findings behind it.
* ``fact_path``: an evidence path such as ``hosts[PROXY01].storage.disks[].unique_id`` as steps
  through the facts document, for the facts explorer's jump.
"""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.findings import Finding, verdicts
from offhost_audit.names import norm_key

Matrix = verdicts.Verdicts
Cell = verdicts.Verdict


def matrix(facts: dict[str, Any], findings: list[Finding]) -> Matrix:
    """Linear in findings and pairs (a 50,000-finding estate has ~12,000 pairs, not 15 million cells)."""
    return verdicts.judge(facts, findings)


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
