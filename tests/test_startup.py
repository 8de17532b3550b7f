"""Start-up: a command imports only what it uses (timings: benchmarks/bench_cli.py).

`evaluate --format json` of a small file needs neither jsonschema (only to explain a failed check),
nor rich (tables), nor jinja2 (reports), nor the collectors, nor the process pool (small estates
run in one pass), nor orjson (small texts); `--help` needs no engine. With the policy cache warm
(engine/policy_cache.py) and without history or waivers it needs no YAML (METADATA comes from the
cache), no sqlite3 (nothing stored), no waivers module, no dataclasses and no logging.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"

PROBE = """
import json, sys
from offhost_audit.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

HEAVY = (
    "jsonschema",
    "rich",
    "jinja2",
    "winrm",
    "ldap3",
    "impacket",
    "smbprotocol",
    "textual",
    "offhost_audit.collectors",
    "offhost_audit.collect",
    "concurrent.futures.process",
    "orjson",
)


LEAN = (
    "yaml",
    "sqlite3",
    "_sqlite3",
    "offhost_audit.store.history",
    "offhost_audit.store.waivers",
    "offhost_audit.yamldoc",
    "dataclasses",
    "inspect",
    "logging",
    "platformdirs",
)


def _modules(*args: str) -> tuple[int, set[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    last = json.loads(r.stderr.strip().splitlines()[-1])
    return last["rc"], set(last["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_evaluate_json_of_a_small_file(tmp_path):
    rc, modules = _modules(
        "evaluate", "--facts", str(EXAMPLE), "--format", "json", "-o", str(tmp_path / "f.json"), "--no-history"
    )
    assert rc in (0, 1)
    assert json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert _loaded(modules, HEAVY) == []


def test_warm_evaluate_without_history_or_waivers_is_lean(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # empty: the first run is cold
    outs = []
    for run in ("cold", "warm"):
        out = tmp_path / f"{run}.json"
        rc, modules = _modules("evaluate", "--facts", str(EXAMPLE), "--format", "json", "-o", str(out), "--no-history")
        assert rc in (0, 1)
        outs.append(out.read_bytes())
        if run == "cold":
            assert "yaml" in modules  # METADATA parsed, and written to the cache
    assert _loaded(modules, HEAVY + LEAN) == []
    assert outs[0] == outs[1]


def test_help_imports_no_engine():
    rc, modules = _modules("--help")
    assert rc == 0
    assert _loaded(modules, HEAVY + ("regorus", "yaml", "sqlite3", "offhost_audit.engine.embedded")) == []


def test_a_failed_check_still_explains_itself_with_jsonschema(tmp_path):
    bad = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bad["hosts"][0]["roles"] = "proxy"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "offhost_audit.cli", "evaluate", "--facts", str(path), "--no-history"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 2
    assert "$.hosts[0].roles" in r.stderr and "is not of type 'array'" in r.stderr


def test_the_report_formats_default_is_every_format():
    from offhost_audit.cli import build_parser
    from offhost_audit.reports.render import FORMATS

    args = build_parser().parse_args(["evaluate", "--facts", str(EXAMPLE)])
    assert args.report_formats == list(FORMATS)
