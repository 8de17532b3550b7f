# METADATA
# title: Off-host proxy sees the CSV LUNs over the SAN
# description: |
#   For every proxy and every CSV of every cluster it serves: each LUN behind the CSV
#   (disk_unique_ids) must be among the proxy's disks (Get-Disk UniqueId, case-insensitive), and
#   the proxy must have a SAN path (an FC, iSCSI or SAS initiator port, or a disk on such a bus).
#   Offline LUNs on the proxy are expected (SAN policy offline_shared). A LUN that is iSCSI on
#   the cluster nodes and invisible on an iSCSI-connected proxy is reported with the medium
#   on_the_fly variant (arrays whose VSS hardware provider presents snapshot LUNs on demand).
#   Unknown when the CSV list, the CSV's LUN ids or the proxy's disk list was not collected, or
#   when a LUN is not seen and one of the proxy's disks has no unique_id (it may be that LUN).
#   A proxy that serves no cluster gets one proxy-level finding: not_applicable when its
#   assignment names no cluster or the cluster list was collected, unknown (clusters) when it has
#   no assignment and the cluster list was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (SAN connection and read access to the LUNs)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_proxy_advanced.html
#     description: Off-Host Backup Proxy advanced settings (iSCSI providers that connect snapshots on the fly)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/present_volumes.html
#     description: Presenting volumes to the off-host proxy (Connected volumes, Manual selection)
# custom:
#   id: OHP-011
#   remediation: |
#     Zone or map the CSV LUNs to the proxy on the array and the SAN (FC zoning, iSCSI target
#     access list, SAS host mapping) so that Get-Disk on the proxy lists every UniqueId behind
#     the CSVs; leave them offline (Set-StorageSetting -NewDiskPolicy OfflineShared). With an
#     iSCSI array whose VSS hardware provider connects snapshot LUNs on the fly, open the proxy
#     in the Veeam console (Backup Infrastructure > Backup Proxies > Properties), set Connected
#     volumes to Manual selection, add the CSV volumes, and assign that proxy to the job.
package offhost.csv.san_access

import rego.v1

import data.offhost.lib.csvs
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-011"

_san_buses := {"fc", "iscsi", "sas"}
# Performance: per proxy, its storage facts, texts and a disk index by LUN id are computed once
# (_proxy_facts, _proxy_disk_refs); per CSV, the LUN ids and the lost ones are computed once and
# passed on (functions are re-evaluated on every call). The nodes' disks are only scanned for
# lost LUNs.

# One unknown per served cluster whose CSV list is missing, one finding per proxy serving no
# cluster (policies/lib/csvs.rego), then one finding per CSV.
findings contains f if some f in csvs.frame_findings(_rule)

findings contains f if {
	some p, pairs in data.offhost.lib.csvs.served_csvs
	some [c, csv] in pairs
	f := _finding(p, c, csv, _proxy_facts[p])
}

# pf: _proxy_facts[p]; ids: the CSV's LUN ids; matches: [id, the proxy's disks with it] for
# each; lost: the ids the proxy does not see.
_finding(p, c, csv, pf) := _decide(p, c, csv, pf, ids, matches, lost) if {
	ids := facts.seq(_ids(csv))
	matches := [[id, _proxy_disks_with(p, pf, id)] | some id in ids]
	lost := [id | some [id, ds] in matches; count(ds) == 0]
}

_decide(p, c, csv, pf, ids, matches, lost) := result.unknown(_rule, _subject(p, c, csv), missing) if {
	missing := array.concat(
		[_csv_path(c, csv, "disk_unique_ids") | count(ids) == 0],
		[facts.host_path(p, "storage.disks") | pf.disks == null],
	)
	count(missing) > 0
} else := result.unknown(_rule, _subject(p, c, csv), _null_ids(p, pf)) if {
	# a LUN the proxy does not seem to see may be a disk whose id was not read
	count(lost) > 0
	count(_null_ids(p, pf)) > 0
} else := result.fail_as(_rule, "on_the_fly", _subject(p, c, csv), _on_the_fly_message(p, c, csv, pf, lost), _evidence(c, csv, pf, lost)) if {
	count(lost) > 0
	_on_the_fly(p, c, lost)
} else := result.fail(_rule, _subject(p, c, csv), _lost_message(p, c, csv, pf, lost), _evidence(c, csv, pf, lost)) if {
	count(lost) > 0
} else := result.pass(_rule, _subject(p, c, csv), _pass_message(p, c, csv, pf, matches), _evidence(c, csv, pf, lost)) if {
	pf.san
} else := result.unknown(_rule, _subject(p, c, csv), [facts.host_path(p, "storage.initiator_ports")]) if {
	pf.ports == null
} else := result.fail(_rule, _subject(p, c, csv), _no_san_message(p, c, csv, pf, matches), _evidence(c, csv, pf, lost))

_subject(p, c, csv) := result.proxy_csv_subject(p, c, csv.name)

# The proxy's disks whose LUN id (unique_id) was not collected, as fact paths.
_null_ids(p, pf) := [sprintf("hosts[%s].storage.disks[%d].unique_id", [p, i]) |
	some i, d in facts.seq(pf.disks)
	object.get(d, "unique_id", null) == null
]

_csv_path(c, csv, field) := facts.cluster_path(c, sprintf("csvs[%s].%s", [csv.name, field]))

_ids(csv) := object.get(csv, "disk_unique_ids", null)

_storage(host, field) := object.get(data.offhost.lib.facts.hosts_by_name, [host, "storage", field], null)

_disks(host) := _storage(host, "disks")

_ports(p) := _storage(p, "initiator_ports")

# The proxy's storage facts and what follows from them, once per proxy.
_proxy_facts := {p: _proxy_facts_of(p, object.get(data.offhost.lib.facts.hosts_by_name, [p, "storage"], null)) | some p in data.offhost.lib.facts.proxies}

# st: the proxy's storage facts; each field is read once. (Paths as by facts.host_path: proxy
# names are already normalised.)
_proxy_facts_of(p, st) := {
	"disks": disks,
	"ports": ports,
	"iscsi_sessions": sessions,
	"san_policy": policy,
	"san": _flag_san_connected(ports, disks),
	"ports_text": _ports_text_of(ports),
	"evidence": [
		{"path": sprintf("hosts[%s].storage.disks[].unique_id", [p]), "value": [d.unique_id | some d in facts.seq(disks)]},
		{"path": sprintf("hosts[%s].storage.initiator_ports", [p]), "value": ports},
		{"path": sprintf("hosts[%s].storage.iscsi_sessions", [p]), "value": sessions},
		{"path": sprintf("hosts[%s].storage.san_policy", [p]), "value": policy},
	],
} if {
	disks := _field(st, "disks")
	ports := _field(st, "initiator_ports")
	sessions := _field(st, "iscsi_sessions")
	policy := _field(st, "san_policy")
}

_field(st, name) := object.get(st, name, null) if {
	is_object(st)
} else := null

_key(id) := upper(trim_space(id))

_disks_with(host, id) := [d |
	some d in facts.seq(_disks(host))
	is_string(d.unique_id)
	_key(d.unique_id) == _key(id)
]

# _proxy_disk_refs[_ref(p, key)]: the positions of the proxy's disks with that LUN id. (regorus
# rejects an array as the key in a rule head: the key is a string.)
_proxy_disk_refs[ref] contains i if {
	some p in data.offhost.lib.facts.proxies
	some i, d in facts.seq(_disks(p))
	is_string(d.unique_id)
	ref := _ref(p, _key(d.unique_id))
}

_ref(p, k) := concat("\n", [p, k])

# Like _disks_with(p, id), in the order of the proxy's disk list, through the index.
_proxy_disks_with(p, pf, id) := [disks[i] |
	disks := facts.seq(pf.disks)
	some i in _proxy_disk_refs[_ref(p, _key(id))]
]

_san_connected(ports, _) if {
	some port in facts.seq(ports)
	port.type in _san_buses
}

_san_connected(_, disks) if {
	some d in facts.seq(disks)
	object.get(d, "bus_type", null) in _san_buses
}

_flag_san_connected(ports, disks) := true if {
	_san_connected(ports, disks)
} else := false

_iscsi_connected(p) if {
	some port in facts.seq(_ports(p))
	port.type == "iscsi"
}

_iscsi_connected(p) if {
	some s in facts.seq(_storage(p, "iscsi_sessions"))
	object.get(s, "connected", null) != false
}

_nodes(c) := facts.seq(object.get(data.offhost.lib.facts.clusters_by_name, [c, "nodes"], null))

# Bus types the cluster nodes report for one LUN.
_node_buses(c, id) := {object.get(d, "bus_type", null) |
	some n in _nodes(c)
	some d in _disks_with(facts.norm(n), id)
}

_on_the_fly(p, c, lost) if {
	_iscsi_connected(p)
	every id in lost {
		_node_buses(c, id) == {"iscsi"}
	}
}

# ---- messages -----------------------------------------------------------------------------

_bus_text(c, id) := "not collected on the nodes" if {
	count(_node_buses(c, id)) == 0
} else := concat("/", [sprintf("%v", [b]) | some b in _node_buses(c, id)])

_lost_text(c, lost) := concat(", ", [sprintf("%s (bus on the cluster nodes: %s)", [id, _bus_text(c, id)]) | some id in lost])

_lun_text(matches) := concat(", ", [sprintf("%s as disk %v (%v%s)", [id, object.get(d, "number", null), object.get(d, "bus_type", null), _offline_text(d)]) |
	some [id, ds] in matches
	d := ds[0]
])

_offline_text(d) := ", offline" if {
	object.get(d, "is_offline", null) == true
} else := ""

_ports_text_of(ports) := "not collected" if {
	ports == null
} else := "none" if {
	count(ports) == 0
} else := concat(", ", [_port_text(port) | some port in ports])

# _port_text(port): "iscsi iqn.1991-05.com.microsoft:px1.corp.example", "fc 21000024ff..."
_port_text(port) := sprintf("%v %v", [port.type, port.address]) if {
	is_string(object.get(port, "address", null))
} else := sprintf("%v", [port.type])

_offline_note(pf, matches) := sprintf(
	" Offline is expected here: SAN policy %v keeps shared LUNs offline on a server outside the cluster, and the snapshot is mounted only during the backup.",
	[pf.san_policy],
) if {
	some [_, ds] in matches
	some d in ds
	d.is_offline == true
} else := ""

_pass_message(p, c, csv, pf, matches) := sprintf(
	"%s sees every LUN behind CSV %s of cluster %s: %s; initiator ports: %s.%s",
	[p, csv.name, c, _lun_text(matches), pf.ports_text, _offline_note(pf, matches)],
)

_lost_message(p, c, csv, pf, lost) := sprintf(
	"%s does not see LUN(s) %s behind CSV %s of cluster %s (the proxy has %d disk(s); initiator ports: %s). The off-host proxy must reach these LUNs through the SAN (FC, iSCSI or SAS) to mount the transportable snapshot; without them jobs fall back to on-host backup or fail.",
	[p, _lost_text(c, lost), csv.name, c, count(pf.disks), pf.ports_text],
)

_on_the_fly_message(p, c, csv, pf, lost) := sprintf(
	"%s does not see LUN(s) %s behind CSV %s of cluster %s, but these LUNs are iSCSI on the cluster nodes and the proxy has iSCSI connectivity (initiator ports: %s; iSCSI sessions: %d). If the array's VSS hardware provider connects snapshot LUNs on the fly, automatic proxy detection cannot see the volume: present it to the proxy manually (proxy settings: Connected volumes -> Manual selection) and assign this proxy to the job.",
	[p, _lost_text(c, lost), csv.name, c, pf.ports_text, count(facts.seq(pf.iscsi_sessions))],
)

_no_san_message(p, c, csv, pf, matches) := sprintf(
	"%s lists the LUN(s) behind CSV %s of cluster %s (%s) but has no SAN path: no FC, iSCSI or SAS initiator port (initiator ports: %s) and no disk on such a bus. Off-host backup imports the snapshot over the SAN.",
	[p, csv.name, c, _lun_text(matches), pf.ports_text],
)

_evidence(c, csv, pf, lost) := array.concat(
	array.concat([{"path": _csv_path(c, csv, "disk_unique_ids"), "value": _ids(csv)}], pf.evidence),
	[{"path": facts.host_path(n, sprintf("storage.disks[%s].bus_type", [id])), "value": object.get(d, "bus_type", null)} |
		some id in lost
		some n in _nodes(c)
		some d in _disks_with(facts.norm(n), id)
	],
)
