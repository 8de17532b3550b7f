# METADATA
# title: VM share is served over SMB 3.x
# description: |
#   For every Hyper-V host and every SMB share holding disks of its VMs, the SMB dialect must be
#   3.x (3.0, 3.0.2, 3.1.1). The host's own SMB connection to that server and share decides; when
#   the host has none, the dialect the collector negotiated with the share is used (the message
#   says which). Subject: Hyper-V host x share. not_applicable for hosts no off-host proxy
#   serves; unknown when no dialect is known; no host x share finding without the VM inventory.
#   A proxy that needs no SMB share gets one finding with the proxy as subject: not_applicable,
#   or unknown when neither the VMs nor the shares were collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (Microsoft SMB3 shared storage)
#   - ref: https://learn.microsoft.com/en-us/powershell/module/smbshare/get-smbconnection
#     description: Get-SmbConnection (Dialect per server and share)
# custom:
#   id: OHP-023
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

# Rules of the libs are referenced by full path: through an import alias (lib.host_shares)
# regorus would evaluate every rule of that package (see policies/smb/lib/smb_lib.rego).
_smb_connections(h) := object.get(data.offhost.lib.facts.hosts_by_name, [h, "smb_connections"], null)

# _host_connections[h]: the host's SMB connections with a dialect, each with the key of the share
# it reaches (server and share case-insensitive), computed once per host.
_host_connections[h] := [{"index": i, "dialect": c.dialect, "key": key} |
	some i, c in facts.seq(_smb_connections(h))
	key := lib.unc_key(sprintf("\\\\%s\\%s", [c.server, c.share]))
	is_string(object.get(c, "dialect", null))
] if {
	some h, _ in data.offhost.smb.lib.host_shares
}

# Connections of host h to the server and share of key k.
_connections(h, k) := [{"index": c.index, "dialect": c.dialect} | some c in _host_connections[h]; c.key == k]

_share_dialect(k) := lib.share(k).dialect if is_string(object.get(lib.share(k), "dialect", null))

# _observed(h, k): the dialects that decide, with their source; null when none is known.
_observed(h, k) := _observed_from(h, k, _connections(h, k))

_observed_from(h, k, conns) := {
	"source": sprintf("%s's SMB connection", [h]),
	"rows": [{"path": sprintf("%s[%d].dialect", [facts.host_path(h, "smb_connections"), c.index]), "value": c.dialect} |
		some c in conns
	],
} if {
	count(conns) > 0
} else := {
	"source": sprintf("the dialect the collector negotiated with the share (%s has no SMB connection to it)", [h]),
	"rows": [{"path": lib.share_path(k, "dialect"), "value": _share_dialect(k)}],
} if {
	_share_dialect(k)
} else := null

_is_smb3(d) if {
	v := trim_prefix(lower(trim_space(d)), "smb")
	regex.match(`^3(\.[0-9x]+)*$`, trim_space(v))
}

# One finding per host x share: not_applicable when no proxy serves the host, unknown when no
# dialect is observed, else pass or fail.
findings contains f if {
	some h, ks in data.offhost.smb.lib.host_shares
	served := facts.served(h)
	some k in ks
	f := _finding(h, k, served)
}

# A served Hyper-V host whose VMs were not collected, when the facts list SMB shares: which of
# them the host uses is not known, so one unknown for the host (subject HOST -> *).
findings contains f if {
	count(data.offhost.smb.lib.shares_by_key) > 0
	some h, path in data.offhost.lib.facts.vms_missing
	facts.served(h)
	f := result.unknown_because(
		_rule, result.host_share_subject(h, "*"), [path],
		sprintf("the VMs on %s were not collected, so the SMB shares it serves VMs from are not known", [h]),
	)
}

# A proxy that needs no SMB share: one proxy-level finding (policies/smb/lib).
findings contains f if some f in lib.no_share_findings(_rule)

_finding(h, k, false) := result.not_applicable(_rule, result.host_share_subject(h, k), sprintf("no off-host proxy serves %s", [h]))

_finding(h, k, true) := _finding_observed(h, k, _observed(h, k))

_finding_observed(h, k, obs) := result.unknown(_rule, result.host_share_subject(h, k), [_connection_path(h, k), _share_dialect_path(k)]) if {
	obs == null
}

_finding_observed(h, k, obs) := _judge(h, k, obs, dialects, [d | some d in dialects; not _is_smb3(d)]) if {
	obs != null
	dialects := [r.value | some r in obs.rows]
}

_connection_path(h, k) := facts.host_path(h, "smb_connections") if {
	not is_array(_smb_connections(h))
} else := sprintf("%s[%s].dialect", [facts.host_path(h, "smb_connections"), k])

_share_dialect_path(k) := lib.share_path(k, "dialect") if lib.share(k) else := lib.share_ref(k)

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
