"""Fixtures for the contract tests of the Kubernetes API test double (sandbox/kube)."""

from __future__ import annotations

import base64
import datetime
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client, config

from sandbox import Sandbox
from sandbox.core import Site

ENVOY_SCRIPT = """\
set -eu
if [ -f python/requirements.txt ]; then
  pip install --no-cache-dir -r python/requirements.txt
fi
exec fx envoy start \\
  --shard-name "${ENVOY_NAME}" \\
  --director-host "${DIRECTOR_FQDN}" \\
  --director-port "${DIRECTOR_PORT}" \\
  --root-cert-path cert/root_ca.crt \\
  --private-key-path cert/priv.key \\
  --public-cert-path cert/envoy.crt \\
  --envoy-config-path envoy_config.yaml
"""
ENVOY_CONFIG = "shard_descriptor:\n  template: dummy_shard_descriptor.DummyShardDescriptor\n"
SHARD_DESCRIPTOR = "class DummyShardDescriptor:\n    pass\n"


@pytest.fixture(scope="session")
def site(sandbox: Sandbox) -> Site:
    return sandbox.sites["sandbox"]


@pytest.fixture(scope="session")
def api_client(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    """A kubernetes client configured from the sandbox kubeconfig, as kubernetes.core does it."""
    with config.new_client_from_config(config_file=str(sandbox.kubeconfig), context="sandbox") as api:
        yield api


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api, namespace_name: str) -> str:
    """A created, empty namespace of the test's own."""
    core.create_namespace({"metadata": {"name": namespace_name}})
    return namespace_name


@pytest.fixture
def kubectl(sandbox: Sandbox) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run kubectl against the sandbox kubeconfig (skips when no kubectl is on PATH)."""
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not on PATH: the kubectl contract tests need a kubectl v1.32 client")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [binary, "--kubeconfig", str(sandbox.kubeconfig), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {result.stderr}")
        return result

    return run


class Pki:
    """Throw-away certificates for the emulated envoy, made at test time (never committed)."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = self._certificate("Sandbox Test Root CA", self.ca_key.public_key(), self.ca_key, None, ca=True)

    def _certificate(
        self,
        common_name: str,
        public_key: ec.EllipticCurvePublicKey,
        signer: ec.EllipticCurvePrivateKey,
        issuer: x509.Name | None,
        ca: bool = False,
        days: int = 30,
    ) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    def envoy_files(self, common_name: str, days: int = 30) -> dict[str, bytes]:
        """The three keys of Secret `envoy-cert`: `envoy.crt`, `priv.key`, `root_ca.crt`."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._certificate(common_name, key.public_key(), self.ca_key, self.ca_cert.subject, days=days)
        return {
            "envoy.crt": cert.public_bytes(serialization.Encoding.PEM),
            "priv.key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "root_ca.crt": self.ca_cert.public_bytes(serialization.Encoding.PEM),
        }


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="session")
def foreign_pki() -> Pki:
    """A second, unrelated CA (a director that does not trust `pki`)."""
    return Pki()


def secret_data(files: dict[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


@pytest.fixture
def envoy_objects(core: client.CoreV1Api, namespace: str) -> Callable[..., None]:
    """Create what the envoy pod mounts: Secret envoy-cert (given files), ConfigMaps envoy-config and python."""

    def create(cert_files: dict[str, bytes] | None, python: bool = True) -> None:
        if cert_files is not None:
            core.create_namespaced_secret(
                namespace, {"metadata": {"name": "envoy-cert"}, "data": secret_data(cert_files)}
            )
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "envoy-config"}, "data": {"envoy_config.yaml": ENVOY_CONFIG}}
        )
        if python:
            data = {"dummy_shard_descriptor.py": SHARD_DESCRIPTOR}
            core.create_namespaced_config_map(namespace, {"metadata": {"name": "envoy-python-configs"}, "data": data})

    return create


def _envoy_deployment(envoy_name: str, annotations: dict[str, str] | None = None) -> dict:
    """A Deployment shaped like the chart's `envoy` (same command, env, mounts and volumes)."""
    labels = {"openfl": "envoy", "name": envoy_name}
    env = {"ENVOY_NAME": envoy_name, "DIRECTOR_FQDN": "director", "DIRECTOR_PORT": "50051"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "envoy", "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"openfl": "envoy"}},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {
                    "containers": [
                        {
                            "name": "envoy",
                            "image": "federatedai/fedlcm-openfl:v0.3.0",
                            "workingDir": "/openfl/workspace",
                            "command": ["/bin/bash", "-c"],
                            "args": [ENVOY_SCRIPT],
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                            "volumeMounts": [
                                {"name": "envoy-cert", "mountPath": "/openfl/workspace/cert/", "readOnly": True},
                                {"name": "envoy-python-configs", "mountPath": "/openfl/workspace/python/"},
                                {
                                    "name": "envoy-config",
                                    "mountPath": "/openfl/workspace/envoy_config.yaml",
                                    "subPath": "envoy_config.yaml",
                                },
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "envoy-cert", "secret": {"secretName": "envoy-cert"}},
                        {"name": "envoy-python-configs", "configMap": {"name": "envoy-python-configs"}},
                        {"name": "envoy-config", "configMap": {"name": "envoy-config"}},
                    ],
                },
            },
        },
    }


@pytest.fixture
def envoy_deployment() -> Callable[..., dict]:
    """`envoy_deployment(envoy_name, annotations=None)` builds the envoy Deployment manifest."""
    return _envoy_deployment
