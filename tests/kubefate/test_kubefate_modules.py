"""openfl.envoy.kubefate_* modules against the sandbox's KubeFATE (issue 7 acceptance list)."""

from __future__ import annotations

import threading
import time

from kubefate_support import CHART_NAME, CHART_VERSION, chart_variant, cluster_spec, run_module


def present(kf, name, namespace, spec=None, **extra):
    args = {**kf.connection, "name": name, "namespace": namespace, "spec": spec or cluster_spec(name, namespace)}
    args.update(extra)
    return args


def wait(kf, job_uuid, **extra):
    return run_module("kubefate_job", {**kf.connection, "uuid": job_uuid, "wait_timeout": 60, **extra})


# ---------------------------------------------------------------------------------------------
# charts


def test_chart_upload_only_when_missing_or_different(kf, tmp_path):
    chart = chart_variant(tmp_path, "0.0.1-test.1")
    args = {**kf.connection, "chart_path": str(chart)}
    first_check = run_module("kubefate_chart", args, check=True)
    assert first_check["changed"] and first_check["reason"] == "missing"
    assert not [c for c in kf.get("/v1/chart/") if c["version"] == "0.0.1-test.1"]

    first = run_module("kubefate_chart", args)
    assert first["changed"] and first["uploaded"] and first["uuid"]
    again = run_module("kubefate_chart", args)
    assert not again["changed"] and again["reason"] == "same content" and again["uuid"] == first["uuid"]
    assert again["digest"] == first["digest"]

    (chart / "templates" / "NOTES.txt").write_text("changed notes\n")
    changed_check = run_module("kubefate_chart", args, check=True)
    assert changed_check["changed"] and changed_check["differences"] == ["templates/NOTES.txt"]
    changed = run_module("kubefate_chart", args)
    assert changed["changed"] and changed["uuid"] != first["uuid"]
    assert not run_module("kubefate_chart", args)["changed"]
    stored = [c for c in kf.get("/v1/chart/") if c["version"] == "0.0.1-test.1"]
    assert len(stored) == 1


# ---------------------------------------------------------------------------------------------
# install, no-op, update, delete, check mode


def test_install_noop_update_delete_with_check_mode(kf, chart_uploaded, envoy):
    name, namespace = envoy()
    args = present(kf, name, namespace)

    check = run_module("kubefate_cluster", args, check=True, diff=True)
    assert check["changed"] and check["action"] == "install" and check["job_uuid"] is None
    assert check["diff"]["before"] == {} and check["diff"]["after"]["name"] == name
    assert kf.clusters(name) == [] and kf.jobs(name) == []

    first = run_module("kubefate_cluster", args)
    assert first["changed"] and first["action"] == "install" and first["job"]["method"] == "ClusterInstall"
    assert "meta_data" not in first["job"] and kf.password not in str(first.data)
    done = wait(kf, first["job_uuid"])
    assert not done.failed, done.data
    assert done["status"] == "Success" and "job run Success" in done["states"]

    again_check = run_module("kubefate_cluster", args, check=True)
    assert not again_check["changed"] and again_check["action"] == "none"
    again = run_module("kubefate_cluster", args)
    assert not again["changed"] and again["action"] == "none" and again["job_uuid"] == first["job_uuid"]
    assert len(kf.clusters(name)) == 1

    new_spec = cluster_spec(name, namespace, envoyConfigs={**cluster_spec(name, namespace)["envoy"]["envoyConfigs"]})
    new_spec["envoy"]["envoyConfigs"] = {**new_spec["envoy"]["envoyConfigs"], "params": {"cuda_devices": [0]}}
    update_args = present(kf, name, namespace, new_spec)
    update_check = run_module("kubefate_cluster", update_args, check=True, diff=True)
    assert update_check["changed"] and update_check["action"] == "update" and update_check["job_uuid"] is None
    assert update_check["diff"]["before"]["envoy"]["envoyConfigs"]["params"] == {"cuda_devices": []}
    assert update_check["diff"]["after"]["envoy"]["envoyConfigs"]["params"] == {"cuda_devices": [0]}
    assert kf.jobs(name, "ClusterUpdate") == []

    update = run_module("kubefate_cluster", {**update_args, "wait": True, "wait_timeout": 60})
    assert not update.failed, update.data
    assert update["changed"] and update["action"] == "update" and update["job"]["status"] == "Success"
    (stored,) = kf.clusters(name)
    assert stored["Spec"]["envoy"]["envoyConfigs"]["params"]["cuda_devices"] == [0]
    assert stored["revision"] == 2
    assert not run_module("kubefate_cluster", update_args)["changed"]

    absent = {**kf.connection, "name": name, "namespace": namespace, "state": "absent"}
    absent_check = run_module("kubefate_cluster", absent, check=True)
    assert absent_check["changed"] and absent_check["action"] == "delete" and len(kf.clusters(name)) == 1
    deleted = run_module("kubefate_cluster", {**absent, "wait": True, "wait_timeout": 60})
    assert not deleted.failed, deleted.data
    assert deleted["changed"] and deleted["job"]["method"] == "ClusterDelete" and deleted["job"]["status"] == "Success"
    assert kf.clusters(name) == []
    gone = run_module("kubefate_cluster", absent)
    assert not gone["changed"] and gone["action"] == "none"


def test_spec_must_agree_with_options(kf, chart_uploaded):
    spec = cluster_spec("envoy-x", "openfl-envoy-x")
    result = run_module("kubefate_cluster", present(kf, "envoy-y", "openfl-envoy-x", spec))
    assert result.failed and "spec.name 'envoy-x' differs from option name 'envoy-y'" in result["msg"]


def test_cluster_under_another_chart_version_is_updated(kf, chart_uploaded, envoy, tmp_path):
    old = chart_variant(tmp_path, "0.0.9")
    assert not run_module("kubefate_chart", {**kf.connection, "chart_path": str(old)}).failed
    name, namespace = envoy()
    installed = run_module("kubefate_cluster", present(kf, name, namespace, cluster_spec(name, namespace, "0.0.9")))
    assert not wait(kf, installed["job_uuid"]).failed

    args = present(kf, name, namespace)
    check = run_module("kubefate_cluster", args, check=True, diff=True)
    assert check["action"] == "update" and check["cluster"]["chart_version"] == "0.0.9"
    assert check["diff"]["after"]["(kubefate chart)"] == f"{CHART_NAME} {CHART_VERSION}"
    result = run_module("kubefate_cluster", {**args, "wait": True, "wait_timeout": 60})
    assert not result.failed, result.data
    assert result["action"] == "update" and result["job"]["method"] == "ClusterUpdate"
    (stored,) = kf.clusters(name)
    assert stored["chart_version"] == CHART_VERSION and stored["Spec"]["chartVersion"] == CHART_VERSION
    assert not run_module("kubefate_cluster", args)["changed"]


# ---------------------------------------------------------------------------------------------
# tokens, faults


def test_expired_token_and_restart_mid_run(kf, chart_uploaded, envoy):
    name, namespace = envoy()
    kf.configure(token_ttl=1, job_latency=4.0)
    result = run_module("kubefate_cluster", present(kf, name, namespace, wait=True, wait_timeout=60, wait_interval=1))
    assert not result.failed, result.data
    assert result["job"]["status"] == "Success"

    # a service restart (every token invalid) while a wait is polling
    kf.configure(token_ttl=1800, job_latency=4.0)
    name2, namespace2 = envoy()
    submitted = run_module("kubefate_cluster", present(kf, name2, namespace2))
    outcome = {}
    waiter = threading.Thread(target=lambda: outcome.update(r=wait(kf, submitted["job_uuid"], wait_interval=1)))
    waiter.start()
    time.sleep(1.5)
    kf.restart()
    waiter.join(120)
    assert not outcome["r"].failed, outcome["r"].data
    assert outcome["r"]["status"] == "Success"


def test_faults_end_in_success_without_duplicates(kf, chart_uploaded, envoy):
    envoys = [envoy() for _ in range(3)]
    kf.configure(fault_rate=0.3)
    for name, namespace in envoys:
        result = run_module(
            "kubefate_cluster", present(kf, name, namespace, wait=True, wait_timeout=60, wait_interval=1)
        )
        assert not result.failed, result.data
        assert result["job"]["status"] == "Success"
        again = run_module("kubefate_cluster", present(kf, name, namespace))
        assert not again.failed and not again["changed"], again.data
    kf.configure(fault_rate=0.0)
    for name, _namespace in envoys:
        assert len(kf.clusters(name)) == 1
        assert len(kf.clusters(name, include_deleted=True)) == 1
        assert len(kf.jobs(name, "ClusterInstall")) == 1


# ---------------------------------------------------------------------------------------------
# failing jobs


def test_chart_without_values_template_fails_with_states(kf, envoy, tmp_path):
    broken = chart_variant(tmp_path, "0.0.2-novt", drop=("values-template.yaml",))
    assert not run_module("kubefate_chart", {**kf.connection, "chart_path": str(broken)}).failed
    name, namespace = envoy()
    result = run_module(
        "kubefate_cluster", present(kf, name, namespace, cluster_spec(name, namespace, "0.0.2-novt"), wait=True)
    )
    assert result.failed
    assert "ended Failed" in result["msg"] and "helm install error" in result["msg"]
    assert "ValuesTemplate not exist" in result["msg"]
    assert result["job"]["status"] == "Failed"


def test_pod_that_never_starts_fails_with_states(kf, chart_uploaded, envoy):
    name, namespace = envoy(ready=False)  # no envoy-cert Secret, no python ConfigMap
    kf.configure(job_time_limit=3.0)
    submitted = run_module("kubefate_cluster", present(kf, name, namespace))
    assert submitted["changed"]
    result = wait(kf, submitted["job_uuid"], wait_interval=1)
    assert result.failed
    assert "ended Failed" in result["msg"] and "timeOut" in result["msg"]
    assert result["status"] == "Failed" and any("timeOut" in s for s in result["states"])


def test_own_deadline_on_a_running_job(kf, chart_uploaded, envoy):
    name, namespace = envoy(ready=False)
    submitted = run_module("kubefate_cluster", present(kf, name, namespace))
    result = wait(kf, submitted["job_uuid"], wait_timeout=2, wait_interval=1)
    assert result.failed and "still Running after 2" in result["msg"]
    assert "helm install Success" in result["msg"]  # the job's states are in the message


def test_cluster_info(kf, chart_uploaded, envoy):
    name, namespace = envoy()
    submitted = run_module("kubefate_cluster", present(kf, name, namespace, wait=True, wait_timeout=60))
    info = run_module("kubefate_cluster_info", {**kf.connection, "name": name, "namespace": namespace})
    assert info["cluster"]["status"] == "Running" and info["cluster"]["namespace"] == namespace
    assert info["job"]["uuid"] == submitted["job_uuid"]
    missing = run_module("kubefate_cluster_info", {**kf.connection, "name": "nope", "namespace": "nope"})
    assert missing["cluster"] is None and missing["job"] is None
