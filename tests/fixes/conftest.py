"""Fix-script fixtures: every shipped lab scenario collected once through the lab (the real WinRM
client and the real policies), and a helper that writes a fix folder."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from offhost_audit import fixes
from offhost_audit.lab import demo, scenario


@pytest.fixture(scope="session")
def lab_runs() -> dict[str, tuple[dict, list]]:
    """{scenario: (facts, findings)} for every shipped scenario."""
    out = {}
    for name in scenario.shipped():
        r = demo.run_scenario(name)
        out[name] = (r["facts"], r["findings"])
    return out


@pytest.fixture
def lab_run(lab_runs):
    def get(name: str) -> tuple[dict, list]:
        facts, found = lab_runs[name]
        return copy.deepcopy(facts), copy.deepcopy(found)

    return get


def write_folder(tmp_path: Path, plan: fixes.FixPlan, name: str = "fix") -> Path:
    from offhost_audit.reports import fix_folder

    out = tmp_path / name
    fix_folder.write(out, plan)
    return out
