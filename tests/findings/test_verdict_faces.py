"""Every face states the one verdict (DECISIONS.md "Verdicts"): for each shipped lab scenario, audited
through the real lab, the verdicts are computed once (``verdicts.judge``) and the CLI summary, the
TUI dashboard (Textual pilot), the HTML and the Markdown report must say the same per proxy and per
source. Then the cases the verdict issue was filed for, one by one."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

sys.path.insert(0, str(Path(__file__).parents[1] / "tui"))
from tuikit import drive, settle

from offhost_audit import audit
from offhost_audit.findings import verdicts
from offhost_audit.lab import demo, scenario
from offhost_audit.reports import console
from offhost_audit.reports.render import render
from offhost_audit.tui.session import Session

_CACHE: dict[str, dict] = {}


def audited(name: str) -> dict:
    if name not in _CACHE:
        _CACHE[name] = demo.run_scenario(name)
    return _CACHE[name]


def _expected(v: verdicts.Verdicts) -> dict[str, list[tuple[str, str, str]]]:
    """(name as the faces print it, verdict label, the line that says which pairs) per proxy and source."""
    return {
        "proxies": [(s.name, s.verdict.label, s.text) for s in v.by_proxy],
        "sources": [(verdicts.source_label((s.kind, s.name)), s.verdict.label, s.text) for s in v.by_source],
    }


def _cli(found: list, facts: dict) -> dict[str, list[tuple[str, str, str]]]:
    text = console.table_text(found, facts=facts, fail_on="high", width=400)
    out: dict[str, list[tuple[str, str, str]]] = {"proxies": [], "sources": []}
    block = None
    for line in text.splitlines():
        if re.match(r"(Proxies|Sources): \d", line):
            block = "proxies" if line.startswith("Proxies") else "sources"
        elif block and line.startswith("  "):
            name, said = line[2:].split("  ", 1)
            out[block].append((name, _label(said), said))
        else:
            block = None
    return out


def _label(text: str) -> str:
    """The verdict a summary line starts with (a mixed line starts with its worst pairs)."""
    return next(lab for lab in ("ready with warnings", "not ready", "unknown", "ready") if text.startswith(lab))


def _tui(facts: dict, found: list) -> dict[str, list[tuple[str, str, str]]]:
    seen: dict[str, list[tuple[str, str, str]]] = {}

    async def body(app, pilot):
        await settle(app, pilot)
        for key, table_id in (("proxies", "#proxies"), ("sources", "#sources")):
            table = app.screen.query_one(table_id, DataTable)
            rows = [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]
            seen[key] = [(r[0].removeprefix("share "), r[1], r[2]) for r in rows if r[1]]

    drive(Session(facts, found, source="lab"), body, size=(300, 80))
    return seen


def _html_rows(page: str, table_id: str) -> list[tuple[str, str, str]]:
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1) if m else "", re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells:
            rows.append((cells[0].removeprefix("share "), cells[1], cells[2]))
    return rows


def _md_rows(text: str, heading: str) -> list[tuple[str, str, str]]:
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| proxy |", "| source |")):
            cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip("|").split(" | ")]
            rows.append((cells[0].removeprefix("share "), cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("name", scenario.shipped())
def test_every_face_states_the_same_verdict_per_proxy_and_per_source(name, tmp_path):
    r = audited(name)
    facts, found = r["facts"], r["findings"]
    want = _expected(verdicts.judge(facts, found))
    assert want["proxies"], "every scenario has a proxy"

    assert _cli(found, facts) == want

    tui = _tui(facts, found)
    assert tui["proxies"] == [(n, lab, t) for n, lab, t in want["proxies"]]
    assert tui["sources"] == [(n.removeprefix("share "), lab, t) for n, lab, t in want["sources"]]

    run = audit.record_run(facts, found, db=tmp_path / "h.sqlite")
    render(run, ["html", "md"], tmp_path / "out", fail_on="high", stamp=False)
    page = (tmp_path / "out" / "latest.html").read_text(encoding="utf-8")
    md = (tmp_path / "out" / "latest.md").read_text(encoding="utf-8")
    assert _html_rows(page, "proxies") == want["proxies"]
    assert _md_rows(md, "Proxies") == want["proxies"]
    assert _html_rows(page, "sources") == want["sources"]
    assert _md_rows(md, "Sources") == want["sources"]


def _proxy(name: str, proxy: str) -> verdicts.Summary:
    r = audited(name)
    s = verdicts.judge(r["facts"], r["findings"]).proxy(proxy)
    assert s is not None
    return s


def test_smb3_estate_proxy07_is_not_ready_for_hv62_because_of_the_smb21_share():
    p = _proxy("smb3-estate", "PROXY07")
    assert p.state == "not_ready" and p.verdict.blocking == ["OHP-023"]
    assert p.text.startswith("not ready for host HV62 (OHP-023); ")
    assert p.text.endswith("; ready for host HV61")


def test_vhds_vms_proxy06_is_not_ready_beside_the_vhd_set_failures():
    p = _proxy("vhds-vms", "PROXY06")
    assert p.state == "not_ready" and p.verdict.blocking == ["OHP-030"]


def test_proxy_cluster_node_matrix_agrees_with_the_dashboard():
    r = audited("proxy-cluster-node")
    v = verdicts.judge(r["facts"], r["findings"])
    assert v.columns == [("cluster", "HVCL01")]  # the nodes' findings count in their cluster: no "host HV01 ready"
    assert v.cell("HV02", ("cluster", "HVCL01")).blocking == ["OHP-010"]
    assert v.proxy("HV02").state == "not_ready"  # type: ignore[union-attr]


def test_faults_both_proxies_are_unknown_naming_the_undecided_rules():
    r = audited("faults")
    v = verdicts.judge(r["facts"], r["findings"])
    assert {s.name: s.state for s in v.by_proxy} == {"PROXY71": "unknown", "PROXY72": "unknown"}
    assert "OHP-001" in v.proxy("PROXY72").verdict.unknown  # type: ignore[union-attr]
