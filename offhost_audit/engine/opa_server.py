"""Evaluation on a running OPA server (``--opa-url``) through opa-python-client.

The same policy files the embedded engine loads are uploaded (``PUT /v1/policies/<relative
path>``), the options go to ``data.offhost.options`` (``PUT /v1/data/offhost/options``), and the
findings come from ``POST /v1/data/offhost/main/findings`` with the facts as input. The OPA
server evaluates; METADATA is joined on the Python side, exactly as for the embedded engine.

Note: options are server-wide data, so two audits with different profiles must not share one
OPA server at the same moment.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import ConnectionsError, RegoParseError

from offhost_audit.engine.sources import PolicySource
from offhost_audit.errors import EngineUnavailableError, InputError, PolicyError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8181
TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 5.0


def _client(url: str) -> OpaClient:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--opa-url {url!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    if parts.path not in ("", "/"):
        raise InputError(f"--opa-url {url!r}: give the server root, without a path (the client adds /v1/...)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InputError(f"--opa-url {url!r}: the port is not a number") from None
    return OpaClient(host=parts.hostname, port=port, ssl=parts.scheme == "https", timeout=TIMEOUT_S, retries=0)


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
    return "\n".join(lines) or str(getattr(e, "message", e))


def evaluate(url: str, sources: list[PolicySource], facts: dict[str, Any], profile: str) -> list[dict[str, Any]]:
    """Upload policies and options to the OPA server at url, return its raw findings."""
    client = _client(url)
    try:
        client.timeout = HEALTH_TIMEOUT_S
        if not client.check_health():
            raise _unavailable(url, "GET /health did not answer 200")
        client.timeout = TIMEOUT_S
        for src in sources:
            client.update_policy_from_string(src.text, src.rel, rego_compat=False)
        client.update_or_create_data({"profile": profile}, "offhost/options")
        answer = client.query_rule(input_data=facts, package_path="offhost/main", rule_name="findings")
    except EngineUnavailableError:
        raise
    except RegoParseError as e:
        raise PolicyError(f"the OPA server rejected the policies:\n{_parse_error_text(e)}") from None
    except (ConnectionsError, requests.ConnectionError, requests.Timeout) as e:
        raise _unavailable(url, type(e).__name__) from None
    except requests.HTTPError as e:
        body = e.response.text[:2000] if e.response is not None else ""
        try:
            body = e.response.json().get("message", body)
        except Exception:  # not JSON: keep the text
            pass
        raise PolicyError(f"the OPA server failed to evaluate the findings: {body}") from None
    finally:
        client.close_connection()
    if not isinstance(answer, dict):
        raise PolicyError(f"the OPA server answered {type(answer).__name__}, expected a JSON object")
    result = answer.get("result", [])
    if not isinstance(result, list):
        raise PolicyError("the OPA server returned findings that are not a list")
    log.debug("OPA server %s: %d findings", url, len(result))
    return result
