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
findings contains f if {
	some p in data.offhost.lib.facts.proxies
	pi := _info[p]
	some hn in data.offhost.lib.facts.served_hosts[p]
	f := _decide(p, hn, pi, object.get(_info, hn, null))
}

findings contains result.maybe_served_finding(_rule, p, h, missing) if {
	some p, hosts in data.offhost.lib.facts.maybe_served
	some h, missing in hosts
}

_release(build) := name if {
	name := data.offhost.data.profiles.windows_server_releases[format_int(build, 10)]
} else := "unknown release"

# Performance: a proxy serves many hosts and a host may be served by several proxies, so what a
# finding quotes about one machine (its [build, UBR], its two evidence entries, the text naming
# its release) is computed once per machine, here, and the release text once per build; a
# (proxy, host) finding only looks both up (each function call costs regorus microseconds).
_described := {b: sprintf("build %d (%s)", [b, _release(b)]) | some h in input.hosts; b := h.os.build; is_number(b)}

_served contains hn if {
	some p in data.offhost.lib.facts.proxies
	some hn in data.offhost.lib.facts.served_hosts[p]
}

_info := {n: {
	"os": [build, ubr],
	"evidence": [
		{"path": sprintf("hosts[%s].os.build", [n]), "value": build},
		{"path": sprintf("hosts[%s].os.ubr", [n]), "value": ubr},
	],
	"text": object.get(_described, build, ""),
} |
	some n in data.offhost.lib.facts.proxies | _served
	h := data.offhost.lib.facts.hosts_by_name[n]
	build := object.get(h, ["os", "build"], null)
	ubr := object.get(h, ["os", "ubr"], null)
}

_ubr_note(po, ho) := sprintf("; update revisions differ (proxy UBR %d, host UBR %d), which parity allows", [po[1], ho[1]]) if {
	po[1] != null
	ho[1] != null
	po[1] != ho[1]
} else := ""

# hi: null when the served host is not in the facts.
_decide(p, hn, pi, hi) := result.not_applicable(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("%s is both the proxy and the served Hyper-V host", [p]),
) if {
	p == hn
} else := result.pass(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("proxy %s and host %s both run %s%s", [p, hn, pi.text, _ubr_note(pi.os, hi.os)]),
	array.concat(pi.evidence, hi.evidence),
) if {
	pi.os[0] != null
	pi.os[0] == hi.os[0]
} else := result.unknown(_rule, result.proxy_host_subject(p, hn), missing) if {
	missing := array.concat([sprintf("hosts[%s].os.build", [p]) | pi.os[0] == null], _host_missing(hn, hi))
	count(missing) > 0
} else := result.fail(
	_rule, result.proxy_host_subject(p, hn),
	sprintf("proxy %s runs %s but host %s runs %s: the Windows Server releases must coincide", [
		p, pi.text, hn, hi.text,
	]),
	array.concat(pi.evidence, hi.evidence),
)

_host_missing(hn, null) := [sprintf("hosts[%s]", [hn])]

_host_missing(hn, hi) := [sprintf("hosts[%s].os.build", [hn]) | hi.os[0] == null] if hi != null
