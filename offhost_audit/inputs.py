"""Reading a user's input file (facts, inventory, waivers, lab scenario): the one place that does it.

Text is read as UTF-8 (a byte-order mark is dropped: Windows editors write one). What cannot be
read is one line naming the file, raised as the caller's error type (its exit code):
``PATH: no such file``, ``PATH: is a directory, expected KIND``, ``PATH: cannot read: REASON``.
"""

from __future__ import annotations

import os
from pathlib import Path

from offhost_audit.errors import AuditError, InputError


def read_input(path: str | os.PathLike[str], kind: str, error: type[AuditError] = InputError) -> str:
    """The file's text; ``kind`` names what it should be ("a facts JSON file"), ``error`` is raised."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{p}: no such file (expected {kind})") from None
    except IsADirectoryError:
        raise error(f"{p}: is a directory, expected {kind}") from None
    except UnicodeDecodeError as e:
        raise error(f"{p}: cannot read {kind}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise error(f"{p}: cannot read {kind}: {e.strerror or e}") from None
