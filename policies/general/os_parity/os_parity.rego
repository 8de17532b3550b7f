# METADATA
# title: Proxy and Hyper-V host run the same Windows Server release
# description: |
#   For every off-host proxy and every Hyper-V host it serves (its assigned hosts and the nodes of
#   its assigned clusters; every Hyper-V host when it has no assignment): both run the same Windows
#   Server release, i.e. the same OS build number. Update revisions (UBR) may differ; the message
#   says so. Unknown when the proxy's or the host's build was not collected, or the host is not in
#   the facts at all. Not applicable when the proxy is itself the served host. The 2026-02 guidance
#   dropped this note, so the veeam-2026-02 profile reports it as info.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (version of 26 Aug 2025)
#   - ref: https://helpcenter.veeam.com/docs/backup/hyperv/offhost_backup_proxy.html?ver=120
#     description: Off-Host Backup Proxy (VBR 12)
# custom:
#   id: OHP-002
#   severity: high
#   remediation: |
#     Run the same Windows Server release on the proxy as on the Hyper-V hosts it serves (compare
#     `(Get-CimInstance Win32_OperatingSystem).BuildNumber` on both): upgrade or rebuild the proxy,
#     or assign hosts of another release to a proxy that matches them (Backup Infrastructure >
#     Backup Proxies, or the job's storage settings).
package offhost.general.os_parity

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-002"

# Performance: per pair, each host's build and UBR are read once and passed on (functions are
# re-evaluated on every call).
findings contains _decide(p, hn) if {
	some p in data.offhost.lib.facts.proxies
	some hn in data.offhost.lib.facts.served_hosts[p]
}

# A host the proxy may serve (node list and membership missing): unknown, not nothing.
findings contains result.maybe_served_finding(_rule, p, h, missing) if {
	some p, hosts in data.offhost.lib.facts.maybe_served
	some h, missing in hosts
}

_release(build) := name if {
	name := data.offhost.data.profiles.windows_server_releases[format_int(build, 10)]
} else := "unknown release"

_describe(build) := sprintf("build %d (%s)", [build, _release(build)])

# The descriptions of the builds in the facts, once per build rather than once per pair.
_described := {b: _describe(b) | some h in input.hosts; b := h.os.build; is_number(b)}

_description(build) := text if {
	text := _described[build]
} else := _describe(build)

# _os(name): [build, ubr] of a host in the facts (null when not collected), or null when the
# host is not in the facts at all.
_os(name) := [facts.value(h, ["os", "build"]), facts.value(h, ["os", "ubr"])] if {
	h := data.offhost.lib.facts.hosts_by_name[name]
} else := null

# Like facts.host_path, for names that are already normalised (proxies and served hosts are).
_path(name, field) := sprintf("hosts[%s].%s", [name, field])

_host_missing(hn, null) := [sprintf("hosts[%s]", [hn])]

_host_missing(hn, ho) := [_path(hn, "os.build")] if {
	ho != null
	ho[0] == null
}

_host_missing(_, ho) := [] if {
	ho != null
	ho[0] != null
}

# Per proxy, once (a proxy serves many hosts): its _os and its evidence entries.
_proxy_os := {p: {"os": po, "evidence": [
	{"path": _path(p, "os.build"), "value": po[0]},
	{"path": _path(p, "os.ubr"), "value": po[1]},
]} |
	some p in data.offhost.lib.facts.proxies
	po := _os(p)
}

_evidence(p, hn, ho) := array.concat(_proxy_os[p].evidence, [
	{"path": _path(hn, "os.build"), "value": ho[0]},
	{"path": _path(hn, "os.ubr"), "value": ho[1]},
])

_ubr_note(po, ho) := sprintf("; update revisions differ (proxy UBR %d, host UBR %d), which parity allows", [po[1], ho[1]]) if {
	po[1] != null
	ho[1] != null
	po[1] != ho[1]
} else := ""

_decide(p, hn) := result.not_applicable(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("%s is both the proxy and the served Hyper-V host", [p]),
) if {
	p == hn
} else := _compare(p, hn, _proxy_os[p].os, _os(hn))

_complete(po, ho) if {
	po[0] != null
	ho != null
	ho[0] != null
}

# po, ho: _os of the proxy (always in the facts) and of the host.
_compare(p, hn, po, ho) := result.unknown(_rule, result.proxy_host_subject(p, hn), missing) if {
	not _complete(po, ho)
	missing := array.concat([_path(p, "os.build") | po[0] == null], _host_missing(hn, ho))
	count(missing) > 0
} else := result.pass(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("proxy %s and host %s both run %s%s", [p, hn, _description(po[0]), _ubr_note(po, ho)]),
	_evidence(p, hn, ho),
) if {
	po[0] == ho[0]
} else := result.fail(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("proxy %s runs %s but host %s runs %s: the Windows Server releases must coincide", [
		p, _description(po[0]), hn, _description(ho[0]),
	]),
	_evidence(p, hn, ho),
)
