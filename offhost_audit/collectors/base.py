"""What a collector is, what it gets, and how its output becomes one facts document.

A collector is a small typed unit: its ``spec``, declared in :mod:`offhost_audit.collector_specs`
(an ``id`` such as ``winrm.system``, a ``source`` ``winrm`` | ``ldap`` | ``smb``, the target ``kinds``
it applies to, its script, the fact areas it fills), and ``collect(target, ctx) -> Fragment``. It never judges: it returns facts. A collector that fails
raises :class:`~offhost_audit.errors.CollectorError` (or any exception); the runner records it in
the collection manifest and goes on. Optional: ``wanted(target, ctx) -> bool`` (False: an earlier
collector on the target already read these facts; the runner skips it without a manifest entry)
and :class:`~offhost_audit.errors.NotAttemptedError` (the manifest says ``skipped``).

:class:`Target`, :class:`Context` and :data:`Fragment` are defined in the core
(:mod:`offhost_audit.inventory.targets`) and re-exported here. A fragment is a partial facts document (same
keys and shapes as ``schema/facts.schema.json``, plus the runner's
:class:`FragmentMeta`, added with :func:`with_meta`). :func:`merge` (from :mod:`offhost_audit.assemble`,
where facts are assembled) combines fragments.
"""

from __future__ import annotations

from typing import Protocol

from offhost_audit.assemble import merge
from offhost_audit.collector_specs import CollectorSpec
from offhost_audit.inventory.credentials import Credentials
from offhost_audit.inventory.targets import Context, Fragment, FragmentMeta, Target, with_meta

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
    spec: CollectorSpec  # what it is (offhost_audit.collector_specs): id, source, kinds, script, areas

    def collect(self, target: Target, ctx: Context) -> Fragment: ...
