"""The sandbox's envoy emulation per OpenFL version (`--openfl-version`, `Sandbox(openfl_version=...)`),
read by the openfl.envoy.envoy_health module as Ansible runs it: for 1.5, 1.6 and 1.7, an envoy whose
shapes are the director's registers, one with other shapes is rejected, each in that release's words."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from sandbox import Sandbox
from sandbox import __main__ as cli
from sandbox.kube import envoy as emulated

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kubefate"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s_roles"))
from kubefate_support import run_module

DESCRIPTOR = "class DummyShardDescriptor:\n    pass\n"
SHAPES = {"accepted": ["1"], "rejected": ["2"]}  # the sandbox director's sample_shape is ["1"]


def envoy_config(sample_shape: list[str]) -> str:
    descriptor = {"template": "dummy_shard_descriptor.DummyShardDescriptor", "params": {"sample_shape": sample_shape}}
    return yaml.safe_dump({"shard_descriptor": descriptor})


def deploy(api: client.ApiClient, name: str, files: dict[str, bytes], config_text: str, deployment: dict) -> str:
    core, namespace = client.CoreV1Api(api), f"openfl-{name}"
    core.create_namespace({"metadata": {"name": namespace}})
    secret = {k: v.decode() for k, v in files.items()}
    core.create_namespaced_secret(namespace, {"metadata": {"name": "envoy-cert"}, "stringData": secret})
    for cm_name, data in (("envoy-config", {"envoy_config.yaml": config_text}),
                          ("envoy-python-configs", {"dummy_shard_descriptor.py": DESCRIPTOR})):  # fmt: skip
        core.create_namespaced_config_map(namespace, {"metadata": {"name": cm_name}, "data": data})
    client.AppsV1Api(api).create_namespaced_deployment(namespace, deployment)
    return namespace


def test_the_cli_offers_every_emulated_version():
    assert cli.OPENFL_VERSIONS == emulated.OPENFL_VERSIONS == ("1.5", "1.6", "1.7")
    assert cli.parse_args(["up", "--openfl-version", "1.7"]).openfl_version == "1.7"
    with pytest.raises(ValueError, match="real envoys run the OpenFL of openfl_venv"):
        Sandbox("unused", envoys="real", openfl_version="1.6")


@pytest.mark.parametrize("version", emulated.OPENFL_VERSIONS)
def test_health_reads_registration_and_rejection(tmp_path, pki, envoy_deployment, version):
    words = {kind: emulated.OPENFL_LINES[version][kind][0] for kind in ("accepted", "rejected")}
    with Sandbox(tmp_path / "state", openfl_version=version) as sb:
        api = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
        namespaces = {
            kind: deploy(
                api, f"{kind}-1", pki.envoy_files(f"{kind}-1"), envoy_config(shape), envoy_deployment(f"{kind}-1")
            )
            for kind, shape in SHAPES.items()
        }
        api.close()
        envoys = [
            {
                "name": f"{kind}-1",
                "namespace": ns,
                "kubernetes": {"kubeconfig": str(sb.kubeconfig), "context": "sandbox"},
            }
            for kind, ns in namespaces.items()
        ]
        result = run_module("envoy_health", {"envoys": envoys, "health_timeout": 20, "interval": 0.5}, timeout=60)
    assert result.rc == 0, result.data
    verdicts = result.data["envoys"]
    good, bad = verdicts["accepted-1"], verdicts["rejected-1"]
    assert not good["failed"] and good["registered"], good["msg"]
    assert f'"{words["accepted"]}" in the envoy log' in good["reasons"]
    assert bad["failed"] and not bad["registered"], bad["msg"]
    assert bad["reasons"][0].startswith("the director did not accept the shard (")
    assert f"ERROR    {words['rejected']}" in bad["reasons"][0] and words["rejected"] in bad["msg"]
    assert result.data["elapsed"] < 15  # the rejection ends the wait at once, not at the 20 s deadline
