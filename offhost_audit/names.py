"""Machine names and UNC paths as the project compares them: the ONE place they are cut and upper-cased.

``norm_name`` is the Python twin of ``norm`` in policies/lib/facts.rego (tests/engine/test_shared_tables.py
checks the two agree); ``unc_key`` the twin of ``unc_key`` in policies/smb/lib/smb_lib.rego (without its
alias lookup). tests/test_names.py bans other ways of cutting or upper-casing names in the package.
"""

from __future__ import annotations

import re
from typing import Any

_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def norm_name(name: Any) -> str:
    """A computer or cluster name as the rules compare it: first DNS label, upper-case
    ("hv01.corp.example" -> "HV01", " hv01 " -> "HV01"). An IP address stays whole ("10.0.0.5",
    "fe80::1" -> "FE80::1"): VBR may name a server by its address. Must match ``norm`` in
    policies/lib/facts.rego."""
    s = str(name).strip()
    if ":" in s or _IPV4.fullmatch(s):
        return s.upper()
    return s.split(".")[0].upper()


def is_unc(value: Any) -> bool:
    return str(value).startswith("\\\\")


def unc_key(unc: Any) -> str | None:
    """``\\\\fs01.corp.example\\vms\\VM1\\disk.vhdx`` -> ``\\\\FS01\\VMS`` (server as :func:`norm_name`, share
    upper-case); None when the text is not a UNC path with a server and a share."""
    if not isinstance(unc, str):
        return None
    parts = [p for p in unc.strip().split("\\") if p]
    if len(parts) < 2:
        return None
    return f"\\\\{norm_name(parts[0])}\\{parts[1].upper()}"


def unc_server(key: str) -> str:
    """The server of a :func:`unc_key` result: ``\\\\FS01\\VMS`` -> ``FS01``."""
    return key.split("\\")[2]


def norm_key(value: Any) -> str:
    """A list item's name as the facts key it: a UNC path by the whole path upper-case, else :func:`norm_name`."""
    return str(value).upper() if is_unc(value) else norm_name(value)


def account_name(value: Any) -> str | None:
    """A computer named the way Windows accounts name it, normalised: ``CORP\\PROXY01$`` -> ``PROXY01``;
    an address stays whole (``[fe80::1]`` -> ``[FE80::1]``); None or blank -> None."""
    if value is None:
        return None
    s = str(value).strip().split("\\")[-1].rstrip("$").strip()
    return norm_name(s) or None
