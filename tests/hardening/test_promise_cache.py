"""Promise: the policy cache is only a cache. Whatever someone else puts in the cache folder (a FIFO,
an entry with a valid header and other values) neither holds the run nor changes what it reports.

Each case runs the CLI as a user does, in a fresh process, with the cache under the test's folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from promise_kit import EXAMPLE_FACTS, run_cli


@pytest.fixture
def cache_home(tmp_path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}


def _warm_entry(env: dict[str, str]) -> Path:
    """Run once so that the shipped policies' entry exists; its path."""
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "-q", env=env)
    assert r.returncode == 0, r.stderr
    [entry] = (Path(env["XDG_CACHE_HOME"]) / "offhost-audit" / "policies").glob("regorus-*.json")
    return entry


def _tamper(entry: Path) -> None:
    """What someone who can write the file would do: another default profile and a script link,
    under a header that matches (the right key, a fresh digest)."""
    header, body = entry.read_text(encoding="utf-8").split("\n", 1)
    doc = json.loads(body)
    doc["default_profile"] = "veeam-2026-02"  # its informational severities would turn failures into passes
    for _, meta in doc["metadata"]:
        meta["doc_url"] = "javascript:alert(document.domain)"
    body = json.dumps(doc)
    head = json.loads(header)
    head["digest"] = hashlib.sha256(body.encode()).hexdigest()
    entry.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")


def test_a_fifo_in_the_cache_folder_does_not_hold_the_run(cache_home, tmp_path):
    entry = _warm_entry(cache_home)
    entry.unlink()
    os.mkfifo(entry)
    start = time.monotonic()
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--format", "json", env=cache_home, timeout=60)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start < 60
    assert json.loads(r.stdout)


@pytest.mark.parametrize("exposure", ["world-writable", "owned-by-nobody"])
def test_an_entry_someone_else_wrote_changes_no_verdict_and_no_link(cache_home, tmp_path, exposure):
    expected = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--format", "json", env=cache_home)
    entry = _warm_entry(cache_home)
    _tamper(entry)
    if exposure == "world-writable":
        entry.chmod(0o666)
    else:
        if os.geteuid() != 0:
            if os.environ.get("CI"):
                pytest.fail("chown to another user needs root: CI runs as root")
            pytest.skip("chown to another user needs root (CI runs as root)")
        import pwd

        os.chown(entry, pwd.getpwnam("nobody").pw_uid, -1)
    rep = tmp_path / "rep"
    r = run_cli(
        "evaluate",
        "-f",
        str(EXAMPLE_FACTS),
        "--no-history",
        "--format",
        "json",
        "--report",
        str(rep),
        "-F",
        "md,html",
        env=cache_home,
    )
    assert r.returncode == expected.returncode, r.stderr
    assert r.stdout == expected.stdout  # the same findings, severities and doc links as without any cache
    md = (rep / "latest.md").read_text(encoding="utf-8")
    assert "javascript:" not in md and "javascript:" not in (rep / "latest.html").read_text(encoding="utf-8")
    assert "profile veeam-2025-08" in md
