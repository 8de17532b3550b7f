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

# HV01 is the inventory name; the machine calls itself HYPERV-A (hyperv-a.corp.example).
_hosts := {"schema_version": 1, "hosts": [
	{"name": "HV01", "fqdn": "hv01.corp.example", "computer_name": "HYPERV-A", "dns_host_name": "hyperv-a.corp.example", "roles": ["hyperv_host"]},
	{"name": "PX1", "fqdn": null, "roles": ["proxy"]},
	{"name": "TWIN1", "computer_name": "TWIN", "roles": ["hyperv_host"]},
	{"name": "TWIN2", "computer_name": "TWIN", "roles": ["hyperv_host"]},
]}

test_host_key_matches_every_name_of_a_host if {
	every n in ["HV01", "hv01.corp.example", "HYPERV-A", "hyperv-a.corp.example", "hyperv-a"] {
		facts.host_key(n) == "HV01" with input as _hosts
	}
}

test_host_key_of_an_unknown_or_ambiguous_name_is_the_name_itself if {
	facts.host_key("other.corp.example") == "OTHER" with input as _hosts
	facts.host_key("twin") == "TWIN" with input as _hosts # two hosts call themselves TWIN
	facts.host_key("px1.corp.example") == "PX1" with input as _hosts # a failed collection: the inventory name
}

test_cluster_nodes_listed_by_the_computers_own_names if {
	inp := object.union(_hosts, {"clusters": [{"name": "HVCL", "nodes": ["hyperv-a.corp.example"]}]})
	facts.served_hosts.PX1 == {"HV01", "TWIN1", "TWIN2"} with input as inp
	facts._cluster_nodes.HVCL == {"HV01"} with input as inp
}

test_norm_keeps_the_first_label_of_a_name_and_an_address_whole if {
	facts.norm(" hv01.corp.example ") == "HV01"
	facts.norm("proxy01") == "PROXY01"
	facts.norm("10.0.0.5") == "10.0.0.5"
	facts.norm("fe80::1") == "FE80::1"
	facts.norm("::ffff:10.0.0.5") == "::FFFF:10.0.0.5"
}

test_a_proxy_assigned_by_its_address_is_one_proxy if {
	hosts := [{"name": "10.0.0.5", "roles": ["proxy"]}, {"name": "10.0.0.6", "roles": ["proxy"]}]
	assignments := [{"proxy": "10.0.0.5", "sources": [{"kind": "host", "name": "HV01"}]}]
	facts.proxies == {"10.0.0.5", "10.0.0.6"} with input as {"hosts": hosts, "assignments": assignments}
	facts.assigned_proxies == {"10.0.0.5"} with input as {"hosts": hosts, "assignments": assignments}
}
