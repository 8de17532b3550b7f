package offhost.lib.facts_test

import rego.v1

import data.offhost.lib.facts

_estate := {
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "hvcl01.corp.example"}},
		{"name": "HV02", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "HVCL01"}},
		{"name": "HV03", "roles": ["hyperv_host"], "cluster": {"member": false, "name": null}},
	],
	"assignments": [{"proxy": "PROXY01", "sources": [{"kind": "cluster", "name": "HVCL01"}]}],
	"clusters": [{"name": "HVCL01", "nodes": ["HV01"]}],
	"vms": [],
}

test_served_hosts_from_the_node_list_when_it_is_known if {
	facts.served_hosts.PROXY01 == {"HV01"} with input as _estate
}

test_served_hosts_from_host_membership_when_the_node_list_is_null if {
	facts.served_hosts.PROXY01 == {"HV01", "HV02"} with input as json.patch(_estate, [{"op": "replace", "path": "/clusters/0/nodes", "value": null}])
	facts.served_hosts.PROXY01 == {"HV01", "HV02"} with input as json.patch(_estate, [{"op": "remove", "path": "/clusters/0/nodes"}])
	facts.served_hosts.PROXY01 == {"HV01", "HV02"} with input as json.patch(_estate, [{"op": "replace", "path": "/clusters", "value": null}])
}

test_served_is_true_or_false if {
	facts.served("HV01") with input as _estate
	not facts.served("HV03") with input as _estate
	facts.served("HV03") == false with input as _estate
}

test_vms_missing_when_vms_null_or_hyperv_collection_failed if {
	count(facts.vms_missing) == 0 with input as _estate
	facts.vms_missing == {"HV01": "vms", "HV02": "vms", "HV03": "vms"} with input as json.patch(_estate, [{"op": "replace", "path": "/vms", "value": null}])
	facts.vms_missing == {"HV02": "vms[host=HV02]", "HV03": "vms[host=HV03]"} with input as json.patch(_estate, [{"op": "add", "path": "/collection", "value": [
		{"target": "HV01", "collector": "winrm.hyperv", "status": "ok"},
		{"target": "hv02.corp.example", "collector": "winrm.hyperv", "status": "error", "error": "HTTP 500"},
		{"target": "HV03", "collector": "winrm.hyperv", "status": "skipped", "error": "connection refused"},
		{"target": "PROXY01", "collector": "winrm.hyperv", "status": "error"},
	]}])
}

test_seq_tolerates_null if {
	facts.seq(null) == []
	facts.seq([1]) == [1]
	facts.seq({"a": 1}) == []
}

test_maybe_served_when_node_list_and_membership_are_both_missing if {
	doc := json.patch(_estate, [
		{"op": "replace", "path": "/clusters/0/nodes", "value": null},
		{"op": "replace", "path": "/hosts/2/cluster", "value": null},
	])
	facts.served_hosts.PROXY01 == {"HV01"} with input as doc
	facts.maybe_served == {"PROXY01": {"HV02": ["clusters[HVCL01].nodes", "hosts[HV02].cluster"]}} with input as doc
	facts.maybe_served_host == {"HV02": ["clusters[HVCL01].nodes", "hosts[HV02].cluster"]} with input as doc
	count(facts.maybe_served_host) == 0 with input as _estate
}
