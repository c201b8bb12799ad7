"""How the KubeFATE test double talks to Kubernetes: the `kubernetes` Python client over HTTP.

Raw JSON in and out (no model classes), with a small discovery cache to turn a manifest's
apiVersion/kind into a REST path, as Helm's REST mapper does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes import client


class KubeError(Exception):
    """A failed Kubernetes call; `status` is the HTTP code (0 when unreachable), message the Status text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Mapping:
    plural: str
    namespaced: bool
    api_version: str

    def path(self, namespace: str, name: str = "") -> str:
        prefix = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced:
            prefix += f"/namespaces/{quote(namespace)}"
        prefix += f"/{self.plural}"
        return f"{prefix}/{quote(name)}" if name else prefix


class KubeClient:
    """A thread-safe JSON client of one Kubernetes API (bearer token)."""

    def __init__(self, url: str, token: str) -> None:
        configuration = client.Configuration()
        configuration.host = url
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        self._api = client.ApiClient(configuration)
        self._mappings: dict[tuple[str, str], Mapping] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._api.close()

    def request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        try:
            _method, url, headers, payload, _files = self._api.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()),
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(method, url, header_params=headers, body=payload, _request_timeout=30)
            raw = response.read()
        except client.ApiException as error:
            raise KubeError(error.status or 0, _status_message(error.body, error.reason)) from None
        except Exception as error:  # connection refused, timeouts: the API is unreachable
            raise KubeError(0, str(error)) from None
        if response.status >= 400:
            raise KubeError(response.status, _status_message(raw, response.reason))
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")  # pod logs are plain text

    # -- discovery -------------------------------------------------------------------------------
    def mapping(self, api_version: str, kind: str) -> Mapping:
        with self._lock:
            if (api_version, kind) not in self._mappings:
                self._discover(api_version)
            found = self._mappings.get((api_version, kind))
        if found is None:
            raise KubeError(404, f'no matches for kind "{kind}" in version "{api_version}"')
        return found

    def _discover(self, api_version: str) -> None:
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        try:
            listing = self.request("GET", path)
        except KubeError as error:
            if error.status == 404:
                return
            raise
        for entry in listing.get("resources", []):
            if "/" not in entry["name"]:
                self._mappings[(api_version, entry["kind"])] = Mapping(entry["name"], entry["namespaced"], api_version)

    # -- conveniences ----------------------------------------------------------------------------
    def get(self, mapping: Mapping, namespace: str, name: str) -> dict | None:
        try:
            return self.request("GET", mapping.path(namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str, selector: str = "") -> list[dict]:
        query = {"labelSelector": selector} if selector else None
        return self.request("GET", self.mapping(api_version, kind).path(namespace), query=query).get("items") or []

    def namespaces(self) -> list[dict]:
        return self.request("GET", "/api/v1/namespaces").get("items") or []


def _status_message(body: Any, reason: str | None) -> str:
    try:
        status = json.loads(body)
        return str(status.get("message") or reason or "")
    except (TypeError, ValueError, AttributeError):
        return str(body or reason or "")
