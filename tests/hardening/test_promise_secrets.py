"""Promises: a password never leaves the process in clear, and a prompt without a terminal is a clear error.

``--opa-url http://user:password@host:port`` is shown as ``http://***@host:port`` in every message,
log line, report and history entry; the credentials are still used (HTTP Basic, what the fake OPA
receives). ``credentials: {prompt: true}`` under cron (no terminal) is one line naming the target
and the other two ways to give a password, exit 2.
"""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from promise_kit import EXAMPLE_FACTS, ROOT, run_cli

from offhost_audit.text import redact_url

sys.path.insert(0, str(ROOT / "tests" / "engine"))
from fake_opa import FakeOpa

SECRET = "S3cret-pw"
USER = "auditor"


def _all_bytes(*roots: Path) -> bytes:
    """Every file under the folders (the history database with its -wal/-shm files, the reports...)."""
    return b"".join(p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://u:p@opa:8181", "http://***@opa:8181"),
        ("no OPA at HTTPS://u:p@ss@opa:1/v1?a=b@c (refused)", "no OPA at HTTPS://***@opa:1/v1?a=b@c (refused)"),
        ("--opa-url 'http://user@opa'", "--opa-url 'http://***@opa'"),
        ("http://opa:8181/a@b and mail@example.org", "http://opa:8181/a@b and mail@example.org"),
    ],
)
def test_the_user_and_password_of_a_url_are_never_shown(text, shown):
    assert redact_url(text) == shown


def test_a_password_in_the_opa_url_is_used_and_never_shown_or_stored(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    db, rep = tmp_path / "db" / "history.sqlite", tmp_path / "rep"
    db.parent.mkdir()
    with FakeOpa() as opa:
        url = opa.url.replace("http://", f"http://{USER}:{SECRET}@")
        r = run_cli(
            "--debug",
            "evaluate",
            "-f",
            str(EXAMPLE_FACTS),
            "--opa-url",
            url,
            "--format",
            "json",
            "--db",
            str(db),
            "--report",
            str(rep),
            "-F",
            "all",
            env=env,
        )
        assert r.returncode == 0, r.stderr
        token = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        assert opa.authorizations and set(opa.authorizations) == {f"Basic {token}"}  # sent, as HTTP Basic
    assert json.loads(r.stdout)  # the findings came back from the server
    shown = runs = run_cli("history", "--db", str(db), "--format", "json", env=env)
    report = run_cli("report", "--db", str(db), "-o", str(tmp_path / "again"), env=env)
    assert runs.returncode == 0 and report.returncode == 0, runs.stderr + report.stderr
    everything = _all_bytes(db.parent, rep, tmp_path / "again", tmp_path / "data", tmp_path / "cache")
    for out in (r.stdout, r.stderr, shown.stdout, shown.stderr, report.stdout, report.stderr):
        assert SECRET not in out
    assert SECRET.encode() not in everything and token.encode() not in everything
    assert "http://***@127.0.0.1:" in r.stderr  # --debug logs name the server, without the password
    with sqlite3.connect(db) as con:
        stored = " ".join(str(row) for row in con.execute("SELECT * FROM runs"))
    assert opa.url.replace("http://", "http://***@") in stored  # the run records which server, redacted
    assert EXAMPLE_FACTS.read_bytes().count(SECRET.encode()) == 0


def test_an_audit_with_a_password_in_the_opa_url_keeps_it_out_of_the_facts(tmp_path):
    """`audit` against the lab, judged on the fake OPA: the saved facts, the findings, the reports and
    the history hold no password."""
    from offhost_audit.lab import responder, scenario
    from offhost_audit.lab.wsman import LabServer

    sc = scenario.load("csv-healthy")
    inv, facts, rep, db = tmp_path / "inv.yaml", tmp_path / "facts.json", tmp_path / "rep", tmp_path / "h.sqlite"
    with LabServer(responder.lab_hosts(sc)) as lab, FakeOpa() as opa:
        inv.write_text(responder.inventory_yaml(sc, lab), encoding="utf-8")
        url = opa.url.replace("http://", f"http://{USER}:{SECRET}@")
        r = run_cli(
            "audit", "-i", str(inv), "--opa-url", url, "--save-facts", str(facts), "--format", "json",
            "-o", str(tmp_path / "findings.json"), "--db", str(db), "--report", str(rep),
            env=responder.lab_env(sc),
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(facts.read_text(encoding="utf-8"))["collection"]  # collected for real
    assert SECRET not in r.stdout + r.stderr
    assert SECRET.encode() not in _all_bytes(tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "http://{u}:{p}@127.0.0.1:{port}",  # nothing listens: exit 3
        "http://{u}:{p}@127.0.0.1:{port}/v1",  # a path: exit 2
        "http://{u}:{p}@127.0.0.1:port",  # not a port: exit 2
        "ftp://{u}:{p}@127.0.0.1:{port}",  # not http(s): exit 2
    ],
)
def test_an_opa_url_with_a_password_that_fails_never_shows_it(url, tmp_path):
    url = url.format(u=USER, p=SECRET, port=_free_port())
    r = run_cli(
        "--debug",
        "evaluate",
        "-f",
        str(EXAMPLE_FACTS),
        "--opa-url",
        url,
        "--db",
        str(tmp_path / "h.sqlite"),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert r.returncode in (2, 3), r.stderr  # (--debug: with the traceback, which shows no value either)
    assert SECRET not in r.stderr + r.stdout
    assert "http://***@127.0.0.1" in r.stderr or "ftp://***@127.0.0.1" in r.stderr
    assert not (tmp_path / "h.sqlite").exists() or SECRET.encode() not in _all_bytes(tmp_path)


PROMPT_INVENTORY = """\
defaults:
  winrm: {scheme: http, auth: basic, message_encryption: never}
proxies:
  - name: PROXY-CRON
    address: 127.0.0.1
    winrm: {port: 9}
    credentials: {prompt: true, username: "CORP\\\\auditor"}
"""


@pytest.mark.parametrize("command", ["audit", "collect"])
def test_a_prompt_without_a_terminal_is_a_clear_error(command, tmp_path):
    """As cron runs it: no controlling terminal (a new session), stdin not a terminal."""
    inv = tmp_path / "inv.yaml"
    inv.write_text(PROMPT_INVENTORY, encoding="utf-8")
    extra = ["-o", str(tmp_path / "facts.json")] if command == "collect" else ["--db", str(tmp_path / "h.sqlite")]
    r = subprocess.run(
        [sys.executable, "-m", "offhost_audit", command, "-i", str(inv), "-q", *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Warning" not in r.stderr and "Password for" not in r.stderr, r.stderr
    line = r.stderr.strip()
    assert f"{inv}:4: PROXY-CRON:" in line and "no terminal" in line
    assert "password_env" in line and "keyring" in line  # how to give it instead


def test_a_password_in_a_target_address_is_refused_without_being_shown(tmp_path):
    """`address: user:password@host` would put the password in the WinRM URL, its errors and the
    facts (the address is recorded): the inventory refuses it, exit 2, and does not echo the value."""
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "defaults:\n  winrm: {scheme: http, auth: basic, message_encryption: never}\n"
        "  credentials: {username_env: LAB_U, password_env: LAB_P}\n"
        f"proxies:\n  - {{name: P1, address: '{USER}:{SECRET}@127.0.0.1', winrm: {{port: {_free_port()}}}}}\n",
        encoding="utf-8",
    )
    facts = tmp_path / "facts.json"
    r = run_cli("collect", "-i", str(inv), "-o", str(facts), "-q", env={"LAB_U": "lab-user", "LAB_P": "Lab-Pw0rd!"})
    assert r.returncode == 2, r.stderr
    assert f"{inv}:5: proxies[0].address: give a host name or an IP address, without user:password@" in r.stderr
    assert SECRET not in r.stderr + r.stdout and not facts.exists()
