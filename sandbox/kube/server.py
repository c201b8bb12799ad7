"""HTTP front of the Kubernetes API test double: routing, bearer-token auth, discovery, watch, Status errors."""

from __future__ import annotations

import hmac
import json
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import access, openapi, protobuf, tables
from .api import Api, Options
from .errors import (
    ApiError,
    bad_request,
    gone,
    method_not_allowed,
    path_not_found,
    unauthorized,
    unsupported_media_type,
)
from .kubelet import Kubelet
from .resources import BY_PATH, PODS, Resource, group_versions, resource_list
from .selectors import field_predicate, label_predicate

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
MAX_BODY = 3 * 1024 * 1024
DEFAULT_WATCH_SECONDS = 1800


@dataclass(frozen=True)
class Target:
    """A parsed resource URL."""

    resource: Resource
    namespace: str
    name: str
    subresource: str


def parse_target(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespace, rest = rest[1], rest[2:]
    if not rest or (group, version, rest[0]) not in BY_PATH or len(rest) > 3:
        return None
    resource = BY_PATH[(group, version, rest[0])]
    if resource.namespaced and not namespace and len(rest) > 1:
        return None
    return Target(resource, namespace, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")


def discovery(path: str) -> dict | None:
    versions = group_versions()
    if path == "/version":
        return VERSION
    if path == "/openapi/v3":
        return openapi.index()
    if path.startswith("/openapi/v3/"):
        return openapi.document(path.removeprefix("/openapi/v3/"))
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in versions.items() if g]}
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in versions:
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(parts[1], versions[parts[1]])}
    if parts == ["api", "v1"]:
        return resource_list("", "v1")
    if len(parts) == 3 and parts[0] == "apis":
        return resource_list(parts[1], parts[2])
    return None


def _group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One buffered write per response and no Nagle delay: keep-alive clients otherwise wait ~40 ms.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: KubeHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a test double should not flood test output."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.warnings: list[str] = []
        body = self._read_body()
        try:
            path = url.path.rstrip("/") or "/"
            self.identity = access.ADMIN if path in PUBLIC_PATHS else self._identity()
            if self.identity is None:
                raise unauthorized()
            self._route(method, path, body)
        except ApiError as error:
            self._send_json(error.code, error.status())
        except Exception as error:  # a bug in the test double: answer like an API server would
            self._send_json(500, ApiError(500, "InternalError", f"Internal error occurred: {error!r}").status())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _identity(self) -> str | None:
        """Who sends the request (access.ADMIN or access.VIEWER), None for a wrong or missing token."""
        header = self.headers.get("Authorization")
        if header is None and self.headers.get("User-Agent", "").startswith("kubectl/"):
            # client-go loads user credentials only for TLS servers, so kubectl never sends the token
            # to an http:// server; admit it token-less. A wrong token is still refused.
            return access.ADMIN
        sent = (header or "").encode()
        if hmac.compare_digest(sent, f"Bearer {self.server.token}".encode()):
            return access.ADMIN
        if hmac.compare_digest(sent, f"Bearer {self.server.viewer_token}".encode()):
            return access.VIEWER
        return None

    def _route(self, method: str, path: str, body: bytes) -> None:
        if path in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain")
            return
        document = discovery(path) if method == "GET" else None
        if document is not None:
            self._send_json(200, document)
            return
        if method == "POST" and path == access.SSAR_PATH:
            self._send_json(201, access.review(self.identity, _json(body)))
            return
        target = parse_target(path)
        if target is None:
            raise path_not_found()
        if len(body) > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        self._resource(method, target, body)

    def _resource(self, method: str, target: Target, body: bytes) -> None:
        api: Api = self.server.api
        resource, namespace, name = target.resource, target.namespace, target.name
        verb = access.verb_of(method, name, self.query.get("watch") in ("true", "1"))
        if not access.allowed(self.identity, verb):
            raise access.forbidden(self.identity, verb, resource, namespace, target.subresource)
        if target.subresource == "log" and resource is PODS and method == "GET":
            self._send(200, self._pod_log(target).encode(), "text/plain")
            return
        if target.subresource not in ("", "status"):
            raise path_not_found()
        options = Options(
            dry_run=self.query.get("dryRun") == "All",
            field_validation=self.query.get("fieldValidation") or "Warn",
            subresource=target.subresource,
            field_manager=self.query.get("fieldManager") or "",
            warnings=self.warnings,
        )
        if method == "GET" and not name:
            if self.query.get("watch") in ("true", "1"):
                self._watch(resource, namespace or None)
                return
            listing = api.list(
                resource, namespace or None, self.query.get("labelSelector"), self.query.get("fieldSelector")
            )
            self._send_object(200, resource, listing, many=True)
        elif method == "GET":
            self._send_object(200, resource, api.get(resource, namespace, name))
        elif method == "POST" and not name:
            created = api.create(resource, namespace, self._body(body), options)
            self._send_object(201, resource, created)
        elif method == "PUT" and name:
            self._send_object(200, resource, api.replace(resource, namespace, name, self._body(body), options))
        elif method == "PATCH" and name:
            content_type = self.headers.get("Content-Type", "")
            patched = api.patch(resource, namespace, name, body, content_type, options)
            self._send_object(201 if options.created else 200, resource, patched)
        elif method == "DELETE" and name:
            delete_options = _json(body) if body else {}
            propagation = (
                self.query.get("propagationPolicy") or (delete_options or {}).get("propagationPolicy") or "Background"
            )
            dry_run = options.dry_run or "All" in ((delete_options or {}).get("dryRun") or [])
            self._send_json(200, api.delete(resource, namespace, name, propagation, dry_run))
        elif method == "DELETE":
            listing = api.delete_collection(
                resource, namespace or None, self.query.get("labelSelector"), self.query.get("fieldSelector")
            )
            self._send_json(200, listing)
        else:
            raise method_not_allowed()

    def _body(self, body: bytes) -> object:
        content_type = self.headers.get("Content-Type", "application/json")
        if content_type.startswith("application/vnd.kubernetes.protobuf"):
            return protobuf.decode(body)
        if not content_type.startswith("application/json"):
            raise unsupported_media_type(content_type)
        return _json(body)

    def _pod_log(self, target: Target) -> str:
        pod = self.server.api.get(PODS, target.namespace, target.name)
        containers = [c["name"] for c in pod["spec"].get("containers") or []]
        container = self.query.get("container") or (containers[0] if len(containers) == 1 else "")
        if container not in containers:
            if not container:
                raise bad_request(
                    f"a container name must be specified for pod {target.name}, choose one of: {containers}"
                )
            raise bad_request(f"container {container} is not valid for pod {target.name}")
        for status in pod.get("status", {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if status["name"] == container and waiting.get("reason") == "ContainerCreating":
                raise bad_request(
                    f'container "{container}" in pod "{target.name}" is waiting to start: ContainerCreating'
                )
        if not pod.get("status", {}).get("containerStatuses"):
            raise bad_request(f'container "{container}" in pod "{target.name}" is waiting to start: ContainerCreating')
        lines = self.server.kubelet.log(pod, previous=self.query.get("previous") == "true")
        if self.query.get("tailLines", "").isdigit():
            lines = lines[-int(self.query["tailLines"]) :] if int(self.query["tailLines"]) else []
        return "".join(line + "\n" for line in lines)

    def _watch(self, resource: Resource, namespace: str | None) -> None:
        store = self.server.api.store
        by_label = label_predicate(self.query.get("labelSelector"))
        by_field = field_predicate(self.query.get("fieldSelector"))
        deadline = time.monotonic() + float(self.query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)

        def wanted(obj: dict) -> bool:
            in_namespace = namespace is None or obj["metadata"].get("namespace") == namespace
            return in_namespace and by_label(obj) and by_field(obj)

        with store.lock:
            since = self.query.get("resourceVersion") or ""
            initial = (
                []
                if since not in ("", "0")
                else [o for o in self.server.api.list(resource, namespace, None, None)["items"] if wanted(o)]
            )
            revision = int(since) if since.isdigit() and since != "0" else store.revision
            if store.events_after(revision, resource.key) is None:
                raise gone(f"too old resource version: {since} ({store.revision})")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for obj in initial:
                self._chunk({"type": "ADDED", "object": obj})
            self._stream(resource, revision, deadline, wanted)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _stream(self, resource: Resource, revision: int, deadline: float, wanted: Callable[[dict], bool]) -> None:
        store = self.server.api.store
        while time.monotonic() < deadline and not store.closed and not self._client_gone():
            with store.lock:
                events = store.events_after(revision, resource.key) or []
                if not events:
                    store.changed.wait(min(1.0, max(deadline - time.monotonic(), 0)))
                    continue
            for event in events:
                revision = event.revision
                if wanted(event.obj):
                    self._chunk({"type": event.type, "object": event.obj})

    def _client_gone(self) -> bool:
        """True once the watching client closed its connection (readable with nothing to read)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)

    def _chunk(self, event: dict) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_object(self, code: int, resource: Resource, obj: dict, many: bool = False) -> None:
        if "as=Table" in self.headers.get("Accept", ""):
            items = obj["items"] if many else [obj]
            revision = obj["metadata"].get("resourceVersion", "")
            include = self.query.get("includeObject") or "Metadata"
            obj = tables.table(resource, items, revision, include)
        self._send_json(code, obj)

    def _send_json(self, code: int, obj: dict) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _send(self, code: int, payload: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        for warning in self.warnings:
            self.send_header("Warning", f'299 - "{warning.replace(chr(34), chr(92) + chr(34))}"')
        self.end_headers()
        self.wfile.write(payload)


def _json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_request(f"couldn't get version/kind; json parse error: {error}") from None


class KubeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: Api, kubelet: Kubelet, token: str, viewer_token: str) -> None:
        super().__init__(address, Handler)
        self.api = api
        self.kubelet = kubelet
        self.token = token
        self.viewer_token = viewer_token
