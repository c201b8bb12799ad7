"""Contract tests of the Kubernetes API test double: discovery, version, OpenAPI and bearer-token auth."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, dynamic

from sandbox.core import Site


def http(site: Site, path: str, token: str | None = "site") -> tuple[int, dict]:
    request = urllib.request.Request(site.kube_url + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {site.kube_token if token == 'site' else token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_version_reports_a_1_32_server(site: Site) -> None:
    code, body = http(site, "/version")
    assert code == 200
    assert (body["major"], body["minor"]) == ("1", "32")


def test_core_and_apps_discovery(site: Site) -> None:
    assert http(site, "/api")[1]["versions"] == ["v1"]
    groups = http(site, "/apis")[1]["groups"]
    assert [g["name"] for g in groups] == ["apps"]
    core = {r["name"]: r for r in http(site, "/api/v1")[1]["resources"]}
    assert {"namespaces", "secrets", "configmaps", "serviceaccounts", "services", "pods", "pods/log"} <= set(core)
    assert core["namespaces"]["namespaced"] is False and core["namespaces"]["shortNames"] == ["ns"]
    apps = {r["name"]: r for r in http(site, "/apis/apps/v1")[1]["resources"]}
    assert apps["deployments"]["kind"] == "Deployment" and "patch" in apps["deployments"]["verbs"]


def test_openapi_v3_advertises_server_side_field_validation(site: Site) -> None:
    index = http(site, "/openapi/v3")[1]["paths"]
    document = http(site, index["apis/apps/v1"]["serverRelativeURL"].split("?")[0])[1]
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in patch["parameters"]


def test_unknown_path_is_404_status(site: Site) -> None:
    code, body = http(site, "/apis/batch/v1/jobs")
    assert code == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_401(site: Site, token: str | None) -> None:
    code, body = http(site, "/api/v1/namespaces", token=token)
    assert code == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_dynamic_client_discovers_every_served_kind(api_client: client.ApiClient) -> None:
    dyn = dynamic.DynamicClient(api_client)
    for api_version, kind in [
        ("v1", "Namespace"),
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
    ]:
        assert dyn.resources.get(api_version=api_version, kind=kind).kind == kind
