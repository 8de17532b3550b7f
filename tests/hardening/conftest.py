"""Puts this folder on sys.path for its helper modules (promise_kit.py, trickle.py): pytest's
importlib mode does not."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
