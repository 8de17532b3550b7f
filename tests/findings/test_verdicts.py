"""The one verdict function (offhost_audit.findings.verdicts): each case of DECISIONS.md "Verdicts", the exit
code 5 and its words, and an unknown finding's advice on how to get the missing fact."""

from __future__ import annotations

import pytest

from offhost_audit.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNKNOWN
from offhost_audit.findings import unknowns, verdicts

# PROXY01 serves host HV01 and cluster HVCL01 (nodes HV11, HV12); PROXY02 serves HV01 too.
FACTS = {
    "clusters": [{"name": "HVCL01", "nodes": ["HV11", "HV12"]}],
    "assignments": [
        {"proxy": "PROXY01", "sources": [{"kind": "host", "name": "HV01"}, {"kind": "cluster", "name": "HVCL01"}]},
        {"proxy": "PROXY02", "sources": [{"kind": "host", "name": "HV01"}]},
    ],
}


def f(rule: str, status: str, severity: str, **subject: str) -> dict:
    kind = subject.pop("kind", "proxy_host" if "proxy" in subject and "host" in subject else "proxy")
    return {"rule_id": rule, "status": status, "severity": severity, "subject": {"kind": kind, "name": "x", **subject}}


def passing() -> list[dict]:
    return [
        f("OHP-001", "pass", "high", proxy="PROXY01"),
        f("OHP-001", "pass", "high", proxy="PROXY02"),
        f("OHP-002", "pass", "high", proxy="PROXY01", host="HV01"),
        f("OHP-010", "pass", "critical", kind="proxy_cluster", proxy="PROXY01", cluster="HVCL01"),
    ]


def states(findings: list[dict]) -> tuple[dict, dict, dict]:
    v = verdicts.judge(FACTS, findings)
    cells = {(p, c[1]): cell.state for (p, c), cell in v.cells.items()}
    return cells, {s.name: s.state for s in v.by_proxy}, {s.name: s.state for s in v.by_source}


def test_every_pair_passes_so_every_proxy_and_source_is_ready():
    cells, proxies, sources = states(passing())
    assert cells == {("PROXY01", "HV01"): "ready", ("PROXY01", "HVCL01"): "ready", ("PROXY02", "HV01"): "ready"}
    assert proxies == {"PROXY01": "ready", "PROXY02": "ready"}
    assert sources == {"HV01": "ready", "HVCL01": "ready"}


def test_a_high_failure_blocks_only_its_pair_and_the_proxy_says_which_source():
    found = [*passing(), f("OHP-010", "fail", "critical", kind="proxy_cluster", proxy="PROXY01", cluster="HVCL01")]
    v = verdicts.judge(FACTS, found)
    assert v.cell("PROXY01", ("cluster", "HVCL01")).blocking == ["OHP-010"]
    assert v.cell("PROXY01", ("host", "HV01")).state == "ready"
    p1 = v.proxy("PROXY01")
    assert p1 is not None and p1.state == "not_ready"
    assert p1.text == "not ready for cluster HVCL01 (OHP-010); ready for host HV01"
    assert [s.name for s in v.by_proxy] == ["PROXY01", "PROXY02"]  # not ready first


def test_an_info_failure_does_not_block():
    _, proxies, _ = states([*passing(), f("OHP-031", "fail", "info", kind="vm", host="HV01", vm="VM1")])
    assert proxies == {"PROXY01": "ready", "PROXY02": "ready"}


def test_a_medium_failure_gives_ready_with_warnings_naming_the_rule():
    v = verdicts.judge(FACTS, [*passing(), f("OHP-006", "fail", "medium", proxy="PROXY02")])
    p2 = v.proxy("PROXY02")
    assert p2 is not None and p2.state == "ready_with_warnings" and p2.verdict.warnings == ["OHP-006"]
    assert p2.text == "ready with warnings: OHP-006"
    assert v.proxy("PROXY01").state == "ready"  # type: ignore[union-attr]


def test_a_waived_failure_does_not_block():
    waived = f("OHP-001", "waived", "high", proxy="PROXY01")
    _, proxies, _ = states([*passing(), waived])
    assert proxies["PROXY01"] == "ready"


def test_an_undecided_high_rule_makes_the_pair_unknown_naming_it_and_a_failure_outranks_it():
    found = [*passing(), f("OHP-002", "unknown", "high", proxy="PROXY02", host="HV01")]
    v = verdicts.judge(FACTS, found)
    assert v.cell("PROXY02", ("host", "HV01")).state == "unknown"
    assert v.proxy("PROXY02").verdict.unknown == ["OHP-002"]  # type: ignore[union-attr]
    assert v.proxy("PROXY02").text == "unknown: OHP-002"  # type: ignore[union-attr]
    found.append(f("OHP-004", "fail", "high", proxy="PROXY02"))
    assert verdicts.judge(FACTS, found).proxy("PROXY02").state == "not_ready"  # type: ignore[union-attr]


def test_an_undecided_medium_rule_is_a_warning_not_unknown():
    _, proxies, _ = states([*passing(), f("OHP-042", "unknown", "medium", proxy="PROXY01")])
    assert proxies["PROXY01"] == "ready_with_warnings"


def test_a_source_side_failure_blocks_the_pairs_of_that_source_for_every_proxy():
    # a VM on HV01 (no proxy named): both proxies that serve HV01 cannot process it off-host
    vm = f("OHP-030", "fail", "high", kind="vm", host="HV01", vm="SQL1")
    cells, proxies, sources = states([*passing(), vm])
    assert cells[("PROXY01", "HV01")] == cells[("PROXY02", "HV01")] == "not_ready"
    assert cells[("PROXY01", "HVCL01")] == "ready"
    assert proxies == {"PROXY01": "not_ready", "PROXY02": "not_ready"}
    assert sources == {"HV01": "not_ready", "HVCL01": "ready"}


def test_a_cluster_node_finding_counts_for_its_cluster_and_adds_no_host_column():
    share = f("OHP-023", "fail", "high", kind="host_share", host="HV12", share="\\\\NAS01\\OLD")
    node = f("OHP-013", "fail", "high", proxy="PROXY01", host="HV11")
    v = verdicts.judge(FACTS, [*passing(), share, node])
    assert v.cell("PROXY01", ("cluster", "HVCL01")).blocking == ["OHP-013", "OHP-023"]
    assert ("host", "HV11") not in v.columns and ("host", "HV12") not in v.columns
    assert v.cell("PROXY01", ("host", "HV01")).state == "ready"


def test_a_proxy_wide_failure_blocks_every_pair_of_that_proxy():
    cells, proxies, _ = states([*passing(), f("OHP-004", "fail", "high", proxy="PROXY01")])
    assert cells[("PROXY01", "HV01")] == cells[("PROXY01", "HVCL01")] == "not_ready"
    assert cells[("PROXY02", "HV01")] == "ready"


def test_a_source_is_judged_by_every_proxy_that_serves_it():
    v = verdicts.judge(FACTS, [*passing(), f("OHP-002", "fail", "high", proxy="PROXY02", host="HV01")])
    hv01 = next(s for s in v.by_source if s.name == "HV01")
    assert hv01.state == "not_ready"
    assert hv01.text == "not ready via PROXY02 (OHP-002); ready via PROXY01"


def test_proxy_to_file_server_findings_join_the_shares_of_that_server():
    found = [
        f("OHP-021", "pass", "high", kind="proxy_share", proxy="PROXY02", share="\\\\FS01\\VMS"),
        f("OHP-022", "unknown", "high", kind="proxy_server", proxy="PROXY02", server="FS01"),
    ]
    v = verdicts.judge(FACTS, found)
    assert v.cell("PROXY02", ("share", "\\\\FS01\\VMS")).unknown == ["OHP-022"]


def test_a_source_no_proxy_serves_gets_its_own_verdict_and_says_so():
    vm = f("OHP-030", "fail", "high", kind="vm", host="HV99", vm="SQL9")
    v = verdicts.judge(FACTS, [*passing(), vm])
    hv99 = next(s for s in v.by_source if s.name == "HV99")
    assert hv99.state == "not_ready" and hv99.text == "not ready: OHP-030 (no proxy in these facts serves it)"
    assert {s.name: s.state for s in v.by_proxy} == {"PROXY01": "ready", "PROXY02": "ready"}


def test_without_assignments_the_pairs_come_from_the_findings():
    v = verdicts.judge(None, [f("OHP-002", "fail", "high", proxy="P9", host="H9")])
    assert v.proxies == ["P9"] and v.columns == [("host", "H9")]
    assert v.by_proxy[0].text == "not ready: OHP-002"


@pytest.mark.parametrize(
    ("found", "accept", "code"),
    [
        ([f("OHP-001", "fail", "high", proxy="P")], False, EXIT_FINDINGS),
        ([f("OHP-001", "fail", "high", proxy="P"), f("OHP-004", "unknown", "high", proxy="P")], False, EXIT_FINDINGS),
        ([f("OHP-004", "unknown", "high", proxy="P")], False, EXIT_UNKNOWN),
        ([f("OHP-004", "unknown", "high", proxy="P")], True, EXIT_OK),
        ([f("OHP-006", "unknown", "medium", proxy="P")], False, EXIT_OK),  # below --fail-on high
        ([f("OHP-004", "waived", "high", proxy="P")], False, EXIT_OK),
    ],
)
def test_exit_code_follows_fail_on_and_accept_unknown(found, accept, code):
    assert verdicts.exit_code(found, "high", accept_unknown=accept) == code


def test_the_run_sentence_says_in_words_whether_the_run_is_green():
    unknown = [f("OHP-004", "unknown", "high", proxy="P")] * 3
    assert verdicts.run_sentence(unknown, "high") == (
        "No failure at or above high, but 3 finding(s) at or above it could not be decided: the run is not green."
    )
    assert verdicts.run_sentence(unknown, "high", accept_unknown=True).endswith(
        "accepted by --accept-unknown: the run is green."
    )
    assert verdicts.run_sentence(unknown, "critical") == "No failure or unknown at or above critical: the run is green."


# --- an unknown finding's remediation: how to get the fact ------------------------------------------


def _unknown_os(target: str = "PROXY72") -> dict:
    u = f("OHP-001", "unknown", "high", proxy=target)
    u["missing"] = [f"hosts[{target}].os.build"]
    return u


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("PROXY72: authentication failed (HTTP 401) at http://127.0.0.1:1/wsman as 'lab\\auditor'", "credentials"),
        ("PROXY72: cannot connect to http://127.0.0.1:1/wsman ([Errno 111] Connection refused)", "WinRM listener"),
        ("PROXY72: system.ps1 failed (exit 1): Get-CimInstance : Access denied", "rights"),
    ],
)
def test_an_unknown_after_a_collector_error_says_how_to_get_the_fact(error, says):
    failed = unknowns.index(
        [{"target": "proxy72.corp.example", "collector": "winrm.system", "status": "error", "error": error}]
    )
    text = unknowns.how_to_decide(_unknown_os(), failed)
    assert says in text and "proxy72.corp.example" in text  # the machine as the inventory names it
    assert "rebuild" not in text.lower()  # not the rule's fix for a failure it may not have


def test_a_failure_of_another_collector_or_machine_does_not_explain_the_unknown():
    failed = unknowns.index(
        [
            {"target": "PROXY72", "collector": "winrm.storage", "status": "error", "error": "Get-Disk : Access denied"},
            {"target": "HV01", "collector": "winrm.system", "status": "error", "error": "HTTP 401"},
        ]
    )
    assert unknowns.explaining(_unknown_os(), failed) == []
    assert unknowns.how_to_decide(_unknown_os(), failed).startswith("Facts of PROXY72 were not collected")
