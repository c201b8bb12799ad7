"""The kubefate_* modules end to end against the unit tests' in-process fake KubeFATE: fast, no sandbox.
The sandbox tests (test_kubefate_modules.py) cover the same cases against the full emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from kubefate_support import CHART_DIR, KubefateSite, cluster_spec, run_module

sys.path.insert(
    0,
    str(
        Path(__file__).resolve().parents[2]
        / "collections/ansible_collections/openfl/envoy/tests/unit/plugins/module_utils"
    ),
)
from test_kubefate import PASSWORD, USER, start_fake


@pytest.fixture
def fake():
    state, server = start_fake()
    yield state
    server.shutdown()
    server.server_close()


def conn(fake) -> dict:
    return KubefateSite(fake.url, USER, PASSWORD).connection


def test_module_cycle_on_fake(fake):
    args = {
        **conn(fake),
        "name": "envoy-1",
        "namespace": "openfl-envoy-1",
        "spec": cluster_spec("envoy-1", "openfl-envoy-1"),
    }
    check = run_module("kubefate_cluster", args, check=True, diff=True)
    assert check["changed"] and check["action"] == "install" and not fake.clusters
    first = run_module("kubefate_cluster", {**args, "wait": True})
    assert first["changed"] and first["job"]["status"] == "Success"
    assert PASSWORD not in str(first.data)
    again = run_module("kubefate_cluster", args)
    assert not again["changed"] and again["job_uuid"] == first["job_uuid"]

    spec = cluster_spec("envoy-1", "openfl-envoy-1", directorPort=50061)
    update = run_module("kubefate_cluster", {**args, "spec": spec}, diff=True)
    assert update["action"] == "update" and update["diff"]["after"]["envoy"]["directorPort"] == 50061
    assert not run_module("kubefate_cluster", {**args, "spec": spec})["changed"]

    job = run_module("kubefate_job", {**conn(fake), "uuid": update["job_uuid"]})
    assert job["status"] == "Success"

    absent = {**conn(fake), "name": "envoy-1", "namespace": "openfl-envoy-1", "state": "absent"}
    assert run_module("kubefate_cluster", absent, check=True)["action"] == "delete"
    assert run_module("kubefate_cluster", absent)["action"] == "delete"
    assert not run_module("kubefate_cluster", absent)["changed"]


def test_module_failed_job_message_has_states(fake):
    fake.job_final_status = "Failed"
    fake.job_states = ["update job status to Running", "helm install error, FateChart ValuesTemplate not exist"]
    args = {**conn(fake), "name": "e", "namespace": "openfl-e", "spec": cluster_spec("e", "openfl-e"), "wait": True}
    result = run_module("kubefate_cluster", args)
    assert result.failed and "ValuesTemplate not exist" in result["msg"] and result["job"]["status"] == "Failed"


def test_chart_module_on_fake(fake):
    args = {**conn(fake), "chart_path": str(CHART_DIR)}
    assert run_module("kubefate_chart", args, check=True)["reason"] == "missing" and not fake.charts
    assert run_module("kubefate_chart", args)["uploaded"]
    again = run_module("kubefate_chart", args)
    assert not again["changed"] and again["reason"] == "same content"


def test_wrong_password_is_not_echoed(fake):
    result = run_module("kubefate_cluster_info", {**conn(fake), "password": "not-the-password-123"})
    assert result.failed and "incorrect Username or Password" in result["msg"]
    assert "not-the-password-123" not in str(result.data)
