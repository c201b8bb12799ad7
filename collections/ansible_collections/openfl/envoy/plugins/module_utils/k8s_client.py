# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes connection of the collection's modules: one API client per (kubeconfig, context).

Objects travel as plain dicts (the API's JSON) rather than the client's model classes: what the
modules compare and return is what ``kubectl get -o json`` shows. Requests go out through the
client's ApiClient (its kubeconfig, TLS and token handling) by path, not through the typed API
classes: in kubernetes >= 37 those import several hundred model classes, about half a second of
every module process, for JSON that is never turned into a model. Requests are retried once at
most and time out, so an API server that is down fails a run at once; such failures name the
API server, so that nobody blames an envoy for an unreachable cluster.
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
    """One API call as JSON (``raw``: as text); None for 404. ``endpoint`` and ``what`` name it in errors."""
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


def endpoint_name(api_client: Any, context: str | None) -> str:
    """How errors name the API server."""
    return f"the Kubernetes API at {api_client.configuration.host}" + (f" (context {context})" if context else "")


class RestApi:
    """Requests by path over an ApiClient, answering like the typed client with
    ``_preload_content=False`` (a response with ``.data``; ApiException for a status other than 2xx).
    The few typed calls the readers make keep their names, so readers and their test fakes agree."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
        _preload_content: bool = False,
        _request_timeout: Any = None,
    ) -> Any:
        headers = {"Accept": "application/json, */*"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in (query or {}).items() if v is not None]
        client = self.api_client
        if not hasattr(client, "param_serialize"):  # kubernetes < 37 (the legacy generator)
            return client.call_api(
                path, method, query_params=params, header_params=headers, body=body, auth_settings=["BearerToken"],
                _preload_content=False, _return_http_data_only=True, _request_timeout=_request_timeout,
            )  # fmt: skip
        serialized = client.param_serialize(
            method, path, query_params=params, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        answer = client.call_api(*serialized, _request_timeout=_request_timeout)
        answer.read()
        if not 200 <= answer.status <= 299:
            raise ApiException.from_response(http_resp=answer, body=None, data=None)
        return answer.response

    def list_namespaced_pod(self, namespace: str, label_selector: str | None = None, **kw: Any) -> Any:
        query = {"labelSelector": label_selector}
        return self.request("GET", f"/api/v1/namespaces/{namespace}/pods", query=query, **kw)

    def read_namespaced_pod_log(
        self, name: str, namespace: str, container: str | None = None, previous: bool | None = None,
        tail_lines: int | None = None, **kw: Any,
    ) -> Any:  # fmt: skip
        query = {"container": container, "previous": previous, "tailLines": tail_lines}
        return self.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}/log", query=query, **kw)

    def read_namespaced_deployment(self, name: str, namespace: str, **kw: Any) -> Any:
        return self.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", **kw)

    def read_namespaced_service(self, name: str, namespace: str, **kw: Any) -> Any:
        return self.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}", **kw)

    def list_node(self, **kw: Any) -> Any:
        return self.request("GET", "/api/v1/nodes", **kw)

    def get_code(self, **kw: Any) -> Any:
        return self.request("GET", "/version/", **kw)

    def create_self_subject_access_review(self, body: dict[str, Any], **kw: Any) -> Any:
        return self.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, **kw)


# The plural of each namespaced kind K8sApi writes, in the API's paths.
PLURALS = {"secret": "secrets", "config_map": "configmaps"}


class K8sApi:
    """Core objects of one namespace at a time, as dicts, over one API client."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        api_client = new_api_client(kubeconfig, context)
        self.rest = RestApi(api_client)
        self.endpoint = endpoint_name(api_client, context)

    def _call(self, what: str, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return call(self.endpoint, what, self.rest.request, method, path, body, **kwargs)

    def namespace(self, name: str) -> dict[str, Any] | None:
        return self._call(f"read namespace {name}", "GET", f"/api/v1/namespaces/{name}")

    def create_namespace(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(f"create namespace {body['metadata']['name']}", "POST", "/api/v1/namespaces", body)

    def patch_namespace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        # A dict body is a strategic merge patch, as the typed client sends it.
        what, path = f"patch namespace {name}", f"/api/v1/namespaces/{name}"
        return self._call(what, "PATCH", path, body, content_type="application/strategic-merge-patch+json")

    def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """``kind`` is ``secret`` or ``config_map``."""
        return self._call(f"read {kind} {namespace}/{name}", "GET", self._path(kind, namespace, name))

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        return self._call(f"create {kind} {namespace}/{name}", "POST", self._path(kind, namespace), body)

    def replace(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        return self._call(f"replace {kind} {namespace}/{name}", "PUT", self._path(kind, namespace, name), body)

    def delete(self, kind: str, namespace: str, name: str) -> Any:
        return self._call(f"delete {kind} {namespace}/{name}", "DELETE", self._path(kind, namespace, name))

    @staticmethod
    def _path(kind: str, namespace: str, name: str = "") -> str:
        return f"/api/v1/namespaces/{namespace}/{PLURALS[kind]}" + (f"/{name}" if name else "")


class K8sConnections:
    """One K8sApi per (kubeconfig, context), made on first use and shared by every envoy."""

    def __init__(self) -> None:
        self._apis: dict[tuple[str | None, str | None], K8sApi] = {}

    def get(self, kubeconfig: str | None, context: str | None) -> K8sApi:
        key = (kubeconfig or None, context or None)
        if key not in self._apis:
            self._apis[key] = K8sApi(*key)
        return self._apis[key]
