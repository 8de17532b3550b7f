"""Splitting a facts document into independent parts that the engine can evaluate apart.

A proxy, the clusters and hosts it serves, their VMs, the shares those VMs use and the file
servers behind them, and the proxy's computer account form a part that shares nothing with the
next proxy's, apart from small global sections (``vbr``, ``domains``, ``collection``,
``warnings``...), which every part carries whole. The parts are the connected components of a
graph whose edges are every reference between entries (assignment -> proxy, cluster or host;
cluster -> node; host -> its cluster, SMB servers and shares; VM -> host, cluster, shares; share
-> server; account -> proxy), packed into a few documents of similar size. Every finding is
computed inside one component with everything it reads, so the union of the parts' findings is
the single pass's findings (tests/engine/test_split.py checks it on every fixture, example,
scenario and fuzzed estates).

Names are linked more loosely than the rules compare them (an extra link only merges parts, a
missing one would be wrong). Where one entry can reach the whole estate the document is not split
(:func:`plan` returns None): a proxy without an assignment (it serves every host), a missing
assignment, cluster or VM list, or a served cluster whose node list is missing (every host may be
one of its nodes). A VM whose disk list is missing reads every share, so it links to all of them.
A part without shares gets the first share of the estate: ``count(shares) > 0`` is read by a rule,
and a share that no VM of the part uses yields no finding.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from offhost_audit.names import norm_name, unc_key, unc_server

SPLIT_KEYS = ("assignments", "hosts", "clusters", "vms", "shares", "computer_accounts")


class _Links:
    """Union-find over string keys (a key is created by its first mention)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        if root == x:
            return x
        while root != parent[root]:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _share_key(unc: Any) -> tuple[str, str] | None:
    """(share key, server) like ``unc_key`` in policies/smb/lib, or None when it is not a UNC."""
    key = unc_key(unc)
    return (key, unc_server(key)) if key else None


def _link_unc(links: _Links, node: str, unc: Any) -> None:
    key = _share_key(unc)
    if key is not None:
        links.join(node, "s:" + key[0])
        links.join(node, "h:" + key[1])


def _seq(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


class Partition(NamedTuple):
    """The independent parts of a document and which part each name belongs to."""

    parts: list[dict[str, list[int]]]  # {list key: indexes}, in document order
    part_of: dict[str, int]  # "h:HV01" (a machine), "c:CL01" (a cluster), "s:\\FS01\VMS" (a share) -> its part

    def owner(self, kind: str, name: Any) -> int | None:
        """The part a machine ("h"), cluster ("c") or share ("s", a UNC) named anywhere in it belongs to, or None."""
        if kind == "s":
            key = unc_key(name)
            return None if key is None else self.part_of.get("s:" + key)
        return self.part_of.get(f"{kind}:{norm_name(name)}")


def components(doc: dict[str, Any]) -> list[dict[str, list[int]]] | None:
    """The independent parts as {list key: indexes}, in document order; None when it does not split."""
    found = partition(doc)
    return found.parts if found is not None and len(found.parts) > 1 else None


def partition(doc: dict[str, Any]) -> Partition | None:
    """The parts (one when nothing splits them apart) and the part of every name; None when one
    entry can reach the whole estate (see the module's doc)."""
    hosts = doc.get("hosts")
    if not isinstance(hosts, list):
        return None
    for key in ("assignments", "clusters", "vms"):
        if not isinstance(doc.get(key), list):
            return None
    assignments, clusters, vms = doc["assignments"], doc["clusters"], doc["vms"]
    assigned = {norm_name(a.get("proxy")) for a in assignments if isinstance(a, dict)}
    if any(
        isinstance(h, dict) and "proxy" in _seq(h.get("roles")) and norm_name(h.get("name")) not in assigned
        for h in hosts
    ):
        return None  # a proxy without an assignment serves every Hyper-V host
    nodes_known = {
        norm_name(c.get("name")) for c in clusters if isinstance(c, dict) and isinstance(c.get("nodes"), list)
    }
    for a in assignments:
        for s in _seq(a.get("sources") if isinstance(a, dict) else None):
            if isinstance(s, dict) and s.get("kind") != "host" and norm_name(s.get("name")) not in nodes_known:
                return None  # a served cluster without a node list: any host may be its node

    links = _Links()
    for i, a in enumerate(assignments):
        node = f"assignments:{i}"
        if not isinstance(a, dict):
            continue
        links.join(node, "h:" + norm_name(a.get("proxy")))
        for s in _seq(a.get("sources")):
            if isinstance(s, dict):
                name = norm_name(s.get("name"))
                links.join(node, "c:" + name)
                links.join(node, "h:" + name)
    for i, c in enumerate(clusters):
        node = f"clusters:{i}"
        if isinstance(c, dict):
            links.join(node, "c:" + norm_name(c.get("name")))
            for n in _seq(c.get("nodes")):
                links.join(node, "h:" + norm_name(n))
    for i, h in enumerate(hosts):
        node = f"hosts:{i}"
        if not isinstance(h, dict):
            continue
        links.join(node, "h:" + norm_name(h.get("name")))
        member = h.get("cluster")
        if isinstance(member, dict) and member.get("name") is not None:
            links.join(node, "c:" + norm_name(member.get("name")))
        for conn in _seq(h.get("smb_connections")):
            if isinstance(conn, dict):
                links.join(node, "h:" + norm_name(conn.get("server")))
                _link_unc(links, node, f"\\\\{conn.get('server')}\\{conn.get('share')}")
    # a VM without a disk list reads every share: then all shares (and such VMs) are one part
    every_share = any(isinstance(vm, dict) and not isinstance(vm.get("disks"), list) for vm in vms)
    for i, s in enumerate(_seq(doc.get("shares"))):
        node = f"shares:{i}"
        if every_share:
            links.join(node, "every-share")
        if isinstance(s, dict):
            links.join(node, "s:" + (_share_key(s.get("unc")) or ("",))[0])
            _link_unc(links, node, s.get("unc"))
            if s.get("server") is not None:
                links.join(node, "h:" + norm_name(s.get("server")))
    for i, vm in enumerate(vms):
        node = f"vms:{i}"
        if not isinstance(vm, dict):
            continue
        links.join(node, "h:" + norm_name(vm.get("host")))
        if vm.get("cluster") is not None:
            links.join(node, "c:" + norm_name(vm.get("cluster")))
        disks = vm.get("disks")
        if not isinstance(disks, list):
            links.join(node, "every-share")
        for d in _seq(disks):
            if isinstance(d, dict):
                _link_unc(links, node, d.get("share"))
                path = d.get("path")
                if d.get("storage") == "smb" or (isinstance(path, str) and path.strip().startswith("\\\\")):
                    _link_unc(links, node, path)  # not every path: "C:\\ClusterStorage\\..." would join all
    for i, acct in enumerate(_seq(doc.get("computer_accounts"))):
        node = f"computer_accounts:{i}"
        if isinstance(acct, dict):
            links.join(node, "h:" + norm_name(str(acct.get("name")).strip().removesuffix("$")))

    groups: dict[str, dict[str, list[int]]] = {}
    for key in SPLIT_KEYS:
        for i in range(len(_seq(doc.get(key)))):
            root = links.find(f"{key}:{i}")
            groups.setdefault(root, {}).setdefault(key, []).append(i)
    index = {root: n for n, root in enumerate(groups)}
    part_of = {k: index[links.find(k)] for k in list(links.parent) if k[:2] in ("h:", "c:", "s:")}
    return Partition(list(groups.values()), part_of)


def _weight(part: dict[str, list[int]]) -> int:
    return sum(len(v) for v in part.values())


def plan(doc: dict[str, Any], n_parts: int, *, min_hosts: int = 0) -> list[dict[str, Any]] | None:
    """The document as at most n_parts documents of similar size, or None (evaluate it whole).

    None also when it has fewer than min_hosts hosts or n_parts < 2.
    """
    if n_parts < 2 or len(_seq(doc.get("hosts"))) < min_hosts:
        return None
    comps = components(doc)
    if comps is None:
        return None
    bins: list[tuple[int, int, list[dict[str, list[int]]]]] = [(0, b, []) for b in range(min(n_parts, len(comps)))]
    for comp in sorted(comps, key=_weight, reverse=True):  # largest first into the lightest part
        bins.sort(key=lambda b: (b[0], b[1]))
        w, b, members = bins[0]
        members.append(comp)
        bins[0] = (w + _weight(comp), b, members)
    return [document(doc, members) for _, _, members in sorted(bins, key=lambda b: b[1])]


def document(doc: dict[str, Any], members: list[dict[str, list[int]]]) -> dict[str, Any]:
    """A facts document with the global sections whole and the members' entries in document order."""
    part = dict(doc)
    for key in SPLIT_KEYS:
        if isinstance(doc.get(key), list):
            idx = sorted(i for m in members for i in m.get(key, ()))
            part[key] = [doc[key][i] for i in idx]
    if doc.get("shares") and not part.get("shares"):
        part["shares"] = [doc["shares"][0]]
    return part
