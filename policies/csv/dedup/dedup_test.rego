package offhost.csv.dedup_test

import rego.v1

import data.offhost.csv.dedup as rule
import data.offhost.lib.csvs_test.no_cluster_case_holds
import data.offhost.lib.csvs_test.no_cluster_cases

_host(name, roles, build, dedup) := {"name": name, "roles": roles, "os": {"build": build}, "features": {"dedup": dedup}}

# CSV 1 deduplicated, CSV 2 not. Proxy and nodes on build 20348, dedup installed on the proxy.
_base := {
	"schema_version": 1,
	"hosts": [
		_host("PROXY01", ["proxy"], 20348, true),
		_host("HV01", ["hyperv_host"], 20348, false),
		_host("HV02", ["hyperv_host"], 20348, false),
	],
	"clusters": [{
		"name": "HVCL01",
		"nodes": ["HV01.corp.example", "hv02"],
		"csvs": [
			{"name": "Cluster Disk 1", "dedup_enabled": true},
			{"name": "Cluster Disk 2", "dedup_enabled": false},
		],
	}],
}

_current := "veeam-2026-02"

_a := "PROXY01 -> HVCL01/Cluster Disk 1"

_b := "PROXY01 -> HVCL01/Cluster Disk 2"

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_one(fs, csv) := f if {
	some f in fs
	f.subject.csv == csv
}

_old_node := [{"op": "replace", "path": "/hosts/2/os/build", "value": 17763}]

test_pass_with_feature_and_same_build if {
	fs := rule.findings with input as _base
	_statuses(fs) == {[_a, "pass"], [_b, "not_applicable"]}
	f := _one(fs, "Cluster Disk 1")
	f.severity == "high"
	contains(f.message, "runs build 20348 (Windows Server 2022), the same as every node (HV01 build 20348, HV02 build 20348)")
	contains(f.message, "veeam-2025-08")
}

test_profile_from_facts_null_falls_back_to_default if {
	inp := json.patch(_base, [
		{"op": "add", "path": "/vbr", "value": {"version": null, "profile": null}},
		{"op": "replace", "path": "/hosts/2/os/build", "value": 17763},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail"], [_b, "not_applicable"]}
}

test_fail_without_dedup_feature if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/features/dedup", "value": false}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail"], [_b, "not_applicable"]}
	contains(_one(fs, "Cluster Disk 1").message, "the Data Deduplication feature is not installed on PROXY01")
}

test_fail_without_dedup_feature_under_current_profile if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/features/dedup", "value": false}])
	fs := rule.findings with input as inp with data.offhost.options.profile as _current
	_statuses(fs) == {[_a, "fail"], [_b, "not_applicable"]}
}

test_fail_on_build_mismatch_under_2025_profile if {
	inp := json.patch(_base, _old_node)
	fs := rule.findings with input as inp with data.offhost.options.profile as "veeam-2025-08"
	_statuses(fs) == {[_a, "fail"], [_b, "not_applicable"]}
	f := _one(fs, "Cluster Disk 1")
	f.severity == "high"
	contains(f.message, "PROXY01 runs build 20348 (Windows Server 2022) but node HV02 runs build 17763 (Windows Server 2019)")
	some e in f.evidence
	e.path == "hosts[HV02].os.build"
	e.value == 17763
}

test_pass_on_build_mismatch_under_2026_profile if {
	inp := json.patch(_base, _old_node)
	fs := rule.findings with input as inp with data.offhost.options.profile as _current
	_statuses(fs) == {[_a, "pass"], [_b, "not_applicable"]}
	contains(_one(fs, "Cluster Disk 1").message, "profile veeam-2026-02 does not require matching Windows versions")
}

test_fail_lists_both_problems if {
	inp := json.patch(_base, array.concat(_old_node, [
		{"op": "replace", "path": "/hosts/0/features/dedup", "value": false},
		{"op": "replace", "path": "/hosts/1/os/build", "value": 99999},
	]))
	fs := rule.findings with input as inp
	msg := _one(fs, "Cluster Disk 1").message
	contains(msg, "not installed on PROXY01")
	contains(msg, "node HV01 runs build 99999 (unknown release)")
	contains(msg, "node HV02 runs build 17763")
}

# A known mismatch fails even though another node's build is missing.
test_fail_wins_over_missing_node_build if {
	inp := json.patch(_base, array.concat(_old_node, [{"op": "remove", "path": "/hosts/1/os"}]))
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "fail"], [_b, "not_applicable"]}
}

test_unknown_when_dedup_state_not_collected if {
	inp := json.patch(_base, [{"op": "remove", "path": "/clusters/0/csvs/0/dedup_enabled"}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown"], [_b, "not_applicable"]}
	_one(fs, "Cluster Disk 1").missing == ["clusters[HVCL01].csvs[Cluster Disk 1].dedup_enabled"]
}

test_unknown_when_proxy_feature_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/features", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown"], [_b, "not_applicable"]}
	_one(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].features.dedup"]
}

test_unknown_when_builds_not_collected_under_2025_profile if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/os/build", "value": null},
		{"op": "remove", "path": "/hosts/2"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown"], [_b, "not_applicable"]}
	_one(fs, "Cluster Disk 1").missing == ["hosts[PROXY01].os.build", "hosts[HV02].os.build"]
}

test_builds_not_needed_under_2026_profile if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/os/build", "value": null},
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
	])
	fs := rule.findings with input as inp with data.offhost.options.profile as _current
	_statuses(fs) == {[_a, "pass"], [_b, "not_applicable"]}
}

test_unknown_when_node_list_not_collected_under_2025_profile if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/nodes", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "unknown"], [_b, "not_applicable"]}
	_one(fs, "Cluster Disk 1").missing == ["clusters[HVCL01].nodes"]
}

test_unknown_once_per_cluster_when_csvs_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01/*", "unknown"]}
}

test_only_assigned_clusters_are_checked if {
	inp := json.patch(_base, [
		{"op": "add", "path": "/clusters/-", "value": {"name": "OTHER", "nodes": [], "csvs": [{"name": "X", "dedup_enabled": true}]}},
		{"op": "add", "path": "/assignments", "value": [{"proxy": "PROXY01", "sources": [{"kind": "cluster", "name": "hvcl01"}]}]},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {[_a, "pass"], [_b, "not_applicable"]}
}

# ---- a proxy that serves no cluster: one proxy-level finding ------------------------------
# (the cases are shared by the CSV rules: policies/lib/csvs_test.rego)

test_a_proxy_serving_no_cluster_gets_one_proxy_level_finding if {
	base_fs := rule.findings with input as _base
	every c in no_cluster_cases(_base) {
		fs := rule.findings with input as c.input
		no_cluster_case_holds(c, fs, base_fs, "OHP-012", "high")
	}
}
