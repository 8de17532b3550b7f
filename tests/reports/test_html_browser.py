"""The HTML report opened as a user would: Debian's headless chromium through chromedriver (selenium)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
import browser
import sample

from offhost_audit import audit
from offhost_audit.reports.render import render
from offhost_audit.store.history import History


def _open(drv, path: Path):
    drv.get_log("performance")  # drop what earlier pages logged
    drv.get_log("browser")
    drv.get(path.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"
    )


def _count(drv) -> str:
    return drv.find_element("id", "count").text


def _wait_count(drv, text: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 10).until(lambda d: _count(d) == text)


def test_renders_filters_and_makes_no_request(chrome, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.support.ui import Select

    render(sample.run(), ["html"], tmp_path, previous=sample.previous(), trend=sample.trend(), stamp=False)
    page = tmp_path / "latest.html"
    _open(chrome, page)
    assert _count(chrome) == "6 of 9 findings"  # fail, unknown, waived by default
    subjects = [e.get_attribute("textContent") for e in chrome.find_elements("css selector", "#window .row .c-subj")]
    assert sample.EVIL_VM in subjects  # shown as text
    assert f"PROXY01 -> \\\\FS01\\{sample.EVIL_SHARE}" in subjects
    assert chrome.execute_script("return document.scripts.length") == 2  # nothing injected
    with pytest.raises(NoAlertPresentException):
        _ = chrome.switch_to.alert.text
    groups = [e.text for e in chrome.find_elements("css selector", "#window .row.grp")]
    assert groups and groups[0].startswith("proxy PROXY01")

    chrome.find_element("id", "q").send_keys("hvcl02")
    _wait_count(chrome, "1 of 9 findings")
    Select(chrome.find_element("id", "f-status")).select_by_value("all")
    _wait_count(chrome, "1 of 9 findings")
    chrome.find_element("id", "q").clear()
    chrome.execute_script("document.getElementById('q').dispatchEvent(new Event('input'))")
    _wait_count(chrome, "9 of 9 findings")
    Select(chrome.find_element("id", "f-sev")).select_by_value("critical")
    _wait_count(chrome, "1 of 9 findings")
    Select(chrome.find_element("id", "f-sev")).select_by_value("all")
    Select(chrome.find_element("id", "f-group")).select_by_value("rule")
    _wait_count(chrome, "9 of 9 findings")

    chrome.execute_script(
        "Array.from(document.querySelectorAll('#window .row'))"
        ".find(function (e) { return e.textContent.indexOf('alert(1)') >= 0; }).click()"
    )
    assert chrome.find_element("id", "detail").is_displayed()
    assert chrome.find_element("id", "d-evidence").text == f'vms[0].name = "{sample.EVIL_VM}"'
    assert chrome.find_element("id", "d-remediation").text == "Fix OHP-031: do the thing."
    assert chrome.find_element("id", "d-doc").get_attribute("href") == sample.DOC

    assert chrome.find_element("css selector", "#trend polyline.s-fail") is not None
    assert chrome.find_element("css selector", "#diff tr.d-regressed td.n").text == "1"
    chrome.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    assert len(chrome.find_elements("css selector", "#print-list .row")) > 9  # every filtered row plus group headers

    assert browser.requests_made(chrome) == [page.as_uri()]  # zero requests besides the file itself
    assert browser.console_errors(chrome) == []  # no CSP violation, no script error


def test_large_report_draws_only_what_is_visible(chrome, tmp_path):
    render(sample.many(50_000), ["html"], tmp_path, stamp=False)
    _open(chrome, tmp_path / "latest.html")
    assert _count(chrome) == "10000 of 50000 findings"
    assert len(chrome.find_elements("css selector", "#window .row")) < 120
    chrome.execute_script(
        "var l = document.getElementById('list'); l.scrollTop = l.scrollHeight / 2;l.dispatchEvent(new Event('scroll'))"
    )
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(chrome, 10).until(
        lambda d: d.execute_script(
            "var r = document.querySelector('#window .row:not(.grp) .c-subj'); return r && r.textContent > 'VM010000'"
        )
    )
    assert browser.console_errors(chrome) == []


def test_two_runs_with_a_fix_show_fixed(chrome, tmp_path, evaluated):
    bad_facts, bad = evaluated["csv-cluster-problems"]
    good_facts, good = evaluated["csv-cluster-healthy"]
    db = tmp_path / "h.sqlite"
    audit.record_run(bad_facts, bad, db=db)
    run = audit.record_run(good_facts, good, db=db)
    with History(db) as h:
        render(h.load(run.id), ["html"], tmp_path, previous=h.previous(run.id), trend=h.runs(), stamp=False)
    _open(chrome, tmp_path / "latest.html")
    assert chrome.find_element("css selector", "#diff tr.d-fixed td.n").text == "4"
    not_eval = chrome.find_element("css selector", "#diff tr.d-not_evaluated").text
    assert "HVCL02 not in scope" in not_eval
    assert len(chrome.find_elements("css selector", "#trend circle")) == 2


def test_printing_prints_the_filtered_findings(chrome, tmp_path):
    import base64

    from selenium.webdriver.common.print_page_options import PrintOptions

    render(sample.run(), ["html"], tmp_path, stamp=False)
    _open(chrome, tmp_path / "latest.html")
    chrome.execute_script(
        "window.__printed = -1; window.addEventListener('beforeprint', function () {"
        "window.__printed = document.querySelectorAll('#print-list .row:not(.grp)').length; });"
    )
    pdf = base64.b64decode(chrome.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF") and chrome.execute_script("return window.__printed") == 6
    assert chrome.execute_script("return document.getElementById('print-list').children.length") == 0  # afterprint
