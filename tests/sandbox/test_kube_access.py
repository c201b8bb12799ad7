"""The Kubernetes API double's two identities: SelfSubjectAccessReview answers what the server enforces."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def apis(kubeconfig):
    api = config.new_client_from_config(config_file=str(kubeconfig), context="sandbox")
    return client.AuthorizationV1Api(api), client.CoreV1Api(api)


def can(authz, verb: str, resource: str, subresource: str = "") -> bool:
    attributes = {"verb": verb, "resource": resource, "namespace": "default"}
    if subresource:
        attributes["subresource"] = subresource
    return authz.create_self_subject_access_review({"spec": {"resourceAttributes": attributes}}).status.allowed


def test_admin_may_everything_viewer_only_reads(sandbox, namespace_name):
    admin, admin_core = apis(sandbox.kubeconfig)
    viewer, viewer_core = apis(sandbox.viewer_kubeconfig)
    assert can(admin, "create", "secrets") and can(admin, "patch", "namespaces")
    assert can(viewer, "get", "pods", "log") and can(viewer, "list", "pods")
    assert not can(viewer, "create", "secrets") and not can(viewer, "update", "configmaps")

    with pytest.raises(ApiException) as denied:
        viewer_core.create_namespace({"metadata": {"name": namespace_name}})
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert message.startswith('namespaces is forbidden: User "sandbox-viewer" cannot create resource "namespaces"')
    admin_core.create_namespace({"metadata": {"name": namespace_name}})
    try:
        assert viewer_core.read_namespace(namespace_name).metadata.name == namespace_name
    finally:
        admin_core.delete_namespace(namespace_name)
