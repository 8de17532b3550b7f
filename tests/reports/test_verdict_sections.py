"""The HTML and Markdown proxies sections: each proxy links to its findings (opened in headless
Chromium, the link fills the findings filter with the proxy's name), not ready first, counts with
thousands separators."""

from __future__ import annotations

import re

from selenium.webdriver.support.ui import WebDriverWait

from offhost_audit import audit
from offhost_audit.reports.render import render


def test_a_proxy_link_filters_the_findings_to_that_proxy(problems, tmp_path, chrome):
    facts, found = problems
    run = audit.record_run(facts, found, db=tmp_path / "h.sqlite")
    render(run, ["html"], tmp_path, fail_on="high", stamp=False)
    chrome.get((tmp_path / "latest.html").as_uri())
    WebDriverWait(chrome, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )
    links = chrome.find_elements("css selector", "#proxies a")
    assert [a.text for a in links] == ["PROXY01"]
    links[0].click()
    WebDriverWait(chrome, 10).until(lambda d: d.find_element("id", "q").get_attribute("value") == "proxy:PROXY01")
    rows = chrome.find_elements("css selector", "#window .row")
    want = sum(f["status"] in ("fail", "unknown", "waived") and f["subject"].get("proxy") == "PROXY01" for f in found)
    assert want > 0 and len(rows) >= want
    assert chrome.execute_script("return location.hash") == "#q=proxy%3APROXY01"


def test_counts_have_thousands_separators_and_the_proxies_come_not_ready_first(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "support"))
    import sample

    run = sample.many(12_000, fail_every=8)  # 40 proxies; failing VMs under every 8th one
    render(run, ["html", "md"], tmp_path, fail_on="high", stamp=False)
    page = (tmp_path / "latest.html").read_text(encoding="utf-8")
    md = (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert "<b>12,000</b>findings" in page and "| 12,000 | " in md
    states = re.findall(r'<tr><td><a href="#q=proxy%3APROXY\d+"[^>]*>PROXY\d+</a></td><td class="v-([a-z-]+)">', page)
    assert len(states) == 40 and "ready" in states and "not-ready" in states
    assert states == sorted(states, key=["not-ready", "unknown", "ready-with-warnings", "ready"].index)


def test_markdown_lists_the_first_100_proxies_and_counts_the_rest(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "support"))
    import sample

    run = sample.many(3_000, fail_every=10)
    for i, f in enumerate(run.findings):
        f["subject"]["proxy"] = f"PROXY{i % 250:03d}"
    render(run, ["md", "html"], tmp_path, fail_on="high", stamp=False)
    md = (tmp_path / "latest.md").read_text(encoding="utf-8")
    proxies = md.split("\n## Proxies\n", 1)[1].split("\n## ", 1)[0]
    assert sum(line.startswith("| PROXY") for line in proxies.splitlines()) == 100
    assert "150 more proxies (the not ready are listed first): see the HTML report." in proxies
    assert (tmp_path / "latest.html").read_text(encoding="utf-8").count('<a href="#q=proxy%3APROXY') == 250


def test_an_unknown_findings_detail_says_how_to_get_the_fact(tmp_path, chrome):
    """faults, audited through the lab: PROXY72 answered HTTP 401, so its OS rule is unknown; the detail
    pane says to check the credentials, not to rebuild the proxy's OS (the rule's fix)."""
    from offhost_audit.lab import demo

    r = demo.run_scenario("faults")
    run = audit.record_run(r["facts"], r["findings"], db=tmp_path / "h.sqlite")
    render(run, ["html"], tmp_path, fail_on="high", stamp=False)
    chrome.get((tmp_path / "latest.html").as_uri())
    WebDriverWait(chrome, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )
    chrome.execute_script(
        "document.getElementById('q').value = 'OHP-001';"
        "document.getElementById('f-status').dispatchEvent(new Event('change'))"
    )
    row = next(e for e in chrome.find_elements("css selector", "#window .row") if "OHP-001" in e.text)
    row.click()
    text = chrome.find_element("id", "d-remediation").text
    assert "refused the audit account's credentials" in text and "PROXY72" in text
    assert "rebuild" not in text
