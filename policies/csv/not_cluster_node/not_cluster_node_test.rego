package offhost.csv.not_cluster_node_test

import rego.v1

import data.offhost.csv.not_cluster_node as rule
import data.offhost.lib.csvs_test.no_cluster_case_holds
import data.offhost.lib.csvs_test.no_cluster_cases

# One proxy outside a two-node cluster with one CSV. Node names are mixed FQDN / NetBIOS on
# purpose; no assignments, so the proxy serves every cluster in the document.
_base := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "cluster": {"member": false, "name": null}},
		{"name": "HV01", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "HVCL01"}},
		{"name": "HV02", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "HVCL01"}},
	],
	"clusters": [{
		"name": "hvcl01.corp.example",
		"nodes": ["hv01.corp.example", "HV02"],
		"csvs": [{"name": "Cluster Disk 1", "disk_unique_ids": ["60002AC0000000000000000A00021F6B"]}],
	}],
}

_patch(ops) := json.patch(_base, ops)

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_only(fs) := f if {
	count(fs) == 1
	some f in fs
}

test_pass_when_proxy_is_outside_the_cluster if {
	fs := rule.findings with input as _base
	_statuses(fs) == {["PROXY01 -> HVCL01", "pass"]}
	f := _only(fs)
	f.severity == "critical"
	f.subject.kind == "proxy_cluster"
	contains(f.message, "is not a node of Hyper-V cluster HVCL01")
	contains(f.message, "hv01.corp.example, HV02")
	some e in f.evidence
	e.path == "clusters[HVCL01].nodes"
}

# Node listed by FQDN in lower case, proxy named in NetBIOS upper case: still the same machine.
test_fail_when_proxy_listed_as_node_by_fqdn if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/name", "value": "HV01"},
		{"op": "replace", "path": "/hosts/0/roles", "value": ["proxy", "hyperv_host"]},
		{"op": "replace", "path": "/hosts/0/cluster", "value": null},
		{"op": "remove", "path": "/hosts/1"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01 -> HVCL01", "fail"]}
	f := _only(fs)
	f.severity == "critical"
	contains(f.message, "HV01 is a node of Hyper-V cluster HVCL01")
	contains(f.message, "fails during VM data processing")
	contains(f.message, "Cluster Disk 1")
}

test_fail_when_proxy_own_fact_says_member_with_other_case if {
	inp := _patch([{"op": "replace", "path": "/hosts/0/cluster", "value": {"member": true, "name": "HvCl01.Corp.Example"}}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "fail"]}
	contains(_only(fs).message, "member of cluster HvCl01.Corp.Example")
}

test_fail_from_own_fact_when_node_list_unknown if {
	inp := _patch([
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
		{"op": "replace", "path": "/hosts/0/cluster", "value": {"member": true, "name": "HVCL01"}},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "fail"]}
	contains(_only(fs).message, "cluster nodes: not collected")
}

test_pass_from_own_fact_when_node_list_unknown if {
	inp := _patch([{"op": "replace", "path": "/clusters/0/nodes", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "pass"]}
	contains(_only(fs).message, "not a member of any cluster")
}

test_pass_when_proxy_is_node_of_another_cluster_and_list_unknown if {
	inp := _patch([
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
		{"op": "replace", "path": "/hosts/0/cluster", "value": {"member": true, "name": "FILECL"}},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "pass"]}
}

test_pass_when_node_list_known_and_own_fact_missing if {
	inp := _patch([{"op": "remove", "path": "/hosts/0/cluster"}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "pass"]}
	contains(_only(fs).message, "own cluster fact: not collected")
}

test_unknown_when_node_list_and_membership_missing if {
	inp := _patch([
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
		{"op": "remove", "path": "/hosts/0/cluster"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "unknown"]}
	_only(fs).missing == ["clusters[HVCL01].nodes", "hosts[PROXY01].cluster"]
}

test_unknown_when_member_of_unnamed_cluster_and_list_unknown if {
	inp := _patch([
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
		{"op": "replace", "path": "/hosts/0/cluster", "value": {"member": true, "name": null}},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "unknown"]}
	_only(fs).missing == ["clusters[HVCL01].nodes", "hosts[PROXY01].cluster.name"]
}

test_unknown_when_csvs_not_collected if {
	inp := _patch([{"op": "replace", "path": "/clusters/0/csvs", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "unknown"]}
	_only(fs).missing == ["clusters[HVCL01].csvs"]
}

test_not_applicable_without_csvs if {
	inp := _patch([
		{"op": "replace", "path": "/clusters/0/csvs", "value": []},
		{"op": "add", "path": "/clusters/0/nodes/-", "value": "PROXY01"},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "not_applicable"]}
	contains(_only(fs).message, "no Cluster Shared Volumes")
}

# An assigned cluster that is absent from the facts: unknown, never a pass.
test_unknown_when_assigned_cluster_not_collected if {
	inp := _patch([{"op": "add", "path": "/assignments", "value": [{
		"proxy": "proxy01.corp.example",
		"sources": [{"kind": "cluster", "name": "HVCL01"}, {"kind": "cluster", "name": "HVCL02"}],
	}]}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["PROXY01 -> HVCL01", "pass"], ["PROXY01 -> HVCL02", "unknown"]}
}

# One finding per (proxy, cluster): two proxies, two clusters, mixed verdicts.
test_one_finding_per_subject if {
	inp := _patch([
		{"op": "add", "path": "/hosts/-", "value": {"name": "proxy02", "roles": ["proxy"], "cluster": {"member": true, "name": "HVCL02"}}},
		{"op": "add", "path": "/clusters/-", "value": {"name": "HVCL02", "nodes": ["PROXY02.corp.example"], "csvs": [{"name": "CSV2"}]}},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {
		["PROXY01 -> HVCL01", "pass"], ["PROXY01 -> HVCL02", "pass"],
		["PROXY02 -> HVCL01", "pass"], ["PROXY02 -> HVCL02", "fail"],
	}
	count(fs) == 4
}

# ---- a proxy that serves no cluster: one proxy-level finding ------------------------------
# (the cases are shared by the CSV rules: policies/lib/csvs_test.rego)

test_a_proxy_serving_no_cluster_gets_one_proxy_level_finding if {
	base_fs := rule.findings with input as _base
	every c in no_cluster_cases(_base) {
		fs := rule.findings with input as c.input
		no_cluster_case_holds(c, fs, base_fs, "OHP-010", "critical")
	}
}

test_fail_when_cluster_lists_the_proxy_by_its_own_computer_name if {
	# the inventory calls it PROXY01; the machine (and so the cluster) calls itself HVPX-7
	fs := rule.findings with input as _patch([
		{"op": "add", "path": "/hosts/0/computer_name", "value": "HVPX-7"},
		{"op": "add", "path": "/clusters/0/nodes/-", "value": "hvpx-7.corp.example"},
	])
	_statuses(fs) == {["PROXY01 -> HVCL01", "fail"]}
}
