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
from collections.abc import Callable
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
#: Bytes of stdin per WS-Man Send: the envelope (base64, 4/3) stays well under WinRM's MaxEnvelopeSizekb (500 KB).
STDIN_PIECE = 256 * 1024


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
        out: list[bytes] = []
        err: list[bytes] = []
        code = self._execute(script, command, args, end, out, err, cap=self.max_output_bytes)
        stdout = b"".join(out).decode("utf-8", errors="replace")
        if code != 0:
            raise self._failed(
                script, code, psjson.decode_clixml(b"".join(err).decode("utf-8", errors="replace")), stdout
            )
        return psjson.loads(stdout, what=f"{name}: {script} output")

    def run_batch(self, items: list[pscommand.BatchItem], *, deadline: float | None = None) -> dict[str, Any]:
        """Run every item in ONE powershell.exe (pscommand's batch, the scripts sent on stdin).

        Returns ``{script: parsed JSON (None when it printed nothing) or the CollectorError of that
        script}``: a script that failed, ran past its own time limit or never got to run (the batch was
        cut short) has its own error; the others keep their facts. A failure before any script could
        run (no connection, refused credentials) is raised, as :meth:`run` raises it."""
        # its own limit per script, plus one more for the process start: the batch ends by then at the latest
        end = time.monotonic() + sum(i.timeout_s for i in items) + self.call_timeout
        if deadline is not None:
            end = min(end, deadline)
        try:
            return self._batch_once(items, end)
        except CollectorError as e:
            if not e.retryable:
                raise
            log.info("%s: WS-Man timeout fault on the batch, retrying once", self.target.name)
            self.close(graceful=False)
            return self._batch_once(items, end)

    def _batch_once(self, items: list[pscommand.BatchItem], end: float) -> dict[str, Any]:
        command, args = pscommand.batch_command()
        out: list[bytes] = []
        err: list[bytes] = []
        scripts = [i.script for i in items]
        start = time.monotonic()

        seen = {"lines": 0, "open": 0}  # record lines complete so far, bytes of the line still arriving

        def too_big(chunk: bytes) -> CollectorError | None:  # one script printed past the cap: stop there
            nl = chunk.count(b"\n")
            seen["lines"] += nl
            seen["open"] = len(chunk) - chunk.rfind(b"\n") - 1 if nl else seen["open"] + len(chunk)
            if seen["open"] <= self.max_output_bytes:
                return None
            return self._too_much(scripts[min(seen["lines"], len(scripts) - 1)], self.max_output_bytes)

        self._open_within_call_timeout(end)  # a host that does not answer is one call's wait, not the batch's
        failure: CollectorError | None = None
        code = 0
        try:
            code = self._execute(
                "the batch",
                command,
                args,
                end,
                out,
                err,
                cap=self.max_output_bytes * len(items),
                stdin=pscommand.batch_input(items),
                too_big=too_big,
            )
        except CollectorError as e:
            if (
                e.retryable or isinstance(e, TargetUnreachableError)
            ) and pscommand.RECORD_MARK.encode() not in b"".join(out):
                raise  # nothing ran: retried, or the target is unreachable (the runner skips the rest)
            failure = e
        stdout = b"".join(out).decode("utf-8", errors="replace")
        records, _ = pscommand.parse_records(stdout)
        if failure is None and not records:  # the bootstrap itself failed: its error is every script's
            stderr = psjson.decode_clixml(b"".join(err).decode("utf-8", errors="replace"))
            failure = self._failed("the batch", code, stderr, stdout)
        results: dict[str, Any] = {}
        first_missing = True
        for item in items:
            r = records.get(item.script)
            if r is None:
                results[item.script] = self._unfinished(item, failure, time.monotonic() - start, first_missing)
                first_missing = False
            else:
                results[item.script] = self._record_result(item, r)
        return results

    def _open_within_call_timeout(self, end: float) -> None:
        """Connect and open the shell (when not open yet) within one call timeout."""
        if self._shell is not None:
            return
        connect_end = min(end, time.monotonic() + self.call_timeout)
        budget = connect_end - time.monotonic()
        if budget <= 0:
            raise CollectorError(f"{self.target.name}: the batch not attempted: the target's time is up")
        with wall_clock(budget) as watch:
            try:
                self._connect(connect_end)
            except CollectorError:
                raise
            except Exception as e:  # noqa: BLE001 - mapped to one readable error
                self.close(graceful=False)
                if watch.expired or time.monotonic() >= connect_end:
                    raise self._late("the batch", budget, started=False) from None
                raise self._error("the batch", e) from None

    def _unfinished(
        self, item: pscommand.BatchItem, failure: CollectorError | None, spent: float, running: bool
    ) -> CollectorError:
        """The error of a script whose record never came (``running``: the first such, the one the batch was
        running): the batch's failure, in that script's words."""
        name, script = self.target.name, item.script
        if failure is None:
            return CollectorError(f"{name}: {script} printed no result in the batch (no record)")
        text = str(failure)
        if text.startswith(f"{name}: {script} "):
            return failure
        if "printed more than" in text:
            return CollectorError(f"{name}: {script} not run: the batch stopped ({text.removeprefix(name + ': ')})")
        if "(timeout" in text and running:
            return CollectorError(
                f"{name}: {script} did not finish within {spent:.3g}s (timeout: the batch was cut off)"
            )
        if "(timeout" in text:
            return CollectorError(f"{name}: {script} not run: the batch was cut off before it (timeout)")
        return type(failure)(text.replace("the batch", script, 1))

    def _record_result(self, item: pscommand.BatchItem, r: pscommand.BatchRecord) -> Any:
        name, script = self.target.name, item.script
        if r.exit == pscommand.BATCH_TIMEOUT_EXIT:
            return CollectorError(f"{name}: {script} did not finish within {item.timeout_s:.3g}s (timeout)")
        if r.exit != 0:
            return self._failed(script, r.exit, psjson.lf(r.err).strip(), r.out)
        if len(r.out.encode("utf-8")) > self.max_output_bytes:
            return self._too_much(script, self.max_output_bytes)
        try:
            return psjson.loads(r.out, what=f"{name}: {script} output")
        except CollectorError as e:
            return e

    def _execute(
        self,
        label: str,
        command: str,
        args: list[str],
        end: float,
        out: list[bytes],
        err: list[bytes],
        *,
        cap: int,
        stdin: bytes | None = None,
        too_big: Callable[[bytes], CollectorError | None] | None = None,
    ) -> int:
        """Run one command in the shell until it is done; its stdout and stderr land in ``out`` and ``err``
        as they arrive (a caller keeps what came before an error); returns the exit code. ``stdin`` is
        sent with WS-Man Send, in pieces under WinRM's envelope limit, the last one closing the stream.
        ``too_big`` may stop the command early (it gets the stdout so far and returns the error)."""
        name = self.target.name
        cid, budget = None, end - time.monotonic()
        if budget <= 0:
            raise CollectorError(f"{name}: {label} not attempted: the target's time is up")
        code = -1
        with wall_clock(budget) as watch:
            try:
                proto = self._connect(end)
                assert self._shell is not None
                cid = proto.run_command(self._shell, command, args, console_mode_stdin=stdin is None)
                if stdin is not None:
                    pieces = [stdin[i : i + STDIN_PIECE] for i in range(0, len(stdin), STDIN_PIECE)] or [b""]
                    for i, piece in enumerate(pieces):
                        proto.send_command_input(self._shell, cid, piece, end=i == len(pieces) - 1)
                done, size = False, 0
                while not done:
                    if time.monotonic() > end:
                        self.close(graceful=False)
                        raise self._late(label, budget, started=True)
                    try:
                        o, e, code, done = proto.get_command_output_raw(self._shell, cid)
                    except WinRMOperationTimeoutError:
                        continue  # normal long-poll: no output yet
                    out.append(o)
                    err.append(e)
                    size += len(o) + len(e)
                    stop = too_big(o) if too_big is not None and o else None
                    if stop is None and size > cap:
                        stop = self._too_much(label, cap)
                    if stop is not None:
                        self.close(graceful=False)
                        raise stop
                try:
                    proto.cleanup_command(self._shell, cid)
                except WinRMError:
                    pass
            except CollectorError:
                raise
            except Exception as e:  # noqa: BLE001 - mapped to one readable error
                self.close(graceful=False)
                if watch.expired or time.monotonic() >= end:  # its own clock, or the target's, shut it
                    raise self._late(label, budget, started=cid is not None) from None
                raise self._error(label, e) from None
        return code

    def _failed(self, what: str, code: int, stderr: str, stdout: str) -> CollectorError:
        """A script (or the batch) that ended with an error: its error text, else the start of its output."""
        msg = stderr or psjson.lf(stdout).strip()[:300] or "no error text"
        return CollectorError(f"{self.target.name}: {what} failed (exit {code}): {msg}")

    def _too_much(self, what: str, cap: int) -> CollectorError:
        return CollectorError(
            f"{self.target.name}: {what} printed more than {cap:,} bytes: stopped and not parsed (output truncated)"
        )

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
        batch = ctx.extra.get("batch")
        if isinstance(batch, Batch) and batch.covers(str(self.spec.script)):
            doc = batch.result(str(self.spec.script))
        else:
            doc = session_for(target, ctx).run(
                str(self.spec.script), self.arguments(target, ctx), deadline=ctx.extra.get("deadline")
            )
        return self.parse(doc, target, ctx)


class Batch:
    """The scripts of one target's WinRM collectors, run in one powershell.exe (:meth:`WinRMSession.run_batch`)
    when the first of them asks for its result; the runner puts it in ``ctx.extra["batch"]``.

    Each script gets the call timeout as its own time limit; the batch as a whole ends at the target's
    deadline at the latest."""

    def __init__(self, session: WinRMSession, collectors: list[PsCollector], target: Target, ctx: Context) -> None:
        self.session = session
        self.deadline = ctx.extra.get("deadline")
        self.items = [
            pscommand.BatchItem(str(c.spec.script), c.arguments(target, ctx), session.call_timeout) for c in collectors
        ]
        self._results: dict[str, Any] | None = None
        self._failure: CollectorError | None = None

    @property
    def done(self) -> bool:
        """It ran and every script has its own result here (a collector's turn after the deadline still
        gets it); False too when it failed as a whole (the runner words that failure)."""
        return self._results is not None

    def covers(self, script: str) -> bool:
        return any(i.script == script for i in self.items)

    def result(self, script: str) -> Any:
        """That script's parsed output; raises its error (or the batch's, when no script could run)."""
        if self._results is None and self._failure is None:
            try:
                self._results = self.session.run_batch(self.items, deadline=self.deadline)
            except CollectorError as e:
                self._failure = e
        if self._failure is not None:
            raise self._failure
        assert self._results is not None
        r = self._results[script]
        if isinstance(r, CollectorError):
            raise r
        return r
