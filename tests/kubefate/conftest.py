"""Fixtures for the KubeFATE module and role tests on the session's sandbox."""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s_roles"))

from k8s_roles_support import Site
from kubefate_support import CHART_DIR, KubefateSite, run_module

_counter = itertools.count(1)
DEFAULT_KNOBS = {"job_latency": 0.0, "token_ttl": 1800, "fault_rate": 0.0, "job_time_limit": 60.0}


@pytest.fixture(scope="session")
def kf_site(sandbox) -> KubefateSite:
    site = sandbox.sites["sandbox"]
    return KubefateSite(site.kubefate_url, site.kubefate_username, site.kubefate_password)


@pytest.fixture
def kf(kf_site):
    """The sandbox's KubeFATE with default knobs, restored after the test."""
    kf_site.configure(**DEFAULT_KNOBS)
    yield kf_site
    kf_site.configure(**DEFAULT_KNOBS)


@pytest.fixture(scope="session")
def kube(sandbox):
    from k8s_roles_support import Cluster

    return Cluster(str(sandbox.kubeconfig))


@pytest.fixture(scope="session")
def ca(tmp_path_factory):
    from k8s_roles_support import make_ca

    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def chart_uploaded(kf_site):
    """The repository's chart on the sandbox (what the kubefate_chart role does first)."""
    result = run_module("kubefate_chart", {**kf_site.connection, "chart_path": str(CHART_DIR)})
    assert not result.failed, result.data
    return result


@pytest.fixture
def envoy(request, kube, ca, tmp_path):
    """envoy(ready=True) -> (name, namespace): a fresh envoy name and its namespace; with ready, also
    the envoy-cert Secret and envoy-python-configs ConfigMap the pod needs to start."""

    def factory(ready: bool = True) -> tuple[str, str]:
        stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:28].strip("-")
        name = f"{stem}-{next(_counter)}"
        namespace = f"openfl-{name}"
        prepare_namespace(kube, ca, tmp_path, name, namespace, ready)
        return name, namespace

    return factory


def prepare_namespace(kube, ca, tmp_path: Path, name: str, namespace: str, ready: bool) -> None:
    from k8s_roles_support import DESCRIPTOR, make_envoy_cert

    client = kube.client
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    if not ready:
        return
    directory = make_envoy_cert(tmp_path / "pki", ca, name)
    files = {key: (directory / key).read_text() for key in ("envoy.crt", "priv.key", "root_ca.crt")}
    kube.core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="envoy-cert"), string_data=files)
    )
    kube.core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="envoy-python-configs"),
            data={"test_shard_descriptor.py": DESCRIPTOR},
        ),
    )


@pytest.fixture
def make_kf_site(tmp_path, kf, sandbox, request):
    counter = iter(range(1, 1000))

    def factory(n: int, prefix: str | None = None, **host_vars) -> Site:
        stem = prefix or re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:24].strip("-")
        envoys = [f"{stem}-{next(counter)}" for _ in range(n)]
        site = Site(tmp=tmp_path, kubeconfig=str(sandbox.kubeconfig), envoys=envoys)
        for envoy in envoys:
            site.host_vars[envoy] = {
                "openfl_kubefate_url": kf.url,
                "openfl_kubefate_username": kf.username,
                "openfl_kubefate_password": kf.password,
                "openfl_artifacts_dir": str(tmp_path / "artifacts"),
                "envoy_cluster_health_timeout": 60,
                "envoy_cluster_health_interval": 1,
                **host_vars,
            }
        return site.setup()

    return factory
