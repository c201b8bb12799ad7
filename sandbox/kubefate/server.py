"""HTTP front of the KubeFATE test double: gin's routing and redirects, gin-jwt auth, fault injection.

Routing is exact as in KubeFATE's router (§3): a path that only differs by a trailing slash is
redirected before authentication (301 for GET, 307 otherwise), anything else unknown is gin's
plain-text `404 page not found`. Test knobs live outside `/v1` under `/_sandbox/`.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .auth import FAILED_LOGIN, MISSING_LOGIN, REALM_HEADER, AuthError, TokenIssuer, find_token
from .gotypes import BindError, Field, bind_struct, go_time_seconds
from .service import Handlers, Reply, State, error

MAX_BODY = 64 * 1024 * 1024
NOT_FOUND = Reply(404, raw=b"404 page not found", content_type="text/plain")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    action: str
    protected: bool = True

    @property
    def segments(self) -> list[str]:
        return self.pattern.split("/")


ROUTES = (
    Route("GET", "/", "health", False),
    Route("GET", "/v1/", "error_path", False),
    Route("POST", "/v1/user/login", "login", False),
    Route("POST", "/v1/user/logout", "logout", False),
    Route("POST", "/v1/user", "create_user"),
    Route("GET", "/v1/user/", "list_users"),
    Route("GET", "/v1/user/:userId", "get_user"),
    Route("PUT", "/v1/user/:userId", "set_user"),
    Route("DELETE", "/v1/user/:userId", "delete_user"),
    Route("POST", "/v1/chart", "upload_chart"),
    Route("GET", "/v1/chart/", "list_charts"),
    Route("GET", "/v1/chart/:chartId", "get_chart"),
    Route("DELETE", "/v1/chart/:chartId", "delete_chart"),
    Route("GET", "/v1/chart/valueTemplateExample/:chartName/:chartVersion", "value_template_example"),
    Route("POST", "/v1/cluster", "install"),
    Route("PUT", "/v1/cluster", "update"),
    Route("GET", "/v1/cluster/", "list_clusters"),
    Route("GET", "/v1/cluster/:clusterId", "get_cluster"),
    Route("DELETE", "/v1/cluster/:clusterId", "delete_cluster"),
    Route("GET", "/v1/job/", "list_jobs"),
    Route("GET", "/v1/job/:jobId", "get_job"),
    Route("PUT", "/v1/job/:jobId", "stop_job"),
    Route("DELETE", "/v1/job/:jobId", "delete_job"),
    Route("GET", "/v1/namespace/", "list_namespaces"),
    Route("GET", "/v1/version/", "version"),
    Route("GET", "/v1/log/:clusterID", "cluster_log"),
    Route("POST", "/_sandbox/config", "sandbox_config", False),
    Route("POST", "/_sandbox/restart", "sandbox_restart", False),
    Route("POST", "/_sandbox/reset", "sandbox_reset", False),
)
LOGIN_FIELDS = (Field("username", "string"), Field("password", "string"))
KNOB_NAMES = ("job_latency", "token_ttl", "fault_rate", "job_time_limit", "service_version")
SWAGGER_PAGE = (
    b"<!DOCTYPE html><title>KubeFATE API</title><p>Swagger UI of the KubeFATE test double (no spec served).</p>\n"
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for method+path; static segments win over parameters (as in gin's tree)."""
    parts = path.split("/")
    best: tuple[Route, dict[str, str]] | None = None
    for route in ROUTES:
        if route.method != method or len(route.segments) != len(parts):
            continue
        params: dict[str, str] = {}
        for want, got in zip(route.segments, parts, strict=True):
            if want.startswith(":") and got:
                params[want[1:]] = got
            elif want != got:
                break
        else:
            if best is None or len(params) < len(best[1]):
                best = (route, params)
    return best


def redirect_target(method: str, path: str) -> str | None:
    """gin's RedirectTrailingSlash: the other spelling of `path`, if that one is a route for `method`."""
    if path == "/":
        return None
    other = path[:-1] if path.endswith("/") else path + "/"
    return other if match(method, other) else None


class FaultInjector:
    """Deterministic faults: every k-th authenticated request (k ≈ 1/rate) fails.

    Faults alternate between an HTTP 500 with an empty body (a Go panic) and a dropped
    connection; dropped requests alternate between "handled, then dropped" (the client cannot
    know a job was created) and "dropped unhandled".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._period = 0

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._count = 0
            self._period = max(1, round(1 / rate)) if rate > 0 else 0

    def next(self) -> str:
        """`none`, `empty500`, `drop-after` (handled, then dropped) or `drop-before`."""
        with self._lock:
            if not self._period:
                return "none"
            self._count += 1
            if self._count % self._period:
                return "none"
            fault = self._count // self._period - 1
        if fault % 2 == 0:
            return "empty500"
        return "drop-after" if (fault // 2) % 2 == 0 else "drop-before"


class Service:
    """Glue between HTTP requests and handlers: auth, knobs, route actions."""

    def __init__(self, state: State, handlers: Handlers, issuer: TokenIssuer, faults: FaultInjector) -> None:
        self.state = state
        self.handlers = handlers
        self.issuer = issuer
        self.faults = faults
        self.requests = 0  # every HTTP request received (any route, status or fault): `python -m sandbox stats`
        self._requests_lock = threading.Lock()

    def count_request(self) -> None:
        with self._requests_lock:
            self.requests += 1

    def configure(self, **knobs: Any) -> None:
        unknown = set(knobs) - set(KNOB_NAMES)
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        for name, value in knobs.items():
            if name == "service_version":
                if not isinstance(value, str) or not re.fullmatch(r"v\d+\.\d+\.\d+", value):
                    raise ValueError("service_version must look like v1.4.5")
            elif not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
        with self.state.lock:
            for name, value in knobs.items():
                setattr(self.state.knobs, name, value if name == "service_version" else float(value))
        if "fault_rate" in knobs:
            self.faults.set_rate(float(knobs["fault_rate"]))

    def authenticate(self, headers: dict[str, str], query: dict[str, list[str]]) -> str:
        return self.issuer.verify(find_token(headers, query))

    def login(self, body: bytes) -> Reply:
        try:
            values = bind_struct(body, "User", LOGIN_FIELDS)
        except BindError:
            return unauthorized(AuthError(MISSING_LOGIN))
        if not self.state.check_login(values.get("username") or "", values.get("password") or ""):
            return unauthorized(AuthError(FAILED_LOGIN))
        token, expiry = self.issuer.issue(values["username"], self.state.knobs.token_ttl)
        # gin-jwt formats `expire` with time.RFC3339 in the server's zone (no fraction).
        expire = go_time_seconds(datetime.fromtimestamp(expiry).astimezone())
        return Reply(200, {"code": 200, "expire": expire, "token": token})

    def sandbox(self, action: str, body: bytes) -> Reply:
        if action == "sandbox_restart":
            self.issuer.rotate()
            with self.state.lock:
                self.state.add_admin()
        elif action == "sandbox_reset":
            self.state.reset()
        else:
            try:
                knobs = json.loads(body or b"{}")
                if not isinstance(knobs, dict):
                    raise ValueError("a JSON object of knobs is expected")
                self.configure(**knobs)
            except ValueError as problem:
                return error(400, str(problem))
        return Reply(200, {"ok": True})

    def dispatch(self, request: Request, route: Route, params: dict[str, str], user: str) -> Reply:
        h = self.handlers
        actions: dict[str, Callable[[], Reply]] = {
            "health": lambda: Reply(200, {"msg": "kubefate run Success"}),
            "error_path": lambda: error(400, "error path"),
            "logout": lambda: Reply(200, {"code": 200}),
            "create_user": lambda: h.create_user(request.body),
            "list_users": h.list_users,
            "get_user": lambda: h.get_user(params["userId"]),
            "set_user": lambda: h.set_user(params["userId"], request.body),
            "delete_user": lambda: h.delete_user(params["userId"]),
            "upload_chart": lambda: self._upload(request),
            "list_charts": h.list_charts,
            "get_chart": lambda: h.get_chart(params["chartId"]),
            "delete_chart": lambda: h.delete_chart(params["chartId"]),
            "value_template_example": lambda: h.value_template_example(params["chartName"], params["chartVersion"]),
            "install": lambda: h.install(request.body, user),
            "update": lambda: h.update(request.body, user),
            "list_clusters": lambda: h.list_clusters(request.query.get("all", [""])[0] == "true"),
            "get_cluster": lambda: h.get_cluster(params["clusterId"]),
            "delete_cluster": lambda: h.delete_cluster(params["clusterId"], user),
            "list_jobs": h.list_jobs,
            "get_job": lambda: h.get_job(params["jobId"]),
            "stop_job": lambda: h.stop_job(params["jobId"], request.query.get("jobStatus", [""])[0]),
            "delete_job": lambda: h.delete_job(params["jobId"]),
            "list_namespaces": h.list_namespaces,
            "version": h.version,
            "cluster_log": lambda: h.cluster_log(params["clusterID"]),
        }
        if route.action == "login":
            return self.login(request.body)
        if route.action.startswith("sandbox_"):
            return self.sandbox(route.action, request.body)
        return actions[route.action]()

    def _upload(self, request: Request) -> Reply:
        try:
            archive = multipart_file(request.headers.get("content-type", ""), request.body, "file")
        except ValueError as problem:
            return error(500, str(problem))
        return self.handlers.upload_chart(archive)


def swagger(path: str) -> Reply:
    """`GET /v1/swagger/*any` is registered without auth; only the UI page exists here."""
    if path == "/v1/swagger/index.html":
        return Reply(200, raw=SWAGGER_PAGE, content_type="text/html; charset=utf-8")
    return NOT_FOUND


def unauthorized(problem: AuthError) -> Reply:
    return Reply(problem.status, {"code": problem.status, "message": problem.message}, headers=dict([REALM_HEADER]))


def multipart_file(content_type: str, body: bytes, field_name: str) -> bytes:
    """The content of the multipart file part `field_name`, with Go's error texts."""
    if not re.match(r"\s*multipart/form-data\b", content_type, re.IGNORECASE):
        raise ValueError("request Content-Type isn't multipart/form-data")
    if "boundary=" not in content_type.lower():
        raise ValueError("no multipart boundary param in Content-Type")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("multipart: NextPart: EOF")
    for part in message.iter_parts():
        disposition = part.get("Content-Disposition", "")
        if part.get_param("name", header="content-disposition") != field_name:
            continue
        if "filename" not in disposition:
            continue  # a plain form value, not a file: Go's FormFile does not see it
        payload = part.get_payload(decode=True)
        return payload or b""
    raise ValueError("http: no such file")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class KubeFateHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive like gin's net/http server."""

    protocol_version = "HTTP/1.1"
    server: KubeFateHTTPServer
    server_version = ""
    sys_version = ""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Like the base class but without a `Server` header (Go's net/http sends none)."""
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        self.server.service.count_request()
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        if body is None:
            return
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True), headers, body)
        if request.method == "GET" and request.path.startswith("/v1/swagger/"):
            self._send(swagger(request.path))
            return
        found = match(request.method, request.path)
        if found is None:
            target = redirect_target(request.method, request.path)
            if target is None:
                self._send(NOT_FOUND)
            else:
                self._redirect(target + (f"?{url.query}" if url.query else ""))
            return
        route, params = found
        service = self.server.service
        user = ""
        if route.protected:
            try:
                user = service.authenticate(headers, request.query)
            except AuthError as problem:
                self._send(unauthorized(problem))
                return
            fault = service.faults.next()
            if fault == "empty500":
                self._send(Reply(500, raw=b""))
                return
            if fault == "drop-before":
                self._drop()
                return
            if fault == "drop-after":
                service.dispatch(request, route, params, user)
                self._drop()
                return
        self._send(service.dispatch(request, route, params, user))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _read_body(self, headers: dict[str, str]) -> bytes | None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._send(Reply(413, raw=b"request body too large", content_type="text/plain"))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _redirect(self, location: str) -> None:
        code = 301 if self.command == "GET" else 307
        text = f'<a href="{location}">Moved Permanently</a>.\n\n' if self.command == "GET" else ""
        self._send(
            Reply(code, raw=text.encode(), content_type="text/html; charset=utf-8", headers={"Location": location})
        )

    def _send(self, reply: Reply) -> None:
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body, separators=(",", ":")).encode()
        self.send_response(reply.status)
        if payload or reply.raw is None:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without any response (the client sees a reset/remote disconnect)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class KubeFateHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        super().__init__(address, KubeFateHandler)
