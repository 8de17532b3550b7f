"""Reports for every shipped lab scenario, as a user gets them: collected over WinRM from the lab,
stored in the history, rendered in every format, JUnit and SARIF validated, the HTML opened in chromium."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import xmlschema

sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
import browser

from offhost_audit import audit
from offhost_audit.lab import demo, scenario
from offhost_audit.reports.render import FORMATS, render
from offhost_audit.store.history import History

SCHEMAS = Path(__file__).parent / "schemas"


@pytest.mark.parametrize("name", scenario.shipped())
def test_scenario_reports(name, tmp_path, chrome):
    from selenium.webdriver.support.ui import WebDriverWait

    r = demo.run_scenario(name)
    db = tmp_path / "h.sqlite"
    run = audit.record_run(r["facts"], r["findings"], db=db)
    with History(db) as h:
        stored = h.load(run.id)
    paths = render(stored, list(FORMATS), tmp_path / "out", trend=None, fail_on="high")
    out = tmp_path / "out"
    assert {p.name for p in paths if p.name.startswith("latest.")} == {f"latest.{ext}" for _, ext in FORMATS.values()}

    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(str(out / "latest.junit.xml"))
    sarif_doc = json.loads((out / "latest.sarif").read_text())
    errors = list(
        jsonschema.Draft4Validator(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())).iter_errors(sarif_doc)
    )
    assert not errors, [e.message for e in errors[:3]]
    problems = [f for f in stored.findings if f["status"] in ("fail", "unknown", "waived")]
    assert len(sarif_doc["runs"][0]["results"]) == len(problems)
    assert len((out / "latest.md").read_bytes()) < 1024 * 1024

    page = out / "latest.html"
    chrome.get_log("performance")
    chrome.get(page.as_uri())
    WebDriverWait(chrome, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )
    assert chrome.find_element("id", "count").text == f"{len(problems)} of {len(stored.findings)} findings"
    for rule in (
        r["scenario"]["expect"].get("fail") or []
    ):  # each failure the scenario was built with, found by the filter
        chrome.execute_script(
            "document.getElementById('q').value = arguments[0];"  # a change event filters at once
            "document.getElementById('f-status').dispatchEvent(new Event('change'))",
            rule,
        )
        want = sum(f["rule_id"] == rule and f["status"] in ("fail", "unknown", "waived") for f in stored.findings)
        rows = {e.get_attribute("textContent") for e in chrome.find_elements("css selector", "#window .row .c-rule")}
        assert want > 0 and rule in rows  # (other rows may mention the rule id in their message)
    assert browser.requests_made(chrome) == [page.as_uri()]
    assert browser.console_errors(chrome) == []
