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
