"""The embedded Rego engine (regorus): every policy compiled once per thread, one pass per evaluation.

A regorus ``Engine`` is unsendable (using it from another thread panics), so compiled engines live
in a ``threading.local`` cache keyed by policy folder; each evaluation works on a ``clone()``
(about free) so that input and options never leak between runs. The cache notices edited policy
files (mtime/size) and recompiles. What is derived from the sources besides the engine (METADATA,
profiles, default profile) comes from the on-disk cache of :mod:`policy_cache` between runs.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, NamedTuple

import regorus

from offhost_audit.engine import policy_cache
from offhost_audit.engine.metadata import RuleMeta, read_metadata
from offhost_audit.engine.sources import (
    PolicySource,
    format_rego_error,
    parse_json,
    quiet_backtraces,
    read_sources,
    signature,
)
from offhost_audit.errors import InputError, PolicyError
from offhost_audit.resources import policies_dir

FINDINGS_RULE = "data.offhost.main.findings"
JOB_FINDINGS_RULE = "data.offhost.main.job_findings"  # stage 2: the job rules (findings/jobs.py)
PROFILES_RULE = "data.offhost.data.profiles.profiles"
DEFAULT_PROFILE_RULE = "data.offhost.lib.profile.default_name"
FALLBACK_DEFAULT_PROFILE = "veeam-2025-08"
_UNDEFINED = '"<undefined>"'

_local = threading.local()


class CompiledPolicies(NamedTuple):  # not a dataclass: dataclasses costs ~10 ms of start-up to import
    """One thread's compiled policy set and what was read from it."""

    root: Path
    engine: Any  # regorus.Engine, only ever touched from the thread that built it
    sources: list[PolicySource]
    metadata: dict[str, RuleMeta]
    profiles: dict[str, Any]
    default_profile: str
    sig: tuple

    def evaluate_json(self, facts_json: str, profile: str, rule: str = FINDINGS_RULE) -> list[dict[str, Any]]:
        """All findings for the facts (JSON text) under the profile, in one pass. ``rule``: the
        findings query (JOB_FINDINGS_RULE for stage 2, whose input is findings/jobs.py's)."""
        return findings_list(self.evaluate_json_text(facts_json, profile, rule), rule)

    def evaluate_json_text(self, facts_json: str, profile: str, rule: str = FINDINGS_RULE) -> str:
        """The same findings as the engine's JSON text (what a pool worker hands back)."""
        eng = self.engine.clone()
        try:
            eng.set_input_json(facts_json)
        except Exception as e:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with a caret diagram
            raise PolicyError(f"the engine could not read the facts: {format_rego_error(e)}") from None
        del facts_json
        return _findings_text(eng, profile, rule)


def _findings_text(eng: Any, profile: str, rule: str = FINDINGS_RULE) -> str:
    """Set the profile option and run a findings query on an engine that has its input."""
    try:
        eng.add_data_json(json.dumps({"offhost": {"options": {"profile": profile}}}))
        out = eng.eval_rule_as_json(rule)
    except Exception as e:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with a caret diagram
        raise PolicyError(format_rego_error(e)) from None
    return "[]" if out == _UNDEFINED else out


def findings_list(text: str, rule: str = FINDINGS_RULE) -> list[dict[str, Any]]:
    """The findings query's JSON text as a list; PolicyError when it is not a set of findings."""
    result = parse_json(text)
    if not isinstance(result, list):
        raise PolicyError(f"{rule} must be a set of findings, got {type(result).__name__}")
    return result


def engine_tag() -> str:
    """This engine's name and build (policy_cache.library_tag): what the caches and part keys name."""
    return policy_cache.library_tag("regorus", regorus.regorus)


def compile_policies(root: Path | None = None) -> CompiledPolicies:
    """Load every non-test .rego file below root (default: the shipped policies) into a new engine."""
    root = Path(root) if root else policies_dir()
    sig = signature(root)
    sources = read_sources(root, include_tests=False)
    if not sources:
        raise PolicyError(f"{root}: no .rego policy files found")
    quiet_backtraces()
    eng = regorus.Engine()
    for src in sources:
        try:
            eng.add_policy(src.name, src.text)
        except Exception as e:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with a caret diagram
            raise PolicyError(format_rego_error(e)) from None
    metadata, profiles, default = policy_cache.derived(root, sources, engine_tag(), lambda: _derive(root, eng, sources))
    return CompiledPolicies(root, eng, sources, metadata, profiles, default, sig)


def _derive(root: Path, eng: Any, sources: list[PolicySource]) -> policy_cache.Derived:
    """The METADATA blocks, the profiles and the default profile (two probe queries): what the cache keeps."""
    metadata = read_metadata(sources)
    probe = eng.clone()
    try:
        probe.set_input_json("{}")
        raw = probe.eval_rule_as_json(PROFILES_RULE)
        profiles = {} if raw == _UNDEFINED else json.loads(raw)
        raw = probe.eval_rule_as_json(DEFAULT_PROFILE_RULE)
        default = FALLBACK_DEFAULT_PROFILE if raw == _UNDEFINED else json.loads(raw)
    except Exception as e:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with a caret diagram
        raise PolicyError(format_rego_error(e)) from None
    if not isinstance(profiles, dict) or not profiles:
        raise PolicyError(f"{root}: {PROFILES_RULE} defines no guidance profiles")
    return metadata, profiles, default


def compiled(root: Path | None = None) -> CompiledPolicies:
    """This thread's compiled policies for root, compiled on first use and after edits."""
    root = Path(root) if root else policies_dir()
    cache: dict[str, CompiledPolicies] = getattr(_local, "cache", None) or {}
    _local.cache = cache
    key = str(root.resolve())
    hit = cache.get(key)
    if hit is None or hit.sig != signature(root):
        hit = cache[key] = compile_policies(root)
    return hit


def resolve_profile(policies: CompiledPolicies, facts: dict[str, Any], profile: str | None) -> str:
    """--profile, else the facts' vbr.profile, else the policies' default; unknown names are an InputError."""
    valid = ", ".join(sorted(policies.profiles))
    if profile:
        if profile not in policies.profiles:
            raise InputError(f"unknown profile {profile!r} (--profile); valid profiles: {valid}")
        return profile
    from_facts = (facts.get("vbr") or {}).get("profile")
    if from_facts:
        if from_facts not in policies.profiles:
            raise InputError(
                f"facts $.vbr.profile: unknown profile {from_facts!r}; valid profiles: {valid} "
                "(or pass --profile to override)"
            )
        return from_facts
    return policies.default_profile
