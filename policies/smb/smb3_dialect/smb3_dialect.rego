# METADATA
# title: VM share is served over SMB 3.x
# description: |
#   For every Hyper-V host and every SMB share holding disks of its VMs, the SMB dialect must be
#   3.x (3.0, 3.0.2, 3.1.1). The host's own SMB connection to that server and share decides; when
#   the host has none, the dialect the collector negotiated with the share is used (the message
#   says which). Subject: Hyper-V host x share. not_applicable for hosts no off-host proxy
#   serves; unknown when no dialect is known; no finding without the VM inventory.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (Microsoft SMB3 shared storage)
#   - ref: https://learn.microsoft.com/en-us/powershell/module/smbshare/get-smbconnection
#     description: Get-SmbConnection (Dialect per server and share)
# custom:
#   id: OHP-023
#   severity: high
#   remediation: |
#     Serve Hyper-V VM files from a file server that speaks SMB 3 (Windows Server 2012 or later,
#     or Samba with `server min protocol = SMB3`), keep SMB2/3 enabled on both sides
#     (`Set-SmbServerConfiguration -EnableSMB2Protocol $true`), and check the negotiated dialect on
#     the host with `Get-SmbConnection | Select ServerName,ShareName,Dialect`.
package offhost.smb.smb3_dialect

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result
import data.offhost.smb.lib

_rule := "OHP-023"

_pairs contains [h, k] if {
	some h, ks in lib.host_shares
	some k in ks
}

# Connections of host h to the server and share of key k (server and share case-insensitive).
_connections(h, k) := [{"index": i, "dialect": c.dialect} |
	some i, c in lib.arr(object.get(facts.hosts_by_name, [h, "smb_connections"], null))
	lib.unc_key(sprintf("\\\\%s\\%s", [c.server, c.share])) == k
	is_string(object.get(c, "dialect", null))
]

_share_dialect(k) := lib.share(k).dialect if is_string(object.get(lib.share(k), "dialect", null))

# _observed(h, k): the dialects that decide, with their source.
_observed(h, k) := {
	"source": sprintf("%s's SMB connection", [h]),
	"rows": [{"path": sprintf("%s[%d].dialect", [facts.host_path(h, "smb_connections"), c.index]), "value": c.dialect} |
		some c in _connections(h, k)
	],
} if {
	count(_connections(h, k)) > 0
} else := {
	"source": sprintf("the dialect the collector negotiated with the share (%s has no SMB connection to it)", [h]),
	"rows": [{"path": lib.share_path(k, "dialect"), "value": _share_dialect(k)}],
} if {
	_share_dialect(k)
}

_is_smb3(d) if {
	v := trim_prefix(lower(trim_space(d)), "smb")
	regex.match(`^3(\.[0-9x]+)*$`, trim_space(v))
}

findings contains f if {
	some pair in _pairs
	h := pair[0]
	k := pair[1]
	not h in lib.served_by_any
	f := result.not_applicable(_rule, result.host_share_subject(h, k), sprintf("no off-host proxy serves %s", [h]))
}

findings contains f if {
	some pair in _pairs
	h := pair[0]
	k := pair[1]
	h in lib.served_by_any
	not _observed(h, k)
	f := result.unknown(_rule, result.host_share_subject(h, k), [_connection_path(h, k), _share_dialect_path(k)])
}

_connection_path(h, k) := facts.host_path(h, "smb_connections") if {
	not is_array(object.get(facts.hosts_by_name, [h, "smb_connections"], null))
} else := sprintf("%s[%s].dialect", [facts.host_path(h, "smb_connections"), k])

_share_dialect_path(k) := lib.share_path(k, "dialect") if lib.share(k) else := lib.share_ref(k)

findings contains f if {
	some pair in _pairs
	h := pair[0]
	k := pair[1]
	h in lib.served_by_any
	obs := _observed(h, k)
	dialects := [r.value | some r in obs.rows]
	f := _judge(h, k, obs, dialects, [d | some d in dialects; not _is_smb3(d)])
}

_judge(h, k, obs, dialects, []) := result.pass(
	_rule, result.host_share_subject(h, k),
	sprintf("%s reaches %s over SMB %s (from %s)", [h, k, concat(", ", dialects), obs.source]),
	obs.rows,
)

_judge(h, k, obs, _, older) := result.fail(
	_rule, result.host_share_subject(h, k),
	sprintf("%s reaches %s over SMB %s (from %s); Hyper-V VM storage for off-host backup needs SMB 3.x", [h, k, concat(", ", older), obs.source]),
	obs.rows,
) if {
	count(older) > 0
}
