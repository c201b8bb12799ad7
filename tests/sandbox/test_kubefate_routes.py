"""Contract tests of the KubeFATE test double: routing, redirects, 404s, health, version (reference §1, §3)."""

from __future__ import annotations

import kubefate_double_support as support
import pytest
import requests
from kubefate_double_support import KubeFate, unique

# Fixtures shared by the KubeFATE contract tests.
demo_chart, kf, kubefate_server = support.demo_chart, support.kf, support.kubefate_server


def test_health_needs_no_token(kf: KubeFate) -> None:
    answer = requests.get(f"{kf.url}/", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"msg": "kubefate run Success"})
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_v1_root_is_error_path(kf: KubeFate) -> None:
    answer = requests.get(f"{kf.url}/v1/", timeout=5)
    assert (answer.status_code, answer.json()) == (400, {"error": "error path"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/v2/cluster/"),
        ("PATCH", "/v1/cluster"),  # wrong method: gin answers 404, not 405
        ("POST", "/v1/job/"),
        ("GET", "/v1/swagger/x/y/z"),
        ("HEAD", "/"),
    ],
)
def test_unknown_route_is_plain_text_404(kf: KubeFate, method: str, path: str) -> None:
    answer = requests.request(method, f"{kf.url}{path}", timeout=5, allow_redirects=False)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/plain")
    if method != "HEAD":
        assert answer.text == "404 page not found"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/v1/cluster", "/v1/cluster/"),
        ("/v1/job", "/v1/job/"),
        ("/v1/chart", "/v1/chart/"),
        ("/v1/version", "/v1/version/"),
        ("/v1/namespace", "/v1/namespace/"),
        ("/v1/user", "/v1/user/"),
        ("/v1", "/v1/"),
        ("/v1/cluster/abc/", "/v1/cluster/abc"),
        ("/v1/cluster?all=true", "/v1/cluster/?all=true"),
    ],
)
def test_get_with_the_other_slash_is_301_before_auth(kf: KubeFate, path: str, location: str) -> None:
    answer = requests.get(f"{kf.url}{path}", timeout=5, allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == location


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("POST", "/v1/cluster/", "/v1/cluster"),
        ("PUT", "/v1/cluster/", "/v1/cluster"),
        ("POST", "/v1/chart/", "/v1/chart"),
        ("POST", "/v1/user/", "/v1/user"),
        ("POST", "/v1/user/login/", "/v1/user/login"),
        ("DELETE", "/v1/job/abc/", "/v1/job/abc"),
    ],
)
def test_other_methods_with_the_other_slash_are_307(kf: KubeFate, method: str, path: str, location: str) -> None:
    answer = requests.request(method, f"{kf.url}{path}", timeout=5, allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"], answer.text) == (307, location, "")


def test_307_keeps_method_and_body_for_clients_that_follow(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    """The kubefate CLI POSTs to /v1/cluster/ and relies on the 307 (requests follows it with the body)."""
    name = unique()
    answer = kf.call("POST", "/v1/cluster/", json=kf.cluster_body(name, namespace), allow_redirects=True)
    assert answer.status_code == 200 and answer.json()["msg"] == "createCluster Success"
    assert [r.status_code for r in answer.history] == [307]
    kf.wait(answer.json()["data"]["uuid"])


def test_swagger_page_needs_no_token(kf: KubeFate) -> None:
    answer = requests.get(f"{kf.url}/v1/swagger/index.html", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")


def test_version(kf: KubeFate) -> None:
    answer = kf.call("GET", "/v1/version/")
    assert (answer.status_code, answer.json()) == (200, {"msg": "getVersion Success", "version": "v1.4.5"})


def test_namespace_list_comes_from_kubernetes(kf: KubeFate, namespace: str) -> None:
    listed = kf.ok("GET", "/v1/namespace/", "getNamespaceList Success")
    (mine,) = [n for n in listed if n["Name"] == namespace]
    assert set(mine) == {"Name", "Status", "Labels", "Annotations", "Age"}
    assert mine["Status"] == "Active"


def test_log_of_unknown_cluster_is_400(kf: KubeFate) -> None:
    kf.fails("GET", "/v1/log/0000", 400, "get Cluster error, record not found")


def test_users_crud(kf: KubeFate) -> None:
    users = kf.ok("GET", "/v1/user/", "getUserList Success")
    (admin,) = [u for u in users if u["username"] == "admin"]
    assert admin["password"] != "s3cret-Pw" and {"ID", "CreatedAt", "UpdatedAt", "DeletedAt"} <= set(admin)
    name = unique("user")
    created = kf.ok("POST", "/v1/user", "createCluster Success", json={"username": name, "password": "pw-1"})
    assert created["userStatus"] == "Deprecate"
    kf.fails("POST", "/v1/user", 500, "User is existed.", json={"username": name, "password": "x"})
    assert kf.login(name, "pw-1")
    assert kf.ok("GET", f"/v1/user/{created['uuid']}", "getUser Success")["username"] == name
    kf.ok("PUT", f"/v1/user/{created['uuid']}", "setUser Success", json={"password": "pw-2"})
    assert kf.login(name, "pw-2")
    kf.ok("DELETE", f"/v1/user/{created['uuid']}", "deleteUser Success")
    kf.fails("GET", f"/v1/user/{created['uuid']}", 500, "record not found")
