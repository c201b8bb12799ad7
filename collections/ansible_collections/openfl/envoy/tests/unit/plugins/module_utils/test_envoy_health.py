# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/envoy_health.py with a fake clock, KubeFATE faked behind the real client (its
``_open``) and the Kubernetes API faked behind the real reader (CoreV1Api/AppsV1Api calls): every
case of the wait, the failure texts the role produced, endpoint failures, the cost per endpoint."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils import envoy_health as eh
from ansible_collections.openfl.envoy.plugins.module_utils import kubefate as kf
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_readers import KubeReader
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

PASSWORD = "s3cret-pw"
URL_A, URL_B = "http://kf-a.example:8080", "http://kf-b.example:8080"
HOST_A = "https://kube-a.example:6443"
ZERO = "0001-01-01T00:00:00Z"
UPDATE = "ClusterUpdate"
START = ["update job status to Running", "create Cluster in DB Success", "helm install Success"]
ACCEPTED = "[12/01/26 10:00:05] INFO     Shard accepted    envoy.py:63"
ACCEPTED_16 = "[12/01/26 10:00:05] INFO     Shard was accepted by director    envoy.py:70"
STARTING = "[12/01/26 10:00:00] INFO     Starting the Envoy.    envoy.py:50"
CN_ERROR = "[12/01/26 10:00:01] ERROR    certificate CN 'someone-else' does not match shard name    envoy.py:99"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def timeline(*steps: tuple[float, Any]) -> Callable[[float], Any]:
    """A value that changes over (fake) time: the last step that has started."""
    return lambda now: [value for start, value in steps if start <= now][-1]


def job(uuid: str, status: str, states: list[str] | None = None, end: str = ZERO, **extra: Any) -> dict:
    return {
        "uuid": uuid,
        "method": "ClusterInstall",
        "status": status,
        "states": START if states is None else states,
        "start_time": "2026-12-01T10:00:00Z",
        "end_time": end,
        "meta_data": {"data": "c2VjcmV0"},
        **extra,
    }


def pod(name: str = "envoy-7d9-x1", ready: bool = True, waiting: str = "", restarts: int = 0) -> dict:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "2026-12-01T10:00:00Z"}}
    status = {"name": "envoy", "ready": ready and not waiting, "restartCount": restarts, "state": state}
    return {
        "metadata": {"name": name, "creationTimestamp": "2026-12-01T10:00:00Z"},
        "status": {"containerStatuses": [status]},
    }


def deployment(available: bool = True) -> dict:
    return {"status": {"conditions": [{"type": "Available", "status": "True" if available else "False"}]}}


class FakeKubefate:
    """One KubeFATE service at the HTTP level (what KubefateClient._open returns)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.jobs: dict[str, Callable[[float], dict]] = {}
        self.clusters: list[dict] = []
        self.job_list: list[dict] = []
        self.calls: Counter[tuple[str, str]] = Counter()
        self.clients: set[int] = set()
        self.down_from: float | None = None
        self.password = PASSWORD

    def answer(self, client: kf.KubefateClient, method: str, path: str, data: bytes | None) -> tuple[int, str]:
        self.clients.add(id(client))
        self.calls[(method, path)] += 1
        if self.down_from is not None and self.clock.now >= self.down_from:
            raise kf.KubefateTransportError(f"{method} {path}: connection error: [Errno 111] Connection refused")
        if path == "/v1/user/login":
            if json.loads(data or b"{}").get("password") != self.password:
                return 401, json.dumps({"message": "incorrect Username or Password"})
            return 200, json.dumps({"token": "t0ken"})
        if path == "/v1/cluster/":
            return 200, json.dumps({"data": self.clusters})
        if path == "/v1/job/":
            return 200, json.dumps({"data": self.job_list})
        uuid = path.rsplit("/", 1)[1]
        if uuid in self.jobs:
            return 200, json.dumps({"data": self.jobs[uuid](self.clock.now)})
        return 500, json.dumps({"error": "record not found"})

    @property
    def logins(self) -> int:
        return self.calls[("POST", "/v1/user/login")]


class Answer:
    def __init__(self, value: Any) -> None:
        self.data = (value if isinstance(value, str) else json.dumps(value)).encode()


class FakeKube:
    """CoreV1Api + AppsV1Api of one API server: pods, logs and the Deployment per namespace over time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pods: dict[str, Callable[[float], list[dict]]] = {}
        self.logs: dict[str, Callable[[float], str | None]] = {}
        self.previous_logs: dict[str, str] = {}
        self.deployments: dict[str, Callable[[float], dict | None]] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.down_from: float | None = None

    def _call(self, what: str, namespace: str, kwargs: dict) -> None:
        assert kwargs.pop("_preload_content") is False and kwargs.pop("_request_timeout")
        self.calls.append((what, namespace, kwargs))
        if self.down_from is not None and self.clock.now >= self.down_from:
            raise MaxRetryError(
                None, f"/api/v1/namespaces/{namespace}", ConnectionRefusedError(111, "Connection refused")
            )

    def list_namespaced_pod(self, namespace: str, **kwargs: Any) -> Answer:
        self._call("pods", namespace, kwargs)
        assert kwargs["label_selector"] == "openfl=envoy"
        return Answer({"items": self.pods.get(namespace, lambda now: [])(self.clock.now)})

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Answer:
        self._call("log", namespace, kwargs)
        assert kwargs["container"] == "envoy"
        if kwargs.get("previous"):
            text = self.previous_logs.get(namespace)
        else:
            text = self.logs.get(namespace, lambda now: None)(self.clock.now)
        if text is None:
            raise ApiException(status=400, reason="Bad Request")
        lines = text.splitlines()
        if kwargs.get("tail_lines") is not None:
            lines = lines[len(lines) - kwargs["tail_lines"] :]
        return Answer("".join(line + "\n" for line in lines))

    def read_namespaced_deployment(self, name: str, namespace: str, **kwargs: Any) -> Answer:
        self._call("deployment", namespace, kwargs)
        assert name == "envoy"
        found = self.deployments.get(namespace, lambda now: None)(self.clock.now)
        if found is None:
            raise ApiException(status=404, reason="Not Found")
        return Answer(found)


class World:
    """Fake clock, KubeFATE services by URL, Kubernetes API servers by (kubeconfig, context)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = Clock()
        self.kubefate = {URL_A: FakeKubefate(self.clock), URL_B: FakeKubefate(self.clock)}
        self.kube = {("/kc", "a"): FakeKube(self.clock), ("/kc", "b"): FakeKube(self.clock)}
        self.kube_made: Counter[tuple[str | None, str | None]] = Counter()
        world = self

        def fake_open(client, method, path, data, headers):
            return world.kubefate[client.base_url].answer(client, method, path, data)

        monkeypatch.setattr(kf.KubefateClient, "_open", fake_open)

    def kube_factory(self, kubeconfig: str | None, context: str | None) -> KubeReader:
        self.kube_made[(kubeconfig, context)] += 1
        api = self.kube[(kubeconfig, context)]
        return KubeReader(api, api, HOST_A if context == "a" else "https://kube-b.example:6443", context)

    def healthy(self, namespace: str, context: str = "a", log: str = f"{STARTING}\n{ACCEPTED}\n") -> None:
        kube = self.kube[("/kc", context)]
        kube.pods[namespace] = lambda now: [pod()]
        kube.logs[namespace] = lambda now: log
        kube.deployments[namespace] = lambda now: deployment()

    def run(self, targets: list[eh.EnvoyTarget], wait: bool = True, **options: Any) -> dict[str, dict]:
        health = eh.EnvoyHealth(
            targets,
            eh.HealthOptions(**options),
            kube_factory=self.kube_factory,
            clock=self.clock,
            sleep=self.clock.sleep,
        )
        verdicts = health.wait() if wait else health.snapshot()
        return {name: verdict.as_dict() for name, verdict in verdicts.items()}


@pytest.fixture
def world(monkeypatch) -> World:
    return World(monkeypatch)


def target(name: str, uuid: str | None = None, url: str = URL_A, context: str = "a", **extra: Any) -> eh.EnvoyTarget:
    return eh.EnvoyTarget(
        name=name,
        namespace=f"openfl-{name}",
        job_uuid=uuid,
        kubefate={"url": url, "username": "admin", "password": PASSWORD, "timeout": 30},
        kubernetes={"kubeconfig": "/kc", "context": context},
        **extra,
    )


# -- the wait ----------------------------------------------------------------------------------------


def test_job_success_then_healthy(world):
    world.kubefate[URL_A].jobs["u1"] = timeline(
        (0, job("u1", "Running")), (2, job("u1", "Success", [*START, "job run Success"], end="2026-12-01T10:00:09Z"))
    )
    world.healthy("openfl-e1")
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] is False and verdict["registered"] is True
    assert verdict["msg"].startswith("e1 (namespace openfl-e1): healthy: KubeFATE job u1 Success;")
    assert '"Shard accepted" in the envoy log' in verdict["reasons"]
    assert verdict["job"]["status"] == "Success" and "meta_data" not in verdict["job"]
    assert verdict["containers"] == [
        {"pod": "envoy-7d9-x1", "ready": True, "state": pod()["status"]["containerStatuses"][0]["state"]}
    ]
    assert verdict["restarts"] == [0] and verdict["log_excerpt"] == [STARTING, ACCEPTED]
    assert verdict["cluster_status"] is None and verdict["skipped"] is False
    assert 2 <= world.clock.now < 4


def test_result_shape_has_no_secret(world):
    world.healthy("openfl-e1")
    result = world.run([target("e1")])["e1"]
    assert set(result) == {
        "failed", "skipped", "msg", "reasons", "registered", "job", "cluster_status", "containers", "restarts",
        "log_excerpt", "certificate_expires",
    }  # fmt: skip
    assert PASSWORD not in json.dumps(result) and "t0ken" not in json.dumps(result)


@pytest.mark.parametrize("line", [ACCEPTED, ACCEPTED_16], ids=["openfl-1.5", "openfl-1.6"])
def test_registration_marker_of_either_openfl_version(world, line):
    world.healthy("openfl-e1", log=f"{STARTING}\n{line}\n")
    verdict = world.run([target("e1")])["e1"]
    assert not verdict["failed"] and verdict["registered"], verdict["msg"]


def test_markers_are_an_option(world):
    world.healthy("openfl-e1", log="ready and registered\n")
    assert world.run([target("e1")], markers=("and registered",))["e1"]["registered"]


def test_failed_then_rollback_waits_for_the_end(world):
    """A failed update shows Failed (no end_time yet) before Rollback: the wait goes on to the end."""
    update = [*START[:1], "UPGRADE FAILED: timed out waiting for the condition"]
    world.kubefate[URL_A].jobs["u1"] = timeline(
        (0, job("u1", "Running", START[:1], method=UPDATE)),
        (3, job("u1", "Failed", update, method=UPDATE)),
        (6, job("u1", "Rollback", [*update, "Cluster run rollback Success"], "2026-12-01T10:00:06Z", method=UPDATE)),
    )
    world.healthy("openfl-e1")
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] and world.clock.now >= 6
    assert verdict["msg"].startswith("e1: KubeFATE job u1 (ClusterUpdate) ended Rollback; states: update job status")
    assert "UPGRADE FAILED" in verdict["msg"] and "Cluster run rollback Success" in verdict["msg"]
    assert "Envoy pod: container states [{" in verdict["msg"] and ", restarts [0]. Last log lines: " in verdict["msg"]
    assert verdict["job"]["status"] == "Rollback"


def test_failed_without_end_time_is_final_after_the_settle_period(world):
    world.kubefate[URL_A].jobs["u1"] = timeline(
        (0, job("u1", "Failed", [*START[:2], "helm install error, chart not found"]))
    )
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] and eh.FAILED_SETTLE <= world.clock.now < eh.FAILED_SETTLE + 4
    assert "ended Failed; states: " in verdict["msg"] and "helm install error, chart not found" in verdict["msg"]
    assert verdict["msg"].endswith(f"Envoy pod: {eh.NO_POD}. Last log lines: (none)")


def test_failed_with_end_time_is_final_at_once(world):
    world.kubefate[URL_A].jobs["u1"] = timeline((0, job("u1", "Failed", end="2026-12-01T10:00:01Z")))
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] and "ended Failed" in verdict["msg"] and world.clock.now < 1


def test_crash_loop_during_the_job_fails_fast_with_the_crashed_log(world):
    world.kubefate[URL_A].jobs["u1"] = timeline((0, job("u1", "Running")))
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = lambda now: [pod(waiting="CrashLoopBackOff", restarts=3)]
    kube.previous_logs["openfl-e1"] = f"{STARTING}\n{CN_ERROR}\n"
    verdict = world.run([target("e1", "u1")], job_grace=10)["e1"]
    assert verdict["failed"] and 10 <= world.clock.now < 14
    assert verdict["msg"].startswith(
        "e1: the envoy container cannot run (CrashLoopBackOff) while KubeFATE job u1 is Running;"
        " states: update job status to Running; create Cluster in DB Success; helm install Success."
        ' Envoy pod: container states [{"waiting": {"reason": "CrashLoopBackOff"}}], restarts [3].'
    )
    assert verdict["msg"].endswith(f"Last log lines: {STARTING} | {CN_ERROR}")
    assert verdict["log_excerpt"] == [STARTING, CN_ERROR] and verdict["restarts"] == [3]
    (log_call,) = [c for c in kube.calls if c[0] == "log"]
    assert log_call[2]["previous"] is True and log_call[2]["tail_lines"] == eh.FAILURE_LOG_LINES


def test_pods_are_not_watched_before_the_grace(world):
    world.kubefate[URL_A].jobs["u1"] = timeline((0, job("u1", "Running")), (5, job("u1", "Success")))
    world.healthy("openfl-e1")
    kube = world.kube[("/kc", "a")]
    original = kube.list_namespaced_pod
    seen: list[float] = []

    def spy(namespace, **kwargs):
        seen.append(world.clock.now)
        return original(namespace, **kwargs)

    kube.list_namespaced_pod = spy
    assert not world.run([target("e1", "u1")], job_grace=10)["e1"]["failed"]
    assert seen and min(seen) >= 5  # first read after the job's success, none during the grace


def test_crash_loop_after_the_job_fails_fast(world):
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = timeline(
        (0, [pod(ready=False, waiting="ContainerCreating")]), (4, [pod(waiting="ImagePullBackOff")])
    )
    verdict = world.run([target("e1")])["e1"]
    assert verdict["failed"] and 4 <= world.clock.now < 8
    assert verdict["msg"].startswith("e1 (namespace openfl-e1): the envoy container cannot run (ImagePullBackOff). ")
    assert 'Container states: [{"waiting": {"reason": "ImagePullBackOff"}}], restarts: [0]' in verdict["msg"]
    assert verdict["msg"].endswith("Last log lines: (none)")


def test_error_line_fails_fast(world):
    failure = "[12/01/26 10:00:02] ERROR    Shard descriptor could not be loaded    envoy.py:80"
    world.healthy("openfl-e1", log=f"{STARTING}\n{failure}\n")
    verdict = world.run([target("e1")])["e1"]
    assert verdict["failed"] and world.clock.now < 1
    assert verdict["msg"].startswith(f"e1 (namespace openfl-e1): error in the envoy log: {failure}. Container states: ")
    assert verdict["msg"].endswith(f"restarts: [0]. Last log lines: {STARTING} | {failure}")
    assert verdict["reasons"][0] == f"error in the envoy log: {failure}"


def test_ignored_lines_are_no_errors(world):
    pip = "ERROR: Could not open requirements file: [Errno 2] No such file or directory: 'python/requirements.txt'"
    world.healthy("openfl-e1", log=f"{pip}\nWARNING: ERROR-looking\n{ACCEPTED}\n")
    assert not world.run([target("e1")])["e1"]["failed"]


@pytest.mark.parametrize(
    ("pods", "log", "available", "missing"),
    [
        ([], None, False, "no envoy pod (label openfl=envoy) within 300s"),
        ([pod(ready=False)], None, False, "the envoy container was not ready within 300s"),
        (
            [pod()],
            STARTING,
            True,
            'no "Shard accepted" in the envoy log within 300s (nor "Shard was accepted by director")',
        ),
        ([pod()], ACCEPTED, False, "Deployment envoy was not Available within 300s"),
    ],
    ids=["no-pod", "not-ready", "no-marker", "not-available"],
)
def test_deadline_names_what_was_missing(world, pods, log, available, missing):
    kube = world.kube[("/kc", "a")]
    kube.pods["openfl-e1"] = lambda now: pods
    kube.logs["openfl-e1"] = lambda now: log
    kube.deployments["openfl-e1"] = lambda now: deployment(available)
    verdict = world.run([target("e1")])["e1"]
    assert verdict["failed"] and 300 <= world.clock.now < 301
    assert verdict["msg"].startswith(f"e1 (namespace openfl-e1): {missing}. Container states: ")
    assert verdict["reasons"] == [missing]


def test_job_deadline(world):
    world.kubefate[URL_A].jobs["u1"] = timeline((0, job("u1", "Running")))
    world.kube[("/kc", "a")].pods["openfl-e1"] = lambda now: [pod(ready=False)]
    verdict = world.run([target("e1", "u1")], job_timeout=60)["e1"]
    assert verdict["failed"] and 60 <= world.clock.now < 61
    assert verdict["msg"].startswith("e1: KubeFATE job u1 (ClusterInstall) still Running after 60s; states: ")


# -- endpoints ---------------------------------------------------------------------------------------


def test_kubefate_down_ends_the_wait_at_once_naming_it(world):
    server = world.kubefate[URL_A]
    server.jobs["u1"] = timeline((0, job("u1", "Running")))
    server.down_from = 2.0
    world.healthy("openfl-e1")
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] and 2 <= world.clock.now < 4
    assert verdict["msg"].startswith(f"e1 (namespace openfl-e1): cannot reach KubeFATE at {URL_A}: GET /v1/job/u1")
    assert "Connection refused" in verdict["msg"] and "container" not in verdict["msg"]
    assert verdict["job"]["status"] == "Running"  # the last state read
    assert server.calls[("POST", "/v1/user/login")] == 1


def test_kubefate_down_from_the_start(world):
    world.kubefate[URL_A].down_from = 0.0
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["msg"].startswith(f"e1 (namespace openfl-e1): cannot reach KubeFATE at {URL_A}: login to {URL_A}")
    assert world.kubefate[URL_A].logins == 1 + eh.KUBEFATE_RETRIES and world.clock.now < 10


def test_kubernetes_down_during_health_ends_the_wait_at_once_naming_it(world):
    world.healthy("openfl-e1")
    world.kube[("/kc", "a")].pods["openfl-e1"] = lambda now: [pod(ready=False)]
    world.kube[("/kc", "a")].down_from = 3.0
    verdict = world.run([target("e1")])["e1"]
    assert verdict["failed"] and 3 <= world.clock.now < 5
    endpoint = f"the Kubernetes API at {HOST_A} (context a)"
    assert verdict["msg"] == f"e1 (namespace openfl-e1): cannot reach {endpoint}: [Errno 111] Connection refused"


def test_a_down_endpoint_is_tried_once_for_all_its_envoys(world):
    server = world.kubefate[URL_A]
    server.down_from = 0.0
    verdicts = world.run([target("e1", "u1"), target("e2", "u2"), target("e3", "u3")])
    assert all(v["failed"] and f"cannot reach KubeFATE at {URL_A}" in v["msg"] for v in verdicts.values())
    assert sum(server.calls.values()) == 1 + eh.KUBEFATE_RETRIES


def test_refused_credentials_name_the_endpoint_not_the_password(world):
    world.kubefate[URL_A].password = "another"
    verdict = world.run([target("e1", "u1")])["e1"]
    assert verdict["failed"] and f"KubeFATE at {URL_A}: login to {URL_A} as 'admin' failed: HTTP 401" in verdict["msg"]
    assert PASSWORD not in json.dumps(verdict)


def test_unknown_job_fails_that_envoy_only(world):
    world.healthy("openfl-e2")
    verdicts = world.run([target("e1", "nope"), target("e2")])
    assert (
        verdicts["e1"]["msg"]
        == f"e1 (namespace openfl-e1): KubeFATE at {URL_A}: job nope: GET /v1/job/nope: HTTP 500: record not found"
    )
    assert not verdicts["e2"]["failed"]


def test_refused_kubernetes_read_names_the_endpoint_and_the_server_message(world):
    def forbidden(namespace, **kwargs):
        body = json.dumps({"kind": "Status", "message": 'pods is forbidden: User "ci" cannot list resource "pods"'})
        raise ApiException(status=403, reason="Forbidden", body=body)

    world.kube[("/kc", "a")].list_namespaced_pod = forbidden
    verdict = world.run([target("e1")])["e1"]
    assert verdict["msg"] == (
        f"e1 (namespace openfl-e1): the Kubernetes API at {HOST_A} (context a) answered HTTP 403 to list pods in"
        ' openfl-e1: pods is forbidden: User "ci" cannot list resource "pods"'
    )
    assert world.clock.now < 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_real_clients_to_closed_ports_fail_within_seconds(tmp_path, monkeypatch):
    """The default factories (real KubefateClient, real kubernetes ApiClient from a kubeconfig)."""
    kube_port, kf_port = _closed_port(), _closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{kube_port}"}}],
                "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "t",
            }
        )
    )
    kube = {"kubeconfig": str(kubeconfig), "context": "t"}
    kubefate = {"url": f"http://127.0.0.1:{kf_port}", "username": "admin", "password": PASSWORD, "timeout": 5}
    targets = [
        eh.EnvoyTarget("with-job", "openfl-with-job", "u1", kubefate=kubefate, kubernetes=kube),
        eh.EnvoyTarget("health-only", "openfl-health-only", None, kubefate=kubefate, kubernetes=kube),
    ]
    started = time.monotonic()
    verdicts = eh.EnvoyHealth(targets, eh.HealthOptions()).wait()
    assert time.monotonic() - started < 10
    assert f"cannot reach KubeFATE at http://127.0.0.1:{kf_port}" in verdicts["with-job"].msg
    assert (
        f"cannot reach the Kubernetes API at https://127.0.0.1:{kube_port} (context t)" in verdicts["health-only"].msg
    )


def test_bad_kubeconfig_names_it(world, tmp_path):
    target_ = eh.EnvoyTarget("e1", "openfl-e1", kubernetes={"kubeconfig": str(tmp_path / "missing"), "context": "x"})
    verdict = eh.EnvoyHealth([target_], eh.HealthOptions(), clock=world.clock, sleep=world.clock.sleep).wait()["e1"]
    assert verdict.failed and f"kubeconfig {tmp_path / 'missing'}, context x" in verdict.msg


# -- many envoys, one loop ---------------------------------------------------------------------------


def test_many_envoys_in_one_loop_one_login_and_one_client_per_endpoint(world):
    for index, (url, context, ends) in enumerate([(URL_A, "a", 2), (URL_A, "a", 7), (URL_A, "b", 4), (URL_B, "b", 1)]):
        uuid = f"u{index}"
        world.kubefate[url].jobs[uuid] = timeline((0, job(uuid, "Running")), (ends, job(uuid, "Success")))
        world.healthy(f"openfl-e{index}", context=context)
    targets = [target("e0", "u0"), target("e1", "u1"), target("e2", "u2", context="b"), target("e3", "u3", URL_B, "b")]
    verdicts = world.run(targets)
    assert [v["failed"] for v in verdicts.values()] == [False] * 4
    assert 7 <= world.clock.now < 10  # the slowest job, not the sum
    assert world.kubefate[URL_A].logins == 1 and world.kubefate[URL_B].logins == 1
    assert len(world.kubefate[URL_A].clients) == 1 and len(world.kubefate[URL_B].clients) == 1
    assert world.kube_made == {("/kc", "a"): 1, ("/kc", "b"): 1}
    # each envoy: its job polled until it ended, then pods, log and Deployment read once
    assert world.kubefate[URL_A].calls[("GET", "/v1/job/u1")] <= 8
    assert Counter(c[0] for c in world.kube[("/kc", "a")].calls) == {"pods": 2, "log": 2, "deployment": 2}


def test_skipped_envoys_cost_nothing(world):
    verdicts = world.run([target("e1", "u1", skip=True)])
    assert verdicts["e1"]["skipped"] and not verdicts["e1"]["failed"]
    assert not world.kube_made and not world.kubefate[URL_A].calls


# -- snapshot ----------------------------------------------------------------------------------------


def test_snapshot_lists_once_per_endpoint_and_judges_nothing(world):
    server = world.kubefate[URL_A]
    server.clusters = [
        {"uuid": "c1", "name": "e1", "namespaces": "openfl-e1", "status": "Running", "DeletedAt": None},
        {"uuid": "c2", "name": "e2", "namespaces": "openfl-e2", "status": "Rollback", "DeletedAt": None},
        {"uuid": "c0", "name": "e2", "namespaces": "elsewhere", "status": "Running", "DeletedAt": None},
    ]
    server.job_list = [
        job("j1", "Success", cluster_id="c1", ID=1),
        job("j2", "Success", cluster_id="c2", ID=2),
        job("j3", "Rollback", cluster_id="c2", ID=3),
    ]
    world.healthy("openfl-e1")
    world.kube[("/kc", "a")].pods["openfl-e2"] = lambda now: [pod(waiting="CrashLoopBackOff", restarts=2)]
    world.kube[("/kc", "a")].logs["openfl-e2"] = lambda now: CN_ERROR
    targets = [target("e1"), target("e2", "ignored"), target("e3"), target("e4", skip=True)]
    verdicts = world.run(targets, wait=False)
    assert not any(v["failed"] for v in verdicts.values())
    assert server.calls[("GET", "/v1/cluster/")] == 1 and server.calls[("GET", "/v1/job/")] == 1
    assert not [c for c in server.calls if c[1].startswith("/v1/job/") and c[1] != "/v1/job/"]
    e1, e2, e3 = verdicts["e1"], verdicts["e2"], verdicts["e3"]
    assert (e1["cluster_status"], e1["job"]["uuid"], e1["registered"], e1["reasons"]) == ("Running", "j1", True, [])
    assert e1["msg"] == "e1 (namespace openfl-e1): KubeFATE cluster Running, job Success, registered"
    assert (e2["cluster_status"], e2["job"]["status"], e2["registered"]) == ("Rollback", "Rollback", False)
    assert e2["reasons"] == ["the envoy container cannot run (CrashLoopBackOff)"] and e2["restarts"] == [2]
    assert (e3["cluster_status"], e3["job"], e3["registered"]) == (None, None, False)
    assert e3["msg"] == (
        "e3 (namespace openfl-e3): KubeFATE cluster absent, job none, not registered; no envoy pod (label openfl=envoy)"
    )
    assert verdicts["e4"]["skipped"]


def test_snapshot_of_an_unreachable_endpoint_is_a_failed_read(world):
    world.kubefate[URL_A].down_from = 0.0
    world.healthy("openfl-e1")
    verdict = world.run([target("e1")], wait=False)["e1"]
    assert verdict["failed"] and verdict["registered"] and f"cannot reach KubeFATE at {URL_A}" in verdict["msg"]


# -- options -----------------------------------------------------------------------------------------


def test_option_problems():
    options = eh.HealthOptions(interval=0, error_patterns=("(unclosed",), markers=(), job_timeout=-1)
    problems = options.problems()
    assert any("interval 0" in p for p in problems) and any(
        "'(unclosed' is not a regular expression" in p for p in problems
    )
    assert any("markers" in p for p in problems) and any("job_timeout -1" in p for p in problems)
    assert eh.HealthOptions().problems() == []


def test_target_problems():
    targets = [eh.EnvoyTarget("e1", "n1", "u1"), eh.EnvoyTarget("e1", "n1"), eh.EnvoyTarget("e2", "n2", skip=True)]
    assert eh.target_problems(targets, wait=True) == [
        "envoy 'e1' is listed more than once",
        "envoy e1: kubefate (the connection) is required: job_uuid u1 is set",
    ]
    assert "wait=false reads its KubeFATE cluster" in eh.target_problems([eh.EnvoyTarget("e3", "n3")], wait=False)[0]
