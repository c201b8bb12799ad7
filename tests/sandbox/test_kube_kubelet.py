"""Contract tests of the sandbox kubelet: pods start only with their mounts, rollouts, and the emulated envoy."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from kubernetes import client

from sandbox import Sandbox


def wait_for(check: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def only_pod(core: client.CoreV1Api, namespace: str) -> client.V1Pod:
    pods = core.list_namespaced_pod(namespace, label_selector="openfl=envoy").items
    assert len(pods) == 1
    return pods[0]


def waiting_reason(pod: client.V1Pod) -> str | None:
    state = pod.status.container_statuses[0].state
    return state.waiting.reason if state.waiting else None


def available(apps: client.AppsV1Api, namespace: str) -> bool:
    deployment = apps.read_namespaced_deployment("envoy", namespace)
    conditions = {c.type: c.status for c in deployment.status.conditions or []}
    return conditions.get("Available") == "True" and deployment.status.available_replicas == 1


def test_pod_waits_in_container_creating_until_its_secret_exists(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(None)
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    pod = only_pod(core, namespace)
    assert pod.status.phase == "Pending" and waiting_reason(pod) == "ContainerCreating"
    assert pod.metadata.name.startswith("envoy-") and pod.metadata.labels["pod-template-hash"]
    assert not available(apps, namespace)
    deployment = apps.read_namespaced_deployment("envoy", namespace)
    assert deployment.status.unavailable_replicas == 1 and deployment.status.observed_generation == 1
    events = core.list_namespaced_event(namespace).items
    assert any(e.reason == "FailedMount" and 'secret "envoy-cert" not found' in e.message for e in events)

    files = pki.envoy_files("envoy-1")
    data = {k: base64.b64encode(v).decode() for k, v in files.items()}
    core.create_namespaced_secret(namespace, {"metadata": {"name": "envoy-cert"}, "data": data})
    assert wait_for(lambda: available(apps, namespace))
    assert only_pod(core, namespace).status.phase == "Running"


def test_missing_item_key_keeps_the_pod_waiting(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}, "data": {"other": "x"}})
    labels = {"openfl": "envoy"}
    volume = {"name": "v", "configMap": {"name": "cfg", "items": [{"key": "wanted", "path": "wanted"}]}}
    spec = {
        "containers": [{"name": "c", "image": "i:1", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
        "volumes": [volume],
    }
    body = {
        "metadata": {"name": "envoy"},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}},
    }
    apps.create_namespaced_deployment(namespace, body)
    assert waiting_reason(only_pod(core, namespace)) == "ContainerCreating"
    core.patch_namespaced_config_map("cfg", namespace, {"data": {"wanted": "y"}})
    assert wait_for(lambda: available(apps, namespace))


def test_missing_sub_path_key_keeps_the_pod_waiting(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    core.replace_namespaced_config_map("envoy-config", namespace, {"metadata": {"name": "envoy-config"}, "data": {}})
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    assert waiting_reason(only_pod(core, namespace)) == "ContainerCreating"


def test_envoy_with_a_good_certificate_logs_shard_accepted(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    assert available(apps, namespace)
    pod = only_pod(core, namespace)
    log = core.read_namespaced_pod_log(pod.metadata.name, namespace, container="envoy")
    assert "Starting the Envoy" in log
    assert log.splitlines()[-2].split("INFO", 1)[1].strip().startswith("Shard accepted")


@pytest.mark.parametrize(
    ("make_files", "expected"),
    [
        (lambda pki, other: pki.envoy_files("envoy-2"), "certificate CN 'envoy-2' does not match shard name 'envoy-1'"),
        (lambda pki, other: {**pki.envoy_files("envoy-1"), "root_ca.crt": other.envoy_files("x")["root_ca.crt"]},
         "certificate verify failed: unable to get local issuer certificate"),
        (lambda pki, other: {**pki.envoy_files("envoy-1"), "priv.key": pki.envoy_files("envoy-1")["priv.key"]},
         "key values mismatch"),
        (lambda pki, other: {**pki.envoy_files("envoy-1"), "envoy.crt": b"garbage"}, "could not be loaded"),
        (lambda pki, other: pki.envoy_files("envoy-1", days=-1), "certificate has expired"),
    ],
    ids=["cn-mismatch", "other-root", "key-mismatch", "not-pem", "expired"],
)  # fmt: skip
def test_envoy_with_a_bad_certificate_crash_loops(
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    namespace: str,
    pki,
    foreign_pki,
    envoy_objects,
    envoy_deployment,
    make_files,
    expected,
) -> None:
    envoy_objects(make_files(pki, foreign_pki))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    pod = only_pod(core, namespace)
    assert waiting_reason(pod) == "CrashLoopBackOff"
    assert pod.status.phase == "Running" and not pod.status.container_statuses[0].ready
    log = core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert expected in log and "Shard accepted" not in log
    assert not available(apps, namespace)


def test_crash_loop_restarts_grow_and_a_fixed_secret_lets_it_start(
    sandbox: Sandbox,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    namespace: str,
    pki,
    envoy_objects,
    envoy_deployment,
) -> None:
    envoy_objects(pki.envoy_files("wrong-name"))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    first = only_pod(core, namespace).status.container_statuses[0].restart_count
    assert wait_for(lambda: only_pod(core, namespace).status.container_statuses[0].restart_count > first, 3)
    data = {k: base64.b64encode(v).decode() for k, v in pki.envoy_files("envoy-1").items()}
    core.patch_namespaced_secret("envoy-cert", namespace, {"data": data})
    assert wait_for(lambda: available(apps, namespace), 3)
    pod = only_pod(core, namespace)
    assert "Shard accepted" in sandbox.sites["sandbox"].kube.pod_log(namespace, pod.metadata.name)


def test_missing_shard_descriptor_module_crash_loops(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"), python=False)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "envoy-python-configs"}, "data": {"other.py": ""}}
    )
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    pod = only_pod(core, namespace)
    assert "ModuleNotFoundError: No module named 'dummy_shard_descriptor'" in core.read_namespaced_pod_log(
        pod.metadata.name, namespace
    )


def test_template_change_rolls_out_a_new_pod(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1", {"checksum/config": "a"}))
    before = only_pod(core, namespace).metadata.name
    patch = {"spec": {"template": {"metadata": {"annotations": {"checksum/config": "b"}}}}}
    apps.patch_namespaced_deployment("envoy", namespace, patch)
    after = only_pod(core, namespace)
    assert after.metadata.name != before
    assert after.metadata.annotations == {"checksum/config": "b"}
    deployment = apps.read_namespaced_deployment("envoy", namespace)
    assert deployment.status.observed_generation == deployment.metadata.generation == 2
    assert available(apps, namespace)


def test_log_of_a_waiting_pod_is_400(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, envoy_objects, envoy_deployment
) -> None:
    from kubernetes.client.rest import ApiException

    envoy_objects(None)
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    pod = only_pod(core, namespace)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert caught.value.status == 400
    assert "is waiting to start: ContainerCreating" in caught.value.body


def test_deleting_the_pod_makes_the_deployment_replace_it(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    first = only_pod(core, namespace).metadata.name
    core.delete_namespaced_pod(first, namespace)
    assert only_pod(core, namespace).metadata.name != first


def test_missing_service_account_means_no_pod_and_a_replica_failure(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    body = envoy_deployment("envoy-1")
    body["spec"]["template"]["spec"]["serviceAccountName"] = "envoy-sa"
    apps.create_namespaced_deployment(namespace, body)
    assert core.list_namespaced_pod(namespace).items == []
    conditions = {c.type: c for c in apps.read_namespaced_deployment("envoy", namespace).status.conditions}
    assert conditions["ReplicaFailure"].reason == "FailedCreate"
    assert 'serviceaccount "envoy-sa" not found' in conditions["ReplicaFailure"].message
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "envoy-sa"}})
    assert available(apps, namespace)
