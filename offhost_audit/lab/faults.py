"""Faults the lab can inject per host, and how they change what a client sees.

Every fault is off by default. What each one looks like from pywinrm 0.5.0 (asserted in
tests/lab/test_wsman_faults.py):

- ``latency_s``: every HTTP answer is delayed; the client just gets slower.
- ``refuse``: the TCP connection is refused (the host's port is reserved but never listens);
  requests raises ``requests.exceptions.ConnectionError``. Behind a shared port
  (``route_by_host``) the lab cannot refuse by name: it closes the connection without an
  answer instead, which requests also reports as ``ConnectionError``.
- ``drop``: on Receive the answer's headers and half its body are sent, then the connection
  is closed; requests raises ``requests.exceptions.ChunkedEncodingError`` (a
  ``RequestException``, like ``ConnectionError``).
- ``http_401``: every request is answered 401; pywinrm raises ``InvalidCredentialsError``.
- ``http_500``: Command is answered HTTP 500 with a SOAP fault; pywinrm parses it into
  ``WSManFaultError`` (code 500, ``wsman_fault_code`` = :data:`INTERNAL_ERROR_CODE`).
- ``wsman_timeout_once``: the host's first Receive is answered with the WS-Management
  operation-timeout fault (:data:`OPERATION_TIMEOUT_CODE`); pywinrm turns it into
  ``WinRMOperationTimeoutError`` and ``Protocol.get_command_output`` retries silently, so the
  command still completes.
- ``malformed_output``: stdout is cut in the middle (a JSON document no longer parses); in the batch
  (every script in one process) each script's document is cut, so every script's output is broken.
- ``dies_after_requests``: the host answers this many HTTP requests, then hangs up on every
  further one without an answer (requests raises ``ConnectionError``): the lab dying mid-audit.
- ``huge_output_bytes``: stdout is padded with trailing whitespace up to this size (in the batch:
  each script's output). JSON stays valid (trailing whitespace is allowed) and the output arrives
  over many Receives.
"""

from __future__ import annotations

from dataclasses import dataclass

#: WSManFault code real WinRM returns when a Receive waited OperationTimeout without output
#: (0x80338029, ERROR_WSMAN_OPERATION_TIMEDOUT). pywinrm retries on it.
OPERATION_TIMEOUT_CODE = 2150858793
#: HRESULT used for the injected HTTP 500 fault (0x80004005, E_FAIL: unspecified failure).
INTERNAL_ERROR_CODE = 2147500037

_PAD_LINE = b" " * 1023 + b"\n"


@dataclass
class Faults:
    """Per-host faults, all off by default."""

    latency_s: float = 0.0  # delay before every HTTP answer
    refuse: bool = False  # connection refused (host gets no listener / closed port)
    drop: bool = False  # close the connection mid-response on Receive
    http_401: bool = False  # always 401 (bad credentials)
    http_500: bool = False  # HTTP 500 with a WS-Man fault on Command
    wsman_timeout_once: bool = False  # first Receive answers the WS-Man timeout fault, then works
    malformed_output: bool = False  # stdout truncated mid-way (breaks JSON)
    huge_output_bytes: int = 0  # pad stdout to this many bytes (valid chunks over many Receives)
    dies_after_requests: int = 0  # answer this many requests, then hang up on every one (0: never)

    def __post_init__(self) -> None:
        if self.latency_s < 0:
            raise ValueError(f"latency_s must be >= 0, got {self.latency_s}")
        if self.dies_after_requests < 0:
            raise ValueError(f"dies_after_requests must be >= 0, got {self.dies_after_requests}")
        if self.huge_output_bytes < 0:
            raise ValueError(f"huge_output_bytes must be >= 0, got {self.huge_output_bytes}")

    @property
    def any(self) -> bool:
        """True when at least one fault is switched on."""
        return self != Faults()


def shape_stdout(stdout: bytes, faults: Faults) -> bytes:
    """Apply the output faults to a command's stdout: truncation first, then padding."""
    if faults.malformed_output:
        stdout = stdout[: len(stdout) // 2]
    missing = faults.huge_output_bytes - len(stdout)
    if missing > 0:
        repeats = missing // len(_PAD_LINE) + 1
        stdout = stdout + (b"\n" + _PAD_LINE * repeats)[:missing]
    return stdout
