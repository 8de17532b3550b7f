"""Stage 2 (findings/jobs.py, policies/jobs/): the job rules judged over stage 1's pair verdicts,
on a hand-made estate: the healthy CSV cluster with two jobs (examples/facts/csv-cluster-jobs.json:
"Nightly", automatic selection and fail-over on, over cluster HVCL01; "SQL pinned", PROXY01
listed and fail-over off, over VM SQL01 on HV01), changed one problem at a time. Under both
profiles; the differential test compares the engines on the same documents."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from offhost_audit import audit, facts as facts_doc
from offhost_audit.engine import embedded
from offhost_audit.findings import verdicts

ROOT = Path(__file__).resolve().parents[2]
BASE = facts_doc.load(ROOT / "examples" / "facts" / "csv-cluster-jobs.json")
PROFILES = sorted(embedded.compiled().profiles)
SCHEMA = json.loads((ROOT / "schema" / "findings.schema.json").read_text(encoding="utf-8"))


def estate(change=None) -> dict:
    doc = copy.deepcopy(BASE)
    if change:
        change(doc)
    return facts_doc.validate(doc, source="hand-made estate")


def jobs_of(found: list[dict]) -> dict[tuple[str, str], dict]:
    return {(f["rule_id"], f["subject"]["name"]): f for f in found if f["rule_id"] in JOB_RULES}


JOB_RULES = ("OHP-040", "OHP-041", "OHP-042", "OHP-043")


def proxy_on_a_cluster_node(doc: dict) -> None:
    doc["hosts"][0]["cluster"] = {"member": True, "name": "HVCL01"}
    doc["clusters"][0]["nodes"].append("PROXY01")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_healthy_estate_passes_every_job_rule(profile):
    found = audit.evaluate_facts(estate(), profile=profile)
    got = {k: f["status"] for k, f in jobs_of(found).items()}
    assert got == {
        ("OHP-040", "Nightly -> cluster HVCL01"): "pass",
        ("OHP-040", "SQL pinned -> vm SQL01"): "pass",
        ("OHP-041", "SQL pinned -> PROXY01"): "pass",
        ("OHP-042", "HV01"): "pass",
        ("OHP-042", "HV02"): "pass",
        ("OHP-043", "HVCL01"): "pass",
    }
    assert all(f["title"] and f["remediation"] and f["doc_url"].startswith("https://") for f in jobs_of(found).values())
    jsonschema.validate(found, SCHEMA)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_job_whose_only_proxy_is_a_cluster_node_runs_on_host_silently(profile):
    found = audit.evaluate_facts(estate(proxy_on_a_cluster_node), profile=profile)
    stage1 = [f for f in found if f["rule_id"] == "OHP-010"]
    assert [f["status"] for f in stage1] == ["fail"]
    f = jobs_of(found)[("OHP-040", "Nightly -> cluster HVCL01")]
    assert (f["status"], f["severity"]) == ("fail", "high")
    assert "PROXY01: blocked by OHP-010" in f["message"] and "runs on-host tonight, silently" in f["message"]
    assert "Nightly" in f["remediation"]  # the remediation names the job
    # the job with fail-over off and the same proxy: the job fails
    g = jobs_of(found)[("OHP-040", "SQL pinned -> vm SQL01")]
    assert (g["status"], g["severity"]) == ("fail", "critical") and "the job fails" in g["message"]
    jsonschema.validate(found, SCHEMA)


@pytest.mark.parametrize("profile", PROFILES)
def test_failover_off_makes_the_same_problem_critical(profile):
    def change(doc):
        proxy_on_a_cluster_node(doc)
        doc["vbr"]["jobs"][0]["failover_to_on_host"] = False

    f = jobs_of(audit.evaluate_facts(estate(change), profile=profile))[("OHP-040", "Nightly -> cluster HVCL01")]
    assert (f["status"], f["severity"]) == ("fail", "critical") and "the job fails" in f["message"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_job_pinned_to_a_disabled_proxy(profile):
    def change(doc):
        doc["vbr"]["proxies"][0]["disabled"] = True

    found = jobs_of(audit.evaluate_facts(estate(change), profile=profile))
    f = found[("OHP-041", "SQL pinned -> PROXY01")]
    assert (f["status"], f["severity"]) == ("fail", "high") and "disabled in VBR" in f["message"]
    g = found[("OHP-040", "SQL pinned -> vm SQL01")]
    assert (g["status"], g["severity"]) == ("fail", "critical") and "PROXY01: disabled in VBR" in g["message"]
    # automatic selection leaves a disabled proxy out: no candidate at all
    assert "no enabled off-host proxy" in found[("OHP-040", "Nightly -> cluster HVCL01")]["message"]


@pytest.mark.parametrize("profile", PROFILES)
def test_an_s2d_cluster_under_an_off_host_job(profile):
    def change(doc):
        doc["clusters"][0]["s2d_enabled"] = True

    f = jobs_of(audit.evaluate_facts(estate(change), profile=profile))[("OHP-043", "HVCL01")]
    assert (f["status"], f["severity"]) == ("fail", "medium")
    assert "Storage Spaces Direct" in f["message"] and "Nightly, SQL pinned" in f["message"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_host_whose_vss_provider_is_software(profile):
    def change(doc):
        doc["vbr"]["hyperv_hosts"][0]["vss_provider"] = "software"
        doc["vbr"]["hyperv_hosts"][1]["failover_to_software"] = True

    found = jobs_of(audit.evaluate_facts(estate(change), profile=profile))
    assert (found[("OHP-042", "HV01")]["status"], found[("OHP-042", "HV01")]["severity"]) == ("fail", "medium")
    hv02 = found[("OHP-042", "HV02")]
    assert (hv02["status"], hv02["severity"]) == ("fail", "low") and "silently" in hv02["message"]


def test_rest_without_volume_settings_stays_below_the_default_fail_on():
    def change(doc):
        doc["vbr"]["hyperv_hosts"] = None  # REST reads no cluster node's volumes

    found = audit.evaluate_facts(estate(change))
    assert {f["status"] for k, f in jobs_of(found).items() if k[0] == "OHP-042"} == {"unknown"}
    assert verdicts.exit_code(found, "high") == 0


def test_job_findings_are_not_part_of_the_pair_verdicts():
    found = audit.evaluate_facts(estate(lambda d: d["vbr"]["proxies"][0].update(disabled=True)))
    without = [f for f in found if f["rule_id"] not in ("OHP-040", "OHP-041")]
    assert verdicts.judge(BASE, found).proxy("PROXY01").text == verdicts.judge(BASE, without).proxy("PROXY01").text


def test_without_jobs_or_volume_settings_stage_2_adds_nothing():
    def change(doc):
        del doc["vbr"]["jobs"], doc["vbr"]["hyperv_hosts"]

    assert not jobs_of(audit.evaluate_facts(estate(change)))


def test_the_opa_engine_gives_the_same_job_findings():
    pytest.importorskip("opa_bindings", reason="make venv installs opa-golib-python-bindings")
    doc = estate(proxy_on_a_cluster_node)
    assert jobs_of(audit.evaluate_facts(doc, engine="opa")) == jobs_of(audit.evaluate_facts(doc))


def test_a_job_rules_unknown_says_how_to_get_the_backup_servers_settings():
    def change(doc):
        doc["vbr"]["proxies"][0]["online"] = None
        doc["vbr"]["hyperv_hosts"][0]["vss_provider"] = None

    found = jobs_of(audit.evaluate_facts(estate(change)))
    for key in (("OHP-040", "Nightly -> cluster HVCL01"), ("OHP-042", "HV01")):
        f = found[key]
        assert f["status"] == "unknown" and f["remediation"].startswith("The backup server's settings"), key
