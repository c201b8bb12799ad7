# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the envoy health check reads, from the two APIs: the envoy's KubeFATE job and cluster record,
and its pods, log and Deployment from Kubernetes. Errors of either API become ``HealthError`` (one
call failed: the message names the endpoint and the call) or ``EndpointError`` (the endpoint cannot
be used at all: transport, TLS, credentials, kubeconfig), which ``Endpoint`` remembers so that every
envoy behind it stops at once. The state machine is in ``envoy_health``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.openfl.envoy.plugins.module_utils import envoy as names
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import (
    K8sError,
    RestApi,
    call,
    new_api_client,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate import (
    KubefateAuthError,
    KubefateError,
    KubefateTransportError,
)
from ansible_collections.openfl.envoy.plugins.module_utils.kubefate_service import KubefateService

# The envoy's fixed objects (the chart's names).
ENVOY_SELECTOR = names.POD_LABEL_SELECTOR
ENVOY_CONTAINER = names.CONTAINER_NAME
ENVOY_DEPLOYMENT = names.DEPLOYMENT_NAME


class HealthError(Exception):
    """A read failed for one envoy (the message names the endpoint and the call)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class EndpointError(HealthError):
    """An endpoint cannot be used (unreachable, TLS, credentials, bad kubeconfig): every envoy behind
    it stops at once with this message."""


class KubefateReader:
    """What the health check reads from one KubeFATE service, over the collection's client; the
    cluster and job listings are read once and shared by every envoy of the service."""

    def __init__(self, service: KubefateService) -> None:
        self.service = service
        self.url = service.client.base_url
        self._listing: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None

    def _read(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except KubefateAuthError as err:
            raise EndpointError(f"KubeFATE at {self.url}: {err.msg}") from None
        except KubefateError as err:
            if isinstance(err, KubefateTransportError) or err.status is None:
                raise EndpointError(f"cannot reach KubeFATE at {self.url}: {err.msg}") from None
            raise HealthError(f"KubeFATE at {self.url}: {what}: {err.msg}") from None

    def job(self, job_uuid: str) -> dict[str, Any]:
        return self._read(f"job {job_uuid}", lambda: self.service.get_job(job_uuid))

    def record(self, name: str, namespace: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(cluster, its latest job) as KubefateService matches them, from the shared listing."""
        if self._listing is None:
            clusters = self._read("list clusters", self.service.list_clusters)
            self._listing = (clusters, self._read("list jobs", self.service.list_jobs))
        clusters, jobs = self._listing
        cluster = self.service.find_cluster(name, namespace, clusters)
        return cluster, self.service.latest_job(cluster, name, namespace, jobs)


class KubeReader:
    """The envoy's pods, log and Deployment from one Kubernetes API server (raw JSON, no models)."""

    def __init__(self, core: Any, apps: Any, host: str, context: str | None = None) -> None:
        self.core, self.apps = core, apps
        self.endpoint = f"the Kubernetes API at {host}" + (f" (context {context})" if context else "")

    def _read(self, what: str, method: Callable[..., Any], *args: Any, missing: tuple[int, ...] = (), **kw: Any) -> Any:
        """One read (None for 404 and the ``missing`` statuses)."""
        try:
            return call(self.endpoint, what, method, *args, **kw)
        except K8sError as err:
            if err.status in missing:
                return None
            if err.status is None:
                raise EndpointError(err.msg) from None
            raise HealthError(err.msg) from None

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        answer = self._read(
            f"list pods in {namespace}", self.core.list_namespaced_pod, namespace, label_selector=ENVOY_SELECTOR
        )
        return list((answer or {}).get("items") or [])

    def log(self, namespace: str, pod: str, previous: bool = False, tail: int | None = None) -> str | None:
        """The container's log; None while it has none (waiting to start, no previous instance)."""
        extra: dict[str, Any] = {"previous": True} if previous else {}
        if tail is not None:
            extra["tail_lines"] = tail
        what = f"read the log of pod {pod} in {namespace}"
        method = self.core.read_namespaced_pod_log
        text = self._read(what, method, pod, namespace, container=ENVOY_CONTAINER, missing=(400,), raw=True, **extra)
        if text is None and previous:
            return self.log(namespace, pod, False, tail)
        return text

    def deployment(self, namespace: str) -> dict[str, Any] | None:
        what = f"read Deployment {ENVOY_DEPLOYMENT} in {namespace}"
        return self._read(what, self.apps.read_namespaced_deployment, ENVOY_DEPLOYMENT, namespace)


def kube_reader_from_config(kubeconfig: str | None, context: str | None) -> KubeReader:
    """A reader over an ApiClient of its own for (kubeconfig, context)."""
    try:
        api = new_api_client(kubeconfig, context)
    except K8sError as err:
        raise EndpointError(err.msg) from None
    rest = RestApi(api)
    return KubeReader(rest, rest, api.configuration.host, context)


class Endpoint:
    """One reader per endpoint, shared by every envoy behind it. Once it failed as a whole, every
    later use fails at once with the same message (no retry storm, no second time-out)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.down: str | None = None
        self.api: Any = None
        try:
            self.api = make()
        except EndpointError as err:
            self.down = err.msg

    def use(self, call: Callable[[Any], Any]) -> Any:
        if self.down is not None:
            raise EndpointError(self.down)
        try:
            return call(self.api)
        except EndpointError as err:
            self.down = err.msg
            raise
