# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes connection of the collection's modules: one API client per (kubeconfig, context).

Objects travel as plain dicts (the API's JSON, ``_preload_content=False``) rather than the
client's model classes: what the modules compare and return is what ``kubectl get -o json``
shows. Requests are retried once at most and time out, so an API server that is down fails a
run at once; such failures name the API server, so that nobody blames an envoy for an
unreachable cluster.
"""

from __future__ import annotations

import json
from typing import Any

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as TransportError
    from urllib3.exceptions import MaxRetryError

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR: str | None = None
except ImportError as err:  # pragma: no cover - the modules report it with missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = str(err)
    k8s_client = k8s_config = None

    class ApiException(Exception):  # type: ignore[no-redef]
        status = 0

    class ConfigException(Exception):  # type: ignore[no-redef]
        pass

    class TransportError(Exception):  # type: ignore[no-redef]
        pass

    class MaxRetryError(TransportError):  # type: ignore[no-redef]
        pass


REQUEST_RETRIES = 1  # urllib3's retries per request
REQUEST_TIMEOUT = 10  # seconds


class K8sError(Exception):
    """A Kubernetes call failed. ``status`` is the HTTP status, None when the API server could not
    be used at all (unreachable, TLS, kubeconfig); ``detail`` is the server's message or the reason."""

    def __init__(self, msg: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.detail = detail or msg


def api_message(err: Any) -> str:
    """The API server's own message (its Status object), else the HTTP reason."""
    try:
        return str(json.loads(err.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return str(err.reason)


def transport_reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) if isinstance(err, MaxRetryError) else None
    return str(reason or err)


def new_api_client(kubeconfig: str | None, context: str | None) -> Any:
    """An ApiClient of its own for (kubeconfig, context), with urllib3's retries cut to one."""
    where = f"kubeconfig {kubeconfig or '(default)'}, context {context or '(current)'}"
    if not HAS_KUBERNETES:
        raise K8sError(f"{where}: the kubernetes Python package is missing: {KUBERNETES_IMPORT_ERROR}")
    configuration = type.__call__(k8s_client.Configuration)
    configuration.retries = REQUEST_RETRIES
    try:
        return k8s_config.new_client_from_config(
            config_file=kubeconfig, context=context, persist_config=False, client_configuration=configuration
        )
    except (ConfigException, OSError, ValueError, TypeError) as err:
        raise K8sError(f"{where}: {err}") from None


def call(endpoint: str, what: str, method: Any, *args: Any, raw: bool = False, **kwargs: Any) -> Any:
    """One typed API call as JSON (``raw``: as text); None for 404. ``endpoint`` and ``what`` name it in errors."""
    try:
        answer = method(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
    except ApiException as err:
        if err.status == 404:
            return None
        if not err.status:
            raise K8sError(f"cannot reach {endpoint}: {err.reason}", None, str(err.reason)) from None
        message = api_message(err)
        raise K8sError(f"{endpoint} answered HTTP {err.status} to {what}: {message}", err.status, message) from None
    except (TransportError, OSError) as err:
        reason = transport_reason(err)
        raise K8sError(f"cannot reach {endpoint}: {reason}", None, reason) from None
    text = answer.data.decode("utf-8", errors="replace")
    if raw:
        return text
    return json.loads(text) if text else {}


class K8sApi:
    """Core objects of one namespace at a time, as dicts, over one API client."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        self.api_client = new_api_client(kubeconfig, context)
        self.core = k8s_client.CoreV1Api(self.api_client)
        host = self.api_client.configuration.host
        self.endpoint = f"the Kubernetes API at {host}" + (f" (context {context})" if context else "")

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return call(self.endpoint, what, getattr(self.core, method), *args, **kwargs)

    def namespace(self, name: str) -> dict[str, Any] | None:
        return self._call(f"read namespace {name}", "read_namespace", name)

    def create_namespace(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(f"create namespace {body['metadata']['name']}", "create_namespace", body)

    def patch_namespace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(f"patch namespace {name}", "patch_namespace", name, body)

    def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """``kind`` is ``secret`` or ``config_map`` (the client's method names)."""
        return self._call(f"read {kind} {namespace}/{name}", f"read_namespaced_{kind}", name, namespace)

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        return self._call(f"create {kind} {namespace}/{name}", f"create_namespaced_{kind}", namespace, body)

    def replace(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        return self._call(f"replace {kind} {namespace}/{name}", f"replace_namespaced_{kind}", name, namespace, body)

    def delete(self, kind: str, namespace: str, name: str) -> Any:
        return self._call(f"delete {kind} {namespace}/{name}", f"delete_namespaced_{kind}", name, namespace)


class K8sConnections:
    """One K8sApi per (kubeconfig, context), made on first use and shared by every envoy."""

    def __init__(self) -> None:
        self._apis: dict[tuple[str | None, str | None], K8sApi] = {}

    def get(self, kubeconfig: str | None, context: str | None) -> K8sApi:
        key = (kubeconfig or None, context or None)
        if key not in self._apis:
            self._apis[key] = K8sApi(*key)
        return self._apis[key]
