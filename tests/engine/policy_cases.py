"""The policy fixture cases: two base estates plus one JSON patch per case.

Each rule has cases under tests/fixtures/policies/<area>/<rule>/, named <kind>.patch.json or
<kind>-<case>.patch.json (kind: allowed, denied or unknown). A case file is
``{"base": "<name>", "patch": [RFC 6902 operations]}``; the facts document is the base estate
tests/fixtures/policies/bases/<name>.json with the patch applied. A change to the facts schema
then edits the two bases, not every case.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonpatch

from offhost_audit import facts

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
BASES = FIXTURES / "bases"
KINDS = ("allowed", "denied", "unknown")
SUFFIX = ".patch.json"


class Case(NamedTuple):
    area: str
    rule: str
    name: str  # "allowed", "denied-standalone", ...
    path: Path

    @property
    def kind(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def id(self) -> str:
        return f"{self.area}/{self.rule}/{self.name}"


@cache
def _base(name: str) -> str:
    return (BASES / f"{name}.json").read_text(encoding="utf-8")


def build(case: Case) -> dict[str, Any]:
    """The case's facts document: its base with its patch applied, validated (a new object each call)."""
    spec = json.loads(case.path.read_text(encoding="utf-8"))
    return facts.validate(jsonpatch.apply_patch(json.loads(_base(spec["base"])), spec["patch"]), source=case.id)


def cases(area: str | None = None, rule: str | None = None, kind: str | None = None) -> list[Case]:
    """Every case (optionally of one rule folder and one kind), sorted by id."""
    out = []
    for p in sorted(FIXTURES.glob(f"{area or '*'}/{rule or '*'}/*{SUFFIX}")):
        c = Case(p.parent.parent.name, p.parent.name, p.name[: -len(SUFFIX)], p)
        if c.kind in KINDS and (kind is None or c.kind == kind):
            out.append(c)
    return out


EXAMPLES = sorted((ROOT / "examples" / "facts").glob("*.json"))


def documents() -> dict[str, Any]:
    """Every case and every shipped example by a test id, each as a function that builds its facts."""
    out: dict[str, Any] = {f"fixtures/{c.id}": (lambda c=c: build(c)) for c in cases()}
    for p in EXAMPLES:
        out[str(p.relative_to(ROOT))] = lambda p=p: json.loads(p.read_text(encoding="utf-8"))
    return out
