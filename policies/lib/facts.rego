# METADATA
# title: Fact lookups shared by the rules
# description: |
#   Name normalisation (NetBIOS-style, upper-case, case-insensitive compares), lookups by name,
#   and who serves whom (proxy assignments). Rules read facts through these helpers so that every
#   rule normalises names the same way.
package offhost.lib.facts

import rego.v1

# norm(name): "hv1.corp.example" -> "HV1". Computer and cluster names compare on this form; an IP
# address stays whole ("10.0.0.5", "fe80::1" -> "FE80::1"). The twin of names.norm_name in Python.
# A name without a dot (the usual case) is decided first: norm runs for every name in every rule,
# and the address test costs regorus about twice the rest. (The split result is bound to a
# variable: regorus indexes a call result ~10x slower.)
norm(n) := upper(t) if {
	t := trim_space(n)
	not contains(t, ".")
} else := upper(t) if {
	t := trim_space(n)
	_is_address(t)
} else := upper(parts[0]) if parts := split(trim_space(n), ".")

_is_address(t) if contains(t, ":")

_is_address(t) if regex.match(`^[0-9]{1,3}(\.[0-9]{1,3}){3}$`, t)

# Lookups and groupings are built once, in linear time (comprehensions and multi-value rules):
# nested loops that filter by name are quadratic and far too slow on large estates. Names are
# unique after normalisation (the facts loader rejects duplicates).
hosts_by_name := {norm(h.name): h | some h in input.hosts}

# host_key(name): the host (its normalised inventory name) a machine name elsewhere in the facts
# refers to: cluster node lists, the backup server's registrations, VM host names and UNC servers
# may use the inventory name, the FQDN, or the computer's own name (computer_name,
# dns_host_name: what Win32_ComputerSystem or the NTLM challenge reports). A name that matches
# no host, or more than one, normalises as itself.
host_key(n) := k if {
	ks := _host_aliases[norm(n)]
	count(ks) == 1
	some k in ks
} else := norm(n)

_host_aliases[a] contains norm(h.name) if {
	some h in input.hosts
	some f in ["name", "fqdn", "computer_name", "dns_host_name"]
	x := object.get(h, f, null)
	is_string(x)
	a := norm(x)
}

clusters_by_name := {norm(c.name): c | some c in seq(object.get(input, "clusters", null))}

# proxies: the normalised names of hosts that have the proxy role.
proxies := {norm(h.name) | some h in input.hosts; "proxy" in h.roles}

hyperv_hosts := {norm(h.name) | some h in input.hosts; "hyperv_host" in h.roles}

_assignments := [a | some a in seq(object.get(input, "assignments", null)); a != null]

# assigned_proxies: proxies that have an assignment (their sources decide what they serve).
assigned_proxies := {norm(a.proxy) | some a in _assignments}

# _sources[proxy]: the proxy's assignment sources, as {"kind", "name"} with the name normalised.
_sources[p] contains {"kind": s.kind, "name": _source_key(s)} if {
	some a in _assignments
	p := norm(a.proxy)
	some s in seq(a.sources)
}

_source_key(s) := host_key(s.name) if s.kind == "host" else := norm(s.name)

_all_clusters := {n | some n, _ in clusters_by_name}

_cluster_nodes[c] contains n if {
	some c, cl in clusters_by_name
	some node in seq(object.get(cl, "nodes", null))
	n := host_key(node)
}

# When a cluster's node list (or the cluster list) was not collected, each host's own membership
# fact (hosts[].cluster) says which hosts are its nodes.
_cluster_nodes[c] contains norm(h.name) if {
	some h in input.hosts
	m := object.get(h, "cluster", null)
	is_object(m)
	m.member == true
	is_string(m.name)
	c := norm(m.name)
	not is_array(object.get(clusters_by_name, [c, "nodes"], null))
}

# served_clusters[proxy] is the set of cluster names the proxy serves: its assigned clusters, or
# every cluster in the document when the proxy has no assignment.
served_clusters[p] := {s.name | some s in object.get(_sources, p, set()); s.kind == "cluster"} if {
	some p in proxies
	p in assigned_proxies
}

served_clusters[p] := _all_clusters if {
	some p in proxies
	not p in assigned_proxies
}

# served_hosts[proxy] is the set of Hyper-V host names the proxy serves: assigned hosts plus the
# known nodes of assigned clusters, or every Hyper-V host when the proxy has no assignment.
served_hosts[p] := {s.name | some s in object.get(_sources, p, set()); s.kind == "host"} | {n |
	some c in served_clusters[p]
	some n in object.get(_cluster_nodes, c, set())
} if {
	some p in proxies
	p in assigned_proxies
}

served_hosts[p] := hyperv_hosts if {
	some p in proxies
	not p in assigned_proxies
}

# serving_proxies[host] is the set of proxies that serve the host (the inverse of served_hosts).
serving_proxies[h] contains p if {
	some p, hosts in served_hosts
	some h in hosts
}

# maybe_served[proxy]: {host: missing fact paths} for the Hyper-V hosts the proxy may serve but is
# not known to: it serves a cluster whose node list was not collected, and the host's own
# membership fact (hosts[].cluster) does not say either. Rules over (proxy, host) pairs and over
# VMs give such a host an unknown instead of nothing or not_applicable.
maybe_served[p] := {h: array.concat(paths, [host_path(h, "cluster")]) |
	some h in hyperv_hosts
	not h in served_hosts[p]
	not _membership_known(h)
} if {
	some p in proxies
	paths := [cluster_path(c, "nodes") | some c in served_clusters[p]; not is_array(object.get(clusters_by_name, [c, "nodes"], null))]
	count(paths) > 0
}

_membership_known(h) if object.get(hosts_by_name, [h, "cluster", "member"], null) == false

_membership_known(h) if is_string(object.get(hosts_by_name, [h, "cluster", "name"], null))

# maybe_served_host[host]: the missing fact paths of a host that some proxy may serve (as above)
# and none is known to serve.
maybe_served_host[h] := missing if {
	some h in hyperv_hosts
	not serving_proxies[h]
	missing := sort({path | some _, hosts in maybe_served; some path in object.get(hosts, h, [])})
	count(missing) > 0
}

# served(h): whether any proxy serves Hyper-V host h (true/false, never undefined: regorus leaves
# serving_proxies undefined, not {}, when no proxy serves any host).
served(h) := true if serving_proxies[h] else := false

# vms_missing[host]: the fact path of the host's VM inventory when it was not collected: "vms"
# when the whole VM list is null, "vms[host=HV1]" when the host's Hyper-V collector
# (winrm.hyperv) did not succeed (error or skipped). Rules over VMs give such a host one unknown
# for its VMs (the collection manifest's error is joined to it as evidence).
vms_missing[h] := "vms" if {
	not is_array(object.get(input, "vms", null))
	some h in hyperv_hosts
}

vms_missing[h] := sprintf("vms[host=%s]", [h]) if {
	is_array(object.get(input, "vms", null))
	some h in _hyperv_failed
	h in hyperv_hosts
}

_hyperv_failed contains norm(e.target) if {
	some e in seq(object.get(input, "collection", null))
	e.collector == "winrm.hyperv"
	e.status != "ok"
}

# seq(v): v itself, or [] when v is null. Facts lists may be null ("not collected"), and regorus
# raises an error on `some x in null` where OPA just yields nothing; iterate over seq(...) instead.
seq(v) := v if {
	is_array(v)
} else := []

# value(obj, path): the fact at path, or null when it is absent. Rules use `has(...)` to decide
# `unknown`, and this to quote evidence.
value(obj, path) := object.get(obj, path, null)

# has(obj, path): the fact at path is present and not null.
has(obj, path) if object.get(obj, path, null) != null

# Evidence paths read like "hosts[PROXY1].os.build".
host_path(host_name, field) := sprintf("hosts[%s].%s", [norm(host_name), field])

cluster_path(cluster_name, field) := sprintf("clusters[%s].%s", [norm(cluster_name), field])

# The VBR major version ("12", "13"), or the default when the facts do not say.
vbr_major := parts[0] if {
	is_string(input.vbr.version)
	parts := split(input.vbr.version, ".")
} else := data.offhost.data.profiles.default_vbr_major
