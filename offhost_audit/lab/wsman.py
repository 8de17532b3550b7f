"""The built-in lab's WS-Management endpoint: a loopback server the real pywinrm client talks to.

It speaks the remote-shell part of WS-Management that pywinrm uses (Create, Command, Send on a
command's stdin, Receive, Signal, Delete, SOAP faults), with Basic and NTLM auth
(``message_encryption='never'`` over HTTP), Kerberos (``auth=(..., "kerberos")`` with ``keytab=``: a
keytab exported from a real KDC, as the tests do from Samba's) and HTTPS with a throwaway CA. What a
command prints comes from a :class:`Responder`,
one per host; faults are injected per host (:class:`Faults`, see :mod:`.faults`).

Hosts get one port each (ephemeral with ``port=0``, else ``port``, ``port+1``, ...) or, with
``route_by_host``, share one port and are told apart by the HTTP Host header (a client that
resolves the lab names to the bind address) or, failing that, by the path ``/wsman/<name>``
that :meth:`LabServer.endpoint` returns. Every listener binds to loopback only.

Threads: one acceptor thread for all listening sockets and one thread per TCP connection.
Responders are called from those connection threads concurrently, so they must be thread-safe.

Usage::

    with LabServer([LabHost("hv01", responder)]) as lab:
        winrm.Session(lab.endpoint("hv01"), auth=("lab\\\\auditor", "Lab-Passw0rd!"),
                      transport="ntlm", message_encryption="never").run_ps("...")
"""

from __future__ import annotations

import ipaddress
import logging
import os
import selectors
import shutil
import socket
import ssl
import threading
from typing import Any
from urllib.parse import quote, unquote

from ._wsman_http import NtlmUserFile, WsmanHandler, kerberos_acceptor, lab_tempdir
from ._wsman_soap import HostShells
from .faults import Faults
from .hosts import CommandResult, LabHost, ReadsStdin, Responder
from .tls import server_context, write_tls_files

__all__ = ["CommandResult", "Faults", "LabHost", "LabServer", "ReadsStdin", "Responder"]

log = logging.getLogger("offhost_audit.lab.wsman")
_AUTH_METHODS = ("basic", "ntlm", "kerberos")


def _loopback(bind: str) -> str:
    text = "127.0.0.1" if bind.lower() == "localhost" else bind.strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"the lab binds to a loopback address only (127.0.0.0/8 or ::1), not {bind!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the lab binds to a loopback address only (127.0.0.0/8 or ::1), not {bind!r}")
    return str(address)


class _Listener:
    """One TCP port: a host's own, or the shared one that routes on the Host header."""

    def __init__(self, lab: LabServer, sock: socket.socket, shells: HostShells | None) -> None:
        self.lab, self.sock, self.shells = lab, sock, shells
        self.port: int = sock.getsockname()[1]
        self.auth = lab.auth
        self.stopping = lab._stopping
        self.kerberos_creds = lab._kerberos_creds

    def route(self, host_header: str, path: str = "/wsman") -> HostShells | None:
        """The host a request is for: the port's own, else the Host header's, else ``/wsman/<name>``'s."""
        if self.shells is not None:
            return self.shells  # one host per port: like WinRM, ignore the Host header
        name = host_header.strip().lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        shells = self.lab._by_name.get(name)
        if shells is None and path.lower().startswith("/wsman/"):
            shells = self.lab._by_name.get(unquote(path[7:].split("?", 1)[0].strip("/")).lower())
        return shells

    def address_for(self, name: str) -> str:
        return self.lab.endpoint(name)


class LabServer:
    """A WS-Management endpoint for many lab hosts on loopback. Start with ``with`` or :meth:`start`."""

    def __init__(
        self,
        hosts: list[LabHost],
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        https: bool = False,
        route_by_host: bool = False,
        auth: tuple[str, ...] = ("basic", "ntlm"),
        receive_chunk_bytes: int = 64 * 1024,
        keytab: str | None = None,
    ) -> None:
        if not hosts:
            raise ValueError("the lab needs at least one host")
        unknown = set(auth) - set(_AUTH_METHODS)
        if unknown or not auth:
            raise ValueError(f"auth must be a non-empty subset of {_AUTH_METHODS}, got {auth!r}")
        if not 0 <= port <= 65535 or (port and not route_by_host and port + len(hosts) - 1 > 65535):
            raise ValueError(f"port {port} leaves no room for {len(hosts)} hosts")
        self.hosts = list(hosts)
        self.bind = _loopback(bind)
        self.port, self.https, self.route_by_host = port, https, route_by_host
        self.auth = tuple(auth)
        if ("kerberos" in auth) != bool(keytab):
            raise ValueError("auth 'kerberos' and keytab go together: the keytab holds the hosts' HTTP/<name> keys")
        self.keytab = keytab
        self._kerberos_creds: Any = None
        self._shells = [HostShells(h, chunk_bytes=max(1024, receive_chunk_bytes)) for h in self.hosts]
        self._by_name: dict[str, HostShells] = {}
        for shells in self._shells:
            key = shells.host.name.lower()
            if key in self._by_name:
                raise ValueError(f"two lab hosts are named {shells.host.name!r}")
            self._by_name[key] = shells
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[_Listener] = []
        self._reserved: dict[str, socket.socket] = {}  # hosts with fault `refuse`: bound, never listening
        self._ports: dict[str, int] = {}
        self._connections: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._acceptor: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._tls_dir: str | None = None
        self._krb_dir: str | None = None
        self._ca_file: str | None = None
        self._ssl: ssl.SSLContext | None = None
        self._ntlm_token: int | None = None
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Open every listener and return at once; the server runs in background threads."""
        if self._started:
            raise RuntimeError("this LabServer was already started")
        self._started = True
        try:
            if self.https:
                self._tls_dir = lab_tempdir("tls")
                files = write_tls_files(self._tls_dir, [h.name for h in self.hosts], self.bind)
                self._ssl, self._ca_file = server_context(files), files.ca_file
            if "ntlm" in self.auth:
                self._ntlm_token = NtlmUserFile.register({h.username: h.password for h in self.hosts})
            if self.keytab:
                self._krb_dir = lab_tempdir("krb")  # the replay cache: the lab's own, not /var/tmp's
                self._kerberos_creds = kerberos_acceptor(self.keytab, os.path.join(self._krb_dir, "rcache"))
            self._open_sockets()
        except BaseException:
            self._cleanup()
            raise
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name="lab-wsman-accept", daemon=True)
        self._acceptor.start()
        log.info("lab WS-Management endpoint up: %d host(s) on %s", len(self.hosts), self.bind)

    def _socket(self, port: int, listen: bool) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.bind, port))
            if listen:
                sock.listen(1024)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"lab cannot bind {self.bind}:{port}: {exc.strerror}") from exc
        return sock

    def _open_sockets(self) -> None:
        if self.route_by_host:
            listener = _Listener(self, self._socket(self.port, True), None)
            self._listeners.append(listener)
            for host in self.hosts:
                self._ports[host.name] = listener.port
            return
        for index, (host, shells) in enumerate(zip(self.hosts, self._shells)):
            port = self.port + index if self.port else 0
            if host.faults.refuse:
                sock = self._socket(port, False)
                self._reserved[host.name] = sock
                self._ports[host.name] = sock.getsockname()[1]
            else:
                listener = _Listener(self, self._socket(port, True), shells)
                self._listeners.append(listener)
                self._ports[host.name] = listener.port

    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        assert self._wake_r is not None
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        for listener in self._listeners:
            listener.sock.setblocking(False)
            selector.register(listener.sock, selectors.EVENT_READ, listener)
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.data is None:
                        return
                    try:
                        conn, peer = key.fileobj.accept()  # type: ignore[union-attr]
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        if self._stopping.is_set():
                            return
                        log.exception("lab accept failed")
                        continue
                    conn.setblocking(True)
                    thread = threading.Thread(
                        target=self._serve, args=(conn, peer, key.data), name="lab-wsman-conn", daemon=True
                    )
                    with self._lock:
                        self._connections.add(conn)
                        self._threads.add(thread)
                    thread.start()
        finally:
            selector.close()

    def _serve(self, conn: socket.socket, peer: tuple, listener: _Listener) -> None:
        raw = conn
        try:
            if self._ssl is not None:
                conn.settimeout(10)
                conn = self._ssl.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
                with self._lock:
                    self._connections.discard(raw)
                    self._connections.add(conn)
            WsmanHandler(conn, peer, listener)  # type: ignore[arg-type]  # handles the whole connection
        except (OSError, ssl.SSLError) as exc:
            log.debug("lab connection from %s ended: %s", peer, exc)
        except Exception:
            log.exception("lab connection handler failed")
        finally:
            for sock in {conn, raw}:
                try:
                    sock.close()
                except OSError:
                    pass
            with self._lock:
                self._connections.discard(raw)
                self._connections.discard(conn)
                self._threads.discard(threading.current_thread())

    def stop(self) -> None:
        """Close every socket, join every thread, remove the temp files. Safe to call twice."""
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        for shells in self._shells:
            shells.stopping.set()  # a Receive waiting for output answers now
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        if self._acceptor is not None:
            self._acceptor.join(timeout=10)
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=10)
        self._cleanup()
        log.info("lab WS-Management endpoint stopped")

    def _cleanup(self) -> None:
        for sock in (
            [listener.sock for listener in self._listeners]
            + list(self._reserved.values())
            + [s for s in (self._wake_r, self._wake_w) if s is not None]
        ):
            try:
                sock.close()
            except OSError:
                pass
        if self._ntlm_token is not None:
            NtlmUserFile.unregister(self._ntlm_token)
            self._ntlm_token = None
        for folder in (self._tls_dir, self._krb_dir):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        self._tls_dir = self._krb_dir = None
        self._kerberos_creds = None

    def serve_forever(self) -> None:
        """Start if needed and block until :meth:`stop` (from another thread) or Ctrl-C."""
        if not self._started:
            self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> LabServer:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------
    def endpoint(self, host_name: str) -> str:
        """The URL a client uses for this host, e.g. ``http://127.0.0.1:49152/wsman``.

        With ``route_by_host`` it is ``http://127.0.0.1:<shared port>/wsman/<name>``: the lab
        routes on the Host header when it names a lab host, else on that path, so the URL works
        without any name resolution. Use it with ``winrm.Protocol``: ``winrm.Session`` keeps
        only ``/wsman`` of a URL's path (then set the Host header to the name instead).
        """
        shells = self._by_name.get(host_name.lower())
        if shells is None or shells.host.name not in self._ports:
            raise KeyError(f"no lab host named {host_name!r}" if shells is None else "the lab is not started")
        scheme = "https" if self.https else "http"
        address = f"[{self.bind}]" if ":" in self.bind else self.bind
        path = "/wsman/" + quote(shells.host.name, safe="") if self.route_by_host else "/wsman"
        return f"{scheme}://{address}:{self._ports[shells.host.name]}{path}"

    @property
    def address(self) -> tuple[str, int]:
        """(bind address, port) of the shared listener with ``route_by_host``, else of the first host."""
        return self.bind, self._ports[self.hosts[0].name]

    @property
    def ca_file(self) -> str | None:
        """PEM file of the lab's CA (HTTPS only; deleted by :meth:`stop`)."""
        return self._ca_file

    def stats(self, host_name: str) -> dict[str, int]:
        """Per-host counters, for tests and `lab serve` status: ``http_requests``, one per SOAP
        action (``Create``, ``Command``, ``Receive``, ``Signal``, ``Delete``, ``Send``), ``faults``
        (SOAP faults answered), ``injected_<fault>``, ``auth_challenges`` (401 to a request without
        credentials), ``auth_rejected`` (401 to wrong credentials) and ``open_shells``."""
        shells = self._by_name[host_name.lower()]
        with shells._lock:
            counters = dict(shells.stats)
        counters["open_shells"] = shells.open_shells
        return counters
