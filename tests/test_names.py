"""Machine names have ONE normaliser (offhost_audit/names.py, DECISIONS.md "Names"): what it does with
names and addresses, and a scan of the package that bans cutting or upper-casing names anywhere else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from offhost_audit.names import account_name, norm_key, norm_name, unc_key

PKG = Path(__file__).resolve().parents[1] / "offhost_audit"


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("hv01.corp.example", "HV01"),
        (" hv01 ", "HV01"),
        ("PROXY01", "PROXY01"),
        ("10.0.0.5", "10.0.0.5"),  # an IPv4 address stays whole (it used to become "10")
        (" 192.168.10.20 ", "192.168.10.20"),
        ("fe80::1", "FE80::1"),  # an IPv6 address stays whole, upper-case like a name
        ("2001:db8::a:1", "2001:DB8::A:1"),
        ("[fe80::1]", "[FE80::1]"),
        ("::ffff:10.0.0.5", "::FFFF:10.0.0.5"),
    ],
)
def test_norm_name_keeps_addresses_whole(given, want):
    assert norm_name(given) == want


def test_the_other_forms_use_norm_name():
    assert account_name("CORP\\proxy01$") == "PROXY01"
    assert account_name("10.0.0.5") == "10.0.0.5"
    assert account_name("  ") is None
    assert unc_key("\\\\fs01.corp.example\\vms\\VM1\\disk.vhdx") == "\\\\FS01\\VMS"
    assert unc_key("\\\\10.0.0.9\\vms") == "\\\\10.0.0.9\\VMS"
    assert unc_key("\\\\fs01") is None and unc_key(None) is None
    assert norm_key("\\\\fs01\\Vms") == "\\\\FS01\\VMS" and norm_key("hv01.corp") == "HV01"


# Words that mark an expression as a machine name (a variable, attribute or key holding one).
_NAMEISH = re.compile(r"name|proxy|host|server|cluster|computer|target|node|owner|netbios|unc", re.I)

# Upper-casing that is not a machine name: (file, what the scan reports) -> why it is not one (reviewed).
ALLOWED_UPPER = {
    (
        "offhost_audit/collectors/parsers.py",
        ".upper() of pj.text(d.get('NetbiosDomain')) or ''",
    ): "a domain's NetBIOS name",
    ("offhost_audit/store/waivers.py", ".casefold() of name"): "a waiver's glob matches the whole subject text",
    (
        "offhost_audit/store/waiver_match.py",
        ".casefold() of str((f.get('subject') or {}).get('name', ''))",
    ): "a waiver's glob matches the whole subject text",
    (
        "offhost_audit/plan/__init__.py",
        ".casefold() of str(f['subject'].get('name', ''))",
    ): "plan --assume-fixed RULE:SUBJECT: a glob over the whole subject text, as a waiver's",
    ("offhost_audit/fixes/__init__.py", ".casefold() of str(s.get('name'))"): "a Windows service name, not a machine's",
}


def _receiver_words(node: ast.AST) -> str:
    words = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            words.append(n.id)
        elif isinstance(n, ast.Attribute):
            words.append(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            words.append(n.value)
    return " ".join(words)


def name_cuts(source: str) -> list[tuple[int, str]]:
    """(line, what) for each way of cutting or upper-casing a machine name in ``source``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        # a helper that returns its argument upper-cased is a second normaliser, whatever it is called
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            body = node.body if isinstance(node, ast.FunctionDef) else [ast.Return(node.body)]
            args = {a.arg for a in node.args.args}
            for r in body:
                if (
                    isinstance(r, ast.Return)
                    and isinstance(r.value, ast.Call)
                    and isinstance(r.value.func, ast.Attribute)
                    and r.value.func.attr in ("upper", "casefold")
                    and args & {n.id for n in ast.walk(r.value.func.value) if isinstance(n, ast.Name)}
                ):
                    out.append((r.value.lineno, f"a helper returning .{r.value.func.attr}() of its argument"))
        # x.split(".")[0] / x.partition(".") / x.rsplit(".")...: cutting a name at its first label
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            dot = bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "."
            if method in ("partition", "rpartition") and dot:
                out.append((node.lineno, f'.{method}(".")'))
            if method in ("upper", "casefold") and _NAMEISH.search(_receiver_words(node.func.value)):
                out.append((node.lineno, f".{method}() of {ast.unparse(node.func.value)}"))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in ("split", "rsplit")
            and node.value.args
            and isinstance(node.value.args[0], ast.Constant)
            and node.value.args[0].value == "."
        ):
            out.append((node.lineno, f'.{node.value.func.attr}(".")[...]'))
    return out


def test_the_scan_finds_the_forms_it_bans():
    src = (
        'a = host.split(".")[0]\nb = name.partition(".")\nc = h["name"].upper()\nd = proxy.casefold()\ne = x.upper()\n'
        "def _key(v):\n    return str(v).upper()\n"
    )
    assert sorted(line for line, _ in name_cuts(src)) == [1, 2, 3, 4, 7]


def test_no_other_name_normaliser_in_the_package():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).as_posix()
        if rel == "offhost_audit/names.py":
            continue
        for line, what in name_cuts(path.read_text(encoding="utf-8")):
            if (rel, what) not in ALLOWED_UPPER:
                found.append(f"{rel}:{line}: {what}")
    assert not found, "names are cut and upper-cased only in offhost_audit/names.py:\n" + "\n".join(found)
