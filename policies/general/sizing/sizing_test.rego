package offhost.general.sizing_test

import rego.v1

import data.offhost.general.sizing as rule

_gib := 1073741824

_mib := 1048576

_hw := {
	"cpu_cores": 16,
	"memory_bytes": 128 * _gib,
	"system_drive_free_bytes": 200 * _gib,
	"nics": [{"name": "SLOT 3 Port 1", "speed_bps": 10000000000, "up": true}],
}

_input(hardware, vbr_tasks, assigned_tasks) := {
	"schema_version": 1,
	"vbr": {"proxies": [{"name": "proxy01.corp.example", "max_tasks": vbr_tasks}]},
	"assignments": [{"proxy": "PROXY01", "max_tasks": assigned_tasks, "sources": []}],
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "hardware": hardware},
		{"name": "HV01", "roles": ["hyperv_host"], "hardware": {"cpu_cores": 1}},
	],
}

_run(inp) := f if {
	fs := rule.findings with input as inp
	count(fs) == 1
	some f in fs
}

test_pass_states_actual_and_needed_values if {
	f := _run(_input(_hw, 4, 4))
	f.status == "pass"
	f.rule_id == "OHP-006"
	f.severity == "medium"
	f.message == "PROXY01 meets the sizing floor: 16 CPU cores (needs 3 for 4 tasks); 128 GiB RAM (needs 3.95 GiB for 4 tasks); 200 GiB free on the system drive (needs 300 MiB); fastest adapter up at 10 Gbps (needs 1 Gbps)"
	{"path": "vbr.proxies[PROXY01].max_tasks", "value": 4} in f.evidence
	{"path": "hosts[PROXY01].hardware.cpu_cores", "value": 16} in f.evidence
}

test_core_floor_formula if {
	# 2 tasks -> 2 cores, 3 -> 3, 4 -> 3, 5 -> 4, 16 -> 9; 0 tasks -> 2.
	every c in [[0, 2], [2, 2], [3, 3], [4, 3], [5, 4], [16, 9]] {
		f := _run(_input(object.union(_hw, {"cpu_cores": c[1]}), c[0], null))
		f.status == "pass"
		g := _run(_input(object.union(_hw, {"cpu_cores": c[1] - 1}), c[0], null))
		g.status == "fail"
		contains(g.message, sprintf("%d CPU cores (needs %d for %d tasks)", [c[1] - 1, c[1], c[0]]))
	}
}

test_memory_floor_is_2gib_plus_500mib_per_task if {
	exact := (2 * _gib) + (8 * 500) * _mib
	_run(_input(object.union(_hw, {"memory_bytes": exact}), 8, null)).status == "pass"
	f := _run(_input(object.union(_hw, {"memory_bytes": exact - 1}), 8, null))
	f.status == "fail"
	contains(f.message, "RAM (needs 5.91 GiB for 8 tasks)")
}

test_fail_lists_every_shortfall if {
	hw := {
		"cpu_cores": 2,
		"memory_bytes": 4 * _gib,
		"system_drive_free_bytes": 100 * _mib,
		"nics": [{"name": "A", "speed_bps": 100000000, "up": true}, {"name": "B", "speed_bps": 10000000000, "up": false}],
	}
	f := _run(_input(hw, 8, null))
	f.status == "fail"
	f.message == "PROXY01 is below the sizing floor: 2 CPU cores (needs 5 for 8 tasks); 4 GiB RAM (needs 5.91 GiB for 8 tasks); 100 MiB free on the system drive (needs 300 MiB); fastest adapter up at 100 Mbps (needs 1 Gbps)"
}

test_fail_when_no_adapter_is_up if {
	hw := object.union(_hw, {"nics": [{"name": "A", "speed_bps": 10000000000, "up": false}]})
	f := _run(_input(hw, 4, null))
	f.status == "fail"
	contains(f.message, "no network adapter is up")
}

test_backup_server_value_wins_over_assignment if {
	f := _run(_input(object.union(_hw, {"cpu_cores": 3}), 4, 16))
	f.status == "pass"
	g := _run(_input(object.union(_hw, {"cpu_cores": 3}), null, 16))
	g.status == "fail"
	contains(g.message, "needs 9 for 16 tasks")
	{"path": "assignments[PROXY01].max_tasks", "value": 16} in g.evidence
}

test_unknown_without_max_tasks if {
	f := _run(_input(_hw, null, null))
	f.status == "unknown"
	f.missing == ["vbr.proxies[PROXY01].max_tasks"]
}

test_unknown_lists_every_missing_fact if {
	inp := object.remove(_input(null, null, null), ["vbr", "assignments"])
	f := _run(inp)
	f.status == "unknown"
	f.missing == [
		"vbr.proxies[PROXY01].max_tasks",
		"hosts[PROXY01].hardware.cpu_cores",
		"hosts[PROXY01].hardware.memory_bytes",
		"hosts[PROXY01].hardware.system_drive_free_bytes",
		"hosts[PROXY01].hardware.nics",
	]
}

test_shortfall_on_known_facts_fails_even_with_missing_ones if {
	hw := object.union(_hw, {"system_drive_free_bytes": 10 * _mib, "cpu_cores": null})
	f := _run(_input(hw, null, null))
	f.status == "fail"
	f.message == "PROXY01 is below the sizing floor: 10 MiB free on the system drive (needs 300 MiB); also not collected: vbr.proxies[PROXY01].max_tasks, hosts[PROXY01].hardware.cpu_cores"
}

test_adapter_with_missing_speed_or_state_is_unknown_unless_another_is_fast if {
	slow_and_blind := object.union(_hw, {"nics": [
		{"name": "A", "speed_bps": 100000000, "up": true},
		{"name": "B", "speed_bps": null, "up": true},
		{"name": "C"},
		{"name": "D", "speed_bps": null, "up": false},
		{"name": null, "speed_bps": 1000000000},
	]})
	f := _run(_input(slow_and_blind, 4, null))
	f.status == "unknown"
	f.missing == [
		"hosts[PROXY01].hardware.nics[B].speed_bps",
		"hosts[PROXY01].hardware.nics[C].up",
		"hosts[PROXY01].hardware.nics[C].speed_bps",
		"hosts[PROXY01].hardware.nics[4].up",
	]
	fast := object.union(_hw, {"nics": [{"name": "A", "speed_bps": 25000000000, "up": true}, {"name": "C"}]})
	g := _run(_input(fast, 4, null))
	g.status == "pass"
	contains(g.message, "fastest adapter up at 25 Gbps")
}
