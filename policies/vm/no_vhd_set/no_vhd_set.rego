# METADATA
# title: No VHD Set disks on VMs backed up off-host
# description: |
#   A VM with a VHD Set disk (format vhds, or a path ending in .vhds in any case) cannot be
#   backed up through an off-host proxy: the job fails. Subject: VM. not_applicable when no proxy
#   serves the VM's host; unknown when the VM's disks were not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (limitation on VHD Set)
# custom:
#   id: OHP-030
#   severity: high
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

_vms := [vm | some vm in _arr(object.get(input, "vms", null)); is_object(vm)]

_arr(v) := v if {
	is_array(v)
} else := []

_vm_path(vm, field) := sprintf("vms[%s].%s", [vm.name, field])

_subject(vm) := result.vm_subject(vm.name, facts.norm(vm.host))

_served(vm) if {
	some p in facts.proxies
	facts.norm(vm.host) in object.get(facts.served_hosts, p, set())
}

_is_vhds(d) if object.get(d, "format", null) == "vhds"

_is_vhds(d) if endswith(lower(trim_space(d.path)), ".vhds")

findings contains f if {
	some vm in _vms
	not _served(vm)
	f := result.not_applicable(_rule, _subject(vm), sprintf(
		"no off-host proxy serves host %s, so %s is not backed up off-host",
		[facts.norm(vm.host), vm.name],
	))
}

findings contains f if {
	some vm in _vms
	_served(vm)
	not is_array(object.get(vm, "disks", null))
	f := result.unknown(_rule, _subject(vm), [_vm_path(vm, "disks")])
}

findings contains f if {
	some vm in _vms
	_served(vm)
	is_array(object.get(vm, "disks", null))
	sets := [{"path": sprintf("%s[%d]", [_vm_path(vm, "disks"), i]), "value": d} | some i, d in vm.disks; _is_vhds(d)]
	f := _judge(vm, sets)
}

_judge(vm, []) := result.pass(
	_rule, _subject(vm),
	sprintf("%s has no VHD Set disk (%d disk(s): %s)", [vm.name, count(vm.disks), concat(", ", [d.path | some d in vm.disks])]),
	[{"path": _vm_path(vm, "disks"), "value": vm.disks}],
)

_judge(vm, sets) := result.fail(
	_rule, _subject(vm),
	sprintf("%s on %s has VHD Set disk(s) %s: an off-host backup of this VM fails; process it on-host", [
		vm.name, facts.norm(vm.host), concat(", ", [r.value.path | some r in sets]),
	]),
	sets,
) if {
	count(sets) > 0
}
