"""Inventory loading: good files load, bad ones name the file, the line and the field (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offhost_audit import inventory
from offhost_audit.cli import main
from offhost_audit.errors import InventoryError
from offhost_audit.inventory.credentials import CredentialError, Resolver

ROOT = Path(__file__).resolve().parents[1]
GOOD = """\
vbr: {version: "13.0.1.1071", profile: veeam-2025-08}
defaults:
  winrm: {scheme: https, auth: ntlm}
proxies:
  - name: proxy01.corp.example
    max_tasks: 4
    serves: [{cluster: HVCL01}]
clusters:
  - name: HVCL01
    nodes:
      - {name: HV01, address: hv01.corp.example}
      - {name: HV02, address: hv02.corp.example, winrm: {scheme: http}}
"""
ENV = {"OFFHOST_WINRM_USER": "CORP\\auditor", "OFFHOST_WINRM_PASSWORD": "s3cret-value"}


def test_shipped_example_loads_with_every_section():
    inv = inventory.load(ROOT / "examples" / "inventory.yaml")
    assert inv.proxies == ["PROXY01"] and inv.clusters == {"HVCL01": ["HV01", "HV02"]}
    assert inv.vbr_version == "13.0.1.1071" and inv.vbr_profile == "veeam-2025-08"
    assert {d["target"].options["tls_mode"] for d in inv.domain_controllers} == {"ldaps"}
    assert inv.file_servers[0]["target"].options["shares"] == ["VMS"]


def test_defaults_names_ports_and_targets():
    inv = inventory.loads(GOOD, source="inv.yaml")
    targets = {t.name: t for t in inv.targets(resolver=Resolver(env=ENV))}
    assert set(targets) == {"PROXY01", "HV01", "HV02"}  # FQDN name normalised to NetBIOS once
    assert targets["HV01"].port == 5986 and targets["HV01"].tls and targets["HV01"].verify_tls
    assert targets["HV02"].port == 5985 and not targets["HV02"].tls
    assert targets["HV01"].options["cluster"] == "HVCL01" and targets["HV01"].options["auth"] == "ntlm"
    assert targets["PROXY01"].credentials.username == "CORP\\auditor"
    assert "s3cret" not in repr(targets["PROXY01"])
    assert inv.assignments == [{"proxy": "PROXY01", "max_tasks": 4, "sources": [{"kind": "cluster", "name": "HVCL01"}]}]
    assert all(not t.verify_tls for t in inv.targets(resolver=Resolver(env=ENV), insecure=True))


def test_a_host_in_two_roles_is_one_target_with_both():
    text = GOOD.replace("name: proxy01.corp.example", "name: HV02")
    inv = inventory.loads(text)
    (hv02,) = [h for h in inv.hosts if h.name == "HV02"]
    assert sorted(hv02.roles) == ["hyperv_host", "proxy"] and hv02.cluster == "HVCL01"


@pytest.mark.parametrize(
    ("edit", "where", "words"),
    [
        (("max_tasks: 4", "max_tasks: four"), "inv.yaml:6: proxies[0].max_tasks", "non-negative integer"),
        (("{scheme: https, auth: ntlm}", "{scheme: https, auth: digest}"), "inv.yaml:3: defaults.winrm.auth", "ntlm"),
        (("{scheme: http}", "{scheme: http, port: 70000}"), "inv.yaml:12: clusters[0].nodes[1].winrm.port", "1-65535"),
        (
            ("    max_tasks: 4\n", "    max_tasks: 4\n    password: hunter2\n"),
            "inv.yaml:7: proxies[0].password",
            "secrets",
        ),
        (("    max_tasks: 4\n", "    maxtasks: 4\n"), "inv.yaml:6: proxies[0].maxtasks", "unknown field"),
        (("{cluster: HVCL01}", "{cluster: HVCL09}"), "inv.yaml:7: proxies[0].serves", "HVCL09"),
        (
            ("- {name: HV01, address: hv01.corp.example}", "- {address: hv01.corp.example}"),
            "inv.yaml:11: clusters[0].nodes[0]",
            "'name'",
        ),
        (('version: "13.0.1.1071"', "version: thirteen"), "inv.yaml:1: vbr.version", "13.0.1.1071"),
    ],
)
def test_errors_name_file_line_and_field(edit, where, words):
    with pytest.raises(InventoryError) as e:
        inventory.loads(GOOD.replace(*edit), source="inv.yaml")
    assert str(e.value).startswith(where) and words in str(e.value)


def test_yaml_syntax_error_and_duplicate_key_have_lines():
    with pytest.raises(InventoryError, match=r"^inv.yaml:3: not valid YAML"):
        inventory.loads("proxies:\n  - name: A\n  bad: [\n", source="inv.yaml")
    with pytest.raises(InventoryError, match=r"^inv.yaml:2: proxies: duplicate key 'proxies'"):
        inventory.loads("proxies: []\nproxies: []\n", source="inv.yaml")


def test_credentials_env_missing_and_prompt_not_interactive():
    inv = inventory.loads(GOOD)
    with pytest.raises(CredentialError, match="OFFHOST_WINRM_PASSWORD is not set"):
        inv.targets(resolver=Resolver(env={"OFFHOST_WINRM_USER": "u"}))
    inv = inventory.loads(
        GOOD.replace(
            "  winrm: {scheme: https, auth: ntlm}\n",
            "  winrm: {scheme: https, auth: ntlm}\n  credentials: {prompt: true, username: CORP\\\\a}\n",
        )
    )
    with pytest.raises(CredentialError, match="not interactive"):
        inv.targets(resolver=Resolver(env={}, interactive=False))


def test_keyring_without_the_extra_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_keyring(name, *a, **k):
        if name == "keyring":
            raise ImportError("no keyring")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_keyring)
    inv = inventory.loads(
        GOOD.replace(
            "  winrm: {scheme: https, auth: ntlm}\n",
            "  winrm: {scheme: https, auth: ntlm}\n  credentials: {keyring: svc, username: u}\n",
        )
    )
    with pytest.raises(CredentialError, match=r"offhost-audit\[keyring\]"):
        inv.targets(resolver=Resolver(env={}))


def test_cli_exit_2_with_location(tmp_path, capsys):
    bad = tmp_path / "inv.yaml"
    bad.write_text(GOOD.replace("max_tasks: 4", "max_tasks: -2"))
    assert main(["collect", "-i", str(bad), "-o", str(tmp_path / "f.json"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:6: proxies[0].max_tasks" in err and not (tmp_path / "f.json").exists()
    assert main(["collect", "-i", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "f.json")]) == 2


def test_a_proxy_without_serves_serves_everything():
    text = GOOD.replace("    serves: [{cluster: HVCL01}]\n", "") + "hyperv_hosts: [{name: HV09}]\n"
    inv = inventory.loads(text)
    assert inv.assignments == [
        {
            "proxy": "PROXY01",
            "max_tasks": 4,
            "sources": [{"kind": "cluster", "name": "HVCL01"}, {"kind": "host", "name": "HV09"}],
        }
    ]


@pytest.mark.parametrize("serves", ["", "    serves: null\n", "    serves:\n"])
def test_a_proxy_with_serves_absent_or_null_serves_everything(serves):
    text = GOOD.replace("    serves: [{cluster: HVCL01}]\n", serves) + "hyperv_hosts: [{name: HV09}]\n"
    assert [s["name"] for s in inventory.loads(text).assignments[0]["sources"]] == ["HVCL01", "HV09"]


def test_serves_an_empty_list_serves_nothing():
    """`serves: []` is "none" (a discovered proxy no enabled job uses), not "every source"."""
    text = GOOD.replace("serves: [{cluster: HVCL01}]", "serves: []") + "hyperv_hosts: [{name: HV09}]\n"
    inv = inventory.loads(text)
    assert inv.assignments == [{"proxy": "PROXY01", "max_tasks": 4, "sources": []}]
    text = text.replace("    max_tasks: 4\n", "")  # no max_tasks either: still an assignment, to nothing
    assert inventory.loads(text).assignments == [{"proxy": "PROXY01", "max_tasks": None, "sources": []}]


def test_serves_nothing_reaches_the_facts_and_pairs_the_proxy_with_no_source():
    from offhost_audit import facts as facts_doc
    from offhost_audit.assemble import assemble
    from offhost_audit.findings import verdicts

    text = GOOD.replace("serves: [{cluster: HVCL01}]", "serves: []")
    inv = inventory.loads(text)
    doc = assemble(inv, inv.targets(resolver=Resolver(env=ENV)), [], [], [])
    facts_doc.validate(doc, source="facts")
    assert doc["assignments"] == [{"proxy": "PROXY01", "max_tasks": 4, "sources": []}]
    assert not verdicts.judge(doc, []).cells  # no proxy x source pair at all


def test_a_proxy_listed_twice_once_serving_nothing_once_everything_is_refused():
    text = "proxies:\n  - {name: P1, serves: []}\n  - {name: P1}\nhyperv_hosts: [{name: HV09}]\n"
    with pytest.raises(InventoryError, match="inv.yaml:3: proxies.1.: proxy P1 is listed twice with different"):
        inventory.loads(text, source="inv.yaml")


def test_ldap_tls_server_name_reaches_the_directory_target():
    inv = inventory.loads(
        "domain_controllers:\n"
        "  - {name: DC01, address: 127.0.0.1, domain: FEAS.test, ldap: {tls: starttls, tls_server_name: dc1.feas.test}}\n",
        source="inv.yaml",
    )
    t = inv.domain_controllers[0]["target"]
    assert (t.port, t.tls, t.verify_tls) == (389, True, True)
    assert t.options == {"domain": "feas.test", "tls_mode": "starttls", "tls_server_name": "dc1.feas.test"}


def test_ldap_auth_kerberos_reaches_the_directory_target_and_is_checked():
    text = "domain_controllers:\n  - {name: DC01, address: dc1.feas.test, domain: feas.test, ldap: {auth: %s}}\n"
    t = inventory.loads(text % "kerberos", source="inv.yaml").domain_controllers[0]["target"]
    assert t.options["auth"] == "kerberos"
    assert "auth" not in inventory.loads(text % "simple", source="inv.yaml").domain_controllers[0]["target"].options
    with pytest.raises(InventoryError, match=r"inv.yaml:2: domain_controllers\[0\].ldap.auth"):
        inventory.loads(text % "ntlm", source="inv.yaml")


# --- the published schema (schema/inventory.schema.json) and the checker agree -------------------


def _schema_validator():
    import jsonschema_rs

    return jsonschema_rs.validator_for(inventory.schema())


@pytest.mark.parametrize("name", ["inventory.yaml", "inventory-lab.yaml"])
def test_shipped_inventories_are_valid_under_the_published_schema(name):
    import yaml

    doc = yaml.safe_load((ROOT / "examples" / name).read_text(encoding="utf-8"))
    assert [e.message for e in _schema_validator().iter_errors(doc)] == []
    inventory.loads(yaml.safe_dump(doc))  # and the checker takes it


def test_lab_inventories_are_valid_under_the_published_schema():
    from offhost_audit.lab import scenario
    from offhost_audit.lab.responder import inventory_doc

    class _Lab:  # what inventory_doc asks of a running LabServer
        ca_file = "/tmp/lab-ca.pem"

        def endpoint(self, name):
            return f"https://127.0.0.1:5986/wsman/{name}"

    for name in scenario.shipped():
        doc = inventory_doc(scenario.load(name), _Lab(), auth="ntlm")
        assert [e.message for e in _schema_validator().iter_errors(doc)] == [], name


def test_schema_fields_are_the_checkers():
    s = inventory.schema()
    assert set(s["$defs"]["credentials"]["properties"]) == {
        "username_env",
        "password_env",
        "keyring",
        "username",
        "prompt",
    }
    assert set(s["$defs"]["winrm"]["properties"]) == set(inventory.WINRM_DEFAULTS)
    assert tuple(s["$defs"]["winrm"]["properties"]["auth"]["enum"]) == ("ntlm", "kerberos", "credssp", "basic")


@pytest.mark.parametrize(
    "text",
    [
        "proxies: [{name: P1, colour: red}]\n",
        "proxies: [{name: P1, winrm: {auth: digest}}]\n",
        "proxies: [{name: P1, winrm: {port: 70000}}]\n",
        "proxies: [{name: P1, max_tasks: -1}]\n",
        "proxies: [{name: P1, serves: [{cluster: C1, host: H1}]}]\n",
        "clusters: [{name: C1}]\n",
        "domain_controllers: [{name: DC1, domain: corp.example, ldap: {tls: ssl}}]\n",
        "file_servers: [{name: FS1, port: 0}]\n",
        "wat: 1\nproxies: [{name: P1}]\n",
    ],
)
def test_what_the_schema_refuses_the_checker_refuses(text):
    import yaml

    assert not _schema_validator().is_valid(yaml.safe_load(text))
    with pytest.raises(InventoryError):
        inventory.loads(text)


@pytest.mark.parametrize(
    "creds",
    [
        '{password_env: "Hunter2-Secret"}',
        '{username_env: "Hunter2 x", password_env: P}',
        "{username: 7, password_env: Hunter2}",
        '{prompt: "Hunter2"}',
        '{keyring: "Hunter2"}',
        '"Hunter2"',
        '{password_env: ["Hunter2"]}',
    ],
)
def test_schema_messages_never_quote_a_credential_value(creds):
    with pytest.raises(InventoryError) as e:
        inventory.loads(f"proxies:\n  - name: P1\n    credentials: {creds}\n", source="inv.yaml")
    lines = str(e.value).splitlines()
    assert lines and all(line.startswith("inv.yaml:3: proxies[0].credentials") for line in lines)
    assert "Hunter2" not in str(e.value)


def test_every_schema_problem_is_reported_in_document_order():
    text = (
        "hyperv_hosts:\n  - {name: HV1, winrm: {verify_tls: 1, port: 0, auth: digest}}\n  - {name: HV2, colour: red}\n"
    )
    with pytest.raises(InventoryError) as e:
        inventory.loads(text, source="inv.yaml")
    assert [line.split(": ")[1] for line in str(e.value).splitlines()] == [
        "hyperv_hosts[0].winrm.verify_tls",
        "hyperv_hosts[0].winrm.port",
        "hyperv_hosts[0].winrm.auth",
        "hyperv_hosts[1].colour",
    ]


# --- overlay: a hand-written inventory over a discovered one (inventory/overlay.py) -------------------

DISCOVERED = """\
vbr:
  version: "13.0.1.1071"
backup_server:
  name: "VBR01"
proxies:
  - name: "PX01"
    max_tasks: 6
    serves:
      - cluster: "HVCL01"
  - name: "PX02"
    max_tasks: 4
    serves: []
clusters:
  - name: "HVCL01"
    nodes:
      - name: "HV01"
      - name: "HV02"
hyperv_hosts:
  - name: "HV03"
file_servers: []
"""


def _overlay(hand: str) -> inventory.Inventory:
    from offhost_audit.inventory.overlay import overlay

    return overlay(DISCOVERED, hand, discovered_source="<discovered>", hand_source="hand.yaml", via="rest")


def test_overlay_the_hand_written_connection_settings_win_the_servers_facts_stay():
    inv = _overlay(
        "defaults:\n  credentials: {username_env: MY_USER, password_env: MY_PASS}\n  winrm: {scheme: http}\n"
        "vbr: {profile: veeam-2026-02}\n"
        "backup_server: {name: VBR01, address: vbr01.corp.example}\n"
        "proxies:\n  - {name: px01.corp.example, address: 10.0.0.5, max_tasks: 2, serves: [{host: HV03}],"
        " winrm: {scheme: https, port: 443}}\n"
        "clusters:\n  - name: HVCL01\n    nodes: [{name: HV01, address: hv01.corp.example}]\n"
    )
    hosts = {h.name: h for h in inv.hosts}
    assert hosts["PX01"].address == "10.0.0.5" and (hosts["PX01"].winrm.scheme, hosts["PX01"].winrm.port) == (
        "https",
        443,
    )
    assert hosts["HV01"].address == "hv01.corp.example" and hosts["HV02"].address == "HV02"
    assert hosts["HV02"].winrm.port == 5985  # the hand-written defaults reach discovered targets
    assert hosts["HV03"].credentials == {"username_env": "MY_USER", "password_env": "MY_PASS"}
    assert hosts["VBR01"].address == "vbr01.corp.example"
    assert (inv.vbr_version, inv.vbr_profile) == ("13.0.1.1071", "veeam-2026-02")
    served = {a["proxy"]: (a["max_tasks"], a["sources"]) for a in inv.assignments}
    assert served == {"PX01": (6, [{"kind": "cluster", "name": "HVCL01"}]), "PX02": (4, [])}  # the server's
    assert inv.origin == {"PX01": "rest", "PX02": "rest"}
    assert len(inv.notes) == 2
    assert "hand.yaml:7: proxies[0].max_tasks of PX01 ignored: the backup server says its max tasks" in inv.notes
    assert (
        "hand.yaml:7: proxies[0].serves of PX01 ignored: the backup server says what its jobs make it" in (inv.notes[1])
    )


def test_overlay_keeps_targets_only_in_the_hand_written_file_and_says_so():
    inv = _overlay(
        "file_servers:\n  - {name: FS01, shares: [VMS]}\n"
        "proxies:\n  - {name: PX09, serves: [{cluster: HVCL01}]}\n"
        "hyperv_hosts:\n  - {name: HV01, address: 10.1.1.1}\n"  # a node given an address in another section
    )
    assert [f["target"].name for f in inv.file_servers] == ["FS01"]
    assert inv.file_servers[0]["target"].options["shares"] == ["VMS"]
    assert next(h for h in inv.hosts if h.name == "HV01").address == "10.1.1.1"
    assert {a["proxy"]: a["sources"] for a in inv.assignments}["PX09"] == [{"kind": "cluster", "name": "HVCL01"}]
    assert inv.origin == {"PX01": "rest", "PX02": "rest"}  # PX09's serves came from the hand-written file
    assert inv.notes == [
        "hand.yaml:4: proxies PX09: not on the backup server, kept from hand.yaml",
        "hand.yaml:2: file_servers FS01: not on the backup server, kept from hand.yaml",
    ]


def test_overlay_errors_name_the_hand_written_file_and_line():
    with pytest.raises(InventoryError) as e:
        _overlay("proxies:\n  - {name: PX01, address: 10.0.0.5}\n  - {name: PX08, winrm: {port: 0}}\n")
    assert str(e.value) == "hand.yaml:3: proxies[1].winrm.port: expected an integer 1-65535, got 0"
    with pytest.raises(InventoryError) as e:  # a check over the merged file: still the hand-written line
        _overlay("hyperv_hosts:\n  - {name: HV09}\nproxies:\n  - {name: PX09, serves: [{cluster: NOPE}]}\n")
    assert str(e.value) == "hand.yaml:4: proxies[0].serves: cluster NOPE is not in clusters:"
    with pytest.raises(InventoryError, match=r"hand.yaml:\d+: .*password"):
        _overlay("defaults:\n  credentials: {username: a, password: hunter2}\n")


def test_the_facts_of_an_overlaid_inventory_say_where_each_assignment_came_from():
    from offhost_audit import facts as facts_doc
    from offhost_audit.assemble import assemble

    inv = _overlay("proxies:\n  - {name: PX09, serves: [{cluster: HVCL01}]}\n")
    doc = assemble(inv, inv.targets(resolver=Resolver(env=ENV)), [], [], [])
    facts_doc.validate(doc, source="facts")
    assert {a["proxy"]: a["source"] for a in doc["assignments"]} == {
        "PX01": "rest",
        "PX02": "rest",
        "PX09": "inventory",
    }
    assert "hand.yaml:2: proxies PX09: not on the backup server, kept from hand.yaml" in doc["warnings"]
    plain = inventory.loads(GOOD)  # a hand-written inventory alone: no source (the inventory)
    assert "source" not in assemble(plain, plain.targets(resolver=Resolver(env=ENV)), [], [], [])["assignments"][0]


def test_overlay_a_node_the_server_does_not_list_is_kept_with_a_note():
    inv = _overlay("clusters:\n  - name: HVCL01\n    nodes: [{name: HV02, address: 10.0.0.2}, {name: HV09}]\n")
    assert inv.clusters == {"HVCL01": ["HV01", "HV02", "HV09"]}
    assert {h.name: h.address for h in inv.hosts}["HV02"] == "10.0.0.2"
    assert inv.notes == [
        "hand.yaml:3: cluster HVCL01: node HV09 is not a node the backup server lists (nor any server it knows); "
        "kept from hand.yaml"
    ]


def test_overlay_a_backup_server_of_another_name_is_the_hand_written_one_with_a_note():
    inv = _overlay("backup_server: {name: VBR02, address: vbr02.corp.example}\n")
    assert [(h.name, h.address) for h in inv.hosts if "backup_server" in h.roles] == [("VBR02", "vbr02.corp.example")]
    assert inv.notes == [
        "hand.yaml:1: backup_server VBR02: the server discovered calls itself VBR01; the hand-written entry is used"
    ]


def test_overlay_the_backup_server_is_read_as_discovery_reached_it_unless_the_file_says_otherwise():
    from offhost_audit.inventory.overlay import overlay

    server = {"via": "rest", "rest": {"port": 9420, "ca_file": "/etc/vbr-ca.pem"}, "credentials": {"prompt": True}}
    server["credentials"]["username"] = "CORP\\viewer"

    def vbr(hand: str) -> tuple[Any, ...]:
        inv = overlay(DISCOVERED, hand, discovered_source="<d>", hand_source="hand.yaml", via="rest", server=server)
        (h,) = [h for h in inv.hosts if "backup_server" in h.roles]
        return h.vbr_read.via, h.vbr_read.rest_port, h.vbr_read.rest_ca_file, h.credentials

    assert vbr("{}") == ("rest", 9420, "/etc/vbr-ca.pem", {"prompt": True, "username": "CORP\\viewer"})
    hand = "backup_server: {name: VBR01, via: winrm, credentials: {username_env: U, password_env: P}}\n"
    assert vbr(hand)[0] == "winrm" and vbr(hand)[3] == {"username_env": "U", "password_env": "P"}
