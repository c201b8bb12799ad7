"""The KubeFATE test double's handlers: one method per route, answering as the real service does.

Each handler returns a `Reply`; texts and status codes are those of the real service (its
route handlers and binding).
State lives in memory tables guarded by one lock; cluster jobs run in worker threads (workers.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .charts import ChartError, parse_upload
from .gotypes import BindError, Field, bind_struct, go_duration, go_time, now, parse_spec
from .helm import Helm
from .kube import KubeClient, KubeError
from .models import Cluster, ClusterArgs, HelmChart, Job, Table, User, new_uuid

CLUSTER_ARGS = (
    Field("name", "string"),
    Field("namespace", "string"),
    Field("chart_name", "string"),
    Field("chart_version", "string"),
    Field("cover", "bool"),
    Field("data", "[]uint8"),
    Field("Keep_upgrade_job", "bool"),
)
USER_FIELDS = (
    Field("uuid", "string"),
    Field("username", "string"),
    Field("password", "string"),
    Field("email", "string"),
)
SERVICE_VERSION = "v1.4.5"
REPO_URL = "https://federatedai.github.io/KubeFATE"
# What an offline KubeFATE answers when a chart is neither in its DB nor downloadable (§4.2).
REPO_UNREACHABLE = (
    f'looks like "{REPO_URL}" is not a valid chart repository or cannot be reached: '
    f'Get "{REPO_URL}/index.yaml": dial tcp: lookup federatedai.github.io: no such host'
)


@dataclass
class Reply:
    """An HTTP answer: a JSON document, or raw bytes (404 text, empty 500)."""

    status: int
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def ok(msg: str, data: Any = None, with_data: bool = True) -> Reply:
    return Reply(200, {"data": data, "msg": msg} if with_data else {"msg": msg})


def error(status: int, text: str) -> Reply:
    return Reply(status, {"error": text})


@dataclass
class Knobs:
    """Test knobs: seconds before a job's worker proceeds, token lifetime, fault share, job time limit."""

    job_latency: float = 0.0
    token_ttl: float = 1800.0
    fault_rate: float = 0.0
    job_time_limit: float = 60.0
    # Emulate an older service (§11): below v1.4.5 there is no valueTemplateExample route and an
    # unchanged update is refused for every chart.
    service_version: str = SERVICE_VERSION


class State:
    """Everything the real service keeps in MySQL, plus its Kubernetes and Helm handles."""

    def __init__(self, kube: KubeClient, username: str, password: str, knobs: Knobs) -> None:
        self.lock = threading.RLock()
        self.kube = kube
        self.helm = Helm(kube)
        self.knobs = knobs
        self.charts: Table[HelmChart] = Table()
        self.clusters: Table[Cluster] = Table()
        self.jobs: Table[Job] = Table()
        self.users: Table[User] = Table()
        self.admin = (username, password)
        self.add_admin()

    def add_admin(self) -> None:
        """KubeFATE deletes and re-creates the admin user at every start (from its configuration)."""
        username, password = self.admin
        for user in self.users.live():
            if user.username == username:
                Table.soft_delete(user)
        self.users.insert(User(uuid=new_uuid(), username=username, password=password, salt=secrets.token_hex(8)))

    def reset(self) -> None:
        with self.lock:
            self.charts, self.clusters, self.jobs = Table(), Table(), Table()
            self.helm.forget()

    def check_login(self, username: str, password: str) -> bool:
        with self.lock:
            return any(u.username == username and u.password == password for u in self.users.live())

    def find_chart(self, name: str, version: str) -> HelmChart | None:
        return next((c for c in self.charts.live() if c.name == name and c.version == version), None)

    def find_cluster(self, name: str, namespace: str) -> Cluster | None:
        return next((c for c in self.clusters.live() if c.name == name and c.namespace == namespace), None)


class Handlers:
    """Route handlers (auth and routing are the HTTP layer's job)."""

    def __init__(self, state: State, start_job: Callable[[Job], None]) -> None:
        self.state = state
        self.start_job = start_job  # runs the job's worker in a thread (after the HTTP answer is built)

    # -- charts ----------------------------------------------------------------------------------
    def upload_chart(self, archive: bytes) -> Reply:
        try:
            row = parse_upload(archive)
        except ChartError as problem:
            return error(500, str(problem))
        too_long = _too_long(
            {"name": (row.name, 36), "version": (row.version, 32), "app_version": (row.app_version, 32)}
        )
        if too_long:
            return error(500, too_long)
        with self.state.lock:
            old = self.state.find_chart(row.name, row.version)
            if old is not None:  # re-upload: soft-delete the old row, insert with a new uuid
                Table.soft_delete(old)
            self.state.charts.insert(row)
        return ok("CreateChart Success", {"helmUUID": row.uuid})

    def list_charts(self) -> Reply:
        with self.state.lock:
            return ok("getChartList Success", [c.to_json() for c in self.state.charts.live()])

    def get_chart(self, chart_id: str) -> Reply:
        with self.state.lock:
            row = self.state.charts.by_uuid(chart_id)
            return error(500, "record not found") if row is None else ok("getChart Success", row.to_json())

    def delete_chart(self, chart_id: str) -> Reply:
        with self.state.lock:
            row = self.state.charts.by_uuid(chart_id)
            if row is not None:
                Table.soft_delete(row)
        return ok("deleteChart Success", with_data=False)

    def value_template_example(self, name: str, version: str) -> Reply:
        if older_than(self.state.knobs.service_version, SERVICE_VERSION):
            return Reply(404, raw=b"404 page not found", content_type="text/plain")  # route added in v1.9.0
        with self.state.lock:
            row = self.state.find_chart(name, version)
            if row is None:
                return error(500, REPO_UNREACHABLE)
            return ok("getChartByNameVersion Success", row.values_template_example)

    # -- clusters --------------------------------------------------------------------------------
    def install(self, body: bytes, creator: str) -> Reply:
        try:
            args = bind_cluster_args(body)
        except BindError as problem:
            return error(400, str(problem))
        if not args.chart_version or not args.chart_name:
            return error(500, "chartVersion cannot be empty")
        with self.state.lock:
            if self.state.find_cluster(args.name, args.namespace) is not None:
                return error(500, f"name={args.name} & namespace={args.namespace} Cluster already existed")
            if _too_long({"creator": (creator, 16)}):
                return error(500, _too_long({"creator": (creator, 16)}))
            job = self._new_job("ClusterInstall", creator, args, cluster_id="")
            reply = ok("createCluster Success", job.to_json())
        self.start_job(job)
        return reply

    def update(self, body: bytes, creator: str) -> Reply:
        try:
            args = bind_cluster_args(body)
        except BindError as problem:
            return error(400, str(problem))
        with self.state.lock:
            cluster = self.state.find_cluster(args.name, args.namespace)
            if cluster is None:
                return error(500, f"name={args.name} Cluster is not existed")
            try:
                spec = parse_spec((args.data or b"").decode("utf-8", errors="replace"))
            except ValueError as problem:
                return error(500, str(problem))
            if cluster.chart_name == "fate":
                refusal = fate_upgrade_check(cluster, args, spec)
                if refusal is not None:
                    return refusal
            elif self._refuses_unchanged(cluster, args, spec):
                return error(500, "the configuration file did not change")
            if _too_long({"creator": (creator, 16)}):
                return error(500, _too_long({"creator": (creator, 16)}))
            job = self._new_job("ClusterUpdate", creator, args, cluster_id=cluster.uuid)
            reply = ok("setCluster Success", job.to_json())
        self.start_job(job)
        return reply

    def _refuses_unchanged(self, cluster: Cluster, args: ClusterArgs, spec: dict[str, Any]) -> bool:
        """Services before v1.4.5 (KubeFATE v1.6.0-v1.8.0) refuse an unchanged update for every chart."""
        older = older_than(self.state.knobs.service_version, SERVICE_VERSION)
        return older and spec == cluster.spec and args.chart_version == cluster.chart_version

    def delete_cluster(self, cluster_id: str, creator: str) -> Reply:
        with self.state.lock:
            cluster = self.state.clusters.by_uuid(cluster_id)
            if cluster is None:
                return error(500, "record not found")
            if _too_long({"creator": (creator, 16)}):
                return error(500, _too_long({"creator": (creator, 16)}))
            job = self._new_job("ClusterDelete", creator, None, cluster_id=cluster.uuid)
            reply = ok("deleteCluster Success", job.to_json())
        self.start_job(job)
        return reply

    def _new_job(self, method: str, creator: str, args: ClusterArgs | None, cluster_id: str) -> Job:
        job = Job(
            uuid=new_uuid(),
            method=method,
            cluster_id=cluster_id,
            creator=creator,
            status="Pending",
            time_limit_ns=int(self.state.knobs.job_time_limit * 1e9),
            meta_data=args,
        )
        return self.state.jobs.insert(job)

    def list_clusters(self, all_rows: bool) -> Reply:
        with self.state.lock:
            rows = self.state.clusters.rows if all_rows else self.state.clusters.live()
            return ok("getClusterList Success", [c.to_json() for c in rows])

    def get_cluster(self, cluster_id: str) -> Reply:
        with self.state.lock:
            cluster = self.state.clusters.by_uuid(cluster_id)
            if cluster is None:
                return error(500, "record not found")
            name, namespace = cluster.name, cluster.namespace
        try:
            info, deployments = cluster_info(self.state.kube, name, namespace)
        except KubeError as problem:
            return error(500, problem.message)
        with self.state.lock:
            if cluster.status in ("Running", "Unavailable"):
                healthy = bool(deployments) and all(s == "Available" for s in deployments.values())
                cluster.status = "Running" if healthy else "Unavailable"
                cluster.touch()
            return ok("getCluster Success", cluster.to_json(info))

    def cluster_log(self, cluster_id: str) -> Reply:
        with self.state.lock:
            cluster = self.state.clusters.by_uuid(cluster_id)
            if cluster is None:
                return error(400, "get Cluster error, record not found")
            name, namespace = cluster.name, cluster.namespace
        try:
            pods = self.state.kube.list("v1", "Pod", namespace, f"name={name}")
            logs = [
                self.state.kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{p['metadata']['name']}/log")
                for p in pods
            ]
        except (KubeError, ValueError) as problem:
            return error(500, str(problem))
        return ok("getClusterLog Success", "".join(str(log or "") for log in logs))

    # -- jobs ------------------------------------------------------------------------------------
    def list_jobs(self) -> Reply:
        with self.state.lock:
            return ok("getJobList Success", [j.to_json() for j in self.state.jobs.live()])

    def get_job(self, job_id: str) -> Reply:
        with self.state.lock:
            job = self.state.jobs.by_uuid(job_id)
            return error(500, "record not found") if job is None else ok("getJob Success", job.to_json())

    def delete_job(self, job_id: str) -> Reply:
        with self.state.lock:
            job = self.state.jobs.by_uuid(job_id)
            if job is None:
                return error(500, "record not found")
            Table.soft_delete(job)
        return ok("delete Job Success", with_data=False)

    def stop_job(self, job_id: str, job_status: str) -> Reply:
        if job_status != "stop":
            return error(400, "jobStatus error")
        with self.state.lock:
            job = self.state.jobs.by_uuid(job_id)
            if job is None:
                return error(500, "get job by jobID error, please check job ID, record not found")
            if job.method != "ClusterInstall":
                return error(500, f"{job.method} type jobs do not support stop")
            if job.status != "Running":
                return error(500, f"job status is {job.status}, not support stop")
            job.set_status("Stopping")
        return ok("stop Job Success", "Stop Job Success")

    # -- namespaces, version, users --------------------------------------------------------------
    def list_namespaces(self) -> Reply:
        try:
            items = self.state.kube.namespaces()
        except KubeError as problem:
            return error(500, problem.message)
        return ok("getNamespaceList Success", [namespace_json(n) for n in items])

    def version(self) -> Reply:
        return Reply(200, {"msg": "getVersion Success", "version": self.state.knobs.service_version})

    def list_users(self) -> Reply:
        with self.state.lock:
            return ok("getUserList Success", [u.to_json() for u in self.state.users.live()])

    def get_user(self, user_id: str) -> Reply:
        with self.state.lock:
            user = self.state.users.by_uuid(user_id)
            return error(500, "record not found") if user is None else ok("getUser Success", user.to_json())

    def create_user(self, body: bytes) -> Reply:
        try:
            values = bind_struct(body, "User", USER_FIELDS)
        except BindError as problem:
            return error(400, str(problem))
        with self.state.lock:
            username = values.get("username") or ""
            if any(u.username == username for u in self.state.users.live()):
                return error(500, "User is existed.")
            user = User(
                uuid=new_uuid(),
                username=username,
                password=values.get("password") or "",
                salt=secrets.token_hex(8),
                email=values.get("email") or "",
            )
            self.state.users.insert(user)
            return ok("createCluster Success", user.to_json())  # sic: the real message

    def set_user(self, user_id: str, body: bytes) -> Reply:
        try:
            values = bind_struct(body, "User", USER_FIELDS)
        except BindError as problem:
            return error(400, str(problem))
        with self.state.lock:
            user = self.state.users.by_uuid(user_id)
            if user is None:
                return error(500, "record not found")
            for key in ("username", "password", "email"):
                if values.get(key):
                    setattr(user, key, values[key])
            user.touch()
        return ok("setUser Success", with_data=False)

    def delete_user(self, user_id: str) -> Reply:
        with self.state.lock:
            user = self.state.users.by_uuid(user_id)
            if user is None:
                return error(500, "record not found")
            Table.soft_delete(user)
        return ok("deleteUser Success", with_data=False)


def bind_cluster_args(body: bytes) -> ClusterArgs:
    values = bind_struct(body, "ClusterArgs", CLUSTER_ARGS)
    return ClusterArgs(
        name=values.get("name") or "",
        namespace=values.get("namespace") or "",
        chart_name=values.get("chart_name") or "",
        chart_version=values.get("chart_version") or "",
        cover=bool(values.get("cover")),
        data=values.get("data"),
        keep_upgrade_job=bool(values.get("Keep_upgrade_job")),
    )


def fate_upgrade_check(cluster: Cluster, args: ClusterArgs, spec: dict[str, Any]) -> Reply | None:
    """The FATE upgrade manager's synchronous refusals (§7); a missing key is a Go panic (empty 500)."""
    old, new = cluster.spec, spec
    keys = ("chartName", "chartVersion")
    if not all(isinstance(d.get(k), str) for d in (old, new) for k in keys):
        return Reply(500, raw=b"")
    if old["chartName"] != new["chartName"]:
        return error(500, "doesn't support upgrade between different charts")
    if old == new and cluster.chart_version == args.chart_version:
        return error(500, "the configuration file did not change")
    before, after = _version_tuple(old["chartVersion"]), _version_tuple(new["chartVersion"])
    if after < before:
        return error(500, "using kubefate to downgrade a cluster is not supported yet")
    if after != before and before <= (1, 7, 1):
        return error(500, "upgrade from FATE version <= 1.7.1 is not supported by KubeFATE")
    return None


def _too_long(columns: dict[str, tuple[str, int]]) -> str:
    """MySQL's answer when a value exceeds its column (chart name 36, versions 32, job creator 16)."""
    for column, (value, limit) in columns.items():
        if len(value) > limit:
            return f"Error 1406: Data too long for column '{column}' at row 1"
    return ""


def older_than(version: str, reference: str) -> bool:
    return _version_tuple(version) < _version_tuple(reference)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.lstrip("v").split("-")[0].split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


def namespace_json(item: dict) -> dict[str, Any]:
    metadata = item.get("metadata", {})
    created = metadata.get("creationTimestamp")
    age = ""
    if created:
        moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        age = go_duration(now() - moment)
    return {
        "Name": metadata.get("name", ""),
        "Status": (item.get("status") or {}).get("phase", ""),
        "Labels": metadata.get("labels"),
        "Annotations": metadata.get("annotations"),
        "Age": age,
    }


def deployment_status(deployment: dict) -> str:
    """KubeFATE's view of a Deployment: Available, ReplicaFailure, Progressing or Undefined."""
    conditions = {c.get("type"): c.get("status") for c in (deployment.get("status") or {}).get("conditions") or []}
    if conditions.get("Available") == "True":
        return "Available"
    if conditions.get("ReplicaFailure") == "True":
        return "ReplicaFailure"
    if "Progressing" in conditions:
        return "Progressing"
    return "Undefined"


def cluster_info(kube: KubeClient, name: str, namespace: str) -> tuple[dict[str, Any], dict[str, str]]:
    """`Info` of GET /v1/cluster/{id} (§5.3) and the Deployment statuses it contains."""
    selector = f"name={name}"
    deployments = {
        d["metadata"]["name"]: deployment_status(d) for d in kube.list("apps/v1", "Deployment", namespace, selector)
    }
    containers: dict[str, str] = {}
    for pod in kube.list("v1", "Pod", namespace, selector):
        phase = (pod.get("status") or {}).get("phase", "")
        for container in pod.get("spec", {}).get("containers", []):
            containers[container.get("name", "")] = phase
    info: dict[str, Any] = {"dashboard": None, "ip": ""}
    for service in kube.list("v1", "Service", namespace, selector):
        if service["metadata"]["name"] == "rollsite":
            for port in service.get("spec", {}).get("ports", []):
                if port.get("port") == 9370 and port.get("nodePort"):
                    info["port"] = port["nodePort"]
    info["status"] = {"containers": containers, "deployments": deployments, "statefulSets": {}}
    return info, deployments


__all__ = ["Handlers", "Knobs", "Reply", "State", "go_time"]
