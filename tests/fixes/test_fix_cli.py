"""`offhost-audit fix` end to end: a stored run in, a reviewed folder out; bad input is one line and
exit 2; a folder that is not empty is refused, and a link planted while writing is not followed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from offhost_audit import cli
from offhost_audit.reports import folder as report_folder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "facts"


def _stored(tmp_path: Path, name: str = "csv-cluster-problems") -> str:
    db = str(tmp_path / "h.sqlite")
    assert cli.main(["evaluate", "--facts", str(EXAMPLES / f"{name}.json"), "--db", db, "-q"]) == 1
    return db


def test_fix_writes_the_folder_and_prints_the_manifest_digest(tmp_path, capsys):
    db = _stored(tmp_path)
    out = tmp_path / "fix"
    assert cli.main(["fix", "-o", str(out), "--db", db]) == 0
    err = capsys.readouterr().err
    sums = (out / "SHA256SUMS").read_bytes()
    assert hashlib.sha256(sums).hexdigest() in err and "nothing was run" in err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["README.md", "SHA256SUMS", "PROXY01.json", "Install-ProxyFeature.ps1", "fix-data.schema.json"]
    )
    readme = (out / "README.md").read_text()
    assert "never runs these scripts" in readme and "-WhatIf" in readme and "sha256sum -c SHA256SUMS" in readme
    assert "never evict the node" in readme  # OHP-010 in this estate: a manual step
    assert "vendor VSS hardware provider" in readme  # OHP-013


def test_fix_filters_and_bad_input(tmp_path, capsys):
    db = _stored(tmp_path)
    assert cli.main(["fix", "1", "-o", str(tmp_path / "a"), "--db", db, "--rule", "OHP-013"]) == 0
    assert not list((tmp_path / "a").glob("*.ps1"))
    assert cli.main(["fix", "-o", str(tmp_path / "b"), "--db", db, "--host", "nosuch"]) == 0
    assert "0 machine(s)" in capsys.readouterr().err
    assert cli.main(["fix", "-o", str(tmp_path / "c"), "--db", db, "--rule", "OHP-999"]) == 2
    assert "--rule OHP-999: no such rule" in capsys.readouterr().err
    assert cli.main(["fix", "9", "-o", str(tmp_path / "d"), "--db", db]) == 2
    assert cli.main(["fix", "-o", str(tmp_path / "e"), "--db", str(tmp_path / "none.sqlite")]) == 2


def test_a_folder_that_is_not_empty_is_refused(tmp_path, capsys):
    db = _stored(tmp_path)
    out = tmp_path / "fix"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, out / "README.md")  # planted in advance
    assert cli.main(["fix", "-o", str(out), "--db", db]) == 2
    assert "not empty" in capsys.readouterr().err
    assert victim.read_text() == "keep me"


def test_a_link_planted_while_writing_is_not_followed(tmp_path, monkeypatch):
    db = _stored(tmp_path)
    out = tmp_path / "fix"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    real_write = report_folder.ReportFolder.write
    planted: list[str] = []

    def write(self, name, text):
        if not planted:  # after the emptiness check, before the first file: plant links at every name
            for n in ("README.md", "SHA256SUMS", "PROXY01.json", "Install-ProxyFeature.ps1"):
                os.symlink(victim, self.path / n)
            planted.append(name)
        return real_write(self, name, text)

    monkeypatch.setattr(report_folder.ReportFolder, "write", write)
    assert cli.main(["fix", "-o", str(out), "--db", db]) == 0
    assert victim.read_text() == "keep me"
    for n in ("README.md", "SHA256SUMS", "PROXY01.json", "Install-ProxyFeature.ps1"):
        assert (out / n).is_file() and not (out / n).is_symlink()


def test_the_html_report_shows_the_command_then_links_the_fix_folder(tmp_path):
    db = _stored(tmp_path)
    reports = tmp_path / "reports"
    assert cli.main(["report", "-o", str(reports), "-f", "html", "--db", db, "-q"]) == 1
    html = (reports / "latest.html").read_text()
    assert "<code>offhost-audit fix 1 -o fix-1 --rule OHP-012</code>" in html and 'href="fix-1/README.md"' not in html
    assert cli.main(["fix", "1", "-o", str(reports / "fix-1"), "--db", db]) == 0
    assert cli.main(["report", "-o", str(reports), "-f", "html", "--db", db, "-q"]) == 1
    html = (reports / "latest.html").read_text()
    assert 'href="fix-1/README.md"' in html and "offhost-audit fix 1 -o" not in html
