"""The backup server's own view in a run and in discovery, over REST and over WinRM, against the lab:
one normalized estate, the same facts either way (but for what only PowerShell can read), the
fall-back rule (WinRM only when REST does not answer, never after a refusal), and a property the
Veeam module lacks becoming an unknown fact."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit import collect, discover, facts as facts_mod, inventory
from offhost_audit.audit import evaluate_facts
from offhost_audit.cli import main
from offhost_audit.collectors.parsers_estate import parse_backup_server
from offhost_audit.collectors.psjson import loads
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import render, scenario, vbr_rest
from offhost_audit.lab.render import ps_json
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer
from offhost_audit.vbr_estate import vbr_facts

from ..lab.test_vbr_rest import ESTATE, PASSWORD, USER
from .conftest import collect_scenario, manifest

JOB_RULES = ("OHP-040", "OHP-041", "OHP-042", "OHP-043")


def estate(**backup_server: Any) -> dict[str, Any]:
    raw = copy.deepcopy(ESTATE)
    raw["backup_server"].update(backup_server)
    raw["lab"] = {"username": USER, "password": PASSWORD}
    return scenario.normalise(raw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the block ends: nothing listens there


def collect_with(sc: dict[str, Any], **backup_server: Any) -> dict[str, Any]:
    """Collect the scenario over the WinRM lab with these settings on the inventory's backup_server."""
    with LabServer(lab_hosts(sc)) as lab:
        doc = inventory_doc(sc, lab)
        doc["backup_server"].pop("via", None)
        doc["backup_server"].update(backup_server)
        inv = inventory.loads(yaml.safe_dump(doc, sort_keys=False), source="lab-inventory.yaml")
        return collect.collect_facts(inv, resolver=Resolver(env=lab_env(sc), interactive=False), call_timeout=10.0)


def comparable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Without what differs by path: the source, and the ids only REST gives."""
    return [{k: v for k, v in i.items() if k not in ("source", "id")} for i in items]


def job_findings(facts: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for f in evaluate_facts(facts):
        if f["rule_id"] in JOB_RULES:
            s = f["subject"]
            out[(f["rule_id"], s.get("name") or s.get("job") or str(s))] = f
    return out


@pytest.fixture(scope="module")
def over_rest() -> dict[str, Any]:
    return collect_scenario(estate(), rest=True)[1]


@pytest.fixture(scope="module")
def over_winrm() -> dict[str, Any]:
    return collect_scenario(estate())[1]


def test_a_run_reads_the_jobs_over_rest_and_stage_two_judges_them(over_rest):
    facts = over_rest
    assert facts_mod.schema_problems(facts) == []
    assert manifest(facts, "VBR01", "rest.backup_server")["status"] == "ok"
    vbr = facts["vbr"]
    assert {j["source"] for j in vbr["jobs"]} == {p["source"] for p in vbr["proxies"]} == {"rest"}
    jobs = {j["name"]: j for j in vbr["jobs"]}
    assert jobs["Pinned"]["proxies"] == {"automatic": False, "names": ["PX02"]}
    assert jobs["Pinned"]["failover_to_on_host"] is False and jobs["On host"]["mode"] == "on_host"
    px02 = next(p for p in vbr["proxies"] if p["name"] == "PX02")
    assert (px02["disabled"], px02["online"], px02["out_of_date"]) == (True, False, True)
    hosts = {h["name"]: h for h in vbr["hyperv_hosts"]}
    assert hosts["HV03"] == {"name": "HV03", "vss_provider": "hardware", "failover_to_software": True, "source": "rest"}
    # REST has no volume settings for cluster nodes: PowerShell on the backup server reads just those
    ps = manifest(facts, "VBR01", "winrm.backup_server")
    assert ps["status"] == "ok" and hosts["HV01"]["source"] == hosts["HV02"]["source"] == "powershell"
    assert hosts["HV01"]["vss_provider"] == "software"  # no hardware provider on the lab's HV01
    assert any("VSS settings read over PowerShell for HV01, HV02" in w for w in facts["warnings"])
    found = job_findings(facts)
    assert found[("OHP-041", "Pinned -> PX02")]["status"] == "fail"
    pinned = found[("OHP-040", "Pinned -> host HV03")]
    assert pinned["status"] == "fail" and pinned["severity"] == "critical" and "Pinned" in pinned["message"]
    assert found[("OHP-042", "HV01")]["status"] == "fail" and found[("OHP-042", "HV03")]["status"] == "fail"
    assert ("OHP-043", "HVCL01") in found
    assert PASSWORD not in yaml.safe_dump(facts)


def test_rest_alone_leaves_the_cluster_nodes_vss_settings_unknown():
    sc = estate()
    with vbr_rest.serve(sc) as (url, ca, _):
        facts = collect_with(sc, via="rest", rest={"port": int(url.rsplit(":", 1)[1]), "ca_file": ca})
    assert not [e for e in facts["collection"] if e["collector"] == "winrm.backup_server"]
    hosts = {h["name"]: h for h in facts["vbr"]["hyperv_hosts"]}
    assert hosts["HV01"]["vss_provider"] is None and hosts["HV01"]["failover_to_software"] is None
    assert hosts["HV03"]["vss_provider"] == "hardware"
    assert any(
        "cluster nodes over REST: the REST API has volume settings for standalone" in w for w in facts["warnings"]
    )
    found = job_findings(facts)
    assert found[("OHP-042", "HV01")]["status"] == "unknown" and found[("OHP-042", "HV03")]["status"] == "fail"


def test_a_backup_viewer_gets_the_jobs_over_rest_and_the_vss_settings_over_powershell():
    _, facts = collect_scenario(estate(rest={"role": "viewer"}), rest=True)
    assert manifest(facts, "VBR01", "rest.backup_server")["status"] == "ok"
    assert {j["source"] for j in facts["vbr"]["jobs"]} == {"rest"}
    assert {h["name"]: h["source"] for h in facts["vbr"]["hyperv_hosts"]} == {
        "HV01": "powershell",
        "HV02": "powershell",
        "HV03": "powershell",
    }
    assert any("needs the Backup Administrator role (HTTP 403)" in w for w in facts["warnings"])


def test_a_run_over_winrm_gives_the_same_jobs_and_proxies(over_rest, over_winrm):
    rest, ps = over_rest["vbr"], over_winrm["vbr"]
    assert facts_mod.schema_problems(over_winrm) == []
    assert manifest(over_winrm, "VBR01", "winrm.backup_server")["status"] == "ok"
    assert {j["source"] for j in ps["jobs"]} == {"powershell"}
    assert comparable(ps["jobs"]) == comparable(rest["jobs"])
    assert comparable(ps["proxies"]) == comparable(rest["proxies"])
    assert comparable(ps["hyperv_hosts"]) == comparable(rest["hyperv_hosts"])  # REST + PowerShell for the nodes
    assert ps["managed_servers"] == rest["managed_servers"] and ps["version"] == rest["version"]
    # PowerShell reads the cluster nodes' VSS settings too (no hardware provider in this lab: software)
    hosts = {h["name"]: h for h in ps["hyperv_hosts"]}
    assert hosts["HV01"]["vss_provider"] == "software" and hosts["HV03"]["vss_provider"] == "hardware"
    found = job_findings(over_winrm)
    assert found[("OHP-042", "HV01")]["status"] == "fail"
    assert found[("OHP-040", "Pinned -> host HV03")]["status"] == "fail"


def test_auto_reads_over_winrm_when_rest_does_not_answer():
    facts = collect_with(estate(), rest={"port": closed_port()})
    rest = manifest(facts, "VBR01", "rest.backup_server")
    assert (
        rest["status"] == "error" and "cannot connect" in rest["error"] and "read over WinRM instead" in rest["error"]
    )
    assert manifest(facts, "VBR01", "winrm.backup_server")["status"] == "ok"
    assert {j["source"] for j in facts["vbr"]["jobs"]} == {"powershell"}


def test_via_rest_alone_never_tries_winrm():
    facts = collect_with(estate(), via="rest", rest={"port": closed_port()})
    assert manifest(facts, "VBR01", "rest.backup_server")["status"] == "error"
    assert not [e for e in facts["collection"] if e["collector"] == "winrm.backup_server"]
    assert "jobs" not in facts["vbr"] and facts["vbr"]["proxies"] is None  # not read: unknown


def test_a_refused_rest_login_is_not_sent_again_over_winrm():
    sc = estate()
    other = copy.deepcopy(sc)
    other["lab"]["password"] = "Another-Secret-7"  # the REST API refuses the account WinRM accepts
    with vbr_rest.serve(other) as (url, ca, state):
        facts = collect_with(sc, rest={"port": int(url.rsplit(":", 1)[1]), "ca_file": ca})
    rest = manifest(facts, "VBR01", "rest.backup_server")
    assert rest["status"] == "error" and "authentication failed (HTTP 401)" in rest["error"]
    ps = manifest(facts, "VBR01", "winrm.backup_server")
    assert ps["status"] == "skipped" and ps["error"].startswith("not attempted")
    assert "jobs" not in facts["vbr"]
    assert PASSWORD not in yaml.safe_dump(facts) and state.requests["/api/oauth2/token"] == 1


def test_a_property_the_veeam_module_lacks_is_an_unknown_fact_not_a_crash():
    absent = ["HvSourceOptions.FailoverToOnHostBackup", "IsOutOfDate", "Get-VBRJobObject", "VssProvider.Name"]
    _, facts = collect_scenario(estate(powershell_absent=absent))
    assert facts_mod.schema_problems(facts) == []
    assert manifest(facts, "VBR01", "winrm.backup_server")["status"] == "ok"
    vbr = facts["vbr"]
    pinned = next(j for j in vbr["jobs"] if j["name"] == "Pinned")
    assert pinned["failover_to_on_host"] is None and pinned["sources"] is None
    assert pinned["proxies"] == {"automatic": False, "names": ["PX02"]}  # what the module has is still read
    assert {p["out_of_date"] for p in vbr["proxies"]} == {None} and {p["disabled"] for p in vbr["proxies"]} == {
        False,
        True,
    }
    assert {h["vss_provider"] for h in vbr["hyperv_hosts"]} == {None}
    said = " ".join(facts["warnings"])
    assert "has no HvSourceOptions.FailoverToOnHostBackup in this release" in said and "Get-VBRJobObject" in said
    found = job_findings(facts)
    assert found[("OHP-042", "HV03")]["status"] == "unknown"
    assert all(f["status"] != "pass" for (rule, _), f in found.items() if rule == "OHP-042")


# --- discover: the same targets and assignments over both paths ---------------------------------


def _shape(inv: inventory.Inventory) -> tuple[Any, ...]:
    return (
        sorted(inv.proxies),
        inv.clusters,
        sorted(
            (a["proxy"], a["max_tasks"], sorted((s["kind"], s["name"]) for s in a["sources"])) for a in inv.assignments
        ),
        sorted(h.name for h in inv.hosts if "hyperv_host" in h.roles),
        sorted(f["target"].name for f in inv.file_servers),
    )


def test_discover_over_rest_and_over_winrm_gives_the_same_inventory(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OFFHOST_VBR_USER", USER)
    monkeypatch.setenv("OFFHOST_VBR_PASSWORD", PASSWORD)
    sc = estate()
    over_rest, over_winrm = tmp_path / "rest.yaml", tmp_path / "winrm.yaml"
    with vbr_rest.serve(sc) as (url, ca, _), LabServer(lab_hosts(sc), https=True) as lab:
        assert (
            main(["discover", "--backup-server", url.removeprefix("https://"), "--ca-file", ca, "-o", str(over_rest)])
            == 0
        )
        assert "with 7 requests" in capsys.readouterr().err
        port = lab.endpoint("VBR01").rsplit(":", 1)[1].split("/")[0]
        args = ["discover", "--backup-server", f"127.0.0.1:{port}", "--via", "winrm", "--ca-file", str(lab.ca_file)]
        assert main([*args, "-o", str(over_winrm)]) == 0
    assert "over WinRM" in capsys.readouterr().err
    rest_inv, winrm_inv = inventory.load(over_rest), inventory.load(over_winrm)
    assert _shape(rest_inv) == _shape(winrm_inv)
    # a run reads the backup server the way discovery did
    (rest_bs,) = [h.vbr_read for h in rest_inv.hosts if h.vbr_read]
    (winrm_bs,) = [h.vbr_read for h in winrm_inv.hosts if h.vbr_read]
    assert (rest_bs.via, rest_bs.rest_port) == ("auto", int(url.rsplit(":", 1)[1])) and winrm_bs.via == "winrm"
    assert _shape(rest_inv)[2] == [
        ("PX01", 6, [("cluster", "HVCL01")]),
        ("PX02", 4, [("cluster", "HVCL01"), ("host", "HV03")]),
    ]
    text = over_winrm.read_text()
    assert "Veeam PowerShell module over WinRM" in text.splitlines()[1] and "REST API" in over_rest.read_text()
    assert PASSWORD not in text


def test_discover_falls_back_to_winrm_only_when_rest_does_not_answer(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OFFHOST_VBR_USER", USER)
    monkeypatch.setenv("OFFHOST_VBR_PASSWORD", PASSWORD)
    sc = estate()
    out = tmp_path / "inventory.yaml"
    bundle = tmp_path / "cas.pem"  # one --ca-file for both endpoints: the two lab CAs
    with LabServer(lab_hosts(sc), https=True) as lab, vbr_rest.serve(sc) as (url, rest_ca, _):
        bundle.write_text(Path(str(lab.ca_file)).read_text() + Path(rest_ca).read_text())
        port = lab.endpoint("VBR01").rsplit(":", 1)[1].split("/")[0]
        args = ["--ca-file", str(bundle), "--winrm-port", port, "-o", str(out)]
        assert main(["discover", "--backup-server", f"127.0.0.1:{closed_port()}", *args]) == 0
        assert "REST did not answer, read over WinRM" in capsys.readouterr().err
        assert "# The REST API did not answer, so this was read over WinRM" in out.read_text()
        out.unlink()
        monkeypatch.setenv("OFFHOST_VBR_PASSWORD", "Wrong-Secret-42")  # REST answers: 401, WinRM is not tried
        assert main(["discover", "--backup-server", url.removeprefix("https://"), *args]) == 3
    err = capsys.readouterr().err
    assert "authentication failed (HTTP 401)" in err and "WinRM" not in err and not out.exists()
    assert "Wrong-Secret-42" not in err


def test_the_discovered_winrm_estate_keeps_what_the_module_lacked_unknown():
    sc = estate(powershell_absent=["Get-VBRJobObject"])
    with LabServer(lab_hosts(sc), https=True) as lab:
        from offhost_audit.collectors.base import Target
        from offhost_audit.inventory.credentials import Credentials

        url = lab.endpoint("VBR01")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        target = Target(
            "VBR01",
            "backup_server",
            "127.0.0.1",
            port,
            Credentials(USER, PASSWORD),
            ca_file=lab.ca_file,
            timeout_s=10,
            options={"auth": "ntlm", "scheme": "https", "path": "/wsman", "message_encryption": "auto"},
        )
        est = discover.read(target, via="winrm")
    assert est.via == "winrm" and est.jobs is not None and all(j["sources"] is None for j in est.jobs)
    assert any("Get-VBRJobObject" in u for u in est.unknown)
    text = discover.inventory_text(est)
    assert "# UNKNOWN: the Veeam module has no Get-VBRJobObject" in text
    assert "    serves:" not in text  # no job sources read: no assignment is claimed


def test_a_trickling_winrm_backup_server_is_cut_at_the_deadline(tmp_path):
    import time

    from offhost_audit.collectors.base import Target
    from offhost_audit.errors import TargetUnreachableError
    from offhost_audit.inventory.credentials import Credentials

    from ..hardening.trickle import Trickle

    with Trickle(interval_s=0.2) as t:
        target = Target(
            "VBR01",
            "backup_server",
            "127.0.0.1",
            t.port,
            Credentials(USER, PASSWORD),
            tls=False,
            timeout_s=1.5,
            options={"auth": "basic", "scheme": "http", "path": "/wsman", "message_encryption": "never"},
        )
        started = time.monotonic()
        with pytest.raises(TargetUnreachableError, match="1.5s"):
            discover.read(target, via="winrm")
        assert time.monotonic() - started < 5


# --- the PowerShell answer, property by property --------------------------------------------------

_FACT_OF = {  # backup_server.ps1's property path -> (vbr section, the fact it fills)
    "Host.IsUnavailable": ("proxies", "online"),
    "MaxTasksCount": ("proxies", "max_tasks"),
    "IsDisabled": ("proxies", "disabled"),
    "IsOutOfDate": ("proxies", "out_of_date"),
    "IsScheduleEnabled": ("jobs", "enabled"),
    "HvSourceOptions.OffHostBackup": ("jobs", "mode"),
    "Get-VBRJobObject": ("jobs", "sources"),
}


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.sampled_from(sorted(render.PS_FIELDS))), st.booleans())
def test_any_property_absent_from_the_powershell_answer_is_an_unknown_fact(absent, drop_key):
    """Whatever the Veeam module lacks (null, or the key missing altogether), the parse never crashes,
    the facts stay schema-valid, each lacking property's fact is null and a warning names it."""
    sc = estate(powershell_absent=sorted(absent))
    vbr01 = next(h for h in sc["hosts"] if h["name"] == "VBR01")
    doc = render.backup_server(vbr01, sc, {})
    if drop_key:
        for section, key in (render.PS_FIELDS[p] for p in absent):
            items = doc[section] if section != "Volumes" else [v for h in doc["Hosts"] for v in h["Volumes"]]
            for item in items:
                item.pop(key, None)
    est = parse_backup_server(loads(ps_json(doc)), server="VBR01", endpoint="https://vbr01:5986/wsman")
    assert est is not None
    vbr = vbr_facts(est, "powershell")
    assert facts_mod.schema_problems({"schema_version": 1, "hosts": [], "vbr": vbr}) == []
    for path in absent:
        assert any(path in u for u in est.unknown), path
        if path in _FACT_OF:
            section, fact = _FACT_OF[path]
            assert {item[fact] for item in vbr[section]} == {None}, path
    jobs = {j["name"]: j for j in vbr["jobs"]}
    if "HvSourceOptions.FailoverToOnHostBackup" in absent:
        assert jobs["Pinned"]["failover_to_on_host"] is None
    if {"VssProvider.Name", "FailoverToSoftwareProvider"} <= absent:
        assert vbr["hyperv_hosts"] is None  # no host's setting read: not collected
    elif "VssProvider.Name" in absent:
        assert {h["vss_provider"] for h in vbr["hyperv_hosts"]} == {None}
    if "ParentId" in absent:  # cluster membership unknown: no node is claimed for a cluster
        assert all(not c.nodes for c in est.clusters or [])
    else:
        assert [c.nodes for c in est.clusters or []] == [["HV01", "HV02"]]
