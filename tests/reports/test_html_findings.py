"""The HTML findings list as a user works it, in headless chromium at a desktop (1400 px) and a phone
(400 px) width: column headers that sort, keyboard selection, the detail in view, the filter kept in
the address and written in the TUI's syntax, nothing cut off, the trend's dates, no empty headings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
import browser
import sample

from offhost_audit.reports.render import render

WIDTHS = [1400, 400]


@pytest.fixture
def page(tmp_path):
    run = sample.run()
    # a hard-wrapped remediation with a list, as the policies' METADATA blocks write them
    run.findings[0]["remediation"] = (
        "Give the proxy role to a server\noutside the cluster:\n\n- evict PROXY01\n- or use another server"
    )
    render(run, ["html"], tmp_path, previous=sample.previous(), trend=sample.trend(), stamp=False)
    return tmp_path / "latest.html"


def _open(drv, url: str, width: int) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    drv.set_window_size(width, 900)
    drv.get("about:blank")  # a new document even when only the hash differs
    drv.get(url)
    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )


def _rows(drv, cls: str = "c-rule") -> list[str]:
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('#window .row:not(.grp) .' + arguments[0]))"
        ".map(function (e) { return e.textContent; })",
        cls,
    )


def _filter(drv, text: str) -> None:
    drv.execute_script(
        "var q = document.getElementById('q'); q.value = arguments[0];q.dispatchEvent(new Event('input'))", text
    )
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 5).until(
        lambda d: d.execute_script(  # applied: the address holds it
            "return location.hash.split('&').indexOf((location.hash.indexOf('#q=') === 0 ? '#' : '') + 'q=' + encodeURIComponent(arguments[0])) >= 0",
            text,
        )
    )


def _count(drv) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 5).until(lambda d: d.find_element("id", "count").text)
    return drv.find_element("id", "count").text


@pytest.mark.parametrize("width", WIDTHS)
def test_headers_sort_the_list(chrome, page, width):
    from selenium.webdriver.support.ui import Select

    _open(chrome, page.as_uri(), width)
    Select(chrome.find_element("id", "f-group")).select_by_value("none")
    heads = [b.text.rstrip(" ▲▼") for b in chrome.find_elements("css selector", "#head button")]
    assert heads == ["status", "severity", "rule", "subject", "message"]
    assert all(b.is_displayed() for b in chrome.find_elements("css selector", "#head button"))
    chrome.find_element("css selector", '#head [data-sort="rule"]').click()
    assert _rows(chrome) == ["OHP-010", "OHP-011", "OHP-012", "OHP-013", "OHP-020", "OHP-031"]
    assert chrome.find_element("css selector", '#head [data-sort="rule"]').get_attribute("aria-sort") == "ascending"
    chrome.find_element("css selector", '#head [data-sort="rule"]').click()
    assert _rows(chrome) == ["OHP-031", "OHP-020", "OHP-013", "OHP-012", "OHP-011", "OHP-010"]
    assert "sort=rule" in chrome.execute_script("return location.hash") and "desc=1" in chrome.execute_script(
        "return location.hash"
    )
    chrome.find_element("css selector", '#head [data-sort="severity"]').click()
    assert _rows(chrome, "c-sev")[0] == "critical"


@pytest.mark.parametrize("width", WIDTHS)
def test_keyboard_moves_a_highlighted_row_and_opens_the_detail_in_view(chrome, page, width):
    from selenium.webdriver.common.keys import Keys

    _open(chrome, page.as_uri(), width)
    lst = chrome.find_element("id", "list")
    chrome.execute_script("arguments[0].focus()", lst)
    lst.send_keys(Keys.ARROW_DOWN)
    sel = chrome.find_elements("css selector", "#window .row.sel")
    assert len(sel) == 1 and sel[0].find_element("css selector", ".c-rule").text == "OHP-010"
    assert sel[0].value_of_css_property("background-color") != chrome.find_element(
        "css selector", "#window .row:not(.sel):not(.grp)"
    ).value_of_css_property("background-color")
    lst.send_keys("j")
    lst.send_keys("j")
    lst.send_keys("k")
    assert chrome.find_element("css selector", "#window .row.sel .c-rule").text == "OHP-031"
    chrome.execute_script("window.scrollTo(0, 0)")
    lst.send_keys(Keys.ENTER)
    detail = chrome.find_element("id", "detail")
    assert detail.is_displayed() and chrome.find_element("id", "d-title").text.startswith("OHP-031")
    top, bottom, view = chrome.execute_script(
        "var r = document.getElementById('detail').getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]"
    )
    assert 0 <= top < view and (bottom <= view + 1 or top <= 10)  # scrolled into view (whole, or from its top)
    lst.send_keys(Keys.ARROW_UP)  # moving on updates the open detail
    assert chrome.find_element("id", "d-title").text.startswith("OHP-010")
    # typing j in the filter box filters, it does not move the selection
    chrome.find_element("id", "q").send_keys("j")
    assert chrome.find_element("id", "q").get_attribute("value") == "j"


@pytest.mark.parametrize("width", WIDTHS)
def test_filter_in_the_tui_syntax_is_kept_in_the_address(chrome, page, width):
    _open(chrome, page.as_uri(), width)
    _filter(chrome, "status:fail sev:high+")
    assert _count(chrome) == "4 of 9 findings (status from the filter)"
    url = chrome.current_url
    assert "#" in url and "q=status%3Afail%20sev%3Ahigh%2B" in url
    _open(chrome, url, width)  # the bookmarked address opens the same view
    assert chrome.find_element("id", "q").get_attribute("value") == "status:fail sev:high+"
    assert _count(chrome) == "4 of 9 findings (status from the filter)"

    cases = {
        "status:pass": "2 of 9 findings (status from the filter)",  # a status in the filter replaces the list
        "st:na": "1 of 9 findings (status from the filter)",  # aliases and short names as in the TUI
        "host:hvcl02": "1 of 9 findings",
        "cluster:HVCL01": "2 of 9 findings",  # any name of the subject, not only its display name
        "rule:OHP-01": "4 of 9 findings",
        "-status:fail": "2 of 9 findings",
        "sev:crit": "1 of 9 findings",
        '"Cluster Disk 2"': "1 of 9 findings",
        "status:fail,unknown pass-through": "1 of 9 findings (status from the filter)",
    }
    for query, want in cases.items():
        _filter(chrome, query)
        assert _count(chrome) == want, query
    _filter(chrome, "sev:bogus")
    err = chrome.find_element("id", "q-error")
    assert err.is_displayed() and "unknown severity 'bogus'" in err.text
    assert _count(chrome) == "1 of 9 findings (status from the filter)"  # the last good filter stays
    _open(chrome, page.as_uri() + "#q=host%3AHV01&status=all", width)  # a hand-written address
    assert _count(chrome) == "1 of 9 findings"


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_overflows_and_messages_stay_visible(chrome, page, width):
    _open(chrome, page.as_uri(), width)
    scroll, inner = chrome.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= inner, f"page is {scroll} px wide in a {inner} px window"
    for cell in chrome.find_elements("css selector", "#window .row:not(.grp) .c-msg"):
        box = chrome.execute_script(
            "var r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.width]", cell
        )
        assert box[2] >= min(200, width / 2) and box[1] <= inner, box  # a message has room, inside the window
        assert cell.text.strip()


@pytest.mark.parametrize("width", WIDTHS)
def test_trend_has_dates_on_its_axis(chrome, page, width):
    _open(chrome, page.as_uri(), width)
    ticks = [t.get_attribute("textContent") for t in chrome.find_elements("css selector", "#trend text.tick")]
    assert ticks[0] == "2026-11-21" and ticks[-1] == "2026-12-01" and 3 <= len(ticks) <= 6
    boxes = chrome.execute_script(
        "return Array.from(document.querySelectorAll('#trend text.tick')).map(function (t) {"
        " var r = t.getBoundingClientRect(); return [r.left, r.right, r.height]; })"
    )
    assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:])), boxes  # no label over another
    assert min(b[2] for b in boxes) >= 9, boxes  # readable type at either width
    right = chrome.execute_script("return document.getElementById('trend').getBoundingClientRect().right")
    assert right <= chrome.execute_script("return document.documentElement.clientWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_detail_has_no_empty_headings_and_reflowed_remediation(chrome, page, width):
    from selenium.webdriver.support.ui import Select

    _open(chrome, page.as_uri(), width)
    Select(chrome.find_element("id", "f-group")).select_by_value("none")

    def open_rule(rule: str) -> None:
        chrome.execute_script(
            "var rule = arguments[0]; Array.from(document.querySelectorAll('#window .row')).find("
            "function (e) { return e.querySelector('.c-rule').textContent === rule; }).click()",
            rule,
        )

    open_rule("OHP-010")
    waiver_dt = chrome.find_element("css selector", '#detail dt[data-for="d-waiver"]')
    assert not waiver_dt.is_displayed() and not chrome.find_element("id", "d-waiver").is_displayed()
    assert chrome.find_element("id", "d-remediation").get_attribute("textContent") == (
        "Give the proxy role to a server outside the cluster:\n\n- evict PROXY01\n- or use another server"
    )
    assert chrome.find_element("id", "d-status").text == "fail, critical"
    open_rule("OHP-011")
    assert waiver_dt.is_displayed()
    assert chrome.find_element("id", "d-waiver").text.startswith("waiver W-001 (really fail) until 2027-01-31")
    assert "None" not in chrome.find_element("id", "detail").text
    assert browser.console_errors(chrome) == []


def test_the_page_filters_as_the_tui_does(chrome, page):
    """The same queries through offhost_audit/tui/query.py and through the page's port of it."""
    from offhost_audit.tui.query import Index, QueryError

    index = Index(sample.run().findings)
    _open(chrome, page.as_uri() + "#status=all&group=none", 1400)
    queries = [
        "fail",
        "status:f",
        "sev:high",
        "sev:medium+",
        "sev:crit,med",
        "status:waived",
        "-sev:high",
        "rule:ohp-0",
        "rule:OHP-02,OHP-03",
        "host:proxy02",
        "vm:script",
        "share:fs01",
        "title of",
        "proxy01 -> hvcl",
        "'Cluster Disk'",
        "status:na,pass -rule:OHP-001",
        "nothing-matches-this",
    ]
    for query in queries:
        _filter(chrome, query)
        want = len(index.select(query))
        assert _count(chrome).split(" of ")[0] == str(want), query
    for bad in ("sev:x", "status:zz"):
        with pytest.raises(QueryError):
            index.select(bad)
        _filter(chrome, bad)
        assert chrome.find_element("id", "q-error").is_displayed(), bad


@pytest.mark.parametrize("width", WIDTHS)
def test_powershell_error_text_keeps_its_line_break(chrome, tmp_path, width):
    from selenium.webdriver.support.ui import Select

    error = "PROXY71: storage.ps1 failed (exit 1): Get-Disk : Access denied\r\n    + CategoryInfo : NotSpecified"
    run = sample.run()  # a run stored before the collectors made line ends LF: the faces still show a break
    run.facts["collection"][1]["error"] = error
    run.findings[3]["evidence"] = [{"path": "collection[PROXY71/winrm.storage]", "value": error}]
    render(run, ["html"], tmp_path, stamp=False)
    _open(chrome, (tmp_path / "latest.html").as_uri(), width)
    cell = chrome.find_element("css selector", "#manifest-failed td.err").get_attribute("innerText")
    assert cell == "PROXY71: storage.ps1 failed (exit 1): Get-Disk : Access denied\n+ CategoryInfo : NotSpecified"
    Select(chrome.find_element("id", "f-group")).select_by_value("none")
    chrome.execute_script(
        "Array.from(document.querySelectorAll('#window .row')).find(function (e) {"
        " return e.querySelector('.c-rule').textContent === 'OHP-013'; }).click()"
    )
    evidence = chrome.find_element("id", "d-evidence").get_attribute("textContent")
    assert "Access denied\n    + CategoryInfo" in evidence and "\ufffd" not in evidence and "\\\\" not in evidence


@pytest.mark.parametrize("width", WIDTHS)
def test_each_finding_shows_the_remediation_with_its_own_names(chrome, tmp_path, width):
    run = sample.run()
    for i, cluster in ((0, "HVCL02"), (5, "HVCL01")):  # one rule, two subjects (as enrich fills <cluster>)
        run.findings[i]["rule_id"] = "OHP-010"
        run.findings[i]["remediation"] = f"Remove-ClusterNode -Name PROXY01 -Cluster {cluster}"
    render(run, ["html"], tmp_path, stamp=False)
    _open(chrome, (tmp_path / "latest.html").as_uri() + "#group=none", width)  # ungrouped, from the address
    shown = {}
    for subject in ("PROXY01 -> HVCL02", "PROXY01 -> HVCL01/Cluster Disk 1"):
        chrome.execute_script(
            "var s = arguments[0]; Array.from(document.querySelectorAll('#window .row')).find("
            "function (e) { return e.querySelector('.c-subj').textContent === s; }).click()",
            subject,
        )
        shown[subject] = chrome.find_element("id", "d-remediation").text
    assert shown == {
        "PROXY01 -> HVCL02": "Remove-ClusterNode -Name PROXY01 -Cluster HVCL02",
        "PROXY01 -> HVCL01/Cluster Disk 1": "Remove-ClusterNode -Name PROXY01 -Cluster HVCL01",
    }
    note = chrome.find_element("xpath", "//h3[starts-with(., 'OHP-010')]/following-sibling::p[1]").text
    assert note.startswith("For PROXY01 -> HVCL02; each finding's detail names its own")
