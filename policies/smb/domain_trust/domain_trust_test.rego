package offhost.smb.domain_trust_test

import rego.v1

import data.offhost.smb.domain_trust as rule
import data.offhost.smb.lib_test.estate
import data.offhost.smb.lib_test.no_share_case_holds
import data.offhost.smb.lib_test.no_share_cases
import data.offhost.smb.lib_test.patched

_subject := "PROXY01 -> FS01"

_only(fs) := f if {
	count(fs) == 1
	some f in fs
	f.subject.name == _subject
	f.subject.kind == "proxy_server"
}

# trusts(proxy_side, server_side): replace the trust objects of corp.example (proxy) and
# res.example (file server).
_trusts(proxy_side, server_side) := patched([
	{"op": "replace", "path": "/domains/0/trusts", "value": proxy_side},
	{"op": "replace", "path": "/domains/1/trusts", "value": server_side},
])

_tdo(partner, direction) := {"partner": partner, "direction": direction, "type": "uplevel", "attributes": 4, "attribute_flags": null}

test_two_way_forest_trust_passes if {
	f := _only(rule.findings) with input as estate
	f.status == "pass"
	contains(f.message, "trust each other both ways")
	contains(f.message, "direction bidirectional, type uplevel, attributes 8 (FOREST_TRANSITIVE)")
	{"path": "domains[corp.example].trusts[0]", "value": estate.domains[0].trusts[0]} in f.evidence
}

test_same_domain_passes if {
	f := _only(rule.findings) with input as patched([
		{"op": "replace", "path": "/hosts/3/domain/name", "value": "CORP.example"},
		{"op": "replace", "path": "/domains", "value": null},
	])
	f.status == "pass"
	contains(f.message, "both in domain corp.example")
}

test_same_forest_passes_without_trust_objects if {
	f := _only(rule.findings) with input as patched([
		{"op": "replace", "path": "/domains/1/forest", "value": "corp.example"},
		{"op": "replace", "path": "/domains/0/trusts", "value": []},
		{"op": "replace", "path": "/domains/1/trusts", "value": []},
	])
	f.status == "pass"
	contains(f.message, "same forest corp.example")
}

test_one_way_in_the_direction_authentication_needs if {
	# res.example (server) trusts corp.example (proxy): outbound on the server side, inbound on
	# the proxy side.
	f := _only(rule.findings) with input as _trusts([_tdo("res.example", "inbound")], [_tdo("corp.example", "outbound")])
	f.status == "fail"
	f.severity == "medium"
	contains(f.message, "one-way trust")
	contains(f.message, "res.example trusts corp.example, the direction authentication of PROXY01$ at FS01 needs")
	contains(f.message, "Veeam's page words it the other way round")
	contains(f.message, "attributes 4 (QUARANTINED_DOMAIN)")
}

test_one_way_seen_from_the_server_side_only if {
	f := _only(rule.findings) with input as _trusts([], [_tdo("CORP.EXAMPLE", "outbound")])
	f.status == "fail"
	f.severity == "medium"
	count(f.evidence) == 3
}

test_one_way_in_veeam_wording_only_fails_high if {
	f := _only(rule.findings) with input as _trusts([_tdo("res.example", "outbound")], [_tdo("corp.example", "inbound")])
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "wrong direction for authentication")
	contains(f.message, "FS01 cannot authenticate PROXY01$")
}

test_one_way_severity_same_in_both_profiles if {
	facts := _trusts([_tdo("res.example", "inbound")], [])
	f := _only(rule.findings) with input as facts with data.offhost.options.profile as "veeam-2026-02"
	f.severity == "medium"
}

test_no_trust_fails if {
	f := _only(rule.findings) with input as _trusts([], [])
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "no trust object for the other domain on either side")
	contains(f.message, "forest corp.example")
}

test_disabled_trust_fails if {
	f := _only(rule.findings) with input as _trusts([_tdo("res.example", "disabled")], null)
	f.status == "fail"
	contains(f.message, "trust found but disabled")
}

test_forest_trust_held_by_the_forest_root if {
	child := {"dns_name": "child.corp.example", "forest": "corp.example", "trusts": [
		{"partner": "corp.example", "direction": "bidirectional", "attributes": 32},
	]}
	f := _only(rule.findings) with input as patched([
		{"op": "replace", "path": "/hosts/0/domain/name", "value": "child.corp.example"},
		{"op": "add", "path": "/domains/-", "value": child},
	])
	f.status == "pass"
	contains(f.message, "corp.example's trust with res.example")
}

test_selective_authentication_is_named if {
	tdo := {"partner": "res.example", "direction": "bidirectional", "type": "uplevel", "attributes": 24}
	f := _only(rule.findings) with input as _trusts([tdo], [])
	f.status == "pass"
	contains(f.message, "FOREST_TRANSITIVE, CROSS_ORGANIZATION")
	contains(f.message, "Selective authentication is on")
}

test_unknown_when_server_domain_missing if {
	f := _only(rule.findings) with input as patched([{"op": "replace", "path": "/hosts/3/domain", "value": null}])
	f.status == "unknown"
	f.missing == ["hosts[FS01].domain.name"]
}

test_unknown_when_file_server_not_in_hosts if {
	f := _only(rule.findings) with input as patched([{"op": "remove", "path": "/hosts/3"}])
	f.missing == ["hosts[FS01].domain.name"]
}

test_unknown_when_domains_not_collected if {
	f := _only(rule.findings) with input as patched([{"op": "replace", "path": "/domains", "value": null}])
	f.status == "unknown"
	f.missing == ["domains[corp.example]", "domains[res.example]"]
}

test_unknown_when_trusts_not_collected if {
	f := _only(rule.findings) with input as _trusts(null, null)
	f.status == "unknown"
	f.missing == ["domains[corp.example].trusts", "domains[res.example].trusts"]
}

test_trust_without_attributes if {
	tdo := {"partner": "res.example", "direction": "bidirectional", "type": null, "attributes": null}
	f := _only(rule.findings) with input as _trusts([tdo], null)
	f.status == "pass"
	contains(f.message, "type null, attributes null (no flags)")
}

# --- A proxy that needs no SMB share: one finding with the proxy as subject ---------------
# (the cases are shared by the smb rules: policies/smb/lib/smb_estate_test.rego)

test_a_proxy_that_needs_no_share_gets_one_proxy_level_finding if {
	every c in no_share_cases {
		fs := rule.findings with input as c.input
		no_share_case_holds(c, fs, "OHP-022", "high")
	}
}

# One side collected: the server's domain is not in the domains list (its DC is not in the
# inventory); corp.example (the proxy's, a forest root) was collected with its trust list.
_server_elsewhere(domain) := patched([
	{"op": "replace", "path": "/hosts/3/domain", "value": {"name": domain, "netbios": null, "part_of_domain": true, "source": "ntlm"}},
	{"op": "remove", "path": "/domains/1"},
])

test_fails_when_the_collected_side_does_not_trust_the_other if {
	f := _only(rule.findings) with input as _server_elsewhere("other.example")
	f.status == "fail"
	contains(f.message, "corp.example's trust list (collected) has no trust reaching other.example")
	contains(f.message, "other.example's own domain facts were not collected")
	"domains[corp.example].trusts" in {e.path | some e in f.evidence}
}

test_one_side_is_not_enough_inside_a_trusted_namespace if {
	# a child of res.example (which corp.example trusts as a forest) may be in that forest
	f := _only(rule.findings) with input as _server_elsewhere("child.res.example")
	f.status == "unknown"
}

test_one_side_is_not_enough_inside_its_own_forest if {
	f := _only(rule.findings) with input as _server_elsewhere("child.corp.example")
	f.status == "unknown"
}

test_one_side_is_not_enough_without_its_trust_list if {
	f := _only(rule.findings) with input as json.patch(_server_elsewhere("other.example"), [
		{"op": "replace", "path": "/domains/0/trusts", "value": null},
	])
	f.status == "unknown"
	f.missing == ["domains[corp.example].trusts", "domains[other.example]"]
}

test_standalone_file_server_fails if {
	f := _only(rule.findings) with input as patched([
		{"op": "replace", "path": "/hosts/3/domain", "value": {"name": "fs01", "netbios": null, "part_of_domain": false, "source": "ntlm"}},
	])
	f.status == "fail"
	contains(f.message, "FS01 is not in a domain")
	{e.path | some e in f.evidence} == {"hosts[FS01].domain"}
}
