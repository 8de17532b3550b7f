"""Faults injected by the lab: the audit completes, the faulty host's rules say unknown, the manifest says why."""

from __future__ import annotations

from offhost_audit import facts as facts_mod
from offhost_audit.audit import evaluate_facts
from offhost_audit.lab import scenario as scenarios

from .conftest import collect_scenario, host, manifest


def test_faulty_estate_completes_and_validates(faulty):
    _, facts = faulty
    assert facts_mod.schema_problems(facts) == []
    assert any(e["status"] == "ok" for e in facts["collection"])


def test_refused_host_is_recorded_once_and_the_rest_skipped(faulty):
    _, facts = faulty
    first = manifest(facts, "HV73", "winrm.system")
    assert first["status"] == "error" and "cannot connect" in first["error"] and "refused" in first["error"].lower()
    rest = [e for e in facts["collection"] if e["target"] == "HV73" and e["collector"] != "winrm.system"]
    assert rest and all(e["status"] == "skipped" and "not attempted" in e["error"] for e in rest)
    assert host(facts, "HV73").get("os") is None


def test_401_names_the_user_never_the_password(faulty):
    sc, facts = faulty
    e = manifest(facts, "PROXY72", "winrm.system")
    assert e["status"] == "error" and "401" in e["error"] and e["error"].endswith(" as lab\\auditor")  # not repr's \\\\
    text = str(facts)
    assert sc["lab"]["password"] not in text


def test_malformed_json_is_an_error_not_a_guess(faulty):
    _, facts = faulty
    e = manifest(facts, "HV72", "winrm.system")
    assert e["status"] == "error" and "not valid JSON" in e["error"]
    assert host(facts, "HV72").get("os") is None and host(facts, "HV72").get("vss_providers") is None


def test_slow_host_with_a_timeout_fault_still_answers(faulty):
    _, facts = faulty
    assert {e["status"] for e in facts["collection"] if e["target"] == "HV71"} == {"ok"}
    assert host(facts, "HV71")["os"]["build"] == 20348


def test_script_error_is_decoded_from_clixml(faulty):
    _, facts = faulty
    e = manifest(facts, "PROXY71", "winrm.storage")
    assert e["status"] == "error" and "Get-Disk : Access denied" in e["error"] and "_x000D_" not in e["error"]
    # PowerShell's CRLF line ends arrive as LF: every face shows the line breaks, none shows U+FFFD
    assert "Access denied\n    + CategoryInfo" in e["error"] and "\r" not in e["error"]
    assert host(facts, "PROXY71").get("storage") is None
    assert manifest(facts, "PROXY71", "winrm.system")["status"] == "ok"


def test_faulty_hosts_rules_are_unknown_never_pass(faulty):
    _, facts = faulty
    found = evaluate_facts(facts)
    by = {(f["rule_id"], f["subject"]["name"]): f["status"] for f in found}
    assert by[("OHP-001", "PROXY72")] == "unknown"
    assert by[("OHP-011", "PROXY71 -> HVCL07/Cluster Disk 1")] == "unknown"
    assert by[("OHP-013", "PROXY71 -> HV72")] == "unknown"
    assert by[("OHP-001", "PROXY71")] == "pass"


def test_call_timeout_bounds_a_slow_host():
    sc = scenarios.load("vhds-vms")
    for h in sc["hosts"]:
        if h["name"] == "HV51":
            h["faults"] = {"latency_s": 3.0}
    _, facts = collect_scenario(sc, call_timeout=1.0, target_timeout=30)
    e = manifest(facts, "HV51", "winrm.system")
    assert e["status"] == "error" and "no answer" in e["error"]
    assert manifest(facts, "HV51", "winrm.vss")["status"] == "skipped"
    assert manifest(facts, "PROXY06", "winrm.system")["status"] == "ok"


def test_target_timeout_stops_after_the_budget():
    sc = scenarios.load("vhds-vms")
    for h in sc["hosts"]:
        if h["name"] == "HV51":
            h["faults"] = {"latency_s": 0.3}
    _, facts = collect_scenario(sc, call_timeout=5.0, target_timeout=1.0)
    entries = [e for e in facts["collection"] if e["target"] == "HV51"]
    assert any("target timeout" in (e["error"] or "") for e in entries)
    assert manifest(facts, "PROXY06", "winrm.services")["status"] == "ok"


def test_http_500_and_dropped_connections_are_errors_with_reasons():
    sc = scenarios.load("vhds-vms")
    for h in sc["hosts"]:
        if h["name"] == "HV51":
            h["faults"] = {"http_500": True}
        if h["name"] == "PROXY06":
            h["faults"] = {"drop": True}
    _, facts = collect_scenario(sc)
    e500 = manifest(facts, "HV51", "winrm.system")
    assert e500["status"] == "error" and "WS-Man fault" in e500["error"]
    drop = manifest(facts, "PROXY06", "winrm.system")
    assert drop["status"] == "error" and drop["error"]


def test_huge_output_still_parses():
    sc = scenarios.load("vhds-vms")
    for h in sc["hosts"]:
        if h["name"] == "HV51":
            h["faults"] = {"huge_output_bytes": 2_000_000}
    _, facts = collect_scenario(sc)
    assert {e["status"] for e in facts["collection"] if e["target"] == "HV51"} == {"ok"}
