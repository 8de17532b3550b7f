from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for `import tuikit`

import tuikit  # noqa: E402


@pytest.fixture
def hostile_facts(tmp_path: Path) -> Path:
    return tuikit.hostile_facts(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs recorded by the TUI go to a temporary history, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def faults_facts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `faults` lab scenario collected once through the real WinRM client (PROXY71, HV72, ...)."""
    from offhost_audit import audit, facts
    from offhost_audit.lab import demo

    out = tmp_path_factory.mktemp("faults") / "faults.json"
    with demo.serve("faults") as (_, inv, resolver):
        doc, _, _ = audit.run_audit(inv, resolver=resolver, call_timeout=5.0, target_timeout=30.0)
    facts.save(out, doc)
    return out
