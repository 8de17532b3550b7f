# METADATA
# title: SMB helpers shared by the smb rules
# description: |
#   Which SMB shares each proxy needs (shares holding disks of VMs on the hosts it serves; every
#   share in the document when the VM inventory was not collected), UNC normalisation, the SID set
#   of a proxy's computer account, and access-mask evaluation of share and NTFS ACLs (generic
#   rights mapped, inherit-only ACEs skipped, deny wins). This package emits no findings; it
#   builds (no_share_finding) the one proxy-level finding each smb rule gives a proxy that needs
#   no share: not_applicable, or unknown when neither VMs nor shares were collected.
#   Indexes (shares by UNC, shares per host and per proxy, accounts by name, SID sets and ACL
#   evaluations per proxy) are rules built in linear time: joins by key, never nested loops that
#   filter by comparing keys (see policies/lib/facts.rego).
#   Rules of other packages are referenced by their full path (data.offhost.lib.facts.proxies),
#   functions through the import (facts.norm): regorus evaluates EVERY rule of a package (and of
#   its sub-packages) when one of its rules is referenced through an import alias (facts.proxies),
#   but only the rule itself when it is referenced by its full path. The smb rules reference this
#   package's rules the same way, so each pays only for the indexes it uses.
package offhost.smb.lib

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

# Access-mask constants (decimal: Rego has no hex literals).
generic_all := 268435456 # 0x10000000

generic_execute := 536870912 # 0x20000000

generic_write := 1073741824 # 0x40000000

generic_read := 2147483648 # 0x80000000

_generic_bits := 4026531840 # all four generic bits

file_all_access := 2032127 # 0x1F01FF

# FILE_READ_DATA 1 | FILE_READ_EA 8 | FILE_READ_ATTRIBUTES 128 | READ_CONTROL 131072 |
# SYNCHRONIZE 1048576 = 1179785 (0x120089), also FILE_GENERIC_READ.
read_bits := 1179785

_generic_map := [
	[generic_all, file_all_access],
	[generic_read, 1179785],
	[generic_write, 1179926],
	[generic_execute, 1179808],
]

_inherit_only := 8

# int_or_zero(v): v when it is a number, else 0 (a null flag field must not break bits.*).
int_or_zero(v) := v if {
	is_number(v)
} else := 0

# unc_key: "\\fs01.corp.example\vms\VM1\disk.vhdx" -> "\\FS01\VMS" (server normalised like a
# computer name, share name upper-case), so that UNC paths compare case-insensitively.
unc_key(u) := sprintf("\\\\%s\\%s", [facts.host_key(parts[0]), upper(parts[1])]) if {
	parts := [p | some p in split(trim_space(u), "\\"); p != ""]
	count(parts) >= 2
}

# unc_server("\\FS01\VMS") -> "FS01"
unc_server(key) := parts[2] if parts := split(key, "\\")

share_ref(key) := sprintf("shares[%s]", [key])

share_path(key, field) := sprintf("shares[%s].%s", [key, field])

vms_known if is_array(object.get(input, "vms", null))

_shares := facts.seq(object.get(input, "shares", null))

# The normalised UNC of every share, in document order, computed once.
_share_keys := [_share_key(s) | some s in _shares]

_share_key(s) := k if {
	k := unc_key(s.unc)
} else := ""

# _share_indexes[key]: the positions of the shares whose UNC normalises to key (normally one).
_share_indexes[key] contains i if {
	some i, key in _share_keys
}

# shares_by_key[key]: the first share (in document order) whose UNC normalises to key.
shares_by_key := {key: _shares[min(idx)] | some key, idx in _share_indexes}

share(key) := shares_by_key[key]

# smb_disk_key(d): the share key of a VM disk stored on SMB, from its `share` or its path.
smb_disk_key(d) := unc_key(d.share) if {
	_is_smb(d)
	is_string(object.get(d, "share", null))
} else := unc_key(d.path) if {
	_is_smb(d)
}

_is_smb(d) if d.storage == "smb"

_is_smb(d) if {
	object.get(d, "storage", null) == null
	startswith(d.path, "\\\\")
}

# host_shares[host]: share keys used by VMs on that host (needs the VM inventory; one pass over
# the VMs). (regorus leaves a multi-value rule without values undefined where OPA yields {}: the
# grouping rules are copied into plain objects, which are {} when empty.)
host_shares := {h: ks | some h, ks in _host_shares}

# (Disks whose storage says csv or local are skipped before the smb_disk_key call, and the host
# name is normalised only for VMs with an SMB disk: most VMs of an estate are on CSVs.)
_host_shares[h] contains k if {
	vms_known
	some vm in input.vms
	disks := object.get(vm, "disks", null)
	is_array(disks)
	some d in disks
	not d.storage in {"csv", "local"}
	k := smb_disk_key(d)
	h := facts.host_key(vm.host)
}

# A VM whose disks were not collected may keep files on any share: its host counts every share
# in the document (as a proxy does when the whole VM inventory is missing).
_host_shares[h] contains k if {
	vms_known
	some vm in input.vms
	not is_array(object.get(vm, "disks", null))
	h := facts.norm(vm.host)
	some k in _all_share_keys
}

# _shares_of_served[proxy]: share keys used by VMs on the hosts the proxy serves (a join of
# host_shares with data.offhost.lib.facts.serving_proxies).
_shares_of_served := {p: ks | some p, ks in _served_share_sets}

_served_share_sets[p] contains k if {
	some h, ks in host_shares
	some p in data.offhost.lib.facts.serving_proxies[h]
	some k in ks
}

_all_share_keys := {k | some s in _shares; k := unc_key(s.unc)}

# needed_shares[proxy]: share keys the proxy must read (an empty set when it needs none).
needed_shares[p] := object.get(_shares_of_served, p, set()) if {
	some p in data.offhost.lib.facts.proxies
	vms_known
}

needed_shares[p] := _all_share_keys if {
	some p in data.offhost.lib.facts.proxies
	not vms_known
}

# proxies_without_shares: the proxies that need no SMB share. Each smb rule gives such a proxy one
# proxy-level finding (no_share_finding) instead of none, so that the rule does not look
# unevaluated.
proxies_without_shares contains p if {
	some p, ks in needed_shares
	count(ks) == 0
}

# share_needs_known: whether an empty needed_shares[p] means "needs no share": the VM inventory
# was collected, or (without it) the share list was, so every share is counted and there is none.
share_needs_known if vms_known

share_needs_known if is_array(object.get(input, "shares", null))

# no_share_finding(rule_id, p): the finding of rule_id for a proxy that needs no SMB share:
# not_applicable, or unknown (missing ["vms"]) when neither the VMs nor the shares were collected.
no_share_finding(rule_id, p) := result.not_applicable(rule_id, result.proxy_subject(p), _no_share_reason(p)) if {
	data.offhost.smb.lib.share_needs_known
} else := result.unknown(rule_id, result.proxy_subject(p), ["vms"])

# no_share_findings(rule_id): no_share_finding for every proxy that needs no SMB share.
no_share_findings(rule_id) := {no_share_finding(rule_id, p) | some p in data.offhost.smb.lib.proxies_without_shares}

_smb_only := "this rule concerns off-host backup from SMB3 storage only"

_no_share_reason(p) := sprintf("none of the VMs on hosts served by %s keeps files on an SMB share: %s", [p, _smb_only]) if {
	vms_known
} else := sprintf("the VM inventory was not collected and the facts list no SMB share, so %s reads none: %s", [p, _smb_only])

# _needed_keys: every share key some proxy needs.
_needed_keys contains k if {
	some _, ks in needed_shares
	some k in ks
}

# --- Computer accounts -------------------------------------------------------------------

account_ref(p) := sprintf("computer_accounts[%s]", [p])

_account_key(n) := facts.norm(trim_suffix(trim_space(n), "$"))

_accounts := facts.seq(object.get(input, "computer_accounts", null))

# _account_indexes[name]: the positions of the computer accounts with that (normalised) name.
_account_indexes[n] contains i if {
	some i, a in _accounts
	n := _account_key(a.name)
}

# _named_by_key[name]: those accounts, in document order.
_named_by_key := {n: [_accounts[i] | some i in sort(idx)] | some n, idx in _account_indexes}

_proxy_domains(p) := {lower(d) |
	some d in [
		object.get(data.offhost.lib.facts.hosts_by_name, [p, "domain", "name"], null),
		object.get(data.offhost.lib.facts.hosts_by_name, [p, "domain", "netbios"], null),
	]
	is_string(d)
}

# account(p): the proxy's computer account, matched by name and, when several share the name,
# by the proxy's domain.
account(p) := _account_by_key[p]

# _account_by_key[name]: account(name) for every account name, computed once.
_account_by_key[n] := named[0] if {
	some n, named in _named_by_key
	count(named) == 1
}

_account_by_key[n] := matching[0] if {
	some n, named in _named_by_key
	count(named) > 1
	domains := _proxy_domains(n)
	matching := [a | some a in named; lower(a.domain) in domains]
	count(matching) > 0
}

_sid_fields := ["sid", "token_groups", "logon_sids"]

# account_missing(p): fact paths that keep the SID set from being known ([] when complete).
account_missing(p) := [account_ref(p)] if {
	not account(p)
} else := [sprintf("%s.%s", [account_ref(p), f]) |
	a := account(p)
	some f in _sid_fields
	object.get(a, f, null) == null
]

# acl_missing(p, k, fields): the fact paths an ACL rule lacks to judge proxy p on share k: the
# share itself, or those of its ACLs (fields) and of p's computer account that were not collected.
acl_missing(p, k, fields) := [share_ref(k)] if {
	not share(k)
} else := array.concat(
	[share_path(k, field) | some field in fields; object.get(share(k), field, null) == null],
	account_missing(p),
)

# proxy_sids[p]: the SID set of each proxy that needs an SMB share and whose account facts are
# complete.
proxy_sids[p] := sids(_account_by_key[p]) if {
	some p, ks in needed_shares
	count(ks) > 0
	account_missing(p) == []
}

# sids(a): the SIDs a network logon of the account carries: its own SID, primary group,
# transitive groups (tokenGroups) and the logon-time well-known SIDs.
sids(a) := {upper(s) |
	some s in array.concat(
		array.concat([a.sid, object.get(a, "primary_group_sid", null)], facts.seq(a.token_groups)),
		facts.seq(a.logon_sids),
	)
	is_string(s)
}

# --- ACL evaluation ----------------------------------------------------------------------

# map_generic(mask): generic bits replaced by the file-object rights they stand for.
map_generic(mask) := mask if {
	bits.and(mask, _generic_bits) == 0
} else := bits.or(mask - bits.and(mask, _generic_bits), _or_all([m |
	some pair in _generic_map
	bits.and(mask, pair[0]) != 0
	m := pair[1]
]))

# _or_all(masks): bitwise OR of a list of 32-bit masks.
_or_all(masks) := 0 if {
	count(masks) == 0
} else := masks[0] if {
	count(masks) == 1
} else := sum({b |
	some i in numbers.range(0, 31)
	b := bits.lsh(1, i)
	some m in masks
	bits.and(m, b) != 0
})

has_read(mask) := bits.and(mask, read_bits) == read_bits

rights_words(mask) := "full control" if {
	bits.and(mask, file_all_access) == file_all_access
} else := "read" if {
	has_read(mask)
} else := "none" if {
	mask == 0
} else := sprintf("no read (mask %d)", [mask])

# _prepared(acl): the ACEs that apply to the object itself (inherit-only ACEs skipped), each with
# its upper-case SID, its type and the entry `deciding` lists: {"index", "ace", "mapped"}. This
# is the per-ACL part of evaluate, done once per ACL rather than once per proxy.
_prepared(acl) := [{"sid": upper(ace.sid), "type": ace.type, "x": {"index": i, "ace": ace, "mapped": map_generic(ace.mask)}} |
	some i, ace in acl
	bits.and(int_or_zero(object.get(ace, "flags", 0)), _inherit_only) == 0
]

# evaluate(acl, sid_set): granted = OR(allow masks) minus OR(deny masks) over the ACEs that apply
# to the SID set; `deciding` holds the ACEs that decided: the allows that grant read, or the
# denies that removed it, or (no read granted at all) the allows that matched.
evaluate(acl, sid_set) := _evaluate_prepared(_prepared(acl), sid_set, set())

# _evaluate_prepared(aces, sid_set, maybe): also the bounds of the grant when the account may
# hold more SIDs (`maybe`, see _levels): `lowest` with every ACE on a maybe-SID that denies
# applied and none that allows, `highest` the other way round (result.undecided).
_evaluate_prepared(aces, sid_set, maybe) := {
	"granted": granted,
	"read": has_read(granted),
	"deciding": _deciding(has_read(granted), allows, denies),
	"lowest": allow - bits.and(allow, bits.or(deny, maybe_deny)),
	"highest": bits.or(allow, maybe_allow) - bits.and(bits.or(allow, maybe_allow), deny),
} if {
	allows := [e.x | some e in aces; e.type == "allow"; e.sid in sid_set]
	denies := [e.x | some e in aces; e.type == "deny"; e.sid in sid_set]
	allow := _or_all([x.mapped | some x in allows])
	deny := _or_all([x.mapped | some x in denies])
	granted := allow - bits.and(allow, deny)
	maybe_allow := _or_all([e.x.mapped | some e in aces; e.type == "allow"; e.sid in maybe])
	maybe_deny := _or_all([e.x.mapped | some e in aces; e.type == "deny"; e.sid in maybe])
}

# share_acl_levels[p][k] / ntfs_acl_levels[p][k]: evaluate(ACL of share k, proxy_sids[p]) for
# every share k the proxy needs, computed once; absent when the share, that ACL or the proxy's
# SID set is not known.
share_acl_levels := _levels(_prepared_acls("share_acl"))

ntfs_acl_levels := _levels(_prepared_acls("ntfs_acl"))

_prepared_acls(field) := {k: _prepared(acl) |
	some k in _needed_keys
	acl := object.get(shares_by_key, [k, field], null)
	acl != null
}

_levels(acls) := {p: {k: _evaluate_prepared(acls[k], sids, _maybe(p, k, acls[k], sids)) |
	some k in needed_shares[p]
	acls[k]
	sids := _sid_set(p, k, sid_set)
} |
	some p, sid_set in proxy_sids
}

# _maybe(p, k, aces, sids): the SIDs the account may hold beyond the known ones: none when the
# local groups of k's server were read for p's SIDs, else every other SID the ACL names (an
# unread local group could put the account in any of them).
_maybe(p, k, aces, sids) := set() if {
	_alias_sets[p][unc_server(k)]
} else := {e.sid | some e in aces} - sids

# --- Local groups of the file server ------------------------------------------------------
# A network logon on the file server also carries the server's aliases (local groups) that hold
# one of the account's SIDs: BUILTIN\Users holds Authenticated Users by default. The SMB collector
# reads them over SAMR into hosts[server].local_groups.

local_groups_ref(s) := facts.host_path(s, "local_groups")

_local_groups(s) := object.get(data.offhost.lib.facts.hosts_by_name, [s, "local_groups"], null)

# _known_groups[server]: the collected local groups of each file server, with the SIDs asked
# about as a set (built once per server, not once per proxy).
_known_groups := {facts.norm(h.name): {"queried": {upper(q) | some q in facts.seq(lg.queried_sids)}, "groups": facts.seq(lg.groups)} |
	some h in input.hosts
	lg := object.get(h, "local_groups", null)
	is_object(lg)
}

# _alias_sets[p][s]: the alias SIDs of server s holding one of p's SIDs; absent when the server's
# local groups were not collected or were not asked about all of p's SIDs.
_alias_sets := {p: {s: _aliases(known.groups, sid_set) |
	some s in {unc_server(k) | some k in needed_shares[p]}
	known := _known_groups[s]
	count(sid_set - known.queried) == 0
} |
	some p, sid_set in proxy_sids
}

_aliases(groups, sid_set) := {upper(g.sid) |
	some g in groups
	some m in facts.seq(g.members)
	upper(m) in sid_set
}

_sid_set(p, k, sid_set) := sid_set | object.get(_alias_sets, [p, unc_server(k)], set())

# local_groups_missing(p, k): [] when the local groups of k's server are known for p's SIDs, else
# the fact path that is missing.
local_groups_missing(p, k) := [] if {
	_alias_sets[p][unc_server(k)]
} else := [local_groups_ref(unc_server(k))]

# undecided(p, k, lowest, highest): the missing local groups of k's server when they could change
# whether the proxy reads (lowest and highest are the bounds of its grant, see
# _evaluate_prepared), else [] (result.undecided).
undecided(p, k, lowest, highest) := result.undecided(has_read(lowest), has_read(highest), local_groups_missing(p, k))

# group_evidence(p, k, deciding): the local groups of k's server behind deciding ACEs.
group_evidence(k, deciding) := [{"path": sprintf("%s.groups[%d]", [local_groups_ref(unc_server(k)), i]), "value": g} |
	some i, g in facts.seq(object.get(data.offhost.lib.facts.hosts_by_name, [unc_server(k), "local_groups", "groups"], null))
	some x in deciding
	upper(x.ace.sid) == upper(g.sid)
]

# group_text(k, deciding): " (through local group Builtin\Users of FS01, holding S-1-5-11)" or "".
group_text(k, deciding) := concat("", [sprintf(" (through local group %s of %s, holding %s)", [
	object.get(e.value, "name", e.value.sid), unc_server(k), concat(", ", e.value.members),
]) |
	some e in group_evidence(k, deciding)
])

# groups_note(p, k): what the message says when the server's local groups were not read.
groups_note(p, k) := "" if {
	local_groups_missing(p, k) == []
} else := sprintf("; the local groups of %s were not read (%s), but no group they could add changes this", [unc_server(k), local_groups_ref(unc_server(k))])

_deciding(true, allows, _) := [x | some x in allows; bits.and(x.mapped, read_bits) != 0]

_deciding(false, allows, denies) := d if {
	d := [x |
		some x in denies
		bits.and(x.mapped, read_bits) != 0
		_allowed_read_bits(allows, x.mapped)
	]
	count(d) > 0
} else := allows

_allowed_read_bits(allows, deny_mask) if {
	some a in allows
	bits.and(bits.and(a.mapped, deny_mask), read_bits) != 0
}

# ace_text(x): "deny S-1-5-21-...-1120 (CORP\HV-Deny) mask 1179785"
ace_text(x) := sprintf("%s %s%s mask %d", [x.ace.type, x.ace.sid, _ace_name(x.ace), x.ace.mask])

_ace_name(ace) := sprintf(" (%s)", [ace.name]) if is_string(object.get(ace, "name", null)) else := ""

# ace_evidence(key, field, deciding): evidence rows for the deciding ACEs of one level.
ace_evidence(key, field, deciding) := [{"path": sprintf("%s[%d]", [share_path(key, field), x.index]), "value": x.ace} |
	some x in deciding
]

deciding_text(deciding) := concat("; ", [ace_text(x) | some x in deciding]) if {
	count(deciding) > 0
} else := "no ACE for the account or its groups"
