package offhost.csv.san_access_test

import rego.v1

import data.offhost.csv.san_access as rule

_lun_a := "60002ac0000000000000000a00021f6b"

_lun_b := "60002ac0000000000000000b00021f6b"

_disk(n, id, bus, offline) := {"number": n, "unique_id": id, "bus_type": bus, "is_offline": offline}

# PROXY01 sees both LUNs over FC, offline (SAN policy offline_shared). hosts/0 is the proxy.
_base := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "storage": {
			"disks": [_disk(1, upper(_lun_a), "fc", true), _disk(2, _lun_b, "fc", true)],
			"initiator_ports": [{"type": "fc", "address": "21000024ff50524f"}],
			"iscsi_sessions": [],
			"san_policy": "offline_shared",
		}},
		{"name": "HV01", "roles": ["hyperv_host"], "storage": {"disks": [_disk(1, _lun_a, "fc", false), _disk(2, _lun_b, "fc", false)]}},
		{"name": "HV02", "roles": ["hyperv_host"], "storage": {"disks": [_disk(1, _lun_a, "fc", false), _disk(2, _lun_b, "fc", false)]}},
	],
	"clusters": [{
		"name": "HVCL01",
		"nodes": ["hv01.corp.example", "HV02"],
		"csvs": [
			{"name": "Cluster Disk 1", "disk_unique_ids": [_lun_a]},
			{"name": "Cluster Disk 2", "disk_unique_ids": [_lun_b]},
		],
	}],
}

_statuses(fs) := {[f.subject.name, f.status, f.severity] | some f in fs}

_by_csv(fs, csv) := f if {
	some f in fs
	f.subject.csv == csv
}

_a := "PROXY01 -> HVCL01/Cluster Disk 1"

_b := "PROXY01 -> HVCL01/Cluster Disk 2"

# The proxy sees disk 2 only; LUN A is gone.
_lose_a := [{"op": "remove", "path": "/hosts/0/storage/disks/0"}]

# LUN A is iSCSI on both nodes.
_iscsi_nodes := [
	{"op": "replace", "path": "/hosts/1/storage/disks/0/bus_type", "value": "iscsi"},
	{"op": "replace", "path": "/hosts/2/storage/disks/0/bus_type", "value": "iscsi"},
]

test_pass_when_all_luns_visible_and_offline if {
	fs := rule.findings with input as _base
	_statuses(fs) == {[_a, "pass", "high"], [_b, "pass", "high"]}
	f := _by_csv(fs, "Cluster Disk 1")
	f.subject.kind == "proxy_csv"
	contains(f.message, "60002ac0000000000000000a00021f6b as disk 1 (fc, offline)")
	contains(f.message, "Offline is expected here: SAN policy offline_shared")
}

test_pass_without_offline_note_when_disk_online if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/storage/disks/1/is_offline", "value": false}])
	fs := rule.findings with input as inp
	f := _by_csv(fs, "Cluster Disk 2")
	f.status == "pass"
	not contains(f.message, "Offline is expected")
}

test_fail_when_lun_missing if {
	inp := json.patch(_base, _lose_a)
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "high"], [_b, "pass", "high"]}
	f := _by_csv(fs, "Cluster Disk 1")
	contains(f.message, "does not see LUN(s) 60002ac0000000000000000a00021f6b (bus on the cluster nodes: fc)")
	some e in f.evidence
	e.path == "hosts[HV01].storage.disks[60002ac0000000000000000a00021f6b].bus_type"
	e.value == "fc"
}

test_on_the_fly_warning_for_iscsi_lun_via_initiator_port if {
	inp := json.patch(_base, array.concat(_lose_a, array.concat(_iscsi_nodes, [
		{"op": "add", "path": "/hosts/0/storage/initiator_ports/-", "value": {"type": "iscsi", "address": "iqn.1991-05.com.microsoft:proxy01"}},
	])))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "medium"], [_b, "pass", "high"]}
	f := _by_csv(fs, "Cluster Disk 1")
	contains(f.message, "Connected volumes -> Manual selection")
	contains(f.message, "bus on the cluster nodes: iscsi")
	contains(f.message, "iscsi iqn.1991-05.com.microsoft:proxy01") # the initiator's IQN, not "ISCSI ANY PORT"
	some e in f.evidence
	e.path == "hosts[PROXY01].storage.initiator_ports"
	"iqn.1991-05.com.microsoft:proxy01" in {x.address | some x in e.value}
}

test_on_the_fly_warning_for_iscsi_lun_via_session if {
	inp := json.patch(_base, array.concat(_lose_a, array.concat(_iscsi_nodes, [
		{"op": "replace", "path": "/hosts/0/storage/iscsi_sessions", "value": [{"target": "iqn.2010-06.com.purestorage:flasharray", "connected": true}]},
	])))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "medium"], [_b, "pass", "high"]}
	contains(_by_csv(fs, "Cluster Disk 1").message, "iSCSI sessions: 1")
}

test_hard_fail_when_iscsi_lun_but_proxy_without_iscsi if {
	inp := json.patch(_base, array.concat(_lose_a, array.concat(_iscsi_nodes, [
		{"op": "replace", "path": "/hosts/0/storage/iscsi_sessions", "value": [{"target": "iqn.x", "connected": false}]},
	])))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "high"], [_b, "pass", "high"]}
}

test_hard_fail_when_lun_is_iscsi_on_one_node_only if {
	inp := json.patch(_base, array.concat(_lose_a, [
		{"op": "replace", "path": "/hosts/1/storage/disks/0/bus_type", "value": "iscsi"},
		{"op": "add", "path": "/hosts/0/storage/initiator_ports/-", "value": {"type": "iscsi"}},
	]))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "high"], [_b, "pass", "high"]}
	contains(_by_csv(fs, "Cluster Disk 1").message, "fc/iscsi")
}

test_hard_fail_when_node_storage_not_collected if {
	inp := json.patch(_base, array.concat(_lose_a, [
		{"op": "replace", "path": "/hosts/1/storage", "value": null},
		{"op": "replace", "path": "/hosts/2/storage/disks", "value": null},
		{"op": "add", "path": "/hosts/0/storage/initiator_ports/-", "value": {"type": "iscsi"}},
	]))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "high"], [_b, "pass", "high"]}
	contains(_by_csv(fs, "Cluster Disk 1").message, "not collected on the nodes")
}

test_unknown_when_lun_ids_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs/0/disk_unique_ids", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown", "high"], [_b, "pass", "high"]}
	_by_csv(fs, "Cluster Disk 1").missing == ["clusters[HVCL01].csvs[Cluster Disk 1].disk_unique_ids"]
}

test_unknown_when_lun_ids_empty if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs/1/disk_unique_ids", "value": []}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "pass", "high"], [_b, "unknown", "high"]}
}

test_unknown_when_proxy_disks_not_collected if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/storage/disks", "value": null},
		{"op": "remove", "path": "/clusters/0/csvs/1/disk_unique_ids"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown", "high"], [_b, "unknown", "high"]}
	_by_csv(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].storage.disks"]
	_by_csv(fs, "Cluster Disk 2").missing == [
		"clusters[HVCL01].csvs[Cluster Disk 2].disk_unique_ids",
		"hosts[PROXY01].storage.disks",
	]
}

test_unknown_once_per_cluster_when_csvs_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01/*", "unknown", "high"]}
}

test_no_subjects_when_cluster_has_no_csvs if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs", "value": []}])
	count(rule.findings) == 0 with input as inp
}

# Visible LUNs but no SAN transport at all (e.g. a VM proxy with pass-through disks).
test_fail_when_luns_visible_without_san_path if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/storage/disks/0/bus_type", "value": "virtual"},
		{"op": "replace", "path": "/hosts/0/storage/disks/1/bus_type", "value": null},
		{"op": "replace", "path": "/hosts/0/storage/initiator_ports", "value": []},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail", "high"], [_b, "fail", "high"]}
	contains(_by_csv(fs, "Cluster Disk 1").message, "has no SAN path")
	contains(_by_csv(fs, "Cluster Disk 1").message, "initiator ports: none")
}

test_pass_from_disk_bus_when_ports_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/storage/initiator_ports", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "pass", "high"], [_b, "pass", "high"]}
	contains(_by_csv(fs, "Cluster Disk 1").message, "initiator ports: not collected")
}

test_unknown_when_bus_and_ports_not_collected if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/storage/disks", "value": [{"unique_id": _lun_a}, {"unique_id": _lun_b}]},
		{"op": "remove", "path": "/hosts/0/storage/initiator_ports"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown", "high"], [_b, "unknown", "high"]}
	_by_csv(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].storage.initiator_ports"]
}

test_severity_unchanged_under_current_profile if {
	inp := json.patch(_base, array.concat(_lose_a, array.concat(_iscsi_nodes, [
		{"op": "add", "path": "/hosts/0/storage/initiator_ports/-", "value": {"type": "iscsi"}},
	])))
	fs := rule.findings with input as inp with data.offhost.options.profile as "veeam-2026-02"
	_statuses(fs) == {[_a, "fail", "medium"], [_b, "pass", "high"]}
}

# ---- a proxy that serves no cluster: one proxy-level finding ------------------------------

_proxy_level(fs) := {[f.subject.kind, f.subject.name, f.status] | some f in fs}

_host_only_assignment := {"op": "add", "path": "/assignments", "value": [{
	"proxy": "proxy01.corp.example",
	"sources": [{"kind": "host", "name": "HV01"}],
}]}

test_not_applicable_when_assignment_names_no_cluster if {
	fs := rule.findings with input as json.patch(_base, [_host_only_assignment])
	_proxy_level(fs) == {["proxy", "PROXY01", "not_applicable"]}
	some f in fs
	f.subject == {"kind": "proxy", "name": "PROXY01", "proxy": "PROXY01"}
	f.severity == "high"
	f.missing == []
	contains(f.message, "PROXY01 serves no Hyper-V cluster (its assignment names no cluster), so no CSV")
	contains(f.message, "concerns off-host backup from CSV storage only")
}

# The assignment decides even when the cluster list was not collected.
test_not_applicable_when_assignment_names_no_cluster_and_clusters_absent if {
	inp := json.patch(_base, [_host_only_assignment, {"op": "remove", "path": "/clusters"}])
	fs := rule.findings with input as inp
	_proxy_level(fs) == {["proxy", "PROXY01", "not_applicable"]}
}

test_not_applicable_when_clusters_empty if {
	fs := rule.findings with input as json.patch(_base, [{"op": "replace", "path": "/clusters", "value": []}])
	_proxy_level(fs) == {["proxy", "PROXY01", "not_applicable"]}
	some f in fs
	contains(f.message, "PROXY01 serves no Hyper-V cluster (the facts list no cluster), so no CSV")
}

test_unknown_when_clusters_absent_and_no_assignment if {
	fs := rule.findings with input as json.patch(_base, [{"op": "remove", "path": "/clusters"}])
	_proxy_level(fs) == {["proxy", "PROXY01", "unknown"]}
	some f in fs
	f.missing == ["clusters"]
	contains(f.message, "PROXY01 has no assignment, so it serves every Hyper-V cluster")
}

test_unknown_when_clusters_null_and_no_assignment if {
	fs := rule.findings with input as json.patch(_base, [{"op": "replace", "path": "/clusters", "value": null}])
	_proxy_level(fs) == {["proxy", "PROXY01", "unknown"]}
}

# Only the proxy that serves no cluster gets the proxy-level finding; a proxy serving the
# cluster keeps its per-cluster / per-CSV findings and gets no proxy-level one.
test_proxy_level_finding_only_for_proxy_without_cluster if {
	inp := json.patch(_base, [
		{"op": "add", "path": "/hosts/-", "value": {"name": "PROXY02", "roles": ["proxy"]}},
		{"op": "add", "path": "/assignments", "value": [{"proxy": "PROXY02", "sources": [{"kind": "host", "name": "HV02"}]}]},
	])
	fs := rule.findings with input as inp
	{[f.subject.name, f.status] | some f in fs; f.subject.kind == "proxy"} == {["PROXY02", "not_applicable"]}
	count([f | some f in fs; f.subject.proxy == "PROXY01"]) == count([f | some f in rule.findings with input as _base])
	count([f | some f in fs; f.subject.kind == "proxy"; f.subject.proxy == "PROXY01"]) == 0
}

# A proxy disk whose unique_id was not read may be the LUN that seems lost: unknown, not fail.
test_unknown_when_a_proxy_disk_id_is_null_and_a_lun_seems_lost if {
	fs := rule.findings with input as json.patch(_base, [{"op": "replace", "path": "/hosts/0/storage/disks/0/unique_id", "value": null}])
	_statuses(fs) == {[_a, "unknown", "high"], [_b, "pass", "high"]}
	_by_csv(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].storage.disks[0].unique_id"]
}
