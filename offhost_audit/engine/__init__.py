"""The Rego engines: ``embedded`` (regorus, the default) and ``opa`` (OPA's Go engine in process)."""

from __future__ import annotations

from typing import Any

ENGINES = ("embedded", "opa")


def engine_module(engine: str) -> Any:
    """The module of the named engine: ``compiled(policies)`` gives its compiled policies."""
    if engine == "embedded":
        from offhost_audit.engine import embedded

        return embedded
    if engine == "opa":
        from offhost_audit.engine import opa

        return opa
    from offhost_audit.errors import InputError

    raise InputError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
