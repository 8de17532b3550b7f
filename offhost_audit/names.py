"""Machine names as the project compares them: ONE function, the Python twin of ``norm`` in policies/lib/facts.rego."""

from __future__ import annotations

from typing import Any


def norm_name(name: Any) -> str:
    """A computer or cluster name as the rules compare it: first DNS label, upper-case
    ("hv01.corp.example" -> "HV01", " hv01 " -> "HV01"). Must match ``norm`` in policies/lib/facts.rego."""
    return str(name).strip().split(".")[0].upper()
