"""The matrix keys proxies and sources by names.norm_name, the rules' form: an assignment that names the
proxy or a cluster by its DNS name is the same row and column as the findings that name them short."""

from __future__ import annotations

import json

from textual.widgets import DataTable
from tuikit import EXAMPLES, drive, settle

from offhost_audit.tui import estate
from offhost_audit.tui.session import Session


def test_a_proxy_assigned_by_its_dns_name_is_one_row_with_the_findings_verdict(tmp_path):
    doc = json.loads((EXAMPLES / "csv-cluster-problems.json").read_text(encoding="utf-8"))
    doc["assignments"][0]["proxy"] = "proxy01.corp.example"
    doc["assignments"][0]["sources"][0]["name"] = "hvcl01.corp.example"
    path = tmp_path / "dns-names.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    s = Session.from_facts_file(str(path))
    short = Session.from_facts_file(str(EXAMPLES / "csv-cluster-problems.json"))  # the same estate, short names
    blocking = estate.matrix(short.facts, short.findings).cell("PROXY01", ("cluster", "HVCL01")).blocking
    seen = {}

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        table = app.screen.query_one("#matrix-table", DataTable)
        seen["header"] = [str(c.label) for c in table.columns.values()]
        seen["rows"] = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]

    drive(s, body)
    assert blocking == ["OHP-011", "OHP-012", "OHP-013"]  # the pair's verdict (OHP-013: its nodes' VSS)
    assert len(seen["rows"]) == 1, seen["rows"]  # one proxy, however the assignment spells it
    hvcl01 = [h for h in seen["header"] if h.lower().startswith("cluster hvcl01")]
    assert len(hvcl01) == 1, seen["header"]
    row = dict(zip(seen["header"], seen["rows"][0]))
    assert row[hvcl01[0]] == "✘ 011,012,013"
