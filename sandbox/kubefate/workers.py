"""Asynchronous cluster jobs of the KubeFATE test double: install, update, delete (reference §6.2, §7, §10).

Each job runs in its own thread as KubeFATE's goroutine does. The `states` texts, the status
progression and the real server's quirks (a job stuck `Running` when its data cannot be parsed,
`end_time` left zero after a helm install error) are reproduced. Polling is faster than the
real 1 s/5 s so that tests stay quick; the `checkout Cluster status [i]` counter counts polls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable

from .gotypes import now, parse_spec
from .helm import HelmFailure, render_objects, values_from_template
from .kube import KubeError
from .models import Cluster, Job, SubJob, Table, new_uuid
from .service import REPO_UNREACHABLE, State, deployment_status

POLL_SECONDS = 0.5  # the real service polls every 1 s (install) or 5 s (update)


class Workers:
    """Starts job threads; `stop()` asks them to finish and joins them."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, job: Job) -> None:
        target = {"ClusterInstall": self._install, "ClusterUpdate": self._update, "ClusterDelete": self._delete}
        thread = threading.Thread(target=self._guarded, args=(target[job.method], job), name=f"kubefate-{job.method}")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the service is stopping; False means: stop working."""
        return not self.stopping.wait(seconds)

    def _guarded(self, work: Callable[[Job], None], job: Job) -> None:
        # Since v1.11.2 a panic in the worker sets the job Failed.
        try:
            work(job)
        except Exception as problem:
            with self.state.lock:
                job.add_state(f"panic: {problem}")
                job.set_status("Failed")

    def _alive(self, job: Job) -> bool:
        return job.deleted_at is None

    # -- install ---------------------------------------------------------------------------------
    def _install(self, job: Job) -> None:
        if not self._sleep(self.state.knobs.job_latency):
            return
        with self.state.lock:
            if not self._alive(job) or job.status != "Pending":
                return
            job.set_status("Running")
            job.add_state("update job status to Running")
            cluster = self._create_cluster(job)
            if cluster is None:
                return  # the real worker returns here and leaves the job Running forever
            args = job.meta_data
            assert args is not None
        if args.cover:
            self._uninstall_quietly(cluster)
            with self.state.lock:
                job.add_state("overwrite current installation")
        try:
            self._helm_install(cluster)
        except HelmFailure as failure:
            with self.state.lock:
                job.set_status("Failed")
                self._drop_cluster(cluster)
                job.add_state(f"helm install error, {failure}")
            self._uninstall_quietly(cluster)
            return
        with self.state.lock:
            cluster.helm_revision += 1
            cluster.touch()
            job.add_state("helm install Success")
        self._watch_install(job, cluster)

    def _create_cluster(self, job: Job) -> Cluster | None:
        args = job.meta_data
        assert args is not None
        text = (args.data or b"").decode("utf-8", errors="replace")
        try:
            spec = parse_spec(text)
        except ValueError as problem:
            job.add_state(f"create Cluster error, {problem}")
            return None
        if self.state.find_cluster(args.name, args.namespace) is not None:
            job.add_state(
                f"create Cluster error, name={args.name} & namespace={args.namespace} Cluster already existed"
            )
            return None
        cluster = Cluster(
            uuid=new_uuid(),
            name=args.name,
            namespace=args.namespace,
            chart_name=args.chart_name,
            chart_version=args.chart_version,
            values=text,
            spec=spec,
            status="Creating",
        )
        self.state.clusters.insert(cluster)
        job.cluster_id = cluster.uuid
        job.add_state("create Cluster in DB Success")
        return cluster

    def _helm_install(self, cluster: Cluster) -> None:
        with self.state.lock:
            chart = self.state.find_chart(cluster.chart_name, cluster.chart_version)
            spec = dict(cluster.spec)
        if chart is None:
            raise HelmFailure(REPO_UNREACHABLE)
        values = values_from_template(chart, spec)
        objects = render_objects(chart, values, cluster.name, cluster.namespace, upgrade=False)
        self.state.helm.install(cluster.name, cluster.namespace, objects)

    def _watch_install(self, job: Job, cluster: Cluster) -> None:
        polls = 0
        while self._sleep(0 if polls == 0 else POLL_SECONDS):
            polls += 1
            with self.state.lock:
                if not self._alive(job):
                    return  # the job row is gone: the real worker's reload fails and it exits
                ending = self._install_ending(job, cluster, polls)
                if ending:
                    job.add_state(ending[0])
                    job.set_status(ending[1])
                    job.end_time = now()
                    self._drop_cluster(cluster)
            if ending:
                self._uninstall_quietly(cluster)
                return
            if self._workloads_ready(job, cluster):
                with self.state.lock:
                    job.add_state("job run Success")
                    cluster.status = "Running"
                    cluster.revision = 1
                    cluster.touch()
                    job.end_time = now()
                    job.set_status("Success")
                return

    def _install_ending(self, job: Job, cluster: Cluster, polls: int) -> tuple[str, str] | None:
        """(state text, job status) if this poll ends the install unsuccessfully (lock held)."""
        self._checkout_state(job, polls)
        if self._timed_out(job):
            return ("checkout Cluster status timeOut!", "Failed")
        if job.status == "Stopping":
            return ("job stopped", "Canceled")
        if cluster.deleted_at is not None:
            return ("Cluster delete", "Failed")
        return None

    def _drop_cluster(self, cluster: Cluster) -> None:
        cluster.status = "Deleted"
        if cluster.deleted_at is None:
            Table.soft_delete(cluster)

    def _uninstall_quietly(self, cluster: Cluster) -> None:
        with contextlib.suppress(HelmFailure):
            self.state.helm.uninstall(cluster.name, cluster.namespace)

    @staticmethod
    def _checkout_state(job: Job, polls: int) -> None:
        """`checkout Cluster status [i]`: appended once, then rewritten in place."""
        text = f"checkout Cluster status [{polls}]"
        states = list(job.states or [])
        if states and states[-1].startswith("checkout Cluster status ["):
            states[-1] = text
        else:
            states.append(text)
        job.states = states
        job.touch()

    def _timed_out(self, job: Job) -> bool:
        return (now() - job.start_time).total_seconds() > self.state.knobs.job_time_limit

    def _workloads_ready(self, job: Job, cluster: Cluster) -> bool:
        """All Deployments labelled name=<cluster name> Available, and at least one (KubeFATE's rule)."""
        try:
            items = self.state.kube.list("apps/v1", "Deployment", cluster.namespace, f"name={cluster.name}")
        except KubeError:
            return False
        statuses = {d["metadata"]["name"]: deployment_status(d) for d in items}
        with self.state.lock:
            old = job.sub_jobs or {}
            moment = now()
            job.sub_jobs = {
                name: self._sub_job(old.get(name), name, status, moment) for name, status in statuses.items()
            }
            job.touch()
        return bool(statuses) and all(s == "Available" for s in statuses.values())

    @staticmethod
    def _sub_job(old: SubJob | None, name: str, status: str, moment: dt.datetime) -> SubJob:
        start = old.start if old else moment
        end = (old.end if old and old.end else moment) if status == "Available" else None
        return SubJob(name, status, start, end)

    # -- update ----------------------------------------------------------------------------------
    def _update(self, job: Job) -> None:
        if not self._sleep(self.state.knobs.job_latency):
            return
        with self.state.lock:
            cluster = self.state.clusters.by_uuid(job.cluster_id)
            if not self._alive(job) or job.status != "Pending" or cluster is None:
                return
            job.set_status("Running")
            cluster.status = "Updating"
            old = (cluster.values, dict(cluster.spec), cluster.chart_name, cluster.chart_version)
            args = job.meta_data
            assert args is not None
            cluster.values = (args.data or b"").decode("utf-8", errors="replace")
            cluster.spec = parse_spec(cluster.values)
            cluster.chart_name, cluster.chart_version = args.chart_name, args.chart_version
            cluster.helm_revision += 1
            cluster.touch()
        succeeded = self._upgrade_and_watch(job, cluster)
        with self.state.lock:
            if succeeded:
                job.set_status("Success")
                cluster.status = "Running"
                cluster.revision += 1
            else:
                cluster.values, cluster.spec, cluster.chart_name, cluster.chart_version = old
                cluster.status = "Rollback"
            cluster.touch()
        if not succeeded:
            self._rollback(job, cluster)
        with self.state.lock:
            job.end_time = now()
            job.touch()

    def _upgrade_and_watch(self, job: Job, cluster: Cluster) -> bool:
        try:
            with self.state.lock:
                chart = self.state.find_chart(cluster.chart_name, cluster.chart_version)
                spec = dict(cluster.spec)
            if chart is None:
                raise HelmFailure(REPO_UNREACHABLE)
            objects = render_objects(chart, values_from_template(chart, spec), cluster.name, cluster.namespace, True)
            self.state.helm.upgrade(cluster.name, cluster.namespace, objects)
        except HelmFailure as failure:
            with self.state.lock:
                job.add_state(str(failure))
                job.set_status("Failed")
            return False
        with self.state.lock:
            job.add_state("Cluster update Success")
        while self._sleep(POLL_SECONDS):
            if self._workloads_ready(job, cluster):
                return True
            with self.state.lock:
                if self._timed_out(job):
                    job.add_state("Checkout Cluster status timeOut!")
                    job.set_status("Failed")
                    return False
        return False

    def _rollback(self, job: Job, cluster: Cluster) -> None:
        try:
            self.state.helm.rollback(cluster.name, cluster.namespace)
        except HelmFailure as failure:
            with self.state.lock:
                job.add_state(str(failure))
                job.set_status("Failed")
            return
        with self.state.lock:
            cluster.helm_revision -= 1
            job.add_state("Cluster run rollback Success")
            job.set_status("Rollback")

    # -- delete ----------------------------------------------------------------------------------
    def _delete(self, job: Job) -> None:
        if not self._sleep(self.state.knobs.job_latency):
            return
        with self.state.lock:
            cluster = self.state.clusters.by_uuid(job.cluster_id)
            if not self._alive(job) or job.status != "Pending" or cluster is None:
                return
            job.set_status("Running")
            cluster.status = "Deleting"
            cluster.touch()
        try:
            self.state.helm.uninstall(cluster.name, cluster.namespace)
            outcome, status = "uninstall Success", "Success"
        except HelmFailure as failure:
            outcome, status = str(failure), "Failed"
        with self.state.lock:
            job.add_state(outcome)
            job.set_status(status)
            self._drop_cluster(cluster)
            job.end_time = now()
            job.touch()
