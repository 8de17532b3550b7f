# METADATA
# title: Where each VM's disks live
# description: |
#   Lists, per VM, where each virtual disk lives: a Cluster Shared Volume, an SMB3 share, or local
#   storage (from the collected storage type, else from the path: C:\ClusterStorage\ is CSV,
#   \\server\share is SMB, anything else local). Local disks cannot be processed by an off-host
#   proxy, so such VMs fall back to on-host mode: reported as an info-level fail. Subject: VM.
#   unknown when the disks were not collected (one unknown, subject HOST/*, for all VMs of a host
#   whose VM inventory was not collected); not_applicable for a VM without virtual disks.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (CSV and SMB3 shared storage)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/backup_job_storage_hv.html
#     description: Backup job storage settings (failover to on-host backup mode)
# custom:
#   id: OHP-031
#   remediation: |
#     Nothing to fix when on-host processing is intended. To back such a VM up off-host, move its
#     disks to a CSV or an SMB3 share with Hyper-V storage migration
#     (`Move-VMStorage -VMName VM01 -DestinationStoragePath C:\ClusterStorage\Volume1\VM01`).
package offhost.vm.disk_location

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-031"

_vms := [vm | some vm in facts.seq(object.get(input, "vms", null)); is_object(vm)]

_vm_path(vm, field) := sprintf("vms[%s].%s", [vm.name, field])

_subject(vm) := result.vm_subject(vm.name, facts.host_key(vm.host))

# location(d): csv, smb or local.
location(d) := d.storage if {
	d.storage in {"csv", "smb", "local"}
} else := "csv" if {
	startswith(lower(trim_space(d.path)), "c:\\clusterstorage\\")
} else := "smb" if {
	startswith(trim_space(d.path), "\\\\")
} else := "local"

findings contains f if {
	some vm in _vms
	not is_array(object.get(vm, "disks", null))
	f := result.unknown(_rule, _subject(vm), [_vm_path(vm, "disks")])
}

# A Hyper-V host whose VMs were not collected: one unknown for all of its VMs.
findings contains f if {
	some h, path in data.offhost.lib.facts.vms_missing
	f := result.unknown_because(
		_rule, result.host_vms_subject(h), [path],
		sprintf("the VMs on %s were not collected, so where their disks live is not known", [h]),
	)
}

findings contains f if {
	some vm in _vms
	vm.disks == []
	f := result.not_applicable(_rule, _subject(vm), sprintf("%s has no virtual hard disk", [vm.name]))
}

findings contains f if {
	some vm in _vms
	is_array(object.get(vm, "disks", null))
	count(vm.disks) > 0
	rows := [{"path": sprintf("%s[%d]", [_vm_path(vm, "disks"), i]), "value": {"path": d.path, "location": location(d)}} |
		some i, d in vm.disks
	]
	f := _judge(vm, rows, [r | some r in rows; r.value.location == "local"])
}

_list(rows) := concat(", ", [sprintf("%s (%s)", [r.value.path, r.value.location]) | some r in rows])

_judge(vm, rows, []) := result.pass(
	_rule, _subject(vm),
	sprintf("%s: all disks on shared storage an off-host proxy can reach: %s", [vm.name, _list(rows)]),
	rows,
)

_judge(vm, rows, local) := result.fail(
	_rule, _subject(vm),
	sprintf("%s: %d disk(s) on local storage, which an off-host proxy cannot read, so its backup falls back to on-host mode: %s", [
		vm.name, count(local), _list(rows),
	]),
	rows,
) if {
	count(local) > 0
}
