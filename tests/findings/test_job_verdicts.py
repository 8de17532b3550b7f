"""The per-job verdict (findings/job_verdicts.py) every face shows: read from the job rules'
findings over the hand-made estate of tests/findings/test_jobs_stage.py, one problem at a time."""

from __future__ import annotations

import copy

from offhost_audit import audit, facts as facts_doc
from offhost_audit.findings import job_verdicts, verdicts
from tests.findings.test_jobs_stage import BASE, estate, proxy_on_a_cluster_node


def judged(change=None):
    doc = estate(change)
    found = audit.evaluate_facts(doc)
    return doc, found, job_verdicts.judge_jobs(doc, found)


def test_the_healthy_estate_runs_every_job_off_host():
    _, _, v = judged()
    assert v.read and not v.at_risk
    assert [(j.name, j.label) for j in v.jobs] == [("Nightly", "off-host"), ("SQL pinned", "off-host")]
    assert v.job("Nightly").sources[0].tonight == "off-host through PROXY01"
    assert v.tally_text() == "Jobs: 0 of 2 at risk (0 fails, 0 falls back to on-host, 0 unknown); 2 off-host"


def test_a_cluster_node_proxy_makes_one_job_fall_back_and_the_other_fail():
    doc, found, v = judged(proxy_on_a_cluster_node)
    assert [(j.name, j.state) for j in v.jobs] == [("SQL pinned", "fails"), ("Nightly", "falls_back")]
    nightly = v.job("Nightly").sources[0]
    assert (nightly.source, nightly.label) == ("cluster HVCL01", "falls back to on-host")
    assert nightly.tonight.startswith("runs on-host tonight, silently")
    assert nightly.blockers == "PROXY01: blocked by OHP-010" and nightly.rules == ["OHP-010"]
    # the drill-down: the OHP-040 finding and the OHP-010 finding of the pair that blocks the candidate
    assert sorted((found[i]["rule_id"], found[i]["subject"]["name"]) for i in nightly.rows) == [
        ("OHP-010", "PROXY01 -> HVCL01"),
        ("OHP-040", "Nightly -> cluster HVCL01"),
    ]
    assert v.job("SQL pinned").sources[0].tonight.startswith("the job fails")
    assert [(j.name, s.source) for j, s in v.risky_sources()] == [
        ("SQL pinned", "vm SQL01"),
        ("Nightly", "cluster HVCL01"),
    ]


def test_a_disabled_pinned_proxy_names_the_job_proxy_finding():
    _, found, v = judged(lambda d: d["vbr"]["proxies"][0].update(disabled=True))
    pinned = v.job("SQL pinned")
    c = pinned.sources[0].candidates[0]
    assert (c.name, c.state, c.reasons) == ("PROXY01", "blocked", ["disabled in VBR"])
    assert {found[i]["rule_id"] for i in c.rows} == {"OHP-041"} and "OHP-041" in c.rules
    assert c.text == "PROXY01: disabled in VBR (OHP-041)"  # every rule behind the candidate named
    assert [found[i]["rule_id"] for i in pinned.own_rows] == ["OHP-041"]
    # automatic selection has no candidate at all: nothing to name, the job still falls back
    nightly = v.job("Nightly").sources[0]
    assert nightly.state == "falls_back" and nightly.candidates == []


def test_disabled_and_on_host_jobs_are_not_at_risk():
    def change(doc):
        proxy_on_a_cluster_node(doc)
        doc["vbr"]["jobs"][0]["enabled"] = False
        doc["vbr"]["jobs"][1]["mode"] = "on_host"

    _, _, v = judged(change)
    assert [(j.name, j.label) for j in v.jobs] == [("SQL pinned", "on-host job"), ("Nightly", "disabled")]
    assert not v.at_risk and not v.risky_sources()


def test_an_undecided_candidate_makes_the_source_unknown():
    _, _, v = judged(lambda d: d["vbr"]["proxies"][0].update(online=None))
    s = v.job("Nightly").sources[0]
    assert (s.state, s.candidates[0].state) == ("unknown", "undecided")
    assert "vbr.proxies[PROXY01].online" in s.blockers and v.job("Nightly").at_risk


def test_a_waived_job_finding_still_says_what_happens_tonight():
    doc = estate(proxy_on_a_cluster_node)
    found = audit.evaluate_facts(doc)
    f = next(f for f in found if f["rule_id"] == "OHP-040" and f["subject"]["job"] == "Nightly")
    f["waiver"], f["status"] = {"id": "w1", "status": "fail"}, "waived"
    s = job_verdicts.judge_jobs(doc, found).job("Nightly").sources[0]
    assert (s.state, s.waived) == ("falls_back", True)


def test_without_a_jobs_list_the_faces_say_where_jobs_come_from():
    doc = copy.deepcopy(BASE)
    del doc["vbr"]["jobs"]
    v = job_verdicts.judge_jobs(doc, audit.evaluate_facts(facts_doc.validate(doc, source="x")))
    assert not v.read and not v.jobs
    assert v.tally_text() == "Jobs: no jobs read from the backup server (discover/--backup-server reads them)"
    assert not job_verdicts.judge_jobs(None, []).read


def test_without_job_findings_every_source_is_unknown_not_off_host():
    doc = estate(proxy_on_a_cluster_node)
    found = [f for f in audit.evaluate_facts(doc) if f["rule_id"] not in ("OHP-040", "OHP-041")]
    v = job_verdicts.judge_jobs(doc, found, verdicts.judge(doc, found))
    assert {(j.name, j.state) for j in v.jobs} == {("Nightly", "unknown"), ("SQL pinned", "unknown")}
    assert v.job("Nightly").sources[0].tonight == "not judged (no OHP-040 finding)"


def test_an_s2d_cluster_keeps_its_jobs_on_host_whatever_the_proxy():
    _, found, v = judged(lambda d: d["clusters"][0].update(s2d_enabled=True))
    nightly, pinned = v.job("Nightly").sources[0], v.job("SQL pinned").sources[0]
    for s in (nightly, pinned):  # the cluster, and a VM on one of its nodes
        assert s.state == "falls_back" and s.candidates[0].state == "good"  # PROXY01 itself would do
        assert s.tonight == (
            "runs on-host tonight, silently (cluster HVCL01: Storage Spaces Direct, processed on-host only (OHP-043))"
        )
        assert s.rules == ["OHP-043"] and "OHP-043" in {found[i]["rule_id"] for i in s.rows}


def test_the_software_vss_provider_on_a_host_falls_back_or_fails_as_fail_over_says():
    _, _, v = judged(lambda d: d["vbr"]["hyperv_hosts"][0].update(vss_provider="software"))  # HV01
    nightly, pinned = v.job("Nightly").sources[0], v.job("SQL pinned").sources[0]
    assert (
        nightly.state == "falls_back" and "host HV01: VBR uses the software VSS provider (OHP-042)" in nightly.tonight
    )
    assert pinned.state == "fails" and pinned.tonight.startswith(
        "the job fails (fail-over to on-host is off; host HV01"
    )
    # fail-over to the software provider (a warning) and undecided settings change no verdict
    _, _, v = judged(lambda d: d["vbr"]["hyperv_hosts"][1].update(failover_to_software=True, vss_provider=None))
    assert [j.state for j in v.jobs] == ["off_host", "off_host"]


def test_automatic_selection_over_many_proxies_names_ten_and_counts_the_rest():
    def change(doc):
        proxy_on_a_cluster_node(doc)
        for i in range(2, 15):  # 13 more enabled proxies VBR knows, none serving the cluster in these facts
            doc["vbr"]["proxies"].append(dict(doc["vbr"]["proxies"][0], name=f"PROXY{i:02d}"))

    _, found, v = judged(change)
    s = v.job("Nightly").sources[0]
    assert len(s.candidates) == 14 and s.state == "unknown"  # stage 1 judged no pair of the 13 others
    shown, more = s.stopped()
    assert (len(shown), more) == (10, 4) and s.blockers.count("; PROXY") == 9 and s.blockers.endswith("; and 4 more")
    assert {found[i]["rule_id"] for i in s.rows} >= {"OHP-040", "OHP-010"}  # the rows of every candidate kept
