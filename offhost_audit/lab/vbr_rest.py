"""The lab's backup server over REST: a loopback HTTPS endpoint answering as VBR 13 (API 1.3) does.

It serves, from a scenario (see :mod:`offhost_audit.lab.vbr_rest_data` for the keys it reads):
``POST /api/oauth2/token`` (password and single-use refresh-token grants; access tokens expire after
``rest.token_expiry_s``), ``GET /api/v1/serverInfo``, ``backupInfrastructure/proxies``,
``proxies/states``, ``managedServers`` (``typeFilter`` list, ``includeNestedHosts``),
``managedServers/{id}/volumes`` and ``jobs``, with ``skip``/``limit`` paging and ``pagination``.

Errors use the API's ``Error`` model: 401 ``AccessDenied`` for a bad user name or password,
``InvalidToken``/``ExpiredToken`` for a bad or lapsed bearer token; 403 ``AccessDenied`` when the
role (``rest.role: viewer``) may not read ``serverInfo`` or volumes; 400 ``UnexpectedContent`` for a
missing or unsupported ``x-api-version``; 404 ``NotFound``. ``requests`` counts the requests per path.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from offhost_audit.errors import InputError
from offhost_audit.lab import tls, vbr_rest_data as data
from offhost_audit.lab._wsman_http import lab_tempdir

PREFIX = "/api/v1/"


class RestState:
    """The scenario's objects and the server's tokens."""

    def __init__(self, sc: dict[str, Any]) -> None:
        bs = sc.get("backup_server")
        if not bs:
            raise InputError(f"scenario {sc.get('name')!r} has no backup_server section")
        self.sc = sc
        self.rest = {**data.REST_DEFAULTS, **(bs.get("rest") or {})}
        self.user, self.password = sc["lab"]["username"], sc["lab"]["password"]
        try:
            self.servers = data.managed_servers(sc)
            self.proxies, self.states = data.proxies(sc)
            self.jobs = data.jobs(sc)
            self.info = data.server_info(sc)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputError(
                f"scenario {sc.get('name')!r}: backup_server: a proxy, managed server or job is not as "
                f"offhost_audit/lab/vbr_rest_data.py describes ({type(e).__name__}: {e})"
            ) from None
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()

    def issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        expiry = float(self.rest["token_expiry_s"])
        now = time.time()
        with self._lock:
            self._access[access] = time.monotonic() + expiry
            self._refresh.add(refresh)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": int(expiry),
            ".issued": stamp,
            ".expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expiry)),
        }

    def use_refresh(self, token: str) -> bool:
        with self._lock:
            if token in self._refresh:
                self._refresh.discard(token)  # single use
                return True
            return False

    def check_access(self, token: str) -> str | None:
        """None when the token is good, else the error code."""
        with self._lock:
            expires = self._access.get(token)
        if expires is None:
            return "InvalidToken"
        return "ExpiredToken" if time.monotonic() >= expires else None


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"errorCode": code, "message": message}


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], max_page: int) -> tuple[int, dict[str, Any]]:
    try:
        skip = max(0, int(query.get("skip", ["0"])[0]))
        limit = min(max_page, max(0, int(query.get("limit", [str(max_page)])[0])))
    except ValueError:
        return _error(400, "UnexpectedContent", "skip and limit are integers")
    chosen = items[skip : skip + limit]
    return 200, {
        "data": chosen,
        "pagination": {"total": len(items), "count": len(chosen), "skip": skip, "limit": limit},
    }


def _filters(query: dict[str, list[str]], key: str) -> set[str]:
    return {v.strip().lower() for raw in query.get(key, []) for v in raw.split(",") if v.strip()}


def answer(
    state: RestState, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for one request (the handler only moves bytes)."""
    state.requests[path] += 1
    if state.rest.get("latency_s"):
        time.sleep(float(state.rest["latency_s"]))
    version = headers.get("x-api-version")
    if version not in state.rest["api_versions"]:
        return _error(
            400,
            "UnexpectedContent",
            f"x-api-version {version!r} is not supported; supported: {', '.join(state.rest['api_versions'])}",
        )
    if path == "/api/oauth2/token":
        if method != "POST":
            return _error(405, "MethodNotAllowed", "use POST")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "password":
            good = hmac.compare_digest(form.get("username", "").encode(), state.user.encode()) and hmac.compare_digest(
                form.get("password", "").encode(), state.password.encode()
            )
            return (200, state.issue()) if good else _error(401, "AccessDenied", "invalid user name or password")
        if grant == "refresh_token":
            if state.use_refresh(form.get("refresh_token", "")):
                return 200, state.issue()
            return _error(401, "InvalidToken", "the refresh token is not valid (it is used once)")
        return _error(400, "UnexpectedContent", "grant_type must be password or refresh_token")
    if method != "GET":
        return _error(405, "MethodNotAllowed", "read-only endpoint")
    auth = headers.get("Authorization") or ""
    problem = state.check_access(auth[7:]) if auth.lower().startswith("bearer ") else "InvalidToken"
    if problem:
        return _error(401, problem, "the access token has expired" if problem == "ExpiredToken" else "no valid token")
    viewer = str(state.rest["role"]).lower() == "viewer"
    max_page = int(state.rest["max_page"])
    route = path[len(PREFIX) :] if path.startswith(PREFIX) else None
    if route == "serverInfo":
        return _error(403, "AccessDenied", "the role may not read server information") if viewer else (200, state.info)
    if route == "backupInfrastructure/proxies":
        kinds = _filters(query, "typeFilter")
        return _page([p for p in state.proxies if not kinds or p["type"].lower() in kinds], query, max_page)
    if route == "backupInfrastructure/proxies/states":
        kinds = _filters(query, "typeFilter")
        return _page([p for p in state.states if not kinds or p["type"].lower() in kinds], query, max_page)
    if route == "backupInfrastructure/managedServers":
        kinds = _filters(query, "typeFilter")
        nested = (query.get("includeNestedHosts", ["false"])[0]).lower() == "true"
        chosen = [
            s
            for s in state.servers
            if (not kinds or s["type"].lower() in kinds) and (nested or "parentHostId" not in s)
        ]
        return _page(chosen, query, max_page)
    if route and route.startswith("backupInfrastructure/managedServers/") and route.endswith("/volumes"):
        sid = route.split("/")[2]
        server = next((s for s in state.servers if s["id"] == sid), None)
        vols = data.volumes(state.sc, server["name"]) if server else None
        if vols is None:
            return _error(404, "NotFound", "no standalone Microsoft Hyper-V host with this ID")
        if viewer:
            return _error(403, "AccessDenied", "the role may not read volume settings")
        return 200, vols
    if route == "jobs":
        kinds = _filters(query, "typeFilter")
        return _page([j for j in state.jobs if not kinds or j["type"].lower() in kinds], query, max_page)
    return _error(404, "NotFound", "no such resource")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length else b""
        url = urlsplit(self.path)
        status, doc = answer(self.server.state, self.command, url.path, parse_qs(url.query), self.headers, body)
        payload = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: RestState


@contextlib.contextmanager
def serve(sc: dict[str, Any], host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, str, RestState]]:
    """Serve the scenario's backup server over HTTPS: yields (base URL, CA file, state)."""
    state = RestState(sc)
    folder = lab_tempdir("rest")
    files = tls.write_tls_files(folder, [sc["backup_server"]["name"]], bind=host)
    server = _Server((host, port), _Handler)
    server.state = state
    context = tls.server_context(files)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="lab-rest", daemon=True)
    thread.start()
    try:
        shown = f"[{host}]" if ":" in host else host
        yield f"https://{shown}:{server.server_address[1]}", files.ca_file, state
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)
