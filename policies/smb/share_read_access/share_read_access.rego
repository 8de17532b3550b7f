# METADATA
# title: Proxy can read the SMB share (share permissions)
# description: |
#   For every SMB share that holds disks of VMs on hosts the proxy serves (every share in the
#   document when the VM inventory is absent), the share-level permissions must grant read to the
#   proxy's computer account: its SID, primary group, tokenGroups and logon-time well-known SIDs
#   (Everyone, Authenticated Users, ...), and the file server's local groups holding any of them
#   (hosts[server].local_groups). Deny ACEs win over allow ACEs. Subject: proxy x share.
#   unknown when the share, its share ACL or the account's SID set was not collected, or when the
#   server's local groups were not and could change the verdict. A proxy that
#   needs no SMB share gets one finding with the proxy as subject: not_applicable, or unknown
#   when neither the VMs nor the shares were collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (requirements for SMB shared storage)
# custom:
#   id: OHP-020
#   remediation: |
#     On the file server, grant the proxy's computer account (DOMAIN\PROXY$) or a group it belongs
#     to at least Read on the share, and remove any Deny entry that covers it, e.g.
#     `Grant-SmbShareAccess -Name VMS -AccountName 'CORP\PROXY01$' -AccessRight Read -Force` and
#     `Unblock-SmbShareAccess -Name VMS -AccountName ...`; check with `Get-SmbShareAccess -Name VMS`.
package offhost.smb.share_read_access

import rego.v1

import data.offhost.lib.result
import data.offhost.smb.lib

_rule := "OHP-020"

# One finding per proxy x needed share: unknown when facts are missing, else pass or fail.
# share_acl_levels[p][k] is evaluate(share ACL of k, SID set of p), computed once in the lib.
# (The lib's rules are referenced by full path: through the import alias (lib.needed_shares)
# regorus would evaluate every rule of the lib; see policies/smb/lib/smb_lib.rego.)
findings contains f if {
	some p, ks in data.offhost.smb.lib.needed_shares
	some k in ks
	f := _finding(p, k, lib.acl_missing(p, k, ["share_acl"]))
}

# A proxy that needs no SMB share: one proxy-level finding (policies/smb/lib).
findings contains f if some f in lib.no_share_findings(_rule)

_finding(p, k, missing) := result.unknown(_rule, result.proxy_share_subject(p, k), missing) if {
	count(missing) > 0
}

_finding(p, k, []) := _decide(p, k, data.offhost.smb.lib.share_acl_levels[p][k])

# Without the file server's local groups a verdict stands only when no group they could add
# changes it (result.undecided).
_decide(p, k, level) := result.unknown(_rule, result.proxy_share_subject(p, k), missing) if {
	missing := lib.undecided(p, k, level.lowest, level.highest)
	count(missing) > 0
} else := _judge(p, k, level)

_judge(p, k, level) := result.pass(
	_rule, result.proxy_share_subject(p, k),
	sprintf("share permissions of %s grant %s$ %s (granted mask %d; %s%s)%s", [k, p, lib.rights_words(level.granted), level.granted, lib.deciding_text(level.deciding), lib.group_text(k, level.deciding), lib.groups_note(p, k)]),
	_evidence(p, k, level),
) if {
	level.read
}

_judge(p, k, level) := result.fail(
	_rule, result.proxy_share_subject(p, k),
	sprintf("share permissions of %s do not grant %s$ read: effective share-level rights %s (granted mask %d; %s%s)%s", [k, p, lib.rights_words(level.granted), level.granted, lib.deciding_text(level.deciding), lib.group_text(k, level.deciding), lib.groups_note(p, k)]),
	_evidence(p, k, level),
) if {
	not level.read
}

_evidence(p, k, level) := array.concat(
	[{"path": sprintf("%s.sid", [lib.account_ref(p)]), "value": lib.account(p).sid}],
	array.concat(lib.ace_evidence(k, "share_acl", level.deciding), lib.group_evidence(k, level.deciding)),
)
