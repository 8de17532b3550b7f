# METADATA
# title: Proxy computer account has effective read on the SMB share
# description: |
#   The proxy's Veeam services run as LocalSystem, which reaches the file server as the computer
#   account DOMAIN\NAME$. For every SMB share the proxy needs, its effective access (share ACL
#   intersected with the NTFS ACL of the share root, deny wins on each level, inherit-only ACEs
#   skipped, generic rights mapped) over the account's SID, primary group, tokenGroups and logon
#   SIDs, plus the file server's local groups holding any of them (hosts[server].local_groups,
#   read over SAMR: BUILTIN\Users holds Authenticated Users by default), must include read; the
#   message and evidence name the local group that granted it. Subject: proxy x share. unknown
#   when the share, the account or its tokenGroups / logon SIDs were not collected, when one ACL
#   was not and the other does not refuse read on its own (a refusing level decides), or when the server's local groups were not (SAMR denied) and could change the verdict: an
#   allow ACE on a SID the account may hold through them could grant a refusal, a deny ACE could
#   refuse a grant (a deny on a SID it certainly holds decides). A proxy that needs no SMB share
#   gets one finding with the proxy as subject: not_applicable, or unknown when neither the VMs
#   nor the shares were collected. Limitation: tokenGroups read in
#   the proxy's domain does not list domain-local groups of the file server's domain, so an ACE
#   granting such a group is not counted.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (LocalSystem read access on the SMB3 share)
#   - ref: https://helpcenter.veeam.com/docs/backup/hyperv/smb_off-host_backup.html?ver=95
#     description: Off-host backup from SMB3 (v9.5, asked for full access)
# custom:
#   id: OHP-021
#   remediation: |
#     On the file server, give the proxy's computer account (DOMAIN\PROXY$) or a group it is in
#     read on both levels: the share permission (`Grant-SmbShareAccess -Name VMS -AccountName
#     'CORP\PROXY01$' -AccessRight Read`) and the NTFS permission of the share's folder
#     (`icacls D:\Shares\VMS /grant 'CORP\PROXY01$:(OI)(CI)RX'`). Remove Deny entries that cover
#     the account or its groups. Group changes reach the account's token after the proxy reboots.
package offhost.smb.computer_account_access

import rego.v1

import data.offhost.lib.result
import data.offhost.smb.lib

_rule := "OHP-021"

_full_note := "older Veeam guidance (v9.5) asked for full access on the share; current guidance asks for read"

# One finding per proxy x needed share: unknown when facts are missing, else pass or fail.
# share_acl_levels[p][k] / ntfs_acl_levels[p][k] are evaluate(ACL of k, SID set of p), computed
# once in the lib. (The lib's rules are referenced by full path: through the import alias
# (lib.needed_shares) regorus would evaluate every rule of the lib; see policies/smb/lib.)
findings contains f if {
	some p, ks in data.offhost.smb.lib.needed_shares
	some k in ks
	f := _finding(p, k, lib.acl_missing(p, k, ["share_acl", "ntfs_acl"]))
}

# A proxy that needs no SMB share: one proxy-level finding (policies/smb/lib).
findings contains f if some f in lib.no_share_findings(_rule)

# One ACL not collected: the other level alone decides a refusal when it refuses read even at
# its most favourable (result.undecided: the missing ACL could refuse anything, grant nothing
# the other level withholds); otherwise unknown.
_finding(p, k, missing) := _one_level_refuses(p, k, missing, refusing) if {
	count(missing) > 0
	refusing := [[field, level] |
		some [field, levels] in [
			["share_acl", data.offhost.smb.lib.share_acl_levels],
			["ntfs_acl", data.offhost.smb.lib.ntfs_acl_levels],
		]
		level := levels[p][k]
		result.undecided(false, lib.has_read(level.highest), missing) == []
	]
	count(refusing) > 0
} else := result.unknown(_rule, result.proxy_share_subject(p, k), missing) if {
	count(missing) > 0
}

_finding(p, k, []) := _decide(p, k, data.offhost.smb.lib.share_acl_levels[p][k], data.offhost.smb.lib.ntfs_acl_levels[p][k])

# Without the file server's local groups a verdict stands only when no group they could add
# changes it (result.undecided): the bounds of the effective grant are those of both levels.
_decide(p, k, share_level, ntfs_level) := result.unknown(_rule, result.proxy_share_subject(p, k), missing) if {
	missing := lib.undecided(
		p, k, bits.and(share_level.lowest, ntfs_level.lowest),
		bits.and(share_level.highest, ntfs_level.highest),
	)
	count(missing) > 0
} else := _judge(p, k, share_level, ntfs_level)

_effective(share_level, ntfs_level) := bits.and(share_level.granted, ntfs_level.granted)

_judge(p, k, share_level, ntfs_level) := result.pass(
	_rule, result.proxy_share_subject(p, k),
	sprintf("%s$ (LocalSystem on the network) has effective %s on %s: %s; %s%s", [
		p, lib.rights_words(_effective(share_level, ntfs_level)), k,
		_levels_text(k, share_level, ntfs_level), _full_note, lib.groups_note(p, k),
	]),
	_evidence(p, k, share_level, ntfs_level),
) if {
	lib.has_read(_effective(share_level, ntfs_level))
}

_judge(p, k, share_level, ntfs_level) := result.fail(
	_rule, result.proxy_share_subject(p, k),
	sprintf("%s$ (LocalSystem on the network) cannot read %s: effective rights %s (%s); %s%s", [
		p, k, lib.rights_words(_effective(share_level, ntfs_level)),
		_levels_text(k, share_level, ntfs_level), _full_note, lib.groups_note(p, k),
	]),
	_evidence(p, k, share_level, ntfs_level),
) if {
	not lib.has_read(_effective(share_level, ntfs_level))
}

_level_names := {"share_acl": "share level", "ntfs_acl": "NTFS level"}

_one_level_refuses(p, k, missing, refusing) := result.fail(
	_rule, result.proxy_share_subject(p, k),
	sprintf("%s$ (LocalSystem on the network) cannot read %s: %s, whatever %s (not collected) would grant; %s%s", [
		p, k, concat("; ", [sprintf("%s: %s", [_level_names[field], _level_text(k, level)]) | some [field, level] in refusing]),
		concat(", ", missing), _full_note, lib.groups_note(p, k),
	]),
	array.concat(
		[{"path": sprintf("%s.sid", [lib.account_ref(p)]), "value": lib.account(p).sid}],
		[e |
			some [field, level] in refusing
			some e in array.concat(lib.ace_evidence(k, field, level.deciding), lib.group_evidence(k, level.deciding))
		],
	),
)

_levels_text(k, share_level, ntfs_level) := sprintf("share level: %s; NTFS level: %s", [_level_text(k, share_level), _level_text(k, ntfs_level)])

_level_text(k, level) := sprintf("%s via %s%s", [lib.rights_words(level.granted), lib.deciding_text(level.deciding), lib.group_text(k, level.deciding)]) if {
	level.read
} else := sprintf("%s, read removed by %s%s", [lib.rights_words(level.granted), lib.deciding_text(level.deciding), lib.group_text(k, level.deciding)]) if {
	some x in level.deciding
	x.ace.type == "deny"
} else := sprintf("%s, no ACE gives the account or its groups read (matching: %s)", [
	lib.rights_words(level.granted), lib.deciding_text(level.deciding),
])

_evidence(p, k, share_level, ntfs_level) := array.concat(
	[
		{"path": sprintf("%s.sid", [lib.account_ref(p)]), "value": lib.account(p).sid},
		{"path": sprintf("%s.token_groups", [lib.account_ref(p)]), "value": lib.account(p).token_groups},
	],
	array.concat(
		array.concat(lib.ace_evidence(k, "share_acl", share_level.deciding), lib.ace_evidence(k, "ntfs_acl", ntfs_level.deciding)),
		lib.group_evidence(k, array.concat(share_level.deciding, ntfs_level.deciding)),
	),
)
