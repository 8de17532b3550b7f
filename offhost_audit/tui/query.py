"""The findings list's data side: a filter language and a sorted, filtered index (no Textual here).

The filter syntax is ``SYNTAX`` below (the help screen shows it).

``Index.select`` returns row numbers into the findings list, in the chosen sort order. With 50,000
findings a filter pass takes 10-20 ms here: it runs in a worker, never on a repaint.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from offhost_audit.findings import SEVERITIES, STATUSES, Finding, at_or_above, sort_key
from offhost_audit.perf import paused_gc

SYNTAX = """\
Terms are ANDed; a comma ORs values; - in front negates a term.
  fail smb             free text: rule id, title, subject, message
  sev:high  sev:high+  severity, or at and above (critical high medium
                       low info)
  status:fail,unknown  status (fail unknown pass not_applicable/na waived)
  status:f  sev:crit   a prefix of a status or severity is enough
  rule:OHP-01          rule id prefix (OHP-01 = OHP-010..OHP-019)
  host:HV01            any object of the subject (proxy, host, cluster,
                       CSV, server, share, VM)
  -status:pass         everything but passes
  "Cluster Disk 2"     quotes keep spaces
"""

COLUMNS = ("status", "severity", "rule", "subject", "message")
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
_STATUS_ALIASES = {
    "na": "not_applicable",
    "n/a": "not_applicable",
    "notapplicable": "not_applicable",
    "failed": "fail",
    "failing": "fail",
    "passed": "pass",
    "unk": "unknown",
}
_KEYS = {
    "sev": "sev",
    "severity": "sev",
    "status": "status",
    "st": "status",
    "rule": "rule",
    "id": "rule",
    "host": "host",
    "proxy": "host",
    "cluster": "host",
    "share": "host",
    "server": "host",
    "vm": "host",
    "subject": "host",
}
_RELATED = ("name", "proxy", "host", "cluster", "csv", "share", "server", "vm")
_COST = {"status": 0, "sev": 1, "rule": 2, "host": 3, "text": 4}

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
        name, sep, value = body.partition(":")
        key = _KEYS.get(name.lower()) if sep else None
        if key is None:
            terms.append(Term("text", (body.lower(),), negate))
            continue
        if not value:  # "sev:" while typing: no constraint yet
            continue
        values = tuple(v for v in value.lower().split(",") if v)
        if not values:
            continue
        if key == "sev":
            values = tuple(
                _expand(v.rstrip("+"), SEVERITIES, "severity") + ("+" if v.endswith("+") else "") for v in values
            )
        elif key == "status":
            values = tuple(_expand(_STATUS_ALIASES.get(v, v), STATUSES, "status") for v in values)
        terms.append(Term(key, values, negate))
    return terms


def _expand(value: str, names: tuple[str, ...], what: str) -> str:
    """A name or an unambiguous prefix of one (``f`` = fail, ``crit`` = critical): typing never errors early."""
    if value in names:
        return value
    hits = [n for n in names if n.startswith(value)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise QueryError(
            f"unknown {what} {value!r} (one of {', '.join(names)}"
            + ("; add + for 'and above')" if what == "severity" else ")")
        )
    raise QueryError(f"{what} {value!r} is ambiguous: {', '.join(hits)}")


_ORDER_WORDS = {  # column -> (the order unreversed, reversed), in words
    "status": ("failures first", "failures last"),
    "severity": ("most severe first", "least severe first"),
    "rule": ("rule id A-Z", "rule id Z-A"),
    "subject": ("subject A-Z", "subject Z-A"),
    "message": ("message A-Z", "message Z-A"),
}


def sort_label(column: str, reverse: bool = False) -> str:
    """The sort order as the status line names it, e.g. ``severity: most severe first``."""
    return f"{column}: {_ORDER_WORDS[column][reverse]}"


def hidden_note(query: str, *, hide_pass: bool, hide_waived: bool) -> str:
    """What the filter asks for that a toggle hides (``status:pass`` with passes hidden), or ""."""
    try:
        asked = {v for t in parse(query) if t.key == "status" and not t.negate for v in t.values}
    except QueryError:
        return ""
    notes = []
    if hide_pass and asked & {"pass", "not_applicable"}:
        notes.append("passes and n/a are hidden: p shows them")
    if hide_waived and "waived" in asked:
        notes.append("waived are hidden: w shows them")
    return "; ".join(notes)


class Index:
    """Findings with search text and sort orders built on first use (``warm`` builds them ahead)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self._orders: dict[str, list[int]] = {}
        self._text: list[str] | None = None
        self._related: list[str] | None = None
        self._rule: list[str] | None = None

    @property
    def text(self) -> list[str]:
        if self._text is None:
            self._text = [
                " ".join(
                    (
                        f["rule_id"],
                        f.get("title") or "",
                        f["subject"]["name"],
                        f.get("message") or "",
                        f["status"],
                        f["severity"],
                    )
                ).lower()
                for f in self.findings
            ]
        return self._text

    @property
    def related(self) -> list[str]:
        if self._related is None:
            self._related = [
                "\x00".join(str(s.get(k) or "") for k in _RELATED).lower()
                for s in (f["subject"] for f in self.findings)
            ]
        return self._related

    @property
    def rule(self) -> list[str]:
        if self._rule is None:
            self._rule = [f["rule_id"].lower() for f in self.findings]
        return self._rule

    def warm(self) -> None:
        """Build everything the first filter would need (call from a worker thread)."""
        with paused_gc():
            _ = self.text, self.related, self.rule
            self.order("status")

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

    def select(
        self,
        query: str = "",
        *,
        sort: str = "status",
        reverse: bool = False,
        hide_pass: bool = False,
        hide_waived: bool = False,
    ) -> list[int]:
        """Visible row numbers: the findings matching ``query``, in ``sort`` order."""
        terms = sorted(parse(query), key=lambda t: _COST[t.key])  # cheap, selective tests first
        fs = self.findings
        preds = []
        if hide_pass:
            preds.append(lambda i: fs[i]["status"] not in ("pass", "not_applicable"))
        if hide_waived:
            preds.append(lambda i: fs[i]["status"] != "waived")
        preds += [self._predicate(t) for t in terms]
        rows = self.order(sort)
        if reverse:
            rows = rows[::-1]
        for p in preds:
            rows = list(filter(p, rows))
        return rows if preds or reverse else list(rows)

    def _predicate(self, t: Term) -> Predicate:
        fs, vals = self.findings, t.values
        if t.key == "text":
            text, needle = self.text, vals[0]
            p: Predicate = lambda i: needle in text[i]  # noqa: E731
        elif t.key == "sev":
            want = {s for s in SEVERITIES for v in vals if s == v or (v.endswith("+") and at_or_above(s, v[:-1]))}
            p = lambda i: fs[i]["severity"] in want  # noqa: E731
        elif t.key == "status":
            want = set(vals)
            p = lambda i: fs[i]["status"] in want  # noqa: E731
        elif t.key == "rule":
            rule = self.rule
            p = lambda i: rule[i].startswith(vals)  # noqa: E731
        else:  # host
            related = self.related
            if len(vals) == 1:
                v = vals[0]
                p = lambda i: v in related[i]  # noqa: E731
            else:
                p = lambda i: any(v in related[i] for v in vals)  # noqa: E731
        if t.negate:
            return lambda i: not p(i)
        return p
