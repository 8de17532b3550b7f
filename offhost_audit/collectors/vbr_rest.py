"""The backup server's REST API (VBR 13, API revision 1.3-rev1), read with ``requests``.

Logs in with the OAuth2 password grant, sends ``x-api-version: 1.3-rev1`` on every request and the
bearer token on every read; renews the token with the (single-use) refresh token before it lapses,
and once more after a 401 ``ExpiredToken``; follows ``skip``/``limit`` pages to the end. TLS is
verified by default, against the target's ``ca_file`` when it has one (``--insecure`` turns it off,
as for the WinRM targets). Every request runs under a wall-clock limit
(:func:`offhost_audit.deadline.wall_clock`): a server that trickles its answer is cut at the limit.

Errors are one line naming the server and what failed, never a password or a token: 401 at login is
:class:`AuthenticationError` (exit 3), no answer is :class:`TargetUnreachableError` (exit 3), an
unsupported API version or a refused read (403) is :class:`RestError` (a ``CollectorError``, exit 3)
carrying the HTTP status, so a caller can make one fact unknown and go on.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from offhost_audit.collectors.base import Target
from offhost_audit.collectors.winrm import AuthenticationError, _short
from offhost_audit.deadline import wall_clock
from offhost_audit.errors import CollectorError, TargetUnreachableError
from offhost_audit.text import clean, redact_url

log = logging.getLogger("offhost_audit.collectors.vbr_rest")

API_VERSION = "1.3-rev1"
DEFAULT_PORT = 9419
PAGE_SIZE = 500
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # one answer; a page of 1,000 jobs is about 2 MB
_NOT_JSON = object()


@dataclass(frozen=True)
class Answer:
    """An HTTP status and the JSON object it carried ({} when there was none)."""

    status_code: int
    doc: dict[str, Any]


class RestError(CollectorError):
    """The server answered, but not with what was asked (``status``: the HTTP status)."""

    def __init__(self, message: str, *, status: int, code: str = "", unsupported_api: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.unsupported_api = unsupported_api  # the server does not serve this API version


def same(a: Any, b: str) -> bool:
    """Enum values compared without case (the spec's own example writes ``offHost`` for ``OffHost``)."""
    return isinstance(a, str) and a.lower() == b.lower()


class VbrRestClient:
    """One session with a backup server. ``requests`` counts the HTTP requests made."""

    def __init__(self, target: Target, *, base_url: str | None = None, page_size: int = PAGE_SIZE) -> None:
        if target.credentials is None:
            raise CollectorError(f"{target.name}: no credentials configured")
        self.target = target
        host = f"[{target.address}]" if ":" in target.address else target.address
        self.base_url = (base_url or f"https://{host}:{target.port or DEFAULT_PORT}").rstrip("/")
        self.page_size = page_size
        self.requests = 0
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy/netrc/CA lookups in the environment: settings are explicit
        self._verify: bool | str = (target.ca_file or True) if target.verify_tls else False
        self._access = ""
        self._refresh = ""
        self._renew_at = 0.0

    def close(self) -> None:
        self._session.close()

    # --- transport -------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kw: Any) -> Answer:
        """One request, its answer read whole (at most MAX_ANSWER_BYTES) under the wall-clock limit."""
        url = self.base_url + path
        shown = redact_url(url)
        limit = self.target.timeout_s
        headers = {"x-api-version": API_VERSION, "Accept": "application/json", **kw.pop("headers", {})}
        self.requests += 1
        with wall_clock(limit) as watch, warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)  # --insecure was asked for
            try:
                # no redirects: a 307 would send the login form (the password) wherever it points
                r = self._session.request(
                    method,
                    url,
                    headers=headers,
                    verify=self._verify,
                    timeout=(limit, limit),
                    allow_redirects=False,
                    stream=True,
                    **kw,
                )
                with r:
                    body = r.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
            except requests.exceptions.SSLError:
                if watch.expired:
                    raise self._late(shown, limit) from None
                raise TargetUnreachableError(
                    f"{self.target.name}: TLS certificate verification failed for {shown} "
                    "(give the backup server's CA with --ca-file, or --insecure to skip validation)"
                ) from None
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                if watch.expired or isinstance(e, requests.exceptions.Timeout):
                    raise self._late(shown, limit) from None
                raise TargetUnreachableError(f"{self.target.name}: cannot connect to {shown} ({_short(e)})") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise CollectorError(f"{self.target.name}: {shown} answered more than {MAX_ANSWER_BYTES:,} bytes: not read")
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = _NOT_JSON
        if r.status_code == 200 and not isinstance(doc, dict):
            raise CollectorError(
                f"{self.target.name}: {shown} did not answer with a JSON object (HTTP 200): is it a VBR REST API?"
            )
        return Answer(r.status_code, doc if isinstance(doc, dict) else {})

    def _late(self, url: str, limit: float) -> TargetUnreachableError:
        return TargetUnreachableError(
            f"{self.target.name}: no answer from {url} within {limit:g}s (timeout: the answer was too slow or never came)"
        )

    def _error(self, r: Answer, what: str) -> RestError:
        code, message = str(r.doc.get("errorCode") or ""), str(r.doc.get("message") or "")
        said = clean(f": {code} {message}".rstrip(), keep_newlines=False)[:200] if code or message else ""
        name = self.target.name
        if r.status_code == 400 and "api-version" in message.lower():
            text = f"{name}: the backup server does not serve REST API {API_VERSION} (VBR 13 or later){said}"
        elif r.status_code == 403:
            text = f"{name}: {what}: HTTP 403, the account's role may not read this{said}"
        else:
            text = f"{name}: {what}: HTTP {r.status_code}{said}"
        return RestError(
            text,
            status=r.status_code,
            code=code,
            unsupported_api=r.status_code == 400 and "api-version" in message.lower(),
        )

    # --- tokens ----------------------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> Answer:
        return self._send("POST", "/api/oauth2/token", data=form)

    def login(self) -> None:
        creds = self.target.credentials
        assert creds is not None
        r = self._token({"grant_type": "password", "username": creds.username, "password": creds.password})
        if r.status_code == 401:
            raise AuthenticationError(
                f"{self.target.name}: authentication failed (HTTP 401) at {redact_url(self.base_url)} as {creds.username}"
            )
        self._take(r, "log in")

    def _take(self, r: Answer, what: str) -> None:
        if r.status_code != 200:
            raise self._error(r, what)
        body = r.doc
        if not isinstance(body.get("access_token"), str):
            raise CollectorError(f"{self.target.name}: {what}: the answer holds no access token")
        self._access, self._refresh = body["access_token"], str(body.get("refresh_token") or "")
        lifetime = float(body["expires_in"]) if isinstance(body.get("expires_in"), int) else 900.0
        self._renew_at = time.monotonic() + lifetime - min(60.0, lifetime / 4)

    def _renew(self) -> None:
        """Use the refresh token (once); when it is refused, log in again with the password."""
        if self._refresh:
            r = self._token({"grant_type": "refresh_token", "refresh_token": self._refresh})
            self._refresh = ""
            if r.status_code == 200:
                self._take(r, "renew the token")
                return
            log.info("%s: refresh token refused (HTTP %s), logging in again", self.target.name, r.status_code)
        self.login()

    # --- reads -----------------------------------------------------------------------------------

    def get(self, path: str, params: list[tuple[str, Any]] | None = None, *, what: str = "") -> dict[str, Any]:
        """One GET under ``/api/v1/``: the JSON answer (RestError on any other status than 200)."""
        if not self._access:
            self.login()
        elif time.monotonic() >= self._renew_at:
            self._renew()
        r = self._get(path, params)
        if r.status_code == 401 and r.doc.get("errorCode") == "ExpiredToken":
            self._renew()
            r = self._get(path, params)
        if r.status_code != 200:
            raise self._error(r, what or f"GET {path}")
        return r.doc

    def _get(self, path: str, params: list[tuple[str, Any]] | None) -> Answer:
        return self._send("GET", "/api/v1/" + path, params=params, headers={"Authorization": f"Bearer {self._access}"})

    def pages(self, path: str, params: list[tuple[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, page after page until ``pagination.total`` is reached."""
        skip = 0
        while True:
            page = self.get(path, [*(params or []), ("skip", skip), ("limit", self.page_size)])
            data = page.get("data")
            data = data if isinstance(data, list) else []
            yield from data
            skip += len(data)
            total = (page.get("pagination") or {}).get("total")
            if not data or not isinstance(total, int) or skip >= total:
                return
