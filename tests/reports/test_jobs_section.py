"""The jobs section at the top of the HTML and Markdown reports: each job, what happens to each source
tonight, what stops each candidate proxy; in headless Chromium each rule links to the findings behind
it, at a desktop (1400 px) and a phone (400 px) width. Host text is escaped; without a jobs list the
section says where jobs come from."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from offhost_audit import audit, facts as facts_doc
from offhost_audit.reports.render import render

ROOT = Path(__file__).resolve().parents[2]
BASE = facts_doc.load(ROOT / "examples" / "facts" / "csv-cluster-jobs.json")
EVIL_JOB = 'Nightly <img src=x onerror=alert(1)> | "q" \x1b[2J'


def _report(tmp_path: Path, *, at_risk: bool = True, jobs: bool = True, name: str | None = None) -> Path:
    doc = copy.deepcopy(BASE)
    if at_risk:  # the only proxy joins the cluster: Nightly falls back to on-host, SQL pinned fails
        doc["hosts"][0]["cluster"] = {"member": True, "name": "HVCL01"}
        doc["clusters"][0]["nodes"].append("PROXY01")
    if not jobs:
        del doc["vbr"]["jobs"]
    if name:
        doc["vbr"]["jobs"][0]["name"] = name
    doc = facts_doc.validate(doc, source="hand-made estate")
    run = audit.record_run(doc, audit.evaluate_facts(doc), db=tmp_path / "h.sqlite")
    render(run, ["html", "md"], tmp_path, fail_on="high", stamp=False)
    return tmp_path


def _open(drv, url: str, width: int) -> None:
    drv.set_window_size(width, 900)
    drv.get("about:blank")
    drv.get(url)
    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )


def _shown_rules(drv) -> list[tuple[str, str]]:
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('#window .row:not(.grp)'))"
        ".map(function (e) { return [e.querySelector('.c-rule').textContent, e.querySelector('.c-subj').textContent]; })"
    )


@pytest.mark.parametrize("width", [1400, 400])
def test_the_jobs_section_comes_first_and_its_links_open_what_blocks_each_job(chrome, tmp_path, width):
    page = _report(tmp_path) / "latest.html"
    _open(chrome, page.as_uri(), width)
    headings = [h.text for h in chrome.find_elements("css selector", "h2")]
    assert headings[:2] == ["Jobs tonight", "Summary"]
    assert chrome.find_element("id", "job-tally").text.startswith(
        "Jobs: 2 of 2 at risk (1 fails, 1 falls back to on-host, 0 unknown); 0 off-host."
    )
    rows = [r.text for r in chrome.find_elements("css selector", "#jobs tr.job")]
    assert len(rows) == 2 and rows[0].startswith("SQL pinned fails") and rows[1].startswith("Nightly falls back")
    assert "runs on-host tonight, silently (fail-over to on-host is on)" in rows[1]
    assert "PROXY01: blocked by OHP-010" in rows[1]
    # readable at either width: nothing wider than the window, each cell inside it
    scroll, inner = chrome.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= inner
    for td in chrome.find_elements("css selector", "#jobs td"):
        right = chrome.execute_script("return arguments[0].getBoundingClientRect().right", td)
        assert right <= inner, (td.text, right, inner)

    # the blocking rule: the findings of that rule for that candidate proxy
    link = chrome.find_elements("css selector", "#jobs tr.job")[1].find_element("link text", "OHP-010")
    link.click()
    WebDriverWait(chrome, 10).until(
        lambda d: d.find_element("id", "q").get_attribute("value") == 'rule:OHP-010 proxy:"PROXY01"'
    )
    WebDriverWait(chrome, 10).until(lambda d: _shown_rules(d) == [["OHP-010", "PROXY01 -> HVCL01"]])
    # the verdict: the job's own finding
    chrome.find_elements("css selector", "#jobs tr.job")[1].find_element("link text", "falls back to on-host").click()
    WebDriverWait(chrome, 10).until(lambda d: _shown_rules(d) == [["OHP-040", "Nightly -> cluster HVCL01"]])


def test_a_pinned_disabled_proxy_links_the_job_proxy_finding(chrome, tmp_path):
    doc = copy.deepcopy(BASE)
    doc["vbr"]["proxies"][0]["disabled"] = True
    doc = facts_doc.validate(doc, source="hand-made estate")
    run = audit.record_run(doc, audit.evaluate_facts(doc), db=tmp_path / "h.sqlite")
    render(run, ["html"], tmp_path, stamp=False)
    _open(chrome, (tmp_path / "latest.html").as_uri(), 1400)
    row = next(r for r in chrome.find_elements("css selector", "#jobs tr.job") if r.text.startswith("SQL pinned"))
    assert "PROXY01: disabled in VBR (OHP-041)" in row.text
    row.find_element("link text", "OHP-041").click()
    WebDriverWait(chrome, 10).until(lambda d: _shown_rules(d) == [["OHP-041", "SQL pinned -> PROXY01"]])


def test_markdown_starts_with_the_jobs(tmp_path):
    md = (_report(tmp_path) / "latest.md").read_text(encoding="utf-8")
    assert md.index("## Jobs tonight") < md.index("| findings |") < md.index("## Proxies")
    section = md.split("## Jobs tonight\n", 1)[1].split("\n## ", 1)[0]
    assert "Jobs: 2 of 2 at risk (1 fails, 1 falls back to on-host, 0 unknown); 0 off-host." in section
    assert (
        "| Nightly | cluster HVCL01 | **falls back to on-host**: runs on-host tonight, silently "
        "(fail-over to on-host is on) | PROXY01: blocked by OHP-010 |" in section
    )
    assert "| SQL pinned | vm SQL01 | **fails**: the job fails (fail-over to on-host is off) |" in section


def test_healthy_jobs_say_through_which_proxy(tmp_path):
    out = _report(tmp_path, at_risk=False)
    md = (out / "latest.md").read_text(encoding="utf-8")
    assert "| Nightly | cluster HVCL01 | **off-host**: off-host through PROXY01 | PROXY01 |" in md
    assert "Jobs: 0 of 2 at risk" in (out / "latest.html").read_text(encoding="utf-8")


def test_without_jobs_both_reports_say_where_jobs_come_from(tmp_path):
    out = _report(tmp_path, jobs=False)
    want = "No jobs read from the backup server (discover/--backup-server reads them)."
    assert f'<p class="note" id="no-jobs">{want}</p>' in (out / "latest.html").read_text(encoding="utf-8")
    assert f"## Jobs tonight\n\n{want}\n" in (out / "latest.md").read_text(encoding="utf-8")


def test_a_hostile_job_name_is_escaped_in_both_reports(tmp_path):
    out = _report(tmp_path, name=EVIL_JOB)
    html = (out / "latest.html").read_text(encoding="utf-8")
    section = html.split('<h2 id="jobs-tonight">', 1)[1].split("<h2>", 1)[0]
    assert "<img" not in section and "&lt;img src=x onerror=alert(1)&gt;" in section and "\x1b" not in section
    md = (out / "latest.md").read_text(encoding="utf-8").split("## Jobs tonight", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in md.splitlines() if "onerror" in line)
    assert "<img" not in row and "\x1b" not in row and row.count(" | ") == 3  # the name's pipe is escaped
    assert json.dumps(EVIL_JOB) not in html


def test_an_s2d_cluster_says_why_its_jobs_run_on_host_and_links_the_finding(chrome, tmp_path):
    doc = copy.deepcopy(BASE)
    doc["clusters"][0]["s2d_enabled"] = True
    doc = facts_doc.validate(doc, source="hand-made estate")
    run = audit.record_run(doc, audit.evaluate_facts(doc), db=tmp_path / "h.sqlite")
    render(run, ["html", "md"], tmp_path, stamp=False)
    md = (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert "cluster HVCL01: Storage Spaces Direct, processed on-host only (OHP-043) |" in md
    _open(chrome, (tmp_path / "latest.html").as_uri(), 1400)
    row = next(r for r in chrome.find_elements("css selector", "#jobs tr.job") if r.text.startswith("Nightly"))
    assert "falls back to on-host" in row.text and "PROXY01: ready" in row.text  # the proxy is not the problem
    row.find_element("link text", "OHP-043").click()
    WebDriverWait(chrome, 10).until(lambda d: _shown_rules(d) == [["OHP-043", "HVCL01"]])


def test_markdown_lists_200_job_sources_and_counts_the_rest(tmp_path):
    doc = copy.deepcopy(BASE)
    nightly = doc["vbr"]["jobs"][0]
    doc["vbr"]["jobs"] = [dict(nightly, name=f"Job {i:03d}") for i in range(250)]
    doc = facts_doc.validate(doc, source="hand-made estate")
    run = audit.record_run(doc, audit.evaluate_facts(doc), db=tmp_path / "h.sqlite")
    render(run, ["md", "html"], tmp_path, stamp=False)
    section = (tmp_path / "latest.md").read_text(encoding="utf-8").split("## Jobs tonight\n", 1)[1].split("\n## ", 1)[0]
    assert sum(line.startswith("| Job ") for line in section.splitlines()) == 200
    assert "50 more job sources (those at risk are listed first): see the HTML report." in section
    assert (tmp_path / "latest.html").read_text(encoding="utf-8").count('<tr class="job') == 250
