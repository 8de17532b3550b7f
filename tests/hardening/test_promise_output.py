"""Promises: what hosts send cannot drive the terminal, a huge value cannot stall the table, every
run-level warning is said, and schema problems come first-N in document order."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from promise_kit import EXAMPLE_FACTS, run_cli

from offhost_audit import collect, facts as facts_mod, inventory
from offhost_audit.errors import FactsError
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios
from offhost_audit.reports import console

EVIL = "\x1b]0;pwned\x07VM\x1b[2J\x9b31m"
ENV = {"OFFHOST_WINRM_USER": "u", "OFFHOST_WINRM_PASSWORD": "p"}


def _facts_with_warning(tmp_path: Path, warning: str) -> Path:
    doc = json.loads(EXAMPLE_FACTS.read_text())
    doc["warnings"] = [warning]
    doc["hosts"][0]["os"]["caption"] = EVIL
    f = tmp_path / "evil.json"
    f.write_text(json.dumps(doc))
    return f


def test_escape_sequences_from_hosts_never_reach_the_terminal_or_a_text_file(tmp_path):
    f = _facts_with_warning(tmp_path, f"host says {EVIL}")
    r = run_cli("evaluate", "-f", str(f))
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\x9b" not in r.stdout
    assert "host says \ufffd]0;pwned\ufffdVM" in r.stdout
    out = tmp_path / "table.txt"
    run_cli("evaluate", "-f", str(f), "-o", str(out))
    assert "\x1b" not in out.read_text() and "pwned" in out.read_text()


def test_json_keeps_the_exact_value(tmp_path):
    finding = {"rule_id": "OHP-001", "status": "fail", "severity": "high", "subject": {"name": EVIL}, "message": EVIL}
    assert json.loads(console.to_json([finding]))[0]["message"] == EVIL
    saved = tmp_path / "copy.json"
    facts_mod.save(saved, facts_mod.load(_facts_with_warning(tmp_path, EVIL)))
    assert json.loads(saved.read_text())["hosts"][0]["os"]["caption"] == EVIL


def test_the_table_cleans_every_host_supplied_cell():
    finding = {
        "rule_id": "OHP-001",
        "title": "t",
        "severity": "high",
        "status": "fail",
        "subject": {"name": EVIL},
        "message": EVIL,
        "remediation": EVIL,
        "doc_url": "https://x",
    }
    text = console.table_text([finding], warnings=[EVIL], fail_on="high")
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_the_demo_cleans_scenario_text(tmp_path):
    sc = yaml.safe_load((scenarios.scenario_dir() / "csv-healthy.yaml").read_text())
    sc["title"] = f"title {EVIL}"
    f = tmp_path / "evil-scenario.yaml"
    f.write_text(yaml.safe_dump(sc))
    r = run_cli("demo", "--scenario", str(f))
    assert "title \ufffd]0;pwned" in r.stdout and "\x1b" not in r.stdout


def test_a_huge_message_is_cut_in_the_table_and_whole_in_json():
    finding = {
        "rule_id": "OHP-001",
        "title": "t",
        "severity": "high",
        "status": "unknown",
        "subject": {"name": "P"},
        "message": "m" * 3_000_000,
        "remediation": "r",
    }
    text = console.table_text([finding], warnings=["w" * 3_000_000])
    assert len(text) < 50_000 and "more characters; --format json has them all" in text
    assert len(console.to_json([finding])) > 3_000_000


def test_verify_tls_false_in_the_inventory_warns_in_the_facts_and_on_screen(tmp_path):
    text = "proxies:\n  - name: P1\n    address: 127.0.0.1\n    winrm: {port: 1, verify_tls: false}\n"
    inv = inventory.loads(text, source="inv.yaml")
    doc = collect.collect_facts(inv, call_timeout=2, target_timeout=4, resolver=Resolver(env=ENV, interactive=False))
    assert any("verify_tls: false" in w and "P1" in w for w in doc["warnings"])
    (tmp_path / "inv.yaml").write_text(text)
    r = run_cli(
        "collect", "-q", "-i", str(tmp_path / "inv.yaml"), "-o", str(tmp_path / "f.json"), "--timeout", "2", env=ENV
    )
    assert r.returncode == 3 and "warning: TLS certificate validation was turned off in the inventory" in r.stderr


def test_schema_problems_come_in_document_order():
    doc = json.loads(EXAMPLE_FACTS.read_text())
    doc["hosts"] = [copy.deepcopy(doc["hosts"][0]) | {"name": f"H{i}"} for i in range(12)]
    doc["hosts"][10]["os"] = "bad"
    doc["hosts"][2]["os"] = "bad"
    problems = facts_mod.schema_problems(doc)
    assert [p.split(":")[0] for p in problems] == ["$.hosts[2].os", "$.hosts[10].os"]


def test_a_flood_of_schema_problems_stops_after_the_first_25():
    doc = json.loads(EXAMPLE_FACTS.read_text())
    host = doc["hosts"][0]
    doc["hosts"] = [dict(host, name=f"H{i}", os="bad") for i in range(200_000)]
    with pytest.raises(FactsError) as e:
        facts_mod.validate(doc, source="big.json")
    lines = str(e.value).splitlines()
    assert lines[0] == "big.json: more than 25 schema problem(s), the first 25 in document order:"
    assert len(lines) == 26 and lines[1].strip().startswith("big.json: $.hosts[0].os")
    assert lines[25].strip().startswith("big.json: $.hosts[24].os")
