"""The shipped policies against the rule catalog: METADATA blocks and per-rule fact fixtures.

These fail until every catalog rule is written (policies/<area>/<rule>/) with its fixtures
(tests/fixtures/policies/<area>/<rule>/{allowed,denied,unknown}.json, and <kind>-<case>.json variants).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from offhost_audit import audit, facts
from offhost_audit.engine import embedded
from offhost_audit.engine.metadata import read_metadata
from offhost_audit.engine.sources import read_sources
from offhost_audit.reports import console

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
CATALOG = ["OHP-001", "OHP-002", "OHP-003", "OHP-004", "OHP-005", "OHP-006", "OHP-007",
           "OHP-010", "OHP-011", "OHP-012", "OHP-013", "OHP-020", "OHP-021", "OHP-022", "OHP-023",
           "OHP-030", "OHP-031"]
AREAS = ("general", "csv", "smb", "vm")


def _rule_dirs() -> list[Path]:
    """policies/<area>/<rule>/ folders that hold a rule (<rule>.rego), libraries excluded."""
    return sorted(d for a in AREAS if (POLICIES / a).is_dir() for d in (POLICIES / a).iterdir()
                  if (d / f"{d.name}.rego").is_file())


def _rule_ids() -> dict[Path, str]:
    meta = read_metadata(read_sources(POLICIES))
    by_file = {Path(m.file).resolve(): rid for rid, m in meta.items()}
    return {d: by_file.get((d / f"{d.name}.rego").resolve(), "") for d in _rule_dirs()}


@pytest.fixture(scope="module")
def metadata():
    return read_metadata(read_sources(POLICIES))


@pytest.mark.parametrize("rule_id", CATALOG)
def test_every_catalog_rule_has_a_complete_metadata_block(metadata, rule_id):
    assert rule_id in metadata, f"no policy has a METADATA block with custom.id {rule_id}"
    m = metadata[rule_id]
    where = f"{m.file}:{m.line}"
    assert m.title and m.title != rule_id, f"{where}: title missing"
    assert m.description, f"{where}: description missing"
    assert m.doc_url.startswith("https://"), f"{where}: related_resources[0].ref missing"
    assert m.remediation, f"{where}: custom.remediation missing"
    assert m.package and m.package.startswith("offhost."), f"{where}: METADATA must sit right above `package`"
    profile = embedded.compiled(POLICIES).profiles["veeam-2025-08"]["severity"]
    assert m.severity == profile[rule_id], (
        f"{where}: custom.severity {m.severity!r} differs from veeam-2025-08's {profile[rule_id]!r}")


def test_every_rule_folder_has_allowed_and_denied_fixtures():
    missing = []
    for d, rid in _rule_ids().items():
        fx = FIXTURES / d.parent.name / d.name
        missing += [f"{fx / n} ({rid})" for n in ("allowed.json", "denied.json") if not (fx / n).is_file()]
    assert not missing, "missing fixtures:\n" + "\n".join(missing)


def _fixture_cases() -> list[tuple[str, Path, str]]:
    cases = []
    ids = _rule_ids()
    for d, rid in ids.items():
        for kind in ("allowed", "denied", "unknown"):  # and named variants: <kind>-<case>.json
            for f in sorted((FIXTURES / d.parent.name / d.name).glob(f"{kind}*.json")):
                if f.stem == kind or f.stem.startswith(kind + "-"):
                    cases.append((rid, f, kind))
    return cases


@pytest.mark.parametrize(("rule_id", "path", "kind"), _fixture_cases(),
                         ids=lambda v: v.relative_to(FIXTURES).as_posix() if isinstance(v, Path) else str(v))
def test_fixture_gives_the_expected_verdict(rule_id, path, kind):
    doc = facts.load(path)
    statuses = [f["status"] for f in audit.evaluate_facts(doc) if f["rule_id"] == rule_id]
    if kind == "allowed":
        assert statuses and not {"fail", "unknown"} & set(statuses), f"{rule_id} on {path.name}: {statuses}"
    elif kind == "denied":
        assert "fail" in statuses, f"{rule_id} on {path.name}: {statuses}"
    else:
        assert "unknown" in statuses and "fail" not in statuses, f"{rule_id} on {path.name}: {statuses}"


def test_catalog_rules_all_have_a_rule_folder():
    ids = set(_rule_ids().values())
    assert set(CATALOG) <= ids, f"no rule folder for: {sorted(set(CATALOG) - ids)}"


def test_example_facts_evaluate_to_findings_for_every_rule():
    found = audit.evaluate_facts(facts.load(ROOT / "examples" / "facts" / "csv-cluster-healthy.json"))
    assert set(CATALOG) <= {f["rule_id"] for f in found}
    # the example has no SMB shares: the smb rules give the proxy one not_applicable each
    smb = {"OHP-020", "OHP-021", "OHP-022", "OHP-023"}
    assert {(f["rule_id"], f["status"], f["subject"]["name"]) for f in found if f["rule_id"] in smb} == {
        (r, "not_applicable", "PROXY01") for r in smb
    }
    assert not [f for f in found if f["status"] in ("fail", "unknown")], "the example is a healthy estate"
    assert all(f["title"] and f["remediation"] and f["doc_url"] for f in found)
    schema = json.loads((ROOT / "schema" / "findings.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(console.to_json(found)), schema)
