"""Property tests for every PowerShell-output parser: PS 5.1 shapes in, facts shapes out."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit import facts
from offhost_audit.assemble import resolve_csv_names
from offhost_audit.collectors import parsers as P, parsers_estate as E
from offhost_audit.collectors.psjson import loads
from offhost_audit.lab.render import pipeline, ps_json
from offhost_audit.vbr_estate import vbr_facts

relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
NOISE = {"CimClass": "ROOT/Microsoft/Windows/Storage:MSFT_Disk", "CimInstanceProperties": "x", "PSComputerName": "HV01"}
names = st.from_regex(r"[A-Z][A-Z0-9]{1,10}", fullmatch=True)


def shape(items: list, noisy: bool) -> str:
    """A pipeline into ConvertTo-Json -Compress, optionally with raw CIM objects' noise."""
    items = [{**i, **NOISE} if noisy else i for i in items]
    return ps_json(pipeline(items))


services = st.lists(
    st.tuples(
        st.sampled_from(["VeeamDeploySvc", "VeeamTransportSvc", "VeeamHvIntegrationSvc"]),
        st.integers(1, 7),
        st.integers(0, 4),
    ),
    unique_by=lambda t: t[0],
    max_size=3,
)


@relaxed
@given(services, st.booleans())
def test_services(svcs, noisy):
    doc = loads(
        shape([{"Name": n, "DisplayName": f"Veeam {n}", "Status": s, "StartType": t} for n, s, t in svcs], noisy)
    )
    out = P.parse_services(doc)["veeam_services"]
    assert [(s["name"], s["status"], s["start_type"]) for s in out] == [
        (n, P.SERVICE_STATUS[s], P.START_TYPE[t]) for n, s, t in svcs
    ]


@relaxed
@given(
    st.lists(
        st.tuples(names, st.sampled_from(["VMS", "Hyper-V$", "data"]), st.sampled_from(["3.1.1", "3.0", "2.1"])),
        max_size=4,
    ),
    st.booleans(),
    st.sampled_from(["", ".corp.example"]),
)
def test_smb_client(conns, noisy, suffix):
    doc = loads(shape([{"ServerName": s + suffix, "ShareName": sh, "Dialect": d} for s, sh, d in conns], noisy))
    assert P.parse_smb_client(doc)["smb_connections"] == [
        {"server": s, "share": sh, "dialect": d} for s, sh, d in conns
    ]


@relaxed
@given(
    st.lists(
        st.tuples(st.uuids(), st.integers(0, 4), st.text(min_size=1, max_size=30).filter(str.strip)),
        unique_by=lambda t: t[0],
        max_size=4,
    ),
    st.booleans(),
)
def test_vss_cim(providers, upper):
    items = [
        {"ID": "{%s}" % (str(u).upper() if upper else u), "Name": n, "CLSID": "{x}", "Type": t, "Version": "1.0"}
        for u, t, n in providers
    ]
    out = P.parse_vss(loads(ps_json({"Source": "cim", "Providers": items, "Text": None})))["vss_providers"]
    assert [(p["id"], p["type"]) for p in out] == [(str(u), P.VSS_TYPE[t]) for u, t, _ in providers]


@relaxed
@given(
    st.lists(
        st.tuples(
            st.integers(0, 64),
            st.from_regex(r"[0-9A-F]{32}", fullmatch=True),
            st.sampled_from(sorted(P.BUS_TYPE)),
            st.booleans(),
        ),
        max_size=5,
    ),
    st.sampled_from([1, 2, 3, 4, None]),
    st.booleans(),
)
def test_storage(disks, policy, noisy):
    items = [
        {
            "Number": n,
            "UniqueId": u,
            "FriendlyName": "LUN",
            "BusType": b,
            "IsOffline": off,
            "IsReadOnly": False,
            "IsClustered": False,
            "Size": 2**41,
            **(NOISE if noisy else {}),
        }
        for n, u, b, off in disks
    ]
    doc = loads(
        ps_json(
            {
                "Disks": items,
                "InitiatorPorts": [{"NodeAddress": "n", "PortAddress": "p", "ConnectionType": 1}],
                "IscsiSessions": [],
                "NewDiskPolicy": policy,
            }
        )
    )
    st_ = P.parse_storage(doc)["storage"]
    assert [(d["unique_id"], d["bus_type"], d["is_offline"]) for d in st_["disks"]] == [
        (u.lower(), P.BUS_TYPE[b], off) for _, u, b, off in disks
    ]
    assert st_["san_policy"] == (P.SAN_POLICY.get(policy) if policy else None)
    assert st_["initiator_ports"] == [{"type": "fc", "address": "p", "node_address": "n"}]


def test_iscsi_port_keeps_the_iqn_not_the_any_port_constant():
    iqn = "iqn.1991-05.com.microsoft:px1.corp.example"
    doc = loads(
        ps_json(
            {
                "Disks": [],
                "IscsiSessions": [],
                "NewDiskPolicy": 1,
                "InitiatorPorts": [{"NodeAddress": iqn, "PortAddress": "ISCSI ANY PORT", "ConnectionType": 2}],
            }
        )
    )
    assert P.parse_storage(doc)["storage"]["initiator_ports"] == [
        {"type": "iscsi", "address": iqn, "node_address": iqn}
    ]


@relaxed
@given(
    st.integers(9200, 30000),
    st.integers(0, 9999),
    st.sampled_from([1, 2, 3]),
    st.sampled_from(["64-bit", "64 Bit", "32-bit"]),
    st.lists(st.sampled_from(["Hyper-V", "FS-Data-Deduplication", "Failover-Clustering"]), unique=True),
    st.booleans(),
)
def test_system(build, ubr, ptype, arch, installed, features_absent):
    feats = (
        None
        if features_absent
        else [
            {"Name": n, "Installed": n in installed, "InstallState": int(n in installed)}
            for n in ["Hyper-V", "FS-Data-Deduplication", "Failover-Clustering"]
        ]
    )
    doc = loads(
        ps_json(
            {
                "OS": {
                    "Caption": "Microsoft Windows Server",
                    "Version": f"10.0.{build}",
                    "BuildNumber": str(build),
                    "ProductType": ptype,
                    "OSArchitecture": arch,
                    "LastBootUpTime": "/Date(1591287561241)/",
                },
                "Registry": {"UBR": ubr, "InstallationType": "Server Core", "EditionID": "ServerStandard"},
                "ComputerSystem": {
                    "Name": "HV01",
                    "DNSHostName": "hv01",
                    "Domain": "Corp.Example",
                    "PartOfDomain": True,
                    "Manufacturer": "Dell Inc.",
                    "Model": "R750",
                    "HypervisorPresent": True,
                    "NumberOfLogicalProcessors": 8,
                    "TotalPhysicalMemory": 2**36,
                    **NOISE,
                },
                "Cores": 4,
                "SystemDrive": {"FreeSpace": 10**11},
                "NetbiosDomain": "corp",
                "Features": feats,
                "NetAdapters": [{"Name": "NIC1", "Status": "Up", "Speed": 10**10}],
            }
        )
    )
    out = P.parse_system(doc)
    assert (
        out["os"]["build"] == build and out["os"]["ubr"] == ubr and out["os"]["product_type"] == P.PRODUCT_TYPE[ptype]
    )
    assert out["os"]["is_64bit"] is ("64" in arch)
    assert out["domain"] == {"name": "corp.example", "netbios": "CORP", "part_of_domain": True}
    assert out["fqdn"] == "hv01.corp.example"
    if features_absent:
        assert out["features"] is None
    else:
        assert out["features"]["hyperv"] is ("Hyper-V" in installed)
        assert out["features"]["dedup"] is ("FS-Data-Deduplication" in installed)


@relaxed
@given(
    st.lists(
        st.tuples(
            names,
            st.lists(
                st.sampled_from(
                    [
                        "C:\\ClusterStorage\\Volume1\\{}\\a.vhdx",
                        "c:\\clusterstorage\\volume2\\{}\\b.VHDS",
                        "\\\\fs01.corp.example\\VMS\\{}\\c.vhdx",
                        "D:\\VMs\\{}\\d.avhdx",
                        "\\\\NAS\\Share$\\{}\\e.vhd",
                    ]
                ),
                max_size=3,
            ),
        ),
        unique_by=lambda t: t[0],
        max_size=4,
    ),
    st.booleans(),
)
def test_hyperv_disk_kinds(vms, single):
    disks = [
        {
            "VMName": n,
            "VMId": "6f1e2a0c-6c1b-4f7e-9a51-2b9d3c1e0a01",
            "ComputerName": "HV01",
            "Path": p.format(n),
            "ControllerType": 1,
        }
        for n, ps in vms
        for p in ps
    ]
    vm_objs = [{"Name": n, "Id": "6f1e2a0c-6c1b-4f7e-9a51-2b9d3c1e0a01", "State": 2} for n, _ in vms]
    doc = {"HyperVModule": True, "VMs": vm_objs[0] if single and len(vm_objs) == 1 else vm_objs, "Disks": disks}
    out = E.parse_hyperv(loads(ps_json(doc)), host="HV01", cluster="HVCL01")["vms"]
    clusters = [
        {
            "name": "HVCL01",
            "csvs": [
                {"name": "CSV One", "path": "C:\\ClusterStorage\\Volume1"},
                {"name": "CSV Two", "path": "C:\\ClusterStorage\\Volume2"},
            ],
        }
    ]
    resolve_csv_names(out, clusters)
    assert [v["name"] for v in out] == [n for n, _ in vms]
    for vm in out:
        for d in vm["disks"]:
            low = d["path"].lower()
            if low.startswith("c:\\clusterstorage"):
                assert d["storage"] == "csv" and d["csv"] == ("CSV One" if "volume1" in low else "CSV Two")
            elif low.startswith("\\\\"):
                assert d["storage"] == "smb" and d["share"] in ("\\\\FS01\\VMS", "\\\\NAS\\Share$")
            else:
                assert d["storage"] == "local"
            assert d["format"] == low.rsplit(".", 1)[1]


def test_hyperv_module_absent_is_unknown():
    assert E.parse_hyperv(loads('{"HyperVModule":false,"VMs":null,"Disks":null}'), host="H")["vms"] is None


@relaxed
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Cluster Disk 1", "Cluster Disk 2", "Cluster Disk 3"]),
            st.sampled_from(sorted(P.CSV_STATE)),
            st.booleans(),
            st.booleans(),
        ),
        unique_by=lambda t: t[0],
        max_size=3,
    ),
    st.booleans(),
)
def test_cluster(csvs, dedup_feature):
    items = [
        {
            "Name": n,
            "State": s,
            "OwnerNode": "HV01" if own else "HV02",
            "Path": f"C:\\ClusterStorage\\Volume{n[-1]}",
            "VolumeName": f"\\\\?\\Volume{{{n[-1]}}}\\",
            "DiskUniqueId": f"60{n[-1]}" if own else None,
        }
        for n, s, own, _ in csvs
    ]
    dedup = [{"Volume": f"C:\\ClusterStorage\\Volume{n[-1]}", "Enabled": True} for n, _, own, d in csvs if own and d]
    doc = loads(
        ps_json(
            {
                "Member": True,
                "Name": "hvcl01.corp.example",
                "Self": "HV01",
                "Nodes": [{"Name": "HV01", "State": 0}, {"Name": "hv02", "State": 1}],
                "Csvs": items,
                "Dedup": dedup if dedup_feature else None,
            }
        )
    )
    out = E.parse_cluster(doc)
    assert out["cluster"] == {"member": True, "name": "HVCL01"}
    (cl,) = out["clusters"]
    assert cl["nodes"] == ["HV01", "HV02"]
    for (n, s, own, d), c in zip(csvs, cl["csvs"]):
        assert c["state"] == P.CSV_STATE[s]
        assert c["dedup_enabled"] == ((d and dedup_feature) if own else None)
        assert c["disk_unique_ids"] == ([f"60{n[-1]}"] if own else None)


def test_cluster_non_member_and_unknown():
    assert E.parse_cluster(loads('{"Member":false,"ClusterService":false}'))["cluster"] == {
        "member": False,
        "name": None,
    }
    assert E.parse_cluster(None)["cluster"] is None
    assert E.parse_cluster(loads('"Microsoft.FailoverClusters.PowerShell.Cluster"'))["cluster"] is None


@relaxed
@given(
    st.lists(
        st.tuples(names, st.sampled_from(["HvServer", "HvCluster", "Scvmm", "Local", "ViHost"])),
        unique_by=lambda t: t[0],
        max_size=4,
    ),
    st.lists(st.tuples(names, st.one_of(st.none(), st.integers(0, 64))), unique_by=lambda t: t[0], max_size=3),
)
def test_backup_server(servers, proxies):
    doc = loads(
        ps_json(
            {
                "Module": "present",
                "Server": "VBR01",
                "Version": "13.0.1.1071",
                "Servers": [{"Name": f"{n.lower()}.corp.example", "Type": t} for n, t in servers],
                "Proxies": [{"Name": n, "MaxTasks": m, "Disabled": False} for n, m in proxies],
            }
        )
    )
    est = E.parse_backup_server(doc, server="VBR01", endpoint="vbr01")
    assert est is not None
    vbr = vbr_facts(est, "powershell")
    kinds = {"HvCluster": "cluster", "HvServer": "host", "Scvmm": "scvmm"}
    assert sorted((m["name"], m["type"]) for m in vbr["managed_servers"]) == sorted(
        (f"{n.lower()}.corp.example", kinds[t]) for n, t in servers if t in kinds
    )
    assert [(p["name"], p["max_tasks"], p["source"]) for p in vbr["proxies"]] == [
        (n, m, "powershell") for n, m in proxies
    ]
    assert vbr["jobs"] is None  # the answer had no Jobs: not read, unknown
    assert E.parse_backup_server(loads('{"Module":"absent"}'), server="VBR01", endpoint="vbr01") is None


def _nothing_known(value) -> bool:
    if isinstance(value, dict):
        return all(_nothing_known(v) for v in value.values())
    return value is None or value == []


@relaxed
@given(st.sampled_from(["", "null", "[]", '"Microsoft.Some.Type"', "{}", "[null]"]))
def test_every_parser_survives_empty_and_odd_output(text):
    """Nothing usable in the output: every fact is unknown (null) or an empty list, never an invented
    value, and the host built from it is a valid facts document."""
    doc = loads(text)
    host = {"name": "H", "roles": ["hyperv_host"]}
    for parse in (P.parse_system, P.parse_storage, P.parse_vss, P.parse_services, P.parse_smb_client):
        part = parse(doc)
        assert _nothing_known(part), (parse.__name__, part)
        host.update(part)
    assert _nothing_known(E.parse_cluster(doc))
    assert _nothing_known(E.parse_hyperv(doc, host="H"))
    assert E.parse_backup_server(doc, server="VBR01", endpoint="vbr01") is None
    assert facts.schema_problems({"schema_version": 1, "hosts": [host]}) == []


def test_cluster_storage_spaces_direct_from_the_clusters_own_answer():
    """S2DEnabled (uint32 on Windows Server 2016+) is OHP-043's fact; absent on older releases: no key."""
    base = {"Member": True, "Name": "HVCL01", "Self": "HV01", "Nodes": [{"Name": "HV01"}], "Csvs": []}
    for raw, want in ((1, True), (0, False), (None, None)):
        (cl,) = E.parse_cluster(loads(ps_json({**base, "S2DEnabled": raw})))["clusters"]
        assert cl["s2d_enabled"] is want
    (cl,) = E.parse_cluster(loads(ps_json(base)))["clusters"]
    assert "s2d_enabled" not in cl


def test_the_lab_answers_s2d_only_for_a_scenario_that_says_it():
    from offhost_audit.lab import render, scenario

    raw = yaml.safe_load(scenario.locate("csv-healthy").read_text(encoding="utf-8"))
    raw["clusters"][0]["s2d"] = True
    sc = scenario.normalise({"name": "s2d", **raw})
    hv01 = next(h for h in sc["hosts"] if h["name"] == "HV01")
    (cl,) = E.parse_cluster(loads(ps_json(render.cluster(hv01, sc, {}))))["clusters"]
    assert cl["s2d_enabled"] is True
    plain = scenario.load("csv-healthy")
    hv01 = next(h for h in plain["hosts"] if h["name"] == "HV01")
    assert "S2DEnabled" not in render.cluster(hv01, plain, {})
