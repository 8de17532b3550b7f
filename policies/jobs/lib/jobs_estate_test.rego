# Shared test data for the job rules (stage 2): the input findings/jobs.py builds. Indexes used by
# the rule tests: vbr.proxies 0 PROXY01, 1 PROXY02; vbr.jobs 0 Nightly (automatic selection,
# fail-over on: cluster HVCL01 and VM VM03 on HV03), 1 Pinned (lists proxy02 by FQDN, fail-over
# off: host HV03); vbr.hyperv_hosts 0 HV01, 1 HV02, 2 HV03; pairs 0 PROXY01 -> HVCL01,
# 1 PROXY01 -> HV03, 2 PROXY02 -> HV03, 3 PROXY02 -> HVCL01 (not ready: OHP-010).
package offhost.jobs.lib_test

import rego.v1

_ok := {"disabled": false, "online": true, "out_of_date": false}

_pair(proxy, kind, source, state, blocking, unknown) := {
	"proxy": proxy, "kind": kind, "source": source, "state": state,
	"blocking": blocking, "unknown": unknown, "warnings": [],
}

estate := {
	"vbr": {
		"proxies": [
			object.union(_ok, {"name": "PROXY01", "max_tasks": 4, "source": "rest"}),
			object.union(_ok, {"name": "proxy02.corp.example", "source": "rest"}),
		],
		"jobs": [
			{
				"name": "Nightly", "enabled": true, "mode": "off_host", "proxies": {"automatic": true},
				"failover_to_on_host": true,
				"sources": [{"kind": "cluster", "name": "HVCL01"}, {"kind": "vm", "name": "VM03", "host": "hv03.corp.example"}],
			},
			{
				"name": "Pinned", "enabled": true, "mode": "off_host",
				"proxies": {"automatic": false, "names": ["proxy02.corp.example"]},
				"failover_to_on_host": false, "sources": [{"kind": "host", "name": "HV03"}],
			},
		],
		"hyperv_hosts": [
			{"name": "HV01", "vss_provider": "hardware", "failover_to_software": false},
			{"name": "HV02", "vss_provider": "hardware", "failover_to_software": false},
			{"name": "hv03.corp.example", "vss_provider": "hardware", "failover_to_software": false},
		],
	},
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "PROXY02", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "HVCL01"}},
		{"name": "HV02", "roles": ["hyperv_host"]},
		{"name": "HV03", "roles": ["hyperv_host"], "fqdn": "hv03.corp.example", "cluster": {"member": false}},
	],
	"clusters": [{"name": "HVCL01", "nodes": ["HV01", "hv02.corp.example"], "s2d_enabled": false}],
	"pairs": [
		_pair("PROXY01", "cluster", "HVCL01", "ready", [], []),
		_pair("PROXY01", "host", "HV03", "ready", [], []),
		_pair("PROXY02", "host", "HV03", "ready_with_warnings", [], []),
		_pair("PROXY02", "cluster", "HVCL01", "not_ready", ["OHP-010"], []),
	],
}

# patched(ops): the estate with JSON-patch operations applied.
patched(ops) := json.patch(estate, ops)

statuses(fs) := {[f.subject.name, f.status] | some f in fs}

by_name(fs) := {f.subject.name: f | some f in fs}

test_a_vm_on_a_cluster_node_stands_for_its_cluster if {
	cols := data.offhost.jobs.lib.columns({"kind": "vm", "name": "VM01", "host": "hv01.corp.example"}) with input as estate
	cols == [["host", "HV01"], ["cluster", "HVCL01"]]
}

test_a_vm_whose_host_names_a_cluster_stands_for_the_cluster if {
	cols := data.offhost.jobs.lib.columns({"kind": "vm", "name": "VM01", "host": "hvcl01"}) with input as estate
	cols == [["cluster", "HVCL01"]]
}

test_a_vm_without_its_host_has_no_column if {
	cols := data.offhost.jobs.lib.columns({"kind": "vm", "name": "VM01"}) with input as estate
	cols == []
}

test_cluster_nodes_come_from_the_node_list_and_the_hosts_own_fact if {
	nodes := data.offhost.jobs.lib.nodes_of.HVCL01 with input as estate
	nodes == {"HV01", "HV02"}
}
