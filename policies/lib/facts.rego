# METADATA
# title: Fact lookups shared by the rules
# description: |
#   Name normalisation (NetBIOS-style, upper-case, case-insensitive compares), lookups by name,
#   and who serves whom (proxy assignments). Rules read facts through these helpers so that every
#   rule normalises names the same way.
package offhost.lib.facts

import rego.v1

# norm(name): "hv1.corp.example" -> "HV1". Computer and cluster names compare on this form.
norm(n) := upper(split(trim_space(n), ".")[0])

hosts_by_name[norm(h.name)] := h if some h in input.hosts

clusters_by_name[norm(c.name)] := c if some c in object.get(input, "clusters", [])

# proxies: the normalised names of hosts that have the proxy role.
proxies contains norm(h.name) if {
	some h in input.hosts
	"proxy" in h.roles
}

hyperv_hosts contains norm(h.name) if {
	some h in input.hosts
	"hyperv_host" in h.roles
}

_assignments := [a | some a in object.get(input, "assignments", []); a != null]

_assigned_proxies contains norm(a.proxy) if some a in _assignments

# served_clusters[proxy] is the set of cluster names the proxy serves: its assigned clusters, or
# every cluster in the document when the proxy has no assignment.
served_clusters[p] := {norm(s.name) |
	some a in _assignments
	norm(a.proxy) == p
	some s in a.sources
	s.kind == "cluster"
} if {
	some p in proxies
	p in _assigned_proxies
}

served_clusters[p] := {norm(c.name) | some c in object.get(input, "clusters", [])} if {
	some p in proxies
	not p in _assigned_proxies
}

# served_hosts[proxy] is the set of Hyper-V host names the proxy serves: assigned hosts plus the
# known nodes of assigned clusters, or every Hyper-V host when the proxy has no assignment.
served_hosts[p] := {norm(s.name) |
	some a in _assignments
	norm(a.proxy) == p
	some s in a.sources
	s.kind == "host"
} | {n |
	some c in served_clusters[p]
	some node in object.get(clusters_by_name, [c, "nodes"], [])
	n := norm(node)
} if {
	some p in proxies
	p in _assigned_proxies
}

served_hosts[p] := hyperv_hosts if {
	some p in proxies
	not p in _assigned_proxies
}

# value(obj, path): the fact at path, or null when it is absent. Rules use `has(...)` to decide
# `unknown`, and this to quote evidence.
value(obj, path) := object.get(obj, path, null)

# has(obj, path): the fact at path is present and not null.
has(obj, path) if object.get(obj, path, null) != null

# Evidence paths read like "hosts[PROXY1].os.build".
host_path(host_name, field) := sprintf("hosts[%s].%s", [norm(host_name), field])

cluster_path(cluster_name, field) := sprintf("clusters[%s].%s", [norm(cluster_name), field])

# The VBR major version ("12", "13"), or the default when the facts do not say.
vbr_major := split(input.vbr.version, ".")[0] if {
	input.vbr.version
} else := data.offhost.data.profiles.default_vbr_major
