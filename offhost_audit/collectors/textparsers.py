"""Text output parser: ``vssadmin list providers``.

vssadmin prints localized labels, so the parser does not key on words: provider blocks are found by
their ``{GUID}`` line and read by position (name line with a quoted name, type line, id line,
version line). Stray characters at line ends (backticks, ``>`` from pasted output) are tolerated.
"""

from __future__ import annotations

import re
from typing import Any

_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?")
_QUOTED = re.compile(r"['\u2018\u2019\"\u201e\u201c\u00ab\u00bb](.+?)['\u2018\u2019\"\u201c\u201d\u00ab\u00bb]")
_VALUE = re.compile(r"^[^:]*:\s*(.*?)[\s`>'\"]*$")
_VERSION = re.compile(r"\d+(?:\.\d+){0,3}")
# Type words in the languages seen in the wild; anything else -> unknown (never a guess).
_VSS_TYPES = {
    "system": "system",
    "software": "software",
    "hardware": "hardware",
    "fileshare": "unknown",
    "systeme": "system",
    "système": "system",
    "logiciel": "software",
    "matériel": "hardware",
    "materiel": "hardware",
    "hardwareanbieter": "hardware",
    "sistema": "system",
    "hardwarebasiert": "hardware",
    "softwarebasiert": "software",
}


def _value(line: str) -> str:
    m = _VALUE.match(line.strip())
    return (m.group(1) if m else line).strip().strip("`'\"> ")


def parse_vssadmin(text: str) -> list[dict[str, Any]]:
    """Providers from ``vssadmin list providers``: id, name, type, version (vendor unknown)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        m = _GUID.search(line)
        if not m or ":" not in line:
            continue
        gid = m.group(1).lower()
        # the block is: name line, type line, id line (this one), version line; walk back to the name.
        name, ptype = None, "unknown"
        for j in range(i - 1, max(i - 4, -1), -1):
            prev = lines[j]
            if not prev.strip() or _GUID.search(prev):
                break
            q = _QUOTED.search(prev)
            if q and name is None:
                name = q.group(1).strip()
                break
            word = _value(prev).lower()
            ptype = _VSS_TYPES.get(word.split()[0] if word else "", ptype)
        version = None
        if i + 1 < len(lines) and ":" in lines[i + 1] and not _GUID.search(lines[i + 1]):
            v = _VERSION.search(_value(lines[i + 1]))
            version = v.group(0) if v else None
        if any(p["id"] == gid for p in out):
            continue
        out.append({"id": gid, "name": name, "type": ptype, "vendor": None, "version": version})
    return out
