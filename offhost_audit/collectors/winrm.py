"""Run a shipped PowerShell script on a Windows host through pywinrm, one shell per target.

``WinRMSession(target).run("system.ps1", {...})`` sends the script with
:func:`offhost_audit.collectors.pscommand.command_line`, waits at most the per-call timeout, retries
once on a WS-Man timeout fault (code 2150858793), decodes CLIXML stderr into a readable error and
returns the parsed JSON (``None`` for empty output). Every failure is a
:class:`~offhost_audit.errors.CollectorError` whose text names the host and never a secret.

The per-call timeout (and the target's deadline, whichever comes first) is a wall-clock limit
(:func:`offhost_audit.deadline.wall_clock`): a host that trickles its answer a byte at a time is cut
off when the time is up, not when it pauses. A script's output is capped (``max_output_bytes``,
default :data:`MAX_OUTPUT_BYTES`): beyond it the call stops and the collector records the error.

``auth: kerberos``: the ticket comes from the run's :class:`~offhost_audit.collectors.kerberos.Tickets`
(got with the target's credentials, never the user's cache) and every request carries a Kerberos
token for ``HTTP/<address>`` (:class:`~offhost_audit.collectors.kerberos.HttpKerberosAuth`). Over
HTTPS only: WinRM over HTTP would need Kerberos message encryption, which is not implemented.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from offhost_audit.collector_specs import CollectorSpec
from offhost_audit.collectors import kerberos, pscommand, psjson
from offhost_audit.collectors.base import Context, Target
from offhost_audit.deadline import wall_clock
from offhost_audit.errors import CollectorError, KerberosError, TargetUnreachableError

log = logging.getLogger(__name__)
WSMAN_TIMEOUT = 2150858793
#: Most bytes of stdout plus stderr one script may send (the largest real estates print a few MB).
MAX_OUTPUT_BYTES = 32 * 1024 * 1024


class AuthenticationError(TargetUnreachableError):
    title = "authentication failed"


def _is_timeout_fault(e: Exception) -> bool:
    return isinstance(e, WinRMOperationTimeoutError) or (
        isinstance(e, WSManFaultError) and e.wsman_fault_code == WSMAN_TIMEOUT
    )


class WinRMSession:
    """One WinRM connection and shell to one target, reused by every script for that target."""

    def __init__(
        self,
        target: Target,
        *,
        call_timeout: float | None = None,
        max_output_bytes: int | None = None,
        tickets: kerberos.Tickets | None = None,
    ) -> None:
        self.target = target
        self.kerberos = target.options.get("auth") == "kerberos"
        # auth: kerberos: the run's tickets (collect.py), else this session's own, released by close()
        self._own_tickets = tickets is None
        self.tickets = tickets or kerberos.Tickets()
        self.call_timeout = float(call_timeout or target.timeout_s)
        self.max_output_bytes = max_output_bytes or MAX_OUTPUT_BYTES
        opts = target.options
        scheme = opts.get("scheme") or ("https" if target.tls else "http")
        port = target.port or (5986 if scheme == "https" else 5985)
        self.endpoint = f"{scheme}://{target.address}:{port}{opts.get('path') or '/wsman'}"
        self._protocol: Protocol | None = None
        self._shell: str | None = None

    def _connect(self, end: float) -> Protocol:
        if self._protocol is None:
            t = self.target
            if t.credentials is None:
                raise CollectorError(f"{t.name}: no credentials configured")
            op = max(1, min(20, int(self.call_timeout // 2)))
            read = self._read_timeout = max(op + 1, math.ceil(self.call_timeout))
            # the CA bundle is explicit: the target's ca_file, else the certifi bundle requests ships
            kwargs: dict[str, Any] = {"ca_trust_path": t.ca_file if (t.ca_file and t.verify_tls) else None}
            auth = self._kerberos_auth() if self.kerberos else None
            self._protocol = Protocol(
                endpoint=self.endpoint,
                transport=t.options.get("auth", "ntlm"),
                username=t.credentials.username,
                password=None if auth else t.credentials.password,
                server_cert_validation="validate" if t.verify_tls else "ignore",
                message_encryption=t.options.get("message_encryption", "auto"),
                operation_timeout_sec=op,
                read_timeout_sec=read,
                proxy=None,
                **kwargs,
            )
            if auth is not None:  # pywinrm's own kerberos transport needs pykerberos and the user's cache
                self._protocol.transport.session = self._session(auth)
        # connecting is bounded by the time left too (the wall-clock watch cuts reads, not connects)
        # requests takes (connect, read); pywinrm's annotation says int
        self._protocol.transport.read_timeout_sec = (max(0.5, end - time.monotonic()), self._read_timeout)  # type: ignore[assignment]
        if self._protocol.transport.session is None:
            # no proxy/netrc/CA lookups in the environment on every request: settings are explicit
            self._protocol.transport.build_session().trust_env = False
        if self._shell is None:
            self._shell = self._protocol.open_shell(codepage=65001)
        return self._protocol

    def _kerberos_auth(self) -> kerberos.HttpKerberosAuth:
        t = self.target
        encryption = t.options.get("message_encryption")
        if encryption == "always" or (urlsplit(self.endpoint).scheme != "https" and encryption != "never"):
            raise KerberosError(
                f"{t.name}: auth: kerberos with WinRM message encryption (over HTTP, or message_encryption: "
                "always) is not implemented: use the host's HTTPS listener (winrm: scheme: https)",
                cause="setup",
            )
        kerberos.service_host(t.name, t.address, "HTTP")  # an IP address: fail before any packet
        return kerberos.HttpKerberosAuth(self.tickets.credentials(t.credentials, where=t.name), where=t.name)

    def _session(self, auth: kerberos.HttpKerberosAuth) -> requests.Session:
        """What pywinrm's build_session makes for HTTPS, with the Kerberos auth instead of its own."""
        t = self.target
        session = requests.Session()
        session.trust_env = False  # no proxy/netrc/CA lookups in the environment: settings are explicit
        session.verify = (t.ca_file or True) if t.verify_tls else False
        assert self._protocol is not None
        session.headers.update(self._protocol.transport.default_headers)
        session.auth = auth
        return session

    def close(self, *, graceful: bool = True) -> None:
        """Delete the shell (``graceful``) or just forget the connection (after a timeout or transport error)."""
        if graceful and self._protocol is not None and self._shell is not None:
            try:
                self._protocol.close_shell(self._shell)
            except Exception:
                log.debug("%s: close_shell failed", self.target.name, exc_info=True)
        if self._protocol is not None:
            self._protocol.transport.close_session()  # local only: release the sockets
        self._shell = None
        self._protocol = None
        if self._own_tickets:
            self.tickets.close()

    def run(self, script: str, arguments: dict[str, Any] | None = None, *, deadline: float | None = None) -> Any:
        """Run a shipped script; its one JSON document parsed (None when it printed nothing)."""
        end = time.monotonic() + self.call_timeout  # the retry shares the call's time
        if deadline is not None:
            end = min(end, deadline)
        try:
            return self._run_once(script, arguments, end)
        except CollectorError as e:
            if not e.retryable:
                raise
            log.info("%s: WS-Man timeout fault on %s, retrying once", self.target.name, script)
            self.close(graceful=False)
            return self._run_once(script, arguments, end)

    def _run_once(self, script: str, arguments: dict[str, Any] | None, end: float) -> Any:
        name = self.target.name
        command, args = pscommand.command_line(script, arguments)
        cid, budget = None, end - time.monotonic()
        if budget <= 0:
            raise CollectorError(f"{name}: {script} not attempted: the target's time is up")
        with wall_clock(budget) as watch:
            try:
                proto = self._connect(end)
                assert self._shell is not None
                cid = proto.run_command(self._shell, command, args)
                out, err, code, done, size = [], [], -1, False, 0
                while not done:
                    if time.monotonic() > end:
                        self.close(graceful=False)
                        raise self._late(script, budget, started=True)
                    try:
                        o, e, code, done = proto.get_command_output_raw(self._shell, cid)
                    except WinRMOperationTimeoutError:
                        continue  # normal long-poll: no output yet
                    out.append(o)
                    err.append(e)
                    size += len(o) + len(e)
                    if size > self.max_output_bytes:
                        self.close(graceful=False)
                        raise CollectorError(
                            f"{name}: {script} printed more than {self.max_output_bytes:,} bytes: "
                            "stopped and not parsed (output truncated)"
                        )
                try:
                    proto.cleanup_command(self._shell, cid)
                except WinRMError:
                    pass
            except CollectorError:
                raise
            except Exception as e:  # noqa: BLE001 - mapped to one readable error
                self.close(graceful=False)
                if watch.expired:
                    raise self._late(script, budget, started=cid is not None) from None
                raise self._error(script, e) from None
        stdout = b"".join(out).decode("utf-8", errors="replace")
        stderr = psjson.decode_clixml(b"".join(err).decode("utf-8", errors="replace"))
        if code != 0:
            msg = stderr or psjson.lf(stdout).strip()[:300] or "no error text"
            raise CollectorError(f"{name}: {script} failed (exit {code}): {msg}")
        return psjson.loads(stdout, what=f"{name}: {script} output")

    def _late(self, script: str, budget: float, *, started: bool) -> CollectorError:
        """The call's wall-clock time is up: a script still running, or a host that does not answer."""
        name = self.target.name
        if started:
            return CollectorError(f"{name}: {script} did not finish within {budget:.3g}s (timeout)")
        return TargetUnreachableError(
            f"{name}: no answer from {self.endpoint} within {budget:.3g}s "
            "(timeout: the answer was too slow or never came)"
        )

    def _error(self, script: str, e: Exception) -> CollectorError:
        name, url = self.target.name, self.endpoint
        if _is_timeout_fault(e):
            return CollectorError(f"{name}: WS-Man operation timeout on {script}", retryable=True)
        if isinstance(e, InvalidCredentialsError):
            user = self.target.credentials.username if self.target.credentials else "?"
            if self.kerberos:
                return AuthenticationError(
                    f"{name}: authentication failed (HTTP 401) at {url}: the host refused the Kerberos ticket of "
                    f"{kerberos.principal(user)} for HTTP/{self.target.address.lower()}: its clock may be more than "
                    "5 minutes off the KDC's, or that SPN may belong to another account"
                )
            return AuthenticationError(f"{name}: authentication failed (HTTP 401) at {url} as {user}")
        if isinstance(e, requests.exceptions.SSLError):
            return TargetUnreachableError(
                f"{name}: TLS certificate verification failed for {url} "
                "(set winrm.ca_file, or --insecure to skip validation)"
            )
        if isinstance(e, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)):
            return TargetUnreachableError(f"{name}: no answer from {url} within {self.call_timeout:g}s")
        if isinstance(e, requests.exceptions.ConnectionError):
            return TargetUnreachableError(f"{name}: cannot connect to {url} ({_short(e)})")
        if isinstance(e, WSManFaultError):
            return CollectorError(f"{name}: WS-Man fault on {script}: {e.reason} (code {e.wsman_fault_code})")
        if isinstance(e, WinRMTransportError):
            return CollectorError(f"{name}: WinRM server error on {script}: HTTP {e.code}")
        return CollectorError(f"{name}: {script}: {type(e).__name__}: {_short(e)}")


def _short(e: BaseException) -> str:
    """The reason at the bottom of requests' / urllib3's wrapping, without tuple reprs and their quotes:
    ``Connection aborted: Remote end closed connection without response``, ``[Errno 111] Connection refused``."""
    parts: list[str] = []
    cur: BaseException | None = e
    seen: set[int] = set()
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        args = getattr(cur, "args", ())
        inner = next((a for a in args if isinstance(a, BaseException)), None)
        if inner is not None:  # ProtocolError("Connection aborted.", RemoteDisconnected(...)): keep its words
            parts += [a.rstrip(".") for a in args if isinstance(a, str)]
        elif isinstance(getattr(cur, "reason", None), BaseException):
            inner = cur.reason  # type: ignore[attr-defined]  # MaxRetryError: its own text is the pool's repr
        else:
            parts.append(str(cur))
        cur = inner
    s = ": ".join(p for p in parts if p)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in s:
            s = s.split(marker, 1)[1]
    return s.strip("()'\" ")[:200]


def session_for(target: Target, ctx: Context) -> WinRMSession:
    """The target's shared session (the runner puts it in ``ctx.extra["winrm"]``), or a new one."""
    s = ctx.extra.get("winrm")
    if isinstance(s, WinRMSession) and s.target.name == target.name:
        return s
    s = WinRMSession(target, call_timeout=ctx.extra.get("call_timeout"), tickets=ctx.extra.get("kerberos"))
    ctx.extra["winrm"] = s
    return s


class PsCollector:
    """Base for the WinRM collectors: its declaration (``spec``: id, kinds, the shipped script), one
    parser, the host fragment it yields."""

    spec: CollectorSpec

    def arguments(self, target: Target, ctx: Context) -> dict[str, Any]:
        return {}

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def collect(self, target: Target, ctx: Context) -> dict[str, Any]:
        doc = session_for(target, ctx).run(
            str(self.spec.script), self.arguments(target, ctx), deadline=ctx.extra.get("deadline")
        )
        return self.parse(doc, target, ctx)
