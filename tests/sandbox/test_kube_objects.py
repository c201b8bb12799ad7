"""Contract tests of the Kubernetes API test double: verbs, selectors and Status errors, via the kubernetes client."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sandbox.core import Site
from sandbox.kube import KubeServer


def error_of(call: object, *args: object, **kwargs: object) -> tuple[int, dict]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.status, json.loads(caught.value.body)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def deployment(name: str, labels: dict[str, str] | None = None) -> dict:
    labels = labels or {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}},
        },
    }


def test_namespace_create_get_list_delete(core: client.CoreV1Api, namespace_name: str) -> None:
    created = core.create_namespace({"metadata": {"name": namespace_name}})
    assert created.status.phase == "Active"
    assert created.metadata.labels["kubernetes.io/metadata.name"] == namespace_name
    assert core.read_namespace(namespace_name).metadata.uid == created.metadata.uid
    assert namespace_name in [n.metadata.name for n in core.list_namespace().items]
    core.delete_namespace(namespace_name)
    assert error_of(core.read_namespace, namespace_name)[0] == 404


def test_secret_round_trip_and_string_data(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"name": "s"}, "data": {"a": b64("x")}, "stringData": {"b": "y"}}
    created = core.create_namespaced_secret(namespace, body)
    assert created.type == "Opaque"
    assert created.data == {"a": b64("x"), "b": b64("y")}
    assert int(created.metadata.resource_version) > 0 and created.metadata.creation_timestamp is not None


def test_configmap_service_and_serviceaccount_are_served(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"k.py": "print()"}})
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    service = core.create_namespaced_service(
        namespace, {"metadata": {"name": "svc"}, "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}
    )
    assert service.spec.type == "ClusterIP" and service.spec.cluster_ip.startswith("10.96.")
    assert service.spec.ports[0].target_port == 80
    assert core.read_namespaced_config_map("cm", namespace).data == {"k.py": "print()"}
    assert core.read_namespaced_service_account("sa", namespace).metadata.name == "sa"


def test_get_missing_object_is_404_not_found(core: client.CoreV1Api, namespace: str) -> None:
    code, status = error_of(core.read_namespaced_secret, "nope", namespace)
    assert code == 404
    assert status["reason"] == "NotFound"
    assert status["message"] == 'secrets "nope" not found'
    assert status["details"] == {"name": "nope", "kind": "secrets"}


def test_create_in_missing_namespace_is_404_namespace_not_found(core: client.CoreV1Api, namespace_name: str) -> None:
    code, status = error_of(core.create_namespaced_secret, namespace_name, {"metadata": {"name": "s"}})
    assert code == 404
    assert status["message"] == f'namespaces "{namespace_name}" not found'


def test_create_twice_is_409_already_exists(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web"))
    code, status = error_of(apps.create_namespaced_deployment, namespace, deployment("web"))
    assert code == 409
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'deployments.apps "web" already exists'
    assert status["details"]["group"] == "apps"


def test_replace_with_stale_resource_version_is_409_conflict(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    stale = created.metadata.resource_version
    created.data = {"a": "2"}
    replaced = core.replace_namespaced_config_map("cm", namespace, created)
    assert int(replaced.metadata.resource_version) > int(stale)
    created.metadata.resource_version = stale
    code, status = error_of(core.replace_namespaced_config_map, "cm", namespace, created)
    assert code == 409
    assert status["reason"] == "Conflict"
    assert status["message"].startswith(
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified'
    )


def test_no_op_replace_keeps_the_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    again = core.replace_namespaced_config_map("cm", namespace, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert again.metadata.resource_version == created.metadata.resource_version


@pytest.mark.parametrize(
    ("name", "rule"),
    [("Bad_Name", "a lowercase RFC 1123 label"), ("a" * 64, "must be no more than 63 characters")],
)
def test_bad_namespace_name_is_422_invalid(core: client.CoreV1Api, name: str, rule: str) -> None:
    code, status = error_of(core.create_namespace, {"metadata": {"name": name}})
    assert code == 422
    assert status["reason"] == "Invalid"
    assert status["message"].startswith(f'Namespace "{name}" is invalid: metadata.name: Invalid value: "{name}": ')
    assert rule in status["message"]
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_bad_secret_name_is_422_with_subdomain_rule(core: client.CoreV1Api, namespace: str) -> None:
    code, status = error_of(core.create_namespaced_secret, namespace, {"metadata": {"name": "Envoy_Cert"}})
    assert code == 422
    assert "a lowercase RFC 1123 subdomain must consist of" in status["message"]


@pytest.mark.parametrize("key", ["bad key", "a/b", ".."])
def test_bad_configmap_key_is_422_invalid(core: client.CoreV1Api, namespace: str, key: str) -> None:
    code, status = error_of(
        core.create_namespaced_config_map, namespace, {"metadata": {"name": "cm"}, "data": {key: "x"}}
    )
    assert code == 422
    assert status["message"].startswith(f'ConfigMap "cm" is invalid: data[{key}]: Invalid value: "{key}": ')
    assert "regex used for validation is '[-._a-zA-Z0-9]+'" in status["message"]


def test_bad_secret_key_is_422_invalid(core: client.CoreV1Api, namespace: str) -> None:
    code, status = error_of(
        core.create_namespaced_secret, namespace, {"metadata": {"name": "s"}, "data": {"a b": b64("x")}}
    )
    assert code == 422
    assert "data[a b]" in status["message"]


def test_configmap_over_1_mib_is_422_too_long(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"name": "big"}, "data": {"a": "x" * (1024 * 1024), "b": "y"}}
    code, status = error_of(core.create_namespaced_config_map, namespace, body)
    assert code == 422
    assert status["message"] == 'ConfigMap "big" is invalid: []: Too long: must have at most 1048576 bytes'


def test_secret_over_1_mib_is_422_too_long(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"name": "big"}, "data": {"a": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}}
    code, status = error_of(core.create_namespaced_secret, namespace, body)
    assert code == 422
    assert status["message"] == 'Secret "big" is invalid: data: Too long: must have at most 1048576 bytes'


def test_secret_data_that_is_not_base64_is_400_bad_request(core: client.CoreV1Api, namespace: str) -> None:
    code, status = error_of(
        core.create_namespaced_secret, namespace, {"metadata": {"name": "s"}, "data": {"a": "not base64!"}}
    )
    assert code == 400
    assert status["reason"] == "BadRequest"
    assert status["message"].startswith('Secret in version "v1" cannot be handled as a Secret: illegal base64 data')


def raw(site: Site, method: str, path: str, body: object, query: str = "") -> tuple[int, dict, dict[str, str]]:
    """A plain HTTP call, for what typed clients refuse to send."""
    return raw_to(site.kube_url, site.kube_token, method, path + query, body)


def raw_to(url: str, token: str, method: str, path: str, body: object) -> tuple[int, dict, dict[str, str]]:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_schema_type_error_is_400_and_missing_field_is_422(site: Site, namespace: str) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    body = deployment("web")
    body["spec"]["replicas"] = "two"
    code, status, _ = raw(site, "POST", path, body)
    assert code == 400
    assert "cannot unmarshal string into Go struct field spec.replicas of type integer" in status["message"]
    body = deployment("web")
    del body["spec"]["template"]["spec"]["containers"][0]["name"]
    code, status, _ = raw(site, "POST", path, body)
    assert code == 422
    assert "spec.template.spec.containers[0].name: Required value" in status["message"]


def test_selector_must_match_template_labels(apps: client.AppsV1Api, namespace: str) -> None:
    body = deployment("web")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    code, status = error_of(apps.create_namespaced_deployment, namespace, body)
    assert code == 422
    assert "`selector` does not match template `labels`" in status["message"]


def test_unknown_fields_are_dropped_with_a_warning_or_rejected_when_strict(site: Site, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    code, created, headers = raw(site, "POST", path, {"metadata": {"name": "cm"}, "bogus": True})
    assert code == 201 and "bogus" not in created
    assert headers["Warning"] == '299 - "unknown field \\"bogus\\""'
    code, status, _ = raw(site, "POST", path, {"metadata": {"name": "cm2"}, "bogus": True}, "?fieldValidation=Strict")
    assert code == 400
    assert status["message"] == 'strict decoding error: unknown field "bogus"'


def test_dry_run_all_validates_but_stores_nothing(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}}, dry_run="All")
    assert created.metadata.name == "s"
    assert error_of(core.read_namespaced_secret, "s", namespace)[0] == 404
    code, _ = error_of(core.create_namespaced_secret, namespace, {"metadata": {"name": "S"}}, dry_run="All")
    assert code == 422


def test_label_selectors_equality_and_set_based(core: client.CoreV1Api, namespace: str) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", None)):
        labels = {"tier": tier} if tier else {}
        core.create_namespaced_secret(namespace, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_secret(namespace, label_selector=selector).items]

    assert names("tier=web") == ["a"]
    assert names("tier!=web") == ["b", "c"]
    assert names("tier in (web,db)") == ["a", "b"]
    assert names("tier notin (web)") == ["b", "c"]
    assert names("tier") == ["a", "b"]
    assert names("!tier") == ["c"]


def test_new_namespace_has_the_default_service_account_and_root_ca(core: client.CoreV1Api, namespace: str) -> None:
    assert [a.metadata.name for a in core.list_namespaced_service_account(namespace).items] == ["default"]
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["kube-root-ca.crt"]


def test_field_selector_metadata_name(core: client.CoreV1Api, namespace: str) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})
    found = core.list_config_map_for_all_namespaces(field_selector=f"metadata.name=b,metadata.namespace={namespace}")
    assert [i.metadata.name for i in found.items] == ["b"]


def test_deleting_a_namespace_removes_its_contents(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    apps.create_namespaced_deployment(namespace, deployment("web"))
    core.delete_namespace(namespace)
    assert core.list_namespaced_secret(namespace).items == []
    assert core.list_namespaced_pod(namespace).items == []
    assert apps.list_namespaced_deployment(namespace).items == []
    assert error_of(core.read_namespace, namespace)[0] == 404


def test_delete_propagation_removes_or_orphans_pods(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("one"))
    apps.create_namespaced_deployment(namespace, deployment("two"))
    apps.delete_namespaced_deployment("one", namespace, propagation_policy="Foreground")
    apps.delete_namespaced_deployment("two", namespace, body={"propagationPolicy": "Orphan"})
    pods = core.list_namespaced_pod(namespace).items
    assert [p.metadata.labels["app"] for p in pods] == ["two"]
    assert not pods[0].metadata.owner_references


def test_delete_missing_is_404(core: client.CoreV1Api, namespace: str) -> None:
    code, status = error_of(core.delete_namespaced_config_map, "nope", namespace)
    assert code == 404 and status["message"] == 'configmaps "nope" not found'


def test_deployment_generation_counts_spec_changes(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, deployment("web"))
    assert created.metadata.generation == 1
    patched = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 2}})
    assert patched.metadata.generation == 2
    relabelled = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert relabelled.metadata.generation == 2


def test_selector_is_immutable(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web"))
    patch = {"spec": {"selector": {"matchLabels": {"app": "web", "x": "y"}}}}
    code, status = error_of(apps.patch_namespaced_deployment, "web", namespace, patch)
    assert code == 422 and "field is immutable" in status["message"]


def test_watch_streams_changes_after_a_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "w"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("w", namespace, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("w", namespace)
    stream = watch.Watch().stream(core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=1)
    events = [(e["type"], e["object"].metadata.name) for e in stream]
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_direct_inspection_and_reset_of_the_emulator() -> None:
    server = KubeServer()
    api_path = "/api/v1/namespaces"
    server.start()
    try:
        status, _, _ = raw_to(server.url, server.token, "POST", api_path, {"metadata": {"name": "x"}})
        assert status == 201
        assert server.get("namespaces", "", "x")["status"]["phase"] == "Active"
        assert server.get("serviceaccounts", "x", "default") is not None
        server.reset()
        assert server.get("namespaces", "", "x") is None
    finally:
        server.stop()
