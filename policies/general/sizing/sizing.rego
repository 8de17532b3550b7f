# METADATA
# title: Proxy meets the sizing floor for its concurrent tasks
# description: |
#   For every off-host proxy, with T = its max concurrent tasks (the backup server's
#   vbr.proxies[].max_tasks, else the assignment's max_tasks): CPU cores >= 2 + ceil(max(0, T-2)/2);
#   memory >= 2 GiB + 500 MiB x T; free space on the system drive >= 300 MiB; the fastest network
#   adapter that is up runs at >= 1 Gbps. Veeam writes GB and MB; this rule reads them as binary
#   units (GiB = 1024^3 bytes, MiB = 1024^2 bytes), the stricter reading. Fails on any shortfall
#   that the collected facts show; otherwise unknown when a fact (T, cores, memory, free space,
#   adapter state or speed) is missing, listing every missing fact path at once.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/system_requirements_hv_proxy.html
#     description: Hyper-V Backup Proxy system requirements
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/limiting_tasks.html
#     description: Limitation of Concurrent Tasks
# custom:
#   id: OHP-006
#   remediation: |
#     Either add resources to the proxy (vCPU/cores, RAM, free space on C:, a 1 Gbps or faster
#     adapter) or lower its Max concurrent tasks in the Veeam console (Backup Infrastructure >
#     Backup Proxies > proxy > Edit) or with `Set-VBRHvProxy -Proxy <proxy> -MaxTasks <n>`.
package offhost.general.sizing

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-006"

_gib := 1073741824

_mib := 1048576

_disk_floor := 300 * _mib

_nic_floor := 1000000000

# Performance: the max-task indexes are rules (built once, by proxy name); per proxy, every fact
# and every derived value is bound once and passed on (functions are re-evaluated on each call).
findings contains _decide(p, data.offhost.lib.facts.hosts_by_name[p], _tasks(p)) if some p in data.offhost.lib.facts.proxies

_vbr_tasks[p] contains x.max_tasks if {
	some x in facts.seq(object.get(input, ["vbr", "proxies"], null))
	p := facts.norm(x.name)
	is_number(x.max_tasks)
}

_assigned_tasks[p] contains a.max_tasks if {
	some a in facts.seq(object.get(input, "assignments", null))
	p := facts.norm(a.proxy)
	is_number(a.max_tasks)
}

# Max concurrent tasks with the fact path it came from: [tasks, path], or null when unknown.
_tasks(p) := [max(ts), sprintf("vbr.proxies[%s].max_tasks", [p])] if {
	ts := _vbr_tasks[p]
} else := [max(ts), sprintf("assignments[%s].max_tasks", [p])] if {
	ts := _assigned_tasks[p]
} else := null

_hw(h, k) := facts.value(h, ["hardware", k])

# facts.host_path(p, "hardware.<k>") in one call: proxy names are already normalised.
_hw_path(p, k) := sprintf("hosts[%s].hardware.%s", [p, k])

# Adapters whose state or speed is missing could be the fast one.
_nic_gaps(p, nics) := [sprintf("%s[%s].%s", [facts.host_path(p, "hardware.nics"), _nic_label(i, n), k]) |
	some i, n in nics
	object.get(n, "up", null) != false
	some k in ["up", "speed_bps"]
	object.get(n, k, null) == null
]

# An adapter is named by its name, or by its position when the name was not collected.
_nic_label(i, n) := n.name if {
	is_string(n.name)
} else := format_int(i, 10)

_fastest(speeds) := max(speeds) if {
	count(speeds) > 0
} else := 0

_needed_cores(t) := 2 + ceil(max([0, t - 2]) / 2)

_needed_memory(t) := (2 * _gib) + ((500 * _mib) * t)

# Human units, two decimals at most: "3.95 GiB", "300 MiB", "10 Gbps".
_bytes(b) := sprintf("%v GiB", [round((b * 100) / _gib) / 100]) if {
	b >= _gib
} else := sprintf("%v MiB", [round((b * 100) / _mib) / 100])

_speed(bps) := sprintf("%v Gbps", [round((bps * 100) / 1000000000) / 100]) if {
	bps >= 1000000000
} else := sprintf("%v Mbps", [round((bps * 100) / 1000000) / 100])

_check_order := ["cores", "memory", "disk", "nic"]

_hw_keys := ["cpu_cores", "memory_bytes", "system_drive_free_bytes", "nics"]

# speeds: the speeds of the adapters that are up; gaps: adapter states or speeds not collected.
_decide(p, h, t) := _report(p, t, hw, checks, gaps, missing) if {
	hw := {k: _hw(h, k) | some k in _hw_keys}
	nics := facts.seq(hw.nics)
	speeds := [n.speed_bps | some n in nics; n.up == true; is_number(n.speed_bps)]
	fastest := _fastest(speeds)
	gaps := _nic_gaps(p, nics)
	checks := _checks(t, hw, speeds, fastest, gaps)
	missing := array.concat(
		array.concat(
			[sprintf("vbr.proxies[%s].max_tasks", [p]) | t == null],
			[_hw_path(p, k) | some k in _hw_keys; hw[k] == null],
		),
		[g | fastest < _nic_floor; some g in gaps],
	)
}

# Each check: [shortfall?, text], present only when its facts are (cores and memory also need
# the max tasks). (A function with one definition per check costs regorus several times more.)
_checks(t, hw, speeds, fastest, gaps) := object.union_n([
	{"cores": _check_cores(t[0], hw.cpu_cores) | is_number(hw.cpu_cores); t != null},
	{"memory": _check_memory(t[0], hw.memory_bytes) | is_number(hw.memory_bytes); t != null},
	{"disk": _check_disk(hw.system_drive_free_bytes) | is_number(hw.system_drive_free_bytes)},
	{"nic": _check_nic(speeds, fastest, gaps) | is_array(hw.nics)},
])

_check_cores(t, n) := [n < needed, sprintf("%d CPU cores (needs %d for %d tasks)", [n, needed, t])] if needed := _needed_cores(t)

_check_memory(t, b) := [b < needed, sprintf("%s RAM (needs %s for %d tasks)", [_bytes(b), _bytes(needed), t])] if needed := _needed_memory(t)

_check_disk(b) := [b < _disk_floor, sprintf("%s free on the system drive (needs %s)", [_bytes(b), _disk_floor_text])]

_disk_floor_text := _bytes(_disk_floor)

_check_nic(speeds, fastest, gaps) := [true, "no network adapter is up"] if {
	count(speeds) == 0
	count(gaps) == 0
} else := [fastest < _nic_floor, sprintf("fastest adapter up at %s (needs %s)", [_speed(fastest), _nic_floor_text])]

_nic_floor_text := _speed(_nic_floor)

# A slow or absent adapter is no shortfall while another adapter's state or speed is missing.
_nic_undecided("nic", gaps) if count(gaps) > 0

_evidence(p, t, hw) := array.concat(
	[{"path": t[1], "value": t[0]} | t != null],
	[{"path": _hw_path(p, k), "value": hw[k]} | some k in _hw_keys],
)

_missing_note(missing) := sprintf("; also not collected: %s", [concat(", ", missing)]) if {
	count(missing) > 0
} else := ""

_report(p, t, hw, checks, gaps, missing) := result.fail(
	_rule, result.proxy_subject(p),
	sprintf("%s is below the sizing floor: %s%s", [p, concat("; ", shortfalls), _missing_note(missing)]),
	_evidence(p, t, hw),
) if {
	shortfalls := [checks[k][1] | some k in _check_order; checks[k][0] == true; not _nic_undecided(k, gaps)]
	count(shortfalls) > 0
} else := result.unknown(_rule, result.proxy_subject(p), missing) if {
	count(missing) > 0
} else := result.pass(
	_rule, result.proxy_subject(p),
	sprintf("%s meets the sizing floor: %s", [p, concat("; ", [checks[k][1] | some k in _check_order; checks[k][0] == false])]),
	_evidence(p, t, hw),
)
