# METADATA
# title: Supported 64-bit Windows Server on the proxy
# description: |
#   For every off-host proxy: the OS is 64-bit, a server edition (a domain controller passes, with a
#   note that Veeam advises against it), and its build number is in the support matrix of the target
#   VBR major version (policies/data/profiles.rego). The release is named from the build, never
#   from the localized caption. Unknown when the build, bitness or product type was not collected,
#   or when the VBR major version has no support-matrix entry.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/system_requirements_hv_proxy.html
#     description: Hyper-V Backup Proxy system requirements
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy
# custom:
#   id: OHP-001
#   remediation: |
#     Pick a 64-bit Windows Server release that your VBR version lists for Hyper-V proxies (VBR 13:
#     2016, 2019, 2022 or 2025, Core included) and rebuild or upgrade the proxy machine; check with
#     `Get-CimInstance Win32_OperatingSystem | Select BuildNumber,ProductType,OSArchitecture`.
#     Avoid domain controllers as proxies.
package offhost.general.os_supported

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-001"

_fields := ["build", "is_64bit", "product_type"]

findings contains _decide(p, data.offhost.lib.facts.hosts_by_name[p]) if some p in data.offhost.lib.facts.proxies

_supported := data.offhost.data.profiles.supported_proxy_builds[data.offhost.lib.facts.vbr_major]

_vbr := sprintf("VBR %s", [data.offhost.lib.facts.vbr_major]) if {
	input.vbr.version
} else := sprintf("VBR %s (assumed: vbr.version not collected)", [data.offhost.lib.facts.vbr_major])

_release(build) := name if {
	name := data.offhost.data.profiles.windows_server_releases[format_int(build, 10)]
} else := "not a known Windows Server LTSC build"

_missing(p, h) := array.concat(
	[facts.host_path(p, sprintf("os.%s", [k])) | some k in _fields; not facts.has(h, ["os", k])],
	[m | some m in ["vbr.version"]; not _supported],
)

_supported_text := concat(", ", [sprintf("%d (%s)", [b, _release(b)]) | some b in sort([to_number(s) | some s in _supported])])

_problems(h) := {"the OS is 32-bit; Veeam needs a 64-bit Windows Server" | h.os.is_64bit == false} | {
	"it is a client (workstation) edition, not Windows Server" | h.os.product_type == "workstation"
} | {msg |
	not format_int(h.os.build, 10) in _supported
	msg := sprintf("%s does not support this build for a Hyper-V off-host proxy; supported builds: %s", [_vbr, _supported_text])
}

_evidence(p, h) := array.concat(
	[{"path": facts.host_path(p, sprintf("os.%s", [k])), "value": facts.value(h, ["os", k])} | some k in _fields],
	[{"path": "vbr.version", "value": object.get(input, ["vbr", "version"], null)}],
)

_describe(h) := sprintf("build %d (%s), %s, product type %s", [
	h.os.build, _release(h.os.build),
	{true: "64-bit", false: "32-bit"}[h.os.is_64bit], h.os.product_type,
])

_dc_note(h) := "; it is a domain controller: supported, but Veeam advises against installing its components on a domain controller" if {
	h.os.product_type == "domain_controller"
} else := ""

# (missing and problems are bound once: functions are re-evaluated on every call.)
_decide(p, h) := result.unknown(_rule, result.proxy_subject(p), missing) if {
	missing := _missing(p, h)
	count(missing) > 0
} else := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("%s: %s", [_describe(h), concat("; ", sort(problems))]),
	_evidence(p, h),
) if {
	problems := _problems(h)
	count(problems) > 0
} else := result.pass(
	_rule, result.proxy_subject(p),
	sprintf("%s: supported for an off-host proxy by %s%s", [_describe(h), _vbr, _dc_note(h)]),
	_evidence(p, h),
)
