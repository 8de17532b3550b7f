package offhost.lib.facts_test

import rego.v1

import data.offhost.lib.facts

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
