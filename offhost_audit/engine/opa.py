"""The OPA engine, in process: OPA's Go ``rego`` package through ``opa-golib-python-bindings``.

The reference engine (``--engine opa``), about 9x slower than the embedded one (see
benchmarks/bench_engines.py), behind the same interface as :mod:`offhost_audit.engine.embedded`:
``compiled(root)`` returns an object with ``sources``, ``metadata``, ``profiles``,
``default_profile`` and ``evaluate_json(facts_json, profile)``, and errors are PolicyError
``file:line:col: message``. The profile is data (``data.offhost.options.profile``), as on an OPA
server, so each profile gets its own engine (built on first use, about 0.2 s). An ``OpaEngine``
serialises its evaluations with a lock and may be shared between threads.

The package is optional (``pip install 'offhost-audit[opa]'``; its metadata says Python >= 3.14
although the wheel works on 3.10+); without it, ``--engine opa`` is an InputError (exit 2) that
says how to install it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offhost_audit.engine import policy_cache
from offhost_audit.engine.metadata import RuleMeta, read_metadata
from offhost_audit.engine.sources import PolicySource, dumps_compact, parse_json, read_sources, signature
from offhost_audit.errors import InputError, PolicyError
from offhost_audit.resources import policies_dir

FINDINGS_DOC = "offhost.main.findings"
JOB_FINDINGS_DOC = "offhost.main.job_findings"  # stage 2: the job rules (findings/jobs.py)
PROFILES_DOC = "offhost.data.profiles.profiles"
DEFAULT_PROFILE_DOC = "offhost.lib.profile.default_name"
FALLBACK_DEFAULT_PROFILE = "veeam-2025-08"
PIN = "opa-golib-python-bindings==0.4.4"
INSTALL_HINT = (
    f"the OPA engine needs {PIN}: pip install 'offhost-audit[opa]' on Python >= 3.14, "
    f"or `pip install --ignore-requires-python {PIN}` on Python 3.10-3.13"
)

# "x.rego:5: rego_parse_error: message", then the source line and a caret, each after a tab.
_ERROR = re.compile(r"(?P<file>[^\s:]+\.rego):(?P<row>\d+): (?P<code>[a-z_]+): (?P<msg>[^\n]*)((?:\n\t[^\n]*)*)")

_lock = threading.Lock()
_cache: dict[str, OpaPolicies] = {}


def bindings() -> Any:
    """The opa_bindings module, or an InputError saying how to install it."""
    try:
        import opa_bindings
    except ImportError:
        raise InputError(INSTALL_HINT, title="OPA engine not installed") from None
    return opa_bindings


def format_opa_error(exc: BaseException, sources: list[PolicySource] | dict[str, str]) -> str:
    """OPA's error text as ``file:line:col: code: message`` lines (the diagram kept, indented).

    OPA's messages name the row only: the column comes from the caret of its source diagram, else
    the first non-blank column of that line in the source.
    """
    text = getattr(exc, "message", None) or str(exc)
    texts = sources if isinstance(sources, dict) else {s.name: s.text for s in sources}
    out = []
    for m in _ERROR.finditer(text):
        row = int(m["row"])
        lines = (texts.get(m["file"]) or "").splitlines()
        src = lines[row - 1] if 0 < row <= len(lines) else ""
        indent = len(src) - len(src.lstrip())
        diagram = [ln[1:] for ln in m.group(5).split("\n")[1:]]
        caret = next((ln.index("^") for ln in diagram if ln.strip() == "^"), 0)
        out.append(f"{m['file']}:{row}:{indent + caret + 1}: {m['code']}: {m['msg'].strip()}")
        out += ["    " + ln for ln in diagram if ln.strip()]
    return "\n".join(out) if out else text.strip() or type(exc).__name__


@dataclass
class OpaPolicies:
    """The policies of one folder on OPA: one engine per profile, built on first use."""

    root: Path
    sources: list[PolicySource]
    metadata: dict[str, RuleMeta]
    profiles: dict[str, Any]
    default_profile: str
    sig: tuple
    _engines: dict[str, Any] = field(default_factory=dict)

    def engine(self, profile: str) -> Any:
        with _lock:
            eng = self._engines.get(profile)
            if eng is None:
                eng = self._engines[profile] = new_engine(self.sources, {"profile": profile})
            return eng

    def evaluate_json(self, facts_json: str, profile: str, rule: str | None = None) -> list[dict[str, Any]]:
        """All findings for the facts (JSON text) under the profile, in one pass. ``rule``: the
        embedded engine's query name (``data.offhost.main.job_findings`` for stage 2), None: findings."""
        return self.evaluate(parse_json(facts_json), profile, rule.removeprefix("data.") if rule else FINDINGS_DOC)

    def evaluate_json_text(self, facts_json: str, profile: str) -> str:
        """The same findings as JSON text (what a pool worker hands back)."""
        return dumps_compact(self.evaluate_json(facts_json, profile))

    def evaluate(self, facts: Any, profile: str, doc: str = FINDINGS_DOC) -> list[dict[str, Any]]:
        ob = bindings()
        try:
            out = self.engine(profile).eval_document(doc, facts)
        except ob.OpaUndefinedError:
            return []
        except ob.OpaError as e:
            raise PolicyError(format_opa_error(e, self.sources)) from None
        if not isinstance(out, list):
            raise PolicyError(f"data.{doc} must be a set of findings, got {type(out).__name__}")
        return out


def new_engine(sources: list[PolicySource], options: dict[str, Any] | None = None) -> Any:
    """An OpaEngine with the policies (and ``data.offhost.options``); errors are PolicyError."""
    ob = bindings()
    eng = ob.OpaEngine()
    eng.print_handler = lambda message, location: None  # prints are read from last_prints
    try:
        for src in sources:
            eng.add_policy(src.name, src.text)
        if options is not None:
            eng.add_data({"offhost": {"options": options}})
    except ob.OpaError as e:
        raise PolicyError(format_opa_error(e, sources)) from None
    return eng


def _document(eng: Any, path: str, default: Any, sources: list[PolicySource]) -> Any:
    ob = bindings()
    try:
        return eng.eval_document(path, {})
    except ob.OpaUndefinedError:
        return default
    except ob.OpaError as e:
        raise PolicyError(format_opa_error(e, sources)) from None


def engine_tag() -> str:
    """This engine's name and build (policy_cache.library_tag): what the caches and part keys name."""
    return policy_cache.library_tag("opa", bindings())


def compile_policies(root: Path | None = None) -> OpaPolicies:
    """Load every non-test .rego file below root (default: the shipped policies) into OPA."""
    bindings()  # an InputError saying how to install it, before anything else
    root = Path(root) if root else policies_dir()
    sig = signature(root)
    sources = read_sources(root, include_tests=False)
    if not sources:
        raise PolicyError(f"{root}: no .rego policy files found")
    metadata, profiles, default = policy_cache.derived(root, sources, engine_tag(), lambda: _derive(root, sources))
    return OpaPolicies(root, sources, metadata, profiles, default, sig)


def _derive(root: Path, sources: list[PolicySource]) -> policy_cache.Derived:
    """The METADATA blocks, the profiles and the default profile (a probe engine): what the cache keeps."""
    probe = new_engine(sources)
    profiles = _document(probe, PROFILES_DOC, {}, sources)
    default = _document(probe, DEFAULT_PROFILE_DOC, FALLBACK_DEFAULT_PROFILE, sources)
    probe.close()
    if not isinstance(profiles, dict) or not profiles:
        raise PolicyError(f"{root}: data.{PROFILES_DOC} defines no guidance profiles")
    return read_metadata(sources), profiles, default


def compiled(root: Path | None = None) -> OpaPolicies:
    """The compiled policies for root (shared by all threads), recompiled after edits."""
    root = Path(root) if root else policies_dir()
    key = str(root.resolve())
    hit = _cache.get(key)
    if hit is None or hit.sig != signature(root):
        hit = compile_policies(root)
        with _lock:
            _cache[key] = hit
    return hit
