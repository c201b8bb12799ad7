"""Fixtures for the site checks (openfl.envoy.envoy_sites) on the session's sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kubefate"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s_roles"))

from kubefate_support import CHART_DIR, KubefateSite


@pytest.fixture
def kf(sandbox):
    """The sandbox's KubeFATE, its service version restored after the test."""
    site = sandbox.sites["sandbox"]
    service = KubefateSite(site.kubefate_url, site.kubefate_username, site.kubefate_password)
    yield service
    service.configure(service_version="v1.4.5")


@pytest.fixture
def site_args(sandbox, tmp_path):
    """envoy_sites arguments for two envoys of one good sandbox site; tests break one thing."""
    site = sandbox.sites["sandbox"]
    kubefate = {"url": site.kubefate_url, "username": site.kubefate_username, "password": site.kubefate_password}
    kubernetes = {"kubeconfig": str(sandbox.kubeconfig), "context": "sandbox"}
    envoys = [
        {"name": name, "namespace": f"openfl-{name}", "kubernetes": dict(kubernetes), "kubefate": dict(kubefate)}
        for name in ("envoy-1", "envoy-2")
    ]
    ca_dir = tmp_path / "ca"
    return {
        "envoys": envoys,
        "groups": {"all": ["envoy-1", "envoy-2"], "envoys": ["envoy-1", "envoy-2"], "sandbox": ["envoy-1", "envoy-2"]},
        "chart_path": str(CHART_DIR),
        "ca": {"certificate_path": str(ca_dir / "root_ca.crt"), "private_key_path": str(ca_dir / "root_ca.key")},
    }


@pytest.fixture(scope="session")
def kube(sandbox):
    from k8s_roles_support import Cluster

    return Cluster(str(sandbox.kubeconfig))
