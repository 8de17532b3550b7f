"""Suite-wide: runs that the CLI stores in the history go to a temporary data directory, never the
user's (offhost_audit.history.default_db_path follows XDG_DATA_HOME through platformdirs)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))
