"""The HTML report's proxies table links each proxy to its findings: opened in headless Chromium,
the link fills the findings filter with the proxy's name and the list shows that proxy's problems."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from offhost_audit import audit
from offhost_audit.reports.render import render


def test_a_proxy_link_filters_the_findings_to_that_proxy(problems, tmp_path, chrome):
    facts, found = problems
    run = audit.record_run(facts, found, db=tmp_path / "h.sqlite")
    render(run, ["html"], tmp_path, fail_on="high", stamp=False)
    chrome.get((tmp_path / "latest.html").as_uri())
    WebDriverWait(chrome, 30).until(lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1")
    links = chrome.find_elements("css selector", "#proxies a")
    assert [a.text for a in links] == ["PROXY01"]
    links[0].click()
    WebDriverWait(chrome, 10).until(lambda d: d.find_element("id", "q").get_attribute("value") == "PROXY01")
    rows = chrome.find_elements("css selector", "#window .row")
    want = sum(f["status"] in ("fail", "unknown", "waived") and f["subject"].get("proxy") == "PROXY01" for f in found)
    assert want > 0 and len(rows) >= want
    assert chrome.execute_script("return location.hash") == "#findings:PROXY01"
