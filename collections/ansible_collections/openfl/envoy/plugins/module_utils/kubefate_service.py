# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The KubeFATE service layer: charts, clusters and jobs over one ``KubefateClient``.

It knows KubeFATE's objects and pitfalls (name+namespace lookups from the lists, client-side
"changed?", reconciling a mutating call whose outcome is unknown, job polling with an own
deadline) and decides what a cluster needs as a plan (``plan_cluster``) that ``apply_plan``
carries out, so that modules only map options to a plan and shape results. Listings can be
read once and shared by many plans: the cost of a run is one listing per service, not one per
envoy.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils.chart import chart_differences
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    FAILED_JOB_STATUSES,
    KubefateClient,
    KubefateError,
    KubefateJobError,
    KubefateTransportError,
    build_multipart,
    cluster_args,
    job_ended_text,
    job_still_text,
    normalize,
)


@dataclass
class ClusterPlan:
    """What a cluster needs: ``action`` is none, install, update or delete. ``job`` is the job a
    later wait should follow when nothing is sent (the latest one, or a running delete);
    ``error`` is why the plan cannot be carried out."""

    name: str
    namespace: str
    action: str = "none"
    cluster: dict[str, Any] | None = None
    job: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    chart_name: str | None = None
    chart_version: str | None = None
    error: str | None = None
    baseline: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return self.action != "none"


class KubefateService:
    """Charts, clusters and jobs over one client."""

    def __init__(
        self,
        client: KubefateClient,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self._clock = clock

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _data(answer: Any) -> Any:
        return answer.get("data") if isinstance(answer, dict) else None

    def list_clusters(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        path = "/v1/cluster/?all=true" if include_deleted else "/v1/cluster/"
        return list(self._data(self.client.request("GET", path)) or [])

    def find_cluster(self, name: str, namespace: str, clusters: list | None = None) -> dict[str, Any] | None:
        """The non-deleted cluster with this name in this namespace (the server's own uniqueness
        rule). There is no lookup endpoint; the list answers ``namespaces`` (plural)."""
        return self.cluster_in(self.list_clusters() if clusters is None else clusters, name, namespace)

    def get_cluster(self, cluster_uuid: str) -> dict[str, Any]:
        return self._data(self.client.request("GET", f"/v1/cluster/{cluster_uuid}")) or {}

    def list_jobs(self) -> list[dict[str, Any]]:
        return list(self._data(self.client.request("GET", "/v1/job/")) or [])

    def get_job(self, job_uuid: str) -> dict[str, Any]:
        return self._data(self.client.request("GET", f"/v1/job/{job_uuid}")) or {}

    def list_charts(self) -> list[dict[str, Any]]:
        return list(self._data(self.client.request("GET", "/v1/chart/")) or [])

    def find_chart(self, name: str, version: str) -> dict[str, Any] | None:
        found = [
            c
            for c in self.list_charts()
            if c.get("name") == name and c.get("version") == version and not c.get("DeletedAt")
        ]
        # A re-upload soft-deletes the old row; should several be visible, the newest wins.
        found.sort(key=lambda c: c.get("ID") or 0)
        return found[-1] if found else None

    @staticmethod
    def _job_matches(job: dict[str, Any], method: str, name: str, namespace: str) -> bool:
        meta = job.get("meta_data") or {}
        return job.get("method") == method and meta.get("name") == name and meta.get("namespace") == namespace

    def latest_job(
        self, cluster: dict[str, Any] | None, name: str, namespace: str, jobs: list | None = None
    ) -> dict | None:
        """The most recent job of a cluster: by ``cluster_id``, or (for an install whose worker has
        not started yet) by the name and namespace in its ``meta_data``."""
        jobs = self.list_jobs() if jobs is None else jobs
        cluster_uuid = (cluster or {}).get("uuid")
        mine = [
            j
            for j in jobs
            if (cluster_uuid and j.get("cluster_id") == cluster_uuid)
            or (not j.get("cluster_id") and self._job_matches(j, "ClusterInstall", name, namespace))
        ]
        mine.sort(key=lambda j: (j.get("ID") or 0, j.get("start_time") or ""))
        return mine[-1] if mine else None

    # -- decisions ------------------------------------------------------------------------

    @staticmethod
    def spec_differs(cluster: dict[str, Any], spec: dict[str, Any], chart_name: str, chart_version: str) -> bool:
        return (
            normalize(cluster.get("Spec") or {}) != normalize(spec)
            or cluster.get("chart_name") != chart_name
            or cluster.get("chart_version") != chart_version
        )

    # -- plans ----------------------------------------------------------------------------

    @staticmethod
    def cluster_in(clusters: list[dict[str, Any]], name: str, namespace: str) -> dict[str, Any] | None:
        """The non-deleted cluster with this name in this namespace (the server's own uniqueness
        rule) in a listing; the list answers ``namespaces`` (plural)."""
        for cluster in clusters:
            if cluster.get("name") == name and cluster.get("namespaces") == namespace and not cluster.get("DeletedAt"):
                return cluster
        return None

    def plan_cluster(
        self,
        name: str,
        namespace: str,
        spec: dict[str, Any] | None,
        clusters: list[dict[str, Any]],
        jobs: list[dict[str, Any]],
    ) -> ClusterPlan:
        """Decide from shared listings: ``spec`` None means the cluster must be absent."""
        plan = ClusterPlan(name, namespace, spec=spec, baseline={j.get("uuid") for j in jobs})
        if spec is not None:
            plan.chart_name, plan.chart_version = str(spec["chartName"]), str(spec["chartVersion"])
        cluster = self.cluster_in(clusters, name, namespace)
        plan.cluster = cluster
        if cluster is not None and cluster.get("status") == "Deleting":
            # A delete job is running: absent is on its way; present must wait for it to finish.
            plan.job = self.latest_job(cluster, name, namespace, jobs)
            if spec is not None:
                job_uuid = (plan.job or {}).get("uuid")
                plan.error = f"KubeFATE is deleting this cluster (job {job_uuid}); re-run once that job ended"
            return plan
        if spec is None:
            plan.action = "delete" if cluster is not None else "none"
        elif cluster is None:
            plan.action = "install"
        elif self.spec_differs(cluster, spec, plan.chart_name, plan.chart_version):
            plan.action = "update"
        if plan.action == "none" and cluster is not None:
            plan.job = self.latest_job(cluster, name, namespace, jobs)  # an install may still run
        return plan

    def apply_plan(self, plan: ClusterPlan, cover: bool = False) -> dict[str, Any] | None:
        """Carry a plan out; returns the job to follow (the new one, or the plan's)."""
        if plan.error:
            raise KubefateError(plan.error)
        if plan.action == "install":
            args = cluster_args(plan.name, plan.namespace, plan.chart_name, plan.chart_version, plan.spec, cover)
            return self.install_cluster(args, plan.baseline)
        if plan.action == "update":
            args = cluster_args(plan.name, plan.namespace, plan.chart_name, plan.chart_version, plan.spec)
            return self.update_cluster(args, plan.cluster, plan.baseline)
        if plan.action == "delete":
            return self.delete_cluster(plan.cluster, plan.baseline)
        return plan.job

    # -- charts ---------------------------------------------------------------------------

    def upload_chart(self, filename: str, package: bytes, name: str, version: str) -> str:
        """POST /v1/chart (multipart ``file``). A re-upload only replaces the row, so an unknown
        outcome is settled by looking the chart up and comparing its content."""
        body, content_type = build_multipart("file", filename, package)
        attempt = 0
        while True:
            try:
                answer = self.client.request(
                    "POST", "/v1/chart", raw=body, content_type=content_type, retry_unknown=False
                )
                return str((self._data(answer) or {}).get("helmUUID") or "")
            except KubefateTransportError:
                if attempt >= self.client.retries:
                    raise
                self.client._backoff(attempt)
                attempt += 1
                stored = self.find_chart(name, version)
                if stored is not None and not chart_differences(stored, package):
                    return str(stored.get("uuid") or "")

    # -- clusters -------------------------------------------------------------------------

    def _new_job(
        self, baseline: set[str], method: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The newest job created since ``baseline`` (a set of job uuids) with this method that
        ``match`` accepts, or None."""
        for job in sorted(self.list_jobs(), key=lambda j: j.get("ID") or 0, reverse=True):
            if job.get("uuid") not in baseline and job.get("method") == method and match(job):
                return job
        return None

    def _send_settled(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        settle: Callable[[], dict[str, Any] | None],
        done_error: str | None = None,
    ) -> dict[str, Any]:
        """Send a cluster mutation; returns its Job. After an unknown outcome (lost answer,
        dropped connection) it asks ``settle()`` whether the earlier attempt took effect (its
        job) before sending again, so a lost answer never leads to a second job. ``done_error``
        is the server text that, answering a re-send, means the first attempt worked."""
        attempt = 0
        while True:
            try:
                answer = self.client.request(method, path, body, retry_unknown=False)
                return self._data(answer) or {}
            except KubefateTransportError:
                if attempt >= self.client.retries:
                    raise
            except KubefateError as err:
                if attempt == 0 or done_error is None or done_error not in err.server_error:
                    raise
                job = settle()
                if job is not None:
                    return job
                raise
            self.client._backoff(attempt)
            attempt += 1
            job = settle()
            if job is not None:
                return job

    def _settle_install(self, name: str, namespace: str, baseline: set[str]) -> dict[str, Any] | None:
        """After an install POST with an unknown outcome: the job it created, if any. Looks at the
        jobs (new ClusterInstall job for this name+namespace) and at the clusters (name+namespace
        now present), so that a lost answer never leads to a second install."""
        job = self._new_job(
            baseline, "ClusterInstall", lambda j: self._job_matches(j, "ClusterInstall", name, namespace)
        )
        if job is not None:
            return job
        cluster = self.find_cluster(name, namespace)
        if cluster is not None:
            return self.latest_job(cluster, name, namespace) or {
                "uuid": None,
                "status": "Unknown",
                "cluster_id": cluster.get("uuid"),
            }
        return None

    def _baseline(self, baseline: set[str] | None) -> set[str]:
        """The jobs that existed before a mutation (from a shared listing when given)."""
        return baseline if baseline is not None else {j.get("uuid") for j in self.list_jobs()}

    def install_cluster(self, args: dict[str, Any], baseline: set[str] | None = None) -> dict[str, Any]:
        """POST /v1/cluster; returns the Job. Never re-POSTs before checking that the previous
        attempt left no job and no cluster behind."""
        name, namespace = args["name"], args["namespace"]
        baseline = self._baseline(baseline)
        return self._send_settled(
            "POST", "/v1/cluster", args, lambda: self._settle_install(name, namespace, baseline), "already existed"
        )

    def update_cluster(
        self, args: dict[str, Any], cluster: dict[str, Any], baseline: set[str] | None = None
    ) -> dict[str, Any]:
        """PUT /v1/cluster; returns the Job. An unknown outcome is settled by a new ClusterUpdate
        job for this cluster, or the cluster already carrying the new spec."""
        baseline = self._baseline(baseline)

        def settle() -> dict[str, Any] | None:
            job = self._new_job(baseline, "ClusterUpdate", lambda j: j.get("cluster_id") == cluster.get("uuid"))
            if job is not None:
                return job
            now = self.find_cluster(args["name"], args["namespace"])
            desired = json.loads(base64.b64decode(args["data"]))
            if now is not None and not self.spec_differs(now, desired, args["chart_name"], args["chart_version"]):
                return self.latest_job(now, args["name"], args["namespace"]) or {}
            return None

        # An update has no "already done" answer: a re-sent PUT simply runs again.
        return self._send_settled("PUT", "/v1/cluster", args, settle)

    def delete_cluster(self, cluster: dict[str, Any], baseline: set[str] | None = None) -> dict[str, Any]:
        """DELETE /v1/cluster/{uuid}; returns the Job. ``record not found`` after a lost answer
        means the first attempt worked."""
        cluster_uuid = cluster["uuid"]
        baseline = self._baseline(baseline)
        return self._send_settled(
            "DELETE",
            f"/v1/cluster/{cluster_uuid}",
            None,
            lambda: self._new_job(baseline, "ClusterDelete", lambda j: j.get("cluster_id") == cluster_uuid),
            "record not found",
        )

    # -- jobs -----------------------------------------------------------------------------

    def wait_job(self, job_uuid: str, timeout: float = 600, interval: float = 5.0, first_interval: float = 0.5) -> dict:
        """Poll GET /v1/job/{uuid} until a terminal status or the deadline. The interval starts
        at ``first_interval`` and grows by half each round up to ``interval``, so short jobs are
        seen finishing early without hammering the server on long ones.

        Returns the job on ``Success``; raises KubefateJobError with the job's ``states`` when it
        ends ``Failed``/``Canceled``/``Rollback`` or is still running at the deadline (a job can
        stay ``Running`` forever on the real server)."""
        deadline = self._clock() + max(0.0, float(timeout))
        interval = max(0.2, min(float(interval), 60.0))
        pause = max(0.1, min(float(first_interval), interval))
        while True:
            job = self.get_job(job_uuid)
            status = job.get("status")
            if status == "Success":
                return job
            if status in FAILED_JOB_STATUSES:
                raise KubefateJobError(job_ended_text(job_uuid, job), job)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise KubefateJobError(job_still_text(job_uuid, job, timeout), job)
            self._sleep(min(pause, remaining))
            pause = min(interval, pause * 1.5)
