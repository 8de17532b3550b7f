"""HTTP side of the lab's WS-Management endpoint: one handler per TCP connection, auth, faults.

Authentication follows what WinRM over HTTP.sys does:

- Basic: checked on every request.
- Negotiate/NTLM (`message_encryption='never'` on the client): a pyspnego acceptor runs the
  three-leg handshake on the connection; once it succeeds the *connection* is authenticated for
  that host, so later requests on it need no Authorization header (requests-ntlm relies on
  this). pyspnego's acceptor reads its users from the file named by ``NTLM_USER_FILE``; that
  variable is process-wide, so :class:`NtlmUserFile` keeps one file with the credentials of
  every running lab host (NT hashes in smbpasswd format, no clear-text password on disk) in a
  private temp folder (0700, file 0600) and deletes it when the last lab server stops.
- Kerberos (``Negotiate`` with a Kerberos token, as Windows clients and ``HttpKerberosAuth`` send):
  a GSSAPI acceptor with the lab's keytab (exported from a real KDC) takes the ticket in one leg;
  the ticket's client must be the host's user (``user@REALM``, or ``DOMAIN\\user`` by its user
  part), and the answer carries the server's token (mutual authentication), as HTTP.sys does.
  A ticket the acceptor refuses (clock skew, a key it does not hold) is a plain 401.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import glob
import hmac
import logging
import os
import shutil
import socket
import socketserver
import tempfile
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

import spnego
from Cryptodome.Hash import MD4

if TYPE_CHECKING:
    from ._wsman_soap import HostShells

log = logging.getLogger("offhost_audit.lab.wsman")


class Listener(Protocol):
    """One listening port (wsman._Listener), as the handler sees its server."""

    auth: tuple[str, ...]
    stopping: threading.Event
    kerberos_creds: Any  # the GSSAPI acceptor credential from the keytab (auth "kerberos")

    def route(self, host_header: str, path: str = "/wsman") -> HostShells | None: ...

    def address_for(self, name: str) -> str: ...


def lab_tempdir(kind: str) -> str:
    """A private temp folder (0700) of this process, ``offhost-lab-<kind>-<pid>-*``. Its owner removes
    it when it stops; whatever a signal left behind (it can land between making a folder and
    recording it: SIGTERM and SIGINT unwind the command, cli.main) goes when the process exits."""
    global _sweep_registered
    if not _sweep_registered:
        atexit.register(_sweep, os.getpid())
        _sweep_registered = True
    return tempfile.mkdtemp(prefix=f"offhost-lab-{kind}-{os.getpid()}-")


_sweep_registered = False


def _sweep(pid: int) -> None:
    if pid == os.getpid():  # not in a forked child
        for path in glob.glob(os.path.join(tempfile.gettempdir(), f"offhost-lab-*-{pid}-*")):
            shutil.rmtree(path, ignore_errors=True)


def kerberos_acceptor(keytab: str, rcache: str) -> Any:
    """The acceptor credential for every key in ``keytab`` (MIT tries each key the ticket may be for),
    replays detected in the file ``rcache``."""
    try:
        import gssapi
    except ImportError:
        raise RuntimeError(
            "the lab's Kerberos listener needs the 'gssapi' package: pip install 'offhost-audit[kerberos]'"
        ) from None
    if not os.path.isfile(keytab):
        raise ValueError(f"lab keytab {keytab} does not exist")
    return gssapi.Credentials(usage="accept", store={"keytab": keytab, "rcache": f"file2:{rcache}"})


# The GSS-API token header of a raw Kerberos token: 0x60, a length, then the krb5 mech OID 1.2.840.113554.1.2.2
_KRB5_OID = bytes.fromhex("06092a864886f712010202")


def _is_kerberos(raw: bytes) -> bool:
    return raw[:1] == b"\x60" and _KRB5_OID in raw[:16]


def _same_account(principal: str, username: str) -> bool:
    """``user@REALM`` against the lab host's ``user@realm`` or ``DOMAIN\\user``."""
    user = username.lower()
    if "@" in user:
        return principal.lower() == user
    return principal.lower().partition("@")[0] == user.rpartition("\\")[2]


MAX_BODY = 16 * 1024 * 1024
_MAX_LINE = 65536
_MAX_HEADERS = 100
_SOAP_TYPE = "application/soap+xml;charset=UTF-8"


class NtlmUserFile:
    """Process-wide NTLM_USER_FILE shared by every running lab server (reference counted).

    pyspnego's NTLM acceptor reads its users from the file named by NTLM_USER_FILE (its public way to
    be given credentials). The lines use the smbpasswd form ``USER:UID:LM:NT:FLAGS:LCT`` so that the
    file holds no clear password: the NT hash (MD4 of the UTF-16LE password) comes from pycryptodomex's
    public MD4, not from pyspnego's private ``_ntlm_raw``; the LM hash is left empty (zeros), as the
    lab's clients (pywinrm through pyspnego) answer with NTLMv2, which uses the NT hash only."""

    _lock = threading.Lock()
    _entries: dict[int, dict[str, str]] = {}
    _next = 0
    _folder: str | None = None
    _saved_env: str | None = None

    @classmethod
    def register(cls, users: dict[str, str]) -> int:
        """Add ``{'DOM\\user': password}``; returns a token for :meth:`unregister`."""
        lines = {}
        for user, password in users.items():
            if ":" in user or "\n" in user:
                raise ValueError(f"lab user name {user!r} cannot contain ':' or a newline")
            nt_hash = MD4.new(password.encode("utf-16-le")).hexdigest().upper()
            lines[user.lower()] = f"{user}:0:{'0' * 32}:{nt_hash}:[U]:LCT-00000000"
        with cls._lock:
            for entries in cls._entries.values():
                for key, line in lines.items():
                    if key in entries and entries[key].split(":")[3] != line.split(":")[3]:
                        raise ValueError(
                            f"two running lab hosts use NTLM user {key!r} with different passwords; "
                            "NTLM_USER_FILE is process-wide, so give them one password"
                        )
            cls._next += 1
            cls._entries[cls._next] = lines
            cls._rewrite()
            return cls._next

    @classmethod
    def unregister(cls, token: int) -> None:
        with cls._lock:
            if cls._entries.pop(token, None) is not None:
                cls._rewrite()

    @classmethod
    def _rewrite(cls) -> None:
        merged: dict[str, str] = {}
        for entries in cls._entries.values():
            merged.update(entries)
        if not merged:
            if cls._folder:
                shutil.rmtree(cls._folder, ignore_errors=True)
                cls._folder = None
                if cls._saved_env is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = cls._saved_env
            return
        if cls._folder is None:
            cls._saved_env = os.environ.get("NTLM_USER_FILE")
            cls._folder = lab_tempdir("ntlm")
        path = os.path.join(cls._folder, "ntlm_users")
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(merged.values()) + "\n")
        os.replace(tmp, path)
        os.environ["NTLM_USER_FILE"] = path


def _b64(token: str) -> bytes:
    try:
        return base64.b64decode(token.strip(), validate=True)
    except binascii.Error:
        return b""


class _Headers(dict):
    """Request headers, looked up case-insensitively (keys are stored lower-case)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.get(self, key.lower(), default)


class WsmanHandler(socketserver.StreamRequestHandler):
    """One instance per TCP connection (HTTP/1.1 keep-alive: many requests).

    A lean HTTP/1.1 request reader instead of :class:`http.server.BaseHTTPRequestHandler`,
    whose header parsing (the email package) cost about half of the lab's time per request.
    """

    server_version = "Microsoft-HTTPAPI/2.0"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this
    server: Listener  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        self.auth_host: str | None = None  # host this connection authenticated to by NTLM
        self.ntlm: spnego.ContextProxy | None = None
        self.ntlm_host: str | None = None
        self.mutual: list[str] | None = None  # the Kerberos answer token for the next reply
        self.close_connection = False
        self.command = self.path = self.requestline = ""
        self.headers = _Headers()

    def handle(self) -> None:
        try:
            while not self.close_connection and self._read_request():
                if self.command == "POST":
                    self.do_POST()
                else:
                    self.do_other()
        except (TimeoutError, ConnectionError):
            pass

    def _read_request(self) -> bool:
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        self.requestline = line.decode("latin-1").rstrip("\r\n")
        parts = self.requestline.split()
        if len(line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.close_connection = True
            self._send(400, b"Bad request line\n", "text/plain")
            return False
        self.command, self.path, version = parts
        headers = self.headers = _Headers()
        for _ in range(_MAX_HEADERS):
            raw = self.rfile.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or len(raw) > _MAX_LINE:
                self.close_connection = True
                self._send(400, b"Bad header line\n", "text/plain")
                return False
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        else:
            self.close_connection = True
            self._send(431, b"Too many headers\n", "text/plain")
            return False
        connection = (headers.get("Connection") or "").lower()
        self.close_connection = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        return True

    def address_string(self) -> str:
        return str(self.client_address[0])

    def log_request(self, code: object = "-") -> None:
        log.debug("%s %r %s", self.client_address[0], self.requestline, code)

    def do_other(self) -> None:
        if self._read_body() is not None:
            self._send(405, b"WS-Management accepts POST only\n", "text/plain", allow="POST")

    def do_POST(self) -> None:
        listener = self.server
        shells = listener.route(self.headers.get("Host") or "", self.path)
        data = self._read_body()
        if data is None:
            return
        if shells is None:
            self._send(404, b"No lab host answers to this Host header or /wsman/<name> path.\n", "text/plain")
            return
        host = shells.host
        dead = (
            host.faults.dies_after_requests and shells.stats.get("http_requests", 0) >= host.faults.dies_after_requests
        )
        if host.faults.refuse or dead:  # refuse: only reachable behind a shared port; hang up without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        shells.count("http_requests")
        if host.faults.latency_s and listener.stopping.wait(host.faults.latency_s):
            self.close_connection = True
            return
        if not self._authenticate(shells):
            return
        if (self.headers.get("Content-Type") or "").lower().startswith("multipart/encrypted"):
            self._send(
                415,
                b"The lab does not implement WinRM message encryption: connect with "
                b"message_encryption='never' (HTTP) or over HTTPS.\n",
                "text/plain",
            )
            return
        mutual, self.mutual = self.mutual, None
        if not data:  # pywinrm's encryption set-up probe; nothing to do
            self._send(200, b"", _SOAP_TYPE, www_authenticate=mutual)
            return
        reply = shells.handle(data, listener.address_for(host.name))
        if reply.drop:
            shells.count("injected_drop")
            self._send_dropped(reply.status, reply.body)
            return
        self._send(reply.status, reply.body, _SOAP_TYPE, www_authenticate=mutual)

    # -- auth ---------------------------------------------------------------------------
    def _authenticate(self, shells: HostShells) -> bool:
        host, methods = shells.host, self.server.auth
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if host.faults.http_401:  # as if the password were wrong: NTLM still gets its challenge
            shells.count("injected_401")
            if scheme in ("negotiate", "ntlm") and "ntlm" in methods:
                self._ntlm_step(shells, scheme, token.strip(), reject=True)
            else:
                self._challenge()
            return False
        if scheme == "basic" and "basic" in methods:
            if self._basic_ok(host.username, host.password, token.strip()):
                return True
        elif scheme == "negotiate" and "kerberos" in methods and _is_kerberos(_b64(token)):
            return self._kerberos_step(shells, _b64(token))
        elif scheme in ("negotiate", "ntlm") and "ntlm" in methods:
            return self._ntlm_step(shells, scheme, token.strip())
        elif not header and self.auth_host == host.name:
            return True
        shells.count("auth_rejected" if header else "auth_challenges")
        self._challenge()
        return False

    @staticmethod
    def _basic_ok(username: str, password: str, token: str) -> bool:
        try:
            user, _, given = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = user.lower() == username.lower()
        return hmac.compare_digest(given.encode(), password.encode()) and same_user

    def _kerberos_step(self, shells: HostShells, raw: bytes) -> bool:
        import gssapi

        host = shells.host
        self.auth_host = None
        try:
            ctx = gssapi.SecurityContext(creds=self.server.kerberos_creds, usage="accept")
            answer = ctx.step(raw)
            principal = str(ctx.initiator_name) if ctx.complete else ""
        except gssapi.exceptions.GSSError as exc:  # clock skew, no key for the ticket, a replay: a plain 401
            log.debug("Kerberos for lab host %s rejected: %s", host.name, exc.gen_message())
            principal = ""
        if not principal or not _same_account(principal, host.username):
            shells.count("auth_rejected")
            self._challenge()
            return False
        self.auth_host = host.name
        self.mutual = [f"Negotiate {base64.b64encode(answer or b'').decode('ascii')}"]
        return True

    def _ntlm_step(self, shells: HostShells, scheme: str, token: str, reject: bool = False) -> bool:
        host = shells.host
        self.auth_host = None
        try:
            raw = base64.b64decode(token, validate=True)
        except binascii.Error:
            raw = b""
        try:
            if self.ntlm is None or self.ntlm_host != host.name or raw[8:12] == b"\x01\x00\x00\x00":
                protocol = "ntlm" if raw.startswith(b"NTLMSSP\x00") else "negotiate"
                self.ntlm, self.ntlm_host = spnego.server(protocol=protocol, service="HTTP"), host.name
            answer = self.ntlm.step(raw)
        except Exception as exc:  # noqa: BLE001 - bad token, bad password, unknown user: all are a plain 401
            log.debug("NTLM for lab host %s rejected: %s", host.name, type(exc).__name__)
            self.ntlm = None
            shells.count("auth_rejected")
            self._challenge()
            return False
        if not self.ntlm.complete:
            out = base64.b64encode(answer or b"").decode("ascii")
            self._send(
                401, b"", "text/plain", www_authenticate=[f"{'NTLM' if scheme == 'ntlm' else 'Negotiate'} {out}"]
            )
            return False
        principal = (self.ntlm.client_principal or "").lower()
        self.ntlm = None
        if reject or principal != host.username.lower():
            shells.count("auth_rejected")
            self._challenge()
            return False
        self.auth_host = host.name
        return True

    def _challenge(self) -> None:
        offers = []
        if "ntlm" in self.server.auth or "kerberos" in self.server.auth:
            offers.append("Negotiate")
        if "basic" in self.server.auth:
            offers.append('Basic realm="WSMAN"')
        self._send(401, b"", "text/plain", www_authenticate=offers)

    # -- I/O ----------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if (
            (self.headers.get("Transfer-Encoding") or "").lower() == "chunked"
            or length_text is None
            and self.command == "POST"
        ):
            self._send(411, b"Content-Length required\n", "text/plain")
            self.close_connection = True
            return None
        try:
            length = int(length_text or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(413, b"Request body too large or invalid Content-Length\n", "text/plain")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _head(
        self,
        status: int,
        length: int,
        content_type: str,
        www_authenticate: list[str] | None = None,
        allow: str | None = None,
    ) -> bytes:
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Content-Type: {content_type}",
            f"Content-Length: {length}",
        ]
        lines += [f"WWW-Authenticate: {value}" for value in www_authenticate or ()]
        if allow:
            lines.append(f"Allow: {allow}")
        if self.close_connection:
            lines.append("Connection: close")
        self.log_request(status)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        www_authenticate: list[str] | None = None,
        allow: str | None = None,
    ) -> None:
        # Headers and body in one write: two small writes meet Nagle and delayed ACKs.
        self.wfile.write(self._head(status, len(body), content_type, www_authenticate, allow) + body)

    def _send_dropped(self, status: int, body: bytes) -> None:
        self.close_connection = True
        self.wfile.write(self._head(status, len(body), _SOAP_TYPE) + body[: len(body) // 2])
        self.wfile.flush()
