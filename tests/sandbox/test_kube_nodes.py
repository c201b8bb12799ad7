"""Contract tests of the Kubernetes API test double: the Node and its addresses, Service nodePorts."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox.kube.nodes import NODE_PORT_RANGE, published_ports


def service(name: str, kind: str = "NodePort", node_ports: tuple[int | None, int | None] = (None, None)) -> dict:
    ports = [{"name": "director", "port": 50051, "targetPort": "director"}, {"name": "agg", "port": 50052}]
    for port, node_port in zip(ports, node_ports, strict=True):
        if node_port:
            port["nodePort"] = node_port
    return {"metadata": {"name": name}, "spec": {"type": kind, "selector": {"openfl": name}, "ports": ports}}


def node_ports(svc: client.V1Service) -> list[int | None]:
    return [p.node_port for p in svc.spec.ports]


def test_one_ready_node_with_an_unreachable_internal_ip_and_a_loopback_external_ip(core: client.CoreV1Api) -> None:
    (node,) = core.list_node().items
    addresses = {a.type: a.address for a in node.status.addresses}
    assert addresses == {"InternalIP": "10.0.0.10", "ExternalIP": "127.0.0.1", "Hostname": "sandbox-node"}
    assert core.read_node(node.metadata.name).metadata.name == "sandbox-node"


def test_node_ports_are_allocated_in_range_and_kept_across_updates(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_service(namespace, service("director"))
    first = node_ports(created)
    assert all(NODE_PORT_RANGE[0] <= p <= NODE_PORT_RANGE[1] for p in first) and first[0] != first[1]
    patched = core.patch_namespaced_service("director", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert node_ports(patched) == first
    cluster_ip = core.patch_namespaced_service("director", namespace, {"spec": {"type": "ClusterIP"}})
    assert node_ports(cluster_ip) == [None, None]


def test_a_requested_node_port_must_be_in_range_and_free(core: client.CoreV1Api, namespace: str) -> None:
    taken = node_ports(core.create_namespaced_service(namespace, service("one")))[0]
    for wanted, detail in (
        (taken, "provided port is already allocated"),
        (80, "provided port is not in the valid range"),
    ):
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_service(namespace, service("two", node_ports=(wanted, None)))
        status = json.loads(caught.value.body)
        assert caught.value.status == 422 and status["reason"] == "Invalid"
        expected = f'Service "two" is invalid: spec.ports[0].nodePort: Invalid value: {wanted}: {detail}'
        assert expected in status["message"]


def test_a_pods_published_ports_are_the_node_ports_of_the_services_that_select_it(sandbox, namespace, core) -> None:
    ports = node_ports(core.create_namespaced_service(namespace, service("director")))
    pod = {"metadata": {"namespace": namespace, "labels": {"openfl": "director"}}}
    container = {"ports": [{"name": "director", "containerPort": 50051}, {"name": "agg", "containerPort": 50052}]}
    store = sandbox.sites["sandbox"].kube.store
    assert published_ports(store, pod, container) == f"50051=127.0.0.1:{ports[0]},50052=127.0.0.1:{ports[1]}"
    other = {"metadata": {"namespace": namespace, "labels": {"openfl": "envoy"}}}
    assert published_ports(store, other, container) == ""
