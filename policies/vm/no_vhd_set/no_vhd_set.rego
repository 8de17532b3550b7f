# METADATA
# title: No VHD Set disks on VMs backed up off-host
# description: |
#   A VM with a VHD Set disk (format vhds, or a path ending in .vhds in any case) cannot be
#   backed up through an off-host proxy: the job fails. Subject: VM. not_applicable when no proxy
#   serves the VM's host (unknown when that is not known: the cluster's node list and the host's
#   membership both missing); unknown when the VM's disks were not collected, and one unknown for all
#   VMs of a served host whose VM inventory was not collected (subject HOST/*).
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (limitation on VHD Set)
# custom:
#   id: OHP-030
#   remediation: |
#     Back up VMs with VHD Set (.vhds) disks with on-host processing: put them in a job whose
#     backup mode is on-host (job > Storage > Advanced > Hyper-V, or a job without off-host
#     proxies), or exclude them from the off-host job. Find them with
#     `Get-VM | Get-VMHardDiskDrive | Where-Object Path -like '*.vhds'` on each Hyper-V host.
package offhost.vm.no_vhd_set

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-030"

_vms := [vm | some vm in facts.seq(object.get(input, "vms", null)); is_object(vm)]

_vm_path(vm, field) := sprintf("vms[%s].%s", [vm.name, field])

# One pass over the VMs, one finding each: the host name is normalised once per VM, and whether
# a proxy serves the host is a lookup (facts.served).
findings contains f if {
	some vm in _vms
	h := facts.host_key(vm.host)
	f := _finding(vm, h, facts.served(h), object.get(vm, "disks", null))
}

# A Hyper-V host whose VMs were not collected: one finding for all of its VMs.
findings contains f if {
	some h, path in data.offhost.lib.facts.vms_missing
	f := _host_finding(h, path, facts.served(h))
}

_host_finding(h, path, true) := result.unknown_because(
	_rule, result.host_vms_subject(h), [path],
	sprintf("the VMs on %s were not collected, so their disks cannot be checked for VHD Sets", [h]),
)

_host_finding(h, _, false) := result.not_applicable(_rule, result.host_vms_subject(h), sprintf(
	"no off-host proxy serves host %s, so its VMs are not backed up off-host",
	[h],
)) if {
	not data.offhost.lib.facts.maybe_served_host[h]
}

_host_finding(h, path, false) := _maybe_served(result.host_vms_subject(h), h, array.concat([path], missing)) if {
	missing := data.offhost.lib.facts.maybe_served_host[h]
}

_is_vhds(d) if object.get(d, "format", null) == "vhds"

_is_vhds(d) if endswith(lower(trim_space(d.path)), ".vhds")

# _finding(vm, h, served, disks)
_finding(vm, h, false, _) := result.not_applicable(_rule, result.vm_subject(vm.name, h), sprintf(
	"no off-host proxy serves host %s, so %s is not backed up off-host",
	[h, vm.name],
)) if {
	not data.offhost.lib.facts.maybe_served_host[h]
}

_finding(vm, h, false, _) := _maybe_served(result.vm_subject(vm.name, h), h, missing) if {
	missing := data.offhost.lib.facts.maybe_served_host[h]
}

_maybe_served(subject, h, missing) := result.unknown_because(_rule, subject, missing, sprintf(
	"whether an off-host proxy serves host %s is not known: the cluster's node list and the host's own membership are missing",
	[h],
))

_finding(vm, h, true, disks) := result.unknown(_rule, result.vm_subject(vm.name, h), [_vm_path(vm, "disks")]) if {
	not is_array(disks)
}

_finding(vm, h, true, disks) := _judge(vm, h, disks, sets) if {
	is_array(disks)
	path := _vm_path(vm, "disks")
	sets := [{"path": sprintf("%s[%d]", [path, i]), "value": d} | some i, d in disks; _is_vhds(d)]
}

_judge(vm, h, disks, []) := result.pass(
	_rule, result.vm_subject(vm.name, h),
	sprintf("%s has no VHD Set disk (%d disk(s): %s)", [vm.name, count(disks), concat(", ", [d.path | some d in disks])]),
	[{"path": _vm_path(vm, "disks"), "value": disks}],
)

_judge(vm, h, _, sets) := result.fail(
	_rule, result.vm_subject(vm.name, h),
	sprintf("%s on %s has VHD Set disk(s) %s: an off-host backup of this VM fails; process it on-host", [
		vm.name, h, concat(", ", [r.value.path | some r in sets]),
	]),
	sets,
) if {
	count(sets) > 0
}
