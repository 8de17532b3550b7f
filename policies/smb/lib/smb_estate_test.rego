# Shared test data for the smb rules: a trimmed copy of examples/facts/smb-estate.json (only the
# facts these rules read). The helper tests are in smb_lib_test.rego.
# Indexes used by the rule tests: hosts 0 PROXY01, 1 HV01, 2 HV02, 3 FS01; shares 0 \\FS01\VMS,
# 1 \\FS01\VMS2; domains 0 corp.example, 1 res.example; vms 0 VM01, 1 VM02, 2 VM03.
package offhost.smb.lib_test

import rego.v1

corp := "S-1-5-21-1004336348-1177238915-682003330"

# patched(ops): the estate with JSON-patch operations applied.
patched(ops) := json.patch(estate, ops)

estate := {
	"schema_version": 1,
	"assignments": [
		{
			"proxy": "PROXY01",
			"max_tasks": 4,
			"sources": [
				{
					"kind": "host",
					"name": "HV01"
				},
				{
					"kind": "host",
					"name": "HV02"
				}
			]
		}
	],
	"vms": [
		{
			"name": "VM01",
			"id": "0d6c3f4e-1b8a-4c2e-9f70-5a1e2b3c4d01",
			"host": "HV01",
			"cluster": null,
			"disks": [
				{
					"path": "\\\\fs01.res.example\\vms\\VM01\\VM01.vhdx",
					"storage": "smb",
					"format": "vhdx",
					"csv": null,
					"share": "\\\\fs01.res.example\\vms"
				}
			]
		},
		{
			"name": "VM02",
			"id": "0d6c3f4e-1b8a-4c2e-9f70-5a1e2b3c4d02",
			"host": "HV02",
			"cluster": null,
			"disks": [
				{
					"path": "\\\\FS01\\VMS2\\VM02\\VM02.vhdx",
					"storage": "smb",
					"format": "vhdx",
					"csv": null,
					"share": "\\\\FS01\\VMS2"
				}
			]
		},
		{
			"name": "VM03",
			"id": "0d6c3f4e-1b8a-4c2e-9f70-5a1e2b3c4d03",
			"host": "HV02",
			"cluster": null,
			"disks": [
				{
					"path": "\\\\FS01\\VMS\\VM03\\VM03.vhdx",
					"storage": "smb",
					"format": "vhdx",
					"csv": null,
					"share": "\\\\FS01\\VMS"
				},
				{
					"path": "\\\\FS01\\VMS\\Shared\\Data.VHDS",
					"storage": "smb",
					"format": "vhds",
					"csv": null,
					"share": "\\\\FS01\\VMS"
				}
			]
		}
	],
	"shares": [
		{
			"unc": "\\\\FS01\\VMS",
			"server": "FS01",
			"name": "VMS",
			"path": "D:\\Shares\\VMS",
			"dialect": "3.1.1",
			"share_acl": [
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1101",
					"name": "CORP\\HV01$",
					"type": "allow",
					"mask": 2032127,
					"flags": 0
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1102",
					"name": "CORP\\HV02$",
					"type": "allow",
					"mask": 2032127,
					"flags": 0
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1120",
					"name": "CORP\\HV-Backup-Readers",
					"type": "allow",
					"mask": 1179817,
					"flags": 0
				}
			],
			"ntfs_acl": [
				{
					"sid": "S-1-5-18",
					"name": "NT AUTHORITY\\SYSTEM",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-32-544",
					"name": "BUILTIN\\Administrators",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1101",
					"name": "CORP\\HV01$",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1102",
					"name": "CORP\\HV02$",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1120",
					"name": "CORP\\HV-Backup-Readers",
					"type": "allow",
					"mask": 1179817,
					"flags": 3
				}
			]
		},
		{
			"unc": "\\\\FS01\\VMS2",
			"server": "FS01",
			"name": "VMS2",
			"path": "D:\\Shares\\VMS2",
			"dialect": "3.1.1",
			"share_acl": [
				{
					"sid": "S-1-1-0",
					"name": "Everyone",
					"type": "allow",
					"mask": 2032127,
					"flags": 0
				}
			],
			"ntfs_acl": [
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1121",
					"name": "CORP\\No-VM-Storage",
					"type": "deny",
					"mask": 1179785,
					"flags": 3
				},
				{
					"sid": "S-1-5-18",
					"name": "NT AUTHORITY\\SYSTEM",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1101",
					"name": "CORP\\HV01$",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-21-1004336348-1177238915-682003330-1102",
					"name": "CORP\\HV02$",
					"type": "allow",
					"mask": 2032127,
					"flags": 3
				},
				{
					"sid": "S-1-5-11",
					"name": "NT AUTHORITY\\Authenticated Users",
					"type": "allow",
					"mask": 1179817,
					"flags": 3
				}
			]
		}
	],
	"domains": [
		{
			"dns_name": "corp.example",
			"netbios_name": "CORP",
			"sid": "S-1-5-21-1004336348-1177238915-682003330",
			"forest": "corp.example",
			"functional_level": 7,
			"trusts": [
				{
					"partner": "res.example",
					"flat_name": "RES",
					"sid": "S-1-5-21-2718281828-3141592653-1414213562",
					"direction": "bidirectional",
					"type": "uplevel",
					"attributes": 8,
					"attribute_flags": [
						"FOREST_TRANSITIVE"
					]
				}
			]
		},
		{
			"dns_name": "res.example",
			"netbios_name": "RES",
			"sid": "S-1-5-21-2718281828-3141592653-1414213562",
			"forest": "res.example",
			"functional_level": 7,
			"trusts": [
				{
					"partner": "corp.example",
					"flat_name": "CORP",
					"sid": "S-1-5-21-1004336348-1177238915-682003330",
					"direction": "bidirectional",
					"type": "uplevel",
					"attributes": 8,
					"attribute_flags": [
						"FOREST_TRANSITIVE"
					]
				}
			]
		}
	],
	"computer_accounts": [
		{
			"name": "PROXY01",
			"sam_account_name": "PROXY01$",
			"domain": "corp.example",
			"sid": "S-1-5-21-1004336348-1177238915-682003330-1105",
			"primary_group_sid": "S-1-5-21-1004336348-1177238915-682003330-515",
			"token_groups": [
				"S-1-5-21-1004336348-1177238915-682003330-515",
				"S-1-5-21-1004336348-1177238915-682003330-1120",
				"S-1-5-21-1004336348-1177238915-682003330-1121"
			],
			"logon_sids": [
				"S-1-1-0",
				"S-1-5-11",
				"S-1-5-2",
				"S-1-5-15"
			]
		}
	],
	"hosts": [
		{
			"name": "PROXY01",
			"roles": [
				"proxy"
			],
			"domain": {
				"name": "corp.example",
				"netbios": "CORP",
				"part_of_domain": true
			},
			"smb_connections": []
		},
		{
			"name": "HV01",
			"roles": [
				"hyperv_host"
			],
			"domain": {
				"name": "corp.example",
				"netbios": "CORP",
				"part_of_domain": true
			},
			"smb_connections": [
				{
					"server": "FS01",
					"share": "VMS",
					"dialect": "3.1.1"
				}
			]
		},
		{
			"name": "HV02",
			"roles": [
				"hyperv_host"
			],
			"domain": {
				"name": "corp.example",
				"netbios": "CORP",
				"part_of_domain": true
			},
			"smb_connections": [
				{
					"server": "fs01.res.example",
					"share": "vms",
					"dialect": "3.1.1"
				},
				{
					"server": "FS01",
					"share": "VMS2",
					"dialect": "3.1.1"
				}
			]
		},
		{
			"name": "FS01",
			"roles": [
				"file_server"
			],
			"domain": {
				"name": "res.example",
				"netbios": "RES",
				"part_of_domain": true
			},
			"smb_connections": [],
			"local_groups": {
				"source": "samr",
				"queried_sids": [
					"S-1-1-0",
					"S-1-5-11",
					"S-1-5-15",
					"S-1-5-2",
					"S-1-5-21-1004336348-1177238915-682003330-1105",
					"S-1-5-21-1004336348-1177238915-682003330-1120",
					"S-1-5-21-1004336348-1177238915-682003330-1121",
					"S-1-5-21-1004336348-1177238915-682003330-515"
				],
				"groups": [
					{
						"sid": "S-1-5-32-545",
						"name": "BUILTIN\\Users",
						"domain": "Builtin",
						"members": [
							"S-1-5-11"
						]
					}
				]
			}
		}
	]
}

# Patches for the proxy-level finding of a proxy that needs no SMB share (each rule's tests):
# with_proxy02: a second proxy, assigned to a host with no VM, next to PROXY01 (which keeps its
# shares); no_smb_vms: every disk local (the VM inventory is known, PROXY01 needs no share);
# shares_only_empty: no VM inventory and an empty share list; neither_collected: no VMs, no shares.
with_proxy02 := patched([
	{"op": "add", "path": "/hosts/4", "value": {
		"name": "proxy02.corp.example", "roles": ["proxy"],
		"domain": {"name": "corp.example", "netbios": "CORP", "part_of_domain": true},
		"smb_connections": [],
	}},
	{"op": "add", "path": "/assignments/1", "value": {"proxy": "PROXY02", "max_tasks": 2, "sources": [{"kind": "host", "name": "HV03"}]}},
])

_local := [{"path": "D:\\VMs\\VM01.vhdx", "storage": "local", "format": "vhdx"}]

no_smb_vms := patched([
	{"op": "replace", "path": "/vms/0/disks", "value": _local},
	{"op": "replace", "path": "/vms/1/disks", "value": _local},
	{"op": "replace", "path": "/vms/2/disks", "value": _local},
])

vms_empty := patched([{"op": "replace", "path": "/vms", "value": []}])

shares_only_empty := patched([
	{"op": "replace", "path": "/vms", "value": null},
	{"op": "replace", "path": "/shares", "value": []},
])

neither_collected := patched([
	{"op": "remove", "path": "/vms"},
	{"op": "replace", "path": "/shares", "value": null},
])

no_share_message := "none of the VMs on hosts served by PROXY01 keeps files on an SMB share: this rule concerns off-host backup from SMB3 storage only"

# --- The proxy-level finding of a proxy that needs no SMB share, for each smb rule's tests ------
# no_share_cases: an estate, the proxy in it that needs no share, and the finding it must get.
no_share_cases := [
	_na_case(with_proxy02, "PROXY02", replace(no_share_message, "PROXY01", "PROXY02")),
	_na_case(no_smb_vms, "PROXY01", no_share_message),
	_na_case(vms_empty, "PROXY01", no_share_message),
	_na_case(shares_only_empty, "PROXY01", "the VM inventory was not collected and the facts list no SMB share, so PROXY01 reads none: this rule concerns off-host backup from SMB3 storage only"),
	{
		"input": neither_collected, "proxy": "PROXY01", "status": "unknown", "missing": ["vms"],
		"message": "cannot decide: fact(s) not collected: vms", "evidence": [{"path": "vms", "value": null}],
	},
]

_na_case(inp, p, message) := {"input": inp, "proxy": p, "status": "not_applicable", "missing": [], "message": message, "evidence": []}

# no_share_case_holds(c, fs, rule_id, severity): the rule's findings fs on c.input hold exactly
# one proxy-level finding, the expected one for c.proxy, and nothing else about that proxy.
no_share_case_holds(c, fs, rule_id, severity) if {
	proxy_level := [f | some f in fs; f.subject.kind == "proxy"]
	count(proxy_level) == 1
	f := proxy_level[0]
	f.subject == {"kind": "proxy", "name": c.proxy, "proxy": c.proxy}
	[f.rule_id, f.status, f.severity, f.message, f.missing, f.evidence] == [rule_id, c.status, severity, c.message, c.missing, c.evidence]
	count([g | some g in fs; object.get(g.subject, "proxy", null) == c.proxy]) == 1
}
