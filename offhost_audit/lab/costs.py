"""What running a command costs a real Windows host, so that the lab makes a client wait as long.

A WinRM command that runs PowerShell pays, before any output: starting ``powershell.exe`` (the CLR,
the engine, the built-in modules), then, the first time a script in that process calls a command of a
module, loading that module; then the script's own work. One process for all of a host's scripts pays
the start once and each module once; one process per script pays them per script.

:meth:`HostCosts.windows` holds the defaults; where a figure is an estimate, the comment says so.
The lab's scenarios use no costs unless they ask (``lab: {costs: windows}`` or a mapping of the
fields): tests stay fast; the benchmark (``benchmarks/bench_collect.py``) turns them on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Windows PowerShell 5.1, `powershell.exe -NoProfile`, cold start: 600 ms, measured by the PowerShell
# team (SteveL-MSFT, https://github.com/PowerShell/PowerShell/issues/4239, Windows 10 build 16225,
# 2017). A warm start on a fast 40-core server measured 0.19 s (`powershell.exe -command "&{12}"`,
# https://github.com/PowerShell/PowerShell/issues/12843, 2020). The default takes the cold figure:
# an audit touches each host once, so its start is rarely warm.
PROCESS_START_S = 0.6

# First load of a module in a process. No published per-module measurement was found for these
# Windows Server modules: every figure below is an ESTIMATE (order of magnitude: binary or CDXML
# modules that load .NET assemblies and WMI/CIM class metadata). That the Hyper-V module's autoload
# is slow enough to matter is documented by duplicati/duplicati#7126 (2026), which preloads it
# because the first Hyper-V cmdlet of a session paid for it; it gives no per-module figure we use.
MODULE_LOAD_S: Mapping[str, float] = {
    "Hyper-V": 1.0,  # estimate
    "FailoverClusters": 0.5,  # estimate
    "Storage": 0.3,  # estimate (CDXML over MSFT_* CIM classes)
    "iSCSI": 0.1,  # estimate
    "SmbShare": 0.2,  # estimate (CDXML)
    "ServerManager": 0.3,  # estimate
    "Deduplication": 0.2,  # estimate
    "NetAdapter": 0.2,  # estimate (CDXML)
    "CimCmdlets": 0.1,  # estimate
    "Veeam.Backup.PowerShell": 2.0,  # estimate: a large binary module; no figure published by Veeam
}
# A collector script's own work once its modules are loaded (a few CIM queries): an ESTIMATE.
SCRIPT_S = 0.05

# Which module a script loads, from the commands it calls (PowerShell's module autoloading does the same).
_MODULE_OF = (
    (re.compile(r"\bGet-VM\w*|\bGet-VHD\b", re.I), "Hyper-V"),
    (re.compile(r"\bGet-Cluster\w*", re.I), "FailoverClusters"),
    (re.compile(r"\bGet-(?:Disk|Partition|Volume|PhysicalDisk|StorageSetting|InitiatorPort)\b", re.I), "Storage"),
    (re.compile(r"\bGet-IscsiSession\b", re.I), "iSCSI"),
    (re.compile(r"\bGet-Smb\w+", re.I), "SmbShare"),
    (re.compile(r"\bGet-WindowsFeature\b", re.I), "ServerManager"),
    (re.compile(r"\bGet-DedupVolume\b", re.I), "Deduplication"),
    (re.compile(r"\bGet-NetAdapter\w*", re.I), "NetAdapter"),
    (re.compile(r"\bGet-CimInstance\b", re.I), "CimCmdlets"),
    (re.compile(r"\bGet-VBR\w+|Veeam\.Backup\.PowerShell", re.I), "Veeam.Backup.PowerShell"),
)


def modules_of(script_text: str) -> tuple[str, ...]:
    """The modules a script's commands load, in a stable order."""
    return tuple(m for rx, m in _MODULE_OF if rx.search(script_text))


@dataclass(frozen=True)
class HostCosts:
    """Seconds a host spends: per process start, per module first loaded in a process, per script."""

    process_start_s: float = 0.0
    module_load_s: Mapping[str, float] = field(default_factory=dict)
    script_s: float = 0.0

    @classmethod
    def windows(cls) -> HostCosts:
        """The defaults above (published where a source exists, else estimates)."""
        return cls(PROCESS_START_S, dict(MODULE_LOAD_S), SCRIPT_S)

    @classmethod
    def from_scenario(cls, value: Any) -> HostCosts:
        """``None``/absent: no costs; ``"windows"``: :meth:`windows`; a mapping: ``windows`` scaled by
        ``scale`` and/or with the given fields replaced (``process_start_s``, ``module_load_s``, ``script_s``)."""
        if value in (None, False, "none"):
            return cls()
        if value == "windows":
            return cls.windows()
        if not isinstance(value, Mapping):
            raise ValueError(f"lab costs must be 'windows', 'none' or a mapping, not {value!r}")
        unknown = set(value) - {"scale", "process_start_s", "module_load_s", "script_s"}
        if unknown:
            raise ValueError(f"lab costs: unknown field(s) {', '.join(sorted(unknown))}")
        base, k = cls.windows(), float(value.get("scale", 1.0))
        loads = {m: s * k for m, s in base.module_load_s.items()}
        loads.update(value.get("module_load_s") or {})
        return cls(
            float(value.get("process_start_s", base.process_start_s * k)),
            loads,
            float(value.get("script_s", base.script_s * k)),
        )

    def load_s(self, modules: tuple[str, ...] | set[str]) -> float:
        return sum(self.module_load_s.get(m, 0.0) for m in modules)
