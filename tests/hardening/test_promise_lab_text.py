"""Promise: text from a scenario file never drives the terminal. A scenario YAML is anyone's file: its
name, title, host names and lab password reach the `lab serve` banner and the `demo` output with
their control characters replaced (text.clean), never as escape sequences."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from promise_kit import ROOT, run_cli

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def _scenario(tmp_path):
    text = (ROOT / "offhost_audit" / "lab" / "scenarios" / "csv-healthy.yaml").read_text(encoding="utf-8")
    quoted = HOSTILE.encode("unicode_escape").decode("ascii").replace("\\x1b", "\\e").replace("\\x07", "\\a")
    lines = f'title: "Title {quoted}"\nname: "name-{quoted}"\nlab: {{password: "pw-{quoted}"}}'
    text = re.sub(r"^title: .*$", lambda _: lines, text, count=1, flags=re.M)
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_lab_banner_shows_no_control_characters(tmp_path):
    sc = _scenario(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "offhost_audit",
            "lab",
            "serve",
            "--scenario",
            str(sc),
            "--port",
            "0",
            "--inventory-out",
            str(tmp_path / "inv.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "inv.yaml").exists() and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Title" in out and "pw-" in out, out + err  # the banner was printed, the scenario's text in it
    assert not CONTROL.search(out + err), repr(out + err)
    assert "\ufffd]0;pwned\ufffd\ufffd[2J" in out  # visible, never executed


def test_the_demo_output_shows_no_control_characters(tmp_path):
    r = run_cli("demo", "--scenario", str(_scenario(tmp_path)), timeout=120)
    assert "Title" in r.stdout, r.stdout + r.stderr
    assert not CONTROL.search(r.stdout + r.stderr), repr(r.stdout + r.stderr)
