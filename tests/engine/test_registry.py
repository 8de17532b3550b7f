"""Every rule folder under policies/<area>/ is listed in policies/main/main.rego, and nothing else is."""

from __future__ import annotations

import re

from offhost_audit.resources import policies_dir

AREAS = ("general", "csv", "smb", "vm")


def test_main_lists_every_rule_exactly_once():
    root = policies_dir()
    folders = {
        f"{area}.{d.name}"
        for area in AREAS
        for d in (root / area).iterdir()
        if d.is_dir() and (d / f"{d.name}.rego").is_file()
    }
    main = (root / "main" / "main.rego").read_text()
    listed = re.findall(r"^findings contains f if some f in data\.offhost\.(\w+\.\w+)\.findings$", main, re.M)
    assert len(listed) == len(set(listed)), "a rule is listed twice"
    assert set(listed) == folders
    assert len(folders) == 17
