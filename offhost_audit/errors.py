"""Typed errors raised by the core. The CLI catches :class:`AuditError` once and maps it to an exit code.

Exit codes (documented in the README):
  0  nothing at or above --fail-on severity
  1  findings at or above --fail-on severity
  2  usage or input error (bad facts file, bad inventory, policy syntax/evaluation error)
  3  the audit could not complete (e.g. nothing reachable, OPA server unreachable)
  4  internal error: a bug in offhost-audit (a short message; --debug shows the traceback)
  5  no failure at or above --fail-on, but a finding at or above it is unknown (--accept-unknown: 0)
  6  the run finished and its outputs were written, but it could not be stored in the history
  130 / 143  interrupted by SIGINT / SIGTERM
When several apply, :func:`combine` picks one: 4 > 2 > 3 > 1 > 5 > 6 > 0.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_INTERNAL = 4
EXIT_UNKNOWN = 5
EXIT_NOT_STORED = 6
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

# Which code wins when several apply (earlier wins); signals end the run before any other code.
_PRECEDENCE = (EXIT_INTERNAL, EXIT_INPUT, EXIT_INCOMPLETE, EXIT_FINDINGS, EXIT_UNKNOWN, EXIT_NOT_STORED, EXIT_OK)


def combine(*codes: int) -> int:
    """The one exit code for a run to which several apply (e.g. findings and a failed history write)."""
    for code in _PRECEDENCE:
        if code in codes:
            return code
    return max(codes, default=EXIT_OK)


class AuditError(Exception):
    """Base of every error the CLI reports as one clear message."""

    exit_code = EXIT_INPUT
    title = "error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title:
            self.title = title

    def __str__(self) -> str:
        return self.message


class InputError(AuditError):
    """A file the user gave us is unreadable or invalid (facts, inventory, waivers, scenario)."""

    title = "invalid input"


class FactsError(InputError):
    title = "invalid facts file"


class InventoryError(InputError):
    title = "invalid inventory"


class PolicyError(AuditError):
    """A Rego syntax or evaluation error; the message names file:line."""

    title = "policy error"


class EngineUnavailableError(AuditError):
    """The policy engine cannot be reached (e.g. an OPA server that does not answer)."""

    title = "policy engine unavailable"
    exit_code = EXIT_INCOMPLETE


class CollectorError(AuditError):
    """One collector failed for one target; recorded in the collection manifest, never fatal."""

    title = "collection failed"
    exit_code = EXIT_INCOMPLETE

    def __init__(self, message: str, *, title: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, title=title)
        self.retryable = retryable  # a transient fault (WS-Man operation timeout): the call may be tried once more


class TargetUnreachableError(CollectorError):
    title = "target unreachable"


class KerberosError(TargetUnreachableError):
    """No Kerberos ticket, or a ticket the target cannot take; ``cause`` says which, so the advice can
    say what to fix: ``clock_skew``, ``password`` (wrong password, unknown or disabled account),
    ``spn_unknown``, ``ip_address`` (Kerberos needs the DNS name), ``no_kdc``, ``mutual``, ``setup``
    (no gssapi package, no credentials), ``other``. Like any unreachable target, the target's other
    collectors are not attempted."""

    title = "Kerberos failed"

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause

    @property
    def reason(self) -> str:
        """The message without the ``<target>: `` it starts with (to say it again for another target)."""
        return self.message.split(": ", 1)[1] if ": " in self.message else self.message


class NotAttemptedError(CollectorError):
    """A collector that must not run after what an earlier one found (the manifest says ``skipped``)."""

    title = "not attempted"


class AuditIncompleteError(AuditError):
    """The audit as a whole could not complete (nothing reachable)."""

    title = "audit incomplete"
    exit_code = EXIT_INCOMPLETE


class OutputError(InputError):
    """An output path that cannot be written (a directory, under a file, no permission, a full disk),
    or that names one of the run's inputs."""

    title = "cannot write output"
