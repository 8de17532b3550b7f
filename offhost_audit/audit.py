"""The audit service: facts in, sorted findings out. The CLI and the TUI both call this, nothing else."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from offhost_audit import facts as facts_doc
from offhost_audit.engine import embedded
from offhost_audit.engine.metadata import enrich
from offhost_audit.errors import AuditError, FactsError
from offhost_audit.findings import Finding, sorted_findings


def evaluate_facts(
    facts: dict[str, Any],
    *,
    profile: str | None = None,
    opa_url: str | None = None,
    facts_json: str | None = None,
    policies: Path | None = None,
) -> list[Finding]:
    """Evaluate a validated facts document; findings carry title, remediation and doc_url.

    ``profile``: the guidance profile (default: the facts' vbr.profile, else the policies' default);
    an unknown name raises InputError. ``opa_url``: evaluate on that OPA server instead of the
    embedded engine. ``facts_json``: the facts as JSON text when the caller already has it (skips
    re-serialising a large document). ``policies``: a policy folder other than the shipped one.
    Raises PolicyError (exit 2) for policy errors and EngineUnavailableError (exit 3) when the
    OPA server does not answer.
    """
    compiled = embedded.compiled(policies)
    name = embedded.resolve_profile(compiled, facts, profile)
    if opa_url:
        from offhost_audit.engine import opa_server

        raw = opa_server.evaluate(opa_url, compiled.sources, facts, name)
    else:
        raw = compiled.evaluate_json(facts_json if facts_json is not None else _dumps(facts), name)
    return sorted_findings(enrich(raw, compiled.metadata, facts))


def _dumps(facts: dict[str, Any]) -> str:
    import json

    return json.dumps(facts, separators=(",", ":"))


def run_warnings(facts: dict[str, Any]) -> list[str]:
    """Run-level warnings recorded in the facts (e.g. TLS validation turned off)."""
    return [str(w) for w in (facts.get("warnings") or [])]


def evaluate_file(path: str | os.PathLike[str], *, profile: str | None = None, opa_url: str | None = None,
                  policies: Path | None = None) -> tuple[list[Finding], list[str]]:
    """Read, validate and evaluate a facts file: (sorted findings, run warnings).

    Validation (Python JSON parse + schema) runs in a forked child while the engine parses the same
    text and evaluates, so on two cores the check costs almost nothing on top of the engine. The
    findings are returned only once the child says the facts are valid; when they are not, the
    FactsError wins over anything the engine said. Without fork (or with other threads running,
    e.g. in the TUI) it validates first, then evaluates.
    """
    text = facts_doc.read_text(path)
    source = str(path)
    if opa_url or not hasattr(os, "fork") or threading.active_count() > 1:
        doc = facts_doc.loads(text, source=source)
        return evaluate_facts(doc, profile=profile, opa_url=opa_url, facts_json=text, policies=policies), run_warnings(doc)
    check = _BackgroundCheck(text, source)
    try:
        compiled = embedded.compiled(policies)
        raw, view = compiled.evaluate_text(text, profile)
    except AuditError:
        check.result()  # a bad facts file is the root cause: report that instead
        raise
    finally:
        check.result()
    return sorted_findings(enrich(raw, compiled.metadata, view)), run_warnings(view)


class _BackgroundCheck:
    """facts.loads(text) in a forked child; result() raises its FactsError, or returns."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.done: str | None = None
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child: validate, report the message (empty when valid), exit
            code = 0
            try:
                os.close(r)
                try:
                    facts_doc.loads(text, source=source)
                    msg = b""
                except FactsError as e:
                    msg = str(e).encode("utf-8", "replace")
                with os.fdopen(w, "wb") as out:
                    out.write(b"ok\n" + msg)
            except BaseException:  # noqa: BLE001 - the parent re-validates itself
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        self.read_fd = r

    def result(self) -> None:
        if self.done is None:
            with os.fdopen(self.read_fd, "rb") as f:
                data = f.read()
            _, status = os.waitpid(self.pid, 0)
            if status == 0 and data.startswith(b"ok\n"):
                self.done = data[3:].decode("utf-8", "replace")
            else:  # the child died: check here instead
                try:
                    facts_doc.loads(self.text, source=self.source)
                    self.done = ""
                except FactsError as e:
                    self.done = str(e)
        if self.done:
            raise FactsError(self.done)
