"""The filter language and the sorted index (no Textual)."""

from __future__ import annotations

import pytest

from offhost_audit.tui.query import Index, QueryError, parse


def _f(rule, status, sev, name, message="", **subject):
    return {
        "rule_id": rule,
        "status": status,
        "severity": sev,
        "title": f"title of {rule}",
        "subject": {"kind": "proxy_host", "name": name, **subject},
        "message": message,
    }


FINDINGS = [
    _f("OHP-010", "fail", "critical", "PROXY01 -> HVCL02", "proxy is a node", proxy="PROXY01", cluster="HVCL02"),
    _f(
        "OHP-011", "fail", "high", "PROXY01 -> HVCL01/Cluster Disk 2", "LUN not seen", proxy="PROXY01", cluster="HVCL01"
    ),
    _f("OHP-013", "unknown", "high", "PROXY02 -> HV03", "cannot decide", proxy="PROXY02", host="HV03"),
    _f("OHP-001", "pass", "high", "PROXY02", "supported", proxy="PROXY02"),
    _f("OHP-031", "fail", "info", "VM1", "local disk", host="HV03", vm="VM1"),
    _f("OHP-012", "waived", "high", "PROXY01 -> HVCL01/Cluster Disk 1", "dedup", proxy="PROXY01"),
]


def rules(query, **kw):
    idx = Index(FINDINGS)
    return [FINDINGS[i]["rule_id"] for i in idx.select(query, **kw)]


def test_free_text_matches_rule_title_subject_and_message_case_insensitively():
    assert rules("lun") == ["OHP-011"]
    assert rules("cluster disk") == ["OHP-011", "OHP-012"]
    assert rules('"Cluster Disk 2"') == ["OHP-011"]
    assert rules("title of OHP-001") == ["OHP-001"]


def test_key_terms():
    assert rules("sev:critical") == ["OHP-010"]
    assert rules("sev:high+") == ["OHP-010", "OHP-011", "OHP-013", "OHP-001", "OHP-012"]
    assert rules("status:fail") == ["OHP-010", "OHP-011", "OHP-031"]
    assert rules("status:unknown,waived") == ["OHP-013", "OHP-012"]
    assert rules("status:na") == []
    assert rules("rule:OHP-01") == ["OHP-010", "OHP-011", "OHP-013", "OHP-012"]
    assert rules("rule:ohp-010") == ["OHP-010"]
    assert rules("host:hv03") == ["OHP-031", "OHP-013"]  # a failure before an unknown
    assert rules("host:PROXY02") == ["OHP-013", "OHP-001"]


def test_terms_combine_and_negate():
    assert rules("status:fail sev:high+ host:PROXY01") == ["OHP-010", "OHP-011"]
    assert rules("-status:pass host:PROXY02") == ["OHP-013"]
    assert rules("-lun status:fail") == ["OHP-010", "OHP-031"]


def test_toggles_hide_passes_and_waived():
    assert "OHP-001" not in rules("", hide_pass=True)
    assert "OHP-012" not in rules("", hide_waived=True)
    assert len(rules("")) == len(FINDINGS)


def test_sort_by_any_column_and_reverse():
    assert rules("", sort="rule") == sorted(f["rule_id"] for f in FINDINGS)
    assert rules("", sort="rule", reverse=True) == sorted((f["rule_id"] for f in FINDINGS), reverse=True)
    assert rules("", sort="severity")[0] == "OHP-010" and rules("", sort="severity")[-1] == "OHP-031"
    assert rules("", sort="subject") == ["OHP-012", "OHP-011", "OHP-010", "OHP-001", "OHP-013", "OHP-031"]
    assert rules("", sort="message")[0] == "OHP-013"  # "cannot decide"
    # the default order: failures, unknowns, then the rest; most severe first
    assert rules("")[:4] == ["OHP-010", "OHP-011", "OHP-031", "OHP-013"]


def test_bad_names_are_reported():
    with pytest.raises(QueryError, match="unknown severity 'hihg'"):
        parse("sev:hihg")
    with pytest.raises(QueryError, match="unknown status"):
        parse("status:broken")
    assert parse("status:u,n")[0].values == ("unknown", "not_applicable")
    assert parse("C:\\VMs")[0].key == "text"  # an unknown key is free text (paths hold colons)
    assert parse('"unbalanced')[0].values == ("unbalanced",)


def test_prefixes_of_status_and_severity_names_while_typing():
    assert rules("status:f") == rules("status:fail")
    assert rules("sev:crit") == ["OHP-010"]
    assert rules("sev:h+") == rules("sev:high+")


def test_a_key_without_a_value_yet_does_not_constrain():
    assert rules("sev:") == rules("")
    assert rules("status:, host:") == rules("")
