"""The rule set is the policy tree: main.rego finds every rule folder, and nothing lists them.

A rule is a folder policies/<area>/<rule>/ holding <rule>.rego with `package offhost.<area>.<rule>`
and a `findings` rule; main.rego reaches it through data.offhost.<area>[_].findings (one line per
area). These tests check the tree keeps that shape, so that a new rule folder is evaluated without
being listed anywhere.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from offhost_audit import audit, facts
from offhost_audit.resources import policies_dir

ROOT = Path(__file__).resolve().parents[2]
_PACKAGE = re.compile(r"^package\s+(\S+)", re.M)


def rule_folders(root: Path) -> list[Path]:
    """policies/<area>/<rule>/ folders that hold a rule: <rule>.rego defining `findings`."""
    return sorted(
        d
        for area in root.iterdir()
        if area.is_dir()
        for d in area.iterdir()
        if (d / f"{d.name}.rego").is_file()
        and re.search(r"^findings contains", (d / f"{d.name}.rego").read_text(encoding="utf-8"), re.M)
    )


def test_every_rule_package_matches_its_folder_so_main_finds_it():
    root = policies_dir()
    folders = rule_folders(root)
    assert folders, "no rule folder found"
    for d in folders:
        m = _PACKAGE.search((d / f"{d.name}.rego").read_text(encoding="utf-8"))
        assert m and m.group(1) == f"offhost.{d.parent.name}.{d.name}", f"{d}: package {m and m.group(1)}"


def test_main_reaches_every_area_and_lists_no_rule():
    root = policies_dir()
    main = (root / "main" / "main.rego").read_text(encoding="utf-8")
    # stage 1 (findings) and stage 2 (job_findings: the job rules, findings/jobs.py) together
    areas = re.findall(r"^(?:job_)?findings contains f if some f in data\.offhost\.(\w+)\[_\]\.findings$", main, re.M)
    assert sorted(areas) == sorted({d.parent.name for d in rule_folders(root)})
    assert not re.search(r"data\.offhost\.\w+\.\w+\.findings", main), "main.rego names a rule"


def test_a_new_rule_folder_is_evaluated_without_being_listed(tmp_path):
    root = shutil.copytree(policies_dir(), tmp_path / "policies", ignore=shutil.ignore_patterns("*_test.rego"))
    rule = root / "vm" / "always_unknown" / "always_unknown.rego"
    rule.parent.mkdir()
    rule.write_text(
        "package offhost.vm.always_unknown\n\nimport rego.v1\n\nimport data.offhost.lib.result\n\n"
        'findings contains result.unknown("OHP-031", result.proxy_subject("X"), ["nothing"]) if true\n',
        encoding="utf-8",
    )
    doc = facts.load(ROOT / "examples" / "facts" / "csv-cluster-healthy.json")
    before = audit.evaluate_facts(doc)
    after = audit.evaluate_facts(doc, policies=root)
    added = [f for f in after if f not in before]
    assert [(f["rule_id"], f["status"], f["subject"]["name"]) for f in added] == [("OHP-031", "unknown", "X")]
