"""Engine test fixtures: a small policy folder built from the shipped lib/data/main plus one demo rule.

The demo rule keeps the engine tests independent of the catalog rules (which have their own
tests); the shipped policies are exercised by test_catalog.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))  # for `import fake_opa`

EXAMPLE = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"

DEMO_RULE = """# METADATA
# title: Demo - proxy OS build
# description: Test-only rule; fails a proxy whose build is below 14393.
# related_resources:
#   - ref: https://example.invalid/demo-doc
#     description: demo page
# custom:
#   id: OHP-001
#   remediation: Upgrade the proxy's operating system.
package offhost.general.demo

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_build(h) := object.get(h, ["os", "build"], null)

findings contains result.fail("OHP-001", result.proxy_subject(facts.norm(h.name)), sprintf("build %d is too old", [_build(h)]), [{"path": facts.host_path(h.name, "os.build"), "value": _build(h)}]) if {
	some h in input.hosts
	"proxy" in h.roles
	_build(h) != null
	_build(h) < 14393
}

findings contains result.pass("OHP-001", result.proxy_subject(facts.norm(h.name)), sprintf("build %d is supported", [_build(h)]), [{"path": facts.host_path(h.name, "os.build"), "value": _build(h)}]) if {
	some h in input.hosts
	"proxy" in h.roles
	_build(h) != null
	_build(h) >= 14393
}

findings contains result.unknown("OHP-001", result.proxy_subject(facts.norm(h.name)), [facts.host_path(h.name, "os.build")]) if {
	some h in input.hosts
	"proxy" in h.roles
	_build(h) == null
}
"""


@pytest.fixture
def mini_policies(tmp_path: Path) -> Path:
    """lib/, data/, main/ copied from the shipped policies, plus the demo rule (OHP-001)."""
    root = tmp_path / "policies"
    for part in ("lib", "data", "main"):
        shutil.copytree(ROOT / "policies" / part, root / part, ignore=shutil.ignore_patterns("*_test.rego"))
    _add_rule(root, "general", "demo", DEMO_RULE)
    return root


@pytest.fixture
def use_policies(monkeypatch: pytest.MonkeyPatch):
    """Point the engine's default policy folder (what the CLI uses) at another folder."""

    def use(root: Path) -> Path:
        monkeypatch.setattr("offhost_audit.engine.embedded.policies_dir", lambda: root)
        monkeypatch.setattr("offhost_audit.engine.opa.policies_dir", lambda: root)
        return root

    return use


@pytest.fixture
def example_facts() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _add_rule(root: Path, area: str, name: str, source: str) -> Path:
    """Write policies/<area>/<name>/<name>.rego: main.rego finds it, as it finds a real rule."""
    rule = root / area / name / f"{name}.rego"
    rule.parent.mkdir(parents=True)
    rule.write_text(source, encoding="utf-8")
    return rule


@pytest.fixture
def add_rule():
    """add_rule(root, area, name, source): write a rule into a policy folder."""
    return _add_rule
