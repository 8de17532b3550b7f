"""Each collector is declared once (offhost_audit/collector_specs.py); the registry, the shipped
scripts, the lab's renderers and the TUI's fact areas all follow from that declaration."""

from __future__ import annotations

import json
from importlib import resources

from offhost_audit.collector_specs import BY_SCRIPT, SPECS
from offhost_audit.collectors import pscommand, registry
from offhost_audit.findings import unknowns
from offhost_audit.lab import render
from offhost_audit.resources import schema_dir


def test_the_registry_implements_every_declaration_once_in_order():
    assert [c.spec for c in registry()] == list(SPECS)
    assert len({s.id for s in SPECS}) == len(SPECS)


def test_every_winrm_collector_ships_its_script_and_the_lab_renders_it():
    winrm = [s for s in SPECS if s.source == "winrm"]
    assert all(s.script for s in winrm) and not any(s.script for s in SPECS if s.source != "winrm")
    shipped = {
        p.name for p in resources.files("offhost_audit.collectors").joinpath("ps").iterdir() if p.name.endswith(".ps1")
    }
    assert set(pscommand.SCRIPTS) == {s.script for s in winrm} == shipped
    assert set(render.RENDERERS) == {s.id for s in winrm}
    assert all(render.renderer(name) is render.RENDERERS[BY_SCRIPT[name].id] for name in pscommand.SCRIPTS)


def test_declared_areas_are_places_in_the_facts_schema():
    """A lower-case area is a key of a host; an upper-case one starts a top-level key (VMS[ -> vms)."""
    schema = json.loads((schema_dir() / "facts.schema.json").read_text(encoding="utf-8"))
    host_keys = set(schema["$defs"]["host"]["properties"])
    top = set(schema["properties"])
    for s in SPECS:
        for area in s.areas:
            if area.islower():
                assert area in host_keys, (s.id, area)
            else:
                assert area.rstrip("[.").lower() in top, (s.id, area)
    assert unknowns.AREAS == {s.id: s.areas for s in SPECS}
