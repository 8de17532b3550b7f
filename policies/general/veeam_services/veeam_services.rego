# METADATA
# title: Veeam services installed and running on the proxy
# description: |
#   For every off-host proxy whose role is assigned (listed in vbr.proxies or in the assignments):
#   the Veeam Installer (VeeamDeploySvc, or its older name VeeamDeploymentService), Data Mover
#   (VeeamTransportSvc) and Hyper-V Integration (VeeamHvIntegrationSvc) services are installed and
#   running. Services are matched by service name, case-insensitively, never by display name
#   (display names differ by version and language). Not applicable before the role is assigned;
#   unknown when the service list was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/services_and_components.html
#     description: Services and Components
# custom:
#   id: OHP-007
#   remediation: |
#     On the proxy, start the stopped services (`Start-Service VeeamDeploySvc,VeeamTransportSvc,VeeamHvIntegrationSvc`)
#     and set them to start automatically. If a service is missing, rescan or re-add the proxy in
#     the Veeam console (Backup Infrastructure > Managed Servers > the server > Rescan) so that the
#     Installer Service pushes the components again; check that TCP 6160, 6162 and 6163 are open.
package offhost.general.veeam_services

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-007"

# Required services: the name reported, and every accepted service name in upper case.
required := [
	{"name": "VeeamDeploySvc", "accepted": {"VEEAMDEPLOYSVC", "VEEAMDEPLOYMENTSERVICE"}},
	{"name": "VeeamTransportSvc", "accepted": {"VEEAMTRANSPORTSVC"}},
	{"name": "VeeamHvIntegrationSvc", "accepted": {"VEEAMHVINTEGRATIONSVC"}},
]

findings contains _decide(p, data.offhost.lib.facts.hosts_by_name[p]) if some p in data.offhost.lib.facts.proxies

_assigned contains facts.norm(x.name) if some x in facts.seq(object.get(input, ["vbr", "proxies"], null))

_assigned contains p if some p in data.offhost.lib.facts.assigned_proxies

_path(p) := facts.host_path(p, "veeam_services")

# found: for each required service name, the proxy's services that count as it, computed once per
# proxy and passed on (functions are re-evaluated on every call).
_found(h) := {r.name: [s | some s in h.veeam_services; upper(s.name) in r.accepted] | some r in required}

_missing_services(found) := [r.name | some r in required; count(found[r.name]) == 0]

_stopped(found) := [sprintf("%s (%s)", [r.name, concat(", ", sort({s.status | some s in found[r.name]}))]) |
	some r in required
	count(found[r.name]) > 0
	not _running(found[r.name])
]

_running(services) if {
	some s in services
	s.status == "running"
}

_evidence(p, h) := [{"path": _path(p), "value": [{"name": s.name, "status": s.status} |
	some s in h.veeam_services
	some r in required
	upper(s.name) in r.accepted
]}]

_problems(found) := array.concat(
	[sprintf("not installed: %s", [concat(", ", missing)]) | missing := _missing_services(found); count(missing) > 0],
	[sprintf("installed but not running: %s", [concat(", ", stopped)]) | stopped := _stopped(found); count(stopped) > 0],
)

_decide(p, h) := result.not_applicable(
	_rule, result.proxy_subject(p),
	sprintf("the off-host proxy role is not assigned to %s yet (not in vbr.proxies nor in the assignments)", [p]),
) if {
	not p in _assigned
} else := result.unknown(_rule, result.proxy_subject(p), [_path(p)]) if {
	not is_array(facts.value(h, ["veeam_services"]))
} else := _report(p, h, _problems(_found(h)))

_report(p, h, problems) := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("Veeam services on %s: %s", [p, concat("; ", problems)]),
	_evidence(p, h),
) if {
	count(problems) > 0
} else := result.pass(
	_rule, result.proxy_subject(p),
	sprintf("VeeamDeploySvc, VeeamTransportSvc and VeeamHvIntegrationSvc are installed and running on %s", [p]),
	_evidence(p, h),
)
