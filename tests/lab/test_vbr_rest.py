"""The lab's backup server over REST: every answer it gives conforms to Veeam's published OpenAPI subset."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from offhost_audit.lab import scenario, vbr_rest

from .openapi_kit import error_schema, response_schema, validate

V = "1.3-rev1"
USER, PASSWORD = "lab\\auditor", "Lab-Passw0rd!"

ESTATE = {
    "name": "rest-estate",
    "backup_server": {
        "name": "VBR01",
        "proxies": [
            {"name": "PX01", "max_tasks": 6},
            {"name": "PX02", "disabled": True, "online": False, "out_of_date": True},
        ],
        "managed_servers": [{"name": "HVCL01", "type": "HvCluster"}, {"name": "HV03", "type": "HvServer"}],
        "jobs": [
            {"name": "Cluster auto", "sources": [{"cluster": "HVCL01"}]},
            {"name": "Pinned", "proxies": ["PX02"], "failover": False, "sources": [{"vm": "WEB01"}, {"host": "HV03"}]},
            {"name": "On host", "mode": "on_host", "sources": [{"host": "HV03"}]},
        ],
    },
    "clusters": [{"name": "HVCL01"}],
    "hosts": [
        {"name": "HV01", "cluster": "HVCL01", "vms": [{"name": "WEB01"}]},
        {"name": "HV02", "cluster": "HVCL01"},
        {"name": "HV03", "vss": ["microsoft", "pure"]},
        {"name": "PX01", "roles": ["proxy"]},
        {"name": "PX02", "roles": ["proxy"]},
        {"name": "FS01", "roles": ["file_server"]},
    ],
}


def estate(**rest: Any) -> dict[str, Any]:
    raw = {**ESTATE, "backup_server": {**ESTATE["backup_server"], "rest": rest}}
    return scenario.normalise(raw)


class Client:
    """Raw requests against the lab; every answer is checked against the operation's documented schema."""

    def __init__(self, url: str, ca: str) -> None:
        self.url, self.ca = url, ca
        self.session = requests.Session()
        self.token = ""

    def call(self, method: str, path: str, spec_path: str, *, version: str | None = V, **kw: Any) -> requests.Response:
        headers = {"x-api-version": version} if version else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        r = self.session.request(method, self.url + path, headers=headers, verify=self.ca, timeout=10, **kw)
        try:
            schema = response_schema(spec_path, method, r.status_code)
        except KeyError:  # a status the operation does not list: the API's error model still applies
            schema = error_schema()
        validate(r.json(), schema)
        return r

    def login(self, password: str = PASSWORD, **kw: Any) -> requests.Response:
        form = {"grant_type": "password", "username": USER, "password": password}
        r = self.call("POST", "/api/oauth2/token", "/api/oauth2/token", data=form, **kw)
        if r.status_code == 200:
            self.token = r.json()["access_token"]
        return r


@pytest.fixture
def lab():
    with vbr_rest.serve(estate()) as (url, ca, state):
        yield Client(url, ca), state


def test_every_read_answers_as_the_spec_says(lab):
    c, _ = lab
    assert c.login().status_code == 200
    assert c.call("GET", "/api/v1/serverInfo", "/api/v1/serverInfo").json()["buildVersion"] == "13.0.1.1071"
    proxies = c.call(
        "GET", "/api/v1/backupInfrastructure/proxies?typeFilter=HvProxy", "/api/v1/backupInfrastructure/proxies"
    ).json()
    assert [(p["name"], p["server"]["maxTaskCount"]) for p in proxies["data"]] == [("PX01", 6), ("PX02", 4)]
    states = c.call(
        "GET", "/api/v1/backupInfrastructure/proxies/states", "/api/v1/backupInfrastructure/proxies/states"
    ).json()
    px02 = next(s for s in states["data"] if s["name"] == "PX02")
    assert (px02["isDisabled"], px02["isOnline"], px02["isOutOfDate"]) == (True, False, True)
    path = "/api/v1/backupInfrastructure/managedServers"
    query = "?typeFilter=HvServer&typeFilter=HvCluster&typeFilter=SmbV3Cluster&typeFilter=SmbV3StandaloneHost"
    flat = c.call("GET", path + query, path).json()["data"]
    assert sorted(s["name"] for s in flat) == ["FS01", "HV03", "HVCL01"]
    cluster = next(s for s in flat if s["type"] == "HvCluster")
    assert [n["hvServerName"] for n in cluster["childServers"]] == ["HV01", "HV02"]
    nested = c.call("GET", path + query + "&includeNestedHosts=true", path).json()["data"]
    assert {s["name"]: s.get("parentHostName") for s in nested if s["type"] == "HvServer"} == {
        "HV01": "HVCL01",
        "HV02": "HVCL01",
        "HV03": None,
    }
    hv03 = next(s for s in flat if s["name"] == "HV03")
    vols = c.call("GET", f"{path}/{hv03['id']}/volumes", path + "/{id}/volumes").json()
    assert vols["volumes"][0]["volumeSettings"]["VSSprovider"] == "Pure Storage VSS Hardware Provider"
    assert c.call("GET", f"{path}/{cluster['id']}/volumes", path + "/{id}/volumes").status_code == 404
    jobs = c.call("GET", "/api/v1/jobs?typeFilter=HyperVBackup", "/api/v1/jobs").json()["data"]
    pinned = next(j for j in jobs if j["name"] == "Pinned")["storage"]["backupProxies"]
    assert pinned["offHostSettings"]["autoSelectEnabled"] is False
    assert pinned["offHostSettings"]["failoverToOnHostBackup"] is False
    assert len(pinned["offHostSettings"]["proxyIds"]) == 1
    assert next(j for j in jobs if j["name"] == "On host")["storage"]["backupProxies"]["proxyType"] == "OnHost"


def test_paging_skip_and_limit(lab):
    c, _ = lab
    c.login()
    path = "/api/v1/backupInfrastructure/managedServers"
    seen = []
    for skip in range(0, 10, 2):
        page = c.call("GET", f"{path}?includeNestedHosts=true&skip={skip}&limit=2", path).json()
        assert page["pagination"]["total"] == 7  # HVCL01, HV01, HV02, HV03, FS01, PX01, PX02
        assert page["pagination"]["skip"] == skip
        seen += [s["name"] for s in page["data"]]
    assert sorted(seen) == ["FS01", "HV01", "HV02", "HV03", "HVCL01", "PX01", "PX02"]


def test_bad_password_is_401_without_the_password(lab):
    c, _ = lab
    r = c.login(password="wrong-Secret-1")
    assert r.status_code == 401
    assert r.json()["errorCode"] == "AccessDenied"
    assert "wrong-Secret-1" not in r.text


def test_reads_need_a_token(lab):
    c, _ = lab
    r = c.call("GET", "/api/v1/jobs", "/api/v1/jobs")
    assert (r.status_code, r.json()["errorCode"]) == (401, "InvalidToken")


@pytest.mark.parametrize("version", [None, "1.2-rev1", "banana"])
def test_a_wrong_api_version_is_refused(lab, version):
    c, _ = lab
    r = c.login(version=version)
    assert r.status_code == 400
    assert r.json()["errorCode"] == "UnexpectedContent"
    assert c.token == ""


def test_refresh_token_is_single_use_and_access_tokens_expire():
    with vbr_rest.serve(estate(token_expiry_s=1)) as (url, ca, _):
        c = Client(url, ca)
        refresh = c.login().json()["refresh_token"]
        assert c.call("GET", "/api/v1/jobs", "/api/v1/jobs").status_code == 200
        time.sleep(1.1)
        r = c.call("GET", "/api/v1/jobs", "/api/v1/jobs")
        assert (r.status_code, r.json()["errorCode"]) == (401, "ExpiredToken")
        form = {"grant_type": "refresh_token", "refresh_token": refresh}
        again = c.call("POST", "/api/oauth2/token", "/api/oauth2/token", data=form)
        assert again.status_code == 200
        c.token = again.json()["access_token"]
        assert c.call("GET", "/api/v1/jobs", "/api/v1/jobs").status_code == 200
        reused = c.call("POST", "/api/oauth2/token", "/api/oauth2/token", data=form)
        assert (reused.status_code, reused.json()["errorCode"]) == (401, "InvalidToken")


def test_a_viewer_may_not_read_volumes_nor_server_info():
    with vbr_rest.serve(estate(role="viewer")) as (url, ca, _):
        c = Client(url, ca)
        c.login()
        path = "/api/v1/backupInfrastructure/managedServers"
        hv03 = next(s for s in c.call("GET", path, path).json()["data"] if s["name"] == "HV03")
        r = c.call("GET", f"{path}/{hv03['id']}/volumes", path + "/{id}/volumes")
        assert (r.status_code, r.json()["errorCode"]) == (403, "AccessDenied")
        assert c.call("GET", "/api/v1/serverInfo", "/api/v1/serverInfo").status_code == 403
        assert c.call("GET", "/api/v1/jobs", "/api/v1/jobs").status_code == 200


def test_the_schema_check_can_fail(lab):
    """The validator is not lenient: a proxy without its server settings does not conform."""
    schema = response_schema("/api/v1/backupInfrastructure/proxies", "GET", 200)
    bad = {
        "data": [{"id": "x", "name": "PX01", "description": "", "type": "HvProxy"}],
        "pagination": {"total": 1, "count": 1},
    }
    with pytest.raises(Exception, match="server"):
        validate(bad, schema)
