"""Contract tests of the Kubernetes API test double with kubectl as the client (skipped without kubectl)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from kubernetes import client


def test_get_namespaces_prints_a_table(kubectl, namespace: str) -> None:
    out = kubectl("get", "ns").stdout
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == [namespace, "Active"] for line in out.splitlines())


def test_create_namespace_and_delete_it(kubectl, namespace_name: str) -> None:
    assert kubectl("create", "namespace", namespace_name).stdout.strip() == f"namespace/{namespace_name} created"
    assert kubectl("delete", "ns", namespace_name).stdout.strip() == f'namespace "{namespace_name}" deleted'
    missing = kubectl("get", "ns", namespace_name, check=False)
    assert missing.returncode == 1
    assert f'namespaces "{namespace_name}" not found' in missing.stderr


def test_create_namespace_twice_reports_already_exists(kubectl, namespace: str) -> None:
    again = kubectl("create", "namespace", namespace, check=False)
    assert again.returncode == 1
    assert f'Error from server (AlreadyExists): namespaces "{namespace}" already exists' in again.stderr


def test_create_secret_generic_from_files(kubectl, core: client.CoreV1Api, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "envoy.crt").write_text("CERT")
    (tmp_path / "priv.key").write_text("KEY")
    kubectl("-n", namespace, "create", "secret", "generic", "envoy-cert",
            f"--from-file=envoy.crt={tmp_path / 'envoy.crt'}", f"--from-file={tmp_path / 'priv.key'}")  # fmt: skip
    secret = core.read_namespaced_secret("envoy-cert", namespace)
    assert {k: base64.b64decode(v).decode() for k, v in secret.data.items()} == {"envoy.crt": "CERT", "priv.key": "KEY"}
    listed = kubectl("-n", namespace, "get", "secrets").stdout.splitlines()
    assert listed[1].split()[:3] == ["envoy-cert", "Opaque", "2"]


def test_create_configmap_from_a_directory(kubectl, core: client.CoreV1Api, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "shard.py").write_text("class S: pass\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    kubectl("-n", namespace, "create", "configmap", "envoy-python-configs", f"--from-file={tmp_path}")
    data = core.read_namespaced_config_map("envoy-python-configs", namespace).data
    assert data == {"shard.py": "class S: pass\n", "requirements.txt": "numpy\n"}


def test_create_configmap_with_a_bad_key_is_refused(kubectl, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = kubectl(
        "-n", namespace, "create", "configmap", "c", f"--from-file=bad key={tmp_path / 'file'}", check=False
    )
    assert result.returncode == 1
    assert "a valid config key must consist of alphanumeric characters" in result.stderr


def test_get_deployment_as_yaml_and_logs_of_the_envoy(
    kubectl, apps: client.AppsV1Api, namespace: str, pki, envoy_objects, envoy_deployment
) -> None:
    envoy_objects(pki.envoy_files("envoy-1"))
    apps.create_namespaced_deployment(namespace, envoy_deployment("envoy-1"))
    listed = json.loads(kubectl("-n", namespace, "get", "deploy", "-o", "json").stdout)
    assert [d["metadata"]["name"] for d in listed["items"]] == ["envoy"]
    as_yaml = kubectl("-n", namespace, "get", "deploy", "envoy", "-o", "yaml").stdout
    assert "type: Available" in as_yaml and "availableReplicas: 1" in as_yaml
    assert "Shard accepted" in kubectl("-n", namespace, "logs", "deploy/envoy").stdout
    assert kubectl("-n", namespace, "rollout", "status", "deploy/envoy", "--timeout=10s").returncode == 0
    pods = kubectl("-n", namespace, "get", "pods").stdout.splitlines()
    assert pods[1].split()[1:4] == ["1/1", "Running", "0"]


def test_create_from_a_manifest_and_apply_it_again(kubectl, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n  a: '1'\n")
    assert "configmap/m created" in kubectl("-n", namespace, "apply", "-f", str(manifest)).stdout
    assert "configmap/m unchanged" in kubectl("-n", namespace, "apply", "-f", str(manifest)).stdout
