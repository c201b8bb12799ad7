# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RestApi over both ApiClient generations: the legacy one (kubernetes < 37) and the current one.
The sandbox tests use the installed client; these pin what each generation is asked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from ansible_collections.openfl.envoy.plugins.module_utils.k8s_client import ApiException, RestApi, call


class LegacyClient:
    """kubernetes < 37: call_api(resource_path, method, ...) returns the raw urllib3 response."""

    def __init__(self, status: int = 200, data: bytes = b"{}") -> None:
        self.status, self.data, self.calls = status, data, []

    def call_api(self, resource_path: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((method, resource_path, kwargs))
        if not 200 <= self.status <= 299:
            raise ApiException(status=self.status, reason="Forbidden")
        return SimpleNamespace(data=self.data)


class CurrentClient:
    """kubernetes >= 37: param_serialize(), then call_api() returning a RESTResponse."""

    def __init__(self, status: int = 200, data: bytes = b"{}") -> None:
        self.status, self.data, self.serialized = status, data, []

    def param_serialize(self, method: str, resource_path: str, **kwargs: Any) -> tuple:
        self.serialized.append((method, resource_path, kwargs))
        return (method, f"https://api.example{resource_path}", kwargs["header_params"], kwargs["body"], None)

    def call_api(self, method: str, url: str, headers: Any, body: Any, post: Any, _request_timeout: Any) -> Any:
        raw = SimpleNamespace(status=self.status, reason="Forbidden", data=self.data, headers={})
        return SimpleNamespace(
            status=self.status, reason="Forbidden", headers={}, response=raw, read=lambda: raw.data, data=raw.data
        )


def test_legacy_client_is_asked_by_path_with_the_bearer_token():
    client = LegacyClient(data=b'{"items": []}')
    answer = call("api", "list pods", RestApi(client).list_namespaced_pod, "ns", label_selector="openfl=envoy")
    assert answer == {"items": []}
    ((method, path, kwargs),) = client.calls
    assert (method, path) == ("GET", "/api/v1/namespaces/ns/pods")
    assert kwargs["query_params"] == [("labelSelector", "openfl=envoy")] and kwargs["auth_settings"] == ["BearerToken"]
    assert kwargs["_preload_content"] is False and kwargs["_return_http_data_only"] is True


def test_current_client_serializes_query_and_body():
    client = CurrentClient(data=b"line 1\n")
    rest = RestApi(client)
    text = call("api", "log", rest.read_namespaced_pod_log, "p", "ns", container="envoy", previous=True, raw=True)
    assert text == "line 1\n"
    ((method, path, kwargs),) = client.serialized
    assert method == "GET"
    assert path == "/api/v1/namespaces/ns/pods/p/log"
    assert kwargs["query_params"] == [("container", "envoy"), ("previous", "true")]  # no tailLines: unset
    client.data = b'{"status": {"allowed": true}}'
    assert call("api", "review", rest.create_self_subject_access_review, {"spec": {}})["status"]["allowed"]
    method, path, kwargs = client.serialized[-1]
    assert method == "POST"
    assert path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert kwargs["body"] == {"spec": {}} and kwargs["header_params"]["Content-Type"] == "application/json"


@pytest.mark.parametrize("client", [LegacyClient(status=403), CurrentClient(status=403)], ids=["legacy", "current"])
def test_a_refusal_is_an_api_exception_in_both_generations(client):
    with pytest.raises(ApiException) as raised:
        RestApi(client).request("GET", "/api/v1/nodes")
    assert raised.value.status == 403


@pytest.mark.parametrize("client", [LegacyClient(status=404), CurrentClient(status=404)], ids=["legacy", "current"])
def test_not_found_reads_as_none(client):
    assert call("api", "read service", RestApi(client).read_namespaced_service, "director", "ns") is None
