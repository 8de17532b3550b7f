# METADATA
# title: Off-host proxy is a physical machine
# description: |
#   For every off-host proxy: it is a physical machine. hardware.is_virtual decides when it is a
#   boolean (an explicit override); otherwise the manufacturer and model are matched,
#   case-insensitively, against known virtual platforms (patterns below). hypervisor_present is
#   never used: it is true on a physical Hyper-V host too. A VM proxy fails: with the Hyper-V role it
#   is tolerated for evaluation only (not for production); without it (nested virtualization
#   missing) it fails with a higher severity. Unknown when neither is_virtual nor a matching
#   manufacturer/model tells (a missing manufacturer or model never passes). The 2026-02 guidance
#   dropped this rule, so the veeam-2026-02 profile reports it as info.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (version of 26 Aug 2025)
# custom:
#   id: OHP-003
#   remediation: |
#     Move the off-host proxy role to a physical Windows Server with the Hyper-V role and SAN or SMB
#     access to the production storage (Backup Infrastructure > Backup Proxies > Add Proxy >
#     Hyper-V off-host). If a VM must serve for evaluation, enable nested virtualization on its host
#     (`Set-VMProcessor -VMName <proxy> -ExposeVirtualizationExtensions $true`, VM off) and install
#     the role inside it (`Install-WindowsFeature Hyper-V -IncludeManagementTools -Restart`).
package offhost.general.physical_proxy

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-003"

# Virtual platforms as reported by Win32_ComputerSystem. A pattern matches when every field it
# names contains the given text (lower case). Physical Nutanix NX nodes report manufacturer
# "Nutanix" too, so AHV needs both fields.
virtual_platforms := [
	{"platform": "Hyper-V", "manufacturer": "microsoft corporation", "model": "virtual machine"},
	{"platform": "VMware", "manufacturer": "vmware"},
	{"platform": "VMware", "model": "vmware"},
	{"platform": "VirtualBox", "model": "virtualbox"},
	{"platform": "VirtualBox", "manufacturer": "innotek"},
	{"platform": "QEMU/KVM", "manufacturer": "qemu"},
	{"platform": "QEMU/KVM", "model": "standard pc"},
	{"platform": "KVM", "model": "kvm"},
	{"platform": "Xen", "model": "hvm domu"},
	{"platform": "Xen", "manufacturer": "xen"},
	{"platform": "Amazon EC2", "manufacturer": "amazon ec2"},
	{"platform": "Amazon EC2", "model": "amazon ec2"},
	{"platform": "Google Compute Engine", "manufacturer": "google"},
	{"platform": "Google Compute Engine", "model": "google compute engine"},
	{"platform": "Nutanix AHV", "manufacturer": "nutanix", "model": "ahv"},
	{"platform": "Parallels", "manufacturer": "parallels"},
	{"platform": "Parallels", "model": "parallels"},
]

# Performance: the patterns are prepared once (_patterns); per proxy the facts, the platforms and
# the verdict are computed once and passed on (functions are re-evaluated on every call).
findings contains _decide(p, data.offhost.lib.facts.hosts_by_name[p]) if some p in data.offhost.lib.facts.proxies

_hw(h, k) := facts.value(h, ["hardware", k])

_fields := ["is_virtual", "manufacturer", "model"]

# Each pattern as its platform and the texts (by field) that must all match.
_patterns := [{"platform": pt.platform, "match": object.remove(pt, ["platform"])} |
	some pt in virtual_platforms
]

# hw: the proxy's is_virtual, manufacturer and model (null when not collected).
_platforms(hw) := {pt.platform |
	lowered := {k: lower(v) | some k in ["manufacturer", "model"]; v := hw[k]; is_string(v)}
	some pt in _patterns
	every k, text in pt.match {
		contains(lowered[k], text)
	}
}

_identity(hw) := sprintf("manufacturer %s, model %s", [_text(hw.manufacturer), _text(hw.model)])

_text(x) := sprintf("'%s'", [x]) if {
	is_string(x)
} else := "not collected"

# _verdict(hw): [is_virtual, why], or null when the facts do not tell.
_verdict(hw) := [hw.is_virtual, sprintf("hardware.is_virtual is %v, an explicit override", [hw.is_virtual])] if {
	is_boolean(hw.is_virtual)
} else := _verdict_by_identity(hw, _platforms(hw))

_verdict_by_identity(hw, platforms) := [true, sprintf("%s matches %s", [_identity(hw), concat("/", sort(platforms))])] if {
	count(platforms) > 0
} else := [false, sprintf("%s matches no known virtual platform", [_identity(hw)])] if {
	hw.manufacturer != null
	hw.model != null
} else := null

_missing(p, hw) := [facts.host_path(p, sprintf("hardware.%s", [k])) |
	some k in _fields
	hw[k] == null
]

_evidence(p, hw) := [{"path": facts.host_path(p, sprintf("hardware.%s", [k])), "value": hw[k]} |
	some k in _fields
] if {
	not is_boolean(hw.is_virtual)
} else := [{"path": facts.host_path(p, "hardware.is_virtual"), "value": hw.is_virtual}]

_hv_evidence(p, h) := {"path": facts.host_path(p, "features.hyperv"), "value": facts.value(h, ["features", "hyperv"])}

_decide(p, h) := _report(p, h, hw, _verdict(hw)) if {
	hw := {k: _hw(h, k) | some k in _fields}
}

_report(p, _, hw, null) := result.unknown(_rule, result.proxy_subject(p), _missing(p, hw))

_report(p, _, hw, verdict) := result.pass(
	_rule, result.proxy_subject(p),
	sprintf("%s is a physical machine (%s)", [p, verdict[1]]),
	_evidence(p, hw),
) if {
	verdict[0] == false
}

_report(p, h, hw, verdict) := _virtual(p, h, verdict[1], array.concat(_evidence(p, hw), [_hv_evidence(p, h)])) if {
	verdict[0] == true
}

_virtual(p, h, why, evidence) := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("%s is a virtual machine (%s) with the Hyper-V role: tolerated for evaluation and tests only, not for production", [p, why]),
	evidence,
) if {
	facts.value(h, ["features", "hyperv"]) == true
} else := result.fail_as(
	_rule, "no_hyperv", result.proxy_subject(p),
	sprintf("%s is a virtual machine (%s) without the Hyper-V role: a VM proxy needs nested virtualization and the Hyper-V role, and even then is for evaluation only", [p, why]),
	evidence,
) if {
	facts.value(h, ["features", "hyperv"]) == false
} else := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("%s is a virtual machine (%s); whether it has the Hyper-V role is unknown (features.hyperv not collected); a VM proxy is for evaluation only, not for production", [p, why]),
	evidence,
)
