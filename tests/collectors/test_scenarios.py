"""Shipped scenarios load, generate and render: every script on every host prints what the parsers accept."""

from __future__ import annotations

import pytest

from offhost_audit.collectors import pscommand
from offhost_audit.collectors.psjson import loads
from offhost_audit.errors import InputError
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import HostResponder


@pytest.mark.parametrize("name", scenarios.shipped())
def test_every_script_on_every_host_prints_one_json_document_or_nothing(name):
    sc = scenarios.load(name)
    assert sc["expect"]["fail"] is not None and sc["title"]
    for h in sc["hosts"]:
        r = HostResponder(h, sc)
        for script in pscommand.SCRIPTS:
            command, argv = pscommand.command_line(script, {})
            res = r.respond(command, [" ".join(argv)])
            if script in h["script_errors"]:
                assert res.exit_code == 1 and res.stderr.startswith(b"#< CLIXML")
                continue
            assert res.exit_code == 0 and res.stderr == b""
            loads(res.stdout.decode("utf-8"))  # valid JSON or empty output


def test_generated_estate_scales_by_code():
    sc = scenarios.normalise(scenarios.generate(clusters=30, nodes_per_cluster=4, latency_s=0.01))
    names = [h["name"] for h in sc["hosts"]]
    assert len(names) == 30 * 5 + 1 and len(set(names)) == len(names)  # + the backup server
    assert all(h["faults"] == {"latency_s": 0.01} for h in sc["hosts"] if h["name"] != "VBR01")
    assert len(sc["backup_server"]["proxies"]) == 30


def test_unknown_scenario_and_bad_host_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="shipped: csv-healthy"):
        scenarios.load("no-such-scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  - {name: HV01, cluster: NOPE}\n")
    with pytest.raises(InputError, match="no cluster 'NOPE'"):
        scenarios.load(str(bad))


DISCOVERY = [n for n in scenarios.shipped() if scenarios.load(n).get("discover")]


def test_the_job_scenarios_are_discovery_scenarios():
    assert {"job-falls-back", "job-failover-off", "job-disabled-proxy", "s2d-cluster", "vss-software-provider"} <= set(
        DISCOVERY
    )


@pytest.mark.parametrize("name", DISCOVERY)
def test_discover_writes_each_discovery_scenario_an_inventory_that_validates_without_secrets(
    name, tmp_path, monkeypatch, capsys
):
    from offhost_audit import inventory
    from offhost_audit.cli import main
    from offhost_audit.lab import vbr_rest

    sc = scenarios.load(name)
    password = sc["lab"]["password"]
    monkeypatch.setenv("OFFHOST_VBR_USER", sc["lab"]["username"])
    monkeypatch.setenv("OFFHOST_VBR_PASSWORD", password)
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(sc) as (url, ca, _):
        assert main(["discover", "--backup-server", url.removeprefix("https://"), "--ca-file", ca, "-o", str(out)]) == 0
    text = out.read_text()
    inv = inventory.load(out)  # what `collect -i` and `audit -i` load
    assert password not in text and password not in capsys.readouterr().err
    assert "password" not in text.lower().replace("password_env", "")
    jobs = {j["name"] for j in sc["backup_server"]["jobs"]}
    assert all(f"job {j!r}" in text for j in jobs)  # each job is named in the inventory's comments
    assert sorted(inv.proxies) == sorted(h["name"] for h in sc["hosts"] if "proxy" in h["roles"])


def test_demo_discovers_a_discovery_scenario_without_an_inventory():
    from offhost_audit.lab import demo

    with demo.serve("job-disabled-proxy") as (sc, inv, _resolver):
        assert sc["discover"] and inv.origin == {"PROXY77": "rest", "PROXY78": "rest"}
        assert {h.name: h.address for h in inv.hosts}["PROXY78"] == "127.0.0.1"  # the lab's address, laid over
        assert inv.notes == []  # the overlay only said how to reach the hosts the server listed


@pytest.mark.parametrize("name", DISCOVERY)
def test_auditing_the_discovered_estate_finds_the_scenarios_problem_naming_the_job_or_host(name):
    from offhost_audit.lab import demo

    r = demo.run_scenario(name)
    named = [c for c in r["check"] if "naming" in c["want"]]
    assert named and all(c["ok"] for c in r["check"]), r["check"]
    want = r["scenario"]["expect"]["findings"][0]
    hit = [f for f in r["findings"] if f["rule_id"] == want["rule"] and f["status"] == "fail"]
    assert any(want["names"] in f["message"] for f in hit)
