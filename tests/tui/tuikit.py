"""Helpers for the TUI tests: sessions over the shipped facts files, a hostile estate, a runner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from offhost_audit.tui.app import build_app
from offhost_audit.tui.session import Session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "facts"
HOSTILE = "[bold red]PWN[/]\x1b]0;owned\x07\x1b[2J"


def session(name: str, **kw) -> Session:
    s = Session.from_facts_file(str(EXAMPLES / name), **kw)
    s.source = f"facts {name}"  # stable titles in snapshots
    return s


def _rename(node, old: str, new: str):
    if isinstance(node, dict):
        return {k: _rename(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, old, new) for v in node]
    if isinstance(node, str) and old in node:
        return node.replace(old, new)
    return node


def hostile_facts(tmp_path: Path) -> Path:
    """csv-cluster-problems with a VM and a host whose names carry markup and terminal escapes."""
    doc = json.loads((EXAMPLES / "csv-cluster-problems.json").read_text(encoding="utf-8"))
    doc = _rename(doc, "HV01", "HV01" + HOSTILE)
    p = tmp_path / "hostile.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


async def settle(app, pilot) -> None:
    """Let workers finish and the screen repaint (deterministic: no timing guesses)."""
    from textual.worker import WorkerFailed

    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerFailed:  # the app reports it (a notification); the test looks at that
            pass
        await pilot.pause()


def drive(s: Session, body, *, size=(120, 40), start_audit: bool = False, message_hook=None):
    """Run ``body(app, pilot)`` against a headless app on ``s``."""
    app = build_app(s, start_audit=start_audit)

    async def main():
        async with app.run_test(size=size, message_hook=message_hook) as pilot:
            await settle(app, pilot)
            await body(app, pilot)

    asyncio.run(main())
    return app


def jobs_at_risk_facts(tmp_path: Path, rename: str | None = None) -> Path:
    """csv-cluster-jobs with its only proxy made a node of HVCL01 (OHP-010): job "Nightly" (fail-over
    on) falls back to on-host, job "SQL pinned" (fail-over off) fails; ``rename`` renames "Nightly"."""
    doc = json.loads((EXAMPLES / "csv-cluster-jobs.json").read_text(encoding="utf-8"))
    doc["hosts"][0]["cluster"] = {"member": True, "name": "HVCL01"}
    doc["clusters"][0]["nodes"].append("PROXY01")
    if rename:
        doc["vbr"]["jobs"][0]["name"] = rename
    p = tmp_path / "jobs-at-risk.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p
