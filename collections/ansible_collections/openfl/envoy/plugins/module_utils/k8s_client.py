# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes connection of the collection's modules: one API client per (kubeconfig, context).

Objects travel as plain dicts (JSON in, JSON out) rather than the client's model classes: what the
modules compare and return is what ``kubectl get -o json`` shows. Transport failures become
``K8sError`` naming the API server, so that nobody blames an envoy for an unreachable cluster.
"""

from __future__ import annotations

import json
from typing import Any

try:
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException

    HAS_KUBERNETES = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_KUBERNETES = False


class K8sError(Exception):
    """A Kubernetes call failed; ``status`` is the HTTP status (None when the API did not answer)."""

    def __init__(self, msg: str, status: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status


class K8sApi:
    """Namespaced reads and writes of core and apps objects, as dicts, over one API client."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        if not HAS_KUBERNETES:
            raise K8sError("the kubernetes Python package is required (pip install kubernetes)")
        try:
            self.api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        except Exception as exc:  # the loader raises ConfigException, OSError, yaml errors
            where = f"kubeconfig {kubeconfig or '(default)'}" + (f", context {context}" if context else "")
            raise K8sError(f"cannot load {where}: {exc}") from None
        self.server = self.api_client.configuration.host

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list | None = None,
        raw: bool = False,
        content_type: str = "application/json",
    ) -> Any:
        """One request; None for 404. Raises K8sError for other API errors and transport errors."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            status, data = self._send(method, path, body, query or [], headers)
        except ApiException as exc:  # older clients raise for every non-2xx answer
            status, data = exc.status, exc.body or ""
        except Exception as exc:  # urllib3 connection, TLS and time-out errors
            reason = f"{type(exc).__name__}: {exc}"
            raise K8sError(f"the Kubernetes API at {self.server} did not answer ({reason})") from None
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if status == 404:
            return None
        if status >= 400:
            raise K8sError(f"{method} {path} on {self.server}: {status} {_api_message(data)}", status)
        return data if raw else (json.loads(data) if data else {})

    def _send(self, method: str, path: str, body: Any, query: list, headers: dict[str, str]) -> tuple[int, Any]:
        client = self.api_client
        if hasattr(client, "param_serialize"):  # kubernetes >= 33
            request = client.param_serialize(
                method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = client.call_api(*request)
            response.read()
            return response.status, response.data
        response = client.call_api(
            path,
            method,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=False,
        )[0]
        return response.status, response.data

    def get(self, path: str) -> dict[str, Any] | None:
        return self._call("GET", path)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, body)

    def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", path, body, content_type="application/merge-patch+json")

    def log(self, namespace: str, pod: str, container: str, previous: bool = False, tail: int | None = None) -> str:
        query: list = [("container", container)]
        if previous:
            query.append(("previous", "true"))
        if tail:
            query.append(("tailLines", str(tail)))
        return self._call("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query, raw=True) or ""


def _api_message(body: Any) -> str:
    """The ``message`` of a Kubernetes Status, or the start of the body."""
    try:
        return str(json.loads(body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(body)[:300]


class K8sConnections:
    """One K8sApi per (kubeconfig, context), made on first use and shared by every envoy."""

    def __init__(self) -> None:
        self._apis: dict[tuple[str | None, str | None], K8sApi] = {}

    def get(self, kubeconfig: str | None, context: str | None) -> K8sApi:
        key = (kubeconfig or None, context or None)
        if key not in self._apis:
            self._apis[key] = K8sApi(*key)
        return self._apis[key]
