"""The commands end to end: `lab serve` in a subprocess, `collect` and `audit` against it, and `demo`."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time

import pytest

from offhost_audit import facts as facts_mod
from offhost_audit.cli import main
from offhost_audit.lab import scenario as scenarios

LAB_ENV = {"OFFHOST_LAB_USER": "lab\\auditor", "OFFHOST_LAB_PASSWORD": "Lab-Passw0rd!"}


@contextlib.contextmanager
def serving(tmp_path, name: str):
    """`offhost-audit lab serve --scenario NAME --port 0 --inventory-out F` as a real process; yields F."""
    inv = tmp_path / f"{name}-inventory.yaml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "offhost_audit",
            "lab",
            "serve",
            "--scenario",
            name,
            "--port",
            "0",
            "--inventory-out",
            str(inv),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):
            if inv.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert inv.exists(), proc.stderr.read() if proc.poll() is not None else "lab did not write its inventory"
        yield inv
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def lab_serve(tmp_path):
    with serving(tmp_path, "version-mismatch") as inv:
        yield inv


def test_collect_then_audit_against_lab_serve(lab_serve, tmp_path, monkeypatch, capsys):
    for k, v in LAB_ENV.items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "facts.json"
    assert main(["collect", "-i", str(lab_serve), "-o", str(out), "-q"]) == 0
    doc = facts_mod.load(out)
    assert {e["status"] for e in doc["collection"]} == {"ok"}
    assert "facts written to" in capsys.readouterr().err
    code = main(["audit", "-i", str(lab_serve), "-q", "--format", "json", "--save-facts", str(tmp_path / "f2.json")])
    findings = json.loads(capsys.readouterr().out)
    assert code == 1  # OHP-002 fails at high: at or above the default --fail-on high
    assert {f["rule_id"] for f in findings if f["status"] == "fail"} == {"OHP-002"}
    assert (tmp_path / "f2.json").exists()
    assert main(["audit", "-i", str(lab_serve), "-q", "--profile", "veeam-2026-02", "--fail-on", "high"]) == 0


def test_faults_exits_5_when_nothing_fails_but_proxies_cannot_be_judged(tmp_path, monkeypatch, capsys):
    """19 of 35 collector runs fail, nothing fails at or above high: a nightly job must not stay green."""
    for k, v in LAB_ENV.items():
        monkeypatch.setenv(k, v)
    with serving(tmp_path, "faults") as inv:
        assert main(["audit", "-i", str(inv), "--no-history"]) == 5
        out = " ".join(capsys.readouterr().out.split())
        assert (
            "No failure at or above high, but 8 finding(s) at or above it could not be decided: the run is not green."
            in out
        )
        assert "PROXY72 unknown: OHP-001" in out and "PROXY72 refused the audit account's credentials" in out
        assert main(["audit", "-i", str(inv), "--no-history", "--accept-unknown", "-q"]) == 0
        assert main(["audit", "-i", str(inv), "--no-history", "--fail-on", "critical", "-q"]) == 0  # none at critical
        db = tmp_path / "h.sqlite"
        assert main(["audit", "-i", str(inv), "--db", str(db), "-q"]) == 5
    assert main(["report", "-o", str(tmp_path / "out"), "--db", str(db), "-f", "md", "-q"]) == 5
    assert main(["report", "-o", str(tmp_path / "out"), "--db", str(db), "-f", "md", "-q", "--accept-unknown"]) == 0
    md = (tmp_path / "out" / "latest.md").read_text(encoding="utf-8")
    assert "could not be decided" in md and "the run is green" in md  # the report written with --accept-unknown


def test_collect_exit_3_when_nothing_answers(tmp_path, monkeypatch, capsys):
    for k, v in LAB_ENV.items():
        monkeypatch.setenv(k, v)
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "defaults:\n  winrm: {scheme: http, auth: basic, message_encryption: never}\n"
        "  credentials: {username_env: OFFHOST_LAB_USER, password_env: OFFHOST_LAB_PASSWORD}\n"
        "proxies:\n  - {name: P1, address: 127.0.0.1, winrm: {port: 9}}\n"
    )
    assert main(["collect", "-i", str(inv), "-o", str(tmp_path / "f.json"), "-q", "--timeout", "5"]) == 3
    err = capsys.readouterr().err
    assert "nothing could be collected" in err and "cannot connect" in err
    assert (tmp_path / "f.json").exists()  # the manifest is kept for the post-mortem


def test_demo_shows_what_every_shipped_scenario_was_built_to_show(capsys):
    assert main(["demo", "--format", "json"]) == 0
    results = {r["scenario"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(results) == set(scenarios.shipped())
    for name, r in results.items():
        sc = scenarios.load(name)
        assert r["lab"] is True and r["ok"], (name, r["expectations"])
        assert set(sc["expect"]["fail"]) <= set(r["failures"]), name
        if not sc["expect"]["fail"]:
            assert r["failures"] == [], name
    assert results["faults"]["collection"]["problems"]
    assert any("file_servers" in w for w in results["smb3-estate"]["warnings"])


def test_demo_table_says_it_is_the_lab(capsys):
    assert main(["demo", "--scenario", "proxy-cluster-node"]) == 0
    out = capsys.readouterr().out
    assert "the built-in lab" in out and "OHP-010" in out and "as built" in out
