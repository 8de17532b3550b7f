"""The shipped policies against the rule catalog, which is the policy tree: METADATA blocks,
profile severities and per-rule fact fixtures.

Every rule folder (policies/<area>/<rule>/<rule>.rego) must carry a complete METADATA block, a
severity in every profile (policies/data/profiles.rego, the one place severities live) and
allowed and denied fixture cases (tests/fixtures/policies/<area>/<rule>/, see policy_cases).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from policy_cases import Case, build, cases
from test_registry import rule_folders

from offhost_audit import audit, facts
from offhost_audit.engine import embedded
from offhost_audit.engine.metadata import read_metadata
from offhost_audit.engine.sources import read_sources
from offhost_audit.reports import console

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def _rule_ids() -> dict[Path, str]:
    """Each rule folder and the custom.id of its METADATA block ("" when it has none)."""
    meta = read_metadata(read_sources(POLICIES))
    by_file = {Path(m.file).resolve(): rid for rid, m in meta.items()}
    return {d: by_file.get((d / f"{d.name}.rego").resolve(), "") for d in rule_folders(POLICIES)}


RULES = _rule_ids()
CATALOG = sorted(RULES.values())


@pytest.fixture(scope="module")
def metadata():
    return read_metadata(read_sources(POLICIES))


def test_every_rule_folder_has_one_rule_id_of_its_own():
    assert "" not in CATALOG, (
        f"rule folder(s) without a METADATA custom.id: {[str(d) for d, r in RULES.items() if not r]}"
    )
    assert len(set(CATALOG)) == len(CATALOG), "two rule folders share a rule id"


@pytest.mark.parametrize("rule_id", CATALOG)
def test_every_rule_has_a_complete_metadata_block_and_a_severity_in_every_profile(metadata, rule_id):
    m = metadata[rule_id]
    where = f"{m.file}:{m.line}"
    assert m.title and m.title != rule_id, f"{where}: title missing"
    assert m.description, f"{where}: description missing"
    assert m.doc_url.startswith("https://"), f"{where}: related_resources[0].ref missing"
    assert m.remediation, f"{where}: custom.remediation missing"
    assert m.package and m.package.startswith("offhost."), f"{where}: METADATA must sit right above `package`"
    for name, prof in embedded.compiled(POLICIES).profiles.items():
        assert prof["severity"].get(rule_id) in {"critical", "high", "medium", "low", "info"}, (
            f"profile {name} in policies/data/profiles.rego has no severity for {rule_id}"
        )


def test_no_metadata_block_states_a_severity():
    """Severities live in policies/data/profiles.rego only: a METADATA ``severity:`` would be ignored."""
    found = [
        f"{p.relative_to(POLICIES)}:{i}"
        for p in sorted(POLICIES.rglob("*.rego"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s*#\s*severity\s*:", line)
    ]
    assert not found, f"METADATA severity (the profiles hold severities): {found}"


def test_every_rule_folder_has_allowed_and_denied_cases():
    missing = [
        f"{d.parent.name}/{d.name} ({rid}): {kind}"
        for d, rid in RULES.items()
        for kind in ("allowed", "denied")
        if not cases(d.parent.name, d.name, kind)
    ]
    assert not missing, "missing fixture cases:\n" + "\n".join(missing)


def _fixture_cases() -> list[tuple[str, Case]]:
    return [(rid, c) for d, rid in RULES.items() for c in cases(d.parent.name, d.name)]


@pytest.mark.parametrize(("rule_id", "case"), _fixture_cases(), ids=lambda v: v.id if isinstance(v, Case) else str(v))
def test_fixture_gives_the_expected_verdict(rule_id, case):
    statuses = [f["status"] for f in audit.evaluate_facts(build(case)) if f["rule_id"] == rule_id]
    if case.kind == "allowed":
        assert statuses and not {"fail", "unknown"} & set(statuses), f"{rule_id} on {case.id}: {statuses}"
    elif case.kind == "denied":
        assert "fail" in statuses, f"{rule_id} on {case.id}: {statuses}"
    else:
        assert "unknown" in statuses and "fail" not in statuses, f"{rule_id} on {case.id}: {statuses}"


def test_example_facts_evaluate_to_findings_for_every_rule():
    # the healthy example plus the backup server's jobs: stage 2 (the job rules) reports too
    found = audit.evaluate_facts(facts.load(ROOT / "examples" / "facts" / "csv-cluster-jobs.json"))
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
