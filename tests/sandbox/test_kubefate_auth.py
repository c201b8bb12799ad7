"""Contract tests of the KubeFATE test double: login, JWT tokens, 401 answers, expiry, restart (reference §2)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time

import kubefate_double_support as support
import pytest
import requests
from kubefate_double_support import PASSWORD, RFC3339, USERNAME, KubeFate

# Fixtures shared by the KubeFATE contract tests.
kubefate_server, kf = support.kubefate_server, support.kf


REALM = "JWT realm=gin jwt"


def _segment(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_login_answers_code_expire_token(kf: KubeFate) -> None:
    answer = requests.post(f"{kf.url}/v1/user/login", json={"username": USERNAME, "password": PASSWORD}, timeout=5)
    body = answer.json()
    assert answer.status_code == 200 and set(body) == {"code", "expire", "token"} and body["code"] == 200
    assert re.match(RFC3339, body["expire"]) and "." not in body["expire"]
    expire = dt.datetime.fromisoformat(body["expire"].replace("Z", "+00:00"))
    assert abs((expire - dt.datetime.now(dt.UTC)).total_seconds() - 1800) < 5
    assert _segment(body["token"], 0) == {"alg": "HS256", "typ": "JWT"}
    claims = _segment(body["token"], 1)
    assert set(claims) == {"exp", "id", "orig_iat"} and claims["id"] == USERNAME
    assert claims["exp"] - claims["orig_iat"] in (1799, 1800, 1801)


def test_login_keys_are_case_insensitive(kf: KubeFate) -> None:
    answer = requests.post(f"{kf.url}/v1/user/login", json={"UserName": USERNAME, "PASSWORD": PASSWORD}, timeout=5)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": USERNAME, "password": "wrong"}, "incorrect Username or Password"),
        ({"username": "nobody", "password": PASSWORD}, "incorrect Username or Password"),
        ({}, "incorrect Username or Password"),
        (b"", "missing Username or Password"),
        (b"username=admin", "missing Username or Password"),
        ({"username": 1, "password": PASSWORD}, "missing Username or Password"),
    ],
)
def test_login_failures(kf: KubeFate, body: dict | bytes, message: str) -> None:
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    answer = requests.post(f"{kf.url}/v1/user/login", timeout=5, **kwargs)
    assert (answer.status_code, answer.json()) == (401, {"code": 401, "message": message})
    assert answer.headers["WWW-Authenticate"] == REALM


def test_logout_needs_no_token_and_revokes_nothing(kf: KubeFate) -> None:
    token = kf.login()
    answer = requests.post(f"{kf.url}/v1/user/logout", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"code": 200})
    assert kf.call("GET", "/v1/version/", token=token).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "bearer x.y.z"}, {"Authorization": "Token abc"}, {"Authorization": "Bearer"}],
    ids=["none", "lowercase-bearer", "other-scheme", "no-token"],
)
def test_missing_or_malformed_token_reports_empty_cookie(kf: KubeFate, headers: dict) -> None:
    answer = kf.call("GET", "/v1/cluster/", token="", headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"code": 401, "message": "cookie token is empty"})
    assert answer.headers["WWW-Authenticate"] == REALM


def test_token_from_query_and_from_cookie(kf: KubeFate) -> None:
    token = kf.login()
    assert requests.get(f"{kf.url}/v1/version/?token={token}", timeout=5).status_code == 200
    assert requests.get(f"{kf.url}/v1/version/", cookies={"jwt": token}, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("garbage", "token contains an invalid number of segments"),
        ("a.b", "token contains an invalid number of segments"),
    ],
)
def test_garbage_token(kf: KubeFate, token: str, message: str) -> None:
    answer = kf.call("GET", "/v1/job/", token=token)
    assert (answer.status_code, answer.json()) == (401, {"code": 401, "message": message})


def test_tampered_token_has_invalid_signature(kf: KubeFate) -> None:
    header, payload, signature = kf.login().split(".")
    claims = _segment(f"{header}.{payload}", 1)
    claims["id"] = "root"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = kf.call("GET", "/v1/job/", token=f"{header}.{forged}.{signature}")
    assert answer.json() == {"code": 401, "message": "signature is invalid"}


def test_token_expires_after_the_ttl(kf: KubeFate) -> None:
    kf.configure(token_ttl=1)
    token = kf.login()
    assert kf.call("GET", "/v1/version/", token=token).status_code == 200
    time.sleep(2.1)
    answer = kf.call("GET", "/v1/version/", token=token)
    assert (answer.status_code, answer.json()) == (401, {"code": 401, "message": "Token is expired"})
    assert answer.headers["WWW-Authenticate"] == REALM
    assert kf.call("GET", "/v1/version/", token=kf.login()).status_code == 200  # re-login is the cure


def test_restart_invalidates_every_token(kf: KubeFate) -> None:
    token = kf.login()
    assert requests.post(f"{kf.url}/_sandbox/restart", timeout=5).json() == {"ok": True}
    answer = kf.call("GET", "/v1/version/", token=token)
    assert (answer.status_code, answer.json()) == (401, {"code": 401, "message": "signature is invalid"})
    assert kf.call("GET", "/v1/version/", token=kf.login()).status_code == 200
    kf.server.restart()  # the Python hook does the same
    assert kf.call("GET", "/v1/version/", token=token).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/cluster/"),
        ("GET", "/v1/job/x"),
        ("POST", "/v1/chart"),
        ("GET", "/v1/namespace/"),
        ("GET", "/v1/version/"),
        ("GET", "/v1/user/"),
        ("GET", "/v1/log/x"),
    ],
)
def test_every_api_route_is_protected(kf: KubeFate, method: str, path: str) -> None:
    answer = kf.call(method, path, token="")
    assert answer.status_code == 401 and answer.json()["message"] == "cookie token is empty"
