"""Discovery benchmark: `discover` over REST from the lab's backup server, a large estate.

The estate: --hosts Hyper-V hosts in clusters of --nodes (plus --standalone standalone hosts, each
read once more for its volume settings: the API has no list call for them), --proxies off-host
proxies, --jobs Hyper-V jobs (half with automatic proxy selection, half pinned to two proxies, each
over two clusters). The lab serves it over HTTPS on loopback; the real client reads it with page
sizes --page-sizes. Prints, per page size, the wall time, the requests per endpoint and the
requests the pages alone explain: the count must follow the pages, not the objects.

    python benchmarks/bench_discover.py --hosts 2000 --proxies 200 --jobs 500
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offhost_audit import discover, inventory  # noqa: E402
from offhost_audit.collectors.base import Target  # noqa: E402
from offhost_audit.collectors.vbr_read import read_rest  # noqa: E402
from offhost_audit.collectors.vbr_rest import VbrRestClient  # noqa: E402
from offhost_audit.inventory.credentials import Credentials  # noqa: E402
from offhost_audit.lab import scenario, vbr_rest  # noqa: E402


def estate(hosts: int, nodes: int, standalone: int, proxies: int, jobs: int) -> dict:
    n_clusters = math.ceil(hosts / nodes)
    clusters = [f"HVCL{c:04d}" for c in range(n_clusters)]
    host_list = [
        {"name": f"HV{i:05d}", "cluster": clusters[i // nodes], "vss": ["microsoft", "pure"]} for i in range(hosts)
    ]
    host_list += [{"name": f"HVS{i:04d}", "vss": ["microsoft", "pure"]} for i in range(standalone)]
    host_list += [{"name": f"PX{p:04d}", "roles": ["proxy"]} for p in range(proxies)]
    job_list = []
    for j in range(jobs):
        sources = [{"cluster": clusters[j % n_clusters]}, {"cluster": clusters[(j + 1) % n_clusters]}]
        pinned = [f"PX{j % proxies:04d}", f"PX{(j + 1) % proxies:04d}"] if j % 2 else []
        job_list.append({"name": f"Job {j:04d}", "proxies": pinned, "auto": not pinned, "sources": sources})
    raw = {
        "name": "bench-discover",
        "clusters": [{"name": c} for c in clusters],
        "hosts": host_list,
        "backup_server": {
            "name": "VBR01",
            "proxies": [{"name": f"PX{p:04d}", "max_tasks": 4, "disabled": p % 50 == 0} for p in range(proxies)],
            "jobs": job_list,
        },
    }
    return scenario.normalise(raw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--nodes", type=int, default=8, help="hosts per cluster")
    ap.add_argument("--standalone", type=int, default=10)
    ap.add_argument("--proxies", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--page-sizes", default="1000,500,100")
    args = ap.parse_args()
    t0 = time.perf_counter()
    sc = estate(args.hosts, args.nodes, args.standalone, args.proxies, args.jobs)
    print(
        f"estate built in {time.perf_counter() - t0:.2f}s: {args.hosts} clustered + {args.standalone} standalone hosts, "
        f"{args.proxies} proxies, {args.jobs} jobs"
    )
    with vbr_rest.serve(sc) as (url, ca, state):
        host, port = url.removeprefix("https://").rsplit(":", 1)
        creds = Credentials(sc["lab"]["username"], sc["lab"]["password"])
        for size in [int(s) for s in args.page_sizes.split(",")]:
            state.requests.clear()
            target = Target("VBR01", "backup_server", host, int(port), creds, ca_file=ca, timeout_s=60)
            client = VbrRestClient(target, page_size=size)
            started = time.perf_counter()
            est = read_rest(client)
            text = discover.inventory_text(est)
            elapsed = time.perf_counter() - started
            client.close()
            inv = inventory.loads(text, source="discovered")
            proxies = len(est.proxies or [])
            servers = len(est.hosts or []) + len(est.clusters or []) + len(est.file_servers or [])
            pages = sum(max(1, math.ceil(n / size)) for n in (proxies, proxies, servers, len(est.jobs or [])))
            expected = 2 + pages + len(est.standalone_hosts())  # token + serverInfo + pages + one volumes call per standalone host
            print(
                f"page size {size:>5}: {elapsed:6.2f}s, {client.requests} requests (pages explain {expected}); "
                f"{servers} managed servers, {len(inv.hosts)} inventory hosts, {len(inv.assignments)} proxies with serves, "
                f"{len(text) // 1024} KiB of YAML"
            )
            per: dict[str, int] = {}
            for path, n in state.requests.items():
                key = "managedServers/{id}/volumes" if path.endswith("/volumes") else path.rsplit("/", 1)[1]
                per[key] = per.get(key, 0) + n
            print("    per endpoint: " + ", ".join(f"{k}={n}" for k, n in sorted(per.items())))
            if client.requests != expected:
                print("    MISMATCH: requests do not follow the pages")
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
