"""Generate a large, schema-valid facts document: the benchmark estate.

Pods of one off-host proxy plus an N-node Hyper-V cluster with CSVs and VMs, standalone Hyper-V
hosts whose VMs live on SMB3 shares of file servers, one domain, computer accounts for proxies.
About one pod in ten carries a defect (old build, virtual proxy, missing services, dedup, local
disks, VHD Sets...) so the rules produce fails as well as passes; a few facts are null (unknowns).

    python benchmarks/estate.py --hosts 10000 -o /tmp/estate.json
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
NODES_PER_CLUSTER = 8
WIN_BUILDS = [20348, 20348, 20348, 17763, 26100]


def _host(tmpl: dict, name: str, roles: list[str], build: int) -> dict:
    h = copy.deepcopy(tmpl)
    h["name"], h["fqdn"], h["roles"] = name, f"{name.lower()}.corp.example", roles
    h["os"]["build"], h["os"]["version"] = build, f"10.0.{build}"
    return h


def generate(n_hosts: int = 10_000, *, seed: int = 13) -> dict:
    rnd = random.Random(seed)
    base = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    proxy_t, node_t = base["hosts"][0], base["hosts"][1]
    doc = {k: v for k, v in base.items() if k not in ("hosts", "clusters", "vms", "assignments", "collection")}
    doc["generator"] = "benchmarks/estate.py"
    hosts, clusters, vms, assignments, shares, accounts, collection = [], [], [], [], [], [], []
    managed, vbr_proxies = [], []
    pod_size = 1 + NODES_PER_CLUSTER
    n_pods = int(n_hosts * 0.9) // pod_size
    rest = n_hosts - n_pods * pod_size
    n_files = rest // 2
    n_standalone = rest - n_files

    for i in range(n_pods):
        build = rnd.choice(WIN_BUILDS)
        defect = rnd.random() < 0.1
        pname, cname = f"PRX{i:05d}", f"HVCL{i:05d}"
        p = _host(proxy_t, pname, ["proxy"], build if not (defect and i % 3 == 0) else 9600)
        disks = []
        csvs = []
        for k in range(4):
            uid = f"60002ac{i:09d}{k:016d}"
            disks.append({"number": k + 1, "unique_id": uid, "friendly_name": "PURE FlashArray", "bus_type": "fc",
                          "size_bytes": 2199023255552, "is_offline": True, "is_read_only": False, "is_clustered": False})
            csvs.append({"name": f"Cluster Disk {k + 1}", "path": f"C:\\ClusterStorage\\Volume{k + 1}",
                         "owner_node": f"HV{i:05d}N0", "state": "online", "disk_unique_ids": [uid],
                         "dedup_enabled": bool(defect and k == 0 and i % 3 == 1)})
        p["storage"]["disks"] = disks
        if defect and i % 3 == 2:
            p["hardware"]["manufacturer"], p["hardware"]["model"] = "Microsoft Corporation", "Virtual Machine"
            p["veeam_services"] = p["veeam_services"][:1]
        if defect and i % 5 == 0:
            p["vss_providers"] = None  # not collected -> unknowns
            collection.append({"target": pname, "collector": "winrm.vss", "status": "error",
                               "error": "WinRM: operation timed out", "duration_ms": 60000.0})
        hosts.append(p)
        nodes = []
        for n in range(NODES_PER_CLUSTER):
            nname = f"HV{i:05d}N{n}"
            h = _host(node_t, nname, ["hyperv_host"], build)
            h["cluster"] = {"member": True, "name": cname}
            h["storage"]["disks"] = [dict(d, is_offline=False, is_clustered=True) for d in disks]
            hosts.append(h)
            nodes.append(nname)
        clusters.append({"name": cname, "nodes": nodes, "csvs": csvs})
        for v in range(4):
            csv = csvs[v % len(csvs)]
            fmt = "vhds" if defect and v == 0 and i % 4 == 0 else "vhdx"
            vms.append({"name": f"VM{i:05d}{v}", "id": f"6f1e2a0c-6c1b-4f7e-9a51-{i:08d}{v:04d}",
                        "host": nodes[v % NODES_PER_CLUSTER], "cluster": cname,
                        "disks": [{"path": f"{csv['path']}\\VM{i:05d}{v}\\disk.{fmt}", "storage": "csv",
                                   "format": fmt, "csv": csv["name"], "share": None}]})
        assignments.append({"proxy": pname, "max_tasks": 4, "sources": [{"kind": "cluster", "name": cname}]})
        managed.append({"name": cname, "type": "cluster"})
        vbr_proxies.append({"name": pname, "max_tasks": 4, "disabled": False})
        accounts.append({"name": pname, "sam_account_name": f"{pname}$", "domain": "corp.example",
                         "sid": f"{DOMAIN_SID}-{10_000 + i}", "primary_group_sid": f"{DOMAIN_SID}-515",
                         "token_groups": [f"{DOMAIN_SID}-515", f"{DOMAIN_SID}-5001"],
                         "logon_sids": ["S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-15"]})

    for f in range(n_files):
        fname = f"FS{f:05d}"
        fs = _host(node_t, fname, ["file_server"], 20348)
        fs["cluster"] = {"member": False, "name": None}
        fs["features"]["hyperv"] = False
        hosts.append(fs)
        acl = [{"sid": f"{DOMAIN_SID}-5001", "name": "CORP\\Veeam Proxies", "type": "allow", "mask": 1179817, "flags": 0},
               {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators", "type": "allow", "mask": 2032127, "flags": 0}]
        shares.append({"unc": f"\\\\{fname}\\VMs", "server": fname, "name": "VMs", "path": "D:\\VMs",
                       "dialect": "3.1.1" if f % 10 else "2.1", "share_acl": copy.deepcopy(acl), "ntfs_acl": copy.deepcopy(acl)})

    for s in range(n_standalone):
        sname = f"HVS{s:05d}"
        h = _host(node_t, sname, ["hyperv_host"], 20348)
        h["cluster"] = {"member": False, "name": None}
        share = shares[s % len(shares)] if shares else None
        if share:
            h["smb_connections"] = [{"server": share["server"], "share": "VMs", "dialect": share["dialect"]}]
        hosts.append(h)
        for v in range(2):
            local = v == 1 and s % 7 == 0
            path = f"D:\\VMs\\VMS{s:05d}{v}.vhdx" if local or not share else f"{share['unc']}\\VMS{s:05d}{v}.vhdx"
            vms.append({"name": f"VMS{s:05d}{v}", "id": None, "host": sname, "cluster": None,
                        "disks": [{"path": path, "storage": "local" if local or not share else "smb", "format": "vhdx",
                                   "csv": None, "share": None if local or not share else share["unc"]}]})
        if n_pods:
            assignments[s % n_pods]["sources"].append({"kind": "host", "name": sname})
        managed.append({"name": sname, "type": "host"})

    doc["vbr"] = dict(base["vbr"], managed_servers=managed, proxies=vbr_proxies)
    doc.update(hosts=hosts, clusters=clusters, vms=vms, assignments=assignments, shares=shares,
               computer_accounts=accounts, collection=collection)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    doc = generate(args.hosts, seed=args.seed)
    Path(args.output).write_text(json.dumps(doc), encoding="utf-8")
    print(f"{args.output}: {len(doc['hosts'])} hosts, {len(doc['clusters'])} clusters, {len(doc['vms'])} VMs, "
          f"{len(doc['shares'])} shares")


if __name__ == "__main__":
    main()
