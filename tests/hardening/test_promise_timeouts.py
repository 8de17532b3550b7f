"""Promises: a slow server cannot defeat a timeout (WinRM, OPA, LDAP, SMB); timeouts are positive,
finite numbers.

The slow server (``trickle.Trickle``) answers every request one byte per second, forever: a read
timeout that restarts on each byte never fires, a wall-clock deadline does.
"""

from __future__ import annotations

import time

import pytest
import requests
import yaml
from promise_kit import EXAMPLE_FACTS, run_cli
from trickle import LDAP, SMB, Trickle

from offhost_audit import audit, collect, inventory
from offhost_audit.deadline import wall_clock
from offhost_audit.engine import opa_server
from offhost_audit.errors import EngineUnavailableError
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer


def test_a_wall_clock_deadline_ends_a_trickled_http_answer():
    with Trickle() as slow, requests.Session() as s:
        start = time.monotonic()
        with wall_clock(2) as watch, pytest.raises(requests.RequestException):
            s.get(slow.url, timeout=30)  # the read timeout alone would wait 100,000 s
        assert watch.expired and time.monotonic() - start < 3


def test_an_audit_with_a_trickling_winrm_host_ends_by_its_deadline_and_says_unknown():
    sc = scenarios.load("csv-healthy")
    with LabServer(lab_hosts(sc)) as lab, Trickle() as slow:
        doc = inventory_doc(sc, lab)
        proxy = doc["proxies"][0]
        proxy["winrm"]["port"] = slow.port  # this proxy now answers one byte per second
        inv = inventory.loads(yaml.safe_dump(doc), source="trickle.yaml")
        start = time.monotonic()
        facts, found, _ = audit.run_audit(
            inv, call_timeout=3, target_timeout=10, resolver=Resolver(env=lab_env(sc), interactive=False)
        )
        took = time.monotonic() - start
    assert took < 10 + 1, f"the audit took {took:.1f}s, past its 10 s target deadline"
    name = proxy["name"].upper()
    entries = [e for e in facts["collection"] if e["target"] == name]
    assert entries and all(e["status"] != "ok" for e in entries)
    assert f"no answer from http://127.0.0.1:{slow.port}/wsman within 3s (timeout" in entries[0]["error"]
    mine = [f for f in found if (f.get("subject") or {}).get("proxy") == name]
    assert mine and not any(f["status"] == "fail" for f in mine)
    (os_rule,) = [f for f in mine if f["rule_id"] == "OHP-001"]  # needs the proxy's OS build: never collected
    assert os_rule["status"] == "unknown"
    assert any("within 3s (timeout" in str(ev["value"]) for ev in os_rule["evidence"])


def test_an_opa_server_that_trickles_is_unavailable_within_its_deadline(monkeypatch):
    monkeypatch.setattr(opa_server, "HEALTH_TIMEOUT_S", 2.0)
    with Trickle() as slow:
        start = time.monotonic()
        with pytest.raises(EngineUnavailableError, match="did not answer within 2s"):
            audit.evaluate_file(EXAMPLE_FACTS, opa_url=slow.url)
        assert time.monotonic() - start < 2 + 1


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon"])
@pytest.mark.parametrize("option", ["--timeout", "--target-timeout"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_a_usage_error(tmp_path, option, value):
    r = run_cli("collect", "-i", str(tmp_path / "inv.yaml"), "-o", str(tmp_path / "f.json"), f"{option}={value}")
    assert r.returncode == 2 and f"argument {option}" in r.stderr and "Traceback" not in r.stderr


def test_trickling_ldap_and_smb_servers_are_stopped_at_the_target_deadline():
    with Trickle(answer=LDAP) as dc, Trickle(answer=SMB) as fs:
        text = (
            f"domain_controllers:\n"
            f"  - {{name: DC1, address: 127.0.0.1, domain: corp.example, ldap: {{tls: plain, port: {dc.port}}}}}\n"
            f"file_servers:\n  - {{name: FS1, address: 127.0.0.1, port: {fs.port}, shares: [VMS]}}\n"
        )
        inv = inventory.loads(text, source="trickle.yaml")
        doc = collect.collect_facts(
            inv,
            call_timeout=60,
            target_timeout=3,
            resolver=Resolver(env={"OFFHOST_WINRM_USER": "u", "OFFHOST_WINRM_PASSWORD": "p"}, interactive=False),
        )
    by_target = {e["target"]: e for e in doc["collection"]}
    for name, collector in (("DC1", "ldap.directory"), ("FS1", "smb.shares")):
        e = by_target[name]
        assert e["collector"] == collector and e["status"] == "error"
        assert e["error"] == f"{name}: {collector} stopped: target timeout of 3s reached (timeout)"
        assert e["duration_ms"] < (3 + 1) * 1000
