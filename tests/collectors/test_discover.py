"""`discover` over REST against the lab's backup server: the inventory it writes, and how it fails."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from offhost_audit import discover, inventory
from offhost_audit.cli import main
from offhost_audit.collectors.base import Target
from offhost_audit.collectors.vbr_read import read_rest
from offhost_audit.collectors.vbr_rest import VbrRestClient
from offhost_audit.errors import CollectorError, TargetUnreachableError
from offhost_audit.inventory.credentials import Credentials
from offhost_audit.lab import responder, scenario, vbr_rest
from offhost_audit.lab.wsman import LabServer
from offhost_audit.vbr_estate import VbrCluster, VbrEstate, VbrHost, VbrProxy

from ..hardening.trickle import Trickle
from ..lab.test_vbr_rest import PASSWORD, USER, estate

TOKEN = "/api/oauth2/token"


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv("OFFHOST_VBR_USER", USER)
    monkeypatch.setenv("OFFHOST_VBR_PASSWORD", PASSWORD)


def run(url: str, ca: str | None, out: Path, *extra: str) -> int:
    args = ["discover", "--backup-server", url.removeprefix("https://"), "-o", str(out), *extra]
    return main(args + (["--ca-file", ca] if ca else []))


def client(url: str, ca: str, *, page_size: int = 500, password: str = PASSWORD, timeout: float = 10) -> VbrRestClient:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    t = Target("VBR01", "backup_server", host, int(port), Credentials(USER, password), ca_file=ca, timeout_s=timeout)
    return VbrRestClient(t, page_size=page_size)


def test_discover_writes_an_inventory_collect_accepts(creds, tmp_path, capsys):
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(estate()) as (url, ca, _):
        assert run(url, ca, out) == 0
    text = out.read_text()
    inv = inventory.load(out)  # collect's own loader and validation
    assert inv.clusters == {"HVCL01": ["HV01", "HV02"]}
    assert sorted(h.name for h in inv.hosts if "hyperv_host" in h.roles) == ["HV01", "HV02", "HV03"]
    assert [f["target"].name for f in inv.file_servers] == ["FS01"]
    served = {
        a["proxy"]: (a["max_tasks"], sorted((s["kind"], s["name"]) for s in a["sources"])) for a in inv.assignments
    }
    # "Cluster auto": automatic selection, so every ENABLED proxy (PX01; PX02 is disabled);
    # "Pinned": PX02 only, for WEB01 (a VM on a node of HVCL01) and HV03; "On host": no proxy
    assert served == {"PX01": (6, [("cluster", "HVCL01")]), "PX02": (4, [("cluster", "HVCL01"), ("host", "HV03")])}
    assert "disabled, OFFLINE, components OUT OF DATE" in text
    assert "failover to on-host off" in text and "on-host processing, no off-host proxy" in text
    assert "VSS provider: Pure Storage VSS Hardware Provider; failover to software provider on" in text
    assert "GET /api/v1/jobs?typeFilter=HyperVBackup" in text
    assert PASSWORD not in text and "password" not in text.lower().replace("password_env", "")
    err = capsys.readouterr().err
    assert "2 proxies, 1 clusters, 1 standalone Hyper-V hosts, 3 Hyper-V jobs" in err and PASSWORD not in err


def test_a_proxy_no_enabled_job_uses_serves_nothing(creds, tmp_path):
    """Without an enabled off-host job a proxy serves nothing: `serves: []` with a comment, never "every source"."""
    sc = estate()
    for j in sc["backup_server"]["jobs"]:
        j["enabled"] = j["name"] != "Cluster auto"  # PX01 was used by this one job only
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(sc) as (url, ca, _):
        assert run(url, ca, out) == 0
    text = out.read_text()
    assert "    serves: []  # no enabled off-host job uses this proxy: it serves nothing" in text
    served = {a["proxy"]: a["sources"] for a in inventory.load(out).assignments}
    assert served["PX01"] == [] and served["PX02"] == [
        {"kind": "cluster", "name": "HVCL01"},
        {"kind": "host", "name": "HV03"},
    ]


def test_paging_follows_every_page_and_requests_grow_with_pages(creds, tmp_path):
    small, large = tmp_path / "small.yaml", tmp_path / "large.yaml"
    with vbr_rest.serve(estate()) as (url, ca, state):
        assert run(url, ca, large) == 0
        one_page = sum(state.requests.values())
        state.requests.clear()
        assert run(url, ca, small, "--page-size", "2") == 0
        paged = state.requests
    assert small.read_text().split("\n", 4)[4] == large.read_text().split("\n", 4)[4]  # all but the timestamp
    # managedServers: 5 Hyper-V and SMB servers in pages of 2 = 3 requests (1 in one page); jobs: 3 in 2;
    # proxies and states: 2 each in 1
    assert paged["/api/v1/backupInfrastructure/managedServers"] == 3
    assert paged["/api/v1/jobs"] == 2
    assert paged["/api/v1/backupInfrastructure/proxies"] == 1
    assert sum(paged.values()) == one_page + 2 + 1


def test_the_token_is_renewed_mid_discovery(tmp_path):
    with vbr_rest.serve(estate(token_expiry_s=1, latency_s=0.06)) as (url, ca, state):
        c = client(url, ca, page_size=1)
        est = read_rest(c)
        assert (
            len(est.hosts or []) == 3 and len(est.file_servers or []) == 1 and len(est.jobs or []) == 3
        )  # 1 page per item: about 1 s, past the expiry
        assert state.requests[TOKEN] >= 2  # the login, then at least one refresh
        assert state.requests[TOKEN] < c.requests / 3


def test_an_expired_token_is_renewed_once_after_a_401(tmp_path):
    with vbr_rest.serve(estate(token_expiry_s=1)) as (url, ca, state):
        c = client(url, ca)
        c.get("jobs")
        c._renew_at = time.monotonic() + 3600  # as if the local clock ran slow: no renewal ahead of time
        time.sleep(1.1)
        assert len(c.get("jobs")["data"]) == 3  # 401 ExpiredToken, refresh, retry
        assert state.requests[TOKEN] == 2 and state.requests["/api/v1/jobs"] == 3


def test_a_bad_password_is_one_line_without_the_password(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OFFHOST_VBR_USER", USER)
    monkeypatch.setenv("OFFHOST_VBR_PASSWORD", "Wrong-Secret-42")
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(estate()) as (url, ca, _):
        assert run(url, ca, out) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "authentication failed (HTTP 401)" in err and USER in err
    assert "Wrong-Secret-42" not in err and not out.exists()


def test_a_viewer_gets_an_inventory_with_the_vss_facts_unknown(creds, tmp_path, capsys):
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(estate(role="viewer")) as (url, ca, _):
        assert run(url, ca, out) == 0
    text = out.read_text()
    assert "# UNKNOWN: the VSS provider and its failover per Hyper-V host" in text
    assert "VSS provider unknown" in text and "version: null  # unknown" in text
    assert len(inventory.load(out).assignments) == 2  # the rest of the discovery went on
    assert "warning: unknown: the VBR version" in capsys.readouterr().err


def test_a_server_without_api_1_3_rev1(creds, tmp_path, capsys):
    """--via rest: the error; by default the WinRM path is tried next (here nothing answers there)."""
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(estate(api_versions=["1.2-rev1"])) as (url, ca, _):
        assert run(url, ca, out, "--via", "rest") == 3
        assert "does not serve REST API 1.3-rev1" in capsys.readouterr().err and not out.exists()
        assert run(url, ca, out, "--winrm-port", "1", "--timeout", "5") == 3
    err = capsys.readouterr().err
    assert "cannot connect to https://127.0.0.1:1/wsman" in err and "after REST did not answer" in err
    assert "does not serve REST API 1.3-rev1" in err and not out.exists()


def test_the_lab_certificate_is_refused_without_its_ca(creds, tmp_path, capsys):
    out = tmp_path / "inventory.yaml"
    with vbr_rest.serve(estate()) as (url, _, _state):
        assert run(url, None, out) == 3
        assert "TLS certificate verification failed" in capsys.readouterr().err
        assert run(url, None, out, "--insecure") == 0


def test_an_unreachable_server_leaves_no_file(creds, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    out = tmp_path / "inventory.yaml"
    out_before: list[Any] = list(tmp_path.iterdir())
    assert main(["discover", "--backup-server", f"127.0.0.1:{port}", "-o", str(out), "--timeout", "5"]) == 3
    assert "cannot connect to https://127.0.0.1:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == out_before


def test_a_trickling_server_is_cut_at_the_deadline():
    with Trickle(interval_s=0.2) as t:
        target = Target("VBR01", "backup_server", "127.0.0.1", t.port, Credentials(USER, PASSWORD), timeout_s=1.5)
        c = VbrRestClient(target, base_url=t.url)
        started = time.monotonic()
        with pytest.raises(TargetUnreachableError, match="within 1.5s"):
            c.login()
        assert time.monotonic() - started < 4


def test_names_the_inventory_would_refuse_become_comments(tmp_path):
    """Server text is untrusted: an IPv6 name, a space or a YAML line break never breaks the file."""
    est = VbrEstate(server="vbr01.corp.example", endpoint="https://vbr01.corp.example:9419", via="rest", name="VBR01")
    est.proxies = [VbrProxy("fe80::1", "fe80::1", "p1", 2), VbrProxy("px02.corp.example", "px02.corp.example", "p2", 2)]
    est.clusters = [VbrCluster("HV CL"), VbrCluster("HVCL2", ["bad node"])]
    est.hosts = [VbrHost("bad node", "HVCL2"), VbrHost("hv09\u2028evil: true")]
    est.jobs = [
        {
            "name": "J\nx: 1",
            "enabled": True,
            "mode": "off_host",
            "proxies": {"automatic": True, "names": None},
            "sources": [{"kind": "cluster", "name": "HV CL"}],
        }
    ]
    out = tmp_path / "inventory.yaml"
    out.write_text(discover.inventory_text(est))
    inv = inventory.load(out)
    assert inv.proxies == ["PX02"] and inv.clusters == {"HVCL2": []}
    assert inv.assignments == [{"proxy": "PX02", "max_tasks": 2, "sources": []}]  # its one source: a comment
    assert "    serves: []  # none of its sources has a name the inventory accepts" in out.read_text()
    assert '# serves "HV CL" too (jobs: J' in out.read_text()
    assert next(h for h in inv.hosts if h.name == "PX02").address == "px02.corp.example"
    text = out.read_text()
    assert '# skipped: "fe80::1"' in text and "x: 1" in text.splitlines()[-1]  # the job name stays in its comment
    assert "evil" not in {h.name for h in inv.hosts}


def _shape(inv: inventory.Inventory) -> tuple[Any, ...]:
    return (
        sorted(inv.proxies),
        inv.clusters,
        sorted(
            (a["proxy"], a["max_tasks"], sorted((s["kind"], s["name"]) for s in a["sources"])) for a in inv.assignments
        ),
        sorted(h.name for h in inv.hosts if "hyperv_host" in h.roles),
    )


@pytest.mark.parametrize("name", [n for n in scenario.shipped() if n != "large-generated"])
def test_discovery_of_a_shipped_scenario_matches_its_hand_written_inventory(name):
    """The lab's own inventory of each scenario (proxies, clusters, nodes, hosts, who serves what) is what
    discovery finds on the scenario's backup server: the jobs stand for the hand-written serves."""
    sc = scenario.load(name)
    lab = LabServer(responder.lab_hosts(sc), port=0)
    lab.start()
    try:
        hand = inventory.loads(responder.inventory_yaml(sc, lab))
    finally:
        lab.stop()
    with vbr_rest.serve(sc) as (url, ca, _):
        c = client(url, ca)
        found = inventory.loads(discover.inventory_text(read_rest(c)), source="discovered")
    assert _shape(found) == _shape(hand)


def test_lab_rest_serves_a_scenario_that_discover_reads(creds, tmp_path):
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "offhost_audit", "lab", "rest", "--scenario", "proxy-cluster-node", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        head = "".join(proc.stdout.readline() for _ in range(2))
        found = re.search(r"at https://(\S+) .*CA certificate: (\S+)", head.replace("\n", " "))
        assert found, head
        out = tmp_path / "inventory.yaml"
        assert main(["discover", "--backup-server", found[1], "--ca-file", found[2], "-o", str(out)]) == 0
        assert inventory.load(out).assignments[0]["sources"] == [{"kind": "cluster", "name": "HVCL01"}]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 143


class Fixed:
    """A loopback HTTP server giving every request the same status, headers and body (not a VBR)."""

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        import http.server
        import threading

        fixed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                fixed.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.requests = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> Fixed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>a web page</html>", "did not answer with a JSON object (HTTP 200): is it a VBR REST API?"),
        (b'{"access_token": 5}', "log in: the answer holds no access token"),
    ],
)
def test_a_server_that_is_no_vbr_is_one_clear_error(body, message):
    with Fixed(200, body) as f:
        target = Target("VBR01", "backup_server", "127.0.0.1", 1, Credentials(USER, PASSWORD), timeout_s=5)
        with pytest.raises(CollectorError, match=re.escape(message)) as caught:
            VbrRestClient(target, base_url=f.url).login()
    assert PASSWORD not in str(caught.value)


def test_a_redirect_is_not_followed_with_the_password():
    with Fixed(307, headers={"Location": "http://127.0.0.1:9/steal"}) as f:
        target = Target("VBR01", "backup_server", "127.0.0.1", 1, Credentials(USER, PASSWORD), timeout_s=5)
        c = VbrRestClient(target, base_url=f.url)
        with pytest.raises(CollectorError, match="log in: HTTP 307"):
            c.login()
        assert c.requests == 1 and f.requests == 1


def test_malformed_items_are_left_out_and_said(tmp_path):
    """Whatever the server answers, discovery never crashes: items without the fields it needs are counted."""
    doc = (
        b'{"access_token": "t", "expires_in": 900, "buildVersion": ["13"], "name": 7,'
        b' "data": [{"id": "a"}, 5, {"id": "p", "name": "PX9", "type": "HvProxy", "server": "x",'
        b' "storage": [], "virtualMachines": {"includes": [3, {"type": 1}]}}],'
        b' "pagination": {"total": 3, "count": 3}}'
    )
    with Fixed(200, doc) as f:
        target = Target("VBR01", "backup_server", "127.0.0.1", 1, Credentials(USER, PASSWORD), timeout_s=5)
        est = read_rest(VbrRestClient(target, base_url=f.url))
    assert [p.name for p in est.proxies or []] == ["PX9"] and est.version is None
    assert "2 of 3 proxies without id, name: left out" in est.unknown
    out = tmp_path / "inventory.yaml"
    out.write_text(discover.inventory_text(est))
    assert inventory.load(out).proxies == ["PX9"]


def test_missing_credentials_are_exit_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("OFFHOST_VBR_USER", USER)
    monkeypatch.delenv("OFFHOST_VBR_PASSWORD", raising=False)
    assert main(["discover", "--backup-server", "127.0.0.1:1"]) == 2
    assert "environment variable OFFHOST_VBR_PASSWORD is not set" in capsys.readouterr().err


def test_a_bad_scenario_backup_server_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts: [{name: HV01}]\nbackup_server: {name: VBR01, jobs: [{sources: []}]}\n")
    assert main(["lab", "rest", "--scenario", str(bad), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "backup_server: a proxy, managed server or job" in err


# --- audit --backup-server: discover in memory, lay a hand-written inventory over it, collect, audit -------


@pytest.fixture
def lab_creds(monkeypatch):
    sc = scenario.load("job-falls-back")
    for k, v in {**responder.lab_env(sc), "OFFHOST_VBR_USER": USER, "OFFHOST_VBR_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(k, v)


def test_audit_backup_server_discovers_overlays_collects_and_audits(lab_creds, tmp_path, capsys):
    import json

    from offhost_audit.lab import demo

    sc = scenario.load("job-falls-back")
    hand, out, facts = tmp_path / "hand.yaml", tmp_path / "findings.json", tmp_path / "facts.json"
    with LabServer(responder.lab_hosts(sc)) as lab, vbr_rest.serve(sc) as (url, ca, state):
        lab_doc = responder.inventory_doc(sc, lab)
        for k in ("via", "rest"):  # the run reads the server as discovery did (--backup-server, --ca-file)
            lab_doc["backup_server"].pop(k, None)
        hand.write_text(demo.overlay_yaml(lab_doc))
        args = ["audit", "--backup-server", url.removeprefix("https://"), "--ca-file", ca, "-i", str(hand)]
        code = main([*args, "--no-history", "--format", "json", "-o", str(out), "--save-facts", str(facts), "-q"])
        assert state.requests[TOKEN] == 2  # one login to discover, one for the run's rest.backup_server
    assert code == 1  # OHP-010 fails critical
    found = json.loads(out.read_text())
    assert any(f["rule_id"] == "OHP-010" and f["status"] == "fail" for f in found)
    (job,) = [f for f in found if f["rule_id"] == "OHP-040" and f["status"] == "fail"]
    assert job["severity"] == "high" and "Nightly HVCL07" in job["message"]
    doc = json.loads(facts.read_text())
    assert doc["assignments"] == [
        {"proxy": "HV72", "max_tasks": 4, "sources": [{"kind": "cluster", "name": "HVCL07"}], "source": "rest"}
    ]
    assert [(j["name"], j["source"]) for j in doc["vbr"]["jobs"]] == [("Nightly HVCL07", "rest")]
    assert {e["status"] for e in doc["collection"] if e["collector"] != "winrm.backup_server"} == {"ok"}
    assert PASSWORD not in out.read_text() + facts.read_text() + capsys.readouterr().err


def test_audit_backup_server_records_the_server_as_the_estate(lab_creds, tmp_path):
    from offhost_audit.lab import demo
    from offhost_audit.store import history

    sc = scenario.load("job-falls-back")
    hand, db = tmp_path / "hand.yaml", tmp_path / "h.sqlite"
    with LabServer(responder.lab_hosts(sc)) as lab, vbr_rest.serve(sc) as (url, ca, _):
        hand.write_text(demo.overlay_yaml(responder.inventory_doc(sc, lab)))
        hostport = url.removeprefix("https://")
        args = ["audit", "--backup-server", hostport, "--ca-file", ca, "-i", str(hand), "--db", str(db), "-q"]
        assert main(args) == 1
    store = history.History(db, create=False)
    try:
        (run,) = store.runs()
        assert store.estate(run.id) == f"backup-server:{hostport}"
    finally:
        store.close()


def test_audit_backup_server_unreachable_is_exit_3_and_writes_nothing(lab_creds, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    before = sorted(tmp_path.iterdir())
    args = ["audit", "--backup-server", f"127.0.0.1:{port}", "--timeout", "5", "--db", str(tmp_path / "h.sqlite")]
    outputs = ["-o", str(tmp_path / "f.txt"), "--save-facts", str(tmp_path / "facts.json")]
    assert main([*args, *outputs, "--report", str(tmp_path / "reports")]) == 3
    err = capsys.readouterr().err
    assert "cannot connect to https://127.0.0.1:" in err and len(err.strip().splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before  # no findings, facts, report folder or history


def test_audit_needs_an_inventory_or_a_backup_server(capsys):
    assert main(["audit"]) == 2
    assert "give --inventory FILE, --backup-server HOST, or both" in capsys.readouterr().err


def test_a_bad_hand_written_overlay_is_exit_2_naming_its_line(lab_creds, tmp_path, capsys):
    sc = scenario.load("job-falls-back")
    hand = tmp_path / "hand.yaml"
    hand.write_text("proxies:\n  - {name: HV72, winrm: {port: 0}}\n")
    with vbr_rest.serve(sc) as (url, ca, _):
        args = ["audit", "--backup-server", url.removeprefix("https://"), "--ca-file", ca, "-i", str(hand), "-q"]
        assert main([*args, "--no-history"]) == 2
    assert f"{hand}:2: proxies[0].winrm.port: expected an integer 1-65535, got 0" in capsys.readouterr().err


def test_discover_review_audit_finds_what_audit_backup_server_finds(lab_creds, tmp_path):
    """`discover -o F`, a review that adds how to reach each host, then `audit -i F` gives the findings
    `audit --backup-server HOST -i hand.yaml` gives in one go."""
    import json

    import yaml

    from offhost_audit.lab import demo

    sc = scenario.load("job-failover-off")
    disc, reviewed, hand = tmp_path / "discovered.yaml", tmp_path / "reviewed.yaml", tmp_path / "hand.yaml"
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    with LabServer(responder.lab_hosts(sc)) as lab, vbr_rest.serve(sc) as (url, ca, _):
        lab_doc = responder.inventory_doc(sc, lab)
        server = ["--backup-server", url.removeprefix("https://"), "--ca-file", ca]
        assert main(["discover", *server, "-o", str(disc)]) == 0
        reach = {
            e["name"]: e for e in [lab_doc["backup_server"], *lab_doc["proxies"], *lab_doc["clusters"][0]["nodes"]]
        }
        doc = yaml.safe_load(disc.read_text())  # the review: each entry gets its address and winrm settings
        for e in [doc["backup_server"], *doc["proxies"], *doc["clusters"][0]["nodes"]]:
            e.update({k: reach[e["name"]][k] for k in ("address", "winrm")})
        doc["defaults"] = lab_doc["defaults"]
        reviewed.write_text(yaml.safe_dump(doc, sort_keys=False))
        hand.write_text(demo.overlay_yaml(lab_doc))
        common = ["--no-history", "--format", "json", "-q"]
        assert main(["audit", "-i", str(reviewed), *common, "-o", str(one)]) == 1
        assert main(["audit", *server, "-i", str(hand), *common, "-o", str(two)]) == 1

    def seen(path: Path) -> set[tuple[str, str, str]]:
        return {
            (f["rule_id"], f["status"], json.dumps(f["subject"], sort_keys=True)) for f in json.loads(path.read_text())
        }

    assert seen(one) == seen(two) and ("OHP-002", "fail") in {(r, s) for r, s, _ in seen(one)}


def test_audit_backup_server_over_winrm_finds_what_rest_finds(lab_creds, tmp_path):
    """`--via winrm` (the Veeam PowerShell module): the same findings as over REST; the assignments say
    `source: powershell`."""
    import json

    from offhost_audit.lab import demo

    sc = scenario.load("job-failover-off")
    hand, rest_out, winrm_out, facts = (tmp_path / n for n in ("hand.yaml", "r.json", "w.json", "facts.json"))
    with LabServer(responder.lab_hosts(sc)) as lab, vbr_rest.serve(sc) as (url, ca, _):
        lab_doc = responder.inventory_doc(sc, lab, auth="basic")
        for k in ("via", "rest"):
            lab_doc["backup_server"].pop(k, None)
        hand.write_text(demo.overlay_yaml(lab_doc))
        common = ["-i", str(hand), "--no-history", "--format", "json", "-q"]
        rest = ["--backup-server", url.removeprefix("https://"), "--ca-file", ca]
        assert main(["audit", *rest, *common, "-o", str(rest_out)]) == 1
        wsman = lab.endpoint("VBR01").removeprefix("http://").split("/")[0]
        winrm = ["--backup-server", wsman, "--via", "winrm", "--winrm-scheme", "http", "--winrm-auth", "basic"]
        assert main(["audit", *winrm, *common, "-o", str(winrm_out), "--save-facts", str(facts)]) == 1

    def seen(path: Path) -> set[tuple[str, str, str]]:
        return {
            (f["rule_id"], f["status"], f["message"]) for f in json.loads(path.read_text()) if f["status"] == "fail"
        }

    # the cluster nodes' VSS settings: unknown over REST (standalone hosts only), read over PowerShell, where
    # VBR's default (fail over to the software provider: on) fails OHP-042 low; the rest is the same
    assert {x for x in seen(winrm_out) if x[0] != "OHP-042"} == seen(rest_out)
    assert any(r == "OHP-040" and "Finance nightly" in m for r, _, m in seen(winrm_out))
    assert {a["source"] for a in json.loads(facts.read_text())["assignments"]} == {"powershell"}


def test_audit_backup_server_resolves_the_servers_account_once(lab_creds, tmp_path, monkeypatch):
    """Discovery and the run share one resolver: a prompt (or keyring lookup) for the account happens once."""
    from offhost_audit.inventory import credentials
    from offhost_audit.lab import demo

    calls: list[str] = []
    real = credentials.Resolver._resolve

    def counting(self: Any, spec: Any, where: str) -> Any:
        calls.append(str(spec.get("password_env")))
        return real(self, spec, where)

    monkeypatch.setattr(credentials.Resolver, "_resolve", counting)
    sc = scenario.load("job-falls-back")
    hand = tmp_path / "hand.yaml"
    with LabServer(responder.lab_hosts(sc)) as lab, vbr_rest.serve(sc) as (url, ca, _):
        lab_doc = responder.inventory_doc(sc, lab)
        for k in ("via", "rest"):
            lab_doc["backup_server"].pop(k, None)
        hand.write_text(demo.overlay_yaml(lab_doc))
        args = ["audit", "--backup-server", url.removeprefix("https://"), "--ca-file", ca, "-i", str(hand), "-q"]
        assert main([*args, "--no-history"]) == 1
    assert calls.count("OFFHOST_VBR_PASSWORD") == 1 and calls.count("OFFHOST_LAB_PASSWORD") == 1
