"""Differential test: the embedded engine (regorus) against OPA's own engine, finding for finding.

Every rule fixture, every example facts file, the facts collected from every shipped lab scenario
(through the real lab and the real WinRM client) and a generated 1,000-host estate, under every
profile: the findings must be identical. A difference names the rule, the subject and both
results. (OPA is about 9x slower: the estate is evaluated once per profile.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from offhost_audit import audit
from offhost_audit.engine import embedded
from offhost_audit.lab import demo, scenario

pytest.importorskip("opa_bindings", reason="make venv / make test install opa-golib-python-bindings")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import estate  # noqa: E402
import policy_cases  # noqa: E402

PROFILES = sorted(embedded.compiled().profiles)
DOCUMENTS = policy_cases.documents()


def _by_subject(found: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in found:
        key = f"{f['rule_id']} {json.dumps(f.get('subject'), sort_keys=True)}"
        out.setdefault(key, []).append(json.dumps(f, sort_keys=True))
    return {k: sorted(v) for k, v in out.items()}


def differences(doc: dict, profile: str) -> list[str]:
    """'rule subject: embedded ... / opa ...' for every finding that differs between the engines."""
    a = _by_subject(audit.evaluate_facts(doc, profile=profile))
    b = _by_subject(audit.evaluate_facts(doc, profile=profile, engine="opa"))
    return [
        f"{k}:\n  embedded: {a.get(k, 'no finding')}\n  opa:      {b.get(k, 'no finding')}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


def _assert_same(doc: dict, profile: str, what: str) -> None:
    diff = differences(doc, profile)
    assert not diff, f"{what} under {profile}: {len(diff)} difference(s)\n" + "\n".join(diff[:20])


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", DOCUMENTS)
def test_fixture_and_example_facts(name, profile):
    _assert_same(DOCUMENTS[name](), profile, name)


@pytest.fixture(scope="module")
def collected() -> dict[str, dict]:
    """Every shipped scenario collected once through the lab (the demo's own path)."""
    return {name: demo.run_scenario(name, auth="basic")["facts"] for name in scenario.shipped()}


@pytest.mark.parametrize("profile", PROFILES)
def test_facts_collected_from_every_lab_scenario(collected, profile):
    for name, doc in collected.items():
        _assert_same(doc, profile, f"lab scenario {name}")


@pytest.mark.parametrize("profile", PROFILES)
def test_generated_1000_host_estate(profile):
    doc = estate.generate(1000)
    assert len(doc["hosts"]) >= 1000
    _assert_same(doc, profile, "benchmarks/estate.py --hosts 1000")


def test_a_difference_names_rule_subject_and_both_results(mini_policies, example_facts, monkeypatch):
    real = audit.evaluate_facts

    def skewed(doc, **kw):
        found = real(doc, **kw)
        if kw.get("engine") == "opa":
            found[0] = {**found[0], "status": "pass" if found[0]["status"] != "pass" else "fail"}
        return found

    monkeypatch.setattr(audit, "evaluate_facts", skewed)
    diff = differences(example_facts, "veeam-2025-08")
    assert len(diff) == 1 and diff[0].startswith("OHP-") and '"kind": "proxy' in diff[0]
    assert "\n  embedded: " in diff[0] and "\n  opa:      " in diff[0]
