"""Contract tests of the KubeFATE test double: cluster install/update/delete jobs end to end on the
Kubernetes test double (reference §5-§10)."""

from __future__ import annotations

import re
import time

import kubefate_double_support as support
import pytest
from kubefate_double_support import RFC3339, KubeFate, chart_archive, encode, unique
from kubernetes import client

# Fixtures shared by the KubeFATE contract tests.
demo_chart, kf, kubefate_server = support.demo_chart, support.kf, support.kubefate_server
ZERO = "0001-01-01T00:00:00Z"
INSTALL_STATES = [
    "update job status to Running",
    "create Cluster in DB Success",
    "helm install Success",
    "checkout Cluster status [1]",
    "job run Success",
]


def _deployment(apps: client.AppsV1Api, namespace: str, name: str) -> client.V1Deployment | None:
    found = apps.list_namespaced_deployment(namespace, label_selector=f"name={name}").items
    return found[0] if found else None


def _configmap_names(core: client.CoreV1Api, namespace: str) -> set[str]:
    return {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}


def test_install_answers_a_pending_job_and_succeeds(
    kf: KubeFate, demo_chart: str, namespace: str, apps: client.AppsV1Api
) -> None:
    name = unique()
    body = kf.cluster_body(name, namespace, greeting="hey")
    job = kf.ok("POST", "/v1/cluster", "createCluster Success", json=body)
    assert job["status"] == "Pending" and job["method"] == "ClusterInstall" and job["cluster_id"] == ""
    assert job["meta_data"] == body and job["creator"] == "admin" and job["end_time"] == ZERO
    assert job["time_limit"] == 20_000_000_000 and job["sub_jobs"] is None
    assert re.match(RFC3339, job["start_time"]) and re.match(RFC3339, job["CreatedAt"])

    done = kf.wait(job["uuid"])
    assert done["status"] == "Success" and done["states"][:3] == INSTALL_STATES[:3]
    assert (
        re.fullmatch(r"checkout Cluster status \[\d+\]", done["states"][3]) and done["states"][4:] == INSTALL_STATES[4:]
    )
    assert done["end_time"] != ZERO and re.match(RFC3339, done["end_time"])
    assert done["sub_jobs"][name]["ModulesStatus"] == "Available" and done["sub_jobs"][name]["Status"] == "Success"
    assert set(done["sub_jobs"][name]) == {"ModuleName", "Status", "ModulesStatus", "StartTime", "EndTime"}

    (cluster,) = kf.cluster_named(name)
    assert done["cluster_id"] == cluster["uuid"]
    assert cluster["namespaces"] == namespace and "namespace" not in cluster
    assert (cluster["status"], cluster["revision"], cluster["helm_revision"]) == ("Running", 1, 1)
    assert cluster["values"] == support.base64.b64decode(body["data"]).decode()
    assert cluster["Spec"]["greeting"] == "hey" and cluster["chart_values"] is None and "Info" not in cluster
    deployment = _deployment(apps, namespace, name)
    assert deployment is not None and deployment.metadata.annotations["meta.helm.sh/release-name"] == name


def test_rendering_is_kubefate_then_helm(kf: KubeFate, demo_chart: str, namespace: str, core: client.CoreV1Api) -> None:
    """values-template executed with the spec (missing keys empty), then the chart with values.yaml defaults,
    release name = cluster name, namespace = cluster namespace."""
    name = unique()
    kf.wait(kf.install(name, namespace, greeting="bonjour")["uuid"])
    data = core.read_namespaced_config_map(f"{name}-extra", namespace).data
    assert data == {"greeting": "bonjour", "colour": "blue", "absent": "", "release": f"{name}/{namespace}"}


def test_objects_owned_by_someone_else_fail_the_install(
    kf: KubeFate, demo_chart: str, namespace: str, core: client.CoreV1Api
) -> None:
    name = unique()
    core.create_namespaced_config_map(namespace, {"metadata": {"name": f"{name}-extra"}, "data": {"a": "b"}})
    done = kf.wait(kf.install(name, namespace)["uuid"])
    assert done["status"] == "Failed"
    assert done["states"][-1].startswith(
        "helm install error, rendered manifests contain a resource that already exists"
    )
    assert core.read_namespaced_config_map(f"{name}-extra", namespace).data == {"a": "b"}  # not touched


def test_cluster_describe_adds_info(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    (listed,) = kf.cluster_named(name)
    described = kf.ok("GET", f"/v1/cluster/{listed['uuid']}", "getCluster Success")
    assert described["Info"]["status"]["deployments"] == {name: "Available"}
    assert described["Info"]["status"]["containers"] == {"main": "Running"}
    assert set(described["Info"]["status"]) == {"containers", "deployments", "statefulSets"}
    assert "dashboard" in described["Info"] and described["status"] == "Running"
    kf.fails("GET", "/v1/cluster/no-such-cluster", 500, "record not found")


def test_duplicate_name_and_namespace_is_500_even_with_cover(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    text = f"name={name} & namespace={namespace} Cluster already existed"
    kf.fails("POST", "/v1/cluster", 500, text, json=kf.cluster_body(name, namespace))
    kf.fails("POST", "/v1/cluster", 500, text, json=kf.cluster_body(name, namespace) | {"cover": True})


def test_cover_uninstalls_first(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    job = kf.ok(
        "POST", "/v1/cluster", "createCluster Success", json=kf.cluster_body(unique(), namespace) | {"cover": True}
    )
    done = kf.wait(job["uuid"])
    assert done["status"] == "Success" and done["states"][2] == "overwrite current installation"


def test_missing_namespace_fails_the_job_not_the_post(kf: KubeFate, demo_chart: str) -> None:
    name, namespace = unique(), unique("missing")
    done = kf.wait(kf.install(name, namespace)["uuid"])
    assert done["status"] == "Failed" and done["end_time"] == ZERO
    assert done["states"][-1] == f'helm install error, create: failed to create: namespaces "{namespace}" not found'
    assert kf.cluster_named(name) == []
    (deleted,) = kf.cluster_named(name, all_rows=True)
    assert deleted["status"] == "Deleted" and deleted["DeletedAt"] is not None


def test_unknown_chart_fails_with_a_repository_error(kf: KubeFate, namespace: str) -> None:
    done = kf.wait(kf.install(unique(), namespace, chart="no-such-chart")["uuid"])
    assert done["status"] == "Failed" and done["states"][-1].startswith("helm install error, ")
    assert "federatedai.github.io" in done["states"][-1]


def test_chart_without_values_template_fails(kf: KubeFate, namespace: str) -> None:
    kf.upload_ok(chart_archive("novt", "1.0.0", drop=("values-template.yaml",)))
    name = unique()
    done = kf.wait(kf.install(name, namespace, chart="novt", version="1.0.0")["uuid"])
    assert (done["status"], done["states"][-1]) == ("Failed", "helm install error, FateChart ValuesTemplate not exist")
    assert kf.cluster_named(name, all_rows=True)[0]["status"] == "Deleted"


def test_template_error_fails_with_helm_text(kf: KubeFate, namespace: str) -> None:
    kf.upload_ok(chart_archive("broken", "1.0.0", files={"templates/configmap.yaml": '{{ fail "no greeting" }}\n'}))
    done = kf.wait(kf.install(unique(), namespace, chart="broken", version="1.0.0")["uuid"])
    assert done["status"] == "Failed" and "no greeting" in done["states"][-1]


def test_unparsable_data_leaves_the_job_running(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    """The real worker returns after `create Cluster error, ...` and the job stays Running forever."""
    body = kf.cluster_body(unique(), namespace) | {"data": encode("[1, 2]")}
    job = kf.ok("POST", "/v1/cluster", "createCluster Success", json=body)
    time.sleep(0.5)
    stuck = kf.job(job["uuid"])
    assert stuck["status"] == "Running" and stuck["end_time"] == ZERO and stuck["cluster_id"] == ""
    assert stuck["states"][-1].startswith("create Cluster error, ")
    assert "cannot unmarshal array" in stuck["states"][-1]


def test_never_ready_workload_times_out_and_is_uninstalled(
    kf: KubeFate, demo_chart: str, namespace: str, apps: client.AppsV1Api
) -> None:
    kf.configure(job_time_limit=1.5)
    name = unique()
    job = kf.install(name, namespace, secret="missing-secret")  # the pod waits for its Secret
    running = kf.wait(job["uuid"], until=("Running",))
    assert running["status"] == "Running"
    done = kf.wait(job["uuid"])
    assert done["status"] == "Failed" and done["states"][-1] == "checkout Cluster status timeOut!"
    assert done["sub_jobs"][name]["ModulesStatus"] != "Available" and done["sub_jobs"][name]["Status"] == "Running"
    assert kf.cluster_named(name, all_rows=True)[0]["status"] == "Deleted"
    deadline = time.monotonic() + 5
    while _deployment(apps, namespace, name) is not None:
        assert time.monotonic() < deadline, "the failed release was not uninstalled"
        time.sleep(0.1)


def test_stop_a_running_install(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    job = kf.install(name, namespace, secret="missing-secret")
    kf.wait(job["uuid"], until=("Running",))
    kf.fails("PUT", f"/v1/job/{job['uuid']}?jobStatus=start", 400, "jobStatus error")
    data = kf.ok("PUT", f"/v1/job/{job['uuid']}?jobStatus=stop", "stop Job Success")
    assert data == "Stop Job Success"
    done = kf.wait(job["uuid"])
    assert (done["status"], done["states"][-1]) == ("Canceled", "job stopped")
    assert kf.cluster_named(name) == []
    kf.fails("PUT", f"/v1/job/{job['uuid']}?jobStatus=stop", 500, "job status is Canceled, not support stop")
    kf.fails(
        "PUT",
        "/v1/job/no-such-job?jobStatus=stop",
        500,
        "get job by jobID error, please check job ID, record not found",
    )


def test_update(kf: KubeFate, demo_chart: str, namespace: str, core: client.CoreV1Api) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    assert f"{name}-extra" in _configmap_names(core, namespace)
    kf.upload_ok(chart_archive(version="0.2.0", drop=("templates/configmap.yaml",)))
    body = kf.cluster_body(name, namespace, version="0.2.0", greeting="updated")
    job = kf.ok("PUT", "/v1/cluster", "setCluster Success", json=body)
    (cluster,) = kf.cluster_named(name)
    assert job["method"] == "ClusterUpdate" and job["cluster_id"] == cluster["uuid"] and job["status"] == "Pending"
    done = kf.wait(job["uuid"])
    assert done["status"] == "Success" and "Cluster update Success" in done["states"] and done["end_time"] != ZERO
    (cluster,) = kf.cluster_named(name)
    assert (cluster["revision"], cluster["helm_revision"], cluster["status"]) == (2, 2, "Running")
    assert cluster["chart_version"] == "0.2.0" and cluster["Spec"]["greeting"] == "updated"
    assert f"{name}-extra" not in _configmap_names(core, namespace)  # no longer rendered: removed
    # Non-fate charts: an unchanged update is accepted and runs again (>= v1.10).
    again = kf.wait(kf.ok("PUT", "/v1/cluster", "setCluster Success", json=body)["uuid"])
    assert again["status"] == "Success" and kf.cluster_named(name)[0]["revision"] == 3


def test_update_of_unknown_cluster_and_bad_data(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    kf.fails("PUT", "/v1/cluster", 500, f"name={name} Cluster is not existed", json=kf.cluster_body(name, namespace))
    kf.wait(kf.install(name, namespace)["uuid"])
    answer = kf.call("PUT", "/v1/cluster", json=kf.cluster_body(name, namespace) | {"data": encode("- a\n- b\n")})
    assert answer.status_code == 500 and "cannot unmarshal array" in answer.json()["error"]


def test_failed_update_rolls_back(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    kf.configure(job_time_limit=1.5)
    job = kf.ok("PUT", "/v1/cluster", "setCluster Success", json=kf.cluster_body(name, namespace, secret="missing"))
    done = kf.wait(job["uuid"])
    assert done["status"] == "Rollback" and done["end_time"] != ZERO
    assert done["states"][-2:] == ["Checkout Cluster status timeOut!", "Cluster run rollback Success"]
    (cluster,) = kf.cluster_named(name)
    assert cluster["status"] == "Rollback" and cluster["revision"] == 1 and "secret" not in cluster["Spec"]


def test_fate_chart_update_rules(kf: KubeFate, namespace: str) -> None:
    for version in ("v1.9.0", "v1.10.0"):
        kf.upload_ok(chart_archive("fate", version))
    name = unique()
    kf.wait(kf.install(name, namespace, chart="fate", version="v1.10.0")["uuid"])
    same = kf.cluster_body(name, namespace, chart="fate", version="v1.10.0")
    kf.fails("PUT", "/v1/cluster", 500, "the configuration file did not change", json=same)
    older = kf.cluster_body(name, namespace, chart="fate", version="v1.9.0")
    kf.fails("PUT", "/v1/cluster", 500, "using kubefate to downgrade a cluster is not supported yet", json=older)
    other = same | {"data": encode({"name": name, "chartName": "fate-other", "chartVersion": "v1.10.0"})}
    kf.fails("PUT", "/v1/cluster", 500, "doesn't support upgrade between different charts", json=other)
    panic = kf.call("PUT", "/v1/cluster", json=same | {"data": encode({"name": name})})
    assert (panic.status_code, panic.content) == (500, b"")


def test_delete_cluster(kf: KubeFate, demo_chart: str, namespace: str, apps: client.AppsV1Api) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    (cluster,) = kf.cluster_named(name)
    job = kf.ok("DELETE", f"/v1/cluster/{cluster['uuid']}", "deleteCluster Success")
    assert job["method"] == "ClusterDelete" and job["meta_data"] is None and job["cluster_id"] == cluster["uuid"]
    done = kf.wait(job["uuid"])
    assert (done["status"], done["states"]) == ("Success", ["uninstall Success"])
    assert kf.cluster_named(name) == []
    (deleted,) = kf.cluster_named(name, all_rows=True)
    assert deleted["status"] == "Deleted" and re.match(RFC3339, deleted["DeletedAt"])
    assert _deployment(apps, namespace, name) is None
    kf.fails("DELETE", f"/v1/cluster/{cluster['uuid']}", 500, "record not found")
    kf.fails("DELETE", "/v1/cluster/no-such-cluster", 500, "record not found")
    kf.fails("PUT", f"/v1/job/{job['uuid']}?jobStatus=stop", 500, "ClusterDelete type jobs do not support stop")


def test_jobs_list_get_delete(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    job = kf.install(unique(), namespace)
    kf.wait(job["uuid"])
    assert job["uuid"] in {j["uuid"] for j in kf.ok("GET", "/v1/job/", "getJobList Success")}
    answer = kf.call("DELETE", f"/v1/job/{job['uuid']}")
    assert (answer.status_code, answer.json()) == (200, {"msg": "delete Job Success"})
    kf.fails("GET", f"/v1/job/{job['uuid']}", 500, "record not found")
    kf.fails("DELETE", f"/v1/job/{job['uuid']}", 500, "record not found")
    assert job["uuid"] not in {j["uuid"] for j in kf.ok("GET", "/v1/job/", "getJobList Success")}


def test_job_latency_keeps_the_job_pending(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    kf.configure(job_latency=0.6)
    started = time.monotonic()
    job = kf.install(unique(), namespace)
    time.sleep(0.3)
    assert kf.job(job["uuid"])["status"] == "Pending"
    assert kf.wait(job["uuid"])["status"] == "Success"
    assert time.monotonic() - started >= 0.6


@pytest.mark.parametrize("all_value", ["1", "TRUE", "yes"])
def test_only_all_true_lists_deleted_clusters(kf: KubeFate, demo_chart: str, all_value: str) -> None:
    name = unique()
    kf.wait(kf.install(name, unique("missing"))["uuid"])  # fails: cluster soft-deleted
    listed = kf.ok("GET", f"/v1/cluster/?all={all_value}", "getClusterList Success")
    assert name not in {c["name"] for c in listed}
    assert kf.cluster_named(name, all_rows=True)


def test_two_quick_posts_are_both_accepted(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    """The cluster row is created by the worker, so a second POST before it runs is accepted; its
    worker then fails to create the row and the job stays Running forever (real-server behaviour)."""
    kf.configure(job_latency=0.3)
    name = unique()
    first, second = kf.install(name, namespace), kf.install(name, namespace)
    assert kf.wait(first["uuid"])["status"] == "Success"
    time.sleep(0.2)
    stuck = kf.job(second["uuid"])
    assert stuck["status"] == "Running" and stuck["end_time"] == ZERO
    assert stuck["states"][-1] == f"create Cluster error, name={name} & namespace={namespace} Cluster already existed"
    assert len(kf.cluster_named(name, all_rows=True)) == 1


def test_describe_refreshes_running_and_unavailable(
    kf: KubeFate, demo_chart: str, namespace: str, apps: client.AppsV1Api
) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    (cluster,) = kf.cluster_named(name)
    apps.delete_namespaced_deployment(name, namespace)
    described = kf.ok("GET", f"/v1/cluster/{cluster['uuid']}", "getCluster Success")
    assert described["status"] == "Unavailable" and described["Info"]["status"]["deployments"] == {}
    assert kf.cluster_named(name)[0]["status"] == "Unavailable"  # saved, as the real service does


def test_cluster_log(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    name = unique()
    kf.wait(kf.install(name, namespace)["uuid"])
    (cluster,) = kf.cluster_named(name)
    assert isinstance(kf.ok("GET", f"/v1/log/{cluster['uuid']}", "getClusterLog Success"), str)
