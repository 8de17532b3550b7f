"""The findings list's data side: a filter language and a sorted, filtered index (no Textual here).

Filter syntax (terms are ANDed; a comma inside a value ORs; ``-`` in front negates a term)::

    fail smb                 free text: rule id, title, subject, message (case-insensitive)
    sev:high  sev:high+      severity exactly, or at and above (critical, high, medium, low, info)
    status:fail,unknown      status (fail, unknown, pass, not_applicable or na, waived)
    rule:OHP-01              rule id prefix (OHP-01 = OHP-010..OHP-019)
    host:HV01                any object of the subject (proxy, host, cluster, CSV, server, share, VM)
    -status:pass             everything but passes
    "Cluster Disk 2"         quotes keep spaces

``Index.select`` returns row numbers into the findings list, in the chosen sort order. With 50,000
findings a filter pass takes tens of milliseconds: it runs in a worker, never on every repaint.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from offhost_audit.findings import SEVERITIES, STATUSES, Finding, at_or_above, is_waived, sort_key
from offhost_audit.text import clean

COLUMNS = ("status", "severity", "rule", "subject", "message")
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
_STATUS_ALIASES = {"na": "not_applicable", "n/a": "not_applicable", "notapplicable": "not_applicable",
                   "failed": "fail", "failing": "fail", "passed": "pass", "unk": "unknown"}
_KEYS = {"sev": "sev", "severity": "sev", "status": "status", "st": "status", "rule": "rule", "id": "rule",
         "host": "host", "proxy": "host", "cluster": "host", "share": "host", "server": "host", "vm": "host",
         "subject": "host"}
_RELATED = ("name", "proxy", "host", "cluster", "csv", "share", "server", "vm")

Predicate = Callable[[int], bool]


class QueryError(ValueError):
    """A filter the user typed that cannot be read (shown under the filter box)."""


@dataclass(frozen=True)
class Term:
    key: str  # "text", "sev", "status", "rule", "host"
    values: tuple[str, ...]
    negate: bool = False


def parse(query: str) -> list[Term]:
    """Parse a filter; raises QueryError for a bad severity or status name or unbalanced quotes."""
    try:
        tokens = shlex.split(query)
    except ValueError:
        tokens = query.replace('"', " ").replace("'", " ").split()
    terms = []
    for tok in tokens:
        negate = tok.startswith("-") and len(tok) > 1
        body = tok[1:] if negate else tok
        key, sep, value = body.partition(":")
        key = _KEYS.get(key.lower()) if sep else None
        if key is None:
            terms.append(Term("text", (body.lower(),), negate))
            continue
        if not value:  # "sev:" while typing: no constraint yet
            continue
        values = tuple(v for v in value.lower().split(",") if v)
        if not values:
            continue
        if key == "sev":
            for v in values:
                if v.rstrip("+") not in _SEV_RANK:
                    raise QueryError(f"unknown severity {v!r} (one of {', '.join(SEVERITIES)}; add + for 'and above')")
        elif key == "status":
            values = tuple(_STATUS_ALIASES.get(v, v) for v in values)
            for v in values:
                if v not in _STATUS_RANK:
                    raise QueryError(f"unknown status {v!r} (one of {', '.join(STATUSES)})")
        terms.append(Term(key, values, negate))
    return terms


class Index:
    """Findings with precomputed search text and sort orders; ``select`` gives the visible rows."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.rule = [f["rule_id"].lower() for f in findings]
        self.related = ["\x00".join(clean(f["subject"].get(k) or "", keep_newlines=False).lower() for k in _RELATED)
                        for f in findings]
        self.text = [" ".join((f["rule_id"], f.get("title") or "", f["subject"]["name"], f.get("message") or "",
                               f["status"], f["severity"])).lower() for f in findings]
        self.waived = [is_waived(f) for f in findings]
        self._orders: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.findings)

    def order(self, column: str) -> list[int]:
        """Row numbers sorted by a column (ties broken by the default order); cached."""
        if column not in self._orders:
            fs = self.findings
            keys: dict[str, Callable[[int], tuple]] = {
                "status": lambda i: sort_key(fs[i]),
                "severity": lambda i: (_SEV_RANK.get(fs[i]["severity"], 9), sort_key(fs[i])),
                "rule": lambda i: (fs[i]["rule_id"], sort_key(fs[i])),
                "subject": lambda i: (fs[i]["subject"]["name"].lower(), sort_key(fs[i])),
                "message": lambda i: ((fs[i].get("message") or "").lower(), sort_key(fs[i])),
            }
            if column not in keys:
                raise ValueError(f"unknown column {column!r}")
            self._orders[column] = sorted(range(len(fs)), key=keys[column])
        return self._orders[column]

    def select(self, query: str = "", *, sort: str = "status", reverse: bool = False,
               hide_pass: bool = False, hide_waived: bool = False) -> list[int]:
        """Visible row numbers: the findings matching ``query``, in ``sort`` order."""
        preds = [self._predicate(t) for t in parse(query)]
        fs = self.findings
        if hide_pass:
            preds.append(lambda i: fs[i]["status"] not in ("pass", "not_applicable"))
        if hide_waived:
            waived = self.waived
            preds.append(lambda i: not waived[i])
        rows = self.order(sort)
        if reverse:
            rows = rows[::-1]
        if not preds:
            return list(rows)
        if len(preds) == 1:
            return list(filter(preds[0], rows))
        return [i for i in rows if all(p(i) for p in preds)]

    def _predicate(self, t: Term) -> Predicate:
        fs, vals = self.findings, t.values
        if t.key == "text":
            text, needle = self.text, vals[0]
            p: Predicate = lambda i: needle in text[i]  # noqa: E731
        elif t.key == "sev":
            exact = {v for v in vals if not v.endswith("+")}
            floors = [v[:-1] for v in vals if v.endswith("+")]
            p = lambda i: fs[i]["severity"] in exact or any(at_or_above(fs[i]["severity"], x) for x in floors)  # noqa: E731
        elif t.key == "status":
            want = set(vals)
            waived = self.waived
            p = lambda i: fs[i]["status"] in want or ("waived" in want and waived[i])  # noqa: E731
        elif t.key == "rule":
            rule = self.rule
            p = lambda i: rule[i].startswith(vals)  # noqa: E731
        else:  # host
            related = self.related
            p = lambda i: any(v in related[i] for v in vals)  # noqa: E731
        if t.negate:
            return lambda i: not p(i)
        return p
