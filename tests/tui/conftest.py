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
