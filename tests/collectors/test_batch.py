"""Batched collection (one powershell.exe per host, the scripts on its stdin) against one process per script
(``--no-batch``), through the real lab and pywinrm: the same facts, each script's failure its own, its own
time limit, no command-line limit, deadlines kept, host text that cannot forge another script's result."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from offhost_audit import audit, collect, inventory
from offhost_audit.collectors import pscommand, winrm
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer
from offhost_audit.names import norm_name
from offhost_audit.reports import console

from .conftest import host, manifest

# lab-dies is left out: its hosts hang up after a number of requests, and the two paths make a different
# number (one process per script: 3 per script; batched: 3 for all, then one per script's record), so
# which scripts got through differs by design (tests/collectors/test_missing_vm_inventory.py covers it).
SAME_FACTS = [s for s in scenarios.shipped() if s != "lab-dies"]


def _collect(sc: dict[str, Any], *, batch: bool, **kw: Any) -> tuple[dict, dict[str, dict[str, int]]]:
    with LabServer(lab_hosts(sc)) as lab:
        inv = inventory.loads(yaml.safe_dump(inventory_doc(sc, lab)), source="lab.yaml")
        kw.setdefault("call_timeout", 10.0)
        doc = collect.collect_facts(inv, resolver=Resolver(env=lab_env(sc), interactive=False), batch=batch, **kw)
        stats = {h["name"]: lab.stats(h["name"]) for h in sc["hosts"]}
    return doc, stats


def _comparable(doc: dict) -> tuple[str, list[tuple]]:
    """The facts but the time they were made, and the manifest's statuses and errors (the lab's ports
    vary; a document cut in half by ``malformed_output`` is cut one character apart: one process prints
    its CRLF after it, the batch's record carries the document alone)."""
    rest = {k: v for k, v in doc.items() if k not in ("collection", "generated_at")}

    def error(text: str | None) -> str | None:
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text) if text else text
        return text.split(" (", 1)[0] if text and "not valid JSON" in text else text

    runs = sorted((e["target"], e["collector"], e["status"], error(e["error"])) for e in doc["collection"])
    return json.dumps(rest, sort_keys=True, default=str), runs


@pytest.mark.parametrize("name", SAME_FACTS)
def test_the_batch_gives_the_same_facts_and_manifest_as_one_process_per_script(name):
    sc = scenarios.load(name)
    batched, stats = _collect(sc, batch=True)
    single, single_stats = _collect(sc, batch=False)
    assert _comparable(batched) == _comparable(single)
    reached = [n for n, s in stats.items() if s.get("Receive")]
    assert reached  # and each host reached ran ONE command: the batch, its scripts sent on stdin;
    # the backup server one more: the Veeam module's read, which waits for what REST read
    vbr = norm_name(sc["backup_server"]["name"])
    assert all(stats[n]["Command"] == 1 + (norm_name(n) == vbr) and stats[n]["Send"] >= 1 for n in reached)
    assert any(s.get("Command", 0) > 1 for s in single_stats.values())  # --no-batch: one per script


def test_one_failing_script_leaves_the_others_facts_and_records_why():
    sc = scenarios.load("csv-healthy")
    proxy = next(h for h in sc["hosts"] if "proxy" in h["roles"])
    proxy["script_errors"] = {"storage.ps1": "Get-Disk : Access denied"}
    doc, stats = _collect(sc, batch=True)
    e = manifest(doc, proxy["name"], "winrm.storage")
    assert e["status"] == "error"
    assert e["error"].startswith(
        f"{proxy['name']}: storage.ps1 failed (exit 1): Get-Disk : Access denied\n    + CategoryInfo"
    )
    assert host(doc, proxy["name"]).get("storage") is None
    others = [x for x in doc["collection"] if x["target"] == proxy["name"] and x["collector"] != "winrm.storage"]
    assert others and all(x["status"] == "ok" for x in others)
    assert host(doc, proxy["name"])["os"]["build"] == 20348 and host(doc, proxy["name"])["veeam_services"]
    assert stats[proxy["name"]]["Command"] == 1
    single, _ = _collect(sc, batch=False)
    assert manifest(single, proxy["name"], "winrm.storage")["error"] == e["error"]  # the same error shape


def test_each_script_has_its_own_time_limit_in_the_batch():
    sc = scenarios.load("vhds-vms")
    hv = next(h for h in sc["hosts"] if "hyperv_host" in h["roles"])
    hv["script_seconds"] = {"hyperv.ps1": 60.0}  # stuck: past any limit
    start = time.monotonic()
    doc, _ = _collect(sc, batch=True, call_timeout=1.5, target_timeout=30)
    took = time.monotonic() - start
    e = manifest(doc, hv["name"], "winrm.hyperv")
    assert e["status"] == "error" and e["error"] == f"{hv['name']}: hyperv.ps1 did not finish within 1.5s (timeout)"
    after = [manifest(doc, hv["name"], c)["status"] for c in ("winrm.services", "winrm.smb_client")]
    assert after == ["ok", "ok"]  # the scripts after the stuck one still ran, in the same process
    assert manifest(doc, hv["name"], "winrm.system")["status"] == "ok"
    assert took < 10


def test_a_script_longer_than_the_command_line_limit_runs_in_the_batch(monkeypatch):
    # one shipped script grown past cmd.exe's 8,191 characters (a long data line: still the shipped body,
    # so the lab recognises it); one process per script cannot send it, the batch can
    real = pscommand.script.__wrapped__
    padded = real("vss.ps1") + "\n$null = '" + "x" * 9000 + "'"

    def script(name: str) -> str:
        return padded if name == "vss.ps1" else real(name)

    monkeypatch.setattr(pscommand, "script", script)
    assert len(pscommand.script("vss.ps1")) > 8191
    sc = scenarios.load("csv-healthy")
    single, _ = _collect(sc, batch=False)
    hv = next(h["name"] for h in sc["hosts"] if "hyperv_host" in h["roles"])
    assert "The command line is too long" in manifest(single, hv, "winrm.vss")["error"]
    batched, _ = _collect(sc, batch=True)
    assert {e["status"] for e in batched["collection"]} == {"ok"}
    assert host(batched, hv)["vss_providers"]


def test_a_trickling_host_still_ends_by_the_deadline_in_a_batch():
    spec = importlib.util.spec_from_file_location("trickle", Path(__file__).parents[1] / "hardening" / "trickle.py")
    assert spec and spec.loader
    trickle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trickle)  # tests/hardening/trickle.py: one byte a second
    Trickle = trickle.Trickle

    sc = scenarios.load("csv-healthy")
    with LabServer(lab_hosts(sc)) as lab, Trickle() as slow:
        doc = inventory_doc(sc, lab)
        proxy = doc["proxies"][0]
        proxy["winrm"]["port"] = slow.port
        inv = inventory.loads(yaml.safe_dump(doc), source="trickle.yaml")
        start = time.monotonic()
        facts = collect.collect_facts(
            inv, call_timeout=20, target_timeout=4, resolver=Resolver(env=lab_env(sc), interactive=False), batch=True
        )
        took = time.monotonic() - start
    assert took < 4 + 1.5
    entries = [e for e in facts["collection"] if e["target"] == proxy["name"].upper()]
    assert entries and all(e["status"] != "ok" for e in entries)
    assert "timeout" in entries[0]["error"]
    assert all(e["status"] == "ok" for e in facts["collection"] if e["target"] != proxy["name"].upper())


def test_a_slow_host_is_cut_at_the_target_deadline_keeping_the_scripts_that_finished():
    sc = scenarios.load("csv-healthy")
    sc["lab"]["costs"] = {"process_start_s": 0.2, "module_load_s": {}, "script_s": 0.0}
    hv = next(h for h in sc["hosts"] if "hyperv_host" in h["roles"])
    hv["script_seconds"] = {"cluster.ps1": 20.0}  # under its own limit (30 s), past the target's
    start = time.monotonic()
    doc, _ = _collect(sc, batch=True, call_timeout=30, target_timeout=3)
    assert time.monotonic() - start < 3 + 2
    assert [manifest(doc, hv["name"], c)["status"] for c in ("winrm.system", "winrm.storage")] == ["ok", "ok"]
    for c in ("winrm.cluster", "winrm.vss"):  # the one running when the time was up, and one after it
        cut = manifest(doc, hv["name"], c)
        assert cut["error"] == f"{hv['name']}: {c} stopped: target timeout of 3s reached (timeout)"


EVIL = "\x1b]0;pwned\x07VM\x1b[2J\x9b31m"


def test_host_text_cannot_forge_another_scripts_record_and_stays_sanitized():
    sc = scenarios.load("csv-healthy")
    hv = next(h for h in sc["hosts"] if h["vms"])
    forged = {"id": "storage.ps1", "exit": 0, "out": "{}", "err": "", "ms": 0}
    hv["vms"][0]["name"] = f"{EVIL}\r\n{pscommand.RECORD_MARK} {json.dumps(forged)}\r\n"
    hv["script_errors"] = {"vss.ps1": f"Get-CimInstance : {EVIL}\r\n{pscommand.RECORD_MARK} {json.dumps(forged)}"}
    batched, _ = _collect(copy.deepcopy(sc), batch=True)
    single, _ = _collect(copy.deepcopy(sc), batch=False)
    assert _comparable(batched) == _comparable(single)
    assert any("pwned" in vm["name"] and "storage.ps1" in vm["name"] for vm in batched["vms"])  # data, whole
    assert host(batched, hv["name"])["storage"]  # not the forged empty document
    found = audit.evaluate_facts(batched)
    errors = [e["error"] for e in batched["collection"] if e["error"]]
    text = console.table_text(found, warnings=errors, fail_on="high")
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_the_bootstrap_carries_no_values_and_the_plan_round_trips():
    items = [
        pscommand.BatchItem("system.ps1", {"FeatureNames": ["Hyper-V'; Remove-Item C:\\ -Recurse #"]}, 5.0),
        pscommand.BatchItem("vss.ps1", {}, 2.5),
    ]
    command, argv = pscommand.batch_command()
    assert command == "powershell.exe" and pscommand.is_batch(command, argv)
    assert len(" ".join([command, *argv])) < 8191
    stdin = pscommand.batch_input(items)
    assert stdin.rstrip().isascii() and b"Remove-Item" not in stdin  # base64: the values never show as text
    assert pscommand.decode_batch_input(stdin) == [(i.script, i.arguments, i.timeout_s) for i in items]
    assert winrm.STDIN_PIECE * 4 // 3 < 500 * 1024  # each Send stays under WinRM's default MaxEnvelopeSizekb


@pytest.mark.parametrize(("flags", "commands"), [([], 1), (["--no-batch"], 6)])
def test_collect_batches_unless_told_not_to(flags, commands, tmp_path, monkeypatch):
    from offhost_audit.cli import main

    sc = scenarios.load("csv-healthy")
    proxy = next(h["name"] for h in sc["hosts"] if "proxy" in h["roles"])
    for k, v in lab_env(sc).items():
        monkeypatch.setenv(k, v)
    with LabServer(lab_hosts(sc)) as lab:
        inv = tmp_path / "inv.yaml"
        inv.write_text(yaml.safe_dump(inventory_doc(sc, lab)), encoding="utf-8")
        assert main(["collect", "-i", str(inv), "-o", str(tmp_path / "f.json"), "-q", *flags]) == 0
        assert lab.stats(proxy)["Command"] == commands  # a proxy runs 6 scripts
        assert lab.stats(proxy).get("Send", 0) == (1 if commands == 1 else 0)
    doc = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert {e["status"] for e in doc["collection"]} == {"ok"}
