"""One way to refer to library rules: by their full data.offhost... path, never through an import alias.

Through an import alias (``facts.proxies``) regorus evaluates EVERY rule of the imported package
(and its sub-packages) when one of its rules is referenced; by the full path
(``data.offhost.lib.facts.proxies``) only that rule. Functions are called through the import
(``facts.norm(x)``): a call evaluates only the function. This test fails on the slow form in any
policy (``_test.rego`` files excluded), naming file:line and the form to write instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import regorus

from offhost_audit.engine.sources import read_sources
from offhost_audit.engine.testrunner import _ref_text, _root_name

ROOT = Path(__file__).resolve().parents[2]
_IMPORT = re.compile(r"^import\s+data\.([\w.]+?)(?:\s+as\s+(\w+))?\s*$", re.M)


def _rules_by_package(sources) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per package: its non-function rule names, and its function names (from regorus's AST)."""
    eng = regorus.Engine()
    for s in sources:
        eng.add_policy(s.name, s.text)
    values: dict[str, set[str]] = {}
    funcs: dict[str, set[str]] = {}
    for module in json.loads(eng.get_ast_as_json()):
        pkg = (_ref_text(module["ast"]["package"]["refr"]) or "").removeprefix("data.")
        for rule in module["ast"].get("rules", []):
            spec = rule.get("Spec")
            if not spec:
                continue
            kind, head = next(iter(spec["head"].items()))
            name = _root_name(head["refr"])
            (funcs if kind == "Func" else values).setdefault(pkg, set()).add(name)
    return values, funcs


def _code(line: str) -> str:
    """The line without its comment (a # outside a string)."""
    out, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == "#" and not quoted:
            break
        out.append(ch)
    return "".join(out)


def alias_rule_references(root: Path) -> list[str]:
    sources = read_sources(root, include_tests=False)
    values, _ = _rules_by_package(sources)
    found = []
    for src in sources:
        aliases = {(m[2] or m[1].rsplit(".", 1)[-1]): m[1] for m in _IMPORT.finditer(src.text)}
        for n, line in enumerate(src.text.splitlines(), 1):
            code = _code(line)
            for alias, pkg in aliases.items():
                for m in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.(\w+)\b(?!\s*\()", code):
                    if m[1] in values.get(pkg, set()):
                        found.append(
                            f"{src.name}:{n}: {alias}.{m[1]} is a rule of {pkg} reached through the "
                            f"import alias (slow on regorus): write data.{pkg}.{m[1]}"
                        )
    return found


def test_library_rules_are_referenced_by_their_full_path():
    found = alias_rule_references(ROOT / "policies")
    assert not found, "\n".join(found)


def test_the_check_catches_the_slow_form(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "l.rego").write_text('package offhost.lib.l\n\nimport rego.v1\n\nnames := {"a"}\n\nf(x) := x\n')
    (tmp_path / "r.rego").write_text(
        "package offhost.r\n\nimport rego.v1\n\nimport data.offhost.lib.l\n\n"
        "# l.names in a comment is fine\nok contains l.f(n) if some n in data.offhost.lib.l.names\n\n"
        "slow contains n if some n in l.names\n"
    )
    found = alias_rule_references(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'r.rego'}:10: l.names is a rule of offhost.lib.l")
    assert found[0].endswith("write data.offhost.lib.l.names")
