"""The lab's answer to a command: decode ``-EncodedCommand``, recognise which shipped script was sent (by
comparing the body with the shipped scripts, not by any name in the command), decode its arguments and
print what Windows PowerShell 5.1 would print for that script on the scenario host.

Anything else (an unknown script, a plain command) gets a PowerShell-style CLIXML error and exit 1,
and so does a script listed in the host's ``script_errors``.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

import yaml

from offhost_audit.collectors.pscommand import decode_command
from offhost_audit.lab import render
from offhost_audit.lab.wsman import CommandResult, Faults, LabHost, LabServer


class HostResponder:
    """Answers for one scenario host; stateless, so safe from many threads."""

    def __init__(self, host: dict[str, Any], scenario: dict[str, Any]) -> None:
        self.host = host
        self.scenario = scenario

    def respond(self, command: str, arguments: list[str]) -> CommandResult:
        decoded = decode_command(command, list(arguments))
        if decoded is None:
            return _error(
                "The lab answers only the shipped offhost-audit collector scripts; this command is not one "
                "of them.\r\n    + CategoryInfo          : NotImplemented\r\n"
                "    + FullyQualifiedErrorId : LabUnknownScript"
            )
        name, args = decoded
        failure = self.host["script_errors"].get(name) or self.host["script_errors"].get(name.removesuffix(".ps1"))
        if failure:
            return _error(
                f"{failure}\r\n    + CategoryInfo          : NotSpecified: (:) [], CimException\r\n"
                "    + FullyQualifiedErrorId : LabScriptError"
            )
        doc = render.renderer(name)(self.host, self.scenario, args)
        text = render.ps_json(doc)
        return CommandResult(stdout=(text + "\r\n").encode("utf-8") if text else b"")


def _error(message: str) -> CommandResult:
    return CommandResult(stdout=b"", stderr=encode_clixml(message).encode("utf-8"), exit_code=1)


def lab_hosts(scenario: dict[str, Any]) -> list[LabHost]:
    """One :class:`LabHost` per scenario host, with its faults and the scenario's lab credentials."""
    lab = scenario["lab"]
    return [
        LabHost(
            name=h["name"],
            responder=HostResponder(h, scenario),
            username=lab["username"],
            password=lab["password"],
            faults=Faults(**h["faults"]),
        )
        for h in scenario["hosts"]
    ]


USER_ENV, PASSWORD_ENV = "OFFHOST_LAB_USER", "OFFHOST_LAB_PASSWORD"


def lab_env(scenario: dict[str, Any]) -> dict[str, str]:
    """The environment variables the lab inventory reads its (lab-only, public) credentials from."""
    return {USER_ENV: scenario["lab"]["username"], PASSWORD_ENV: scenario["lab"]["password"]}


def inventory_doc(
    scenario: dict[str, Any], server: LabServer, *, auth: str = "basic", rest: tuple[int, str] | None = None
) -> dict[str, Any]:
    """An inventory (as a YAML-ready dict) that points at the running lab: one endpoint per host.

    ``rest``: (port, CA file) of the lab's REST backup server (``lab/vbr_rest.py``) when it runs: the
    backup server is then read over REST; without it, over WinRM (``via: winrm``: nothing to try first)."""

    def winrm(name: str) -> dict[str, Any]:
        url = urlsplit(server.endpoint(name))
        w = {"scheme": url.scheme, "port": url.port, "auth": auth, "message_encryption": "never", "path": url.path}
        if url.scheme == "https":
            w.update(verify_tls=True, ca_file=server.ca_file)
        return w

    def entry(h: dict[str, Any]) -> dict[str, Any]:
        address = urlsplit(server.endpoint(h["name"])).hostname
        return {"name": h["name"], "address": address, "winrm": winrm(h["name"])}

    hosts = scenario["hosts"]
    doc: dict[str, Any] = {
        "vbr": {"version": scenario["vbr"].get("version"), "profile": scenario["vbr"].get("profile")},
        "defaults": {"credentials": {"username_env": USER_ENV, "password_env": PASSWORD_ENV}},
    }
    bs = scenario.get("backup_server")
    if bs:
        doc["backup_server"] = entry(next(h for h in hosts if h["name"] == bs["name"]))
        if rest:
            doc["backup_server"]["rest"] = {"port": rest[0], "ca_file": rest[1]}
        else:
            doc["backup_server"]["via"] = "winrm"
    doc["proxies"] = [
        {**entry(h), "max_tasks": h.get("max_tasks", 4), **({"serves": h["serves"]} if "serves" in h else {})}
        for h in hosts
        if "proxy" in h["roles"]
    ]
    doc["clusters"] = [
        {"name": c["name"], "nodes": [entry(h) for h in hosts if h["cluster"] == c["name"]]}
        for c in scenario["clusters"].values()
    ]
    doc["hyperv_hosts"] = [
        entry(h) for h in hosts if "hyperv_host" in h["roles"] and not h["cluster"] and "proxy" not in h["roles"]
    ]
    doc = {k: v for k, v in doc.items() if v not in ([], None)}
    return doc


def inventory_yaml(
    scenario: dict[str, Any], server: LabServer, *, auth: str = "basic", rest: tuple[int, str] | None = None
) -> str:
    head = (
        f"# Inventory for the offhost-audit lab scenario {scenario['name']!r} (loopback, lab credentials).\n"
        f"# export {USER_ENV}='{scenario['lab']['username']}' {PASSWORD_ENV}='{scenario['lab']['password']}'\n"
    )
    return head + yaml.safe_dump(inventory_doc(scenario, server, auth=auth, rest=rest), sort_keys=False)


def _clixml_escape(line: str) -> str:
    """PowerShell's escaping: ``_x`` itself, CR, LF and characters XML cannot carry become ``_xHHHH_``."""
    out = html.escape(line, quote=False).replace("_x", "_x005F_x")
    return "".join(
        c if c == "\t" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff" else f"_x{ord(c):04X}_"
        for c in out
    )


def encode_clixml(message: str) -> str:
    """The CLIXML stderr document PowerShell writes for an error message (what a failing lab script sends)."""
    body = "".join(f'<S S="Error">{_clixml_escape(line)}_x000D__x000A_</S>' for line in message.splitlines() or [""])
    return f'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">{body}</Objs>'
