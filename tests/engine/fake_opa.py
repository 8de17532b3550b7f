"""A STAND-IN for an OPA server, for tests only: no OPA binary can be installed on this machine.

It speaks the part of OPA's REST API that ``offhost_audit.engine.opa_server`` (through
opa-python-client) uses, and evaluates with OPA's own Go engine (opa-golib-python-bindings, the
``--engine opa`` engine): only the REST layer is a stand-in, the semantics are OPA's.

- ``GET /health`` -> 200 ``{}``
- ``GET /v1/policies`` -> ``{"result": [{"id", "raw"}]}``
- ``PUT /v1/policies/{id}`` (Rego text) -> 200 ``{}``; a parse error -> 400 with OPA's error shape
- ``PUT /v1/data/{path}`` (JSON) -> 204
- ``POST /v1/data/{path}`` ``{"input": ...}`` -> ``{"result": value}``, or ``{}`` when undefined;
  an evaluation error -> 500 ``{"code": "internal_error", "message": ...}``

It is single-threaded (``HTTPServer``); a policy upload is parsed by OPA (a parse error answers
OPA's error document), and the engine for the stored policies and data is built once and kept
until they change.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

from offhost_audit.engine.opa import format_opa_error

# format_opa_error's lines: "file:row:col: code: message" (the column from OPA's caret).
_LOC = re.compile(r"^(?P<file>\S+?):(?P<row>\d+):(?P<col>\d+): (?P<code>rego_[a-z_]+): (?P<msg>.*)$", re.M)


class FakeOpa:
    def __init__(self) -> None:
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self._engine: OpaEngine | None = None
        self._server = HTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-opa", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOpa:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpa:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- evaluation ---------------------------------------------------------------------------

    def check_policy(self, pid: str, text: str) -> dict[str, Any] | None:
        try:
            OpaEngine().add_policy(pid, text)
        except OpaError as e:  # turned into OPA's error document
            errors = []
            for m in _LOC.finditer(format_opa_error(e, {pid: text})):
                errors.append(
                    {
                        "code": m["code"],
                        "message": m["msg"].strip(),
                        "location": {"file": m["file"], "row": int(m["row"]), "col": int(m["col"])},
                    }
                )
            errors = errors or [{"code": "rego_parse_error", "message": e.message}]
            return {
                "code": "invalid_parameter",
                "message": "error(s) occurred while parsing module(s)",
                "errors": errors,
            }
        self._engine = None
        return None

    def evaluate(self, path: str, input_doc: Any) -> tuple[bool, Any]:
        if self._engine is None:
            eng = OpaEngine()
            eng.print_handler = lambda message, location: None
            for pid, text in sorted(self.policies.items()):
                eng.add_policy(pid, text)
            eng.add_data(self.data)
            self._engine = eng
        try:
            return True, self._engine.eval_document(".".join(p for p in path.split("/") if p), input_doc)
        except OpaUndefinedError:
            return False, None

    def put_data(self, path: str, value: Any) -> None:
        self._engine = None
        parts = [p for p in path.split("/") if p]
        if not parts:
            self.data = value
            return
        node = self.data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value


def _handler(opa: FakeOpa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, code: int, body: Any = None) -> None:
            raw = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n)

        def do_GET(self) -> None:
            opa.requests.append(("GET", self.path))
            opa.authorizations.append(self.headers.get("Authorization"))
            if self.path.startswith("/health"):
                self._send(200, {})
            elif self.path.rstrip("/") == "/v1/policies":
                self._send(200, {"result": [{"id": k, "raw": v} for k, v in opa.policies.items()]})
            else:
                self._send(404, {"code": "resource_not_found", "message": self.path})

        def do_PUT(self) -> None:
            opa.requests.append(("PUT", self.path))
            opa.authorizations.append(self.headers.get("Authorization"))
            body = self._body()
            if self.path.startswith("/v1/policies/"):
                pid = self.path[len("/v1/policies/") :]
                text = body.decode("utf-8")
                err = opa.check_policy(pid, text)
                if err:
                    self._send(400, err)
                    return
                opa.policies[pid] = text
                opa._engine = None
                self._send(200, {})
            elif self.path.startswith("/v1/data"):
                opa.put_data(self.path[len("/v1/data") :], json.loads(body or b"null"))
                self._send(204)
            else:
                self._send(404, {"code": "resource_not_found", "message": self.path})

        def do_POST(self) -> None:
            opa.requests.append(("POST", self.path))
            opa.authorizations.append(self.headers.get("Authorization"))
            if not self.path.startswith("/v1/data"):
                self._send(404, {"code": "resource_not_found", "message": self.path})
                return
            doc = json.loads(self._body() or b"{}")
            try:
                defined, value = opa.evaluate(self.path[len("/v1/data") :].split("?")[0], doc.get("input"))
            except OpaError as e:  # OPA answers 500 with the message
                self._send(500, {"code": "internal_error", "message": e.message})
                return
            self._send(200, {"result": value} if defined else {})

    return Handler
