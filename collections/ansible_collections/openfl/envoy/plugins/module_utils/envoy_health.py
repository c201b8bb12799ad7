# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Is each envoy up? The state machine that ``roles/envoy_cluster/tasks/{wait,health}.yml`` spelled
in Jinja, for many envoys at once, polled in one loop of one process.

Per envoy with a job: poll its KubeFATE job until KubeFATE ends it (a ``Failed`` counts only once
its ``end_time`` is set, or after a short settle period: a failed update shows ``Failed`` before
``Rollback``); after ``job_grace`` seconds of a running job, watch the envoy container so that one
that cannot run ends the wait at once. Then the health part: the container is ready, the log shows
a registration marker and no error line, the Deployment is Available; else the deadline names
what was missing. A transport error to KubeFATE or to the Kubernetes API ends the wait of every
envoy behind that endpoint at once, with a message naming the endpoint (never the envoy pod).

One client per endpoint for the whole wait: a KubeFATE client per (url, Host header, user), so one
login; a Kubernetes ApiClient per (kubeconfig, context). ``snapshot()`` reads the same facts once,
without waiting or judging, listing KubeFATE's clusters and jobs once per endpoint.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils import envoy as names
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_readers import (
    ENVOY_CONTAINER,
    ENVOY_DEPLOYMENT,
    ENVOY_SELECTOR,
    Endpoint,
    EndpointError,
    HealthError,
    KubefateReader,
    KubeReader,
    kube_reader_from_config,
)
from ansible_collections.openfl.envoy.plugins.module_utils.envoy_targets import certificate_expiry
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    FAILED_JOB_STATUSES,
    KubefateClient,
    KubefateError,
    format_states,
    job_ended_text,
    job_still_text,
    job_summary,
    service_key,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService

DEFAULT_MARKERS = names.REGISTRATION_MARKERS  # OpenFL 1.5's, 1.6's and 1.7's wordings
# OpenFL's ERROR/CRITICAL levels, a rejected or failed registration, click's "Error: ...", a Python
# exception line, a traceback (the role's envoy_cluster_health_error_patterns).
DEFAULT_ERROR_PATTERNS = (
    "Report shard info was not accepted",
    "Failed to report shard info",
    r"Traceback \(most recent call last\)",
    r"\bCRITICAL\b",
    r"\bERROR\b",
    "^Error: ",
    r"\w+(Error|Exception): ",
    r"\[Errno",
    "does not exist",
)
# Harmless error-looking lines: the chart's pip install without a requirements.txt.
DEFAULT_IGNORE_PATTERNS = ("Could not open requirements file", "pip's dependency resolver", "WARNING: ")
DEFAULT_FATAL_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
)

KUBEFATE_RETRIES = 1  # the client's bounded retry, kept short: an API that is down ends the wait
FAILED_SETTLE = 10.0  # seconds a Failed job without end_time may still turn into Rollback
FIRST_PAUSE = 0.5  # polls start at this pause and grow by half up to the interval
NO_POD = "none now (a failed install removes the release; before that: missing Secret, ConfigMap or ServiceAccount?)"
JOB, HEALTH = "job", "health"
# Lines of a failed instance's log searched for why its shard was not registered: OpenFL logs the
# reason above a traceback that rich wraps to far more lines than the excerpt shows.
FAILURE_LOG_LINES = 500


# ---------------------------------------------------------------------------------------------
# Inputs and results


@dataclass
class HealthOptions:
    job_timeout: float = 900
    job_grace: float = 10
    health_timeout: float = 300
    interval: float = 3
    excerpt_lines: int = 20
    markers: tuple[str, ...] = DEFAULT_MARKERS
    error_patterns: tuple[str, ...] = DEFAULT_ERROR_PATTERNS
    ignore_patterns: tuple[str, ...] = DEFAULT_IGNORE_PATTERNS
    fatal_reasons: tuple[str, ...] = DEFAULT_FATAL_REASONS
    settle: float = FAILED_SETTLE

    def problems(self) -> list[str]:
        found = [
            f"{key} {getattr(self, key)} must not be negative"
            for key in ("job_timeout", "job_grace", "health_timeout", "excerpt_lines")
            if getattr(self, key) < 0
        ]
        if not 0 < self.interval <= 60:
            found.append(f"interval {self.interval} must be more than 0 and at most 60 seconds")
        if not self.markers or not all(self.markers):
            found.append("markers must hold at least one non-empty text")
        for key in ("error_patterns", "ignore_patterns"):
            for pattern in getattr(self, key):
                try:
                    re.compile(pattern)
                except re.error as err:
                    found.append(f"{key}: {pattern!r} is not a regular expression: {err}")
        return found

    @cached_property
    def errors(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.error_patterns]

    @cached_property
    def ignores(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.ignore_patterns]


@dataclass
class EnvoyTarget:
    name: str
    namespace: str
    job_uuid: str | None = None
    skip: bool = False
    kubefate: dict[str, Any] | None = None
    kubernetes: dict[str, Any] = field(default_factory=dict)
    certificate_path: str | None = None

    @classmethod
    def from_params(cls, item: dict[str, Any]) -> EnvoyTarget:
        return cls(
            name=item["name"],
            namespace=item["namespace"],
            job_uuid=item.get("job_uuid") or None,
            skip=bool(item.get("skip")),
            kubefate=item.get("kubefate"),
            kubernetes=dict(item.get("kubernetes") or {}),
            certificate_path=item.get("certificate_path"),
        )

    @property
    def label(self) -> str:
        return f"{self.name} (namespace {self.namespace})"


def target_problems(targets: list[EnvoyTarget], wait: bool) -> list[str]:
    names = [t.name for t in targets]
    found = [f"envoy {n!r} is listed more than once" for n in sorted({n for n in names if names.count(n) > 1})]
    for target in targets:
        if target.kubefate is None and not target.skip and (target.job_uuid or not wait):
            why = f"job_uuid {target.job_uuid} is set" if target.job_uuid else "wait=false reads its KubeFATE cluster"
            found.append(f"envoy {target.name}: kubefate (the connection) is required: {why}")
    return found


@dataclass
class Verdict:
    failed: bool
    msg: str
    reasons: list[str]
    registered: bool = False
    skipped: bool = False
    job: dict[str, Any] | None = None
    cluster_status: str | None = None
    containers: list[dict[str, Any]] = field(default_factory=list)
    log_excerpt: list[str] = field(default_factory=list)
    certificate_expires: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "failed": self.failed,
            "skipped": self.skipped,
            "msg": self.msg,
            "reasons": list(self.reasons),
            "registered": self.registered,
            "job": self.job,
            "cluster_status": self.cluster_status,
            "containers": [{k: c[k] for k in ("pod", "ready", "state")} for c in self.containers],
            "restarts": [c["restarts"] for c in self.containers],
            "log_excerpt": list(self.log_excerpt),
            "certificate_expires": self.certificate_expires,
        }


def skipped(target: EnvoyTarget) -> Verdict:
    return Verdict(False, f"{target.name}: not checked (check mode predicted a change)", [], skipped=True)


# ---------------------------------------------------------------------------------------------
# Pure helpers


def envoy_containers(pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``envoy`` container of each live pod, oldest pod first: pod, ready, state, restarts."""
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    live.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "")
    return [
        {
            "pod": pod["metadata"]["name"],
            "ready": bool(status.get("ready")),
            "state": status.get("state") or {},
            "restarts": int(status.get("restartCount") or 0),
        }
        for pod in live
        for status in (pod.get("status") or {}).get("containerStatuses") or []
        if status.get("name") == ENVOY_CONTAINER
    ]


def waiting_reason(container: dict[str, Any]) -> str:
    return str((container["state"].get("waiting") or {}).get("reason") or "")


def stuck_reasons(containers: list[dict[str, Any]], fatal: Iterable[str]) -> list[str]:
    fatal = set(fatal)
    return [waiting_reason(c) for c in containers if waiting_reason(c) in fatal]


def log_lines(text: str | None) -> list[str]:
    return [line for line in (text or "").split("\n") if line]


def error_lines(lines: list[str], options: HealthOptions) -> list[str]:
    return [
        line
        for line in lines
        if not any(p.search(line) for p in options.ignores) and any(p.search(line) for p in options.errors)
    ]


def find_marker(lines: list[str], markers: Iterable[str]) -> str | None:
    return next((m for m in markers if any(m in line for line in lines)), None)


def deployment_available(deployment: dict[str, Any] | None) -> bool:
    conditions = ((deployment or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


def job_finished(job: dict[str, Any]) -> bool:
    """KubeFATE wrote the job's end time (Go's zero time means: not yet)."""
    end = str(job.get("end_time") or "")
    return bool(end) and not end.startswith("0001-01-01")


def seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def no_marker_text(markers: tuple[str, ...], timeout: float) -> str:
    others = "".join(f' (nor "{m}")' for m in markers[1:])
    return f'no "{markers[0]}" in the envoy log within {seconds(timeout)}s{others}'


def log_tail(lines: list[str], count: int) -> list[str]:
    return lines[max(0, len(lines) - count) :] if count else []


def tail_text(lines: list[str]) -> str:
    return " | ".join(lines) or "(none)"


def pod_states(containers: list[dict[str, Any]]) -> tuple[str, str]:
    """The container states and restart counts as JSON, as the role's messages show them."""
    return json.dumps([c["state"] for c in containers]), json.dumps([c["restarts"] for c in containers])


def job_pod_text(containers: list[dict[str, Any]], lines: list[str]) -> str:
    """wait.yml's report of the envoy pod after a job failure."""
    states, restarts = pod_states(containers)
    pod = f"container states {states}, restarts {restarts}" if containers else NO_POD
    return f"Envoy pod: {pod}. Last log lines: {tail_text(lines)}"


def health_pod_text(containers: list[dict[str, Any]], lines: list[str]) -> str:
    """health.yml's report of the envoy pod after a failed check."""
    states, restarts = pod_states(containers)
    return f"Container states: {states}, restarts: {restarts}. Last log lines: {tail_text(lines)}"


def failure_text(reason: str, lines: list[str], notes: list[str]) -> tuple[str, list[str]]:
    """(text, reasons) of a failure; why the envoy's log says its shard was not registered leads the reasons."""
    rejected = names.rejection(lines)
    if rejected is None or rejected == reason:
        return reason, [reason, *notes]
    return f"{reason}. {rejected[0].upper()}{rejected[1:]}", [rejected, reason, *notes]


def log_source(containers: list[dict[str, Any]], fatal: Iterable[str]) -> dict[str, Any] | None:
    """Whose log explains the state: a container that cannot run, else the newest."""
    fatal = set(fatal)
    stuck = [c for c in containers if waiting_reason(c) in fatal]
    return (stuck or containers or [None])[-1]


# ---------------------------------------------------------------------------------------------
# The check


@dataclass
class _Watch:
    """One envoy's progress through the wait."""

    target: EnvoyTarget
    phase: str = JOB
    job: dict[str, Any] | None = None
    failed_since: float | None = None
    deadline: float = 0.0
    pods: int = 0
    containers: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    marker: str | None = None
    verdict: Verdict | None = None


class EnvoyHealth:
    """``wait()``: the verdict per envoy after polling all of them in one loop; ``snapshot()``: the
    same facts read once. Factories and the clock are injectable (unit tests use fakes)."""

    def __init__(
        self,
        targets: list[EnvoyTarget],
        options: HealthOptions,
        kubefate_factory: Callable[[dict[str, Any]], KubefateService] | None = None,
        kube_factory: Callable[[str | None, str | None], KubeReader] = kube_reader_from_config,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.targets = targets
        self.options = options
        self._make_kubefate = kubefate_factory or self._kubefate_service
        self._make_kube = kube_factory
        self._clock, self._sleep = clock, sleep
        self._endpoints: dict[tuple[Any, ...], Endpoint] = {}

    # -- endpoints ---------------------------------------------------------------------------

    def _kubefate_service(self, params: dict[str, Any]) -> KubefateService:
        client = KubefateClient.from_params(params, retries=KUBEFATE_RETRIES, sleep=self._sleep)
        return KubefateService(client, sleep=self._sleep, clock=self._clock)

    def _kubefate_reader(self, params: dict[str, Any]) -> KubefateReader:
        try:
            return KubefateReader(self._make_kubefate(params))
        except KubefateError as err:
            raise EndpointError(f"KubeFATE at {params.get('url')}: {err.msg}") from None

    def kubefate(self, target: EnvoyTarget) -> Endpoint:
        params = target.kubefate or {}
        key = ("kubefate", *service_key(params))
        if key not in self._endpoints:
            self._endpoints[key] = Endpoint(lambda: self._kubefate_reader(params))
        return self._endpoints[key]

    def kube(self, target: EnvoyTarget) -> Endpoint:
        kubeconfig, context = target.kubernetes.get("kubeconfig"), target.kubernetes.get("context")
        key = ("kubernetes", kubeconfig, context)
        if key not in self._endpoints:
            self._endpoints[key] = Endpoint(lambda: self._make_kube(kubeconfig, context))
        return self._endpoints[key]

    def _read_pods(self, watch: _Watch) -> None:
        pods = self.kube(watch.target).use(lambda api: api.pods(watch.target.namespace))
        watch.pods, watch.containers = len(pods), envoy_containers(pods)

    def _read_log(self, watch: _Watch, pod: str, previous: bool = False, tail: int | None = None) -> list[str]:
        namespace = watch.target.namespace
        return log_lines(self.kube(watch.target).use(lambda api: api.log(namespace, pod, previous, tail)))

    # -- wait --------------------------------------------------------------------------------

    def wait(self) -> dict[str, Verdict]:
        started = self._clock()
        watches = [_Watch(t, JOB if t.job_uuid else HEALTH) for t in self.targets]
        for watch in watches:
            watch.deadline = started + (self.options.job_timeout if watch.phase == JOB else self.options.health_timeout)
            if watch.target.skip:
                watch.verdict = skipped(watch.target)
        pause = FIRST_PAUSE
        while True:
            for watch in [w for w in watches if w.verdict is None]:
                self._step(watch, started)
            active = [w for w in watches if w.verdict is None]
            if not active:
                return {w.target.name: w.verdict for w in watches if w.verdict is not None}
            nearest = min(w.deadline for w in active) - self._clock()
            self._sleep(max(0.0, min(pause, nearest)))
            pause = min(self.options.interval, pause * 1.5)

    def _step(self, watch: _Watch, started: float) -> None:
        try:
            if watch.phase == JOB:
                self._poll_job(watch, started)
            if watch.phase == HEALTH and watch.verdict is None:
                self._poll_health(watch)
        except HealthError as err:
            target = watch.target
            watch.verdict = Verdict(True, f"{target.label}: {err.msg}", [err.msg], job=job_summary(watch.job))

    def _poll_job(self, watch: _Watch, started: float) -> None:
        target = watch.target
        job = watch.job = self.kubefate(target).use(lambda api: api.job(target.job_uuid))
        status, now = job.get("status"), self._clock()
        if status == "Success":
            watch.phase, watch.deadline = HEALTH, now + self.options.health_timeout
            return
        if self._job_ended(watch, now):
            return self._end(watch, job_ended_text(str(target.job_uuid), job))
        if now - started >= self.options.job_grace:
            self._read_pods(watch)
            stuck = stuck_reasons(watch.containers, self.options.fatal_reasons)
            if stuck:
                reason = (
                    f"the envoy container cannot run ({', '.join(stuck)}) while KubeFATE job {target.job_uuid}"
                    f" is {status}; states: {format_states(job)}"
                )
                return self._end(watch, reason)
        if now >= watch.deadline:
            self._end(watch, job_still_text(str(target.job_uuid), job, self.options.job_timeout))

    def _job_ended(self, watch: _Watch, now: float) -> bool:
        job = watch.job or {}
        if job.get("status") != "Failed":
            watch.failed_since = None
            return job.get("status") in FAILED_JOB_STATUSES
        if job_finished(job):
            return True
        if watch.failed_since is None:
            watch.failed_since = now
        return now - watch.failed_since >= self.options.settle

    def _poll_health(self, watch: _Watch) -> None:
        target, options = watch.target, self.options
        self._read_pods(watch)
        stuck = stuck_reasons(watch.containers, options.fatal_reasons)
        if stuck:
            return self._end(watch, f"the envoy container cannot run ({', '.join(stuck)})")
        ready = [c for c in watch.containers if c["ready"]]
        if ready and watch.marker is None:
            watch.lines = self._read_log(watch, ready[-1]["pod"])
            errors = error_lines(watch.lines, options)
            rejected = names.rejection(watch.lines)
            if rejected or errors:
                return self._end(watch, rejected or f"error in the envoy log: {errors[0].strip()}")
            watch.marker = find_marker(watch.lines, options.markers)
        if ready and watch.marker is not None:
            deployment = self.kube(target).use(lambda api: api.deployment(target.namespace))
            if deployment_available(deployment):
                return self._healthy(watch)
        if self._clock() >= watch.deadline:
            self._end(watch, self._missing(watch, bool(ready)))

    def _missing(self, watch: _Watch, ready: bool) -> str:
        timeout = self.options.health_timeout
        if not watch.pods:
            return f"no envoy pod (label {ENVOY_SELECTOR}) within {seconds(timeout)}s"
        if not ready:
            return f"the envoy container was not ready within {seconds(timeout)}s"
        if watch.marker is None:
            return no_marker_text(self.options.markers, timeout)
        return f"Deployment {ENVOY_DEPLOYMENT} was not Available within {seconds(timeout)}s"

    # -- verdicts ----------------------------------------------------------------------------

    def _failure_log(self, watch: _Watch) -> tuple[list[str], list[str]]:
        """Fresh container states and the last FAILURE_LOG_LINES log lines (of the crashed instance
        when it restarted); (lines, notes) where notes say what could not be read."""
        try:
            self._read_pods(watch)
            source = log_source(watch.containers, self.options.fatal_reasons)
            if source is None:
                return [], []
            return self._read_log(watch, source["pod"], source["restarts"] > 0, FAILURE_LOG_LINES), []
        except HealthError as err:
            return [], [err.msg]

    def _end(self, watch: _Watch, reason: str) -> None:
        """The failure verdict, worded as wait.yml (job phase) or health.yml (health phase) did."""
        job = watch.phase == JOB
        log, notes = self._failure_log(watch)
        text, reasons = failure_text(reason, log, notes)
        lines = log_tail(log, self.options.excerpt_lines)
        pod = (job_pod_text if job else health_pod_text)(watch.containers, lines)
        msg = f"{watch.target.name if job else watch.target.label}: {text}. {pod}"
        registered, summary = watch.marker is not None, job_summary(watch.job)
        watch.verdict = Verdict(
            True, msg, reasons, registered, job=summary, containers=watch.containers, log_excerpt=lines
        )

    def _healthy(self, watch: _Watch) -> None:
        reasons = [f"KubeFATE job {watch.target.job_uuid} Success"] if watch.job else []
        reasons += ["the envoy container is ready", f'"{watch.marker}" in the envoy log']
        reasons.append(f"Deployment {ENVOY_DEPLOYMENT} is Available")
        watch.verdict = Verdict(
            False,
            f"{watch.target.label}: healthy: {'; '.join(reasons)}",
            reasons,
            registered=True,
            job=job_summary(watch.job),
            containers=watch.containers,
            log_excerpt=log_tail(watch.lines, self.options.excerpt_lines),
        )

    # -- snapshot ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Verdict]:
        """Per envoy, once: KubeFATE cluster status and latest job, container states, whether the
        log holds a marker. An unhealthy envoy is no failure; ``failed`` means: could not read."""
        return {t.name: skipped(t) if t.skip else self._snapshot(t) for t in self.targets}

    def _snapshot(self, target: EnvoyTarget) -> Verdict:
        watch, notes, failed = _Watch(target), [], False
        cluster: dict[str, Any] | None = None
        try:
            cluster, watch.job = self.kubefate(target).use(lambda api: api.record(target.name, target.namespace))
        except HealthError as err:
            notes, failed = [err.msg], True
        try:
            self._read_pods(watch)
            newest = watch.containers[-1] if watch.containers else None
            watch.lines = self._read_log(watch, newest["pod"]) if newest else []
            notes += self._observations(watch)
        except HealthError as err:
            notes, failed = [*notes, err.msg], True
        watch.marker = find_marker(watch.lines, self.options.markers)
        status = (cluster or {}).get("status")
        job_status = (watch.job or {}).get("status")
        state = "registered" if watch.marker else "not registered"
        msg = f"{target.label}: KubeFATE cluster {status or 'absent'}, job {job_status or 'none'}, {state}"
        return Verdict(
            failed,
            msg + "".join(f"; {n}" for n in notes),
            notes,
            registered=watch.marker is not None,
            job=job_summary(watch.job),
            cluster_status=status,
            containers=watch.containers,
            log_excerpt=log_tail(watch.lines, self.options.excerpt_lines),
            certificate_expires=certificate_expiry(target.certificate_path),
        )

    def _observations(self, watch: _Watch) -> list[str]:
        """What is wrong with the envoy right now (for the snapshot's reasons)."""
        stuck = stuck_reasons(watch.containers, self.options.fatal_reasons)
        if stuck:
            return [f"the envoy container cannot run ({', '.join(stuck)})"]
        if not watch.pods:
            return [f"no envoy pod (label {ENVOY_SELECTOR})"]
        found = [] if any(c["ready"] for c in watch.containers) else ["the envoy container is not ready"]
        errors, rejected = error_lines(watch.lines, self.options), names.rejection(watch.lines)
        found += [rejected] if rejected else [f"error in the envoy log: {errors[0].strip()}"] if errors else []
        if find_marker(watch.lines, self.options.markers) is None:
            found.append(f'no "{self.options.markers[0]}" in the envoy log')
        return found
