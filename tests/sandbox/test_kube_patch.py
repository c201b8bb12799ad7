"""Contract tests of the Kubernetes API test double: JSON patch, merge patch, strategic merge patch, apply."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client

from sandbox.core import Site


def patch(site: Site, path: str, body: object, content_type: str, query: str = "") -> tuple[int, dict]:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(
        site.kube_url + path + query,
        data=data,
        method="PATCH",
        headers={"Authorization": f"Bearer {site.kube_token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def web(apps: client.AppsV1Api, namespace: str) -> str:
    """A Deployment `web` with two containers, env and volumes, to patch; returns its URL path."""
    labels = {"app": "web"}
    containers = [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
        {"name": "b", "image": "b:1"},
    ]
    body = {
        "metadata": {"name": "web", "labels": labels, "annotations": {"keep": "1", "drop": "1"}},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
    }
    apps.create_namespaced_deployment(namespace, body)
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/web"


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_strategic_merge_merges_containers_and_env_by_name(site: Site, web: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "3"}]}]}}}}
    code, patched = patch(site, web, body, "application/strategic-merge-patch+json")
    assert code == 200
    assert [c["name"] for c in containers(patched)] == ["a", "b"]
    assert containers(patched)[0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]
    assert containers(patched)[0]["image"] == "a:1"


def test_strategic_merge_delete_directive_and_null(site: Site, web: str) -> None:
    body = {
        "metadata": {"annotations": {"drop": None}},
        "spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}},
    }
    _, patched = patch(site, web, body, "application/strategic-merge-patch+json")
    assert [c["name"] for c in containers(patched)] == ["a"]
    assert patched["metadata"]["annotations"] == {"keep": "1"}


def test_merge_patch_replaces_lists_whole(site: Site, web: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}}}
    _, patched = patch(site, web, body, "application/merge-patch+json")
    assert [c["name"] for c in containers(patched)] == ["c"]


def test_json_patch_operations(site: Site, web: str) -> None:
    operations = [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        {"op": "remove", "path": "/metadata/annotations/drop"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "d", "image": "d:1"}},
    ]
    _, patched = patch(site, web, operations, "application/json-patch+json")
    assert patched["spec"]["replicas"] == 3
    assert patched["metadata"]["labels"]["tier"] == "front"
    assert "drop" not in patched["metadata"]["annotations"]
    assert [c["name"] for c in containers(patched)] == ["a", "b", "d"]


def test_json_patch_failed_test_op_is_422(site: Site, web: str) -> None:
    code, status = patch(
        site, web, [{"op": "test", "path": "/spec/replicas", "value": 9}], "application/json-patch+json"
    )
    assert code == 422 and status["kind"] == "Status"


def test_patch_with_stale_resource_version_is_409(site: Site, web: str) -> None:
    code, status = patch(site, web, {"metadata": {"resourceVersion": "1"}}, "application/merge-patch+json")
    assert code == 409 and status["reason"] == "Conflict"


def test_patch_result_is_validated(site: Site, web: str) -> None:
    code, status = patch(site, web, {"metadata": {"labels": {"bad": "no spaces"}}}, "application/merge-patch+json")
    assert code == 422 and "metadata.labels" in status["message"]


def test_patch_of_missing_object_is_404(site: Site, web: str) -> None:
    code, status = patch(site, web.replace("/web", "/nope"), {}, "application/merge-patch+json")
    assert code == 404 and status["message"] == 'deployments.apps "nope" not found'


def test_unsupported_patch_type_is_415(site: Site, web: str) -> None:
    code, status = patch(site, web, {}, "text/plain")
    assert code == 415 and status["reason"] == "UnsupportedMediaType"


def test_no_op_patch_keeps_the_resource_version(site: Site, web: str) -> None:
    _, first = patch(site, web, {"spec": {"replicas": 1}}, "application/strategic-merge-patch+json")
    _, second = patch(site, web, {"spec": {"replicas": 1}}, "application/strategic-merge-patch+json")
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]


def test_dry_run_patch_changes_nothing(site: Site, web: str, apps: client.AppsV1Api, namespace: str) -> None:
    _, patched = patch(site, web, {"spec": {"replicas": 5}}, "application/merge-patch+json", "?dryRun=All")
    assert patched["spec"]["replicas"] == 5
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 1


def test_server_side_apply_creates_then_merges(site: Site, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/applied"
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: '1'\n"
    code, created = patch(site, path, manifest, "application/apply-patch+yaml", "?fieldManager=test")
    assert code == 201
    assert created["data"] == {"a": "1"}
    _, merged = patch(
        site, path, manifest.replace("a: '1'", "b: '2'"), "application/apply-patch+yaml", "?fieldManager=test"
    )
    assert merged["data"] == {"a": "1", "b": "2"}


def test_server_side_apply_without_field_manager_is_422(site: Site, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/applied"
    code, status = patch(site, path, "metadata:\n  name: applied\n", "application/apply-patch+yaml")
    assert code == 422 and "fieldManager: Required value" in status["message"]
