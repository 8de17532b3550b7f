"""`audit --engine opa` through the real lab: the same JSON as the embedded engine."""

from __future__ import annotations

import pytest
import yaml

from offhost_audit.cli import main
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer

pytest.importorskip("opa_bindings", reason="make venv / make test install opa-golib-python-bindings")


def test_audit_engine_opa_prints_what_the_embedded_engine_prints(tmp_path, monkeypatch, capsys):
    sc = scenarios.load("version-mismatch")
    for k, v in lab_env(sc).items():
        monkeypatch.setenv(k, v)
    with LabServer(lab_hosts(sc)) as lab:
        inv = tmp_path / "inventory.yaml"
        inv.write_text(yaml.safe_dump(inventory_doc(sc, lab, auth="basic"), sort_keys=False))
        outs = []
        for engine in ("embedded", "opa"):
            code = main(["audit", "-i", str(inv), "-q", "--format", "json", "--engine", engine])
            outs.append((code, capsys.readouterr().out))
    assert outs[0] == outs[1] and outs[0][0] == 1 and '"OHP-002"' in outs[0][1]
