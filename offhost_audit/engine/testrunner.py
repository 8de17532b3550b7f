"""``offhost-audit policy test``: run ``_test.rego`` files with ``opa test`` semantics.

On regorus (``--engine embedded``, the default) or on OPA's Go engine (``--engine opa``): the
files are parsed and the tests discovered the same way (regorus's AST) on both; with OPA each
test is one ``eval_document`` of OPA's, its prints come from OPA, and ``--coverage`` merges
OPA's own coverage reports of the test evaluations.

- Discovery: every rule (any package) named ``test_*``; ``todo_test_*`` are SKIPPED.
- Verdict: PASS only when the value is exactly ``true``; undefined or anything else is FAIL; an
  evaluation error is ERROR (message as ``file:line:col: message``).
- ``--run REGEX``: matched unanchored against ``data.pkg.test_x``.
- Output: non-PASS tests (all with ``-v``) as ``data.pkg.test_x: PASS (1.2ms)`` grouped under
  their file, prints indented below their test, an 80-dash line, then ``PASS: n/N`` etc.
- ``--coverage``: OPA's JSON coverage report instead of the test list (``_test.rego`` excluded).
- Exit: 0 all pass; 2 any fail, error or skip, or coverage below ``--threshold``; 1 load or
  compile error, or no tests.

Differences from opa test: JSON/YAML data files are not loaded; a test rule defined twice is run
once (regorus merges the definitions; OPA reports ``test_x#01``); there is no per-test timeout.
On OPA a compile error (e.g. an unused declared variable) is a load error (exit 1), as in
``opa test``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import regorus

from offhost_audit.engine.sources import PolicySource, display_name, format_rego_error, quiet_backtraces, rego_files
from offhost_audit.resources import policies_dir

EXIT_PASS, EXIT_LOAD, EXIT_FAIL = 0, 1, 2
_PRINT_PREFIX = re.compile(r"^[^\s:]+\.rego:\d+: ")


@dataclass
class TestCase:
    package: str  # "data.offhost.csv.x_test"
    name: str  # "test_pass_when_..."
    file: str
    line: int
    todo: bool = False
    outcome: str = ""  # PASS FAIL ERROR SKIPPED
    duration_ns: int = 0
    error: str = ""
    output: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.package}.{self.name}"

    def line_text(self) -> str:
        if self.outcome == "SKIPPED":
            return f"{self.ref}: {self.outcome}"
        return f"{self.ref}: {self.outcome} ({go_duration(self.duration_ns)})"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 350ns, 1.417µs, 1.2ms, 2.5s, 1m2.5s."""
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return _trim(ns, 1_000) + "µs"
    if ns < 1_000_000_000:
        return _trim(ns, 1_000_000) + "ms"
    minutes, rest = divmod(ns, 60_000_000_000)
    secs = _trim(rest, 1_000_000_000) + "s"
    if not minutes:
        return secs
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m" + secs


def _trim(ns: int, unit: int) -> str:
    whole, frac = divmod(ns, unit)
    digits = len(str(unit)) - 1
    f = str(frac).rjust(digits, "0").rstrip("0")
    return f"{whole}.{f}" if f else str(whole)


def _ref_text(node: dict[str, Any]) -> str | None:
    """A rule-head or package reference from regorus's AST as dotted text, or None if unusual."""
    if "Var" in node:
        return node["Var"]["value"]
    if "RefDot" in node:
        base = _ref_text(node["RefDot"]["refr"])
        return None if base is None else f"{base}.{node['RefDot']['field'][1]}"
    if "RefBrack" in node:
        base = _ref_text(node["RefBrack"]["refr"])
        idx = node["RefBrack"].get("index", {})
        if base is not None and "String" in idx:
            return f'{base}["{idx["String"]["value"]}"]'
        return None
    return None


def _root_name(node: dict[str, Any]) -> str | None:
    while "Var" not in node:
        inner = node.get("RefDot") or node.get("RefBrack")
        if not inner:
            return None
        node = inner["refr"]
    return node["Var"]["value"]


def _stmt_lines(node: Any, out: set[int]) -> None:
    """Lines of every statement of every query (rule bodies, comprehensions, every, else)."""
    if isinstance(node, dict):
        for stmt in node.get("stmts") or []:
            if isinstance(stmt, dict) and "span" in stmt:
                out.add(stmt["span"]["line"])
        for v in node.values():
            _stmt_lines(v, out)
    elif isinstance(node, list):
        for v in node:
            _stmt_lines(v, out)


def coverable_lines(modules: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Per file, the lines a coverage report counts: rule heads and body statements.

    regorus leaves files it never evaluated out of its coverage report; OPA counts them as not
    covered, so the runner fills them in from these lines.
    """
    out: dict[str, set[int]] = {}
    for module in modules:
        lines: set[int] = set()
        for rule in module["ast"].get("rules", []):
            spec = rule.get("Spec")
            if spec:
                lines.add(spec["span"]["line"])
                _stmt_lines(spec.get("bodies"), lines)
        out[module["source"]["file"]] = lines
    return out


def discover(engine: Any, modules: list[dict[str, Any]] | None = None) -> list[TestCase]:
    """test_/todo_test_ rules of every module, in file order then rule order, one per name."""
    cases: list[TestCase] = []
    seen: set[str] = set()
    for module in modules if modules is not None else json.loads(engine.get_ast_as_json()):
        ast = module["ast"]
        file = module["source"]["file"]
        pkg = _ref_text(ast["package"]["refr"])
        if pkg is None:
            continue
        for rule in ast.get("rules", []):
            spec = rule.get("Spec")
            if not spec:
                continue
            kind, head = next(iter(spec["head"].items()))
            if kind == "Func":
                continue
            name = _root_name(head["refr"])
            if not name or not (name.startswith("test_") or name.startswith("todo_test_")):
                continue
            case = TestCase(f"data.{pkg}", name, file, head["span"]["line"], todo=name.startswith("todo_test_"))
            if case.ref in seen:
                continue
            seen.add(case.ref)
            cases.append(case)
    return cases


def load(paths: list[Path]) -> tuple[Any, list[PolicySource]]:
    """One engine with every .rego file (tests included); raises ValueError with file:line:col."""
    quiet_backtraces()
    engine = regorus.Engine()
    sources = []
    seen: set[Path] = set()
    for root in paths:
        if not root.exists():
            raise ValueError(f"{display_name(root)}: no such file or directory")
        for p in rego_files(root, include_tests=True):
            if p.resolve() in seen:
                continue
            seen.add(p.resolve())
            name = display_name(p)
            text = p.read_text(encoding="utf-8")
            try:
                engine.add_policy(name, text)
            except Exception as e:  # noqa: BLE001 - regorus raises RuntimeError/ValueError with a caret diagram
                raise ValueError(format_rego_error(e)) from None
            sources.append(PolicySource(name=name, rel=name, text=text))
    return engine, sources


def _load_opa(sources: list[PolicySource]) -> Any:
    """An OpaEngine with every source, compiled (OPA compiles on first evaluation); ValueError on errors."""
    from offhost_audit.engine import opa
    from offhost_audit.errors import PolicyError

    ob = opa.bindings()
    try:
        eng = opa.new_engine(sources)
        eng.eval_query("true")
    except PolicyError as e:
        raise ValueError(str(e)) from None
    except ob.OpaError as e:
        raise ValueError(opa.format_opa_error(e, sources)) from None
    return eng


def run_case(engine: Any, case: TestCase) -> None:
    if case.todo:
        case.outcome = "SKIPPED"
        return
    t0 = time.perf_counter_ns()
    try:
        value = json.loads(engine.eval_rule_as_json(case.ref))
        case.outcome = "PASS" if _passed(value) else "FAIL"
    except Exception as e:  # noqa: BLE001 - regorus: RuntimeError/ValueError carrying the caret diagram
        case.outcome = "ERROR"
        case.error = format_rego_error(e)
    case.duration_ns = max(1, time.perf_counter_ns() - t0)
    case.output = [_PRINT_PREFIX.sub("", ln) for ln in engine.take_prints()]


def run_cases_opa(engine: Any, cases: list[TestCase], sources: dict[str, str], coverage: dict[str, Any] | None) -> None:
    """Run the cases on an OpaEngine, as few queries as possible.

    OPA prepares (compiles) every distinct query, about 0.4 s here, so the test packages are
    evaluated together, as one query binding each package's document (its test_ rules true,
    false or absent when undefined). A query that errors, prints or is undefined is split in
    halves, down to one package, whose tests then run one query each: errors and prints belong
    to their own test, as in opa test. A batch's duration is shared out among its tests.
    """
    groups: dict[str, list[TestCase]] = {}
    for c in cases:
        if c.todo:
            c.outcome = "SKIPPED"
        else:
            groups.setdefault(c.package, []).append(c)
    _run_batch(engine, list(groups.items()), sources, coverage)


def _run_batch(
    engine: Any, groups: list[tuple[str, list[TestCase]]], sources: dict[str, str], coverage: dict[str, Any] | None
) -> None:
    from offhost_audit.engine.opa import bindings

    if not groups:
        return
    ob = bindings()
    query = "; ".join(f"p{i} := {pkg}" for i, (pkg, _) in enumerate(groups))
    t0 = time.perf_counter_ns()
    try:
        rows = engine.eval_query(query, {}, coverage=coverage is not None)
    except ob.OpaError:
        rows = None
    elapsed = time.perf_counter_ns() - t0
    if rows and not engine.last_prints:
        if coverage is not None and engine.last_coverage:
            _merge_coverage(coverage, engine.last_coverage)
        n = sum(len(cs) for _, cs in groups)
        for i, (_, cs) in enumerate(groups):
            doc = rows[0].get(f"p{i}")
            for c in cs:
                value = doc.get(c.name) if isinstance(doc, dict) else None
                c.outcome = "PASS" if _passed(value) else "FAIL"
                c.duration_ns = max(1, elapsed // n)
        return
    if len(groups) > 1:
        half = len(groups) // 2
        _run_batch(engine, groups[:half], sources, coverage)
        _run_batch(engine, groups[half:], sources, coverage)
        return
    for c in groups[0][1]:
        run_case_opa(engine, c, sources, coverage)


def run_case_opa(engine: Any, case: TestCase, sources: dict[str, str], coverage: dict[str, Any] | None) -> None:
    """One test on an OpaEngine; with coverage, OPA's report of this evaluation is merged in."""
    from offhost_audit.engine.opa import bindings, format_opa_error

    ob = bindings()
    t0 = time.perf_counter_ns()
    try:
        value = engine.eval_document(case.ref.removeprefix("data."), {}, coverage=coverage is not None)
        case.outcome = "PASS" if _passed(value) else "FAIL"
    except ob.OpaUndefinedError:
        case.outcome = "FAIL"
    except ob.OpaError as e:
        case.outcome = "ERROR"
        case.error = format_opa_error(e, sources)
    case.duration_ns = max(1, time.perf_counter_ns() - t0)
    case.output = [str(message) for message, _ in engine.last_prints]
    if coverage is not None and engine.last_coverage:
        _merge_coverage(coverage, engine.last_coverage)


def _merge_coverage(into: dict[str, Any], report: dict[str, Any]) -> None:
    """Add one OPA coverage report (row ranges per file) into {path: {"covered", "not_covered"}} row sets."""
    for path, f in (report.get("files") or {}).items():
        entry = into.setdefault(path, {"covered": set(), "not_covered": set()})
        for kind in ("covered", "not_covered"):
            for r in f.get(kind) or []:
                entry[kind].update(range(r["start"]["row"], r["end"]["row"] + 1))


def _passed(value: Any) -> bool:
    """Exactly true; for a `test_x[case]` rule (an object), every case exactly true."""
    if isinstance(value, dict):
        return bool(value) and all(v is True for v in value.values())
    return value is True


def coverage_report(raw: dict[str, Any], coverable: dict[str, set[int]] | None = None) -> dict[str, Any]:
    """regorus's per-file line lists -> OPA's coverage JSON, _test.rego files left out.

    Files regorus never evaluated (absent from its report) count all their coverable lines as
    not covered, as in OPA.
    """
    files: dict[str, Any] = {}
    total_cov = total_not = 0
    entries = list(raw.get("files", []))
    reported = {f["path"] for f in entries}
    for path, lines in sorted((coverable or {}).items()):
        if path not in reported and lines:
            entries.append({"path": path, "covered": [], "not_covered": sorted(lines)})
    for f in sorted(entries, key=lambda e: e["path"]):
        path = f["path"]
        if path.endswith("_test.rego"):
            continue
        cov, notcov = (
            sorted(set(f.get("covered", []))),
            sorted(set(f.get("not_covered", [])) - set(f.get("covered", []))),
        )
        entry: dict[str, Any] = {}
        if cov:
            entry["covered"] = _ranges(cov)
        if notcov:
            entry["not_covered"] = _ranges(notcov)
        if cov:
            entry["covered_lines"] = len(cov)
        if notcov:
            entry["not_covered_lines"] = len(notcov)
        if cov or notcov:
            entry["coverage"] = round(100.0 * len(cov) / (len(cov) + len(notcov)), 2)
        files[path] = entry
        total_cov += len(cov)
        total_not += len(notcov)
    total = total_cov + total_not
    return {
        "files": files,
        "covered_lines": total_cov,
        "not_covered_lines": total_not,
        "coverage": round(100.0 * total_cov / total, 2) if total else 0.0,
    }


def _ranges(lines: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in lines:
        if out and out[-1]["end"]["row"] == n - 1:
            out[-1]["end"]["row"] = n
        else:
            out.append({"start": {"row": n}, "end": {"row": n}})
    return out


def report(cases: list[TestCase], *, verbose: bool, out: TextIO) -> None:
    last_file = None
    for c in cases:
        if verbose or c.outcome != "PASS":
            if c.file != last_file:
                if last_file is not None:
                    out.write("\n")
                out.write(f"{c.file}:\n")
                last_file = c.file
            out.write(c.line_text() + "\n")
            if c.output:
                out.write("\n" + "".join(f"    {ln}\n" for ln in c.output) + "\n")
        if c.error:
            out.write("".join(f"  {ln}\n" for ln in c.error.splitlines()))
    if cases:
        out.write("-" * 80 + "\n")
    n = len(cases)
    for label, outcome in (("PASS", "PASS"), ("FAIL", "FAIL"), ("SKIPPED", "SKIPPED"), ("ERROR", "ERROR")):
        k = sum(1 for c in cases if c.outcome == outcome)
        if k:
            out.write(f"{label}: {k}/{n}\n")


def run(
    paths: list[str] | None = None,
    *,
    verbose: bool = False,
    run: str | None = None,
    coverage: bool = False,
    threshold: float = 0.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    engine: str = "embedded",
) -> int:
    """The whole command; returns the exit code. ``engine``: "embedded" (regorus) or "opa"."""
    out = out or sys.stdout
    err = err or sys.stderr
    roots = [Path(p) for p in paths] if paths else [policies_dir()]
    try:
        pattern = re.compile(run) if run else None
    except re.error as e:
        err.write(f"offhost-audit policy test: --run {run!r}: not a valid regular expression: {e}\n")
        return EXIT_LOAD
    try:
        regorus_engine, sources = load(roots)
        modules = json.loads(regorus_engine.get_ast_as_json())
        cases = discover(regorus_engine, modules)
        opa_engine = _load_opa(sources) if engine == "opa" else None
    except ValueError as e:
        err.write(f"offhost-audit policy test: {e}\n")
        return EXIT_LOAD
    if pattern:
        cases = [c for c in cases if pattern.search(c.ref)]
    if not cases:
        err.write("offhost-audit policy test: no tests found" + (f" matching {run!r}" if run else "") + "\n")
        return EXIT_LOAD
    if opa_engine is not None:
        texts = {s.name: s.text for s in sources}
        rows: dict[str, Any] | None = {} if coverage else None
        run_cases_opa(opa_engine, cases, texts, rows)
        raw = {
            "files": [
                {"path": p, "covered": sorted(e["covered"]), "not_covered": sorted(e["not_covered"])}
                for p, e in (rows or {}).items()
            ]
        }
    else:
        regorus_engine.set_gather_prints(True)
        if coverage:
            regorus_engine.set_enable_coverage(True)
        for c in cases:
            run_case(regorus_engine, c)
        raw = json.loads(regorus_engine.get_coverage_report_as_json()) if coverage else {}
    failed = any(c.outcome != "PASS" for c in cases)
    if coverage:
        cov = coverage_report(raw, None if opa_engine is not None else coverable_lines(modules))
        out.write(json.dumps(cov, indent=2) + "\n")
        if failed:
            report([c for c in cases if c.outcome != "PASS"], verbose=False, out=err)
        if cov["coverage"] < threshold:
            err.write(f"Code coverage threshold not met: got {cov['coverage']:.2f} instead of {threshold:.2f}\n")
            return EXIT_FAIL
    else:
        report(cases, verbose=verbose, out=out)
    return EXIT_FAIL if failed else EXIT_PASS
