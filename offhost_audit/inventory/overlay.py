"""A hand-written inventory laid over a discovered one (``audit --backup-server HOST -i hand.yaml``).

Discovery knows what the backup server knows (which proxies, clusters, nodes, hosts and file
servers exist, each proxy's max tasks and what its jobs make it serve); the hand-written file knows
how to reach them. So, per field:

* connection settings come from the hand-written file when it gives them: ``address``, ``winrm``,
  ``credentials``, the backup server's ``via`` and ``rest`` (else: how discovery reached it, the
  ``server`` argument), a file server's ``port`` and ``shares``, a domain controller's ``domain``
  and ``ldap``; its ``defaults`` (winrm, credentials) apply to every target, discovered ones included;
  ``vbr.profile`` and ``vbr.version`` too (the collected VBR version still wins in the facts);
* what the backup server says wins for ``max_tasks``, ``serves`` and a cluster's membership: a
  hand-written value that differs is ignored, with a note;
* an entry is matched by its name (normalised as everywhere: ``hv01.corp.example`` is ``HV01``),
  within its section (a cluster's nodes within that cluster); the backup server entry is matched
  whatever its name;
* an entry only in the hand-written file (a file server with its shares, a domain controller, a
  proxy the server does not list) is kept, with a note when the backup server knows no such name.

Both documents are checked against the schema on their own (an error names its own file and line);
the merged one is then checked like any inventory, each problem named in the file it came from.
The notes go to the run's warnings; the assignments the server gave carry ``source`` (rest or
powershell) in the facts.
"""

from __future__ import annotations

import copy
from typing import Any

from offhost_audit.errors import InventoryError
from offhost_audit.inventory import Inventory, check_doc, parse_doc, read_doc
from offhost_audit.names import norm_name
from offhost_audit.yamldoc import Doc, field_path

SECTIONS = ("proxies", "hyperv_hosts", "clusters", "file_servers", "domain_controllers")
HAND_WINS = ("address", "winrm", "credentials", "port", "shares", "domain", "ldap", "via", "rest")
SERVER_WINS = ("max_tasks", "serves")

Path_ = tuple[Any, ...]


class _Merged(Doc):
    """The merged document: each path's line and field are those of the file it came from."""

    def __init__(self, discovered: Doc, hand: Doc) -> None:
        super().__init__(f"{hand.path} over {discovered.path}", InventoryError)
        self.discovered, self.hand = discovered, hand
        self.origin: dict[Path_, tuple[Doc, Path_]] = {}  # merged path -> (its file, its path there)

    def locate(self, at: Path_) -> tuple[Doc, Path_]:
        for i in range(len(at), -1, -1):
            o = self.origin.get(at[:i])
            if o is not None:
                return o[0], o[1] + at[i:]
        return self.discovered, at

    def where(self, at: Path_) -> str:
        d, a = self.locate(at)
        return d.where(a)

    def note(self, at: Path_, msg: str, *, line: int | None = None) -> None:
        d, a = self.locate(at)
        line = line or d.line(a)
        self.errors.append((line, f"{d.path}:{line}: {field_path(a) or '(top)'}: {msg}"))


def _key(entry: Any) -> str | None:
    return norm_name(str(entry["name"]).strip()) if isinstance(entry, dict) and entry.get("name") is not None else None


def overlay(
    discovered_text: str,
    hand_text: str,
    *,
    discovered_source: str,
    hand_source: str,
    via: str,
    server: dict[str, Any] | None = None,
) -> Inventory:
    """The discovered inventory with the hand-written one laid over it (see the module doc); ``via``:
    how the server was read ("rest" or "powershell"), the ``source`` of its assignments; ``server``:
    settings of the discovered backup server entry (``via``, ``rest``: how discovery reached it)."""
    ddoc, draw = read_doc(discovered_text, discovered_source)
    if server and isinstance(draw, dict) and isinstance(draw.get("backup_server"), dict):
        draw["backup_server"].update(copy.deepcopy(server))
    hdoc, hraw = read_doc(hand_text, hand_source)
    if not isinstance(hraw, dict):
        hdoc.note((), "expected a mapping (the inventory's sections)")
    check_doc(ddoc, draw)
    check_doc(hdoc, hraw)
    problems = ddoc.errors + hdoc.errors
    if problems:
        raise InventoryError("\n".join(dict.fromkeys(text for _, text in problems)))
    doc = _Merged(ddoc, hdoc)
    merged, notes = _merge(doc, draw, hraw)
    direct, broken = check_doc(doc, merged)  # cross-entry shapes are fine; what the parser checks is not
    inv = parse_doc(doc, merged, direct, broken)
    served = {_key(p) for p in draw.get("proxies") or []}
    inv.origin = {a["proxy"]: via for a in inv.assignments if a["proxy"] in served}
    inv.notes = notes
    return inv


def _merge(doc: _Merged, disc: dict[str, Any], hand: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out = copy.deepcopy(disc)
    notes: list[str] = []
    hd = doc.hand
    known = {_key(e) for s in SECTIONS for e in disc.get(s) or []}
    known |= {_key(n) for c in disc.get("clusters") or [] for n in c.get("nodes") or []}
    if isinstance(disc.get("backup_server"), dict):
        known.add(_key(disc["backup_server"]))
    for top in ("vbr", "defaults"):
        if isinstance(hand.get(top), dict):
            base = out[top] = out[top] if isinstance(out.get(top), dict) else {}
            for k, v in hand[top].items():
                base[k] = copy.deepcopy(v)
                doc.origin[(top, k)] = (hd, (top, k))
    hb = hand.get("backup_server")
    if isinstance(hb, dict):
        db = out.get("backup_server")
        if isinstance(db, dict) and _key(db) != _key(hb):
            notes.append(
                f"{hd.where(('backup_server', 'name'))}: backup_server {_key(hb)}: the server discovered calls "
                f"itself {_key(db)}; the hand-written entry is used"
            )
        out["backup_server"] = {**(db if isinstance(db, dict) else {}), **copy.deepcopy(hb)}
        for k in hb:
            doc.origin[("backup_server", k)] = (hd, ("backup_server", k))
    for sec in SECTIONS:
        theirs = hand.get(sec)
        if not isinstance(theirs, list):
            continue
        mine: list[Any] = out[sec] if isinstance(out.get(sec), list) else []
        out[sec] = mine
        by_name = {_key(e): i for i, e in enumerate(mine)}
        for j, h in enumerate(theirs):
            name = _key(h)
            if name in by_name:
                i = by_name[name]
                _fields(doc, notes, mine[i], h, (sec, i), (sec, j))
                if sec == "clusters":
                    _nodes(doc, notes, mine[i], h, (sec, i), (sec, j), known)
                continue
            by_name[name] = len(mine)
            doc.origin[(sec, len(mine))] = (hd, (sec, j))
            mine.append(copy.deepcopy(h))
            if name not in known:
                notes.append(f"{hd.where((sec, j))}: {sec} {name}: not on the backup server, kept from {hd.path}")
    return out, notes


def _fields(doc: _Merged, notes: list[str], mine: dict[str, Any], h: dict[str, Any], at: Path_, hat: Path_) -> None:
    """One entry in both: the hand-written connection settings win, the server's facts stay."""
    for k, v in h.items():
        if k in HAND_WINS:
            mine[k] = copy.deepcopy(v)
            doc.origin[at + (k,)] = (doc.hand, hat + (k,))
        elif k in SERVER_WINS and v != mine.get(k):
            what = "what its jobs make it serve" if k == "serves" else "its max tasks"
            notes.append(
                f"{doc.hand.where(hat + (k,))}: {field_path(hat + (k,))} of {_key(h)} ignored: the backup server "
                f"says {what}"
            )


def _nodes(
    doc: _Merged, notes: list[str], mine: dict[str, Any], h: dict[str, Any], at: Path_, hat: Path_, known: set[Any]
) -> None:
    nodes = mine.setdefault("nodes", [])
    by_name = {_key(n): i for i, n in enumerate(nodes)}
    for j, n in enumerate(h.get("nodes") or []):
        name = _key(n)
        if name in by_name:
            _fields(doc, notes, nodes[by_name[name]], n, at + ("nodes", by_name[name]), hat + ("nodes", j))
            continue
        by_name[name] = len(nodes)
        doc.origin[at + ("nodes", len(nodes))] = (doc.hand, hat + ("nodes", j))
        nodes.append(copy.deepcopy(n))
        notes.append(
            f"{doc.hand.where(hat + ('nodes', j))}: cluster {_key(h)}: node {name} is not a node the backup server "
            f"lists{'' if name in known else ' (nor any server it knows)'}; kept from {doc.hand.path}"
        )
