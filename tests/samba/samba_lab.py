"""Throwaway Samba servers for the tests: AD DCs (FEAS.TEST on 127.0.0.1, a trust partner on
127.0.0.3) and a standalone smbd (127.0.0.2).

Follows /work/shared/reference/local-servers.md sections 1 and 2: empty ``-s`` config, no DNS
backend, ``interfaces = lo``, every path under one temp dir, nss_wrapper preloaded with
``SELFTEST_WINBINDD_SOCKET_DIR`` (without it SMB session setup fails), ``ntp_signd`` dir 0750,
an explicit ``server services`` line, readiness by ports then ``wbinfo``. Every process started is
stopped by PID, including the ``samba-dcerpcd``/``rpcd_*`` helpers that smbd starts in their own
session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REALM = "FEAS.TEST"
DOMAIN = "FEAS"
ADMIN_PASSWORD = "Passw0rd!Feas"
AUDITOR_PASSWORD = "Aud1tor!Feas"  # a non-admin domain user, for the access-denied cases
SHARES = ("VMS", "PUBLIC", "SHAREONLY", "NTFSONLY", "LOCKED", "USERS", "LOCALGRP")
RPC_PORTS = "61000-61999"  # above net.ipv4.ip_local_port_range (32768-60999)
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
REQUIRED_TOOLS = ("samba", "samba-tool", "smbd", "wbinfo", "ldbadd", "sharesec", "smbpasswd")
# samba's Recommends, left out by --no-install-recommends: provisioning templates, DC ldb modules, VFS modules
PROVISION_SETUP = "/usr/share/samba/setup"  # samba-ad-provision
DSDB_MODULE = "/usr/lib/x86_64-linux-gnu/samba/ldb/acl.so"  # samba-dsdb-modules
ACL_XATTR = "/usr/lib/x86_64-linux-gnu/samba/vfs/acl_xattr.so"  # samba-vfs-modules
INSTALL_HINT = (
    "apt-get install -y samba winbind ldb-tools smbclient libnss-wrapper "
    "samba-ad-provision samba-dsdb-modules samba-vfs-modules"
)


class LabError(RuntimeError):
    pass


def check_installed() -> None:
    """Raise (the fixture then fails, never skips) when Samba is not installed."""
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    for path in (NSS_WRAPPER, PROVISION_SETUP, DSDB_MODULE, ACL_XATTR):
        if not Path(path).exists():
            missing.append(path)
    if missing:
        raise LabError(f"Samba is not installed (missing: {', '.join(missing)}). Install it with: {INSTALL_HINT}")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(what: str, check, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")


def _pids_matching(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if int(p) != os.getpid()]


def _group_pids(pgid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process_tree(proc: subprocess.Popen, configfile: Path, timeout: float = 20.0) -> None:
    """TERM the leader, wait for its process group, then TERM the helpers found by --configfile."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc.poll() is None or _group_pids(proc.pid)):
        time.sleep(0.1)
    for pid in _group_pids(proc.pid):
        os.kill(pid, signal.SIGKILL)
    helpers = _pids_matching(f"--configfile={configfile}")
    for pid in helpers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in helpers):
        time.sleep(0.1)
    for pid in helpers:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=5)


class SambaDC:
    """A Samba AD DC under ``root`` (``root/dc``): FEAS.TEST on 127.0.0.1 (``interfaces = lo``) by
    default; a second one (a trust partner) on another loopback address."""

    def __init__(
        self,
        root: Path,
        shares: dict[str, Path] | None = None,
        *,
        realm: str = REALM,
        domain: str = DOMAIN,
        ip: str = "127.0.0.1",
        interfaces: str = "lo",
        host_name: str = "dc1",
        hosts_file: Path | None = None,
    ) -> None:
        self.root = root
        self.dir = root / "dc"
        self.realm, self.domain, self.ip, self.interfaces = realm, domain, ip, interfaces
        self.host_name, self.hosts_file = host_name, hosts_file
        self.conf = self.dir / "etc" / "smb.conf"
        self.shares = shares or {}
        self.proc: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        self.domain_dn = ",".join(f"DC={p}" for p in realm.lower().split("."))
        self.ca_file = self.dir / "private" / "tls" / "ca.pem"
        self.cert_name = f"{host_name.upper()}.{realm.lower()}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=NSS_WRAPPER,
            NSS_WRAPPER_PASSWD=str(self.root / "nssw.passwd"),
            NSS_WRAPPER_GROUP=str(self.root / "nssw.group"),
            SELFTEST_WINBINDD_SOCKET_DIR=str(self.dir / "winbindd"),
        )
        if self.hosts_file:
            env["NSS_WRAPPER_HOSTS"] = str(self.hosts_file)
        return env

    def run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(list(args), env=self.env, capture_output=True, text=True, input=input, timeout=120)
        if check and res.returncode != 0:
            raise LabError(
                f"{' '.join(args[:3])} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}"
            )
        return res

    def provision(self) -> None:
        t0 = time.monotonic()
        for sub in ("log", "run", "ncalrpc", "winbindd", "ntp_signd"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "ntp_signd").chmod(0o750)  # 0755 stops samba
        empty = self.root / "empty.conf"
        empty.write_text("")  # else /etc/samba/smb.conf is merged in
        shutil.copy("/etc/passwd", self.root / "nssw.passwd")
        shutil.copy("/etc/group", self.root / "nssw.group")
        d = self.dir
        self.run(
            "samba-tool",
            "domain",
            "provision",
            "-s",
            str(empty),
            f"--targetdir={d}",
            f"--realm={self.realm}",
            f"--domain={self.domain}",
            f"--adminpass={ADMIN_PASSWORD}",
            "--server-role=dc",
            "--dns-backend=NONE",
            "--use-rfc2307",
            f"--host-ip={self.ip}",
            f"--host-name={self.host_name}",
            f"--option=interfaces = {self.interfaces}",
            "--option=bind interfaces only = yes",
            "--option=disable netbios = yes",
            "--option=dns update command = /bin/true",
            f"--option=log file = {d}/log/log.%m",
            f"--option=pid directory = {d}/run",
            f"--option=ncalrpc dir = {d}/ncalrpc",
            f"--option=winbindd socket directory = {d}/winbindd",
            f"--option=ntp signd socket directory = {d}/ntp_signd",
        )
        self.set_strong_auth(required=True)
        self.timings["provision_s"] = time.monotonic() - t0

    def set_strong_auth(self, *, required: bool) -> None:
        """Rewrite [global] extras and the share sections (takes effect at the next start)."""
        text = self.conf.read_text().split("# lab shares")[0].rstrip() + "\n"
        ours = ("server services", "ldap server require strong auth", "rpc server dynamic port range")
        lines = [ln for ln in text.splitlines() if not ln.strip().startswith(ours)]
        at = lines.index("[global]") + 1
        lines[at:at] = [
            "\tserver services = s3fs, rpc, ldap, cldap, kdc, drepl, kcc, ntp_signd, winbindd",
            # allow_sasl_over_tls: as "yes" (simple binds only over TLS, SASL binds signed or sealed), but
            # a SASL bind over TLS needs no signing, as on Windows DCs (TLS meets LDAP signing there); ldap3's
            # GSSAPI bind has no security layer
            f"\tldap server require strong auth = {'allow_sasl_over_tls' if required else 'no'}",
            # the default 49152-65535 overlaps Linux's ephemeral ports: a client socket on 49154
            # once stopped samba with NT_STATUS_ADDRESS_ALREADY_ASSOCIATED
            f"\trpc server dynamic port range = {RPC_PORTS}",
        ]
        shares = "\n# lab shares\n" + "".join(
            f"[{name}]\n\tpath = {path}\n\tread only = no\n\n" for name, path in self.shares.items()
        )
        self.conf.write_text("\n".join(lines) + "\n" + shares)

    def start(self) -> None:
        for port in (389, 445, 636, 88):
            if port_open(self.ip, port):
                raise LabError(f"port {port} on {self.ip} is already in use; another Samba (test run?) is running")
        t0 = time.monotonic()
        log = open(self.dir / "log" / "samba.stdout", "ab")
        self.proc = subprocess.Popen(
            ["samba", "-i", "-M", "single", "-s", str(self.conf), "--debug-stdout"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise LabError(f"samba exited with {self.proc.returncode}; see {self.dir}/log/samba.stdout")
            if not all(port_open(self.ip, port) for port in (389, 445, 636)):
                return False
            return (
                self.run("wbinfo", "-p", check=False).returncode == 0
                and self.run("wbinfo", "--sid-to-uid=S-1-5-32-544", check=False).returncode == 0
            )

        wait_for("the Samba DC (ports 389/445/636 and wbinfo -p)", ready, timeout=90)
        self.timings.setdefault("first_start_s", time.monotonic() - t0)
        self.timings["last_start_s"] = time.monotonic() - t0

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_tree(self.proc, self.conf)
            self.proc = None

    def restart(self, *, strong_auth: bool) -> None:
        self.stop()
        self.set_strong_auth(required=strong_auth)
        self.start()

    def ldbadd(self, ldif: str) -> None:
        path = self.root / f"add-{time.monotonic_ns()}.ldif"
        path.write_text(ldif)
        self.run("ldbadd", "-H", str(self.dir / "private" / "sam.ldb"), str(path))


class StandaloneSmbd:
    """A standalone smbd on 127.0.0.2 (ports 4445 and 445), tdbsam, acl_xattr ignoring system ACLs.

    :meth:`remove_pipe` makes one RPC interface unreachable (``samr``: as on a server that denies
    remote SAM access). (``rpc start on demand helpers = no`` with samba-dcerpcd running only
    rpcd_classic was tried first: binds to srvsvc then hang.)"""

    def __init__(
        self, root: Path, shares: dict[str, Path], env: dict[str, str], *, ip: str = "127.0.0.2", name: str = "FS02"
    ) -> None:
        self.dir = root / "fs"
        self.conf = self.dir / "smb.conf"
        self.shares = shares
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.port = 4445
        self.ip, self.name = ip, name

    def start(self) -> None:
        d = self.dir
        for sub in ("private", "lock", "state", "cache", "pid", "log", "ncalrpc"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        share_text = "".join(f"[{n}]\n\tpath = {p}\n\tread only = no\n\n" for n, p in self.shares.items())
        self.conf.write_text(f"""[global]
\tserver role = standalone server
\tworkgroup = FSLAB
\tnetbios name = {self.name}
\tinterfaces = {self.ip}/8
\tbind interfaces only = yes
\tsmb ports = {self.port} 445
\tdisable netbios = yes
\tpassdb backend = tdbsam:{d}/private/passdb.tdb
\tprivate dir = {d}/private
\tlock directory = {d}/lock
\tstate directory = {d}/state
\tcache directory = {d}/cache
\tpid directory = {d}/pid
\tncalrpc dir = {d}/ncalrpc
\tlog file = {d}/log/log.%m
\tload printers = no
\tprinting = bsd
\tprintcap name = /dev/null
\tdisable spoolss = yes
\tvfs objects = acl_xattr
\tacl_xattr:ignore system acls = yes
\tadmin users = root

{share_text}""")
        res = subprocess.run(
            ["smbpasswd", "-c", str(self.conf), "-s", "-a", "root"],
            input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if res.returncode != 0:
            raise LabError(f"smbpasswd failed: {res.stderr.strip()}")
        if port_open(self.ip, self.port):
            raise LabError(f"port {self.port} on {self.ip} is already in use")
        log = open(d / "log" / "smbd.stdout", "ab")
        self.proc = subprocess.Popen(
            ["smbd", "-F", "--no-process-group", "-s", str(self.conf), "--debug-stdout"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise LabError(f"smbd exited with {self.proc.returncode}; see {d}/log")
            return port_open(self.ip, self.port) and port_open(self.ip, 445)

        wait_for(f"the standalone smbd on {self.ip}", ready, timeout=30)

    def remove_pipe(self, name: str, user: str, password: str) -> None:
        """Start the RPC helpers (one srvsvc bind), then delete the named pipe's socket: smbd then
        answers STATUS_OBJECT_NAME_NOT_FOUND for that pipe until samba-dcerpcd is restarted."""
        from impacket.dcerpc.v5 import srvs, transport
        from impacket.smbconnection import SMBConnection

        conn = SMBConnection(self.ip, self.ip, sess_port=self.port, timeout=10)
        conn.login(user, password, "")
        dce = transport.SMBTransport(self.ip, self.port, r"\srvsvc", smb_connection=conn).get_dce_rpc()
        dce.connect()
        dce.bind(srvs.MSRPC_UUID_SRVS)
        dce.disconnect()
        conn.close()
        (self.dir / "ncalrpc" / "np" / name).unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_tree(self.proc, self.conf)
            self.proc = None
