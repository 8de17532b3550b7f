# METADATA
# title: Proxy and SMB server are in the same domain or trusting domains
# description: |
#   For every file server holding a share the proxy needs, the proxy must be in the server's
#   domain, in the same forest, or in a domain the server's domain trusts, so that the server
#   accepts the proxy's computer account. Two-way trusts pass. A one-way trust in the direction
#   authentication needs (the SMB server's domain trusts the proxy's domain) is a medium warning,
#   because Veeam's page words the direction the other way round; a one-way trust only in Veeam's
#   wording, a disabled trust or no trust fails; so does a machine that is not in a domain
#   (hosts[].domain.part_of_domain false: a standalone file server). "No trust" is decided from
#   one side alone when that side's trust list and forest were collected and the other domain is
#   outside its forest and every namespace it trusts. Subject: proxy x SMB server. unknown when
#   either machine's domain, or the forest / trust facts needed to decide, were not collected. A proxy
#   that needs no SMB share gets one finding with the proxy as subject: not_applicable, or
#   unknown when neither the VMs nor the shares were collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (same domain or trusted domain for SMB3)
#   - ref: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/5026a939-44ba-47b2-99cf-386a9e674b04
#     description: MS-ADTS trustDirection / trustAttributes of trustedDomain objects
# custom:
#   id: OHP-022
#   remediation: |
#     Join the proxy to the file server's domain, or create a trust in which the file server's
#     domain trusts the proxy's domain (two-way is simplest): on a DC, Active Directory Domains
#     and Trusts > domain Properties > Trusts > New Trust, or `netdom trust`. Check both sides
#     with `Get-ADTrust -Filter *`. With selective authentication, also grant the proxy's computer
#     account "Allowed to authenticate" on the file server's computer object.
package offhost.smb.domain_trust

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result
import data.offhost.smb.lib

_rule := "OHP-022"

_forest_transitive := 8

_selective_auth := 16

# Rules of the libs are referenced by full path: through an import alias (lib.needed_shares)
# regorus would evaluate every rule of that package (see policies/smb/lib/smb_lib.rego).
_pairs contains [p, lib.unc_server(k)] if {
	some p, ks in data.offhost.smb.lib.needed_shares
	some k in ks
}

_domain_of(h) := lower(name) if {
	name := data.offhost.lib.facts.hosts_by_name[h].domain.name
	is_string(name)
}

_domains := facts.seq(object.get(input, "domains", null))

# _domain_by_name[d]: the first entry of domains (in document order) whose DNS name is d.
_domain_indexes[d] contains i if {
	some i, x in _domains
	d := lower(x.dns_name)
}

_domain_by_name := {d: _domains[min(idx)] | some d, idx in _domain_indexes}

_forest(d) := lower(forest) if {
	forest := _domain_by_name[d].forest
	is_string(forest)
}

_trusts_known(d) if is_array(_domain_by_name[d].trusts)

_domain_ref(d) := sprintf("domains[%s]", [d])

# The domains whose trust objects can concern d: d itself and, for forest trusts, its root.
_holders(d) := {d} | {f | f := _forest(d)}

_covers(t, other) if lower(t.partner) == other

_covers(t, other) if {
	_is_forest_trust(t)
	lower(t.partner) == _forest(other)
}

_is_forest_trust(t) if bits.and(lib.int_or_zero(object.get(t, "attributes", 0)), _forest_transitive) != 0

_is_forest_trust(t) if "FOREST_TRANSITIVE" in facts.seq(object.get(t, "attribute_flags", null))

# _tdos(side, owner, other): trust objects held on one side that concern the other domain.
_tdos(side, owner, other) := [{"side": side, "owner": o, "index": i, "trust": t} |
	some o in _holders(owner)
	some i, t in facts.seq(object.get(_domain_by_name[o], "trusts", null))
	_covers(t, other)
]

# Seen from the side holding the object: on the server side "outbound" means the server's
# domain trusts the proxy's domain (what authentication needs); on the proxy side "inbound" does.
_auth_dirs := {"server": {"outbound", "bidirectional"}, "proxy": {"inbound", "bidirectional"}}

_veeam_dirs := {"server": {"inbound", "bidirectional"}, "proxy": {"outbound", "bidirectional"}}

# trustAttributes bits by name: the same table as TRUST_ATTRIBUTES in offhost_audit/winsec.py
# (tests/engine/test_shared_tables.py compares them).
_flag_names := [
	[1, "NON_TRANSITIVE"], [2, "UPLEVEL_ONLY"], [4, "QUARANTINED_DOMAIN"], [8, "FOREST_TRANSITIVE"],
	[16, "CROSS_ORGANIZATION"], [32, "WITHIN_FOREST"], [64, "TREAT_AS_EXTERNAL"],
	[128, "USES_RC4_ENCRYPTION"], [512, "CROSS_ORGANIZATION_NO_TGT_DELEGATION"], [1024, "PIM_TRUST"],
	[2048, "CROSS_ORGANIZATION_ENABLE_TGT_DELEGATION"], [4096, "DISABLE_AUTH_TARGET_VALIDATION"],
]

_flags(t) := t.attribute_flags if {
	is_array(object.get(t, "attribute_flags", null))
} else := [n[1] | some n in _flag_names; bits.and(lib.int_or_zero(object.get(t, "attributes", 0)), n[0]) != 0]

_trust_text(x) := sprintf("%s's trust with %s: direction %s, type %v, attributes %v (%s)", [
	x.owner, x.trust.partner, x.trust.direction, object.get(x.trust, "type", null),
	object.get(x.trust, "attributes", null), _flags_text(_flags(x.trust)),
])

_flags_text(fl) := concat(", ", fl) if count(fl) > 0 else := "no flags"

_trusts_text(found) := concat("; ", [_trust_text(x) | some x in found])

_selective_note(found) := " Selective authentication is on: the proxy's computer account also needs \"Allowed to authenticate\" on the file server." if {
	some x in found
	_selective(x.trust)
} else := ""

_selective(t) if bits.and(lib.int_or_zero(object.get(t, "attributes", 0)), _selective_auth) != 0

_selective(t) if "CROSS_ORGANIZATION" in facts.seq(object.get(t, "attribute_flags", null))

_found(pd, sd) := array.concat(_tdos("proxy", pd, sd), _tdos("server", sd, pd))

_has_dir(found, dirs) if {
	some x in found
	x.trust.direction in dirs[x.side]
}

_evidence(p, s, pd, sd, found) := array.concat(
	[
		{"path": facts.host_path(p, "domain.name"), "value": pd},
		{"path": facts.host_path(s, "domain.name"), "value": sd},
	],
	[{"path": sprintf("%s.trusts[%d]", [_domain_ref(x.owner), x.index]), "value": x.trust} | some x in found],
)

_forest_evidence(pd, sd) := [{"path": sprintf("%s.forest", [_domain_ref(d)]), "value": _forest(d)} | some d in [pd, sd]]

# One finding per pair. The verdict depends only on the two domains, so it is decided once per
# pair of domains (_verdicts) and each pair only builds its message.
findings contains f if {
	some pair in _pairs
	p := pair[0]
	s := pair[1]
	f := _pair_finding(p, s)
}

# A machine that is not in a domain (a standalone or workgroup server, part_of_domain false)
# cannot authenticate a domain computer account: fail whatever the other side says.
_pair_finding(p, s) := _standalone_finding(p, s, _standalone) if {
	_standalone := [h | some h in [p, s]; object.get(data.offhost.lib.facts.hosts_by_name, [h, "domain", "part_of_domain"], null) == false]
	count(_standalone) > 0
} else := _finding(p, s, _domain_or_null(p), _domain_or_null(s))

_standalone_finding(p, s, standalone) := result.fail(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s is not in a domain (standalone or workgroup computer, %s): %s cannot authenticate %s$ with a domain computer account", [
		concat(" and ", standalone),
		concat(", ", [sprintf("%s reports %v", [h, object.get(data.offhost.lib.facts.hosts_by_name, [h, "domain", "name"], null)]) | some h in standalone]),
		s, p,
	]),
	[{"path": facts.host_path(h, "domain"), "value": data.offhost.lib.facts.hosts_by_name[h].domain} | some h in standalone],
)

# A proxy that needs no SMB share: one proxy-level finding (policies/smb/lib).
findings contains f if some f in lib.no_share_findings(_rule)

_domain_or_null(h) := d if {
	d := _domain_of(h)
} else := null

_finding(p, s, pd, sd) := result.unknown(_rule, result.proxy_server_subject(p, s), missing) if {
	missing := [facts.host_path(x[0], "domain.name") | some x in [[p, pd], [s, sd]]; x[1] == null]
	count(missing) > 0
}

_finding(p, s, pd, sd) := _judge(p, s, pd, sd, _verdicts[pd][sd]) if {
	pd != null
	sd != null
}

# _domain_pairs[proxy domain]: the server domains it is paired with.
_domain_pairs[pd] contains sd if {
	some pair in _pairs
	pd := _domain_of(pair[0])
	sd := _domain_of(pair[1])
}

_verdicts := {pd: {sd: _verdict(pd, sd) | some sd in sds} | some pd, sds in _domain_pairs}

# _verdict(pd, sd): {"case", "found"}: which message applies, and the trust objects found.
_verdict(pd, sd) := {"case": "same_domain", "found": []} if pd == sd

_verdict(pd, sd) := {"case": "same_forest", "found": []} if {
	pd != sd
	_same_forest(pd, sd)
}

_verdict(pd, sd) := {"case": _trust_verdict(pd, sd, found), "found": found} if {
	_trust_case(pd, sd)
	found := _found(pd, sd)
}

_trust_verdict(_, _, found) := "two_way" if {
	_has_dir(found, _auth_dirs)
	_has_dir(found, _veeam_dirs)
}

_trust_verdict(_, _, found) := "one_way" if {
	_has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
}

_trust_verdict(_, _, found) := "wrong_way" if {
	not _has_dir(found, _auth_dirs)
	_has_dir(found, _veeam_dirs)
}

_trust_verdict(pd, sd, found) := "none" if {
	not _has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
	_can_say_none(pd, sd)
}

# Not enough facts: no trust direction found, and the forests or the trust objects are unknown.
_trust_verdict(pd, sd, found) := "unknown" if {
	not _has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
	not _can_say_none(pd, sd)
}

_same_forest(pd, sd) if _forest(pd) == _forest(sd)

# Different domains, not known to share a forest: the trust objects decide.
_trust_case(pd, sd) if {
	pd != sd
	not _same_forest(pd, sd)
}

# "No trust" can only be said when both forests are known to differ and the trust objects of
# at least one side were collected.
_can_say_none(pd, sd) if {
	_forest(pd) != _forest(sd)
	_some_trusts_known(pd, sd)
}

# Or one side alone decides: its trust list and forest were collected (and its forest root's
# trust list, when it is not the root), and the other domain is in none of the namespaces those
# trusts reach: not in the known side's forest, nor under any domain or forest it trusts. (The
# other domain's own facts are not needed; a second DNS tree of a trusted forest would be missed.)
_can_say_none(pd, sd) if _outside(pd, sd)

_can_say_none(pd, sd) if _outside(sd, pd)

_outside(d, other) if {
	_trusts_known(d)
	root := _forest(d)
	_root_trusts_known(d, root)
	not _in_namespace(other, root)
	not _under_a_partner(d, root, other)
}

_root_trusts_known(d, root) if d == root

_root_trusts_known(d, root) if {
	d != root
	_trusts_known(root)
}

_in_namespace(x, ns) if x == ns

_in_namespace(x, ns) if endswith(x, concat("", [".", ns]))

_under_a_partner(d, root, other) if {
	some o in {d, root}
	some t in facts.seq(object.get(_domain_by_name[o], "trusts", null))
	_in_namespace(other, lower(t.partner))
}

_some_trusts_known(pd, _) if _trusts_known(pd)

_some_trusts_known(_, sd) if _trusts_known(sd)

_judge(p, s, pd, sd, v) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s and %s are both in domain %s", [p, s, pd]),
	_evidence(p, s, pd, sd, []),
) if {
	v.case == "same_domain"
}

_judge(p, s, pd, sd, v) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s (%s) and %s (%s) are in the same forest %s: domains of one forest trust each other both ways", [p, pd, s, sd, _forest(pd)]),
	array.concat(_evidence(p, s, pd, sd, []), _forest_evidence(pd, sd)),
) if {
	v.case == "same_forest"
}

_judge(p, s, pd, sd, v) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s (%s) and %s (%s) trust each other both ways: %s.%s", [p, pd, s, sd, _trusts_text(v.found), _selective_note(v.found)]),
	_evidence(p, s, pd, sd, v.found),
) if {
	v.case == "two_way"
}

_judge(p, s, pd, sd, v) := result.fail_as(
	_rule, "one_way", result.proxy_server_subject(p, s),
	sprintf(
		"one-way trust: %s. %s trusts %s, the direction authentication of %s$ at %s needs, so access should work; Veeam's page words it the other way round (%s trusted by %s) and that direction does not exist. A two-way trust satisfies both readings.%s",
		[_trusts_text(v.found), sd, pd, p, s, sd, pd, _selective_note(v.found)],
	),
	_evidence(p, s, pd, sd, v.found),
) if {
	v.case == "one_way"
}

_judge(p, s, pd, sd, v) := result.fail(
	_rule, result.proxy_server_subject(p, s),
	sprintf(
		"one-way trust in the wrong direction for authentication: %s. Only %s trusts %s (the direction Veeam's page words); %s does not trust %s, so %s cannot authenticate %s$ and share access will fail. Make the trust two-way or add the direction %s trusts %s.",
		[_trusts_text(v.found), pd, sd, sd, pd, s, p, sd, pd],
	),
	_evidence(p, s, pd, sd, v.found),
) if {
	v.case == "wrong_way"
}

_judge(p, s, pd, sd, v) := result.fail(
	_rule, result.proxy_server_subject(p, s),
	sprintf("no usable trust between %s (domain %s, forest %s) and %s (domain %s, forest %s): %s; %s cannot authenticate %s$", [
		p, pd, _forest_text(pd), s, sd, _forest_text(sd), _none_text(pd, sd, v.found), s, p,
	]),
	array.concat(array.concat(_evidence(p, s, pd, sd, v.found), _forest_evidence(pd, sd)), _trust_list_evidence(pd, sd)),
) if {
	v.case == "none"
}

# The collected trust lists that show the other domain is not trusted.
_trust_list_evidence(pd, sd) := [{"path": sprintf("%s.trusts", [_domain_ref(d)]), "value": _domain_by_name[d].trusts} |
	some d in [pd, sd]
	_trusts_known(d)
]

_none_text(pd, sd, found) := sprintf("trust found but disabled: %s", [_trusts_text(found)]) if {
	count(found) > 0
} else := "no trust object for the other domain on either side" if {
	_forest(pd) != _forest(sd)
} else := sprintf("%s's trust list (collected) has no trust reaching %s, and %s is outside its forest%s", [known, other, other, _known_text(known, other)]) if {
	some pair in [[pd, sd], [sd, pd]]
	known := pair[0]
	other := pair[1]
	_outside(known, other)
} else := "no trust object for the other domain"

_known_text(known, other) := sprintf(" %s; %s's own domain facts were not collected", [_forest(known), other]) if {
	not _domain_by_name[other]
} else := sprintf(" %s", [_forest(known)])

_forest_text(d) := _forest(d) if _forest(d) else := "not collected"

_judge(p, s, pd, sd, v) := result.unknown(_rule, result.proxy_server_subject(p, s), _missing(pd, sd)) if {
	v.case == "unknown"
}

_missing(pd, sd) := [path |
	some d in [pd, sd]
	some path in _missing_of(d)
]

_missing_of(d) := [_domain_ref(d)] if {
	not _domain_by_name[d]
} else := [sprintf("%s.%s", [_domain_ref(d), field]) |
	some field in ["forest", "trusts"]
	object.get(_domain_by_name[d], field, null) == null
]
