"""Acceptance of issue 14 on the sandbox: a director and three envoys over two sites from one inventory.

One module-scoped federation (inventories/sandbox-federation copied, with its paths pointed at a
temp dir): a real OpenFL director installed through KubeFATE on site A, real envoys on sites A
and B. One `site.yml` run exits 0 and the director's own log shows every shard accepted; the
envoys' audit copies carry the read-back address (the inventory sets none); a second run changes
nothing; a set address that differs from the read-back one stops preflight; the director's
teardown is refused while envoys remain, then runs after them, and a new run restores it all.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from openfl_support import REPO, Run, openfl_venv, run_playbooks

pytestmark = pytest.mark.openfl

VENV = openfl_venv(".venv-openfl")
ENVOYS = ("envoy-a1", "envoy-a2", "envoy-b1")
NAMESPACE = "openfl-director"


class Federation:
    def __init__(self, root: Path, sandbox: object) -> None:
        self.root, self.sandbox = root, sandbox
        self.inventory = root / "inventory"

    def run(self, *playbooks: str, extra: tuple[str, ...] = ()) -> Run:
        return run_playbooks(self.inventory, *playbooks, extra=extra)

    @property
    def kube(self):  # the director's site
        return self.sandbox.sites["site-a"].kube

    def director_log(self) -> str:
        from sandbox.kube.resources import PODS

        pods = self.kube.store.list(PODS, NAMESPACE)
        return "".join(self.kube.pod_log(NAMESPACE, p["metadata"]["name"]) for p in pods)

    def accepted(self) -> list[str]:
        from sandbox.director import accepted_shards

        return accepted_shards(self.director_log())

    def service_ports(self) -> dict[str, int]:
        service = self.kube.get("services", NAMESPACE, "director")
        return {p["name"]: p["nodePort"] for p in service["spec"]["ports"]}


def copy_inventory(root: Path, state_dir: Path) -> Path:
    inventory = root / "inventory"
    shutil.copytree(REPO / "inventories" / "sandbox-federation", inventory)
    overrides = {
        "openfl_state_dir": str(state_dir),
        "openfl_pki_dir": str(root / "pki"),
        "openfl_artifacts_dir": str(root / "artifacts"),
    }
    (inventory / "group_vars" / "all" / "test.yml").write_text(yaml.safe_dump(overrides))
    python_dir = {"openfl_envoy_python_dir": str(REPO / "files" / "shard_descriptors" / "dummy")}
    (inventory / "group_vars" / "envoys" / "test.yml").write_text(yaml.safe_dump(python_dir))
    return inventory


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    if not (VENV / "bin" / "fx").is_file():
        pytest.skip(f"no OpenFL virtualenv at {VENV} (make openfl-venv)")
    from sandbox import Sandbox

    root = tmp_path_factory.mktemp("federation")
    state_dir = root / "sandbox"
    copy_inventory(root, state_dir)
    with Sandbox(
        state_dir, sites=("site-a", "site-b"), envoys="real", openfl_venv=VENV, director_cert_dir=root / "none"
    ) as sb:
        yield Federation(root, sb)


@pytest.fixture(scope="module")
def first_run(federation: Federation) -> Run:
    return federation.run("site.yml")


def changed(run: Run) -> dict[str, int]:
    return {host: counts.get("changed", 0) for host, counts in run.recap.items()}


def test_one_run_stands_up_the_director_and_every_envoy_registers_with_it(federation, first_run):
    assert first_run.rc == 0, first_run.stdout[-4000:]
    assert set(first_run.recap) == {"director", *ENVOYS}
    assert sorted(federation.accepted()) == sorted(ENVOYS)
    assert "Starting server on" in federation.director_log()
    assert "| up" in first_run.stdout  # the director's summary line


def test_the_envoys_specs_carry_the_read_back_address(federation, first_run):
    assert first_run.rc == 0
    inventory_text = "".join(p.read_text() for p in federation.inventory.rglob("*.yml"))
    assert "openfl_director_ip" not in inventory_text and "openfl_director_port" not in inventory_text
    ports = federation.service_ports()
    for envoy in ENVOYS:
        spec = yaml.safe_load((federation.root / "artifacts" / "clusters" / f"{envoy}.yaml").read_text())
        # The node's ExternalIP (its InternalIP is not reachable from the envoys) and the nodePorts.
        assert spec["envoy"]["directorIp"] == "127.0.0.1"
        assert spec["envoy"]["directorPort"] == ports["director"]
        assert spec["envoy"]["aggPort"] == ports["agg"]
        assert spec["envoy"]["directorFqdn"] == "director.federation.sandbox"


def test_a_second_run_changes_nothing(federation, first_run):
    assert first_run.rc == 0
    again = federation.run("site.yml")
    assert again.rc == 0, again.stdout[-4000:]
    assert changed(again) == dict.fromkeys(["director", *ENVOYS], 0)


def test_a_set_address_that_differs_from_the_read_back_one_stops_preflight(federation, first_run):
    assert first_run.rc == 0
    run = federation.run("playbooks/preflight.yml", extra=("-e", "openfl_director_port=30999"))
    assert run.rc != 0
    for envoy in ENVOYS:
        assert run.failed(envoy)
        failure = run.failure(envoy)
        assert f"{envoy}: openfl_director_port" in failure and "differs from the director's read-back" in failure
        assert "remove openfl_director_port from the inventory" in failure


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("openfl_director_service_type", "Ingress"),
        ("openfl_director_sample_shape", "28,28"),
        ("openfl_director_namespace", "Openfl"),
        ("openfl_director_node_port", 50051),
    ],
)
def test_a_bad_director_input_stops_site_yml_before_anything_changes(federation, first_run, variable, value):
    assert first_run.rc == 0
    deployment = federation.kube.get("deployments", NAMESPACE, "director", group="apps")
    run = federation.run("site.yml", extra=("-e", json.dumps({variable: value})))
    assert run.rc != 0
    assert run.failed("director") and variable in run.failure("director")
    assert "PLAY [PKI" not in run.stdout  # preflight stopped the run
    after = federation.kube.get("deployments", NAMESPACE, "director", group="apps")
    assert after["metadata"]["resourceVersion"] == deployment["metadata"]["resourceVersion"]


def test_the_director_goes_only_after_the_envoys_and_a_new_run_restores_it(federation, first_run):
    assert first_run.rc == 0
    refused = federation.run("playbooks/teardown.yml", extra=("-l", "director", "-e", "openfl_teardown_director=true"))
    assert refused.rc != 0 and "still have a KubeFATE cluster: envoy-a1, envoy-a2, envoy-b1" in refused.stdout
    assert federation.kube.get("deployments", NAMESPACE, "director", group="apps") is not None

    teardown = federation.run("playbooks/teardown.yml", extra=("-e", "openfl_teardown_director=true"))
    assert teardown.rc == 0, teardown.stdout[-4000:]
    assert federation.kube.get("namespaces", "", NAMESPACE) is None

    restored = federation.run("site.yml")
    assert restored.rc == 0, restored.stdout[-4000:]
    assert sorted(federation.accepted()) == sorted(ENVOYS)
