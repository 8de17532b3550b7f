"""The fast facts check (jsonschema-rs) agrees with jsonschema, and the messages stay jsonschema's own."""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import pytest

from offhost_audit import facts

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import estate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "examples" / "facts" / "csv-cluster-healthy.json").read_text(encoding="utf-8"))
ODD_VALUES = [
    None,
    "x",
    "",
    0,
    -1,
    1.0,
    1.5,
    True,
    False,
    [],
    {},
    ["proxy"],
    {"name": "X"},
    4294967296,
    "S-1-5-21-1",
    "2.1",
    "proxy",
    "hardware",
    "online_all",
    [None],
    [1, 1],
    ["proxy", "proxy"],
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(doc, rnd: random.Random):
    doc = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        paths = [p for p in _paths(doc) if p]
        path = rnd.choice(paths)
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        op = rnd.random()
        if op < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op < 0.25 and isinstance(parent, dict):
            parent["unexpected_key"] = 1
        else:
            parent[path[-1]] = copy.deepcopy(rnd.choice(ODD_VALUES))
    return doc


def _jsonschema_problems(doc) -> list[str]:
    errors = sorted(facts._validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {facts._short(e)}" for e in errors]


@pytest.mark.parametrize("seed", range(400))
def test_fast_check_agrees_with_jsonschema(seed):
    doc = _mutate(EXAMPLE, random.Random(seed))
    expected = _jsonschema_problems(doc)
    assert facts._checker().is_valid(doc) == (not expected)
    for key in ("hosts", "vms", "shares"):
        items = doc.get(key)
        sub = facts._validator().evolve(
            schema={"$defs": facts._schema()["$defs"], **facts._schema()["properties"][key]["items"]}
        )
        for item in items if isinstance(items, list) else []:
            assert facts._checker(key).is_valid(item) == (not list(sub.iter_errors(item)))
    assert sorted(facts.schema_problems(doc)) == sorted(expected)


def test_problems_come_in_document_order_and_lazily():
    doc = estate.generate(300)
    for h in doc["hosts"]:
        h["name"] = 7
    got = facts.schema_problems(doc, limit=26)
    assert got == [f"$.hosts[{i}].name: 7 is not of type 'string'" for i in range(26)]


def test_generated_estate_is_valid_and_problems_are_located():
    doc = estate.generate(300)
    assert facts.schema_problems(doc) == []
    doc["hosts"][41]["os"]["build"] = "17763"
    doc["vms"][7]["disks"][0]["format"] = "vmdk"
    assert facts.schema_problems(doc) == [
        "$.hosts[41].os.build: '17763' is not of type 'integer', 'null'",
        "$.vms[7].disks[0].format: 'vmdk' is not one of ['vhd', 'vhdx', 'vhds', 'avhdx', 'other', None]",
    ]
