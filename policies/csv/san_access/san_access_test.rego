package offhost.csv.san_access_test

import rego.v1

import data.offhost.csv.san_access as rule
import data.offhost.lib.csvs_test.no_cluster_case_holds
import data.offhost.lib.csvs_test.no_cluster_cases

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
# (the cases are shared by the CSV rules: policies/lib/csvs_test.rego)

test_a_proxy_serving_no_cluster_gets_one_proxy_level_finding if {
	base_fs := rule.findings with input as _base
	every c in no_cluster_cases(_base) {
		fs := rule.findings with input as c.input
		no_cluster_case_holds(c, fs, base_fs, "OHP-011", "high")
	}
}

# A proxy disk whose unique_id was not read may be the LUN that seems lost: unknown, not fail.
test_unknown_when_a_proxy_disk_id_is_null_and_a_lun_seems_lost if {
	fs := rule.findings with input as json.patch(_base, [{"op": "replace", "path": "/hosts/0/storage/disks/0/unique_id", "value": null}])
	_statuses(fs) == {[_a, "unknown", "high"], [_b, "pass", "high"]}
	_by_csv(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].storage.disks[0].unique_id"]
}
