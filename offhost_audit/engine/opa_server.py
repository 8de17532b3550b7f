"""Evaluation on a running OPA server (``--opa-url``) through opa-python-client.

The same policy files the embedded engine loads are uploaded (``PUT /v1/policies/<relative
path>``), the options go to ``data.offhost.options`` (``PUT /v1/data/offhost/options``), and the
findings come from ``POST /v1/data/offhost/main/findings`` with the facts as input. The OPA
server evaluates; METADATA is joined on the Python side, exactly as for the embedded engine.

Every call has a wall-clock deadline (:func:`offhost_audit.deadline.wall_clock`: the health check
``HEALTH_TIMEOUT_S``, each other call ``TIMEOUT_S``), so a server that trickles its answers cannot
hold the audit. A server that answers but does not speak OPA's API (non-JSON, no ``result``, an
error without OPA's details) is "not an OPA server" (exit 3), never a traceback.

A user name and password in the URL (``http://user:pass@opa:8181``, e.g. for a proxy in front
of OPA) are sent as HTTP Basic authentication and never shown: every message and log line names
the server as :func:`offhost_audit.text.redact_url` gives it (``http://***@opa:8181``).

Note: options are server-wide data, so two audits with different profiles must not share one
OPA server at the same moment.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import ConnectionsError, RegoParseError

from offhost_audit.deadline import wall_clock
from offhost_audit.engine.sources import PolicySource
from offhost_audit.errors import EngineUnavailableError, InputError, PolicyError
from offhost_audit.text import redact_url

log = logging.getLogger(__name__)

DEFAULT_PORT = 8181
TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 5.0


def _client(url: str) -> OpaClient:
    shown = redact_url(url)
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise InputError(f"--opa-url {shown!r}: not a valid URL ({redact_url(str(e))})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--opa-url {shown!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    if parts.path not in ("", "/"):
        raise InputError(f"--opa-url {shown!r}: give the server root, without a path (the client adds /v1/...)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InputError(f"--opa-url {shown!r}: the port is not a number") from None
    headers = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers = {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}
    return OpaClient(
        host=parts.hostname, port=port, ssl=parts.scheme == "https", headers=headers, timeout=TIMEOUT_S, retries=0
    )


def _unavailable(url: str, why: object) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"no OPA server answers at {url} ({why}); start one (`opa run --server`) or drop --opa-url "
        "to use the embedded engine"
    )


def _parse_error_text(e: RegoParseError) -> str:
    errs = getattr(e, "errors", None) or []
    lines = []
    for err in errs:
        loc = err.get("location") or {}
        where = f"{loc.get('file', '?')}:{loc.get('row', '?')}:{loc.get('col', '?')}: " if loc else ""
        lines.append(f"{where}{err.get('message', '')}")
    return "\n".join(lines) or str(getattr(e, "message", None) or "")


def _not_opa(url: str, why: str) -> EngineUnavailableError:
    return EngineUnavailableError(f"the server at {url} does not answer like OPA ({why}); check --opa-url")


def evaluate(url: str, sources: list[PolicySource], facts: dict[str, Any], profile: str) -> list[dict[str, Any]]:
    """Upload policies and options to the OPA server at url, return its raw findings."""
    client = _client(url)
    url = redact_url(url)  # from here on, only for messages
    step = "GET /health"
    try:
        client.timeout = HEALTH_TIMEOUT_S
        with wall_clock(HEALTH_TIMEOUT_S) as watch:
            healthy = client.check_health()
        if watch.expired:
            raise _unavailable(url, f"GET /health did not answer within {HEALTH_TIMEOUT_S:g}s")
        if not healthy:
            raise _unavailable(url, "GET /health did not answer 200")
        client.timeout = TIMEOUT_S
        for src in sources:
            step = f"PUT /v1/policies/{src.rel}"
            with wall_clock(TIMEOUT_S) as watch:
                client.update_policy_from_string(src.text, src.rel, rego_compat=False)
        step = "PUT /v1/data/offhost/options"
        with wall_clock(TIMEOUT_S) as watch:
            client.update_or_create_data({"profile": profile}, "offhost/options")
        step = "POST /v1/data/offhost/main/findings"
        with wall_clock(TIMEOUT_S) as watch:
            answer = client.query_rule(input_data=facts, package_path="offhost/main", rule_name="findings")
    except EngineUnavailableError:
        raise
    except RegoParseError as e:
        text = _parse_error_text(e)
        if not text:
            raise _not_opa(url, f"{step} failed without OPA's error details") from None
        raise PolicyError(f"the OPA server rejected the policies:\n{text}") from None
    except (ConnectionsError, requests.ConnectionError, requests.Timeout) as e:
        if watch.expired:
            raise _unavailable(url, f"{step} did not answer within {TIMEOUT_S:g}s") from None
        raise _unavailable(url, type(e).__name__) from None
    except ValueError:  # requests' JSONDecodeError and friends: the answer is not JSON
        raise _not_opa(url, f"{step} answered something that is not JSON") from None
    except requests.HTTPError as e:
        body = e.response.text[:2000] if e.response is not None else ""
        try:
            body = e.response.json().get("message", body) if e.response is not None else body
        except Exception:  # noqa: BLE001 - not JSON: keep the text
            pass
        raise PolicyError(f"the OPA server failed to evaluate the findings: {body}") from None
    finally:
        client.close_connection()
    if not isinstance(answer, dict):
        raise _not_opa(url, f"it answered {type(answer).__name__}, expected a JSON object")
    if "result" not in answer:
        raise _not_opa(url, "data.offhost.main.findings is undefined on it: the policies did not load")
    result = answer["result"]
    if not isinstance(result, list):
        raise _not_opa(url, "it returned findings that are not a list")
    log.debug("OPA server %s: %d findings", url, len(result))
    return result
