"""Report files: golden files per format, escaping, JUnit XSD, SARIF 2.1.0 schema, caps, latest/keep, templates."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from offhost_audit.errors import InputError
from offhost_audit.reports import context, render as render_mod, sarif
from offhost_audit.reports.formats import MARKDOWN_CAP
from offhost_audit.reports.render import FORMATS, parse_formats, render, render_text

sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
import sample

SCHEMAS = Path(__file__).parent / "schemas"


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    _file_extension = "txt"


def _text(fmt: str, run=None, previous=None, trend=None) -> str:
    ctx = context.build(
        run or sample.run(),
        previous=previous if previous is not None else sample.previous(),
        trend=trend if trend is not None else sample.trend(),
        fail_on="high",
    )
    return render_text(fmt, ctx, render_mod.environment())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_golden(fmt, snapshot):
    assert _text(fmt) == snapshot(extension_class=TextSnapshot)


def test_html_escapes_host_text_everywhere():
    html = _text("html")
    assert sample.EVIL_VM not in html and "<script>alert" not in html
    assert html.count("</script>") == 2  # the JSON island and the script: a share called </script> ends neither
    assert "\x1b" not in html and "\x07" not in html
    island = re.search(r'<script type="application/json" id="findings-data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(island)
    assert sample.EVIL_VM in {r[3] for r in data["rows"]} | {r[6] for r in data["rows"]} or any(
        sample.EVIL_VM in r[3] for r in data["rows"]
    )
    assert any(sample.EVIL_SHARE in r[3] for r in data["rows"])
    assert "&lt;b&gt;" in html  # the manifest's error text, escaped by autoescape


def test_html_has_no_external_reference():
    html = _text("html")
    assert not re.search(r'(src|href)="(?!https://helpcenter\.veeam\.com|#)', html)  # in-page links are fine
    from html import unescape

    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1))
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in csp


def test_text_formats_strip_control_characters():
    for fmt in ("md", "csv", "junit", "sarif"):
        text = _text(fmt)
        assert "\x1b" not in text and "\x07" not in text, fmt
    md = _text("md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert r"\|" in md  # a pipe in a message cannot break the table


def test_json_keeps_exact_values():
    data = json.loads(_text("json"))
    assert {f["subject"]["name"] for f in data} >= {sample.EVIL_VM, f"PROXY01 -> {sample.ESC_HOST}"}
    jsonschema.validate(data, json.loads((Path(__file__).parents[2] / "schema" / "findings.schema.json").read_text()))


def test_csv_cells_are_never_formulas():
    run = sample.run()
    run.findings[6]["message"] = '=HYPERLINK("http://x")'
    text = _text("csv", run=run)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def _junit_schema():
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


def test_junit_validates_and_maps_statuses():
    xml = _text("junit")
    _junit_schema().validate(xml)
    doc = _junit_schema().to_dict(xml)
    cases = {c["@name"]: c for s in doc["testsuite"] for c in s["testcase"]}
    assert "failure" in cases["PROXY01 -> HVCL02"]
    assert "error" in cases["PROXY01 -> HV\ufffd]0;pwned\ufffdEVIL\ufffd[2J"]
    assert cases["PROXY01 -> HVCL01/Cluster Disk 2"]["skipped"][0]["@message"] == (
        "waived by waiver W-001 (really fail) until 2027-01-31: moving to ReFS <b>soon</b>; owner ops, approved by ciso, ticket CHG-1"
    )
    assert "not applicable" in cases["PROXY02"]["skipped"][0]["@message"]
    assert "failure" in cases["PROXY01 -> HVCL01/Cluster Disk 1"]  # the expired waiver does not hide it


def test_junit_real_examples_validate(evaluated):
    from offhost_audit import audit

    schema = _junit_schema()
    for facts, found in evaluated.values():
        run = audit.record_run(facts, found, save=False)
        schema.validate(render_text("junit", context.build(run), render_mod.environment()))


def _sarif_validator():
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


def test_sarif_validates_and_carries_what_code_scanning_needs():
    doc = json.loads(_text("sarif"))
    errors = list(_sarif_validator().iter_errors(doc))
    assert not errors, [e.message for e in errors[:5]]
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {f["rule_id"] for f in sample.findings()}
    assert all(r.get("helpUri") and r["help"]["text"] for r in run["tool"]["driver"]["rules"])
    results = run["results"]
    want_uri = "inventory.yaml"  # sample.META's inventory, /etc/offhost/inventory.yaml
    assert len(results) == 6  # fail x4 (one with an expired waiver), unknown, waived; no passes
    for r in results:
        loc = r["locations"][0]
        # the file the run judged, for code scanning (which rejects a result without one); no invented line
        assert loc["physicalLocation"] == {"artifactLocation": {"uri": want_uri}}
        assert loc["logicalLocations"][0]["kind"] == "resource" and loc["logicalLocations"][0]["name"]
        assert re.fullmatch(r"[0-9a-f]{64}", r["partialFingerprints"]["offhostSubject/v1"])
    waived = [r for r in results if r.get("suppressions")]
    assert len(waived) == 1 and "moving to ReFS" in waived[0]["suppressions"][0]["justification"]
    assert (
        json.loads(_text("sarif"))["runs"][0]["results"][0]["partialFingerprints"] == results[0]["partialFingerprints"]
    )


def test_sarif_real_examples_validate(evaluated):
    from offhost_audit import audit

    v = _sarif_validator()
    for name, (facts, found) in evaluated.items():
        run = audit.record_run(facts, found, save=False)
        doc = json.loads(render_text("sarif", context.build(run), render_mod.environment()))
        assert not list(v.iter_errors(doc)), name


def test_sarif_caps_results_and_says_so():
    doc = sarif.build(context.build(sample.many(25_010, fail_every=1)))
    run = doc["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS
    assert run["properties"]["results_omitted"] == 10
    assert "10 of 25010 results left out" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_markdown_stays_under_one_mib():
    run = sample.many(50_000, fail_every=2)
    text = render_text("md", context.build(run), render_mod.environment())
    assert len(text.encode("utf-8")) <= MARKDOWN_CAP
    assert "more row(s) left out" in text and "25000 passed" in text


def test_latest_timestamped_and_keep(tmp_path):
    from offhost_audit.store.history import History

    run = sample.run()
    out = tmp_path / "out"
    with History(tmp_path / "h.sqlite") as h:  # --keep removes what the history's manifest lists
        for i in range(3):
            run.id = 10 + i
            written = render(run, ["md", "csv"], out, keep=2, manifest=h)
            assert out / "latest.md" in written
    names = sorted(p.name for p in out.iterdir())
    assert names.count("latest.md") == 1
    assert len([n for n in names if n.endswith(".md") and n.startswith("offhost-audit-")]) == 2
    assert not [n for n in names if "run10" in n]
    assert not [n for n in names if n.endswith(".tmp")]


def test_template_dir_overrides_one_template(tmp_path):
    (tmp_path / "report.md.j2").write_text("custom {{ counts.fail }} fail(s) for {{ run.meta.profile }}\n")
    ctx = context.build(sample.run())
    assert render_text("md", ctx, render_mod.environment(tmp_path)) == "custom 4 fail(s) for veeam-2025-08\n"
    assert render_text("csv", ctx, render_mod.environment(tmp_path)).startswith("\ufeffrule_id,")  # the others stay
    (tmp_path / "report.html.j2").write_text("{{ findings[1].subject.name }}")
    assert render_text("html", ctx, render_mod.environment(tmp_path)) == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_bad_template_and_formats_are_input_errors(tmp_path):
    (tmp_path / "report.md.j2").write_text("{% for %}\n")
    with pytest.raises(InputError, match="report.md.j2:1: report template error"):
        render_text("md", context.build(sample.run()), render_mod.environment(tmp_path))
    with pytest.raises(InputError, match="unknown report format"):
        parse_formats("html,pdf")
    assert parse_formats("all") == list(FORMATS)
    with pytest.raises(InputError, match="no such folder"):
        render_mod.environment(tmp_path / "nope")


def test_every_report_says_what_changed_since_the_previous_run():
    """Regressed OHP-010, fixed OHP-002, expired waiver OHP-012 (sample.previous -> sample.run)."""
    rows = {
        (r["rule_id"], r["subject"]): r["change"] for r in csv.DictReader(io.StringIO(_text("csv").lstrip("\ufeff")))
    }
    assert rows[("OHP-010", "PROXY01 -> HVCL02")] == "regressed"
    assert rows[("OHP-002", "PROXY02 -> HV01")] == "fixed"
    assert rows[("OHP-012", "PROXY01 -> HVCL01/Cluster Disk 1")] == "waiver_expired"
    sarif_run = json.loads(_text("sarif"))["runs"][0]
    states = {r["ruleId"]: r["baselineState"] for r in sarif_run["results"]}
    assert states["OHP-010"] == "new" and states["OHP-031"] == "unchanged"
    assert sarif_run["properties"]["change_since_previous"]["fixed"] == 1
    doc = _junit_schema().to_dict(_text("junit"))
    props = {
        p["@name"]: p["@value"] for s in doc["testsuite"] for p in (s.get("properties") or [{}])[0].get("property", [])
    }
    assert props["change_since_run_6.regressed"] == "1" and props["change_since_run_6.fixed"] == "1"
    assert "**regressed:** OHP-010" in _text("md") and 'class="d-regressed"' in _text("html")


def test_json_island_replaces_controls_but_keeps_backslashes():
    import json as _json

    from offhost_audit.reports.html import island

    values = [
        "esc\x1b[2J",
        "lit\\u001b",
        "bs-then-esc\\\x1b",
        "C:\\backup\\r",
        "bel\x07 bs\x08 ff\x0c cr\r",
        "c1\x9b bidi\u202e sep\u2028",
        "ok\ttab\nline",
        "</script><!--",
    ]
    text = str(island(values))
    assert "<" not in text and ">" not in text
    back = _json.loads(text)
    assert back == [
        "esc\ufffd[2J",
        "lit\\u001b",
        "bs-then-esc\\\ufffd",
        "C:\\backup\\r",
        "bel\ufffd bs\ufffd ff\ufffd cr\n",
        "c1\ufffd bidi\ufffd sep\ufffd",
        "ok\ttab\nline",
        "</script><!--",
    ]


def test_unwritable_output_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        render(sample.run(), ["md"], blocker)
    from offhost_audit.errors import AuditError

    with pytest.raises(AuditError) as e:  # InputError here, atomic's own OutputError once it has one
        render(sample.run(), ["md"], blocker / "sub")
    assert e.value.exit_code == 2 and str(blocker) in str(e.value)
