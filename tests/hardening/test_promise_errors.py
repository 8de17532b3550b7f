"""Promises: no traceback and never exit 1 (which means "findings found") for a mistake or a fault.

Each case is one clear line on stderr and its documented exit code; a bug is exit 4 with a short
line (``--debug`` for the details).
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from promise_kit import EXAMPLE_FACTS, run_cli

from offhost_audit import audit, cli


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    return stderr.strip()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "192.0.2.1"], "the lab binds to a loopback address only"),
        (["--host", "lab.example"], "the lab binds to a loopback address only"),
    ],
)
def test_lab_serve_refuses_a_non_loopback_host(args, words):
    r = run_cli("lab", "serve", "--scenario", "csv-healthy", *args, timeout=60)
    assert r.returncode == 2 and words in _one_line(r.stderr)


def test_lab_serve_port_out_of_range_is_a_usage_error():
    r = run_cli("lab", "serve", "--scenario", "csv-healthy", "--port", "70000", timeout=60)
    assert r.returncode == 2 and "argument --port: expected a port 0-65535" in r.stderr


def test_lab_serve_on_a_port_in_use_says_so():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        r = run_cli("lab", "serve", "--scenario", "csv-healthy", "--route-by-host", "--port", str(port), timeout=60)
    assert r.returncode == 2 and f"cannot bind 127.0.0.1:{port}: Address already in use" in _one_line(r.stderr)


class _Server:
    """A loopback HTTP server answering every request with one fixed body (not OPA)."""

    def __init__(self, body: bytes, content_type: str = "application/json") -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>a web page</html>", "answered something that is not JSON"),
        (b"{}", "failed without OPA's error details"),
    ],
)
def test_a_server_that_is_not_opa_is_exit_3_with_one_line(body, words):
    with _Server(body) as srv:
        r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--opa-url", srv.url)
    line = _one_line(r.stderr)
    assert r.returncode == 3 and f"the server at {srv.url} does not answer like OPA" in line and words in line


def test_an_opa_answer_without_result_is_not_zero_findings():
    with _Server(b"{}") as srv:  # every policy PUT "works", the query returns undefined
        from offhost_audit.engine import embedded, opa_server

        compiled = embedded.compiled(None)
        with pytest.raises(Exception, match="does not answer like OPA"):
            opa_server.evaluate(srv.url, compiled.sources[:0], json.loads(EXAMPLE_FACTS.read_text()), "veeam-2025-08")


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "ftp://127.0.0.1"])
def test_a_malformed_opa_url_is_a_usage_error(url):
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--opa-url", url)
    assert r.returncode == 2 and "--opa-url" in _one_line(r.stderr)


def test_an_unexpected_exception_is_exit_4_with_a_short_line(monkeypatch, capsys):
    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("something nobody expected\nsecond line")

    monkeypatch.setattr(audit, "evaluate_document", boom)  # what `evaluate` calls
    assert cli.main(["evaluate", "-f", str(EXAMPLE_FACTS)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: something nobody expected second line" in err
    assert "--debug shows the details" in err and "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(monkeypatch, capsys):
    monkeypatch.setattr(audit, "evaluate_document", lambda *a, **k: 1 / 0)
    assert cli.main(["--debug", "evaluate", "-f", str(EXAMPLE_FACTS)]) == 4
    assert "Traceback" in capsys.readouterr().err
