# METADATA
# title: Hyper-V role installed on the proxy
# description: |
#   For every off-host proxy: the Hyper-V role is installed (features.hyperv, from
#   Get-WindowsFeature Hyper-V). Veeam refuses to add a machine without it as a Hyper-V off-host
#   proxy, and off-host processing imports the transportable snapshots through it. Unknown when
#   the feature state was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy
# custom:
#   id: OHP-004
#   remediation: |
#     On the proxy, install the role and restart:
#     `Install-WindowsFeature -Name Hyper-V -IncludeManagementTools -Restart` (a VM proxy also needs
#     nested virtualization enabled on its host first). Then rescan the proxy in the Veeam console.
package offhost.general.hyperv_role

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-004"

findings contains _decide(p, facts.value(data.offhost.lib.facts.hosts_by_name[p], ["features", "hyperv"])) if some p in data.offhost.lib.facts.proxies

_evidence(p, v) := [{"path": facts.host_path(p, "features.hyperv"), "value": v}]

_decide(p, v) := result.pass(_rule, result.proxy_subject(p), sprintf("the Hyper-V role is installed on %s", [p]), _evidence(p, v)) if {
	v == true
} else := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("the Hyper-V role is not installed on %s (features.hyperv is false); Veeam cannot use it as an off-host proxy", [p]),
	_evidence(p, v),
) if {
	v == false
} else := result.unknown(_rule, result.proxy_subject(p), [facts.host_path(p, "features.hyperv")])
