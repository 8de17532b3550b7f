"""Text output parsers: ``vssadmin list providers`` and ``nltest /domain_trusts /all_trusts /v``.

Both tools print localized labels, so neither parser keys on words: vssadmin blocks are found by
their ``{GUID}`` line and read by position (name line with a quoted name, type line, id line,
version line); nltest lines by their ``<index>: NAME dns.name`` structure and parenthesised flags.
Stray characters at line ends (backticks, ``>`` from pasted output) are tolerated.
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


# --- nltest ------------------------------------------------------------------------------------

_TRUST_LINE = re.compile(r"^\s*(\d+):\s+(\S+)(?:\s+(\S+))?\s*(.*)$")
_PAREN = re.compile(r"\(\s*([^()]*?)\s*\)")
ATTR_NAMES = {
    "nontrans": 0x1,
    "uplevel": 0x2,
    "quarantine": 0x4,
    "foresttrans": 0x8,
    "crossorg": 0x10,
    "withinforest": 0x20,
    "treatasext": 0x40,
    "rc4": 0x80,
    "aes": 0x100,
    "crossorgnotgt": 0x200,
    "pimtrust": 0x400,
}
FLAG_WORDS = {
    "forest tree root": "tree_root",
    "primary domain": "primary",
    "native": "native_mode",
    "direct outbound": "direct_outbound",
    "direct inbound": "direct_inbound",
}


def parse_nltest_trusts(text: str) -> list[dict[str, Any]]:
    """Trust lines of ``nltest /domain_trusts`` (or ``/trusted_domains``) ``/all_trusts /v``.

    Each entry: index, netbios, dns_name (or None for downlevel), flags (tree_root, primary,
    native_mode, direct_outbound, direct_inbound, in_forest), forest_index, attributes (int or
    None), attribute_flags, domain_sid, domain_guid; plus direction derived from the direct flags.
    """
    out: list[dict[str, Any]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip(" `>")
        m = _TRUST_LINE.match(line)
        if m and not line.lstrip().lower().startswith(("dom guid", "dom sid")):
            idx, netbios, dns, rest = m.groups()
            if dns and dns.startswith("("):
                rest, dns = f"{dns} {rest}", None
            entry: dict[str, Any] = {
                "index": int(idx),
                "netbios": netbios.upper(),
                "dns_name": (dns or "").lower() or None,
                "flags": [],
                "forest_index": None,
                "attributes": None,
                "attribute_flags": [],
                "domain_sid": None,
                "domain_guid": None,
            }
            for p in _PAREN.findall(rest):
                low = " ".join(p.lower().split())
                if low.startswith("attr"):
                    _attrs(entry, p.split(":", 1)[1] if ":" in p else "")
                elif low.startswith("forest") and ":" in low:
                    fi = re.search(r"\d+", low)
                    entry["forest_index"] = int(fi.group(0)) if fi else None
                    entry["flags"].append("in_forest")
                elif low in FLAG_WORDS:
                    entry["flags"].append(FLAG_WORDS[low])
            out.append(entry)
            continue
        if out:
            s = line.strip()
            sid = re.search(r"S-1-\d+(?:-\d+)+", s)
            if sid and ":" in s:
                out[-1]["domain_sid"] = sid.group(0)
            g = _GUID.search(s)
            if g and ":" in s and not sid:
                out[-1]["domain_guid"] = g.group(1).lower()
    for e in out:
        flags = e["flags"]
        if "primary" in flags or "in_forest" in flags or "tree_root" in flags:
            e["in_forest"] = True
        else:
            e["in_forest"] = False
        o, i = "direct_outbound" in flags, "direct_inbound" in flags
        e["direction"] = "bidirectional" if o and i else "outbound" if o else "inbound" if i else None
    return out


def _attrs(entry: dict[str, Any], value: str) -> None:
    tokens = [t for t in re.split(r"[\s,]+", value.strip()) if t]
    names: list[str] = []
    total, known = 0, False
    for t in tokens:
        low = t.lower()
        if re.fullmatch(r"0x[0-9a-f]+", low):
            total |= int(low, 16)
            known = True
            names.extend(n for n, bit in ATTR_NAMES.items() if int(low, 16) & bit and n not in names)
        elif low in ATTR_NAMES:
            total |= ATTR_NAMES[low]
            known = True
            if low not in names:
                names.append(low)
    entry["attributes"] = total if known else None
    entry["attribute_flags"] = names
