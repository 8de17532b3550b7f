"""Host text never becomes markup or terminal control; headless paths never import Textual."""

from __future__ import annotations

import json
import subprocess
import sys

from rich.segment import Segment
from textual.widgets import DataTable
from tuikit import HOSTILE, ROOT, drive, settle

from offhost_audit.tui.session import Session
from offhost_audit.tui.widgets.findings_list import FindingsList


def _strip_text(strip) -> str:
    return "".join(seg.text for seg in strip if isinstance(seg, Segment))


def test_markup_and_escapes_in_host_names_show_as_text_everywhere(hostile_facts):
    doc = json.loads(hostile_facts.read_text(encoding="utf-8"))
    hostile = next(h["name"] for h in doc["hosts"] if "PWN" in h["name"])
    doc["assignments"][0]["sources"].append({"kind": "host", "name": hostile})  # its own matrix column
    hostile_facts.write_text(json.dumps(doc), encoding="utf-8")
    s = Session.from_facts_file(str(hostile_facts))
    s.source = "hostile"
    seen = {}
    # the engine normalises host names to upper case; control characters show as U+FFFD
    shown = "HV01[BOLD RED]PWN[/]\ufffd]0;OWNED\ufffd\ufffd[2J"

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        table = app.screen.query_one("#matrix-table", DataTable)
        seen["matrix_header"] = [c.label.plain for c in table.columns.values()]
        await pilot.press("2")
        await settle(app, pilot)
        app.screen.query_one("#filter").value = "host:pwn"
        await settle(app, pilot)
        lst = app.screen.query_one(FindingsList)
        seen["lines"] = [_strip_text(lst.render_line(y)) for y in range(1, 4)]
        seen["detail"] = app.screen.query_one("#detail-body").render()
        await pilot.press("e")
        await settle(app, pilot)
        seen["facts_status"] = app.screen.query_one("#facts-status").render()
        seen["notes"] = [n.message for n in app._notifications]

    drive(s, body)
    assert f"HOST {shown}" in [h.upper() for h in seen["matrix_header"]]  # spelt as the assignments spell it
    assert seen["lines"] and all("\x1b" not in line and "\x07" not in line for line in seen["lines"])
    assert any("PROXY01 -> HV01[BOLD RED]PWN[/]" in line for line in seen["lines"])
    detail = seen["detail"]
    assert shown in detail.plain  # literally, brackets included
    assert "\x1b" not in detail.plain and not any(detail.plain[sp.start : sp.end] == "PWN" for sp in detail.spans)
    assert "\x1b" not in seen["facts_status"].plain
    assert HOSTILE not in "".join(seen["notes"])


def test_headless_collect_audit_and_evaluate_never_import_textual(tmp_path):
    """The report/history/diff commands are checked the same way in tests/reports/test_cli_reports.py."""
    code = f"""
import os, sys
from offhost_audit.cli import main
from offhost_audit.lab import responder, scenario
from offhost_audit.lab.wsman import LabServer
sc = scenario.load("csv-healthy")
inv = {str(tmp_path / "inv.yaml")!r}
with LabServer(responder.lab_hosts(sc)) as lab:
    open(inv, "w").write(responder.inventory_yaml(sc, lab))
    os.environ.update(responder.lab_env(sc))
    codes = [main(["collect", "-i", inv, "-q", "-o", {str(tmp_path / "facts.json")!r}]),
             main(["audit", "-i", inv, "-q", "--no-history", "--format", "json", "-o", {str(tmp_path / "f.json")!r}]),
             main(["evaluate", "-f", {str(tmp_path / "facts.json")!r}, "--no-history", "-o", {str(tmp_path / "e.txt")!r}])]
print(codes)
print(sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "[0, 0, 0]", out.stderr
    assert lines[-1] == "[]"
