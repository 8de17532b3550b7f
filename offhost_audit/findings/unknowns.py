"""Why a finding is unknown, and how to get the fact it misses.

An ``unknown`` finding lists the fact paths it could not read (``missing``). When a collector run
that would have given one of them failed (the facts' collection manifest has its error), the way to
decide the finding is to fix that failure: credentials after a 401, the WinRM listener or firewall
after a refused or timed-out connection, the audit account's rights after an access denied. This
module finds those runs (:func:`explaining`) and words that advice (:func:`how_to_decide`); it is
the unknown finding's remediation in every face, instead of the rule's own fix for a failure the
subject may not have. The TUI's "findings behind a failure" uses the same matching
(:func:`findings_for_failure`).
"""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.collector_specs import SPECS
from offhost_audit.findings import Finding
from offhost_audit.names import norm_key, norm_name

# Where each collector's facts land (hosts[T].<key>, or a top-level list), from its declaration: how a
# failed run of it shows in the ``missing`` paths of the findings it made unknown. Lower case: keys
# under hosts[T]; upper case: prefixes of top-level paths.
AREAS = {s.id: s.areas for s in SPECS}


def failures(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The (target, collector) runs that did not succeed, in manifest order."""
    return [e for e in facts.get("collection") or [] if e.get("status") != "ok"]


def _subject_names(f: Finding) -> set[str]:
    return {norm_key(v) for k, v in f["subject"].items() if k != "kind" and v}


def explains(f: Finding, target: str, collector: str | None) -> bool:
    """Whether a failed (target, collector) run would have given a fact this unknown finding misses:
    a fact of the target (``hosts[T].storage...``, ``shares[\\\\T\\...]``, ``vms[host=T]``) in the
    area the collector fills; a collector not listed in AREAS matches every missing fact of the target."""
    if f["status"] != "unknown":
        return False
    t = norm_name(target)
    areas = AREAS.get(collector or "")
    host_marks = [f"[{t}].{a.upper()}" for a in areas if a.islower()] if areas else [f"[{t}]"]
    global_marks = [a for a in areas if a.isupper()] if areas else []
    for p in (str(m).upper() for m in f.get("missing") or []):
        if (
            any(m in p for m in host_marks)
            or (f"[\\\\{t}\\" in p and (not areas or "SHARES[" in global_marks))
            or (p.startswith("VMS[HOST=" + t + "]") and (not areas or "VMS[" in global_marks))
            or (any(p.startswith(g) for g in global_marks) and t in _subject_names(f))
        ):
            return True
    return False


def findings_for_failure(findings: list[Finding], target: str, collector: str | None = None) -> list[int]:
    """Rows of the ``unknown`` findings that miss a fact this (target, collector) run would have given."""
    return [i for i, f in enumerate(findings) if explains(f, target, collector)]


Failed = dict[str, list[dict[str, Any]]]  # failed collector runs by target (norm_name)
_MAPPED = re.compile(r"(hosts|shares|vms)\[", re.I)  # paths AREAS can attribute to a collector run
_PATH_NAME = re.compile(r"\[(?:host=)?\\*([^\]\\]+)")


def index(failed: list[dict[str, Any]]) -> Failed:
    """Failed collector runs by target, for :func:`explaining` (linear, not findings x failures)."""
    out: Failed = {}
    for e in failed:
        out.setdefault(norm_name(e.get("target", "")), []).append(e)
    return out


def explaining(f: Finding, failed: Failed) -> list[dict[str, Any]]:
    """The failed collector runs that explain this unknown finding: by its missing facts; when it
    names none that AREAS can attribute, every failed run on a machine its subject names."""
    if f["status"] != "unknown" or not failed:
        return []
    subject = [norm_name(v) for k, v in f["subject"].items() if k in ("proxy", "host", "server", "cluster") and v]
    named = [norm_name(m.group(1)) for p in f.get("missing") or [] for m in _PATH_NAME.finditer(str(p))]
    candidates = [e for t in dict.fromkeys(named + subject) for e in failed.get(t, [])]
    hits = [e for e in candidates if explains(f, e.get("target", ""), e.get("collector"))]
    if hits or any(_MAPPED.match(str(p)) for p in f.get("missing") or []):
        return hits  # a machine's fact that no failed run would have given: not explained by them
    return [e for t in dict.fromkeys(subject) for e in failed.get(t, [])]


# Kerberos failures (collectors.kerberos words them): what to fix, before the generic credentials advice
_KERBEROS = (
    (
        re.compile(r"clock skew", re.I),
        "{target} and the audit machine disagree on the time by more than the 5 minutes Kerberos allows: "
        "set both to follow the domain's time (w32tm /resync on Windows, chrony or systemd-timesyncd on "
        "the audit machine), then run the audit again.",
    ),
    (
        re.compile(r"SPN unknown|service principal", re.I),
        "The KDC has no service principal for {target} under the name the inventory gives: register it on the "
        "host's computer account (setspn -S HTTP/<DNS name> <host>; ldap/<DNS name> is a DC's own), or give "
        "the name it is registered under as the address, then run the audit again.",
    ),
    (
        re.compile(r"needs the host's DNS name", re.I),
        "Kerberos cannot reach {target} by IP address: give its DNS name as the address in the inventory "
        "(the ticket is for HTTP/<DNS name>), then run the audit again.",
    ),
    (
        re.compile(r"refused the Kerberos ticket", re.I),
        "{target} refused the audit account's Kerberos ticket: check that its clock is within 5 minutes of the "
        "domain controllers' (w32tm /query /status), that HTTP/<DNS name> is registered on its own computer "
        "account (setspn -L <host>) and that the account may log on over WinRM, then run the audit again.",
    ),
    (
        re.compile(r"no KDC answers", re.I),
        "No KDC answered for the audit account's realm: set the realm's KDCs in krb5.conf ([realms], "
        "default_realm; KRB5_CONFIG names another file) or its DNS SRV records, then run the audit again.",
    ),
)
_AUTH = re.compile(r"HTTP 401|authentication failed|logon failure|kerberos|credential", re.I)
_RIGHTS = re.compile(r"HTTP 403|access (is )?denied|unauthorizedaccess|permission denied|not authorized", re.I)
_REACH = re.compile(
    r"cannot connect|connection refused|timed? ?out|no route|name or service not known|unreachable|"
    r"connection reset|getaddrinfo|certificate|ssl|tls",
    re.I,
)
_OUTPUT = re.compile(r"not valid JSON|malformed|cannot parse|could not be parsed", re.I)


def _cause(e: dict[str, Any]) -> str:
    err = str(e.get("error") or e.get("status") or "")
    return err.removeprefix("not attempted: ")


def advice(e: dict[str, Any]) -> str:
    """One failed collector run: what to do so that the next run collects its facts."""
    target, collector, err = e.get("target", "?"), e.get("collector", "?"), _cause(e)
    for pattern, text in _KERBEROS:
        if pattern.search(err):
            return text.format(target=target)
    if _AUTH.search(err):
        return (
            f"{target} refused the audit account's credentials: check the user name and password "
            f"the inventory gives for {target} (environment variable, prompt or keyring) and that the account "
            "may log on over WinRM, then run the audit again."
        )
    if _RIGHTS.search(err):
        return (
            f"The audit account may not read this on {target} ({collector} was denied): give it the rights "
            "that collector needs (membership of the machine's local Administrators group is enough for the "
            "WinRM collectors), then run the audit again."
        )
    if _REACH.search(err):
        return (
            f"{target} did not answer over WinRM: check that its WinRM listener is on "
            "(`winrm enumerate winrm/config/listener`; `winrm quickconfig` to create one), that the firewall "
            "lets the audit machine reach that port, and the host name, port and certificate settings in the "
            "inventory, then run the audit again."
        )
    if _OUTPUT.search(err):
        return (
            f"{target} answered {collector} with output that could not be read: run the audit again; if it "
            "happens again, run it with --debug and report the output."
        )
    return f"The {collector} collector failed on {target}: fix the cause shown in its error, then run the audit again."


DECIDED = "Once the rule can decide, a failure shows its own fix."


def _job_advice(missing: list[str]) -> list[str]:
    """How to decide a job rule's unknown (stage 2): its missing paths name the backup server's
    settings (``vbr.``) or a candidate's stage-1 verdict (``verdict[``), not a target's facts."""
    if not missing or not all(p.startswith(("vbr.", "verdict[")) or p.endswith(".s2d_enabled") for p in missing):
        return []
    out = []
    if any(p.startswith("vbr.") for p in missing):
        out.append(
            "The backup server's settings named as missing were not read: read them from the backup server "
            "(over REST, volume settings need the Administrator role and cover standalone hosts only; PowerShell on "
            "the backup server reads cluster nodes too) or write them into the facts, then run the audit again."
        )
    if any(p.startswith("verdict[") for p in missing):
        out.append(
            "A candidate proxy's verdict for the source is undecided, or stage 1 did not judge the pair (the proxy "
            "is not assigned that source): decide the rules named in that pair's findings, or add the source to the "
            "proxy's assignment, then run the audit again."
        )
    if any(p.endswith(".s2d_enabled") for p in missing):
        out.append(
            "Whether the cluster uses Storage Spaces Direct was not collected: check the cluster collector of its "
            "nodes (winrm.cluster) in the collection manifest; before Windows Server 2016 there is no S2D to read."
        )
    return out


def how_to_decide(f: Finding, failed: Failed) -> str:
    """The remediation of an unknown finding: how to get the fact it misses, not how to fix a
    failure it may not have. One line per cause, then :data:`DECIDED`."""
    hits = explaining(f, failed)
    said: list[str] = []
    for e in hits:
        a = advice(e)
        if a not in said:
            said.append(a)
    if said:
        return "\n".join([*said, DECIDED])
    missing = [str(m) for m in f.get("missing") or []]
    job_said = _job_advice(missing)
    if job_said:
        return "\n".join([*job_said, DECIDED])
    targets = list(dict.fromkeys(m.group(1) for p in missing if (m := _PATH_NAME.search(p))))
    if targets:
        return (
            f"Facts of {', '.join(targets)} were not collected, and no collector reported an error for them: "
            "add it to the inventory if it is not there (a file server, domain controller or Hyper-V host, with "
            "the way to reach it), or check that its collectors ran, then run the audit again.\n" + DECIDED
        )
    return (
        "The rule could not decide from the collected facts (see the facts it names as missing): check the "
        "collection manifest and the inventory, then run the audit again.\n" + DECIDED
    )
