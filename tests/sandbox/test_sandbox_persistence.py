"""The sandbox keeps its state across `down` and `up` (a cluster stopped and started); `down --purge` forgets it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import ENVOY_CONFIG, SHARD_DESCRIPTOR, secret_data
from kubefate_double_support import KubeFate, chart_archive
from kubernetes import client, config

from sandbox import Sandbox
from sandbox.kube.resources import PODS

ROOT = Path(__file__).resolve().parents[2]
SITE = "sandbox"


def sandbox_cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m sandbox ...` with emulated envoys (these tests are about the emulators; tests/openfl: real)."""
    command = [sys.executable, "-m", "sandbox", *args, "--state-dir", str(state_dir), "--envoys", "emulated"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def up(state_dir: Path, *args: str) -> str:
    result = sandbox_cli(state_dir, "up", *args)
    assert result.returncode == 0, result.stderr + (state_dir / "sandbox.log").read_text()
    return result.stdout


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "sandbox-state"
    sandbox_cli(tmp_path / "sandbox-state", "down")


class Clients:
    """Kubernetes and KubeFATE clients built from the files `up` wrote."""

    def __init__(self, state_dir: Path) -> None:
        self.api = config.new_client_from_config(config_file=str(state_dir / "kubeconfig"), context=SITE)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        site = yaml.safe_load((state_dir / "kubefate.yml").read_text())["sites"][SITE]
        self.password = site["password"]
        self.token = next(u["user"]["token"] for u in yaml.safe_load((state_dir / "kubeconfig").read_text())["users"])
        self.kf = KubeFate(SimpleNamespace(url=site["url"]))  # type: ignore[arg-type]
        self.kf._token = self.kf.login("admin", self.password)

    def close(self) -> None:
        self.api.close()


def envoy_pod(core: client.CoreV1Api, namespace: str, timeout: float = 15.0) -> client.V1Pod:
    deadline = time.monotonic() + timeout
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector="openfl=envoy").items
        if pods and pods[0].status.phase == "Running":
            return pods[0]
        assert time.monotonic() < deadline, f"envoy pod not Running: {pods}"
        time.sleep(0.05)


def create_envoy(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, files: dict, manifest: dict) -> None:
    core.create_namespace({"metadata": {"name": namespace}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "envoy-cert"}, "data": secret_data(files)})
    data = {"envoy_config.yaml": ENVOY_CONFIG}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "envoy-config"}, "data": data})
    data = {"dummy_shard_descriptor.py": SHARD_DESCRIPTOR}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "envoy-python-configs"}, "data": data})
    apps.create_namespaced_deployment(namespace, manifest)


def kube_view(clients: Clients, namespace: str) -> dict:
    """Everything the test compares across a restart: objects with uids and resourceVersions, pods, logs."""
    core, apps = clients.core, clients.apps
    plain = clients.api.sanitize_for_serialization
    pods = core.list_namespaced_pod(namespace).items
    return {
        "namespace": plain(core.read_namespace(namespace)),
        "secrets": plain(core.list_namespaced_secret(namespace).items),
        "configmaps": plain(core.list_namespaced_config_map(namespace).items),
        "serviceaccounts": plain(core.list_namespaced_service_account(namespace).items),
        "deployments": plain(apps.list_namespaced_deployment(namespace).items),
        "pods": plain(pods),
        "logs": {p.metadata.name: core.read_namespaced_pod_log(p.metadata.name, namespace) for p in pods},
    }


def kubefate_view(kf: KubeFate, job_id: str) -> dict:
    return {
        "charts": kf.ok("GET", "/v1/chart/", "getChartList Success"),
        "clusters": kf.ok("GET", "/v1/cluster/?all=true", "getClusterList Success"),
        "jobs": kf.ok("GET", "/v1/job/", "getJobList Success"),
        "job": kf.job(job_id),
    }


def test_state_survives_down_and_up_until_purged(state_dir: Path, pki, envoy_deployment: Callable[..., dict]) -> None:
    assert "empty" in up(state_dir)
    clients = Clients(state_dir)
    namespace = "persisted"
    create_envoy(clients.core, clients.apps, namespace, pki.envoy_files("envoy-1"), envoy_deployment("envoy-1"))
    pod = envoy_pod(clients.core, namespace)
    assert "Shard accepted" in clients.core.read_namespaced_pod_log(pod.metadata.name, namespace)
    kf = clients.kf
    chart_uuid = kf.upload_ok(chart_archive())
    job = kf.wait(kf.install("fate-1", namespace)["uuid"])
    assert job["status"] == "Success", job["states"]
    before_kube, before_kf = kube_view(clients, namespace), kubefate_view(kf, job["uuid"])
    old_token, old_password, old_kf_token = clients.token, clients.password, kf.token
    clients.close()

    assert sandbox_cli(state_dir, "down").returncode == 0
    saved = state_dir / "state" / f"{SITE}.json"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert json.loads(saved.read_text())["site"] == SITE

    assert "saved state restored" in up(state_dir)
    clients = Clients(state_dir)
    kf = clients.kf
    assert (clients.token, clients.password) == (old_token, old_password)
    assert kf.call("GET", "/v1/chart/", token=old_kf_token).status_code == 401  # new signing key
    assert kube_view(clients, namespace) == before_kube
    pod = envoy_pod(clients.core, namespace, timeout=0)
    assert "Shard accepted" in clients.core.read_namespaced_pod_log(pod.metadata.name, namespace)
    after_kf = kubefate_view(kf, job["uuid"])
    assert after_kf == before_kf
    assert [c["uuid"] for c in after_kf["charts"]] == [chart_uuid]
    cluster = kf.ok("GET", f"/v1/cluster/{job['cluster_id']}", "getCluster Success")
    assert cluster["status"] == "Running" and cluster["Info"]["status"]["deployments"] == {"fate-1": "Available"}
    assert after_kf["job"]["status"] == "Success"
    # The resourceVersion counter goes on from where it was.
    highest = max(
        int(o["metadata"]["resourceVersion"]) for key in ("secrets", "deployments", "pods") for o in before_kube[key]
    )
    created = clients.core.create_namespaced_config_map(namespace, {"metadata": {"name": "after-restart"}})
    assert int(created.metadata.resource_version) > highest
    # Helm's release record survived: deleting the cluster uninstalls what it installed.
    deleted = kf.wait(kf.ok("DELETE", f"/v1/cluster/{job['cluster_id']}", "deleteCluster Success")["uuid"])
    assert deleted["status"] == "Success", deleted["states"]
    assert clients.apps.list_namespaced_deployment(namespace, label_selector="name=fate-1").items == []
    clients.close()

    down = sandbox_cli(state_dir, "down", "--purge")
    assert down.returncode == 0 and "saved state deleted" in down.stdout
    assert not (state_dir / "state").exists()
    assert "empty" in up(state_dir)
    clients = Clients(state_dir)
    assert clients.token != old_token
    assert namespace not in [n.metadata.name for n in clients.core.list_namespace().items]
    assert clients.kf.ok("GET", "/v1/chart/", "getChartList Success") in (None, [])
    assert clients.kf.ok("GET", "/v1/job/", "getJobList Success") in (None, [])
    clients.close()


def test_fifty_envoys_load_fast(tmp_path: Path, pki, envoy_deployment: Callable[..., dict]) -> None:
    """In-process: persist=True saves on stop() and loads on start(); the default does neither."""
    files = pki.envoy_files("envoy-1")
    with Sandbox(tmp_path, persist=True) as sandbox:
        api = config.new_client_from_config(config_file=str(sandbox.kubeconfig), context=SITE)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        for index in range(50):
            create_envoy(core, apps, f"envoy-{index}", files, envoy_deployment("envoy-1"))
        envoy_pod(core, "envoy-49")
        api.close()
        revision = sandbox.sites[SITE].kube.store.revision
    started = time.monotonic()
    with Sandbox(tmp_path, persist=True) as sandbox:
        elapsed = time.monotonic() - started
        kube = sandbox.sites[SITE].kube
        assert kube.store.revision == revision
        pods = kube.store.list(PODS)
        assert len(pods) == 50 and all(p["status"]["phase"] == "Running" for p in pods)
        assert all("Shard accepted" in kube.pod_log(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods)
        for index in (0, 49):
            deployment = kube.get("deployments", f"envoy-{index}", "envoy", group="apps")
            assert deployment["status"]["availableReplicas"] == 1
    print(f"start with 50 saved envoys: {elapsed:.3f}s")
    busy = os.getloadavg()[0] > 2 * (os.cpu_count() or 1)
    assert elapsed < (3.0 if busy else 1.0), f"start with 50 saved envoys took {elapsed:.2f}s"
    with Sandbox(tmp_path) as sandbox:  # no persistence: empty, and nothing saved over the state
        assert sandbox.sites[SITE].kube.get("namespaces", "", "envoy-0") is None
    assert json.loads((tmp_path / "state" / f"{SITE}.json").read_text())["kube"]["store"]["revision"] == revision
