"""What a collector is, what it gets, and how its output becomes one facts document.

A collector is a small typed unit: an ``id`` (``winrm.system``, ``ldap.directory``, ``smb.acl``...),
a ``source`` (``winrm`` | ``ldap`` | ``smb``), the target ``kinds`` it applies to, and
``collect(target, ctx) -> Fragment``. It never judges: it returns facts. A collector that fails
raises :class:`~offhost_audit.errors.CollectorError` (or any exception); the runner records it in
the collection manifest and goes on.

:class:`Target`, :class:`Context` and :data:`Fragment` are defined in the core
(:mod:`offhost_audit.targets`) and re-exported here. A fragment is a partial facts document (same
keys and shapes as ``schema/facts.schema.json``, plus the runner's
:class:`FragmentMeta`, added with :func:`with_meta`). :func:`merge` combines fragments: hosts, clusters, VMs, shares,
domains and computer accounts are merged by their key, dicts deep-merged, later non-null values
winning.
"""

from __future__ import annotations

from typing import Any, Protocol

from offhost_audit.credentials import Credentials
from offhost_audit.names import norm_key
from offhost_audit.targets import Context, Fragment, FragmentMeta, Target, with_meta

__all__ = [
    "Collector",
    "Context",
    "Credentials",
    "Fragment",
    "FragmentMeta",
    "Target",
    "merge",
    "with_meta",
]  # the collector contract


class Collector(Protocol):
    id: str
    source: str
    kinds: frozenset[str]

    def collect(self, target: Target, ctx: Context) -> Fragment: ...


_KEYED = {
    "hosts": "name",
    "clusters": "name",
    "vms": "name",
    "shares": "unc",
    "domains": "dns_name",
    "computer_accounts": "name",
}


def _deep_merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _deep_merge(out[k], v) if k in out else v
        return out
    return a if b is None else b


def merge(fragments: list[Fragment]) -> Fragment:
    """Merge partial facts documents into one (no ``schema_version``/``collection`` handling)."""
    out: dict[str, Any] = {}
    index: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in _KEYED}
    for frag in fragments:
        for key, value in frag.items():
            if key in _KEYED and isinstance(value, list):
                bucket = index[key]
                for item in value:
                    k = (
                        norm_key(item[_KEYED[key]])
                        if key != "vms"
                        else f"{norm_key(item.get('host', ''))}/{item['name']}"
                    )
                    bucket[k] = _deep_merge(bucket[k], item) if k in bucket else item
            elif isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out[key] = _deep_merge(out[key], value) if key in out else value
    for key, bucket in index.items():
        if bucket:
            out[key] = list(bucket.values())
    return out
