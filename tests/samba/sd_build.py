"""Security descriptors built for tests: the inverse of offhost_audit.collectors.winsec's parser (test data only)."""

from __future__ import annotations

import re
import struct

from offhost_audit.collectors.winsec import SE_DACL_PRESENT, SE_SELF_RELATIVE, Ace, WinsecError

_SID_RE = re.compile(r"^S-1-(0x[0-9A-Fa-f]{1,12}|[0-9]{1,15})((?:-[0-9]{1,10}){0,15})$")


def sid_to_bytes(text: str) -> bytes:
    """``S-1-...`` to its binary form."""
    m = _SID_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise WinsecError(f"not a SID string: {text!r}")
    auth = int(m.group(1), 16) if m.group(1).lower().startswith("0x") else int(m.group(1))
    subs = [int(x) for x in m.group(2).split("-")[1:]]
    if auth >= 2**48 or any(s >= 2**32 for s in subs):
        raise WinsecError(f"SID component out of range: {text!r}")
    return bytes([1, len(subs)]) + auth.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def build_acl(aces: list[Ace], revision: int = 2) -> bytes:
    body = b""
    for ace in aces:
        if ace.type_code not in (0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x11):
            raise WinsecError(f"cannot build ACE type {ace.type_code:#x}")
        sid = sid_to_bytes(ace.sid)
        body += struct.pack("<BBHI", ace.type_code, ace.flags, 8 + len(sid), ace.mask) + sid
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


def build_security_descriptor(owner: str | None, group: str | None, dacl: list[Ace] | None) -> bytes:
    """Encode a self-relative security descriptor (owner, group, DACL; no SACL)."""
    parts = b""
    offsets = []
    for blob in (
        sid_to_bytes(owner) if owner else None,
        sid_to_bytes(group) if group else None,
        build_acl(dacl) if dacl is not None else None,
    ):
        offsets.append(20 + len(parts) if blob is not None else 0)
        parts += blob or b""
    control = SE_SELF_RELATIVE | (SE_DACL_PRESENT if dacl is not None else 0)
    return struct.pack("<BBHIIII", 1, 0, control, offsets[0], offsets[1], 0, offsets[2]) + parts
