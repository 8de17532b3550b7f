# METADATA
# title: Proxy and SMB server are in the same domain or trusting domains
# description: |
#   For every file server holding a share the proxy needs, the proxy must be in the server's
#   domain, in the same forest, or in a domain the server's domain trusts, so that the server
#   accepts the proxy's computer account. Two-way trusts pass. A one-way trust in the direction
#   authentication needs (the SMB server's domain trusts the proxy's domain) is a medium warning,
#   because Veeam's page words the direction the other way round; a one-way trust only in Veeam's
#   wording, a disabled trust or no trust fails. Subject: proxy x SMB server. unknown when either
#   machine's domain, or the forest / trust facts needed to decide, were not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (same domain or trusted domain for SMB3)
#   - ref: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/5026a939-44ba-47b2-99cf-386a9e674b04
#     description: MS-ADTS trustDirection / trustAttributes of trustedDomain objects
# custom:
#   id: OHP-022
#   severity: high
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

_pairs contains [p, lib.unc_server(k)] if {
	some p, ks in lib.needed_shares
	some k in ks
}

_domain_of(h) := lower(facts.hosts_by_name[h].domain.name) if is_string(facts.hosts_by_name[h].domain.name)

_entries(d) := [x | some x in lib.arr(object.get(input, "domains", null)); lower(x.dns_name) == d]

_forest(d) := lower(_entries(d)[0].forest) if is_string(_entries(d)[0].forest)

_trusts_known(d) if is_array(_entries(d)[0].trusts)

_domain_ref(d) := sprintf("domains[%s]", [d])

# The domains whose trust objects can concern d: d itself and, for forest trusts, its root.
_holders(d) := {d} | {f | f := _forest(d)}

_covers(t, other) if lower(t.partner) == other

_covers(t, other) if {
	_is_forest_trust(t)
	lower(t.partner) == _forest(other)
}

_is_forest_trust(t) if bits.and(lib.int_or_zero(object.get(t, "attributes", 0)), _forest_transitive) != 0

_is_forest_trust(t) if "FOREST_TRANSITIVE" in lib.arr(object.get(t, "attribute_flags", null))

# _tdos(side, owner, other): trust objects held on one side that concern the other domain.
_tdos(side, owner, other) := [{"side": side, "owner": o, "index": i, "trust": t} |
	some o in _holders(owner)
	some i, t in lib.arr(object.get(_entries(o)[0], "trusts", null))
	_covers(t, other)
]

# Seen from the side holding the object: on the server side "outbound" means the server's
# domain trusts the proxy's domain (what authentication needs); on the proxy side "inbound" does.
_auth_dirs := {"server": {"outbound", "bidirectional"}, "proxy": {"inbound", "bidirectional"}}

_veeam_dirs := {"server": {"inbound", "bidirectional"}, "proxy": {"outbound", "bidirectional"}}

_flag_names := [
	[1, "NON_TRANSITIVE"], [2, "UPLEVEL_ONLY"], [4, "QUARANTINED_DOMAIN"], [8, "FOREST_TRANSITIVE"],
	[16, "CROSS_ORGANIZATION"], [32, "WITHIN_FOREST"], [64, "TREAT_AS_EXTERNAL"],
	[128, "USES_RC4_ENCRYPTION"], [512, "CROSS_ORGANIZATION_NO_TGT_DELEGATION"], [1024, "PIM_TRUST"],
	[2048, "CROSS_ORGANIZATION_ENABLE_TGT_DELEGATION"],
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

_selective(t) if "CROSS_ORGANIZATION" in lib.arr(object.get(t, "attribute_flags", null))

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

findings contains f if {
	some pair in _pairs
	p := pair[0]
	s := pair[1]
	missing := [facts.host_path(h, "domain.name") | some h in [p, s]; not _domain_of(h)]
	count(missing) > 0
	f := result.unknown(_rule, result.proxy_server_subject(p, s), missing)
}

findings contains f if {
	some pair in _pairs
	p := pair[0]
	s := pair[1]
	pd := _domain_of(p)
	sd := _domain_of(s)
	f := _judge(p, s, pd, sd, _found(pd, sd))
}

_judge(p, s, pd, sd, _) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s and %s are both in domain %s", [p, s, pd]),
	_evidence(p, s, pd, sd, []),
) if {
	pd == sd
}

_judge(p, s, pd, sd, _) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s (%s) and %s (%s) are in the same forest %s: domains of one forest trust each other both ways", [p, pd, s, sd, _forest(pd)]),
	array.concat(_evidence(p, s, pd, sd, []), _forest_evidence(pd, sd)),
) if {
	pd != sd
	_same_forest(pd, sd)
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

_judge(p, s, pd, sd, found) := result.pass(
	_rule, result.proxy_server_subject(p, s),
	sprintf("%s (%s) and %s (%s) trust each other both ways: %s.%s", [p, pd, s, sd, _trusts_text(found), _selective_note(found)]),
	_evidence(p, s, pd, sd, found),
) if {
	_trust_case(pd, sd)
	_has_dir(found, _auth_dirs)
	_has_dir(found, _veeam_dirs)
}

_judge(p, s, pd, sd, found) := result.fail_as(
	_rule, "one_way", result.proxy_server_subject(p, s),
	sprintf(
		"one-way trust: %s. %s trusts %s, the direction authentication of %s$ at %s needs, so access should work; Veeam's page words it the other way round (%s trusted by %s) and that direction does not exist. A two-way trust satisfies both readings.%s",
		[_trusts_text(found), sd, pd, p, s, sd, pd, _selective_note(found)],
	),
	_evidence(p, s, pd, sd, found),
) if {
	_trust_case(pd, sd)
	_has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
}

_judge(p, s, pd, sd, found) := result.fail(
	_rule, result.proxy_server_subject(p, s),
	sprintf(
		"one-way trust in the wrong direction for authentication: %s. Only %s trusts %s (the direction Veeam's page words); %s does not trust %s, so %s cannot authenticate %s$ and share access will fail. Make the trust two-way or add the direction %s trusts %s.",
		[_trusts_text(found), pd, sd, sd, pd, s, p, sd, pd],
	),
	_evidence(p, s, pd, sd, found),
) if {
	_trust_case(pd, sd)
	not _has_dir(found, _auth_dirs)
	_has_dir(found, _veeam_dirs)
}

_judge(p, s, pd, sd, found) := result.fail(
	_rule, result.proxy_server_subject(p, s),
	sprintf("no usable trust between %s (domain %s, forest %s) and %s (domain %s, forest %s): %s; %s cannot authenticate %s$", [
		p, pd, _forest(pd), s, sd, _forest(sd), _none_text(found), s, p,
	]),
	array.concat(_evidence(p, s, pd, sd, found), _forest_evidence(pd, sd)),
) if {
	_trust_case(pd, sd)
	not _has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
	_can_say_none(pd, sd)
}

_none_text(found) := sprintf("trust found but disabled: %s", [_trusts_text(found)]) if {
	count(found) > 0
} else := "no trust object for the other domain on either side"

_some_trusts_known(pd, _) if _trusts_known(pd)

_some_trusts_known(_, sd) if _trusts_known(sd)

# Not enough facts: no trust direction found, and the forests or the trust objects are unknown.
_judge(p, s, pd, sd, found) := result.unknown(_rule, result.proxy_server_subject(p, s), _missing(pd, sd)) if {
	_trust_case(pd, sd)
	not _has_dir(found, _auth_dirs)
	not _has_dir(found, _veeam_dirs)
	not _can_say_none(pd, sd)
}

_missing(pd, sd) := [path |
	some d in [pd, sd]
	some path in _missing_of(d)
]

_missing_of(d) := [_domain_ref(d)] if {
	count(_entries(d)) == 0
} else := [sprintf("%s.%s", [_domain_ref(d), field]) |
	some field in ["forest", "trusts"]
	object.get(_entries(d)[0], field, null) == null
]
