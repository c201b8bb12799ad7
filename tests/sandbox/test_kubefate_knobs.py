"""Contract tests of the KubeFATE test double's test knobs: /_sandbox/config, faults, reset, start/stop.

Faults are deterministic: with rate r every round(1/r)-th authenticated request fails, alternately
as an empty HTTP 500 and as a dropped connection; dropped requests alternate between "handled,
then dropped" and "dropped unhandled", so clients must cope with unknown outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator

import kubefate_double_support as support
import pytest
import requests
from kubefate_double_support import PASSWORD, USERNAME, KubeFate, chart_archive, unique

from sandbox.kubefate import KubeFateServer

# Fixtures shared by the KubeFATE contract tests.
demo_chart, kf, kubefate_server = support.demo_chart, support.kf, support.kubefate_server


@pytest.fixture
def own(sandbox) -> Iterator[KubeFate]:
    """A KubeFATE of the test's own, for knobs that must not touch other tests."""
    site = sandbox.sites["sandbox"]
    server = KubeFateServer(site.kube_url, site.kube_token, USERNAME, PASSWORD)
    server.start()
    yield KubeFate(server)
    server.stop()


def _outcome(kf: KubeFate, token: str) -> str:
    try:
        answer = kf.call("GET", "/v1/version/", token=token)
    except requests.ConnectionError:
        return "dropped"
    return "ok" if answer.status_code == 200 else f"{answer.status_code}:{answer.text!r}"


def test_config_endpoint(kf: KubeFate) -> None:
    kf.configure(job_latency=0.5, token_ttl=60, fault_rate=0, job_time_limit=5)
    knobs = kf.server.state.knobs
    assert (knobs.job_latency, knobs.token_ttl, knobs.job_time_limit) == (0.5, 60.0, 5.0)
    for bad in ({"nope": 1}, {"token_ttl": "long"}, {"job_latency": -1}, [1]):
        answer = requests.post(f"{kf.url}/_sandbox/config", json=bad, timeout=5)
        assert answer.status_code == 400 and "error" in answer.json()


def test_python_configure(kf: KubeFate) -> None:
    kf.server.configure(job_time_limit=7)
    assert kf.server.state.knobs.job_time_limit == 7.0
    with pytest.raises(ValueError, match="unknown knobs"):
        kf.server.configure(colour=1)


def test_faults_alternate_empty_500_and_dropped_connections(own: KubeFate) -> None:
    token = own.login()
    own.configure(fault_rate=0.5)
    outcomes = [_outcome(own, token) for _ in range(8)]
    assert outcomes == ["ok", "500:''", "ok", "dropped", "ok", "500:''", "ok", "dropped"]
    own.configure(fault_rate=0)
    assert {_outcome(own, token) for _ in range(5)} == {"ok"}


def test_login_and_unauthenticated_requests_never_fault(own: KubeFate) -> None:
    own.configure(fault_rate=1)
    for _ in range(4):
        assert own.login()
        assert requests.get(f"{own.url}/", timeout=5).status_code == 200
        assert own.call("GET", "/v1/version/", token="").status_code == 401


def test_a_dropped_install_may_or_may_not_have_created_its_job(own: KubeFate, namespace: str) -> None:
    own.upload_ok(chart_archive())
    token = own.login()
    names = [unique() for _ in range(4)]
    own.configure(fault_rate=1)  # every request faults: empty500, drop-after, empty500, drop-before
    seen = []
    for name in names:
        try:
            answer = own.call("POST", "/v1/cluster", token=token, json=own.cluster_body(name, namespace))
            seen.append(f"{answer.status_code}:{answer.text!r}")
        except requests.ConnectionError:
            seen.append("dropped")
    own.configure(fault_rate=0)
    assert seen == ["500:''", "dropped", "500:''", "dropped"]
    created = {j["meta_data"]["name"] for j in own.ok("GET", "/v1/job/", "getJobList Success", token=token)}
    assert created == {names[1]}  # only the first drop was handled before the connection went


def test_reset_forgets_charts_clusters_and_jobs(own: KubeFate, namespace: str) -> None:
    own.upload_ok(chart_archive())
    own.wait(own.install(unique(), namespace)["uuid"])
    token = own.token
    assert requests.post(f"{own.url}/_sandbox/reset", timeout=5).json() == {"ok": True}
    assert own.ok("GET", "/v1/chart/", "getChartList Success") == []
    assert own.ok("GET", "/v1/cluster/?all=true", "getClusterList Success") == []
    assert own.ok("GET", "/v1/job/", "getJobList Success") == []
    assert own.token == token  # a reset is not a restart: tokens stay valid


def test_stop_closes_the_port_and_joins_workers(sandbox, namespace: str) -> None:
    site = sandbox.sites["sandbox"]
    server = KubeFateServer(site.kube_url, site.kube_token, USERNAME, PASSWORD, job_latency=0.3)
    server.start()
    kf = KubeFate(server)
    kf.upload_ok(chart_archive())
    kf.install(unique(), namespace)  # a worker still sleeping in its latency
    server.stop()
    assert all(not t.is_alive() for t in server.workers._threads)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/", timeout=2)


def test_url_is_loopback_with_a_port(kf: KubeFate) -> None:
    assert kf.url.startswith("http://127.0.0.1:") and int(kf.url.rsplit(":", 1)[1]) > 0


def test_older_service_version(own: KubeFate, namespace: str) -> None:
    """service_version below v1.4.5 (KubeFATE < v1.9.0): no valueTemplateExample route, unchanged updates refused."""
    own.upload_ok(chart_archive())
    name = unique()
    own.wait(own.install(name, namespace)["uuid"])
    own.configure(service_version="v1.4.4")
    assert own.call("GET", "/v1/version/").json() == {"msg": "getVersion Success", "version": "v1.4.4"}
    answer = own.call("GET", "/v1/chart/valueTemplateExample/demo/0.1.0")
    assert (answer.status_code, answer.text) == (404, "404 page not found")
    own.fails(
        "PUT", "/v1/cluster", 500, "the configuration file did not change", json=own.cluster_body(name, namespace)
    )
    answer = requests.post(f"{own.url}/_sandbox/config", json={"service_version": "1.4"}, timeout=5)
    assert answer.status_code == 400


def test_mysql_column_limits(own: KubeFate, namespace: str) -> None:
    answer = own.upload(chart_archive("c" * 37))
    assert answer.json() == {"error": "Error 1406: Data too long for column 'name' at row 1"}
    long_user = "operator-with-long-name"
    own.ok("POST", "/v1/user", "createCluster Success", json={"username": long_user, "password": "pw"})
    own.upload_ok(chart_archive())
    body = own.cluster_body(unique(), namespace)
    own.fails(
        "POST",
        "/v1/cluster",
        500,
        "Error 1406: Data too long for column 'creator' at row 1",
        json=body,
        token=own.login(long_user, "pw"),
    )
